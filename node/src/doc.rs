//! JSON ⟷ Automerge: how a record's fields live in its document.
//!
//! A record is a JSON object; its document's root map holds the same tree
//! (objects as maps, arrays as lists, strings, integers, floats, booleans,
//! null). An update is written as the smallest set of operations that turns
//! the current tree into the new one: untouched fields get no operation, so
//! two clients that change different fields of one record both keep their
//! change when the edits merge. Arrays are replaced as a whole when they
//! differ (they are short lists of values, not collaborative sequences).

use automerge::{
    AutoSerde, Automerge, AutomergeError, ObjId, ObjType, ScalarValue, transaction::Transactable,
};
use serde_json::{Map, Value};

/// The document's root as a JSON object.
pub fn to_json(doc: &Automerge) -> Map<String, Value> {
    match serde_json::to_value(AutoSerde::from(doc)) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn scalar(value: &Value) -> ScalarValue {
    match value {
        Value::Null => ScalarValue::Null,
        Value::Bool(b) => ScalarValue::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => ScalarValue::Int(i),
            None => ScalarValue::F64(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => ScalarValue::Str(s.as_str().into()),
        // Objects and arrays are not scalars; callers never pass them.
        Value::Array(_) | Value::Object(_) => ScalarValue::Null,
    }
}

/// Writes `value` at `key` of map `obj`, replacing what was there.
pub fn put<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    value: &Value,
) -> Result<(), AutomergeError> {
    match value {
        Value::Object(map) => {
            let child = tx.put_object(obj, key, ObjType::Map)?;
            for (k, v) in map {
                put(tx, &child, k, v)?;
            }
        }
        Value::Array(items) => {
            let child = tx.put_object(obj, key, ObjType::List)?;
            for (index, item) in items.iter().enumerate() {
                insert(tx, &child, index, item)?;
            }
        }
        _ => tx.put(obj, key, scalar(value))?,
    }
    Ok(())
}

fn insert<T: Transactable>(
    tx: &mut T,
    list: &ObjId,
    index: usize,
    value: &Value,
) -> Result<(), AutomergeError> {
    match value {
        Value::Object(map) => {
            let child = tx.insert_object(list, index, ObjType::Map)?;
            for (k, v) in map {
                put(tx, &child, k, v)?;
            }
        }
        Value::Array(items) => {
            let child = tx.insert_object(list, index, ObjType::List)?;
            for (i, item) in items.iter().enumerate() {
                insert(tx, &child, i, item)?;
            }
        }
        _ => tx.insert(list, index, scalar(value))?,
    }
    Ok(())
}

/// Turns map `obj` (currently `current`) into `target` with the fewest
/// operations, skipping keys in `keep` at this level. Returns the paths of
/// the fields that changed.
pub fn reconcile<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    current: &Map<String, Value>,
    target: &Map<String, Value>,
    keep: &[&str],
    prefix: &str,
    touched: &mut Vec<String>,
) -> Result<(), AutomergeError> {
    let path = |key: &str| {
        if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        }
    };
    for key in current.keys() {
        if !target.contains_key(key) && !keep.contains(&key.as_str()) {
            tx.delete(obj, key.as_str())?;
            touched.push(path(key));
        }
    }
    for (key, new) in target {
        if keep.contains(&key.as_str()) {
            continue;
        }
        match (current.get(key), new) {
            (Some(old), new) if old == new => {}
            (Some(Value::Object(old)), Value::Object(new_map)) => {
                match tx.get(obj, key.as_str())? {
                    Some((automerge::Value::Object(ObjType::Map), child)) => {
                        reconcile(tx, &child, old, new_map, &[], &path(key), touched)?;
                    }
                    _ => {
                        put(tx, obj, key, new)?;
                        touched.push(path(key));
                    }
                }
            }
            _ => {
                put(tx, obj, key, new)?;
                touched.push(path(key));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn json_round_trips_through_a_document() {
        let value = object(json!({
            "title": {"en": {"text": "Third NAP", "original": true}},
            "generation": 3,
            "amount": 1250000.5,
            "themes": ["climate-change", "peacekeeping"],
            "budget": null,
            "active": true
        }));
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        for (k, v) in &value {
            put(&mut tx, &automerge::ROOT, k, v).unwrap();
        }
        tx.commit();
        assert_eq!(to_json(&doc), value);
    }

    #[test]
    fn concurrent_edits_of_different_fields_both_survive() {
        let base = object(json!({"title": "A", "status": "draft", "nested": {"x": 1, "y": 2}}));
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        for (k, v) in &base {
            put(&mut tx, &automerge::ROOT, k, v).unwrap();
        }
        tx.commit();
        let mut other = doc.fork();

        let mut a = base.clone();
        a.insert("title".into(), json!("B"));
        a.insert("nested".into(), json!({"x": 10, "y": 2}));
        let mut touched = vec![];
        let mut tx = doc.transaction();
        reconcile(&mut tx, &automerge::ROOT, &base, &a, &[], "", &mut touched).unwrap();
        tx.commit();
        assert_eq!(touched, vec!["nested.x", "title"]);

        let mut b = base.clone();
        b.insert("status".into(), json!("in-force"));
        b.insert("nested".into(), json!({"x": 1, "y": 20}));
        let mut tx = other.transaction();
        reconcile(&mut tx, &automerge::ROOT, &base, &b, &[], "", &mut vec![]).unwrap();
        tx.commit();

        doc.merge(&mut other).unwrap();
        assert_eq!(
            to_json(&doc),
            object(json!({"title": "B", "status": "in-force", "nested": {"x": 10, "y": 20}}))
        );
    }
}
