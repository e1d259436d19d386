//! The client API's shared part: [`RecordApi`], the state every client
//! service answers from (the writer, the reader, the member, the network's
//! facts), and what they share: pages cut to the message cap ([`fit`]),
//! records to their wire form ([`to_proto`]), reads off the async threads.
//! The services are `auth` (who may call what), `records`
//! (`focal.v1.RecordService`), `admin` (`focal.v1.AdminService`) and
//! `views` (`focal.v1.ViewService`); this is the only layer that knows their
//! wire types.

use focal_proto::v1::{
    self as pb, admin_service_server::AdminServiceServer,
    record_service_server::RecordServiceServer,
};
use serde_json::{Map, Value};
use tokio::sync::watch;
use tonic::Status;

use crate::{
    engine::writer::Writer, member::MemberCode, records::RecordType, service::status::ToStatus,
    store::RecordRow, store::query::Reader,
};

/// The client API of one node.
#[derive(Clone)]
pub struct RecordApi {
    pub(super) writer: Writer,
    pub(super) reader: Reader,
    pub(super) member: MemberCode,
    pub(super) stop: watch::Receiver<bool>,
    pub(super) network: NetworkFacts,
    /// The largest message this API sends (`server.max_message_bytes`):
    /// pages and export messages are cut to fit.
    pub(super) max_message_bytes: usize,
}

/// What the admin API tells a joining member.
#[derive(Debug, Clone, Default)]
pub struct NetworkFacts {
    /// The network id, if this node is in one.
    pub network_id: Option<String>,
    /// The secretariat's key.
    pub secretariat_key: Option<String>,
    /// Where this node is reached.
    pub endpoints: Vec<String>,
    /// The roster, to answer GetRoster.
    pub roster: crate::roster::SharedRoster,
    /// The status file the node keeps current.
    pub status_file: std::path::PathBuf,
    /// This node's key (hex).
    pub node_key: String,
}

impl RecordApi {
    /// The API.
    pub fn new(
        writer: Writer,
        reader: Reader,
        member: MemberCode,
        stop: watch::Receiver<bool>,
        network: NetworkFacts,
    ) -> Self {
        Self {
            writer,
            reader,
            member,
            stop,
            network,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }

    /// The record service, ready to add to a tonic router; it sends and
    /// accepts messages of at most `max_message_bytes`.
    pub fn service(mut self, max_message_bytes: usize) -> RecordServiceServer<Self> {
        self.max_message_bytes = max_message_bytes;
        RecordServiceServer::new(self)
            .max_decoding_message_size(max_message_bytes)
            .max_encoding_message_size(max_message_bytes)
    }

    /// The admin service.
    pub fn admin_service(self) -> AdminServiceServer<Self> {
        AdminServiceServer::new(self)
    }

    /// Refuses roster changes on a node that does not hold the current
    /// anchor key (before looking at what the change is).
    pub(super) fn check_anchor(&self) -> Result<(), Status> {
        let anchor = self.network.roster.read().ok().and_then(|r| r.anchor());
        if anchor.map(|a| a.to_string()) != Some(self.network.node_key.clone()) {
            return Err(Status::failed_precondition(
                "only the secretariat's node changes the roster (the node holding the current \
                 anchor key)",
            ));
        }
        Ok(())
    }

    /// Marks a record whose owner is suspended or removed.
    pub(super) fn marked(&self, record: pb::Record) -> pb::Record {
        marked(record, &self.network.roster, &self.member)
    }
}

/// The message cap when the server does not say (`server.max_message_bytes`'s
/// default).
const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Room kept in a page's message for what is not its rows (the cursor, the
/// counts, a view's summaries); [`fit`] cuts the page if they take more.
const PAGE_RESERVE: usize = 64 * 1024;

/// The bytes of rows a page may hold in a message of at most `max`.
pub(crate) fn rows_budget(max: usize) -> usize {
    max.saturating_sub(PAGE_RESERVE).max(1)
}

/// The bytes a message takes as an item of a repeated field (tag, length,
/// message).
pub(crate) fn framed_len<M: prost::Message>(message: &M) -> usize {
    let len = message.encoded_len();
    1 + prost::encoding::encoded_len_varint(len as u64) + len
}

/// The message `build(n)` makes of a page's first `n` rows, with `n` as
/// large as fits in `max` bytes (`row_len(i)`: the bytes of row `i` in it).
/// The page's estimate is an upper bound of its rows, but what else the
/// message holds (a view's summaries) is not: so the page is measured
/// exactly here, at the boundary, and cut shorter if it must (`build` then
/// points the cursor at the new last row). A message over `max` with one
/// row (or none) is refused, naming what is too large (`what`): a record
/// cannot be, since the writer bounds records well under the cap, unless
/// the cap was lowered below the records already held.
pub(crate) fn fit<M: prost::Message>(
    max: usize,
    rows: usize,
    mut build: impl FnMut(usize) -> M,
    row_len: impl Fn(usize) -> usize,
    what: impl FnOnce() -> String,
) -> Result<M, Status> {
    let mut n = rows;
    loop {
        let message = build(n);
        let len = message.encoded_len();
        if len <= max {
            return Ok(message);
        }
        if n <= 1 {
            return Err(Status::failed_precondition(format!(
                "{} takes {len} bytes in a message, more than this node sends at once \
                 (server.max_message_bytes = {max}): raise server.max_message_bytes in the \
                 node's focal.toml",
                what()
            )));
        }
        let mut cut = 0;
        while n > 1 && cut < len - max {
            n -= 1;
            cut += row_len(n);
        }
    }
}

/// Sends one exported record through `send` in messages of at most `max`
/// bytes: the record with its document if they fit together, else the
/// record with the document's first bytes, then the rest in parts, each
/// marked `more` but the last. Returns whether every part was sent (false:
/// the client went away); a record too large to travel even alone is
/// refused.
pub(super) fn export_parts(
    record: pb::Record,
    automerge: Vec<u8>,
    max: usize,
    mut send: impl FnMut(pb::ExportedRecord) -> bool,
) -> Result<bool, Status> {
    use prost::Message as _;
    // A `bytes` field of n bytes takes at most n + 6 (tag, length), a set
    // `more` 2.
    const FRAMING: usize = 6 + 2;
    let head = pb::ExportedRecord {
        record: Some(record),
        automerge: Vec::new(),
        more: true,
    };
    let head_len = head.encoded_len();
    if head_len + automerge.len() + FRAMING <= max {
        return Ok(send(pb::ExportedRecord {
            automerge,
            more: false,
            ..head
        }));
    }
    if head_len + FRAMING > max {
        return Err(Status::failed_precondition(format!(
            "record {} takes {head_len} bytes in a message, more than this node sends at once \
             (server.max_message_bytes = {max}): raise server.max_message_bytes in the node's \
             focal.toml",
            head.record
                .as_ref()
                .map(|r| r.id.as_str())
                .unwrap_or_default()
        )));
    }
    let mut rest = &automerge[..];
    let first = rest.len().min(max - head_len - FRAMING);
    let mut part = pb::ExportedRecord {
        automerge: rest[..first].to_vec(),
        ..head
    };
    rest = &rest[first..];
    loop {
        part.more = !rest.is_empty();
        let last = !part.more;
        if !send(part) {
            return Ok(false);
        }
        if last {
            return Ok(true);
        }
        let n = rest.len().min(max - FRAMING);
        part = pb::ExportedRecord {
            record: None,
            automerge: rest[..n].to_vec(),
            more: false,
        };
        rest = &rest[n..];
    }
}

pub(super) async fn blocking<T: Send + 'static, E: ToStatus + Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Status::internal(format!("read task failed: {e}")))?
        .map_err(ToStatus::to_status)
}

pub(super) fn parse_type(text: &str) -> Result<RecordType, Status> {
    RecordType::parse(text.trim()).ok_or_else(|| {
        let all: Vec<_> = RecordType::ALL.iter().map(|t| t.as_str()).collect();
        Status::invalid_argument(format!(
            "`{text}` is not a record type; use one of: {}",
            all.join(", ")
        ))
    })
}

pub(super) fn parse_object(json: &str, what: &str) -> Result<Map<String, Value>, Status> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Status::invalid_argument(format!(
            "{what} must be a JSON object"
        ))),
        Err(e) => Err(Status::invalid_argument(format!(
            "{what} is not valid JSON: {e}"
        ))),
    }
}

/// What a client of `member`'s node is shown of a record: its owner's
/// standing if it is not active, and a focal point's contact details only
/// where `focal_point::contact_shown` allows.
pub(super) fn marked(
    mut record: pb::Record,
    roster: &crate::roster::SharedRoster,
    member: &MemberCode,
) -> pb::Record {
    if let Ok(roster) = roster.read()
        && let Some(status) = roster.member_status(&record.owner)
        && status != crate::roster::MemberStatus::Active
    {
        record.owner_standing = status.as_str().to_owned();
    }
    if record.r#type == RecordType::FocalPoint.as_str()
        && !crate::records::focal_point::contact_shown(member.as_str(), &record.owner)
        && let Ok(Value::Object(mut json)) = serde_json::from_str::<Value>(&record.json)
        && json.remove("contact").is_some()
    {
        record.json = Value::Object(json).to_string();
    }
    record
}

/// Converts a projection row to its wire form.
pub fn to_proto(row: RecordRow) -> pb::Record {
    pb::Record {
        id: row.id,
        r#type: row.kind.as_str().to_owned(),
        owner: row.owner,
        visibility: row.visibility.as_str().to_owned(),
        created: row.created,
        updated: row.updated,
        deleted: row.deleted,
        title: row.title,
        json: row.json,
        heads: row.heads,
        owner_standing: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, json_bytes: usize) -> pb::Record {
        pb::Record {
            id: id.to_owned(),
            r#type: "practice".into(),
            json: "x".repeat(json_bytes),
            ..Default::default()
        }
    }

    /// Every part `export_parts` sends for a record and a document.
    fn parts(json_bytes: usize, doc: &[u8], max: usize) -> Vec<pb::ExportedRecord> {
        use prost::Message as _;
        let mut sent = Vec::new();
        let done = export_parts(
            record("ESP:practice:a", json_bytes),
            doc.to_vec(),
            max,
            |p| {
                assert!(p.encoded_len() <= max, "{} > {max}", p.encoded_len());
                sent.push(p);
                true
            },
        )
        .unwrap();
        assert!(done);
        sent
    }

    #[test]
    fn an_exported_record_near_the_cap_travels_in_parts_each_within_it() {
        let max = 64 * 1024;
        let doc: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
        // Small: one message.
        let one = parts(100, &doc[..1000], max);
        assert_eq!(one.len(), 1);
        assert!(!one[0].more);
        assert_eq!(one[0].automerge, &doc[..1000]);
        // A record near the cap and a document of twice the cap: the
        // record with the first bytes, then parts, `more` but the last.
        for json in [10, max - 200, max - 60] {
            let sent = parts(json, &doc, max);
            assert!(sent.len() >= 3, "{}", sent.len());
            assert!(sent[0].record.is_some());
            assert!(sent[1..].iter().all(|p| p.record.is_none()));
            assert!(sent[..sent.len() - 1].iter().all(|p| p.more));
            assert!(!sent[sent.len() - 1].more);
            let whole: Vec<u8> = sent.iter().flat_map(|p| p.automerge.clone()).collect();
            assert_eq!(whole, doc, "the parts make the document");
        }
        // A record over the cap by itself: refused, named.
        let err = export_parts(record("ESP:practice:big", max), doc, max, |_| true).unwrap_err();
        assert_eq!(err.code(), tonic::Code::FailedPrecondition);
        assert!(err.message().contains("record ESP:practice:big"), "{err}");
        assert!(err.message().contains("server.max_message_bytes"), "{err}");
    }

    #[test]
    fn a_page_is_cut_to_the_message_cap_but_keeps_one_row() {
        use prost::Message as _;
        let rows: Vec<pb::Record> = (0..10).map(|i| record(&format!("r{i}"), 1000)).collect();
        let sizes: Vec<usize> = rows.iter().map(framed_len).collect();
        let build = |n: usize| pb::ListResponse {
            records: rows[..n].to_vec(),
            next: if n < rows.len() {
                "c".repeat(100)
            } else {
                String::new()
            },
            ..Default::default()
        };
        let whole = build(10).encoded_len();
        let fitted = fit(whole, 10, build, |i| sizes[i], || "x".into()).unwrap();
        assert_eq!(fitted.records.len(), 10, "it fits: nothing cut");
        let fitted = fit(4_500, 10, build, |i| sizes[i], || "x".into()).unwrap();
        assert!(fitted.encoded_len() <= 4_500);
        assert_eq!(fitted.records.len(), 4, "as many as fit, with the cursor");
        let err = fit(500, 10, build, |i| sizes[i], || "record r0".into()).unwrap_err();
        assert_eq!(err.code(), tonic::Code::FailedPrecondition);
        assert!(err.message().contains("record r0 takes"), "{err}");
    }
}
