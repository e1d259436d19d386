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
}
