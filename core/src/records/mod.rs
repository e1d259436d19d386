//! The record model: the kinds of records the network keeps, and the schema
//! every write is validated against.
//!
//! A record is one Automerge document whose root map holds the envelope keys
//! ([`ENVELOPE_KEYS`]) written by the node, and the record's own fields,
//! written by clients and validated here.
//!
//! Validation ([`validate`]) reads the field map into the record type's typed
//! struct (one file per record type), reporting every problem with its field
//! path, runs the cross-field rules, and serializes the struct back: that
//! normal form is what gets stored, so every stored record has one shape.
//!
//! - `schema.rs`: the reader (`FromJson`, implemented by every schema type;
//!   the `schema!` macro that declares a struct and its reader together);
//! - `vocab.rs`: themes, pillars, progress ratings, regions, language tags,
//!   currencies; `ltext.rs`: multilingual text; `dates.rs`: dates, periods,
//!   years; `values.rs`: amounts, percentages, links, e-mails, phones, UN
//!   symbols; `refs.rs`: member codes and record ids;
//! - one file per record type: `member_profile.rs`, `focal_point.rs`,
//!   `nap.rs`, `practice.rs`, `funding.rs`, `partnership.rs`, `meeting.rs`
//!   (meetings, registrations, statements), `decision.rs` (decisions and
//!   their follow-ups).

use std::fmt;

use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

use self::schema::{FromJson, Path, Reader};

mod schema;

pub mod dates;
pub mod decision;
pub mod focal_point;
pub mod funding;
pub mod ltext;
pub mod meeting;
pub mod member_profile;
pub mod nap;
pub mod partnership;
pub mod practice;
pub mod refs;
pub mod shape;
pub mod values;
pub mod vocab;

#[cfg(test)]
mod testing;

pub use self::{
    dates::{Date, Period, Year},
    decision::{Decision, FollowUp},
    focal_point::FocalPoint,
    funding::FundingCommitment,
    ltext::{LText, Translation},
    meeting::{Meeting, Registration, Statement},
    member_profile::MemberProfile,
    nap::NationalActionPlan,
    partnership::Partnership,
    practice::Practice,
    refs::{RecordRef, parse_record_id},
    schema::NonEmpty,
    vocab::{Currency, LanguageTag, Pillar, Progress, Region, Theme},
};

/// Keys of a record's root map that the node owns; clients never write them.
/// Keys of a record's JSON object that the node sets (the envelope); a
/// client never writes them. Every other key is a field of the record type.
/// (`focal_proto::ENVELOPE_KEYS` is the same list for clients, which do not
/// depend on the core; a node test checks that the two agree.)
pub const ENVELOPE_KEYS: &[&str] = &[
    "id",
    "type",
    "owner",
    "visibility",
    "created",
    "updated",
    "deleted",
    // A focal point's: where its contact details are kept (the node keeps
    // them in a companion record of narrower visibility).
    "contact_audience",
    // The shape's version (`focal_core::schema`).
    "schema",
];

/// The kinds of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordType {
    /// A member's profile.
    Member,
    /// A WPS focal point.
    FocalPoint,
    /// A National Action Plan (or regional plan, national strategy).
    NationalActionPlan,
    /// A best practice or lesson learned.
    Practice,
    /// A funding commitment or assistance programme.
    FundingCommitment,
    /// A partnership with civil society.
    Partnership,
    /// A network meeting (secretariat only).
    Meeting,
    /// A member's registration for a meeting.
    Registration,
    /// A statement made at a meeting.
    Statement,
    /// A decision of a meeting (secretariat only).
    Decision,
    /// A progress update on a decision, by the reporting member.
    FollowUp,
    /// A focal point's contact details: a companion the node writes beside
    /// each focal point, in the `secretariat` audience (see `contact.rs`);
    /// clients read and write them as the focal point's `contact`.
    FocalPointContact,
}

impl RecordType {
    /// Every record type clients create (the API's and the CLI's types).
    pub const ALL: &'static [RecordType] = &[
        Self::Member,
        Self::FocalPoint,
        Self::NationalActionPlan,
        Self::Practice,
        Self::FundingCommitment,
        Self::Partnership,
        Self::Meeting,
        Self::Registration,
        Self::Statement,
        Self::Decision,
        Self::FollowUp,
    ];

    /// Record types the node writes itself, beside another record.
    pub const COMPANIONS: &'static [RecordType] = &[Self::FocalPointContact];

    /// The name used in ids, the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::FocalPoint => "focal-point",
            Self::NationalActionPlan => "nap",
            Self::Practice => "practice",
            Self::FundingCommitment => "funding",
            Self::Partnership => "partnership",
            Self::Meeting => "meeting",
            Self::Registration => "registration",
            Self::Statement => "statement",
            Self::Decision => "decision",
            Self::FollowUp => "follow-up",
            Self::FocalPointContact => "focal-point-contact",
        }
    }

    /// Parses [`RecordType::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .chain(Self::COMPANIONS)
            .copied()
            .find(|t| t.as_str() == text)
    }

    /// Whether only the secretariat may own records of this type.
    pub fn secretariat_only(self) -> bool {
        matches!(self, Self::Meeting | Self::Decision)
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may read a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Visibility {
    /// Every member of the network.
    Network,
    /// The owner and the secretariat.
    Secretariat,
    /// This node only.
    Local,
}

impl Visibility {
    /// `network`, `secretariat` or `local`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Network => "network",
            Self::Secretariat => "secretariat",
            Self::Local => "local",
        }
    }

    /// Parses [`Visibility::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Network, Self::Secretariat, Self::Local]
            .into_iter()
            .find(|v| v.as_str() == text)
    }
}

/// One problem with a record's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path, e.g. `period.end` or `themes[2]`.
    pub field: String,
    /// What is wrong and, where possible, what would be right.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// What validation may need to know beyond the fields themselves.
#[derive(Debug, Clone)]
pub struct ValidationContext {
    /// The member that owns the record.
    pub owner: crate::member::MemberCode,
    /// Language tag assumed for multilingual text given as a plain string.
    pub default_language: String,
    /// List lengths and text sizes every schema caps.
    pub limits: crate::limits::Limits,
}

/// A record type's typed fields: the struct a record's field map is read
/// into, and what the network's views need from it.
pub trait Record: Serialize + DeserializeOwned {
    /// The record type these fields belong to.
    const TYPE: RecordType;

    /// The field naming the member the record is about, if any: it defaults
    /// to the record's owner and must equal it (a member records only its
    /// own focal points, plans, registrations …).
    const OWNER_FIELD: Option<&'static str> = None;

    /// A short one-line label for tables.
    fn summary_title(&self) -> String;

    /// Appends the record's human text (names, titles, summaries, in every
    /// language) for text search.
    fn search_words<'a>(&'a self, words: &mut Vec<&'a str>);
}

/// Runs `$body` with `$T` bound to the struct of record type `$kind`.
macro_rules! with_record_type {
    ($kind:expr, $T:ident => $body:expr) => {
        match $kind {
            RecordType::Member => {
                type $T = MemberProfile;
                $body
            }
            RecordType::FocalPoint => {
                type $T = FocalPoint;
                $body
            }
            RecordType::NationalActionPlan => {
                type $T = NationalActionPlan;
                $body
            }
            RecordType::Practice => {
                type $T = Practice;
                $body
            }
            RecordType::FundingCommitment => {
                type $T = FundingCommitment;
                $body
            }
            RecordType::Partnership => {
                type $T = Partnership;
                $body
            }
            RecordType::Meeting => {
                type $T = Meeting;
                $body
            }
            RecordType::Registration => {
                type $T = Registration;
                $body
            }
            RecordType::Statement => {
                type $T = Statement;
                $body
            }
            RecordType::Decision => {
                type $T = Decision;
                $body
            }
            RecordType::FollowUp => {
                type $T = FollowUp;
                $body
            }
            RecordType::FocalPointContact => {
                type $T = focal_point::Contact;
                $body
            }
        }
    };
}
// For `shape.rs`, whose `mod` item comes before the macro.
pub(crate) use with_record_type;

/// Checks a record's complete field map (envelope keys excluded) against the
/// schema of `kind`, and returns it in normal form (e.g. multilingual text
/// given as a plain string becomes `{"en": {"text": …, "original": true}}`, a
/// single value where a list is expected becomes a one-element list).
/// Every problem found is reported, not only the first, sorted by field path.
///
/// Validating the normal form again returns it unchanged.
pub fn validate(
    kind: RecordType,
    fields: &Map<String, Value>,
    ctx: &ValidationContext,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    with_record_type!(kind, T => validate_as::<T>(fields, ctx))
}

fn validate_as<T: Record + FromJson>(
    fields: &Map<String, Value>,
    ctx: &ValidationContext,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let mut r = Reader::new(ctx);
    let mut input = fields.clone();
    for key in ENVELOPE_KEYS {
        if input.remove(*key).is_some() {
            r.error(
                &Path::root().key(key),
                format!("`{key}` is set by the node; leave it out of the fields"),
            );
        }
    }
    if let Some(field) = T::OWNER_FIELD
        && matches!(input.get(field), None | Some(Value::Null))
    {
        input.insert(field.to_owned(), Value::String(ctx.owner.to_string()));
    }
    let record = T::from_json(Value::Object(input), &Path::root(), &mut r);
    let normalized = match record.map(|record| serde_json::to_value(&record)) {
        Some(Ok(Value::Object(map))) => Some(map),
        Some(_) => {
            r.error(
                &Path::root(),
                "the record could not be put in normal form (a bug in Focal)",
            );
            None
        }
        None => None,
    };
    if let (Some(field), Some(map)) = (T::OWNER_FIELD, &normalized)
        && let Some(Value::String(found)) = map.get(field)
        && found != ctx.owner.as_str()
    {
        r.error(
            &Path::root().key(field),
            format!(
                "must be {}, the member that owns this record (found {found}); leave it out to \
                 use the owner",
                ctx.owner
            ),
        );
    }
    let errors = r.into_errors();
    match normalized {
        Some(map) if errors.is_empty() => Ok(map),
        _ => Err(errors),
    }
}

/// Reads a stored (normalized) field map into its typed struct, e.g.
/// `from_fields::<NationalActionPlan>(&fields)` for the NAP views.
pub fn from_fields<T: Record>(fields: &Map<String, Value>) -> Result<T, serde_json::Error> {
    serde_json::from_value(Value::Object(fields.clone()))
}

/// The human text of a normalized record (titles, summaries, names, in every
/// language), one piece per line, for text search. Codes, dates and links
/// are left out.
pub fn search_text(kind: RecordType, fields: &Map<String, Value>) -> String {
    with_record_type!(kind, T => match from_fields::<T>(fields) {
        Ok(record) => {
            let mut words = Vec::new();
            record.search_words(&mut words);
            words.join("\n")
        }
        // Not in normal form (written by a newer version?): every string.
        Err(_) => {
            let mut words = Vec::new();
            all_strings(&Value::Object(fields.clone()), &mut words);
            words.join("\n")
        }
    })
}

fn all_strings(value: &Value, out: &mut Vec<String>) {
    // An explicit stack: the record may be a peer's, nested as deep as the
    // depth limit allowed.
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::String(text) => out.push(text.clone()),
            Value::Array(items) => stack.extend(items.iter().rev()),
            Value::Object(map) => stack.extend(map.values().rev()),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// A short one-line label of a normalized record for tables: a focal
/// point's name, a plan's or practice's title in its original language …
pub fn summary_title(kind: RecordType, fields: &Map<String, Value>) -> String {
    with_record_type!(kind, T => match from_fields::<T>(fields) {
        Ok(record) => record.summary_title(),
        Err(_) => fallback_title(kind, fields),
    })
}

/// A label for a record that does not read as its type (written by a newer
/// version?): the first name-like field, as text or multilingual text.
fn fallback_title(kind: RecordType, fields: &Map<String, Value>) -> String {
    const NAME_FIELDS: &[&str] = &[
        "title",
        "person_name",
        "organization_name",
        "name",
        "theme",
        "speaker",
        "text",
    ];
    let original = |value: &Value| -> Option<String> {
        match value {
            Value::String(text) => Some(text.clone()),
            Value::Object(translations) => translations
                .values()
                .find(|t| t.get("original").and_then(Value::as_bool) == Some(true))
                .or_else(|| translations.values().next())
                .and_then(|t| t.get("text"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        }
    };
    NAME_FIELDS
        .iter()
        .find_map(|key| fields.get(*key).and_then(original))
        .map(|title| shorten(&title, 80))
        .unwrap_or_else(|| format!("({kind})"))
}

/// Reads normalized fields into their typed struct with serde and writes
/// them back: the stored form and the typed form must agree.
#[cfg(test)]
pub(crate) fn serde_round_trip(
    kind: RecordType,
    fields: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    with_record_type!(kind, T => {
        let typed = from_fields::<T>(fields).map_err(|e| e.to_string())?;
        match serde_json::to_value(typed).map_err(|e| e.to_string())? {
            Value::Object(map) => Ok(map),
            other => Err(format!("not an object: {other}")),
        }
    })
}

/// Pushes every translation of `text` onto `words`.
pub(crate) fn push_ltext<'a>(words: &mut Vec<&'a str>, text: &'a LText) {
    words.extend(text.translations().map(|(_, t)| t.text.as_str()));
}

/// Cuts `text` to at most `max` characters, ending with `…` if cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{testing::*, *};

    #[test]
    fn record_types_round_trip_their_names() {
        for kind in RecordType::ALL.iter().chain(RecordType::COMPANIONS) {
            assert_eq!(RecordType::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(RecordType::parse("recipe"), None);
    }

    #[test]
    fn envelope_keys_are_refused_for_every_type() {
        for kind in RecordType::ALL {
            let errors = invalid(*kind, json!({"owner": "ESP", "deleted": false}));
            assert!(
                errors.contains(
                    &"owner: `owner` is set by the node; leave it out of the fields".to_owned()
                ),
                "{kind}: {errors:?}"
            );
            assert!(
                errors.contains(
                    &"deleted: `deleted` is set by the node; leave it out of the fields".to_owned()
                ),
                "{kind}: {errors:?}"
            );
            for key in ENVELOPE_KEYS {
                let errors = invalid(*kind, json!({ *key: 9 }));
                assert!(
                    errors.contains(&format!(
                        "{key}: `{key}` is set by the node; leave it out of the fields"
                    )),
                    "{kind}, {key}: {errors:?}"
                );
            }
        }
    }

    #[test]
    fn errors_are_sorted_by_field_path() {
        for kind in RecordType::ALL {
            let errors = validate(
                *kind,
                &object(json!({"zzz": 1, "aaa": 2, "id": "x"})),
                &ctx("ESP"),
            )
            .unwrap_err();
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            let mut sorted = fields.clone();
            sorted.sort_unstable();
            assert_eq!(fields, sorted, "{kind}");
        }
    }

    #[test]
    fn records_not_in_normal_form_still_get_text_and_a_title() {
        let fields = object(json!({"person_name": "Ana Example", "field_from_the_future": "x"}));
        let text = search_text(RecordType::FocalPoint, &fields);
        assert!(text.contains("Ana Example") && text.contains('x'), "{text}");
        assert_eq!(
            summary_title(RecordType::FocalPoint, &fields),
            "Ana Example"
        );
        let fields = object(json!({
            "title": {"en": {"text": "Plan", "original": false}, "fr": {"text": "Plan (fr)", "original": true}},
            "kind": "unknown",
        }));
        assert_eq!(
            summary_title(RecordType::NationalActionPlan, &fields),
            "Plan (fr)"
        );
        assert_eq!(
            summary_title(RecordType::Registration, &Map::new()),
            "(registration)"
        );
    }

    #[test]
    fn lists_texts_and_languages_are_capped_with_the_field_and_the_limit() {
        let links: Vec<String> = (0..150_000)
            .map(|i| format!("https://example.org/{i}"))
            .collect();
        let errors = invalid(
            RecordType::Practice,
            json!({"title": "x", "themes": ["peacekeeping"], "evidence_links": links}),
        );
        assert_eq!(
            errors,
            vec![
                "evidence_links: has 150000 items; at most 2000 are allowed (`max_list_items` \
                 in the [limits] section of the node's focal.toml)"
                    .to_owned()
            ]
        );
        let long = "x".repeat(20_001);
        let errors = invalid(
            RecordType::Practice,
            json!({"title": "x", "themes": ["peacekeeping"], "summary": {"en": long}}),
        );
        assert!(
            errors[0].starts_with("summary.en: has 20001 bytes")
                && errors[0].contains("max_text_bytes"),
            "{errors:?}"
        );
        let errors = invalid(
            RecordType::FocalPoint,
            json!({"person_name": "y".repeat(1_001), "posting": "capital"}),
        );
        assert!(
            errors[0].starts_with("person_name: has 1001 bytes"),
            "{errors:?}"
        );
        let many: Map<String, Value> = (0..40)
            .map(|i| (format!("x-l{i:03}"), json!("t")))
            .collect();
        let errors = invalid(
            RecordType::Practice,
            json!({"title": many, "themes": ["peacekeeping"]}),
        );
        assert!(
            errors[0].starts_with("title: has 40 languages"),
            "{errors:?}"
        );
        // At the limits, a record is valid.
        let links: Vec<String> = (0..2_000)
            .map(|i| format!("https://example.org/{i}"))
            .collect();
        valid_for(
            "ESP",
            RecordType::Practice,
            json!({"title": "x".repeat(20_000), "themes": ["peacekeeping"], "evidence_links": links}),
        );
    }

    #[test]
    fn validate_is_idempotent_on_shorthand_input() {
        // Every `valid…` helper call checks this too; here with every
        // shorthand at once.
        let ctx = ctx("ESP");
        let input = object(json!({
            "kind": "National strategy",
            "title": "Estrategia",
            "status": "in_force",
            "generation": "2nd",
            "period": "2022-01-01/2026-12-31",
            "themes": "climate-change",
            "budget": "unspecified",
            "documents": "https://example.org/e.pdf",
            "monitoring": {"indicators": "Women in police"},
        }));
        let once = validate(RecordType::NationalActionPlan, &input, &ctx).unwrap();
        let twice = validate(RecordType::NationalActionPlan, &once, &ctx).unwrap();
        assert_eq!(once, twice);
        assert_ne!(once, input);
    }

    #[test]
    fn shorten_cuts_on_characters() {
        assert_eq!(shorten("Décision", 20), "Décision");
        assert_eq!(shorten("Décision numéro un", 5), "Déci…");
    }
}
