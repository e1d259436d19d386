//! A record's fields as the client API receives them (`fields_json`, parsed
//! as `api.rs` does, then `records::validate` for a record type chosen by
//! the first byte), and as a record received from a peer is read by the
//! views (`search_text`, `summary_title` on fields nobody validated).
//!
//! Validation promises that the normal form validates to itself.

#![no_main]

use focal_node::records::{self, RecordType, ValidationContext};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, json)) = data.split_first() else {
        return;
    };
    let kind = RecordType::ALL[usize::from(selector) % RecordType::ALL.len()];
    let Ok(json) = std::str::from_utf8(json) else {
        return;
    };
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(json) else {
        return;
    };
    let _ = records::search_text(kind, &fields);
    let _ = records::summary_title(kind, &fields);
    // The secretariat owns meetings and decisions; members the rest.
    let owner = if kind.secretariat_only() {
        "SEC"
    } else {
        "ESP"
    };
    let ctx = ValidationContext {
        owner: owner.parse().expect("a member code"),
        default_language: "en".to_owned(),
        limits: focal_node::limits::Limits::default(),
    };
    if let Ok(normal) = records::validate(kind, &fields, &ctx) {
        let again = records::validate(kind, &normal, &ctx)
            .unwrap_or_else(|e| panic!("the normal form of a {kind} is refused: {e:?}"));
        assert_eq!(
            again, normal,
            "validating the normal form of a {kind} changed it"
        );
        let _ = records::search_text(kind, &normal);
        let _ = records::summary_title(kind, &normal);
    }
});
