//! `focal-node verify`: re-check the whole store offline.
//!
//! Three passes, each reporting the first problem precisely:
//! 1. every log: entries decode, their stored columns agree with their
//!    content, signatures verify, changes are intact and authored by the
//!    origin, sequence numbers run 1, 2, 3 … and each `prev` is the hash of
//!    the entry before it;
//! 2. every document: replaying its changes from the log rebuilds exactly the
//!    stored document (snapshot plus pending changes): same heads, same
//!    content;
//! 3. every projection row equals the projection of the rebuilt document;
//! 4. the views' summaries (`practice_tally`, `funding_tally`) and the
//!    record list's counts (`record_counts`) equal the sums of what each
//!    record contributes, summed again from the records; the fact tables
//!    (`follow_up_facts`, `practice_themes`, `record_theme_rows`) hold
//!    what the records hold; the search index has a text per record.
//!
//! Changes listed in `dropped_changes` (taken out by a key's cut-off, see
//! `revocation`) are left out of the replay, as they are out of the document.

use std::collections::BTreeSet;

use automerge::Automerge;
use rusqlite::{Connection, OptionalExtension};

use crate::{
    doc,
    identity::NodeId,
    log::{ActorBindings, Audience, EntryHash, LogEntry},
    store::documents::{load_document, row_from_json},
};

/// What a clean verification covered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Logs checked (origin × audience).
    pub logs: u64,
    /// Entries checked.
    pub entries: u64,
    /// Documents rebuilt.
    pub documents: u64,
}

/// The first problem found.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct VerifyError(pub String);

fn fail<T>(message: String) -> Result<T, VerifyError> {
    Err(VerifyError(message))
}

fn sql(e: rusqlite::Error) -> VerifyError {
    VerifyError(format!("cannot read the database: {e}"))
}

/// [`verify`] inside one read transaction: a consistent snapshot even while
/// a node writes to the database.
pub fn verify_snapshot(
    conn: &Connection,
    progress: impl FnMut(&str, u64, u64),
) -> Result<VerifyReport, VerifyError> {
    conn.execute_batch("BEGIN").map_err(sql)?;
    let result = verify(conn, progress);
    let _ = conn.execute_batch("ROLLBACK");
    result
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} entries in {} logs verified, {} records rebuilt from the log and matching",
            self.entries, self.logs, self.documents
        )
    }
}

/// Verifies everything; `progress` is called with (stage, done, total).
pub fn verify(
    conn: &Connection,
    mut progress: impl FnMut(&str, u64, u64),
) -> Result<VerifyReport, VerifyError> {
    let mut report = VerifyReport::default();
    let total: i64 = conn
        .query_row("SELECT count(*) FROM log_entries", [], |r| r.get(0))
        .map_err(sql)?;
    let mut stmt = conn
        .prepare(
            "SELECT origin, audience, seq, hash, doc_id, entry FROM log_entries
             ORDER BY origin, audience, seq",
        )
        .map_err(sql)?;
    let mut rows = stmt.query([]).map_err(sql)?;
    let mut current: Option<(NodeId, Audience, u64, EntryHash)> = None;
    while let Some(row) = rows.next().map_err(sql)? {
        let origin: Vec<u8> = row.get(0).map_err(sql)?;
        let audience: u8 = row.get(1).map_err(sql)?;
        let seq: i64 = row.get(2).map_err(sql)?;
        let hash: Vec<u8> = row.get(3).map_err(sql)?;
        let doc_id: String = row.get(4).map_err(sql)?;
        let bytes: Vec<u8> = row.get(5).map_err(sql)?;
        let label = format!("log entry {seq} of key {}", hex::encode(&origin));
        let entry = match LogEntry::decode(&bytes) {
            Ok(entry) => entry,
            Err(e) => return fail(format!("{label}: {e}")),
        };
        let body = &entry.body;
        let entry_hash = LogEntry::hash_of(&bytes);
        if let Err(e) = entry.verify(&crate::limits::Limits::for_stored()) {
            return fail(format!("{label} ({}): {e}", body.audience.as_str()));
        }
        if body.origin.0[..] != origin[..]
            || body.audience.code() != audience
            || body.seq as i64 != seq
            || body.doc_id != doc_id
            || entry_hash.0[..] != hash[..]
        {
            return fail(format!(
                "{label}: the stored columns (origin, audience, seq, record, hash) do not match \
                 the signed entry"
            ));
        }
        let expected = match current {
            Some((o, a, s, h)) if o == body.origin && a == body.audience => Some((s + 1, h)),
            _ => {
                report.logs += 1;
                None
            }
        };
        let (want_seq, want_prev) = expected.unwrap_or((1, EntryHash::default()));
        if body.seq != want_seq {
            return fail(format!(
                "log of key {} ({}): entry {} follows entry {}: sequence gap",
                body.origin,
                body.audience.as_str(),
                body.seq,
                want_seq - 1
            ));
        }
        if body.prev != want_prev {
            return fail(format!(
                "log of key {} ({}): entry {} names previous hash {}, but entry {} hashes to {}: \
                 the hash chain is broken",
                body.origin,
                body.audience.as_str(),
                body.seq,
                body.prev,
                body.seq - 1,
                want_prev
            ));
        }
        current = Some((body.origin, body.audience, body.seq, entry_hash));
        report.entries += 1;
        if report.entries % 1000 == 0 {
            progress("logs", report.entries, total as u64);
        }
    }
    progress("logs", report.entries, total as u64);

    let mut ids = BTreeSet::new();
    for table in [
        "SELECT DISTINCT doc_id FROM log_entries",
        "SELECT doc_id FROM documents",
        "SELECT id FROM records",
    ] {
        let mut stmt = conn.prepare(table).map_err(sql)?;
        for id in stmt.query_map([], |r| r.get::<_, String>(0)).map_err(sql)? {
            ids.insert(id.map_err(sql)?);
        }
    }
    let count = ids.len() as u64;
    for id in ids {
        verify_document(conn, &id)?;
        report.documents += 1;
        if report.documents % 100 == 0 {
            progress("documents", report.documents, count);
        }
    }
    progress("documents", report.documents, count);
    for summary in &SUMMARIES {
        verify_summary(conn, summary)?;
    }
    verify_facts(conn)?;
    Ok(report)
}

/// The tables of migration 10 that copy facts out of records: each, the
/// view that reads them again from the records, and its id column.
const FACTS: [(&str, &str, &str); 3] = [
    ("follow_up_facts", "follow_up_source", "id"),
    ("practice_themes", "practice_theme_source", "record_id"),
    ("record_theme_rows", "record_theme_row_source", "id"),
];

/// Compares the fact tables with the facts read again from the records.
fn verify_facts(conn: &Connection) -> Result<(), VerifyError> {
    for (table, source, id) in FACTS {
        for (query, says) in [
            (
                format!("SELECT {id} FROM (SELECT * FROM {source} EXCEPT SELECT * FROM {table})"),
                format!("is missing from {table} or differs there"),
            ),
            (
                format!("SELECT {id} FROM (SELECT * FROM {table} EXCEPT SELECT * FROM {source})"),
                format!("is in {table} as the records do not hold it"),
            ),
        ] {
            if let Some(record) = first_id(conn, &query)? {
                return fail(format!(
                    "record {record}, as the records hold it, {says}: a view's facts do not \
                     match the records"
                ));
            }
        }
    }
    // The text index: one key per record, and one indexed text per key
    // (the index's contents cannot be read back; `record_text_docsize`
    // holds a row per indexed text).
    for (query, says) in [
        (
            "SELECT id FROM records EXCEPT SELECT id FROM record_keys",
            "has no key in record_keys",
        ),
        (
            "SELECT id FROM record_keys EXCEPT SELECT id FROM records",
            "has a key in record_keys but is not a record",
        ),
        (
            "SELECT k.id FROM record_keys AS k
              WHERE NOT EXISTS (SELECT 1 FROM record_text_docsize AS d WHERE d.id = k.n)",
            "is missing from the text index record_text",
        ),
    ] {
        if let Some(record) = first_id(conn, query)? {
            return fail(format!(
                "record {record} {says}: the search index does not match the records"
            ));
        }
    }
    let texts: i64 = conn
        .query_row("SELECT count(*) FROM record_text_docsize", [], |r| r.get(0))
        .map_err(sql)?;
    let keys: i64 = conn
        .query_row("SELECT count(*) FROM record_keys", [], |r| r.get(0))
        .map_err(sql)?;
    if texts != keys {
        return fail(format!(
            "the text index record_text holds {texts} texts for {keys} records: the search \
             index does not match the records"
        ));
    }
    Ok(())
}

/// The first id `query` finds, if any.
fn first_id(conn: &Connection, query: &str) -> Result<Option<String>, VerifyError> {
    conn.query_row(&format!("{query} LIMIT 1"), [], |r| r.get(0))
        .optional()
        .map_err(sql)
}

/// A view summary of migration 10: its table, the view defining what each
/// record contributes, the columns of its key, and its sums.
struct Summary {
    table: &'static str,
    contributions: &'static str,
    key: &'static [&'static str],
    /// The stored columns and how they are summed from the contributions.
    sums: &'static [(&'static str, &'static str)],
}

const SUMMARIES: [Summary; 3] = [
    Summary {
        table: "practice_tally",
        contributions: "practice_contributions",
        key: &["among", "owner", "visibility", "theme"],
        sums: &[("n", "count(*)")],
    },
    Summary {
        table: "funding_tally",
        contributions: "funding_contributions",
        key: &["among", "dim", "value", "currency", "visibility", "owner"],
        sums: &[("n", "count(*)"), ("milli", "sum(milli)")],
    },
    Summary {
        table: "record_counts",
        contributions: "record_count_contributions",
        key: &["type", "owner"],
        sums: &[("n", "count(*)")],
    },
];

/// Compares a summary with its sums made again from the records.
fn verify_summary(conn: &Connection, summary: &Summary) -> Result<(), VerifyError> {
    use std::collections::BTreeMap;
    type Rows = BTreeMap<Vec<String>, Vec<f64>>;
    let read = |query: String| -> Result<Rows, VerifyError> {
        let mut stmt = conn.prepare(&query).map_err(sql)?;
        let mut rows = stmt.query([]).map_err(sql)?;
        let mut out = Rows::new();
        let width = summary.key.len();
        while let Some(row) = rows.next().map_err(sql)? {
            let key = (0..width)
                .map(|i| row.get::<_, String>(i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql)?;
            let sums = (0..summary.sums.len())
                .map(|i| row.get::<_, f64>(width + i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql)?;
            out.insert(key, sums);
        }
        Ok(out)
    };
    let key = summary.key.join(", ");
    let stored = read(format!(
        "SELECT {key}, {} FROM {} WHERE n <> 0",
        summary
            .sums
            .iter()
            .map(|(c, _)| *c)
            .collect::<Vec<_>>()
            .join(", "),
        summary.table
    ))?;
    let expected = read(format!(
        "SELECT {key}, {} FROM {} GROUP BY {key}",
        summary
            .sums
            .iter()
            .map(|(_, s)| *s)
            .collect::<Vec<_>>()
            .join(", "),
        summary.contributions
    ))?;
    let same = |a: &[f64], b: &[f64]| {
        a.iter()
            .zip(b)
            .all(|(a, b)| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0))
    };
    let describe = |sums: Option<&Vec<f64>>| match sums {
        None => "nothing".to_owned(),
        Some(sums) => summary
            .sums
            .iter()
            .zip(sums)
            .map(|((column, _), v)| format!("{column} = {v}"))
            .collect::<Vec<_>>()
            .join(", "),
    };
    for k in stored.keys().chain(expected.keys()) {
        let (s, e) = (stored.get(k), expected.get(k));
        if !matches!((s, e), (Some(s), Some(e)) if same(s, e)) {
            let at = summary
                .key
                .iter()
                .zip(k)
                .map(|(column, v)| format!("{column} = {v:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            return fail(format!(
                "the view summary {} at ({at}) holds {}, but the records sum to {}: \
                 the summary does not match the records",
                summary.table,
                describe(s),
                describe(e)
            ));
        }
    }
    Ok(())
}

fn verify_document(conn: &Connection, id: &str) -> Result<(), VerifyError> {
    let mut stmt = conn
        .prepare_cached("SELECT entry FROM log_entries WHERE doc_id = ?1 ORDER BY id")
        .map_err(sql)?;
    let mut changes = Vec::new();
    let mut bindings = ActorBindings::default();
    for bytes in stmt
        .query_map([id], |r| r.get::<_, Vec<u8>>(0))
        .map_err(sql)?
    {
        let entry = LogEntry::decode(&bytes.map_err(sql)?)
            .map_err(|e| VerifyError(format!("record {id}: {e}")))?;
        // Pass 1 checked every signature and change; only decode here.
        let decoded = entry
            .body
            .changes
            .iter()
            .map(|raw| automerge::Change::from_bytes(raw.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| VerifyError(format!("record {id}: {e}")))?;
        bindings
            .check(&entry, &decoded)
            .map_err(|e| VerifyError(format!("record {id}: {e}")))?;
        changes.extend(decoded);
    }
    // Changes a key cut-off dropped (and their dependents) are not part of
    // the document: the replay leaves them out too.
    let dropped: std::collections::HashSet<Vec<u8>> = conn
        .prepare_cached("SELECT hash FROM dropped_changes WHERE doc_id = ?1")
        .and_then(|mut s| {
            s.query_map([id], |r| r.get::<_, Vec<u8>>(0))?
                .collect::<Result<_, _>>()
        })
        .map_err(sql)?;
    if !dropped.is_empty() {
        changes.retain(|c| !dropped.contains(&c.hash().0[..]));
        if changes.is_empty() {
            let rows: i64 = conn
                .query_row(
                    "SELECT (SELECT count(*) FROM documents WHERE doc_id = ?1)
                          + (SELECT count(*) FROM records WHERE id = ?1)",
                    [id],
                    |r| r.get(0),
                )
                .map_err(sql)?;
            if rows > 0 {
                return fail(format!(
                    "record {id}: every change of it was dropped by a key cut-off, but it is \
                     still stored"
                ));
            }
            return Ok(());
        }
    }
    if changes.is_empty() {
        return fail(format!(
            "record {id} is stored, but no log entry carries any of its changes"
        ));
    }
    let mut rebuilt = Automerge::new();
    rebuilt
        .apply_changes(changes)
        .map_err(|e| VerifyError(format!("record {id}: replaying the log fails: {e}")))?;
    let Some((stored, _)) =
        load_document(conn, id).map_err(|e| VerifyError(format!("record {id}: {e}")))?
    else {
        return fail(format!(
            "record {id} has log entries but no stored document"
        ));
    };
    let mut want: Vec<String> = rebuilt
        .get_heads()
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut have: Vec<String> = stored.get_heads().iter().map(ToString::to_string).collect();
    want.sort();
    have.sort();
    if want != have {
        return fail(format!(
            "record {id}: the stored document's heads [{}] differ from the log replay's [{}]",
            have.join(", "),
            want.join(", ")
        ));
    }
    let json = doc::to_json(&rebuilt);
    if json != doc::to_json(&stored) {
        return fail(format!(
            "record {id}: the stored document's content differs from the log replay"
        ));
    }
    if id == crate::roster::ROSTER_ID {
        // The roster has no projection row.
        return Ok(());
    }
    let expected = row_from_json(id, &json, &rebuilt.get_heads())
        .map_err(|e| VerifyError(format!("record {id}: {e}")))?;
    let projected = conn
        .query_row(
            "SELECT type, owner, visibility, deleted, created, updated, title, heads, json
             FROM records WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                ))
            },
        )
        .map_err(|e| VerifyError(format!("record {id}: no projection row ({e})")))?;
    let wanted = (
        expected.kind.as_str().to_owned(),
        expected.owner.clone(),
        expected.visibility.as_str().to_owned(),
        expected.deleted,
        expected.created.clone(),
        expected.updated.clone(),
        expected.title.clone(),
        expected.heads.join(","),
        expected.json.clone(),
    );
    if projected != wanted {
        return fail(format!(
            "record {id}: the projection row differs from the document (projection updated \
             {}, document updated {})",
            projected.5, wanted.5
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::{records::Theme, views::ViewInput};

    /// A small deterministic generator (xorshift).
    struct Dice(u64);

    impl Dice {
        fn roll(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }

        fn pick<'a, T>(&mut self, of: &'a [T]) -> &'a T {
            &of[self.roll(of.len() as u64) as usize]
        }
    }

    /// Themes as records hold them: mostly lists of the vocabulary's
    /// themes, some with a theme twice, some as no correct node writes
    /// them (peers' records are not validated).
    fn themes(dice: &mut Dice) -> Value {
        let some = |dice: &mut Dice| -> Vec<Value> {
            (0..dice.roll(4))
                .map(|_| json!(dice.pick(&Theme::ALL[..5]).as_str()))
                .collect()
        };
        match dice.roll(12) {
            0 => json!("participation"),
            1 => json!([1, "", {"x": 1}, Theme::ALL[0].as_str()]),
            2 => Value::Null,
            _ => Value::Array(some(dice)),
        }
    }

    fn funding(dice: &mut Dice) -> Value {
        let party = |dice: &mut Dice| match dice.roll(5) {
            0 => json!({"name": "Fund for Peace Initiatives"}),
            1 => {
                json!({"name": "Women Mediators Collective", "country": *dice.pick(&["ESP", "NAM"])})
            }
            2 => json!({"code": 7}),
            _ => json!({"code": *dice.pick(&["ESP", "NAM", "SEC", "KEN"])}),
        };
        let amount = match dice.roll(10) {
            0 => json!("lots"),
            1 => json!(1e300),
            // abs() of this one is an integer overflow in SQLite: a
            // summary must not use it (its trigger would refuse the write).
            8 => json!(i64::MIN),
            9 => json!(i64::MAX),
            2 => Value::Null,
            3 => json!(1234.567),
            _ => json!(dice.roll(5) * 250_000),
        };
        json!({
            "title": "commitment",
            "donor": party(dice),
            "recipient": party(dice),
            "amount": amount,
            "currency": *dice.pick(&[json!("EUR"), json!("USD"), json!(""), json!(3), Value::Null]),
            "themes": themes(dice),
            "period": {"start": "2025-01-01", "end": "2026-12-31"},
            "channel": "bilateral",
            "kind": "financial",
        })
    }

    #[test]
    fn view_summaries_follow_every_write_and_count_as_reading_every_record_does() {
        let (_dir, path, store) = crate::store::temp_store();
        let conn = store.conn();
        let mut dice = Dice(0x2545_f491_4f6c_dd1d);
        for step in 0..600 {
            let owner = *dice.pick(&["ESP", "NAM", "SEC"]);
            let n = dice.roll(30);
            // Mostly the same type for the same id; now and then a type
            // that changes, as no correct node writes.
            let kind = match (n % 3, dice.roll(20)) {
                (_, 0) => "focal-point",
                (0, _) => "practice",
                (1, _) => "funding",
                _ => "follow-up",
            };
            let id = format!("{owner}:x:{n:012}");
            if dice.roll(15) == 0 {
                conn.execute("DELETE FROM records WHERE id = ?1", [&id])
                    .unwrap();
                continue;
            }
            let mut fields = match kind {
                "funding" => funding(&mut dice),
                "follow-up" => json!({
                    "decision": *dice.pick(&[json!("SEC:decision:aaaaaaaaaaaa"),
                                             json!("SEC:decision:bbbbbbbbbbbb"), json!(5)]),
                    "status": *dice.pick(&[json!("met"), json!("in-progress"), json!(3)]),
                    "date": *dice.pick(&[json!("2026-03-01"), Value::Null, json!(20260301)]),
                    "year": *dice.pick(&[json!(2026), json!("2026"), json!(2025.5)]),
                    "text": *dice.pick(&[json!({"en": {"text": "Done.", "original": true}}),
                                         json!("plain")]),
                }),
                _ => json!({"title": format!("practice {step}"), "themes": themes(&mut dice)}),
            };
            let fields = fields.as_object_mut().unwrap();
            for (key, value) in [
                ("id", json!(id)),
                ("type", json!(kind)),
                ("owner", json!(owner)),
                (
                    "visibility",
                    json!(*dice.pick(&["network", "network", "secretariat", "local"])),
                ),
                (
                    "created",
                    json!(format!("2026-0{}-01T00:00:00Z", 1 + dice.roll(9))),
                ),
                ("updated", json!("2026-10-01T00:00:00Z")),
                ("deleted", json!(dice.roll(8) == 0)),
            ] {
                fields.insert(key.into(), value);
            }
            crate::engine::writer::project(conn, &id, fields, &[]).unwrap();
            if step % 100 == 0 {
                for summary in &SUMMARIES {
                    verify_summary(conn, summary).unwrap();
                }
            }
        }
        for summary in &SUMMARIES {
            verify_summary(conn, summary).unwrap();
        }
        verify_facts(conn).unwrap();
        let facts: i64 = conn
            .query_row("SELECT count(*) FROM follow_up_facts", [], |r| r.get(0))
            .unwrap();
        assert!(facts > 3, "{facts}");
        conn.execute(
            "UPDATE follow_up_facts SET latest = '2001-01-01'
             WHERE id = (SELECT id FROM follow_up_facts LIMIT 1)",
            [],
        )
        .unwrap();
        let error = verify_facts(conn).unwrap_err().to_string();
        assert!(
            error.contains("is missing from follow_up_facts or differs"),
            "{error}"
        );
        conn.execute("DELETE FROM follow_up_facts", []).unwrap();
        conn.execute(
            "INSERT INTO follow_up_facts SELECT * FROM follow_up_source",
            [],
        )
        .unwrap();
        verify_facts(conn).unwrap();
        conn.execute(
            "DELETE FROM practice_themes
             WHERE record_id = (SELECT record_id FROM practice_themes LIMIT 1)",
            [],
        )
        .unwrap();
        let error = verify_facts(conn).unwrap_err().to_string();
        assert!(error.contains("is missing from practice_themes"), "{error}");
        conn.execute("DELETE FROM practice_themes", []).unwrap();
        conn.execute(
            "INSERT INTO practice_themes SELECT * FROM practice_theme_source",
            [],
        )
        .unwrap();
        verify_facts(conn).unwrap();
        // A record missing from the search index, and a count off by one.
        conn.execute(
            "DELETE FROM record_text WHERE rowid = (SELECT max(n) FROM record_keys)",
            [],
        )
        .unwrap();
        let error = verify_facts(conn).unwrap_err().to_string();
        assert!(error.contains("is missing from the text index"), "{error}");
        conn.execute(
            "INSERT INTO record_text (rowid, title, search)
             SELECT k.n, r.title, r.search FROM records AS r JOIN record_keys AS k ON k.id = r.id
              WHERE k.n = (SELECT max(n) FROM record_keys)",
            [],
        )
        .unwrap();
        verify_facts(conn).unwrap();
        conn.execute(
            "UPDATE record_counts SET n = n + 1
             WHERE (type, owner) = (SELECT type, owner FROM record_counts LIMIT 1)",
            [],
        )
        .unwrap();
        let error = verify_summary(conn, &SUMMARIES[2]).unwrap_err().to_string();
        assert!(
            error.contains("the view summary record_counts at (type = "),
            "{error}"
        );
        conn.execute("DELETE FROM record_counts", []).unwrap();
        conn.execute(
            "INSERT INTO record_counts SELECT type, owner, count(*)
               FROM record_count_contributions GROUP BY type, owner",
            [],
        )
        .unwrap();
        verify_summary(conn, &SUMMARIES[2]).unwrap();
        let practices: i64 = conn
            .query_row("SELECT count(*) FROM practice_tally", [], |r| r.get(0))
            .unwrap();
        let funding: i64 = conn
            .query_row("SELECT count(*) FROM funding_tally", [], |r| r.get(0))
            .unwrap();
        assert!(practices > 20 && funding > 50, "{practices} {funding}");

        // A wrong summary is found.
        conn.execute(
            "UPDATE funding_tally SET milli = milli + 1000
             WHERE (among, dim, value, currency, visibility, owner) IN
             (SELECT among, dim, value, currency, visibility, owner FROM funding_tally
              WHERE currency <> '' LIMIT 1)",
            [],
        )
        .unwrap();
        let error = verify_summary(conn, &SUMMARIES[1]).unwrap_err().to_string();
        assert!(
            error.contains("the view summary funding_tally at (among = ")
                && error.contains("but the records sum to n = "),
            "{error}"
        );
        conn.execute(
            "UPDATE funding_tally SET milli = milli - 1000
             WHERE (among, dim, value, currency, visibility, owner) IN
             (SELECT among, dim, value, currency, visibility, owner FROM funding_tally
              WHERE currency <> '' LIMIT 1)",
            [],
        )
        .unwrap();
        verify_summary(conn, &SUMMARIES[1]).unwrap();
        store.close().unwrap();

        // The views count the same from the summaries (no period filter)
        // as from every matching record (a period that holds them all).
        for me in ["ESP", "NAM", "SEC"] {
            let views = crate::views::test_views(&path, me);
            for theme in ["", Theme::ALL[0].as_str(), Theme::ALL[3].as_str()] {
                let summed = ViewInput {
                    as_of: "2026-11-30".into(),
                    theme: theme.into(),
                    ..Default::default()
                };
                let read = ViewInput {
                    period: "1950/2100".into(),
                    ..summed.clone()
                };
                let (a, b) = (
                    views.practices(&summed).unwrap(),
                    views.practices(&read).unwrap(),
                );
                assert_eq!(
                    (a.total, &a.by_theme, &a.by_region),
                    (b.total, &b.by_theme, &b.by_region),
                    "practices seen by {me}, theme {theme:?}"
                );
                assert!(a.total > 0, "{me} {theme}");
                // A theme's page holds the practices naming it, in order.
                if !theme.is_empty() {
                    let every = views
                        .practices(&ViewInput {
                            as_of: "2026-11-30".into(),
                            limit: 1000,
                            ..Default::default()
                        })
                        .unwrap();
                    let naming: Vec<&str> = every
                        .practices
                        .iter()
                        .filter(|p| p.themes.iter().any(|t| t == theme))
                        .map(|p| p.id.as_str())
                        .collect();
                    let page = views
                        .practices(&ViewInput {
                            limit: 1000,
                            ..summed.clone()
                        })
                        .unwrap();
                    let shown: Vec<&str> = page.practices.iter().map(|p| p.id.as_str()).collect();
                    assert_eq!(shown, naming, "{me} {theme}");
                    assert_eq!(shown.len() as u64, a.total, "{me} {theme}");
                }
                // A member's commitments: the first page sorted in memory,
                // later pages read in SQL's order, the same order.
                for member in ["ESP", "NAM"] {
                    let asked = ViewInput {
                        member: member.into(),
                        ..summed.clone()
                    };
                    let all = views
                        .funding(&ViewInput {
                            limit: 1000,
                            ..asked.clone()
                        })
                        .unwrap();
                    let every: Vec<String> = all.commitments.iter().map(|c| c.id.clone()).collect();
                    let mut paged = Vec::new();
                    let mut after = String::new();
                    loop {
                        let page = views
                            .funding(&ViewInput {
                                limit: 3,
                                after: after.clone(),
                                ..asked.clone()
                            })
                            .unwrap();
                        paged.extend(page.commitments.iter().map(|c| c.id.clone()));
                        match page.pager.next(&page.commitments) {
                            Some(next) => after = next,
                            None => break,
                        }
                    }
                    assert_eq!(paged, every, "{me} {member} {theme}");
                    assert_eq!(every.len() as u64, all.total, "{me} {member} {theme}");
                    assert!(!theme.is_empty() || !every.is_empty(), "{me} {member}");
                }
                let (a, b) = (
                    views.funding(&summed).unwrap(),
                    views.funding(&read).unwrap(),
                );
                assert_eq!(
                    (
                        a.total,
                        &a.totals,
                        &a.by_donor,
                        &a.by_recipient,
                        &a.by_theme,
                        &a.unfunded_themes,
                        &a.unfunded_members,
                        &a.unfunded_recipients
                    ),
                    (
                        b.total,
                        &b.totals,
                        &b.by_donor,
                        &b.by_recipient,
                        &b.by_theme,
                        &b.unfunded_themes,
                        &b.unfunded_members,
                        &b.unfunded_recipients
                    ),
                    "funding seen by {me}, theme {theme:?}"
                );
                assert!(a.total > 0, "{me} {theme}");
                assert!(!theme.is_empty() || !a.totals.is_empty(), "{me}");
            }
        }
    }
}
