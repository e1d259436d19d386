//! Helpers for the record types' unit tests.

use serde_json::{Map, Value};

use super::{RecordType, ValidationContext, validate};

/// A context for a record owned by `owner`, default language English.
pub(crate) fn ctx(owner: &str) -> ValidationContext {
    ValidationContext {
        owner: owner.parse().unwrap(),
        default_language: "en".to_owned(),
        limits: crate::limits::Limits::default(),
    }
}

/// The JSON object `value` as a field map.
pub(crate) fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Validates `fields` owned by `owner`, asserts that they are valid and that
/// validating the result again changes nothing, and returns the normal form.
pub(crate) fn valid_for(owner: &str, kind: RecordType, fields: Value) -> Value {
    let ctx = ctx(owner);
    let normalized = match validate(kind, &object(fields), &ctx) {
        Ok(normalized) => normalized,
        Err(errors) => panic!("{kind} should be valid, got: {errors:#?}"),
    };
    let again = validate(kind, &normalized, &ctx).unwrap_or_else(|errors| {
        panic!("the normal form of a {kind} should be valid, got: {errors:#?}")
    });
    assert_eq!(
        again, normalized,
        "validating the normal form of a {kind} changed it"
    );
    let typed = crate::records::serde_round_trip(kind, &normalized)
        .unwrap_or_else(|e| panic!("the normal form of a {kind} does not deserialize: {e}"));
    assert_eq!(
        typed, normalized,
        "the typed form of a {kind} differs from its normal form"
    );
    Value::Object(normalized)
}

/// [`valid_for`] with owner `ESP`.
pub(crate) fn valid(kind: RecordType, fields: Value) -> Value {
    valid_for("ESP", kind, fields)
}

/// Validates `fields` owned by `owner`, asserts that they are invalid and
/// returns the errors as `field: message` lines.
pub(crate) fn invalid_for(owner: &str, kind: RecordType, fields: Value) -> Vec<String> {
    match validate(kind, &object(fields), &ctx(owner)) {
        Ok(normalized) => panic!("{kind} should be invalid, got: {normalized:#?}"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

/// [`invalid_for`] with owner `ESP`.
pub(crate) fn invalid(kind: RecordType, fields: Value) -> Vec<String> {
    invalid_for("ESP", kind, fields)
}

/// Asserts that one of `errors` is exactly `expected`.
#[track_caller]
pub(crate) fn assert_has(errors: &[String], expected: &str) {
    assert!(
        errors.iter().any(|e| e == expected),
        "expected the error\n  {expected}\namong\n  {}",
        errors.join("\n  ")
    );
}

/// Asserts that one of `errors` starts with `prefix`.
#[track_caller]
pub(crate) fn assert_has_prefix(errors: &[String], prefix: &str) {
    assert!(
        errors.iter().any(|e| e.starts_with(prefix)),
        "expected an error starting with\n  {prefix}\namong\n  {}",
        errors.join("\n  ")
    );
}
