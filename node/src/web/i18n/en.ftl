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
