//! Decisions of network meetings, and members' follow-up on them.
//!
//! The secretariat owns decisions. Progress is reported in separate
//! [`FollowUp`] records, each owned by the member that reports it, so the
//! list of updates on a decision only grows and no member edits another's.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    Record, RecordType,
    dates::{Date, Year},
    ltext::LText,
    meeting::Meeting,
    push_ltext,
    refs::{RecordRef, member_code},
    schema::{FromJson, Path, Reader, Rules, fold, quote, schema},
    shape::{Describe, Shape},
    shorten,
    values::Url,
    vocab::{Progress, vocabulary},
};
use crate::member::{MemberCode, SECRETARIAT_CODE};

vocabulary! {
    /// What kind of decision.
    pub enum DecisionKind ("a decision kind") {
        /// A recommendation to members.
        Recommendation = "recommendation",
        /// A commitment members made.
        Commitment = "commitment",
        /// A decision about how the network works.
        OperationalDecision = "operational-decision",
    }
}

vocabulary! {
    /// Where a decision stands, as the secretariat records it.
    pub enum DecisionStatus ("a decision status") {
        /// Not yet acted on (the default).
        Open = "open",
        /// Being acted on.
        InProgress = "in-progress",
        /// Done.
        Done = "done",
        /// No longer pursued.
        Dropped = "dropped",
    }
}

/// Who is responsible for acting on a decision. JSON: `{"kind": "member",
/// "code": "ESP"}`, `{"kind": "secretariat"}`, `{"kind": "troika"}` (past,
/// current and next chair) or `{"kind": "all-members"}`; the strings `"ESP"`
/// (any member code), `"secretariat"`, `"troika"` and `"all-members"` are
/// accepted as shorthand. The secretariat's own code `SEC` means
/// `secretariat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Responsible {
    /// One member.
    Member {
        /// The member's code.
        #[serde(with = "member_code")]
        code: MemberCode,
    },
    /// The secretariat.
    Secretariat,
    /// The troika: past, current and next chair.
    Troika,
    /// Every member, each for itself (e.g. a commitment to update NAPs).
    AllMembers,
}

/// Edited as JSON: a member needs its `code`, the other kinds have none.
impl Describe for Responsible {
    fn shape() -> Shape {
        Shape::Json
    }
}

impl FromJson for Responsible {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        const KINDS: &str = "member (with code), secretariat, troika, all-members";
        let value = match value {
            Value::String(text) => match fold(&text).as_str() {
                kind @ ("secretariat" | "troika" | "all-members") => {
                    serde_json::json!({"kind": kind})
                }
                _ => serde_json::json!({"kind": "member", "code": text}),
            },
            other => other,
        };
        let mut map = r.object(value, at)?;
        let kind = r.tag(&mut map, at, "kind", KINDS)?;
        match kind.as_str() {
            "member" => {
                let mut fields = r.fields(map, at, &["kind", "code"]);
                let code: MemberCode = fields.take("code", r)?;
                if code.as_str() == SECRETARIAT_CODE {
                    Some(Self::Secretariat)
                } else {
                    Some(Self::Member { code })
                }
            }
            kind @ ("secretariat" | "troika" | "all-members") => {
                r.fields(map, at, &["kind"]);
                Some(match kind {
                    "secretariat" => Self::Secretariat,
                    "troika" => Self::Troika,
                    _ => Self::AllMembers,
                })
            }
            _ => {
                r.error(
                    &at.key("kind"),
                    format!(
                        "{} is not a kind of responsible party; use one of: {KINDS}",
                        quote(&kind)
                    ),
                );
                None
            }
        }
    }
}

impl std::fmt::Display for Responsible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Member { code } => write!(f, "{code}"),
            Self::Secretariat => f.write_str("secretariat"),
            Self::Troika => f.write_str("troika"),
            Self::AllMembers => f.write_str("all members"),
        }
    }
}

schema! {
    /// A decision of a network meeting.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Decision {
        /// The meeting that took it.
        pub meeting: RecordRef<Meeting>,
        /// What was decided.
        pub text: LText,
        /// Recommendation, commitment or operational decision.
        pub kind: DecisionKind,
        /// Who acts on it.
        pub responsible: Responsible,
        /// By when.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub due: Option<Date>,
        /// Open (the default), in progress, done or dropped.
        pub status: DecisionStatus,
    }
}

impl Rules for Decision {
    /// `status` is `open` when left out.
    const DEFAULTED: &'static [&'static str] = &["status"];

    fn prepare(mut value: Value) -> Value {
        if let Value::Object(map) = &mut value
            && matches!(map.get("status"), None | Some(Value::Null))
        {
            map.insert(
                "status".to_owned(),
                Value::String(DecisionStatus::Open.as_str().to_owned()),
            );
        }
        value
    }
}

impl Record for Decision {
    const TYPE: RecordType = RecordType::Decision;

    fn summary_title(&self) -> String {
        shorten(self.text.original_text(), 80)
    }

    fn search_words<'a>(&'a self, words: &mut Vec<&'a str>) {
        push_ltext(words, &self.text);
    }
}

schema! {
    /// A member's progress update on a decision.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct FollowUp {
        /// The decision reported on.
        pub decision: RecordRef<Decision>,
        /// The reporting member: always the owner.
        #[serde(with = "member_code")]
        pub member: MemberCode,
        /// The year reported on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub year: Option<Year>,
        /// The date of the report.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub date: Option<Date>,
        /// How far the member got: exceeded, met, limited or none (the scale
        /// funding progress uses too).
        pub status: Progress,
        /// What was done.
        pub text: LText,
        /// Evidence: reports, announcements.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub links: Vec<Url>,
    }
}

impl Rules for FollowUp {}

impl Record for FollowUp {
    const TYPE: RecordType = RecordType::FollowUp;
    const OWNER_FIELD: Option<&'static str> = Some("member");

    fn summary_title(&self) -> String {
        let when = match (self.year, self.date) {
            (Some(year), _) => format!(" {year}"),
            (None, Some(date)) => format!(" {date}"),
            (None, None) => String::new(),
        };
        shorten(
            &format!(
                "{}{when} ({}): {}",
                self.member,
                self.status,
                self.text.original_text()
            ),
            80,
        )
    }

    fn search_words<'a>(&'a self, words: &mut Vec<&'a str>) {
        push_ltext(words, &self.text);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::records::{search_text, summary_title, testing::*};

    const MEETING: &str = "SEC:meeting:abcdefghijk2";
    const DECISION: &str = "SEC:decision:abcdefghijk3";

    #[test]
    fn full_decision_is_valid() {
        let record = valid_for(
            "SEC",
            RecordType::Decision,
            json!({
                "meeting": MEETING,
                "text": {"en": {"text": "Members will report on NAP financing at the next annual meeting.", "original": true},
                         "es": "Los miembros informarán sobre la financiación de sus PNA."},
                "kind": "commitment",
                "responsible": "all-members",
                "due": "2025-04-30",
                "status": "in-progress",
            }),
        );
        assert_eq!(record["responsible"], json!({"kind": "all-members"}));
        let fields = object(record);
        assert_eq!(
            summary_title(RecordType::Decision, &fields),
            "Members will report on NAP financing at the next annual meeting."
        );
        assert!(search_text(RecordType::Decision, &fields).contains("financiación"));
    }

    #[test]
    fn minimal_decision_defaults_to_open() {
        let record = valid_for(
            "SEC",
            RecordType::Decision,
            json!({"meeting": MEETING, "text": "Create a financing working group.", "kind": "operational-decision",
                   "responsible": "secretariat"}),
        );
        assert_eq!(
            record,
            json!({
                "meeting": MEETING,
                "text": {"en": {"text": "Create a financing working group.", "original": true}},
                "kind": "operational-decision",
                "responsible": {"kind": "secretariat"},
                "status": "open",
            })
        );
        assert_eq!(
            invalid_for("SEC", RecordType::Decision, json!({})),
            [
                "kind: is required",
                "meeting: is required",
                "responsible: is required",
                "text: is required"
            ]
        );
    }

    #[test]
    fn responsible_shapes() {
        let base = |responsible: Value| json!({"meeting": MEETING, "text": "t", "kind": "recommendation", "responsible": responsible});
        let read = |responsible: Value| {
            valid_for("SEC", RecordType::Decision, base(responsible))["responsible"].clone()
        };
        assert_eq!(read(json!("esp")), json!({"kind": "member", "code": "ESP"}));
        assert_eq!(
            read(json!({"kind": "member", "code": "NAM"})),
            json!({"kind": "member", "code": "NAM"})
        );
        assert_eq!(read(json!("SEC")), json!({"kind": "secretariat"}));
        assert_eq!(read(json!("Troika")), json!({"kind": "troika"}));
        let errors = invalid_for("SEC", RecordType::Decision, base(json!({"kind": "chair"})));
        assert_eq!(
            errors,
            [
                "responsible.kind: \"chair\" is not a kind of responsible party; use one of: member (with code), \
              secretariat, troika, all-members"
            ]
        );
        let errors = invalid_for(
            "SEC",
            RecordType::Decision,
            base(json!({"kind": "troika", "code": "ESP"})),
        );
        assert_eq!(
            errors,
            ["responsible.code: unknown field; the fields here are: kind"]
        );
        let errors = invalid_for("SEC", RecordType::Decision, base(json!("everyone")));
        assert_has_prefix(&errors, "responsible.code: `everyone` is not a member code");
    }

    #[test]
    fn invalid_decision_reports_every_problem() {
        let errors = invalid_for(
            "SEC",
            RecordType::Decision,
            json!({"meeting": "SEC:meeting:ABC", "text": {"en": ""}, "kind": "resolution",
                   "responsible": "troika", "due": "2025-13-01", "status": "closed"}),
        );
        assert_eq!(errors.len(), 5, "{errors:#?}");
        assert_has_prefix(
            &errors,
            "due: \"2025-13-01\" is not a date: there is no month 13",
        );
        assert_has_prefix(
            &errors,
            "kind: \"resolution\" is not a decision kind; use one of:",
        );
        assert_has_prefix(&errors, "meeting: \"SEC:meeting:ABC\" is not a record id");
        assert_has(
            &errors,
            "status: \"closed\" is not a decision status; use one of: open, in-progress, done, dropped",
        );
        assert_has(
            &errors,
            "text.en: is empty; write the text or leave the field out",
        );
    }

    #[test]
    fn follow_up_full_and_minimal() {
        let record = valid_for(
            "NAM",
            RecordType::FollowUp,
            json!({
                "decision": DECISION,
                "member": "NAM",
                "year": 2024,
                "date": "2025-01-15",
                "status": "met",
                "text": "Financing chapter added to the NAP's annual report.",
                "links": "https://example.org/report-2024",
            }),
        );
        assert_eq!(record["links"], json!(["https://example.org/report-2024"]));
        let fields = object(record);
        assert_eq!(
            summary_title(RecordType::FollowUp, &fields),
            "NAM 2024 (met): Financing chapter added to the NAP's annual report."
        );
        assert_eq!(
            search_text(RecordType::FollowUp, &fields),
            "Financing chapter added to the NAP's annual report."
        );

        let record = valid(
            RecordType::FollowUp,
            json!({"decision": DECISION, "status": "limited", "text": "Drafting."}),
        );
        assert_eq!(
            record,
            json!({
                "decision": DECISION,
                "member": "ESP",
                "status": "limited",
                "text": {"en": {"text": "Drafting.", "original": true}},
            })
        );
        assert_eq!(
            invalid(RecordType::FollowUp, json!({})),
            [
                "decision: is required",
                "status: is required",
                "text: is required"
            ]
        );
    }

    #[test]
    fn follow_up_is_checked() {
        let errors = invalid(
            RecordType::FollowUp,
            json!({"decision": MEETING, "member": "FRA", "year": 1850, "status": "done", "text": "x", "reporter": "y"}),
        );
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert_has_prefix(
            &errors,
            "decision: \"SEC:meeting:abcdefghijk2\" is the id of a meeting; a decision id",
        );
        assert_has_prefix(
            &errors,
            "reporter: unknown field; the fields here are: decision, member, year",
        );
        assert_has(
            &errors,
            "status: \"done\" is not a progress rating; use one of: exceeded, met, limited, none",
        );
        assert_has(&errors, "year: 1850 is not a year from 1945 to 2100");
    }
}
