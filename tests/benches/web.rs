//! The web app's pages at the views bench's scale (200 members × 1,000
//! records), served by a real secretariat node, each beside the same answer
//! through gRPC.
//!
//! `cargo bench -p focal-tests --bench web`:
//! 1. A secretariat's data directory (`focal-node init --secretariat`,
//!    through the test harness), a web user with a password (`focal-node
//!    user add bench --role admin --password-stdin`) and an admin token.
//! 2. The node runs once: a meeting, two decisions and a practice are
//!    created and edited through gRPC (the decisions 50 and 200 times, the
//!    practice 5 times), so that their history pages have Automerge
//!    documents to read; then the synthetic members join the roster
//!    (`AdminService.AddMember`, real ed25519 keys, endpoint `127.0.0.1:9`
//!    where nothing listens: the node dials them and backs off, as a
//!    secretariat does with members that are down). The node stops.
//! 3. Stopped, its `focal.db` is filled as the views bench fills its own:
//!    every synthetic record validated and written with `writer::project`,
//!    1,000 dummy log entries per member for the views' freshness. No
//!    Automerge documents exist for these records; their pages never load
//!    one.
//! 4. The node starts again. The bench signs in over HTTP and fetches each
//!    page `WARMUP` + `RUNS` times, one request at a time on one keep-alive
//!    HTTP/1.1 connection, timed from the request's first byte sent to the
//!    body's last byte read (loopback: this is the server's time plus
//!    HTTP, the page rendered in full before it is sent). Each fetch is
//!    followed by the same page on a fresh TCP connection, then by the same
//!    answer through gRPC with the client library (pinned TLS, HTTP/2, one
//!    channel): the same filters and rows (the pages show 50 rows, so
//!    `limit: 50`), and the gRPC default page (1,000 rows for a view, 100
//!    records for a list). A page that a build does not serve yet (404) is
//!    listed as such and not timed.
//!
//! Printed: a Markdown table, one row per page: the HTML bytes, median,
//! p95 and max, the time to the answer's first byte (the handler and
//! rendering, roughly: pages are sent whole; a CSV download sends its first
//! page while it reads the next), the gRPC times and the
//! ratio, and whether p95 ≤ 50 ms (the goal).
//!
//! `FOCAL_BENCH_MEMBERS`, `FOCAL_BENCH_RECORDS` and `FOCAL_BENCH_RUNS`
//! scale it. For profiling: `FOCAL_BENCH_KEEP=1` keeps the data directory
//! (its path is printed last), `FOCAL_BENCH_REUSE=DIR` times a kept one
//! again without building it, `FOCAL_BENCH_PAGES=TEXT` times only the pages
//! whose name contains TEXT, and `FOCAL_BENCH_PERF=FILE` records the node
//! with `perf record -p` while the pages are timed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use focal_client::client::BearerToken;
use focal_node::{
    engine::writer,
    identity::NodeId,
    records::{self, RecordType, ValidationContext},
    store::{Store, StoreOptions},
};
use focal_proto::v1::{
    self as pb, admin_service_client::AdminServiceClient,
    record_service_client::RecordServiceClient, view_service_client::ViewServiceClient,
};
use focal_tests::{NodeDir, RunningNode, client_for, connection_for, web};
use prost::Message as _;
use serde_json::{Map, Value, json};
use tonic::{service::interceptor::InterceptedService, transport::Channel};

const WARMUP: usize = 3;
/// Rows of a web page (`PAGE_ROWS` in `node/src/web/pages.rs`).
const PAGE_ROWS: u32 = 50;
/// The goal for every page, p95 in milliseconds.
const GOAL_MS: f64 = 50.0;
const PASSWORD: &str = "a long bench password, not a real one";

// ---- the synthetic network (as `views.rs` builds it) ----

const REGIONS: &[&str] = &[
    "africa",
    "asia-pacific",
    "eastern-europe",
    "latin-america-caribbean",
    "western-europe-others",
];
const THEMES: &[&str] = &[
    "gender-analysis",
    "participation-security-sector",
    "participation-peace-processes",
    "senior-leadership",
    "removing-barriers",
    "violent-extremism",
    "climate-change",
    "crsv-justice",
    "nap-design-monitoring-financing",
    "disarmament-small-arms",
    "early-warning-preventive-diplomacy",
    "peacekeeping",
    "civil-society-partnerships",
];
const MEETINGS: usize = 50;
/// One decision per status, so a meeting has `DECISIONS_PER_MEETING`.
const STATUSES: [&str; DECISIONS_PER_MEETING] = ["open", "in-progress", "done", "open"];
const POSTINGS: [&str; 2] = ["capital", "new-york-mission"];
const CURRENCIES: [&str; 3] = ["EUR", "USD", "NOK"];
const DECISIONS_PER_MEETING: usize = 4;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Member codes from ISO's user-assigned range (`XAA` …), so none is real.
fn member_code(i: usize) -> String {
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    format!(
        "X{}{}",
        letters[i / 26 % 26] as char,
        letters[i % 26] as char
    )
}

/// A well-formed record id (12 base-32 characters).
fn record_id(owner: &str, kind: RecordType, n: usize) -> String {
    let alphabet = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut suffix = String::new();
    let mut n = n;
    for _ in 0..12 {
        suffix.push(alphabet[n % 32] as char);
        n /= 32;
    }
    format!("{owner}:{kind}:{suffix}")
}

/// Member `i`'s node key: a real ed25519 key (the roster takes any 32
/// bytes, but the sync layer dials it).
fn member_key(i: usize) -> NodeId {
    let mut seed = [7u8; 32];
    seed[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
    NodeId(
        ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes(),
    )
}

struct Filler<'a> {
    conn: &'a rusqlite::Connection,
    n: usize,
    /// The first record written of each type.
    first: BTreeMap<RecordType, String>,
}

impl Filler<'_> {
    /// Validates `fields` as the node would and writes the projection.
    fn put(&mut self, owner: &str, kind: RecordType, fields: Value) -> String {
        let Value::Object(fields) = fields else {
            panic!("fields are an object")
        };
        let ctx = ValidationContext {
            owner: owner.parse().unwrap(),
            default_language: "en".into(),
            limits: Default::default(),
        };
        let mut json: Map<String, Value> = records::validate(kind, &fields, &ctx)
            .unwrap_or_else(|e| panic!("{kind} {fields:?}: {e:?}"));
        self.n += 1;
        // Offset from the ids the node makes (random suffixes) by nothing
        // but chance; a clash would fail the insert loudly.
        let id = record_id(owner, kind, self.n);
        let day = 1 + self.n % 28;
        json.insert("id".into(), json!(id));
        json.insert("type".into(), json!(kind.as_str()));
        json.insert("owner".into(), json!(owner));
        json.insert("visibility".into(), json!("network"));
        json.insert(
            "created".into(),
            json!(format!("2025-03-{day:02}T09:00:00Z")),
        );
        json.insert(
            "updated".into(),
            json!(format!("2026-03-{day:02}T09:00:00Z")),
        );
        json.insert("deleted".into(), json!(false));
        writer::project(self.conn, &id, &json, &[]).unwrap();
        self.first.entry(kind).or_insert_with(|| id.clone());
        id
    }
}

/// Fills the stopped node's database; returns the first record of each
/// type. `keys` are the members' (not the secretariat's: its log holds the
/// node's own real entries).
fn fill(
    store: &mut Store,
    members: usize,
    per_member: usize,
    keys: &[NodeId],
) -> BTreeMap<RecordType, String> {
    let tx = store.conn_mut().transaction().unwrap();
    let mut f = Filler {
        conn: &tx,
        n: 0,
        first: BTreeMap::new(),
    };
    let mut meetings = Vec::new();
    let mut decisions = Vec::new();
    for m in 0..MEETINGS {
        let id = f.put(
            "SEC",
            RecordType::Meeting,
            json!({"kind": "capital-annual", "title": format!("Meeting {m}"),
                   "dates": {"start": format!("{}-04-20", 2000 + m % 27)}, "city": "Invented City"}),
        );
        for (d, status) in STATUSES.iter().enumerate() {
            decisions.push(f.put(
                "SEC",
                RecordType::Decision,
                json!({"meeting": id, "kind": "commitment",
                       "text": format!("Decision {d} of meeting {m}"),
                       "responsible": if d == 0 { "all-members".to_owned() } else { member_code((m * 7 + d) % members) },
                       "due": format!("{}-0{}-15", 2001 + m % 27, 1 + d),
                       "status": status}),
            ));
        }
        meetings.push(id);
    }
    for i in 0..members {
        let code = member_code(i);
        let region = REGIONS[i % REGIONS.len()];
        let kind = if i % 10 == 9 {
            "regional-organization"
        } else {
            "state"
        };
        let left = std::cell::Cell::new(per_member);
        let put = |f: &mut Filler<'_>, kind: RecordType, fields: Value| {
            if left.get() > 0 {
                left.set(left.get() - 1);
                f.put(&code, kind, fields);
            }
        };
        put(
            &mut f,
            RecordType::Member,
            json!({"name": format!("Member {code}"), "kind": kind, "region": region}),
        );
        for (n, (designation, ended)) in [
            ("primary", None),
            ("alternate", None),
            ("primary", Some("2022-12-31")),
            ("alternate", Some("2021-06-30")),
        ]
        .into_iter()
        .enumerate()
        {
            let mut fp = json!({"person_name": format!("Person {n} of {code} (invented)"),
                "posting": POSTINGS[n % 2], "designation": designation,
                "languages": ["en", "fr"], "appointed": "2020-01-01",
                "contact": {"email": format!("fp{n}@{}.example.org", code.to_lowercase())}});
            if let Some(ended) = ended {
                fp["ended"] = json!(ended);
            }
            put(&mut f, RecordType::FocalPoint, fp);
        }
        // Every seventh member has no plan; the others two expired ones
        // and a third in force, or in drafting for every third member.
        for g in (1..=3u32).filter(|_| i % 7 != 3) {
            let status = match (g, i % 3) {
                (1 | 2, _) => "expired",
                (_, 0) => "draft",
                _ => "in-force",
            };
            let start = 2010 + 5 * g as usize;
            let budget = match i % 4 {
                0 => json!({"status": "allocated", "amount": 1_000_000 + i, "currency": "EUR"}),
                1 => json!("unspecified"),
                _ => json!("none"),
            };
            put(
                &mut f,
                RecordType::NationalActionPlan,
                json!({"kind": "nap", "title": format!("Plan {g} of {code}"), "status": status,
                       "generation": g, "period": {"start": format!("{start}-01-01"), "end": format!("{}-12-31", start + 4)},
                       "lead_agency": "Ministry (invented)", "themes": [THEMES[(i + g as usize) % THEMES.len()]],
                       "budget": budget, "monitoring": {"described": i % 2 == 0},
                       "civil_society": {"drafting": i % 3 != 0}}),
            );
        }
        let mut n = 0;
        while left.get() > 0 {
            n += 1;
            let slot = n % 10;
            let theme = THEMES[(i + n) % THEMES.len()];
            let other = THEMES[(i + 3 * n) % THEMES.len()];
            let themes = if theme == other {
                json!([theme])
            } else {
                json!([theme, other])
            };
            match slot {
                0..=4 => put(
                    &mut f,
                    RecordType::Practice,
                    json!({"kind": "best-practice", "title": format!("Practice {n} of {code}"),
                           "summary": "An invented practice, described at some length for realism.",
                           "themes": themes}),
                ),
                5..=7 => put(
                    &mut f,
                    RecordType::FundingCommitment,
                    json!({"donor": code, "recipient": member_code((i + n) % members).replace(&code, &member_code((i + n + 1) % members)),
                           "channel": "bilateral", "kind": "financial", "amount": 10_000 * (1 + n % 50),
                           "currency": CURRENCIES[n % 3],
                           "period": {"start": "2024-01-01", "end": "2026-12-31"}, "themes": themes}),
                ),
                8 => put(
                    &mut f,
                    RecordType::Partnership,
                    json!({"organization_name": format!("Invented organization {n}"),
                           "organization_type": "womens-organization", "scope": "national"}),
                ),
                _ => {
                    let k = n / 10;
                    if k % 3 == 0 && k / 3 < MEETINGS {
                        put(
                            &mut f,
                            RecordType::Registration,
                            json!({"meeting": meetings[k / 3], "delegates": ["Delegate One", "Delegate Two"],
                                   "minister_speaking": k % 2 == 0}),
                        );
                    } else if k % 3 == 1 && k / 3 < MEETINGS {
                        put(
                            &mut f,
                            RecordType::Statement,
                            json!({"meeting": meetings[k / 3], "speaker": "Invented Speaker",
                                   "text": "We renew our commitment."}),
                        );
                    } else {
                        put(
                            &mut f,
                            RecordType::FollowUp,
                            json!({"decision": decisions[(i + k) % decisions.len()], "status": "met",
                                   "year": 2026, "text": "Reported."}),
                        );
                    }
                }
            }
        }
    }
    // The heads of each member's log: `per_member` entries each.
    {
        let mut stmt = tx
            .prepare(
                "INSERT INTO log_entries (origin, audience, seq, hash, doc_id, entry, stored_at)
                 VALUES (?1, 0, ?2, ?3, 'x', ?4, ?5)",
            )
            .unwrap();
        let entry = vec![0u8; 200];
        let mut hash = 0u64;
        for key in keys {
            for seq in 1..=per_member as i64 {
                hash += 1;
                let mut h = [0u8; 32];
                h[..8].copy_from_slice(&hash.to_le_bytes());
                stmt.execute(rusqlite::params![
                    &key.0[..],
                    seq,
                    &h[..],
                    &entry,
                    1_780_000_000 + seq
                ])
                .unwrap();
            }
        }
    }
    let first = f.first;
    tx.commit().unwrap();
    first
}

// ---- HTTP/1.1, one request at a time ----

/// One fetch of a page.
struct Fetch {
    status: u16,
    bytes: usize,
    first_byte: Duration,
    total: Duration,
}

/// A signed-in browser, minus the browser: one keep-alive connection.
struct Http {
    addr: SocketAddr,
    cookie: Option<String>,
    conn: Option<BufReader<TcpStream>>,
}

impl Http {
    fn connect(&self) -> BufReader<TcpStream> {
        let stream = TcpStream::connect(self.addr).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        BufReader::with_capacity(256 * 1024, stream)
    }

    /// `GET path`, on the kept connection or (`fresh`) on a new one.
    fn get(&mut self, path: &str, fresh: bool) -> Fetch {
        for _ in 0..2 {
            if let Some(fetch) = self.try_get(path, fresh) {
                return fetch;
            }
            // The server closed the kept connection while it was idle.
            self.conn = None;
        }
        panic!("GET {path}: the connection closed twice before an answer");
    }

    fn try_get(&mut self, path: &str, fresh: bool) -> Option<Fetch> {
        let start = Instant::now();
        if fresh || self.conn.is_none() {
            self.conn = Some(self.connect());
        }
        let conn = self.conn.as_mut().unwrap();
        let mut head = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept-Language: en\r\n",
            self.addr
        );
        if let Some(cookie) = &self.cookie {
            head.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        if fresh {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        conn.get_mut().write_all(head.as_bytes()).ok()?;
        if conn.fill_buf().ok()?.is_empty() {
            return None;
        }
        let first_byte = start.elapsed();
        let mut line = String::new();
        conn.read_line(&mut line).unwrap();
        let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut length = None;
        let mut chunked = false;
        let mut close = fresh;
        loop {
            line.clear();
            conn.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            match name.as_str() {
                "content-length" => length = Some(value.parse::<usize>().unwrap()),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "connection" => close |= value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                conn.read_line(&mut line).unwrap();
                let size =
                    usize::from_str_radix(line.trim().split(';').next().unwrap(), 16).unwrap();
                let mut chunk = vec![0; size + 2];
                conn.read_exact(&mut chunk).unwrap();
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else if let Some(length) = length {
            body.resize(length, 0);
            conn.read_exact(&mut body).unwrap();
        } else {
            conn.read_to_end(&mut body).unwrap();
            close = true;
        }
        let total = start.elapsed();
        if close {
            self.conn = None;
        }
        Some(Fetch {
            status,
            bytes: body.len(),
            first_byte,
            total,
        })
    }
}

// ---- gRPC ----

type Intercepted = InterceptedService<Channel, BearerToken>;

/// What a page reads, through gRPC.
#[derive(Clone)]
enum Call {
    Directory(pb::ViewRequest),
    NapTracker(pb::ViewRequest),
    Practices(pb::ViewRequest),
    Funding(pb::ViewRequest),
    FollowUp(pb::ViewRequest),
    Meeting(pb::MeetingViewRequest),
    /// Every page of the practices view, following `next`.
    PracticesAll(pb::ViewRequest),
    /// Every page of the funding view, following `next`.
    FundingAll(pb::ViewRequest),
    List(pb::ListRequest),
    /// Several lists, one after the other (the home page's reads).
    Lists(Vec<pb::ListRequest>),
    Get(String),
    History(String),
    Roster,
}

struct Grpc {
    views: ViewServiceClient<Intercepted>,
    records: RecordServiceClient<Intercepted>,
    admin: AdminServiceClient<Intercepted>,
}

impl Grpc {
    /// Makes the call; returns the answer's encoded size.
    async fn call(&mut self, call: &Call) -> usize {
        match call {
            Call::Directory(r) => self.views.directory(r.clone()).await.map(len),
            Call::NapTracker(r) => self.views.nap_tracker(r.clone()).await.map(len),
            Call::Practices(r) => self.views.practices(r.clone()).await.map(len),
            Call::Funding(r) => self.views.funding(r.clone()).await.map(len),
            Call::FollowUp(r) => self.views.follow_up(r.clone()).await.map(len),
            Call::Meeting(r) => self.views.meeting(r.clone()).await.map(len),
            Call::PracticesAll(r) => {
                let (mut r, mut total) = (r.clone(), 0);
                loop {
                    let page = self.views.practices(r.clone()).await.unwrap().into_inner();
                    total += page.encoded_len();
                    if page.next.is_empty() {
                        break Ok(total);
                    }
                    r.after = page.next;
                }
            }
            Call::FundingAll(r) => {
                let (mut r, mut total) = (r.clone(), 0);
                loop {
                    let page = self.views.funding(r.clone()).await.unwrap().into_inner();
                    total += page.encoded_len();
                    if page.next.is_empty() {
                        break Ok(total);
                    }
                    r.after = page.next;
                }
            }
            Call::List(r) => self.records.list(r.clone()).await.map(len),
            Call::Lists(rs) => {
                let mut total = 0;
                for r in rs {
                    total += len(self.records.list(r.clone()).await.unwrap());
                }
                Ok(total)
            }
            Call::Get(id) => self
                .records
                .get(pb::GetRequest { id: id.clone() })
                .await
                .map(len),
            Call::History(id) => self
                .records
                .history(pb::HistoryRequest { id: id.clone() })
                .await
                .map(len),
            Call::Roster => self
                .admin
                .get_roster(pb::GetRosterRequest {})
                .await
                .map(len),
        }
        .unwrap_or_else(|status| panic!("gRPC: {status}"))
    }
}

fn len<M: prost::Message>(answer: tonic::Response<M>) -> usize {
    answer.into_inner().encoded_len()
}

// ---- the pages ----

struct Page {
    name: String,
    path: String,
    signed_in: bool,
    /// The same reads through gRPC: the same rows, and the default page.
    grpc: Option<(String, Call, Option<Call>)>,
    /// Only served once the views' pages land: a 404 is reported, not a
    /// failure.
    optional: bool,
}

fn url_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn view(limit: u32, f: impl Fn(&mut pb::ViewRequest)) -> pb::ViewRequest {
    let mut r = pb::ViewRequest {
        limit,
        ..Default::default()
    };
    f(&mut r);
    r
}

fn list(kind: &str, limit: u32, f: impl Fn(&mut pb::ListRequest)) -> pb::ListRequest {
    let mut r = pb::ListRequest {
        r#type: kind.to_owned(),
        limit,
        ..Default::default()
    };
    f(&mut r);
    r
}

struct Ids {
    practice: String,
    focal_point: String,
    meeting: String,
    real_practice: String,
    real_decision: String,
    real_long: String,
}

fn pages(ids: &Ids, member: &str) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut page = |name: &str, path: String, grpc: Option<(&str, Call, Option<Call>)>| {
        pages.push(Page {
            name: name.to_owned(),
            path,
            signed_in: true,
            grpc: grpc.map(|(n, a, b)| (n.to_owned(), a, b)),
            optional: false,
        });
    };
    let home_label = format!(
        "List ×{} (each type's count, limit 1) + List limit 10",
        RecordType::ALL.len()
    );
    let home_reads = |limit: u32| {
        let mut reads: Vec<pb::ListRequest> = RecordType::ALL
            .iter()
            .map(|k| list(k.as_str(), 1, |r| r.owner = "SEC".into()))
            .collect();
        reads.push(list("", limit, |_| {}));
        reads
    };
    page(
        "home",
        "/".into(),
        Some((&home_label, Call::Lists(home_reads(10)), None)),
    );
    page(
        "records, all types",
        "/records".into(),
        Some((
            "List",
            Call::List(list("", PAGE_ROWS, |_| {})),
            Some(Call::List(list("", 0, |_| {}))),
        )),
    );
    for kind in ["practice", "funding", "focal-point", "nap", "meeting"] {
        page(
            &format!("records ?type={kind}"),
            format!("/records?type={kind}"),
            Some((
                "List",
                Call::List(list(kind, PAGE_ROWS, |_| {})),
                Some(Call::List(list(kind, 0, |_| {}))),
            )),
        );
    }
    page(
        "records ?type=practice&owner=",
        format!("/records?type=practice&owner={member}"),
        Some((
            "List --owner",
            Call::List(list("practice", PAGE_ROWS, |r| r.owner = member.into())),
            Some(Call::List(list("practice", 0, |r| r.owner = member.into()))),
        )),
    );
    page(
        "records ?type=practice&theme=",
        "/records?type=practice&theme=climate-change".into(),
        Some((
            "List --theme",
            Call::List(list("practice", PAGE_ROWS, |r| {
                r.theme = "climate-change".into()
            })),
            Some(Call::List(list("practice", 0, |r| {
                r.theme = "climate-change".into()
            }))),
        )),
    );
    page(
        "records ?type=nap&status=in-force",
        "/records?type=nap&status=in-force".into(),
        Some((
            "List --status",
            Call::List(list("nap", PAGE_ROWS, |r| r.status = "in-force".into())),
            Some(Call::List(list("nap", 0, |r| r.status = "in-force".into()))),
        )),
    );
    let q = format!("Practice 42 of {member}");
    page(
        "records ?type=practice&q= (search)",
        format!("/records?type=practice&q={}", url_encode(&q)),
        Some((
            "List --search",
            Call::List(list("practice", PAGE_ROWS, |r| r.search = q.clone())),
            Some(Call::List(list("practice", 0, |r| r.search = q.clone()))),
        )),
    );
    page(
        "records ?q= (search, all types)",
        format!("/records?q={}", url_encode("Plan 3")),
        Some((
            "List --search",
            Call::List(list("", PAGE_ROWS, |r| r.search = "Plan 3".into())),
            Some(Call::List(list("", 0, |r| r.search = "Plan 3".into()))),
        )),
    );
    for (name, id) in [
        ("record: a practice (synthetic)", &ids.practice),
        ("record: a focal point (synthetic)", &ids.focal_point),
        ("record: a practice (real, 6 changes)", &ids.real_practice),
        ("record: a decision (real, 51 changes)", &ids.real_decision),
        ("record: a decision (real, 201 changes)", &ids.real_long),
    ] {
        page(
            name,
            format!("/records/{}", url_encode(id)),
            Some(("Get", Call::Get(id.clone()), None)),
        );
    }
    for (name, id) in [
        ("history: a practice (6 changes)", &ids.real_practice),
        ("history: a decision (51 changes)", &ids.real_decision),
        ("history: a decision (201 changes)", &ids.real_long),
    ] {
        page(
            name,
            format!("/records/{}/history", url_encode(id)),
            Some(("History", Call::History(id.clone()), None)),
        );
    }
    page(
        "edit form: the practice",
        format!("/records/{}/edit", url_encode(&ids.real_practice)),
        Some(("Get", Call::Get(ids.real_practice.clone()), None)),
    );
    page(
        "new form: a follow-up (decision picker)",
        "/records/new?type=follow-up".into(),
        Some((
            "List decision limit 500 (the picker)",
            Call::List(list("decision", 500, |_| {})),
            None,
        )),
    );
    let all = |limit| view(limit, |_| {});
    let one = |limit| view(limit, |r| r.member = member.into());
    let africa = |limit| view(limit, |r| r.region = "africa".into());
    let theme = |limit| view(limit, |r| r.theme = "climate-change".into());
    page(
        "directory",
        "/views/directory".into(),
        Some((
            "Directory",
            Call::Directory(all(PAGE_ROWS)),
            Some(Call::Directory(all(0))),
        )),
    );
    page(
        "directory ?member=",
        format!("/views/directory?member={member}"),
        Some((
            "Directory --member",
            Call::Directory(one(PAGE_ROWS)),
            Some(Call::Directory(one(0))),
        )),
    );
    page(
        "directory, CSV (every row)",
        "/views/directory?format=csv".into(),
        Some(("Directory limit 10,000", Call::Directory(all(10_000)), None)),
    );
    page(
        "NAP tracker",
        "/views/naps".into(),
        Some((
            "NapTracker",
            Call::NapTracker(all(PAGE_ROWS)),
            Some(Call::NapTracker(all(0))),
        )),
    );
    page(
        "NAP tracker ?region=africa",
        "/views/naps?region=africa".into(),
        Some((
            "NapTracker --region",
            Call::NapTracker(africa(PAGE_ROWS)),
            Some(Call::NapTracker(africa(0))),
        )),
    );
    page(
        "NAP tracker, CSV",
        "/views/naps?format=csv".into(),
        Some((
            "NapTracker limit 10,000",
            Call::NapTracker(all(10_000)),
            None,
        )),
    );
    page(
        "roster (admin)",
        "/admin/members".into(),
        Some(("AdminService.GetRoster", Call::Roster, None)),
    );
    // The views' pages in progress: timed if this build serves them.
    let optional: Vec<(&str, String, &str, Call, Option<Call>)> = vec![
        (
            "practices",
            "/views/practices".into(),
            "Practices",
            Call::Practices(all(PAGE_ROWS)),
            Some(Call::Practices(all(0))),
        ),
        (
            "practices ?theme=climate-change",
            "/views/practices?theme=climate-change".into(),
            "Practices --theme",
            Call::Practices(theme(PAGE_ROWS)),
            Some(Call::Practices(theme(0))),
        ),
        (
            "funding",
            "/views/funding".into(),
            "Funding",
            Call::Funding(all(PAGE_ROWS)),
            Some(Call::Funding(all(0))),
        ),
        (
            "funding ?member=",
            format!("/views/funding?member={member}"),
            "Funding --member",
            Call::Funding(one(PAGE_ROWS)),
            Some(Call::Funding(one(0))),
        ),
        (
            "follow-up",
            "/views/follow-up".into(),
            "FollowUp",
            Call::FollowUp(all(PAGE_ROWS)),
            Some(Call::FollowUp(all(0))),
        ),
        (
            "meetings (list)",
            "/views/meetings".into(),
            "List type=meeting",
            Call::List(list("meeting", PAGE_ROWS, |_| {})),
            Some(Call::List(list("meeting", 0, |_| {}))),
        ),
        (
            "meeting",
            format!("/views/meetings/{}", url_encode(&ids.meeting)),
            "Meeting",
            Call::Meeting(pb::MeetingViewRequest {
                meeting_id: ids.meeting.clone(),
                filter: Some(all(PAGE_ROWS)),
            }),
            Some(Call::Meeting(pb::MeetingViewRequest {
                meeting_id: ids.meeting.clone(),
                filter: Some(all(0)),
            })),
        ),
        (
            "practices, CSV download (every row)",
            "/views/practices?format=csv".into(),
            "Practices, every page at limit 10,000",
            Call::PracticesAll(all(10_000)),
            None,
        ),
        (
            "funding, CSV download (every row)",
            "/views/funding?format=csv".into(),
            "Funding, every page at limit 10,000",
            Call::FundingAll(all(10_000)),
            None,
        ),
    ];
    for (name, path, grpc_name, same, default) in optional {
        pages.push(Page {
            name: name.to_owned(),
            path,
            signed_in: true,
            grpc: Some((grpc_name.to_owned(), same, default)),
            optional: true,
        });
    }
    pages.push(Page {
        name: "sign-in form (no session)".into(),
        path: "/login".into(),
        signed_in: false,
        grpc: None,
        optional: false,
    });
    pages
}

// ---- figures ----

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The nearest-rank percentile `p` (0–1) of `times`.
fn percentile(times: &[Duration], p: f64) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn bytes(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The data directory, ready to serve, and what the pages need.
struct Built {
    dir: NodeDir,
    token: String,
    ids: Ids,
    member: String,
}

impl Built {
    /// A directory kept by an earlier run (`FOCAL_BENCH_KEEP=1`).
    fn reuse(path: std::path::PathBuf) -> Self {
        let kept: Value =
            serde_json::from_str(&std::fs::read_to_string(path.join(KEPT)).unwrap()).unwrap();
        let text = |name: &str| kept[name].as_str().unwrap().to_owned();
        let mut node_key = [0u8; 32];
        hex::decode_to_slice(text("node_key"), &mut node_key).unwrap();
        println!("Reusing the data directory {}", path.display());
        Self {
            dir: NodeDir::existing(path, "SEC", node_key),
            token: text("token"),
            ids: Ids {
                practice: text("practice"),
                focal_point: text("focal_point"),
                meeting: text("meeting"),
                real_practice: text("real_practice"),
                real_decision: text("real_decision"),
                real_long: text("real_long"),
            },
            member: text("member"),
        }
    }

    /// Writes what `reuse` reads.
    fn keep(&self) {
        let ids = &self.ids;
        let kept = json!({
            "node_key": hex::encode(self.dir.node_key), "token": self.token,
            "practice": ids.practice, "focal_point": ids.focal_point, "meeting": ids.meeting,
            "real_practice": ids.real_practice, "real_decision": ids.real_decision, "real_long": ids.real_long,
            "member": self.member,
        });
        std::fs::write(self.dir.path.join(KEPT), kept.to_string()).unwrap();
    }
}

/// What `FOCAL_BENCH_KEEP=1` leaves in the data directory.
const KEPT: &str = "web-bench.json";

/// Steps 1 to 3: the directory, its real records and roster, then the
/// synthetic network written while the node is stopped.
fn build(members: usize, per_member: usize, rt: &tokio::runtime::Runtime) -> Built {
    // 1. The data directory, a web user and a token.
    let dir = NodeDir::init_secretariat("web-bench");
    // The harness's short back-off suits tests that restart peers; a
    // secretariat with 200 unreachable members would redial them 10 times
    // a second. The defaults, as deployed.
    dir.set_config("anti_entropy_ms = 300", "# anti_entropy_ms = 5000");
    dir.set_config("backoff_ms = 100", "# backoff_ms = 500");
    web::add_user(&dir.path, "bench", "admin", PASSWORD);
    let token = dir.token("bench");

    // 2. Real records with histories, and the members in the roster.
    let started = Instant::now();
    let mut node = dir.start();
    let conn = connection_for(&node, &token);
    let (real_practice, real_decision, real_long) = rt.block_on(async {
        let client = client_for(&conn).await;
        let mut records = client.records();
        let create = |kind: &str, fields: Value| pb::CreateRequest {
            r#type: kind.into(),
            fields_json: fields.to_string(),
            ..Default::default()
        };
        let mut admin = AdminServiceClient::with_interceptor(client.channel(), client.token());
        let practice = records
            .create(create(
                "practice",
                json!({"kind": "best-practice", "title": "A real practice",
                       "summary": "Made through gRPC, edited five times.",
                       "themes": ["climate-change"]}),
            ))
            .await
            .unwrap()
            .into_inner()
            .id;
        let meeting = records
            .create(create(
                "meeting",
                json!({"kind": "capital-annual", "title": "A real meeting",
                       "dates": {"start": "2026-04-20"}, "city": "Invented City"}),
            ))
            .await
            .unwrap()
            .into_inner()
            .id;
        let decision_fields = json!({"meeting": meeting, "kind": "commitment",
               "text": "A real decision", "responsible": "all-members",
               "due": "2027-01-15", "status": "open"});
        let decision = records
            .create(create("decision", decision_fields.clone()))
            .await
            .unwrap()
            .into_inner()
            .id;
        let long = records
            .create(create("decision", decision_fields))
            .await
            .unwrap()
            .into_inner()
            .id;
        let update = |id: &str, patch: Value| pb::UpdateRequest {
            id: id.to_owned(),
            patch_json: patch.to_string(),
            ..Default::default()
        };
        for n in 1..=5 {
            records
                .update(update(
                    &practice,
                    json!({"summary": format!("Made through gRPC, revision {n}."),
                           "themes": [THEMES[n % THEMES.len()], "climate-change"]}),
                ))
                .await
                .unwrap();
        }
        for (id, edits) in [(&decision, 50), (&long, 200)] {
            for n in 1..=edits {
                let status = ["open", "in-progress", "done"][n % 3];
                records
                    .update(update(
                        id,
                        json!({"text": format!("A real decision, revision {n}"), "status": status}),
                    ))
                    .await
                    .unwrap();
            }
        }
        for i in 0..members {
            admin
                .add_member(pb::AddMemberRequest {
                    member: member_code(i),
                    node_key: member_key(i).to_string(),
                    endpoint: "127.0.0.1:9".into(),
                })
                .await
                .unwrap();
        }
        (practice, decision, long)
    });
    node.terminate();
    println!(
        "Data directory made, 4 real records edited 255 times, {members} members added to the roster: {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 3. The synthetic network, written into the stopped node's database.
    let path = dir.path.join("focal.db");
    let mut store = Store::open(
        &path,
        &StoreOptions {
            busy_timeout_ms: 5_000,
            create: false,
        },
    )
    .unwrap();
    let keys: Vec<NodeId> = (0..members).map(member_key).collect();
    let started = Instant::now();
    let first = fill(&mut store, members, per_member, &keys);
    let fill_time = started.elapsed();
    store.close().unwrap();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let member = member_code(17.min(members - 1));
    let ids = Ids {
        practice: first[&RecordType::Practice].clone(),
        focal_point: first[&RecordType::FocalPoint].clone(),
        meeting: first[&RecordType::Meeting].clone(),
        real_practice,
        real_decision,
        real_long,
    };

    let count: i64 = {
        let c = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        c.query_row("SELECT count(*) FROM records", [], |r| r.get(0))
            .unwrap()
    };
    println!(
        "Synthetic network: {members} members × {per_member} records + the secretariat's {} \
         = {count} records in all, {} dummy log entries; filled in {:.1} s ({:.0} MB)",
        MEETINGS * (1 + DECISIONS_PER_MEETING),
        members * per_member,
        fill_time.as_secs_f64(),
        size as f64 / 1e6,
    );
    Built {
        dir,
        token,
        ids,
        member,
    }
}

fn main() {
    let members = env_usize("FOCAL_BENCH_MEMBERS", 200);
    let per_member = env_usize("FOCAL_BENCH_RECORDS", 1_000);
    let runs = env_usize("FOCAL_BENCH_RUNS", 30);
    let only = std::env::var("FOCAL_BENCH_PAGES").unwrap_or_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let built = match std::env::var_os("FOCAL_BENCH_REUSE") {
        Some(path) => Built::reuse(std::path::PathBuf::from(path)),
        None => build(members, per_member, &rt),
    };
    let Built {
        dir,
        token,
        ids,
        member,
    } = &built;

    // 4. Start, sign in, time.
    let started = Instant::now();
    let node = RunningNode::start(dir.path.clone(), dir.node_key, &[]);
    let start_time = started.elapsed();
    let addr = web::web_addr(&node.data);
    let mut signer = web::WebClient::new(addr);
    let signed = signer.sign_in("bench", PASSWORD);
    assert_eq!(signed.status, 303, "sign-in: {}", signed.body);
    let cookie = signer
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let conn = connection_for(&node, token);
    let mut grpc = rt.block_on(async {
        let client = client_for(&conn).await;
        Grpc {
            views: ViewServiceClient::with_interceptor(client.channel(), client.token())
                .max_decoding_message_size(64 << 20),
            records: client.records().max_decoding_message_size(64 << 20),
            admin: AdminServiceClient::with_interceptor(client.channel(), client.token()),
        }
    });
    println!(
        "The node started in {:.2} s (to its address file)",
        start_time.as_secs_f64()
    );
    println!(
        "Each page: {WARMUP} warm-ups, then {runs} fetches on one keep-alive HTTP/1.1 connection \
         (loopback, plain HTTP), each followed by one on a fresh connection and by the same reads \
         through gRPC (pinned TLS, HTTP/2, one channel). Times in ms."
    );
    println!();
    // `FOCAL_BENCH_PERF=FILE`: the node's samples while the pages are
    // timed (`perf record -p`), for `perf report -i FILE`.
    let mut perf = std::env::var_os("FOCAL_BENCH_PERF").map(|file| {
        let child = std::process::Command::new("perf")
            .args(["record", "-F", "499", "--call-graph", "dwarf,32768", "-p"])
            .arg(node.pid().to_string())
            .arg("-o")
            .arg(file)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("perf");
        std::thread::sleep(Duration::from_secs(1));
        child
    });

    let mut http = Http {
        addr,
        cookie: Some(cookie),
        conn: None,
    };
    let mut anonymous = Http {
        addr,
        cookie: None,
        conn: None,
    };
    let mut missing = Vec::new();
    let mut rows = Vec::new();
    let mut misses = Vec::new();
    for page in pages(ids, member) {
        if !page.name.contains(&only) {
            continue;
        }
        let client = if page.signed_in {
            &mut http
        } else {
            &mut anonymous
        };
        let probe = client.get(&page.path, false);
        if page.optional && probe.status == 404 {
            missing.push(format!("{} (`{}`)", page.name, page.path));
            continue;
        }
        let mut web_times = Vec::with_capacity(runs);
        let mut first_bytes = Vec::with_capacity(runs);
        let mut fresh_times = Vec::with_capacity(runs);
        let mut grpc_times = Vec::with_capacity(runs);
        let mut default_times = Vec::with_capacity(runs);
        let mut size = probe.bytes;
        let mut status = probe.status;
        let mut grpc_bytes = 0;
        let mut default_bytes = 0;
        for i in 0..WARMUP + runs {
            let fetch = client.get(&page.path, false);
            let fresh = client.get(&page.path, true);
            status = status.max(fetch.status).max(fresh.status);
            size = size.max(fetch.bytes);
            let (g, d) = match &page.grpc {
                Some((_, same, default)) => {
                    let start = Instant::now();
                    grpc_bytes = rt.block_on(grpc.call(same));
                    let g = start.elapsed();
                    let d = default.as_ref().map(|call| {
                        let start = Instant::now();
                        default_bytes = rt.block_on(grpc.call(call));
                        start.elapsed()
                    });
                    (Some(g), d)
                }
                None => (None, None),
            };
            if i >= WARMUP {
                web_times.push(fetch.total);
                first_bytes.push(fetch.first_byte);
                fresh_times.push(fresh.total);
                grpc_times.extend(g);
                default_times.extend(d);
            }
        }
        let p95 = ms(percentile(&web_times, 0.95));
        let median = ms(percentile(&web_times, 0.5));
        let grpc_cell = if grpc_times.is_empty() {
            "none".to_owned()
        } else {
            format!(
                "{}: {:.2} / {:.2} ({} B)",
                page.grpc.as_ref().unwrap().0,
                ms(percentile(&grpc_times, 0.5)),
                ms(percentile(&grpc_times, 0.95)),
                bytes(grpc_bytes)
            )
        };
        let ratio = if grpc_times.is_empty() {
            "—".to_owned()
        } else {
            format!("{:.1}", median / ms(percentile(&grpc_times, 0.5)))
        };
        let default_cell = if default_times.is_empty() {
            "—".to_owned()
        } else {
            format!(
                "{:.2} ({} B)",
                ms(percentile(&default_times, 0.5)),
                bytes(default_bytes)
            )
        };
        let met = p95 <= GOAL_MS && status == 200;
        if !met {
            misses.push(page.name.clone());
        }
        let row = format!(
            "| {} | {}{} | {:.2} | **{:.2}** | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} |",
            page.name,
            bytes(size),
            if status == 200 {
                String::new()
            } else {
                format!(" (status {status})")
            },
            median,
            p95,
            ms(*web_times.iter().max().unwrap()),
            ms(percentile(&first_bytes, 0.5)),
            ms(percentile(&fresh_times, 0.5)),
            grpc_cell,
            ratio,
            default_cell,
            if met { "yes" } else { "**no**" },
        );
        eprintln!("{row}");
        rows.push(row);
    }
    println!(
        "| page | HTML bytes | web median | web p95 | web max | first byte, median | fresh connection, median | gRPC, same rows: median / p95 (answer bytes) | web / gRPC (medians) | gRPC, default page: median (bytes) | p95 ≤ {GOAL_MS} ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for row in &rows {
        println!("{row}");
    }
    println!();
    if missing.is_empty() {
        println!("Every view page is served by this build.");
    } else {
        println!(
            "Not served by this build (404), not timed: {}.",
            missing.join(", ")
        );
    }
    if misses.is_empty() {
        println!("Goal (p95 ≤ {GOAL_MS} ms, status 200): met by every page timed.");
    } else {
        println!(
            "Goal (p95 ≤ {GOAL_MS} ms, status 200): NOT met by {}.",
            misses.join(", ")
        );
    }
    if let Some(perf) = &mut perf {
        let pid = nix::unistd::Pid::from_raw(perf.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
        perf.wait().unwrap();
    }
    drop(node);
    // `FOCAL_BENCH_KEEP=1`: leave the data directory for
    // `FOCAL_BENCH_REUSE=DIR` (a reused one is never removed).
    if std::env::var_os("FOCAL_BENCH_KEEP").is_some() {
        built.keep();
        println!(
            "Kept {} (FOCAL_BENCH_REUSE=that path times it again)",
            built.dir.path.display()
        );
        std::mem::forget(built);
    }
}
