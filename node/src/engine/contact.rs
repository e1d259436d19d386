//! A focal point's contact details, kept apart from the focal point.
//!
//! Contact details are personal data that only the focal point's own member
//! and the secretariat may read. A record's document goes to every node its
//! visibility allows, and a signed entry cannot be taken back, so the node
//! never puts them in a focal point's document: it keeps them in a companion
//! record (`focal-point-contact`, id [`companion_id`]) of visibility
//! `secretariat` (`local` for a local focal point), written in the same
//! savepoint as the focal point, so both commit or neither does. Its entries
//! go to the `secretariat` log, which peers serve only to the owner's nodes
//! and the secretariat's.
//!
//! Clients do not see the split: they write `contact` as a field of the
//! focal point ([`WriteContext::write_focal_point`]), and reads merge the
//! companion back in where this node holds it (`store::contact::merge_contact`).
//!
//! A focal point's document written this way carries the envelope key
//! [`CONTACT_AUDIENCE`]. Ingest refuses a network entry that leaves a
//! document carrying it with `contact`, or removes it ([`check_received`]);
//! documents without it were written by nodes that predate the split, and
//! their entries are accepted (refusing one would stop its log for good on
//! this node, since every later entry chains to it). At start-up, a node
//! moves the contact details out of its own older documents
//! ([`migrate`]).

use automerge::{
    Author, Automerge, ReadDoc, transaction::CommitOptions, transaction::Transactable,
};
use rusqlite::{Connection, Transaction};
use serde_json::{Map, Value};

use crate::{
    clock::now_rfc3339,
    doc,
    engine::ingest::IngestError,
    engine::writer::{Applied, CachedDoc, WriteContext, WriteError, WriteRequest, validate},
    identity::NodeId,
    json::merge_patch,
    log::Audience,
    records::{
        ENVELOPE_KEYS, RecordType, Visibility,
        focal_point::{CONTACT_AUDIENCE, companion_id, companion_visibility, focal_point_of},
        parse_record_id,
    },
    store::contact::{companion_fields, companion_json, set_contact},
    store::documents::load_document,
};

/// Whether a write is a focal point's (or names a companion) and goes
/// through [`WriteContext::write_focal_point`].
pub(crate) fn concerns(request: &WriteRequest) -> bool {
    let split = |kind| matches!(kind, RecordType::FocalPoint | RecordType::FocalPointContact);
    match request {
        WriteRequest::Create { kind, .. } => split(*kind),
        WriteRequest::Update { id, .. } | WriteRequest::Delete { id } => {
            parse_record_id(id).is_some_and(|(_, kind, _)| split(kind))
        }
    }
}

/// Adds [`CONTACT_AUDIENCE`] to the envelope of a new focal point.
pub(crate) fn mark(kind: RecordType, visibility: Visibility, record: &mut Map<String, Value>) {
    if kind == RecordType::FocalPoint {
        record.insert(
            CONTACT_AUDIENCE.into(),
            companion_visibility(visibility).as_str().into(),
        );
    }
}

/// What to do to a focal point's companion.
enum Companion<'a> {
    /// Hold these contact details (`None`: none).
    Set(Option<&'a Map<String, Value>>),
    /// Tombstone it with its focal point.
    Delete,
}

impl WriteContext<'_> {
    /// A client's write of a focal point: the focal point's document without
    /// `contact`, and its companion with the contact details, in the caller's
    /// savepoint. Companions themselves are not written by clients.
    pub(crate) fn write_focal_point(
        &mut self,
        conn: &Connection,
        request: &WriteRequest,
        touched: &mut Vec<String>,
    ) -> Result<Applied, WriteError> {
        let companion_refused = |id: Option<&str>| {
            let edit = id
                .and_then(focal_point_of)
                .unwrap_or_else(|| "FOCAL-POINT-ID".to_owned());
            WriteError::BadRequest(format!(
                "contact details are written with their focal point: `focal edit {edit} --email \
                 … --phone …` (or `contact` in the focal point's fields)"
            ))
        };
        match request {
            WriteRequest::Create {
                kind: RecordType::FocalPointContact,
                ..
            } => Err(companion_refused(None)),
            WriteRequest::Update { id, .. } | WriteRequest::Delete { id }
                if focal_point_of(id).is_some() =>
            {
                Err(companion_refused(Some(id)))
            }
            WriteRequest::Create {
                kind,
                fields,
                visibility,
                language,
                ..
            } => {
                let mut fields = validate(*kind, fields, self.member, language, &self.net.limits)?;
                let contact = take_contact(&mut fields);
                let main = self.apply_record(
                    conn,
                    &WriteRequest::Create {
                        kind: *kind,
                        fields,
                        visibility: *visibility,
                        language: language.clone(),
                        request_id: None,
                    },
                    touched,
                )?;
                let id = main
                    .row
                    .as_ref()
                    .map(|row| row.id.clone())
                    .ok_or_else(|| WriteError::Storage("no record was written".into()))?;
                self.with_companion(
                    conn,
                    main,
                    &id,
                    *visibility,
                    Companion::Set(contact.as_ref()),
                    touched,
                )
            }
            WriteRequest::Update {
                id,
                patch,
                language,
            } => {
                for key in patch.keys() {
                    if ENVELOPE_KEYS.contains(&key.as_str()) {
                        return Err(WriteError::BadRequest(format!(
                            "`{key}` is set by the node and cannot be changed"
                        )));
                    }
                }
                let (kind, visibility) = self.writable(conn, id)?;
                let mut fields: Map<String, Value> = self
                    .cache
                    .get(id)
                    .ok_or_else(|| WriteError::NotFound(id.clone()))?
                    .json
                    .iter()
                    .filter(|(k, _)| !ENVELOPE_KEYS.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                // A document from before the split may still hold them.
                let inside = fields.remove("contact");
                let current = match companion_fields(conn, id)? {
                    Some(held) => Some(held),
                    None => inside.as_ref().and_then(Value::as_object).cloned(),
                };
                if let Some(current) = current.filter(|c| !c.is_empty()) {
                    fields.insert("contact".into(), Value::Object(current));
                }
                merge_patch(&mut fields, patch);
                let mut fields = validate(kind, &fields, self.member, language, &self.net.limits)?;
                let contact = take_contact(&mut fields);
                let mut plain = patch.clone();
                plain.remove("contact");
                if inside.is_some() {
                    plain.insert("contact".into(), Value::Null);
                }
                let main = self.apply_record(
                    conn,
                    &WriteRequest::Update {
                        id: id.clone(),
                        patch: plain,
                        language: language.clone(),
                    },
                    touched,
                )?;
                self.with_companion(
                    conn,
                    main,
                    id,
                    visibility,
                    Companion::Set(contact.as_ref()),
                    touched,
                )
            }
            WriteRequest::Delete { id } => {
                let (_, visibility) = self.writable(conn, id)?;
                let main = self.apply_record(conn, request, touched)?;
                self.with_companion(conn, main, id, visibility, Companion::Delete, touched)
            }
        }
    }

    /// Writes the companion of `focal_point` after the focal point's own
    /// entry `main` (both in the caller's savepoint) and returns `main`
    /// carrying it, its row showing the contact details as clients read
    /// them.
    fn with_companion(
        &mut self,
        conn: &Connection,
        mut main: Applied,
        focal_point: &str,
        visibility: Visibility,
        what: Companion<'_>,
        touched: &mut Vec<String>,
    ) -> Result<Applied, WriteError> {
        let companion = companion_id(focal_point)
            .ok_or_else(|| WriteError::Storage(format!("{focal_point} is not a focal point")))?;
        // Both entries may go to the same log (a `secretariat` focal point):
        // the companion's must follow the focal point's. The savepoint sets
        // the heads for good once both are stored.
        let saved = main.head.map(|(key, _)| (key, self.vv.get(&key).copied()));
        if let Some((key, head)) = main.head {
            self.vv.insert(key, head);
        }
        let written = self.write_companion(conn, &companion, visibility, what, touched);
        if let Some((key, previous)) = saved {
            match previous {
                Some(head) => self.vv.insert(key, head),
                None => self.vv.remove(&key),
            };
        }
        let shown = written.and_then(|written| {
            let held = companion_json(conn, focal_point)?;
            if let Some(row) = &mut main.row {
                set_contact(row, held.as_ref())?;
            }
            Ok(written)
        });
        let written = match shown {
            Ok(written) => written,
            Err(err) => {
                // The savepoint rolls both back; memory follows.
                self.cache.remove(focal_point);
                self.cache.remove(&companion);
                return Err(err);
            }
        };
        if let Some(mut written) = written {
            if main.head.is_some() {
                // One event per write: the focal point's.
                written.row = None;
            } else if let (Some(row), Some(focal)) = (&mut written.row, &main.row) {
                // Only the contact details changed: watchers hear of the
                // focal point, as clients read it.
                *row = focal.clone();
                written.action = "updated";
            }
            main.companion = Some(Box::new(written));
        }
        Ok(main)
    }

    /// Creates, changes or tombstones a companion; `None` if nothing
    /// changed.
    fn write_companion(
        &mut self,
        conn: &Connection,
        id: &str,
        visibility: Visibility,
        what: Companion<'_>,
        touched: &mut Vec<String>,
    ) -> Result<Option<Applied>, WriteError> {
        let now = now_rfc3339();
        let now_secs = time::OffsetDateTime::now_utc().unix_timestamp();
        let author = Author::from(self.origin.0.to_vec());
        let held = match self.cache.remove(id) {
            Some(cached) => Some((cached.doc, cached.pending, cached.json)),
            None => load_document(conn, id)?.map(|(document, pending)| {
                let json = doc::to_json(&document);
                (document, pending, json)
            }),
        };
        let Some((mut document, pending, json)) = held else {
            let Companion::Set(Some(contact)) = what else {
                return Ok(None);
            };
            let visibility = companion_visibility(visibility);
            let mut record = crate::engine::writer::new_envelope(
                id,
                RecordType::FocalPointContact,
                self.member,
                visibility,
                &now,
            );
            let names: Vec<String> = contact.keys().cloned().collect();
            record.extend(contact.clone());
            let mut document = Automerge::new();
            document.set_author(Some(author));
            let mut t = document.transaction();
            for (k, v) in &record {
                doc::put(&mut t, &automerge::ROOT, k, v).map_err(automerge_err)?;
            }
            t.commit_with(
                CommitOptions::default()
                    .with_message(format!("create: {}", names.join(", ")))
                    .with_time(now_secs),
            );
            touched.push(id.to_owned());
            return self
                .store_change(
                    conn,
                    id.to_owned(),
                    (document, 0),
                    true,
                    "created",
                    visibility,
                )
                .map(Some);
        };
        document.set_author(Some(author));
        let visibility = json
            .get("visibility")
            .and_then(Value::as_str)
            .and_then(Visibility::parse)
            .unwrap_or_else(|| companion_visibility(visibility));
        let deleted = json.get("deleted").and_then(Value::as_bool) == Some(true);
        let mut changed = Vec::new();
        let mut t = document.transaction();
        let action = match what {
            Companion::Set(contact) => {
                let mut target = json.clone();
                target.retain(|k, _| ENVELOPE_KEYS.contains(&k.as_str()));
                target.extend(contact.cloned().unwrap_or_default());
                doc::reconcile(
                    &mut t,
                    &automerge::ROOT,
                    &json,
                    &target,
                    ENVELOPE_KEYS,
                    "",
                    &mut changed,
                )
                .map_err(automerge_err)?;
                "updated"
            }
            Companion::Delete if !deleted => {
                doc::put(&mut t, &automerge::ROOT, "deleted", &Value::Bool(true))
                    .map_err(automerge_err)?;
                changed.push("deleted".to_owned());
                "deleted"
            }
            Companion::Delete => "unchanged",
        };
        if changed.is_empty() {
            t.rollback();
            *self.clock += 1;
            let cost = crate::engine::writer::DocCost::of(&document, &json);
            self.cache.insert(
                id.to_owned(),
                CachedDoc {
                    doc: document,
                    pending,
                    json,
                    last_used: *self.clock,
                    cost,
                },
            );
            return Ok(None);
        }
        doc::put(&mut t, &automerge::ROOT, "updated", &Value::String(now))
            .map_err(automerge_err)?;
        crate::engine::writer::stamp_schema(&mut t, &json)?;
        let message = if action == "deleted" {
            "delete".to_owned()
        } else {
            format!("update: {}", changed.join(", "))
        };
        t.commit_with(
            CommitOptions::default()
                .with_message(message)
                .with_time(now_secs),
        );
        touched.push(id.to_owned());
        self.store_change(
            conn,
            id.to_owned(),
            (document, pending),
            false,
            action,
            visibility,
        )
        .map(Some)
    }

    /// Moves one older network focal point's contact details into its
    /// companion: a change of the focal point's document removing `contact`
    /// and adding [`CONTACT_AUDIENCE`], and the companion's creation. (A
    /// deleted focal point's contact details are removed, not moved.)
    fn migrate_one(&mut self, conn: &Connection, id: &str) -> Result<Applied, WriteError> {
        let (mut document, pending) = match self.cache.remove(id) {
            Some(cached) => (cached.doc, cached.pending),
            None => load_document(conn, id)?.ok_or_else(|| WriteError::NotFound(id.into()))?,
        };
        document.set_author(Some(Author::from(self.origin.0.to_vec())));
        let json = doc::to_json(&document);
        let contact = json.get("contact").and_then(Value::as_object).cloned();
        let deleted = json.get("deleted").and_then(Value::as_bool) == Some(true);
        let mut t = document.transaction();
        let mut fields = vec![CONTACT_AUDIENCE];
        if json.contains_key("contact") {
            t.delete(&automerge::ROOT, "contact")
                .map_err(automerge_err)?;
            fields.insert(0, "contact");
        }
        doc::put(
            &mut t,
            &automerge::ROOT,
            CONTACT_AUDIENCE,
            &Visibility::Secretariat.as_str().into(),
        )
        .map_err(automerge_err)?;
        t.commit_with(
            CommitOptions::default()
                .with_message(format!("migrate: {}", fields.join(", ")))
                .with_time(time::OffsetDateTime::now_utc().unix_timestamp()),
        );
        let main = self.store_change(
            conn,
            id.to_owned(),
            (document, pending),
            false,
            "updated",
            Visibility::Network,
        )?;
        let mut no_touch = Vec::new();
        match contact {
            Some(contact) if !deleted && companion_fields(conn, id)?.is_none() => self
                .with_companion(
                    conn,
                    main,
                    id,
                    Visibility::Network,
                    Companion::Set(Some(&contact)),
                    &mut no_touch,
                ),
            _ => Ok(main),
        }
    }
}

/// This member's own network focal points written before the split.
const TO_MIGRATE: &str = "WHERE type = 'focal-point' AND owner = ?1 AND visibility = 'network'
                            AND json_extract(json, '$.contact_audience') IS NULL";

/// Whether [`migrate`] has anything to do (a failed look counts as yes:
/// `migrate` reports the error).
pub(crate) fn to_migrate(conn: &Connection, member: &crate::member::MemberCode) -> bool {
    conn.query_row(
        &format!("SELECT EXISTS (SELECT 1 FROM records {TO_MIGRATE})"),
        [member.as_str()],
        |r| r.get::<_, bool>(0),
    )
    .unwrap_or(true)
}

/// Moves the contact details of this node's member's own network focal
/// points, written before they were kept apart, into companions (see
/// [`WriteContext::migrate_one`]), and marks every such document with
/// [`CONTACT_AUDIENCE`], each in its own savepoint of `tx`. Returns how
/// many documents changed. Earlier entries keep what they held (see
/// ARCHITECTURE.md); from here on no entry of this node carries the
/// details in the network log.
pub(crate) fn migrate(
    ctx: &mut WriteContext<'_>,
    tx: &mut Transaction<'_>,
) -> Result<usize, WriteError> {
    ctx.check_standing()?;
    let ids: Vec<String> = {
        let mut stmt = tx
            .prepare(&format!("SELECT id FROM records {TO_MIGRATE} ORDER BY id"))
            .map_err(storage)?;
        stmt.query_map([ctx.member.as_str()], |r| r.get(0))
            .map_err(storage)?
            .collect::<Result<_, _>>()
            .map_err(storage)?
    };
    let member = ctx.member.clone();
    let mut moved = 0;
    for id in ids {
        // Only this member's own documents (the id names the owner).
        if parse_record_id(&id).map(|(owner, _, _)| owner) != Some(member.clone()) {
            continue;
        }
        ctx.in_savepoint(tx, Some(&id), |ctx, conn| ctx.migrate_one(conn, &id))?;
        moved += 1;
    }
    Ok(moved)
}

/// Whether a focal point's document carries [`CONTACT_AUDIENCE`] (was
/// written by a node that keeps contact details apart).
pub(crate) fn marked(document: &Automerge) -> bool {
    document
        .get(&automerge::ROOT, CONTACT_AUDIENCE)
        .ok()
        .flatten()
        .is_some()
}

/// Refuses a received entry that would put contact details where every
/// member reads them: a `network` focal point whose document carries (or
/// carried, `was_marked`) [`CONTACT_AUDIENCE`] and now holds `contact` or
/// lost the marker, or a companion in the `network` log. (A document without
/// the marker comes from a node that predates the split: accepted, see the
/// module's documentation.)
pub(crate) fn check_received(
    origin: NodeId,
    doc_id: &str,
    audience: Audience,
    was_marked: bool,
    json: &Map<String, Value>,
) -> Result<(), IngestError> {
    let Some((owner, kind, _)) = parse_record_id(doc_id) else {
        return Ok(());
    };
    let refuse = |why: &'static str| IngestError::NotAuthorized {
        origin,
        member: owner.to_string(),
        doc: doc_id.to_owned(),
        why,
    };
    match (kind, audience) {
        (RecordType::FocalPointContact, Audience::Network) => Err(refuse(
            "contact details travel only in the secretariat audience, never in the network log",
        )),
        (RecordType::FocalPoint, Audience::Network) => {
            let marked = json.contains_key(CONTACT_AUDIENCE);
            if was_marked && !marked {
                Err(refuse(
                    "a focal point's `contact_audience` is never removed: its contact details \
                     stay out of the network log",
                ))
            } else if marked && json.contains_key("contact") {
                Err(refuse(
                    "a focal point's contact details travel only in the secretariat audience \
                     (its `focal-point-contact` companion), never in the network log",
                ))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

/// Takes the validated `contact` out of a focal point's fields.
fn take_contact(fields: &mut Map<String, Value>) -> Option<Map<String, Value>> {
    match fields.remove("contact") {
        Some(Value::Object(contact)) => Some(contact),
        _ => None,
    }
}

fn storage(e: rusqlite::Error) -> WriteError {
    WriteError::Storage(e.to_string())
}

fn automerge_err(e: automerge::AutomergeError) -> WriteError {
    WriteError::Storage(format!("document operation failed: {e}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::{RecordRow, contact::merge_contact};

    const FP: &str = "ESP:focal-point:abcdefghijk4";
    const ORIGIN: NodeId = NodeId([7; 32]);

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    fn check(
        doc_id: &str,
        audience: Audience,
        was_marked: bool,
        json: Value,
    ) -> Result<(), IngestError> {
        check_received(ORIGIN, doc_id, audience, was_marked, &object(json))
    }

    #[test]
    fn marked_network_documents_never_take_contact_details() {
        let contact = json!({"contact": {"email": "a@example.org"}});
        let marked = json!({"contact_audience": "secretariat", "person_name": "A"});
        let marked_with_contact =
            json!({"contact_audience": "secretariat", "contact": {"email": "a@example.org"}});
        // A document written before the split (no marker): its owner's
        // older node may still add them; accepted, as old history.
        check(FP, Audience::Network, false, contact.clone()).unwrap();
        check(FP, Audience::Network, false, marked.clone()).unwrap();
        // A marked document with contact details, or one losing its marker.
        let err = check(FP, Audience::Network, false, marked_with_contact.clone()).unwrap_err();
        assert!(
            err.to_string()
                .contains("contact details travel only in the secretariat audience"),
            "{err}"
        );
        let err = check(FP, Audience::Network, true, contact.clone()).unwrap_err();
        assert!(err.to_string().contains("never removed"), "{err}");
        let err = check(FP, Audience::Network, true, json!({"person_name": "A"})).unwrap_err();
        assert!(err.to_string().contains("never removed"), "{err}");
        // Not the network log, or not a focal point: not this rule's.
        check(FP, Audience::Secretariat, true, marked_with_contact.clone()).unwrap();
        check(
            "ESP:practice:abcdefghijk4",
            Audience::Network,
            true,
            marked_with_contact,
        )
        .unwrap();
        // A companion only ever in the secretariat log.
        let companion = "ESP:focal-point-contact:abcdefghijk4";
        check(companion, Audience::Secretariat, false, contact.clone()).unwrap();
        let err = check(companion, Audience::Network, false, contact).unwrap_err();
        assert!(
            err.to_string().contains("never in the network log"),
            "{err}"
        );
    }

    #[test]
    fn reads_merge_the_companion_over_older_contact_details() {
        let (_dir, _, store) = crate::store::temp_store();
        let envelope = |id: &str, kind: &str, visibility: &str| {
            object(json!({
                "id": id, "type": kind, "owner": "ESP", "visibility": visibility,
                "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z",
                "deleted": false,
            }))
        };
        let mut fp = envelope(FP, "focal-point", "network");
        fp.insert("person_name".into(), "A".into());
        fp.insert("posting".into(), "capital".into());
        fp.insert("contact".into(), json!({"email": "old@example.org"}));
        let mut row = crate::engine::writer::project(store.conn(), FP, &fp, &[]).unwrap();
        let read = |row: &RecordRow| -> Value { serde_json::from_str(&row.json).unwrap() };

        // No companion: the row is left as it is.
        merge_contact(store.conn(), &mut row).unwrap();
        assert_eq!(read(&row)["contact"]["email"], "old@example.org");

        let companion = companion_id(FP).unwrap();
        let mut held = envelope(&companion, "focal-point-contact", "secretariat");
        held.insert("phone".into(), "+34 600 000 000".into());
        crate::engine::writer::project(store.conn(), &companion, &held, &[]).unwrap();
        merge_contact(store.conn(), &mut row).unwrap();
        assert_eq!(read(&row)["contact"], json!({"phone": "+34 600 000 000"}));

        // Other records are not touched.
        let mut other = row.clone();
        other.kind = RecordType::Practice;
        other.json = "{}".into();
        merge_contact(store.conn(), &mut other).unwrap();
        assert_eq!(other.json, "{}");
        store.close().unwrap();
    }

    /// The log entries a database holds, as (audience, seq, record).
    fn entries(conn: &Connection) -> Vec<(u8, i64, String)> {
        conn.prepare("SELECT audience, seq, doc_id FROM log_entries ORDER BY audience, seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn a_focal_point_and_its_contact_details_are_stored_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("focal.db");
        let (writer, thread) = crate::engine::writer::test_writer(&path);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let write = |request| runtime.block_on(writer.write(request));
        let create = |visibility, fields: Value| WriteRequest::Create {
            kind: RecordType::FocalPoint,
            fields: object(fields),
            visibility,
            language: "en".into(),
            request_id: None,
        };
        let id = write(create(
            Visibility::Network,
            json!({"person_name": "A", "posting": "capital"}),
        ))
        .unwrap()
        .id;
        let companion = companion_id(&id).unwrap();
        // A companion whose stored document does not load: its write fails
        // after the focal point's own entry was signed.
        let side = Connection::open(&path).unwrap();
        side.busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        side.execute(
            "INSERT INTO documents (doc_id, snapshot, pending) VALUES (?1, x'00', 0)",
            [&companion],
        )
        .unwrap();
        let update = WriteRequest::Update {
            id: id.clone(),
            patch: object(json!({"title": "Director", "contact": {"email": "a@example.org"}})),
            language: "en".into(),
        };
        let err = write(update).unwrap_err();
        assert!(matches!(err, WriteError::Storage(_)), "{err}");
        // Neither was stored: no entry, the title unchanged.
        assert_eq!(entries(&side), [(0, 1, id.clone())]);
        let stored: String = side
            .query_row("SELECT json FROM records WHERE id = ?1", [&id], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(!stored.contains("Director"), "{stored}");

        side.execute("DELETE FROM documents WHERE doc_id = ?1", [&companion])
            .unwrap();
        let update = WriteRequest::Update {
            id: id.clone(),
            patch: object(json!({"title": "Director", "contact": {"email": "a@example.org"}})),
            language: "en".into(),
        };
        let row = write(update).unwrap();
        let read: Value = serde_json::from_str(&row.json).unwrap();
        assert_eq!(read["title"], "Director");
        assert_eq!(read["contact"], json!({"email": "a@example.org"}));
        // A secretariat focal point: both entries in one log, in order.
        let hidden = write(create(
            Visibility::Secretariat,
            json!({"person_name": "B", "posting": "capital", "contact": {"phone": "+34 600 000 000"}}),
        ))
        .unwrap()
        .id;
        let stored: String = side
            .query_row("SELECT json FROM records WHERE id = ?1", [&hidden], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(!stored.contains("+34"), "{stored}");
        assert_eq!(
            entries(&side),
            [
                (0, 1, id.clone()),
                (0, 2, id.clone()),
                (1, 1, companion.clone()),
                (1, 2, hidden.clone()),
                (1, 3, companion_id(&hidden).unwrap()),
            ]
        );
        // Deleting the focal point tombstones its companion.
        write(WriteRequest::Delete { id: id.clone() }).unwrap();
        let deleted: bool = side
            .query_row(
                "SELECT deleted FROM records WHERE id = ?1",
                [&companion],
                |r| r.get(0),
            )
            .unwrap();
        assert!(deleted);
        runtime.block_on(writer.shutdown());
        drop(writer);
        let store = thread.join().unwrap();
        let report = crate::ops::verify::verify(store.conn(), |_, _, _| {}).unwrap();
        // The five above, the focal point's tombstone and its companion's.
        assert!(
            report
                .to_string()
                .starts_with("7 entries in 2 logs verified, 4 records"),
            "{report}"
        );
        drop(side);
        store.close().unwrap();
    }

    #[test]
    fn only_focal_point_writes_are_split() {
        let create = |kind| WriteRequest::Create {
            kind,
            fields: Map::new(),
            visibility: Visibility::Network,
            language: String::new(),
            request_id: None,
        };
        assert!(concerns(&create(RecordType::FocalPoint)));
        assert!(concerns(&create(RecordType::FocalPointContact)));
        assert!(!concerns(&create(RecordType::Practice)));
        assert!(concerns(&WriteRequest::Delete { id: FP.into() }));
        assert!(!concerns(&WriteRequest::Delete {
            id: "ESP:nap:abcdefghijk4".into()
        }));
        let mut record = Map::new();
        mark(RecordType::FocalPoint, Visibility::Local, &mut record);
        assert_eq!(record[CONTACT_AUDIENCE], "local");
        let mut record = Map::new();
        mark(RecordType::Practice, Visibility::Network, &mut record);
        assert!(record.is_empty());
    }
}
