# Focal web app: English (the reference: every other file has exactly
# these messages).

## Frame
skip-to-content = Skip to content
nav-label = Main
language = Language
home = Home
all-records = All records
sign-out = Sign out
reader = reader
editor = editor
admin = administrator
back-home = Back to the home page

## Signing in
sign-in = Sign in
user-name = User name
password = Password
sign-in-hint = Your node's administrator gives you an account and a link to choose your password.
sign-in-failed = The user name or password is not right.
sign-in-throttled = Too many failed attempts. Try again in { $minutes ->
    [one] one minute
   *[other] { $minutes } minutes
}.
session-ended = Your session has ended. Sign in again to continue.
try-again = Something went wrong on the node. Try again in a moment.
setup = Choose your password
setup-intro = Welcome, { $name }. Choose the password you will sign in with.
new-password = New password
confirm-password = Type it again
password-rule = At least { $count } characters. A sentence you remember works well.
setup-submit = Save and sign in
setup-invalid = This link does not work
setup-invalid-text = The link has expired, was already used, or was replaced. Ask your node's administrator for a new one.
password-too-short = The password must have at least { $min } characters.
password-too-long = The password is too long.
password-is-name = The password cannot be your user name.
password-mismatch = The two passwords are not the same.

## Errors
not-found = Not found
not-found-text = There is no such page or record on this node.
forbidden = Not allowed
forbidden-text = This page needs the { $role } role, which your account does not have.
csrf = The form has expired
csrf-text = The form was not sent from this page, or it is too old. Go back, reload the page and send it again.
read-failed = The node could not read its data
read-failed-text = The node's database did not answer. Try again in a moment; if it keeps happening, tell the node's operator.
bad-request = Cannot show this
bad-request-text = The request is not valid.
bad-cursor-text = The page link is not valid any more. Start again from the first page.

## Home
home-heading = { $name }'s node
home-mine = Our records
home-recent = Changed recently across the network
home-peers = Other nodes
nothing-yet = Nothing yet.
not-in-network = This node is not in a network yet.
no-peers = No other node has been contacted yet.
connected = connected
not-connected = not connected

## Records
search = Search
filter = Filter
records-count = { $count ->
    [one] One record
   *[other] { $count } records
}
nothing-found = No record matches.
next-page = Next page
deleted = deleted
history = History
history-caption = Every signed change, newest first
read-only-other = another member's record: read only
original = original
translated-from = translated from { $name }
languages-count = { $count ->
    [one] One language
   *[other] All { $count } languages
}
yes = yes
no = no

## Columns
col-title = Title
col-type = Type
col-member = Member
col-updated = Updated
col-created = Created
col-connection = Connection
col-last-received = Last received
col-last-error = Last error
col-when = When
col-action = Change
col-signer = Signed by key
col-fields = Fields
col-change = Change hash
col-region = Region
col-name = Name
col-designation = Designation
col-institution = Institution
col-languages = Languages
col-email = E-mail
col-phone = Phone
col-standing = Standing
col-state = Plan
col-plan = Principal plan
col-period = Period
col-lead-agency = Lead agency
col-budget = Budget
col-theme = Theme

## Record types
type-member = Member profiles
type-focal-point = Focal points
type-nap = National action plans
type-practice = Practices
type-funding = Funding commitments
type-partnership = Partnerships
type-meeting = Meetings
type-registration = Registrations
type-statement = Statements
type-decision = Decisions
type-follow-up = Follow-up
type-focal-point-contact = Contact details

## Values
visibility-network = whole network
visibility-secretariat = member and secretariat
visibility-local = this node only
standing-active = active
standing-suspended = suspended
standing-removed = removed
action-create = created
action-update = edited
action-delete = deleted

## Views
view-directory = Directory
view-naps = NAP tracker
view-freshness = As of { $when }; newest entry received { $name }
download-csv = Download as CSV
contact-withheld = (held by the member and the secretariat)
summary-focal-points = Focal points
summary-members = Members
summary-allocated = In force with an allocated budget
nap-state-in-force = In force
nap-state-adopted = Adopted, not yet in force
nap-state-drafting = Drafting
nap-state-expired = Expired
nap-state-none = No plan

## Forms
new-record = New: { $name }
new-heading = New record: { $type }
edit-heading = Edit { $name }
edit = Edit
delete = Delete
delete-heading = Delete { $name }?
delete-text = The record is marked deleted on every node of the network. Its history, signed change by change, is kept and stays readable.
save = Save
cancel = Cancel
required = required
visibility = Who may read it
form-hint = Fields marked required must be filled in. Multilingual text: write it in one or more languages and mark the one it was written in as the original.
form-has-errors = The record was not saved. Please correct:
one-per-line = One per line.
as-json = As JSON.
original-language = original
read-only = Read only
read-only-text = Only the member that owns a record changes it; this node writes its own member's records.
write-failed = Not saved
col-field = Field
col-old = Before
col-new = After

## Membership administration
admin-members = Membership
admin-intro = The network's roster, kept by this node (the secretariat's). Every change is signed by the secretariat's key and reaches every node.
admin-keys = Node keys
admin-endpoints = Endpoints
admin-endpoints-of = Endpoints of { $name }
admin-set-endpoints = Set endpoints
admin-actions = Changes
admin-suspend = Suspend
admin-readmit = Readmit
admin-remove = Remove
admin-revoke = Revoke this key
admin-add = Add a member
admin-join-request = The member's join request (what `focal-node join-request` printed)
admin-join-hint = JSON with member, node_key and endpoint.
admin-handover = Confirm a key hand-over
admin-handover-label = The hand-over (hex, from `focal-node key rotate`)
admin-review = Review the change
admin-confirm = Confirm the change
admin-will = If you confirm, this will happen:
admin-do-it = Confirm and sign
admin-refused = This change cannot be made:
admin-not-secretariat = Membership is administered by the secretariat
admin-not-secretariat-text = Only the secretariat's node changes the network's roster. On this node, the roster can be read in the directory.

## More views
view-practices = Practices
view-funding = Funding
view-follow-up = Decision follow-up
view-meetings = Meetings
meetings-count = { $count ->
    [one] One meeting
   *[other] { $count } meetings
}
meeting-record = The meeting's record
filter-any = All
filter-kind = Kind of member
filter-period-hint = A year (2025) or a span (2025-01-01/2025-06-30, 2024/2026); either end may be left open.
filter-as-of = As of
filter-as-of-hint = The day on which decisions are judged overdue (today if left empty).
download-csv-totals = Download the totals as CSV
none-listed = None.
by-theme = By theme
by-region = By region
by-donor = By donor
by-recipient = By recipient
summary-practices = Practices
summary-commitments = Commitments
summary-decisions = Decisions
summary-open = Not yet done
overdue = Overdue
summary-registered = Members registered
summary-delegates = Delegates
summary-ministers = Ministers speaking
summary-statements = Statements
funding-totals = Totals per currency
funding-no-amounts = No amounts recorded.
funding-all = All commitments
funding-gaps = Gaps
unfunded-themes = Themes no commitment covers
unfunded-recipients = Members no commitment funds
unfunded-members = Members neither receiving nor giving
not-registered = Members not registered
record-registration = Registration
record-statement = Statement
update-link = update
col-practice-kind = Kind
col-themes = Themes
col-recorded = Recorded
col-recorded-by = Recorded by
col-id = Record ID
col-record = Record
col-donor = Donor
col-recipient = Recipient
col-recipient-country = Recipient's country
col-amount = Amount
col-amounts = Amounts
col-currency = Currency
col-commitments-with-amount = Commitments with an amount in this currency
col-assistance = Assistance
col-channel = Channel
col-period-start = Start of period
col-period-end = End of period
col-group = Group
col-party = Donor, recipient or theme
col-decision = Decision
col-due = Due
col-status = Status
col-responsible = Responsible
col-meeting = Meeting
col-meeting-id = Meeting ID
col-meeting-kind = Kind of meeting
col-updates = Latest update from each member
col-not-reported = Not reported
col-delegates = Delegates
col-minister-speaking = Minister speaking
col-speaker = Speaker
col-language = Language
col-text = Text
col-link = Link
col-dates = Dates
col-city = City
theme-gender-analysis = Gender analysis
theme-participation-security-sector = Women's participation in the security sector
theme-participation-peace-processes = Women's participation in peace processes and mediation
theme-senior-leadership = Women in senior leadership
theme-removing-barriers = Removing barriers to women's empowerment
theme-violent-extremism = Preventing and countering violent extremism
theme-climate-change = Climate change and security
theme-crsv-justice = Conflict-related sexual violence and access to justice
theme-nap-design-monitoring-financing = Designing, monitoring and financing national action plans
theme-disarmament-small-arms = Disarmament, arms control and small arms
theme-early-warning-preventive-diplomacy = Early warning and preventive diplomacy
theme-peacekeeping = Peacekeeping and peace operations
theme-civil-society-partnerships = Partnerships with civil society and localization
theme-capacity-building = Training and capacity-building
region-africa = African Group
region-asia-pacific = Asia-Pacific Group
region-eastern-europe = Eastern European Group
region-latin-america-caribbean = Latin American and Caribbean Group
region-western-europe-others = Western European and Others Group
region-cross-regional = Cross-regional
region-unknown = Region not recorded
member-kind-state = State
member-kind-regional-organization = Regional organization
practice-kind-best-practice = Best practice
practice-kind-lesson-learned = Lesson learned
assistance-financial = Financial
assistance-technical = Technical
assistance-training = Training
channel-bilateral = Bilateral
channel-pooled-fund = Pooled fund
channel-direct-to-civil-society = Direct to civil society
decision-status-open = Open
decision-status-in-progress = In progress
decision-status-done = Done
decision-status-dropped = Dropped
progress-exceeded = Exceeded
progress-met = Met
progress-limited = Limited progress
progress-none = No progress
responsible-secretariat = Secretariat
responsible-troika = Troika
responsible-all-members = All members
meeting-kind-capital-annual = Annual capital-level meeting
meeting-kind-new-york-follow-up = Follow-up meeting in New York
meeting-kind-ministerial-launch = Ministerial launch
meeting-kind-virtual = Virtual meeting
meeting-kind-working-group = Working group meeting
history-range = Changes { $first }–{ $last } of { $count }
history-pages = Pages of the history
history-newer = Newer changes
history-older = Older changes
changed-since = Someone else changed this record since you opened this form. Your changes are below; where they meet theirs, the field says so. Check them and save again.
changed-since-field = Changed by someone else meanwhile; it is now: { $value }
busy = Busy
downloads-busy-text = Other downloads are being prepared on this node. Try again in a minute.
