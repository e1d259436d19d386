//! JSON merge patch (RFC 7396), as records and the roster are changed.

use serde_json::{Map, Value};

/// RFC 7396: objects merge recursively, `null` removes, anything else
/// replaces. Recursive: callers bound the depth of both maps first.
pub fn merge_patch(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(key);
            }
            Value::Object(inner) => {
                let entry = target
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                if let Value::Object(existing) = entry {
                    merge_patch(existing, inner);
                }
            }
            other => {
                target.insert(key.clone(), other.clone());
            }
        }
    }
}

/// The merge patch (RFC 7396) that turns `old` into `new`, for the keys in
/// `keys` only (others are left as they are): a key that `new` lacks is
/// `null`, an object present in both is patched recursively, anything else
/// that differs is replaced. Empty when nothing differs. Recursive: callers
/// bound the depth of both maps first.
pub fn merge_diff<'a>(
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    keys: impl IntoIterator<Item = &'a str>,
) -> Map<String, Value> {
    let mut patch = Map::new();
    for key in keys {
        match (old.get(key), new.get(key)) {
            (None, None) => {}
            (Some(_), None) => {
                patch.insert(key.to_owned(), Value::Null);
            }
            (Some(Value::Object(before)), Some(Value::Object(after))) => {
                let inner = merge_diff(
                    before,
                    after,
                    before.keys().chain(after.keys()).map(String::as_str),
                );
                if !inner.is_empty() {
                    patch.insert(key.to_owned(), Value::Object(inner));
                }
            }
            (before, Some(after)) => {
                if before != Some(after) {
                    patch.insert(key.to_owned(), after.clone());
                }
            }
        }
    }
    patch
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut target = json!({"a": "b", "c": {"d": "e", "f": "g"}})
            .as_object()
            .cloned()
            .unwrap();
        let patch = json!({"a": "z", "c": {"f": null}})
            .as_object()
            .cloned()
            .unwrap();
        merge_patch(&mut target, &patch);
        assert_eq!(Value::Object(target), json!({"a": "z", "c": {"d": "e"}}));
    }

    #[test]
    fn the_diff_patches_the_old_into_the_new() {
        let obj = |v: Value| v.as_object().cloned().unwrap();
        let old = obj(json!({
            "title": {"en": {"text": "A", "original": true}},
            "period": {"start": "2020-01-01", "end": "2024-12-31"},
            "themes": ["a", "b"],
            "kept": 1,
            "gone": true,
        }));
        let new = obj(json!({
            "title": {"en": {"text": "A", "original": true}, "es": {"text": "Á", "original": false}},
            "period": {"start": "2021-01-01"},
            "themes": ["a"],
            "fresh": "x",
        }));
        let keys = ["title", "period", "themes", "gone", "fresh", "absent"];
        let patch = merge_diff(&old, &new, keys);
        assert_eq!(
            Value::Object(patch.clone()),
            json!({
                "title": {"es": {"text": "Á", "original": false}},
                "period": {"start": "2021-01-01", "end": null},
                "themes": ["a"],
                "gone": null,
                "fresh": "x",
            })
        );
        let mut patched = old.clone();
        merge_patch(&mut patched, &patch);
        let mut expected = new.clone();
        expected.insert("kept".into(), json!(1));
        assert_eq!(patched, expected, "keys outside the list are left alone");
        assert!(merge_diff(&new, &new, keys).is_empty());
    }
}
