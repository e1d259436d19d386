//! The fields of each record type as the command line offers them.
//!
//! The node owns the schema and validates every write; this table only tells
//! the CLI which flags to offer, how to turn their text into JSON, and what to
//! say in `--help`. A test creates every record type through every flag, so
//! the table cannot drift from the node's schema unnoticed.

/// How a flag's text becomes JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A string.
    Text,
    /// Multilingual text given in one language (`--lang`, default `en`).
    LText,
    /// An integer.
    Int,
    /// A decimal number.
    Number,
    /// `true` or `false` (`yes`/`no` accepted).
    Bool,
    /// A `YYYY-MM-DD` date.
    Date,
    /// A repeatable flag; the values form a list of strings.
    List,
    /// Raw JSON, for structured fields.
    Json,
}

/// One field of a record type.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// JSON path, dot-separated for nested objects (`period.start`).
    pub path: &'static str,
    /// The flag, without `--` (`theme` for the list `themes`).
    pub flag: &'static str,
    /// How its text becomes JSON.
    pub kind: FieldKind,
    /// `--help` text.
    pub help: &'static str,
}

/// A record type as the CLI offers it.
#[derive(Debug, Clone, Copy)]
pub struct RecordSpec {
    /// The record type name (`practice`), also the subcommand.
    pub name: &'static str,
    /// What it is, for `--help`.
    pub about: &'static str,
    /// Its fields.
    pub fields: &'static [FieldSpec],
}

const fn f(
    path: &'static str,
    flag: &'static str,
    kind: FieldKind,
    help: &'static str,
) -> FieldSpec {
    FieldSpec {
        path,
        flag,
        kind,
        help,
    }
}

use FieldKind::*;

/// Every record type, in the order `focal --help` lists them.
pub const RECORD_SPECS: &[RecordSpec] = &[
    RecordSpec {
        name: "member",
        about: "This member's profile",
        fields: &[
            f("name", "name", LText, "The member's name"),
            f(
                "kind",
                "kind",
                Text,
                "state, regional-organization or secretariat (derived from the code when it is known)",
            ),
            f(
                "region",
                "region",
                Text,
                "UN regional group: africa, asia-pacific, eastern-europe, latin-america-caribbean, western-europe-others, cross-regional",
            ),
            f("joined", "joined", Date, "When it joined the network"),
            f(
                "founding_member",
                "founding-member",
                Bool,
                "A founding member of the network?",
            ),
            f(
                "chair_years",
                "chair-year",
                List,
                "A year it chaired the network (repeatable)",
            ),
        ],
    },
    RecordSpec {
        name: "focal-point",
        about: "WPS focal points: who speaks for the member",
        fields: &[
            f("person_name", "name", Text, "The person's name"),
            f("title", "title", Text, "Job title"),
            f(
                "institution",
                "institution",
                Text,
                "Ministry or institution",
            ),
            f("role_description", "role", LText, "What the role covers"),
            f(
                "posting",
                "posting",
                Text,
                "capital, new-york-mission or regional-hq",
            ),
            f("designation", "designation", Text, "primary or alternate"),
            f(
                "languages",
                "language",
                List,
                "A language the person works in (repeatable), e.g. fr",
            ),
            f("appointed", "appointed", Date, "Date of appointment"),
            f("ended", "ended", Date, "Date the appointment ended"),
            f("contact.email", "email", Text, "Work e-mail"),
            f("contact.phone", "phone", Text, "Work phone"),
        ],
    },
    RecordSpec {
        name: "nap",
        about: "National Action Plans on WPS (and regional plans, national strategies)",
        fields: &[
            f(
                "kind",
                "kind",
                Text,
                "nap, regional-action-plan or national-strategy",
            ),
            f("title", "title", LText, "Title of the plan"),
            f(
                "status",
                "status",
                Text,
                "draft, in-force, expired or under-review",
            ),
            f(
                "generation",
                "generation",
                Int,
                "1 for a first plan, 2 for the second …",
            ),
            f("adopted", "adopted", Date, "Date of adoption"),
            f(
                "period.start",
                "start",
                Date,
                "First day of the plan's period",
            ),
            f("period.end", "end", Date, "Last day of the plan's period"),
            f(
                "supersedes",
                "supersedes",
                Text,
                "The plan it replaces (record id)",
            ),
            f(
                "lead_agency",
                "lead-agency",
                Text,
                "The agency leading the plan",
            ),
            f(
                "lead_agency_category",
                "lead-agency-category",
                Text,
                "foreign-affairs, defence, interior, justice, gender-equality, head-of-government, development, inter-ministerial, other",
            ),
            f(
                "pillars",
                "pillar",
                List,
                "Pillar (repeatable): participation, protection, prevention, relief-and-recovery",
            ),
            f(
                "dominant_pillar",
                "dominant-pillar",
                Text,
                "The pillar the plan emphasises",
            ),
            f(
                "themes",
                "theme",
                List,
                "Theme (repeatable), e.g. nap-design-monitoring-financing",
            ),
            f(
                "budget",
                "budget",
                Json,
                r#"Budget: {"status":"allocated","amount":N,"currency":"EUR"}, "unspecified" or "none""#,
            ),
            f(
                "monitoring",
                "monitoring",
                Json,
                r#"Monitoring & evaluation: {"described":true,"framework":"…","indicators":[…]}"#,
            ),
            f(
                "civil_society",
                "civil-society",
                Json,
                r#"Civil-society involvement: {"drafting":true,"implementation":true,"monitoring":false}"#,
            ),
            f(
                "documents",
                "document",
                List,
                "Link to the plan's text (repeatable)",
            ),
        ],
    },
    RecordSpec {
        name: "practice",
        about: "Best practices and lessons learned",
        fields: &[
            f("kind", "kind", Text, "best-practice or lesson-learned"),
            f("title", "title", LText, "Title"),
            f("summary", "summary", LText, "Summary"),
            f(
                "themes",
                "theme",
                List,
                "Theme (repeatable), e.g. climate-change",
            ),
            f(
                "pillars",
                "pillar",
                List,
                "Pillar (repeatable): participation, protection, prevention, relief-and-recovery",
            ),
            f(
                "related_nap",
                "related-nap",
                Text,
                "The NAP it relates to (record id)",
            ),
            f(
                "presented_at",
                "presented-at",
                Text,
                "The meeting it was presented at (record id)",
            ),
            f(
                "contact",
                "contact",
                Text,
                "The focal point to contact (record id)",
            ),
            f(
                "evidence_links",
                "evidence-link",
                List,
                "Link to evidence (repeatable)",
            ),
        ],
    },
    RecordSpec {
        name: "funding",
        about: "Funding commitments and assistance programmes",
        fields: &[
            f("title", "title", LText, "Name of the programme"),
            f(
                "donor",
                "donor",
                Json,
                r#"Donor: a member code such as "ESP", or {"kind":"pooled-fund","name":"…"}"#,
            ),
            f(
                "recipient",
                "recipient",
                Json,
                r#"Recipient: a member code, or {"kind":"civil-society","name":"…"}"#,
            ),
            f(
                "channel",
                "channel",
                Text,
                "bilateral, pooled-fund or direct-to-civil-society",
            ),
            f("kind", "kind", Text, "financial, technical or training"),
            f("amount", "amount", Number, "Amount"),
            f("currency", "currency", Text, "ISO 4217 currency, e.g. EUR"),
            f("period.start", "start", Date, "First day"),
            f("period.end", "end", Date, "Last day"),
            f("themes", "theme", List, "Theme (repeatable)"),
            f(
                "local_share_percent",
                "local-share",
                Number,
                "Share for local women's organizations, in percent",
            ),
            f(
                "linked_nap",
                "linked-nap",
                Text,
                "The NAP it funds (record id)",
            ),
            f(
                "progress",
                "progress",
                Json,
                r#"Progress per year: [{"year":2024,"progress":"met"}]"#,
            ),
            f("notes", "notes", LText, "Notes"),
        ],
    },
    RecordSpec {
        name: "partnership",
        about: "Partnerships with civil society",
        fields: &[
            f(
                "organization_name",
                "organization",
                Text,
                "The partner organization",
            ),
            f(
                "organization_type",
                "organization-type",
                Text,
                "womens-organization, youth, network, academia, faith-based, media, private-sector, other",
            ),
            f(
                "scope",
                "scope",
                Text,
                "local, national, regional or global",
            ),
            f(
                "roles",
                "role",
                List,
                "Role (repeatable): drafting, implementation, monitoring, shadow-reporting",
            ),
            f("notes", "notes", LText, "Notes"),
        ],
    },
    RecordSpec {
        name: "meeting",
        about: "Network meetings (the secretariat's node)",
        fields: &[
            f(
                "kind",
                "kind",
                Text,
                "capital-annual, new-york-follow-up, ministerial-launch, virtual or working-group",
            ),
            f("title", "title", LText, "Title"),
            f("theme", "theme", LText, "The meeting's theme"),
            f("host", "host", Text, "Host member code"),
            f("chair", "chair", Text, "Chair member code"),
            f(
                "co_chairs",
                "co-chair",
                List,
                "Co-chair member code (repeatable)",
            ),
            f("dates.start", "start", Date, "First day"),
            f("dates.end", "end", Date, "Last day"),
            f("city", "city", Text, "City"),
            f(
                "agenda",
                "agenda",
                Json,
                r#"Agenda items: ["Opening", {"title":"…"}]"#,
            ),
            f(
                "working_groups",
                "working-groups",
                Json,
                r#"Working groups: [{"name":"…","lead":"ESP"}]"#,
            ),
            f(
                "outcomes",
                "outcomes",
                Json,
                r#"Outcomes: [{"kind":"joint-communique","un_symbol":"S/2016/…"}]"#,
            ),
        ],
    },
    RecordSpec {
        name: "registration",
        about: "This member's registration for a meeting",
        fields: &[
            f("meeting", "meeting", Text, "The meeting (record id)"),
            f(
                "delegates",
                "delegate",
                List,
                "A delegate's name (repeatable)",
            ),
            f(
                "minister_speaking",
                "minister-speaking",
                Bool,
                "Will a minister speak?",
            ),
        ],
    },
    RecordSpec {
        name: "statement",
        about: "Statements made at meetings",
        fields: &[
            f("meeting", "meeting", Text, "The meeting (record id)"),
            f("speaker", "speaker", Text, "Who spoke"),
            f("language", "language", Text, "Language it was delivered in"),
            f("text", "text", LText, "The statement's text"),
            f("link", "link", Text, "Link to the statement"),
        ],
    },
    RecordSpec {
        name: "decision",
        about: "Decisions of meetings and their follow-up (the secretariat's node)",
        fields: &[
            f(
                "meeting",
                "meeting",
                Text,
                "The meeting that took it (record id)",
            ),
            f("text", "text", LText, "The decision"),
            f(
                "kind",
                "kind",
                Text,
                "recommendation, commitment or operational-decision",
            ),
            f(
                "responsible",
                "responsible",
                Text,
                "A member code, secretariat, troika or all-members",
            ),
            f("due", "due", Date, "Due date"),
            f(
                "status",
                "status",
                Text,
                "open, in-progress, done or dropped",
            ),
        ],
    },
    RecordSpec {
        name: "follow-up",
        about: "Progress reported on a decision by this member",
        fields: &[
            f("decision", "decision", Text, "The decision (record id)"),
            f("year", "year", Int, "Reporting year"),
            f("date", "date", Date, "Date of the report"),
            f("status", "status", Text, "exceeded, met, limited or none"),
            f("text", "text", LText, "What was done"),
            f("links", "link", List, "Link to evidence (repeatable)"),
        ],
    },
];

/// The spec of record type `name`.
pub fn spec(name: &str) -> Option<&'static RecordSpec> {
    RECORD_SPECS.iter().find(|s| s.name == name)
}
