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
    Automerge, AutomergeError, ObjId, ObjType, ReadDoc, ScalarValue, transaction::Transactable,
};
use serde_json::{Map, Value};

use crate::limits::{Limit, Limits, OverLimit};

/// The document's root as a JSON object, for documents this node already
/// holds (accepted under its limits). Read like [`to_json_within`] with the
/// deepest nesting any configuration allows and no size limit; a document
/// deeper than that (none can be stored) reads as an empty map.
pub fn to_json(doc: &Automerge) -> Map<String, Value> {
    match to_json_within(doc, &Limits::for_stored()) {
        Ok(map) => map,
        Err(e) => {
            tracing::error!(%e, "a stored document is over the limits; read as empty");
            Map::new()
        }
    }
}

/// A map or list being read, with what has been read of it so far.
///
/// Each map and list is read in one pass of its entries (a lookup of each
/// key or index in turn costs a seek each: that was two thirds of reading a
/// record, once per received entry).
enum Frame<'a> {
    Map {
        /// Boxed: a map's iterator is some kilobytes.
        items: Box<automerge::iter::MapRange<'a>>,
        out: Map<String, Value>,
        /// Where it goes in its parent.
        slot: Slot,
    },
    List {
        items: Box<automerge::iter::ListRange<'a>>,
        out: Vec<Value>,
        slot: Slot,
    },
}

/// Where a finished map or list goes in its parent.
enum Slot {
    Root,
    Key(String),
    Item,
}

/// The document's root as a JSON object, read with an explicit stack (no
/// recursion, whatever a peer nested) and stopped at the first value over
/// `limits`: nesting deeper than `max_depth`, a list longer than
/// `max_list_items`, a string longer than `max_text_bytes`, or a record
/// whose JSON would exceed `max_record_json_bytes` (counted as it is read,
/// so a huge document is never materialised).
pub fn to_json_within(doc: &Automerge, limits: &Limits) -> Result<Map<String, Value>, OverLimit> {
    let max_bytes = limits.max_record_json_bytes as u64;
    let mut size: u64 = 2;
    let mut stack = vec![Frame::Map {
        items: Box::new(doc.map_range(automerge::ROOT, ..)),
        out: Map::new(),
        slot: Slot::Root,
    }];
    let grow = |size: &mut u64, by: usize| -> Result<(), OverLimit> {
        *size = size.saturating_add(by as u64);
        if *size > max_bytes {
            return Err(OverLimit {
                limit: Limit::RecordJsonBytes,
                value: *size,
                max: max_bytes,
                at: None,
            });
        }
        Ok(())
    };
    loop {
        let depth = stack.len();
        // The next child of the innermost open map or list: `None` once it
        // is complete, `Some(None)` for a child that cannot be read (which a
        // consistent document never has).
        let next = match stack.last_mut() {
            None => return Ok(Map::new()),
            Some(Frame::Map { items, out, .. }) => match items.next() {
                Some(item) => {
                    // `"key":` and, after the first, a comma.
                    grow(
                        &mut size,
                        json_string_len(&item.key) + 1 + usize::from(!out.is_empty()),
                    )?;
                    // A child's id matters only when it is an object.
                    let id = match item.value {
                        automerge::ValueRef::Object(_) => item.id(),
                        automerge::ValueRef::Scalar(_) => automerge::ROOT,
                    };
                    Some((
                        item.value.into_value(),
                        id,
                        Slot::Key(item.key.into_owned()),
                    ))
                }
                None => None,
            },
            Some(Frame::List { items, out, .. }) => match items.next() {
                Some(item) => {
                    grow(&mut size, usize::from(!out.is_empty()))?;
                    // A child's id matters only when it is an object.
                    let id = match item.value {
                        automerge::ValueRef::Object(_) => item.id(),
                        automerge::ValueRef::Scalar(_) => automerge::ROOT,
                    };
                    Some((item.value.into_value(), id, Slot::Item))
                }
                None => None,
            },
        };
        let (value, id, slot) = match next {
            Some(child) => child,
            None => {
                let (value, slot) = match stack.pop() {
                    Some(Frame::Map { out, slot, .. }) => (Value::Object(out), slot),
                    Some(Frame::List { out, slot, .. }) => (Value::Array(out), slot),
                    None => return Ok(Map::new()),
                };
                match (stack.last_mut(), slot, value) {
                    (_, Slot::Root, Value::Object(map)) => return Ok(map),
                    (Some(parent), slot, value) => place(parent, slot, value),
                    _ => return Ok(Map::new()),
                }
                continue;
            }
        };
        let over = |limit: Limit, value: usize| {
            limits.check(limit, value as u64).map_err(|mut e| {
                e.at = Some(match &slot {
                    Slot::Key(key) => key.clone(),
                    _ => "a list item".to_owned(),
                });
                e
            })
        };
        let child = match value {
            automerge::Value::Object(ObjType::Map | ObjType::Table) => {
                over(Limit::Depth, depth + 1)?;
                grow(&mut size, 2)?;
                stack.push(Frame::Map {
                    items: Box::new(doc.map_range(&id, ..)),
                    out: Map::new(),
                    slot,
                });
                continue;
            }
            automerge::Value::Object(ObjType::List) => {
                over(Limit::Depth, depth + 1)?;
                let len = doc.length(&id);
                over(Limit::ListItems, len)?;
                grow(&mut size, 2)?;
                stack.push(Frame::List {
                    items: Box::new(doc.list_range(&id, ..)),
                    out: Vec::new(),
                    slot,
                });
                continue;
            }
            automerge::Value::Object(ObjType::Text) => {
                // Characters first: no text is read whole before its length
                // is known to fit.
                over(Limit::TextBytes, doc.length(&id))?;
                let text = doc.text(&id).unwrap_or_default();
                over(Limit::TextBytes, text.len())?;
                Value::String(text)
            }
            automerge::Value::Scalar(scalar) => {
                if let ScalarValue::Str(text) = scalar.as_ref() {
                    over(Limit::TextBytes, text.len())?;
                }
                if let ScalarValue::Bytes(bytes) = scalar.as_ref() {
                    over(Limit::TextBytes, bytes.len())?;
                }
                serde_json::to_value(scalar.as_ref()).unwrap_or(Value::Null)
            }
        };
        grow(&mut size, crate::limits::json_len(&child))?;
        if let Some(parent) = stack.last_mut() {
            place(parent, slot, child);
        }
    }
}

fn place(parent: &mut Frame<'_>, slot: Slot, value: Value) {
    match (parent, slot) {
        (Frame::Map { out, .. }, Slot::Key(key)) => {
            out.insert(key, value);
        }
        (Frame::List { out, .. }, _) => out.push(value),
        _ => {}
    }
}

/// The length of `text` as a JSON string, quotes and escapes included.
fn json_string_len(text: &str) -> usize {
    2 + text
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
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
///
/// Recursive: callers bound the depth of `value` first
/// ([`Limits::check_fields`]).
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
/// the fields that changed. Recursive, like [`put`]: both trees are bounded
/// in depth by their callers.
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

    /// A document nesting maps `depth` deep under `nested`.
    fn nested(depth: usize) -> Automerge {
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        let mut obj = automerge::ROOT;
        for _ in 0..depth {
            obj = tx.put_object(&obj, "nested", ObjType::Map).unwrap();
        }
        tx.commit();
        doc
    }

    #[test]
    fn a_deep_document_is_refused_without_recursion() {
        let limits = Limits::default();
        for depth in [400, 10_000] {
            let doc = nested(depth);
            let err = to_json_within(&doc, &limits).unwrap_err();
            assert_eq!(err.limit, Limit::Depth, "{depth}");
            assert_eq!(err.value, limits.max_depth as u64 + 1);
            assert!(err.to_string().contains("max_depth"), "{err}");
            // Stored documents are read with a depth cap too, never by
            // recursion.
            assert!(to_json(&doc).is_empty());
        }
        // At the limit, it reads.
        let doc = nested(limits.max_depth - 1);
        assert!(to_json_within(&doc, &limits).is_ok());
    }

    #[test]
    fn a_large_document_stops_at_the_size_and_list_limits() {
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        let list = tx
            .put_object(automerge::ROOT, "items", ObjType::List)
            .unwrap();
        for i in 0..3_000 {
            tx.insert(&list, i, "xxxxxxxxxx").unwrap();
        }
        tx.commit();
        let err = to_json_within(&doc, &Limits::default()).unwrap_err();
        assert_eq!(err.limit, Limit::ListItems);
        assert_eq!(err.at.as_deref(), Some("items"));
        let small = Limits {
            max_record_json_bytes: 10_000,
            max_list_items: 10_000,
            ..Limits::default()
        };
        let err = to_json_within(&doc, &small).unwrap_err();
        assert_eq!(err.limit, Limit::RecordJsonBytes);
        // Counted as it is read: stopped just past the limit.
        assert!(err.value <= 10_000 + 20, "{}", err.value);

        // The size counted is the size of the compact JSON.
        let json = to_json(&doc);
        let exact = serde_json::to_vec(&json).unwrap().len();
        let fits = Limits {
            max_record_json_bytes: exact,
            max_list_items: 10_000,
            ..Limits::default()
        };
        assert_eq!(to_json_within(&doc, &fits).unwrap(), json);
        let short = Limits {
            max_record_json_bytes: exact - 1,
            ..fits
        };
        assert!(to_json_within(&doc, &short).is_err());
    }

    /// Reads a document one lookup per key and index, as this module did
    /// before it read each map and list in one pass.
    fn by_lookups(doc: &Automerge, obj: &ObjId, kind: ObjType) -> Value {
        let value = |v: automerge::Value<'_>, id: ObjId| match v {
            automerge::Value::Object(ObjType::Text) => Value::String(doc.text(&id).unwrap()),
            automerge::Value::Object(kind) => by_lookups(doc, &id, kind),
            automerge::Value::Scalar(s) => serde_json::to_value(s.as_ref()).unwrap(),
        };
        match kind {
            ObjType::List => Value::Array(
                (0..doc.length(obj))
                    .map(|i| {
                        let (v, id) = doc.get(obj, i).unwrap().unwrap();
                        value(v, id)
                    })
                    .collect(),
            ),
            _ => Value::Object(
                doc.keys(obj)
                    .map(|k| {
                        let (v, id) = doc.get(obj, k.as_str()).unwrap().unwrap();
                        (k, value(v, id))
                    })
                    .collect(),
            ),
        }
    }

    #[test]
    fn one_pass_reads_what_lookups_of_each_key_read_conflicts_and_deletions_included() {
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        let list = tx
            .put_object(automerge::ROOT, "list", ObjType::List)
            .unwrap();
        for i in 0..20 {
            tx.insert(&list, i, i as i64).unwrap();
        }
        let inner = tx.insert_object(&list, 3, ObjType::List).unwrap();
        tx.insert(&inner, 0, "a").unwrap();
        let map = tx.insert_object(&list, 5, ObjType::Map).unwrap();
        tx.put(&map, "k", 1.5).unwrap();
        let text = tx
            .put_object(automerge::ROOT, "text", ObjType::Text)
            .unwrap();
        tx.splice_text(&text, 0, 0, "héllo \"wörld\"").unwrap();
        for k in ["a", "b", "c", "d", "zz", "é"] {
            tx.put(automerge::ROOT, k, k).unwrap();
        }
        tx.commit();
        let mut other = doc.fork();
        // Concurrent writes of the same keys and list items, and
        // deletions: the winner must be the one a lookup returns.
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, "a", "from one").unwrap();
        tx.delete(automerge::ROOT, "b").unwrap();
        tx.delete(&list, 7).unwrap();
        tx.put(&list, 0, "first").unwrap();
        tx.commit();
        let mut tx = other.transaction();
        tx.put(automerge::ROOT, "a", 42).unwrap();
        tx.put_object(automerge::ROOT, "c", ObjType::Map).unwrap();
        tx.put(&list, 0, true).unwrap();
        tx.delete(&list, 9).unwrap();
        tx.insert(&list, 2, ()).unwrap();
        tx.commit();
        doc.merge(&mut other).unwrap();
        let expected = by_lookups(&doc, &automerge::ROOT, ObjType::Map);
        assert_eq!(Value::Object(to_json(&doc)), expected);
        assert_eq!(
            Value::Object(to_json_within(&doc, &Limits::default()).unwrap()),
            expected
        );
        // And the size counted is still the compact JSON's, to the byte.
        let exact = serde_json::to_vec(&expected).unwrap().len();
        let at = |max| Limits {
            max_record_json_bytes: max,
            ..Limits::default()
        };
        assert!(to_json_within(&doc, &at(exact)).is_ok());
        assert!(to_json_within(&doc, &at(exact - 1)).is_err());
    }
}
