//! What each record type's fields look like, for forms: the web app builds
//! its create and edit forms from these shapes, so that they follow the
//! schema the node validates with ([`super::validate`]) and cannot drift
//! from it (a test compares each shape with the schema's fields).

use super::{
    Decision, FocalPoint, FollowUp, FundingCommitment, Meeting, MemberProfile, NationalActionPlan,
    Partnership, Practice, Record, RecordType, Registration, Statement, focal_point,
    with_record_type,
};

/// The shape of one value, as a form asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// One line of text; `input` is the HTML input type that fits it
    /// (`text`, `url`, `email`, `tel`).
    Text {
        /// The HTML input type.
        input: &'static str,
    },
    /// Multilingual text: the same text in several languages, one of them
    /// the original (`{"en": {"text": …, "original": true}}`).
    LText,
    /// Yes or no.
    Bool,
    /// A day, `YYYY-MM-DD`.
    Date,
    /// A year, `YYYY`.
    Year,
    /// A number.
    Number {
        /// Whole numbers only.
        integer: bool,
    },
    /// One of a closed list of values (a vocabulary), in their JSON
    /// spelling, in the order documented.
    Choice {
        /// The values.
        values: &'static [&'static str],
    },
    /// A member code (`ESP`, `AU`, `SEC`).
    Member,
    /// A language tag (`en`, `fr-CA`).
    Language,
    /// An ISO 4217 currency code.
    Currency,
    /// The id of another record, of this type.
    Reference {
        /// The record type referred to (`RecordType::as_str`).
        kind: &'static str,
    },
    /// A nested object with its own fields.
    Object(Vec<Field>),
    /// A list of values of one shape.
    List(Box<Shape>),
    /// Anything a form cannot lay out field by field (a value that is one
    /// of several shapes): edited as JSON.
    Json,
}

/// One field of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Its JSON key.
    pub name: &'static str,
    /// Whether a record without it is refused.
    pub required: bool,
    /// Its shape.
    pub shape: Shape,
}

/// A type whose shape a form can show.
pub trait Describe {
    /// The shape.
    fn shape() -> Shape;
}

impl<T: Describe> Describe for Option<T> {
    fn shape() -> Shape {
        T::shape()
    }
}

impl<T: Describe> Describe for Vec<T> {
    fn shape() -> Shape {
        Shape::List(Box::new(T::shape()))
    }
}

impl Describe for String {
    fn shape() -> Shape {
        Shape::Text { input: "text" }
    }
}

impl Describe for bool {
    fn shape() -> Shape {
        Shape::Bool
    }
}

/// The fields of record type `kind` (the envelope's keys, written by the
/// node, are not among them), in the schema's order, under their JSON keys.
///
/// A field is `required` when [`super::validate`] refuses a record without
/// it ("is required"). So these are optional although the stored record
/// always has them: the field naming the member the record is about
/// (`member`, a profile's `code`), which the node fills in with the owner;
/// a decision's `status` (`open` when left out); a member profile's `kind`
/// (which follows from the code; for a user-assigned code such as `XKX`
/// the node asks for it).
///
/// Rules across fields are not in the shapes, and the node's answer names
/// the field when one is broken; those that make a record with only its
/// required fields invalid: a meeting needs a `title` or a `theme`, a
/// statement its `text` or a `link`, contact details an `email` or a
/// `phone`.
///
/// For [`RecordType::FocalPointContact`], the companion the node writes
/// beside a focal point, these are the fields of the focal point's
/// `contact` (`email`, `phone`): clients never create one directly.
pub fn fields_of(kind: RecordType) -> Vec<Field> {
    with_record_type!(kind, T => record_fields::<T>())
}

/// The fields of record struct `T`, with its owner field optional.
fn record_fields<T: Record + Describe>() -> Vec<Field> {
    let Shape::Object(mut fields) = T::shape() else {
        // Every record struct is declared with `schema!`: an object.
        return Vec::new();
    };
    for field in &mut fields {
        if T::OWNER_FIELD == Some(field.name) {
            field.required = false;
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{Map, Value, json};

    use super::*;
    use crate::records::{ENVELOPE_KEYS, testing::ctx, validate};

    /// The owner of every sample record.
    const OWNER: &str = "ESP";

    /// Every record type, companions included.
    fn every_kind() -> impl Iterator<Item = RecordType> {
        RecordType::ALL
            .iter()
            .chain(RecordType::COMPANIONS)
            .copied()
    }

    fn field<'a>(fields: &'a [Field], name: &str) -> &'a Field {
        fields
            .iter()
            .find(|field| field.name == name)
            .unwrap_or_else(|| panic!("no field {name} in {fields:#?}"))
    }

    /// Calls `visit` with every shape in `shape` (itself included) and its
    /// path as the validator writes it (`monitoring.indicators[0].name`);
    /// a list's item is at `[0]`.
    fn walk(shape: &Shape, path: &str, visit: &mut dyn FnMut(&str, &Shape)) {
        visit(path, shape);
        match shape {
            Shape::Object(fields) => {
                for field in fields {
                    let at = if path.is_empty() {
                        field.name.to_owned()
                    } else {
                        format!("{path}.{}", field.name)
                    };
                    walk(&field.shape, &at, visit);
                }
            }
            Shape::List(item) => walk(item, &format!("{path}[0]"), visit),
            _ => {}
        }
    }

    /// The record type's shape: an object with [`fields_of`].
    fn record_shape(kind: RecordType) -> Shape {
        Shape::Object(fields_of(kind))
    }

    /// A valid value for the field at `path` whose shape a sample cannot be
    /// made from (JSON), or where a generic sample breaks a rule.
    fn special_sample(kind: RecordType, path: &str) -> Option<Value> {
        let sample = match (kind, path) {
            (RecordType::NationalActionPlan, "budget") => {
                json!({"status": "allocated", "amount": 1, "currency": "EUR"})
            }
            (RecordType::FundingCommitment, "donor") => json!({"kind": "member", "code": OWNER}),
            // Donor and recipient differ.
            (RecordType::FundingCommitment, "recipient") => {
                json!({"kind": "civil-society", "name": "x", "country": "NAM"})
            }
            (RecordType::Decision, "responsible") => json!({"kind": "member", "code": "NAM"}),
            (RecordType::Meeting, "outcomes[0].links") => json!({"en": "https://example.org/x"}),
            // A text, but not any text: a UN document symbol.
            (RecordType::Meeting, "outcomes[0].un_symbol") => json!("S/2024/123"),
            // The chair (the owner, as every member code) is no co-chair.
            (RecordType::Meeting, "co_chairs[0]") => json!("NAM"),
            _ => return None,
        };
        Some(sample)
    }

    /// A sample value of `shape` (at `path` in a record of type `kind`):
    /// with every field of objects if `full`, else only the required ones.
    fn sample(kind: RecordType, shape: &Shape, path: &str, full: bool) -> Value {
        if let Some(special) = special_sample(kind, path) {
            return special;
        }
        match shape {
            Shape::Text { input: "url" } => json!("https://example.org/x"),
            Shape::Text { input: "email" } => json!("x@example.org"),
            Shape::Text { input: "tel" } => json!("+44 20 7946 0000"),
            Shape::Text { .. } => json!("x"),
            Shape::LText => json!({"en": {"text": "x", "original": true}}),
            Shape::Bool => json!(true),
            Shape::Date => json!("2026-01-01"),
            Shape::Year => json!(2026),
            Shape::Number { .. } => json!(1),
            Shape::Choice { values } => json!(values[0]),
            // The owner: fields naming the member a record is about must.
            Shape::Member => json!(OWNER),
            Shape::Language => json!("en"),
            Shape::Currency => json!("EUR"),
            Shape::Reference { kind } => json!(format!("{OWNER}:{kind}:aaaaaaaaaaaa")),
            Shape::Object(fields) => {
                let mut map = Map::new();
                for field in fields.iter().filter(|field| full || field.required) {
                    let at = if path.is_empty() {
                        field.name.to_owned()
                    } else {
                        format!("{path}.{}", field.name)
                    };
                    map.insert(field.name.to_owned(), sample(kind, &field.shape, &at, full));
                }
                Value::Object(map)
            }
            Shape::List(item) => json!([sample(kind, item, &format!("{path}[0]"), full)]),
            Shape::Json => panic!("{kind}: add a sample for {path} (edited as JSON)"),
        }
    }

    /// A record of type `kind` with only its required fields, plus those
    /// that a rule across fields asks for when others are missing ("one of
    /// these"), which a shape does not express.
    fn required_sample(kind: RecordType) -> Map<String, Value> {
        let Value::Object(mut record) = sample(kind, &record_shape(kind), "", false) else {
            unreachable!("a record's shape is an object");
        };
        let one_of: &[(&str, &str)] = match kind {
            // "theme: is required, unless the meeting has a title"
            RecordType::Meeting => &[("title", "theme")],
            // "text: is required unless a link is given"
            RecordType::Statement => &[("link", "text")],
            // "has neither email nor phone"
            RecordType::FocalPointContact => &[("email", "")],
            _ => &[],
        };
        for (add, error_at) in one_of {
            let errors = validate(kind, &record, &ctx(OWNER)).unwrap_err();
            assert!(
                errors.iter().any(|error| error.field == *error_at),
                "{kind}: expected a rule's error at {error_at:?}, got {errors:?}"
            );
            let fields = fields_of(kind);
            let shape = &field(&fields, add).shape;
            record.insert((*add).to_owned(), sample(kind, shape, add, false));
        }
        record
    }

    /// A record of type `kind` with every field.
    fn full_sample(kind: RecordType) -> Map<String, Value> {
        match sample(kind, &record_shape(kind), "", true) {
            Value::Object(record) => record,
            other => unreachable!("a record's shape is an object, not {other}"),
        }
    }

    #[test]
    fn every_record_type_has_fields_with_unique_names() {
        for kind in every_kind() {
            assert!(!fields_of(kind).is_empty(), "{kind} has no fields");
            walk(&record_shape(kind), "", &mut |path, shape| {
                if let Shape::Object(fields) = shape {
                    let names: BTreeSet<&str> = fields.iter().map(|field| field.name).collect();
                    assert_eq!(
                        names.len(),
                        fields.len(),
                        "{kind}: a name repeats in {path:?}: {fields:#?}"
                    );
                }
            });
        }
    }

    #[test]
    fn no_field_is_an_envelope_key() {
        for kind in every_kind() {
            for field in fields_of(kind) {
                assert!(
                    !ENVELOPE_KEYS.contains(&field.name),
                    "{kind}.{} is an envelope key",
                    field.name
                );
            }
        }
    }

    #[test]
    fn required_fields_are_those_the_validator_requires() {
        for kind in every_kind() {
            let errors = validate(kind, &Map::new(), &ctx(OWNER)).unwrap_err();
            // `Fields::take`'s message for a missing field; rules across
            // fields say more ("is required, unless the meeting has a
            // title") and are not about one field.
            let missing: BTreeSet<&str> = errors
                .iter()
                .filter(|error| error.message == "is required")
                .map(|error| error.field.as_str())
                .collect();
            let fields = fields_of(kind);
            let required: BTreeSet<&str> = fields
                .iter()
                .filter(|field| field.required)
                .map(|field| field.name)
                .collect();
            assert_eq!(required, missing, "{kind}: {errors:#?}");
        }
    }

    #[test]
    fn records_with_only_the_required_fields_are_valid() {
        for kind in every_kind() {
            let record = required_sample(kind);
            if let Err(errors) = validate(kind, &record, &ctx(OWNER)) {
                panic!("{kind}: {record:#?} is refused: {errors:#?}");
            }
        }
    }

    /// Checks that `stored` (the normal form of `given`) has the keys of
    /// `given`, the shape's field names, at every level.
    fn same_keys(kind: RecordType, shape: &Shape, given: &Value, stored: &Value, path: &str) {
        match (shape, given, stored) {
            (Shape::Object(fields), Value::Object(given), Value::Object(stored)) => {
                let names: BTreeSet<&str> = fields.iter().map(|field| field.name).collect();
                let given_keys: BTreeSet<&str> = given.keys().map(String::as_str).collect();
                let stored_keys: BTreeSet<&str> = stored.keys().map(String::as_str).collect();
                assert_eq!(given_keys, names, "{kind} {path:?}: the sample is not full");
                assert_eq!(
                    stored_keys, names,
                    "{kind} {path:?}: stored under other keys"
                );
                for field in fields {
                    same_keys(
                        kind,
                        &field.shape,
                        &given[field.name],
                        &stored[field.name],
                        &format!("{path}.{}", field.name),
                    );
                }
            }
            (Shape::List(item), Value::Array(given), Value::Array(stored)) => {
                assert_eq!(given.len(), stored.len(), "{kind} {path:?}");
                for (given, stored) in given.iter().zip(stored) {
                    same_keys(kind, item, given, stored, &format!("{path}[0]"));
                }
            }
            (Shape::Object(_) | Shape::List(_), _, _) => {
                panic!("{kind} {path:?}: {given} was stored as {stored}")
            }
            _ => {}
        }
    }

    #[test]
    fn records_with_every_field_are_valid_and_stored_under_the_shapes_keys() {
        // The reader only knows the shapes' names (a record's keys are checked
        // against them), and serde writes the stored form: if a serde rename
        // made them differ, the stored keys would not be the shape's.
        for kind in every_kind() {
            let record = full_sample(kind);
            let stored = validate(kind, &record, &ctx(OWNER))
                .unwrap_or_else(|errors| panic!("{kind}: {record:#?} is refused: {errors:#?}"));
            same_keys(
                kind,
                &record_shape(kind),
                &Value::Object(record),
                &Value::Object(stored),
                "",
            );
        }
    }

    /// The JSON pointer of a validator path (`a.b[0].c` → `/a/b/0/c`).
    fn pointer(path: &str) -> String {
        path.split('.')
            .flat_map(|part| part.split('['))
            .map(|part| format!("/{}", part.trim_end_matches(']')))
            .collect()
    }

    #[test]
    fn every_choice_is_accepted_where_it_is_offered() {
        let mut choices = 0;
        for kind in every_kind() {
            let record = Value::Object(full_sample(kind));
            walk(&record_shape(kind), "", &mut |path, shape| {
                let Shape::Choice { values } = shape else {
                    return;
                };
                assert!(!values.is_empty(), "{kind} {path}: no values");
                for value in *values {
                    choices += 1;
                    let mut record = record.clone();
                    *record.pointer_mut(&pointer(path)).unwrap() = json!(value);
                    let Value::Object(record) = record else {
                        unreachable!()
                    };
                    match validate(kind, &record, &ctx(OWNER)) {
                        Ok(stored) => {
                            let stored = Value::Object(stored);
                            assert_eq!(
                                stored.pointer(&pointer(path)),
                                Some(&json!(value)),
                                "{kind} {path}: {value} is stored in another spelling"
                            );
                        }
                        // A rule across fields may refuse the value in this
                        // sample (a dominant pillar not among the pillars, a
                        // member kind that is not the owner's), but not the
                        // vocabulary, whose messages list the values.
                        Err(errors) => assert!(
                            !errors
                                .iter()
                                .any(|e| e.field == path && e.message.contains("use one of")),
                            "{kind} {path}: {value} is refused: {errors:#?}"
                        ),
                    }
                }
            });
        }
        assert!(choices > 100, "only {choices} choices checked");
    }

    #[test]
    fn only_values_of_several_shapes_are_edited_as_json() {
        let mut json = Vec::new();
        for kind in every_kind() {
            walk(&record_shape(kind), "", &mut |path, shape| {
                if *shape == Shape::Json {
                    json.push(format!("{kind}.{path}"));
                }
            });
        }
        assert_eq!(
            json,
            [
                "nap.budget",
                "funding.donor",
                "funding.recipient",
                "meeting.outcomes[0].links",
                "decision.responsible",
            ]
        );
    }

    #[test]
    fn a_plans_shape() {
        let fields = fields_of(RecordType::NationalActionPlan);
        let names: Vec<&str> = fields.iter().map(|field| field.name).collect();
        assert_eq!(
            names,
            [
                "member",
                "kind",
                "title",
                "generation",
                "adopted",
                "period",
                "status",
                "supersedes",
                "lead_agency",
                "lead_agency_category",
                "pillars",
                "dominant_pillar",
                "themes",
                "budget",
                "monitoring",
                "civil_society",
                "documents",
            ]
        );
        let title = field(&fields, "title");
        assert!(title.required);
        assert_eq!(title.shape, Shape::LText);
        // The owner, filled in when left out.
        let member = field(&fields, "member");
        assert_eq!((member.required, &member.shape), (false, &Shape::Member));
        let period = field(&fields, "period");
        assert!(!period.required);
        assert_eq!(
            period.shape,
            Shape::Object(vec![
                Field {
                    name: "start",
                    required: true,
                    shape: Shape::Date
                },
                Field {
                    name: "end",
                    required: false,
                    shape: Shape::Date
                },
            ])
        );
        let Shape::List(theme) = &field(&fields, "themes").shape else {
            panic!("themes are not a list");
        };
        let Shape::Choice { values } = **theme else {
            panic!("a theme is not a choice");
        };
        assert!(values.contains(&"climate-change"), "{values:?}");
        assert_eq!(values.len(), super::super::Theme::ALL.len());
        assert_eq!(
            field(&fields, "supersedes").shape,
            Shape::Reference { kind: "nap" }
        );
        assert_eq!(
            field(&fields, "generation").shape,
            Shape::Number { integer: true }
        );
        let Shape::List(document) = &field(&fields, "documents").shape else {
            panic!("documents are not a list");
        };
        let Shape::Object(document) = &**document else {
            panic!("a document is not an object");
        };
        assert_eq!(
            field(document, "url"),
            &Field {
                name: "url",
                required: true,
                shape: Shape::Text { input: "url" }
            }
        );
        assert_eq!(field(document, "language").shape, Shape::Language);
    }

    #[test]
    fn defaulted_and_owner_fields_are_optional() {
        let decision = fields_of(RecordType::Decision);
        assert!(!field(&decision, "status").required);
        assert!(field(&decision, "kind").required);
        let member = fields_of(RecordType::Member);
        assert!(!field(&member, "code").required);
        assert!(!field(&member, "kind").required);
        assert!(field(&member, "name").required);
        let practice = fields_of(RecordType::Practice);
        // At least one theme: a list, required.
        assert!(field(&practice, "themes").required);
        assert!(matches!(field(&practice, "themes").shape, Shape::List(_)));
        let contact = fields_of(RecordType::FocalPointContact);
        let names: Vec<&str> = contact.iter().map(|field| field.name).collect();
        assert_eq!(names, ["email", "phone"]);
        assert_eq!(field(&contact, "phone").shape, Shape::Text { input: "tel" });
    }
}
