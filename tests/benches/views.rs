//! The network-wide views over a synthetic network: 200 members with 1,000
//! records each, as the secretariat's node holds them.
//!
//! `cargo bench -p focal-tests --bench views` fills a fresh node database
//! (made by the node's own migrations) through the node library's
//! projection path: every synthetic record is validated against its schema
//! (`records::validate`, so the JSON is the stored normal form) and written
//! with `writer::project`, the function the writer uses, in one transaction.
//! `log_entries` gets 1,000 entries per member (dummy payloads: the views
//! read only the heads' positions and times). No Automerge documents are
//! made: views never load them.
//!
//! Each view then runs through `Views` (the code behind the gRPC service,
//! on the node's read-only connection pool), `RUNS` times after a warm-up;
//! the median is reported beside a baseline from the same run on the same
//! pool: a query that reads the JSON of as many rows of the view's record
//! type as the view shows (`SELECT json FROM records WHERE type = ? LIMIT
//! n`, every text read). The view does that and more (filters, counts or
//! totals over every matching row, joins, sorting), so the ratio says what
//! the more costs. The goals (every view ≤ 10 ms, directory and NAP
//! tracker ≤ 3 ms) are printed beside each row.
//!
//! `FOCAL_BENCH_MEMBERS` and `FOCAL_BENCH_RECORDS` scale the network.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use focal_node::{
    engine::writer,
    identity::NodeId,
    member::MemberCode,
    records::{self, RecordType, ValidationContext},
    roster::{Roster, RosterKey, RosterMember},
    store::query::Reader,
    store::{Store, StoreOptions},
    views::{ViewInput, Views},
};
use serde_json::{Map, Value, json};

const RUNS: usize = 15;
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

struct Filler<'a> {
    conn: &'a rusqlite::Connection,
    n: usize,
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
        id
    }
}

fn fill(
    store: &mut Store,
    members: usize,
    per_member: usize,
    keys: &BTreeMap<String, NodeId>,
) -> String {
    let tx = store.conn_mut().transaction().unwrap();
    let mut f = Filler { conn: &tx, n: 0 };
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
    // The heads of each member's log: 1,000 entries each.
    {
        let mut stmt = tx
            .prepare(
                "INSERT INTO log_entries (origin, audience, seq, hash, doc_id, entry, stored_at)
                 VALUES (?1, 0, ?2, ?3, 'x', ?4, ?5)",
            )
            .unwrap();
        let entry = vec![0u8; 200];
        let mut hash = 0u64;
        for key in keys.values() {
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
    tx.commit().unwrap();
    meetings[0].clone()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn time<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let _ = f();
    let mut times = Vec::with_capacity(RUNS);
    let mut last = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        last = Some(f());
        times.push(start.elapsed());
    }
    (median(times), last.unwrap())
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let members = env_usize("FOCAL_BENCH_MEMBERS", 200);
    let per_member = env_usize("FOCAL_BENCH_RECORDS", 1_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("focal.db");
    let mut store = Store::open(
        &path,
        &StoreOptions {
            busy_timeout_ms: 5_000,
            create: true,
        },
    )
    .unwrap();

    let mut roster = Roster::default();
    let mut keys = BTreeMap::new();
    for i in 0..=members {
        let code = if i == members {
            "SEC".to_owned()
        } else {
            member_code(i)
        };
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
        let key = NodeId(key);
        roster.members.insert(
            code.clone(),
            RosterMember {
                status: focal_node::roster::MemberStatus::Active,
                keys: BTreeMap::from([(
                    key.to_string(),
                    RosterKey {
                        status: focal_node::roster::KeyStatus::Active,
                        last: None,
                        successor: None,
                    },
                )]),
                endpoints: vec![],
            },
        );
        keys.insert(code, key);
    }

    let started = Instant::now();
    let meeting = fill(&mut store, members, per_member, &keys);
    let fill_time = started.elapsed();
    store.close().unwrap();
    let reader = Reader::new(path.clone(), 5_000);
    let count: i64 = reader
        .with(|c| {
            Ok(
                c.query_row("SELECT count(*) FROM records", [], |r| r.get(0))
                    .unwrap(),
            )
        })
        .unwrap();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "Synthetic network: {members} members × {per_member} records + the secretariat's {} \
         = {count} records, {} entries; filled in {:.1} s ({:.0} MB)",
        MEETINGS * (1 + DECISIONS_PER_MEETING),
        members * per_member,
        fill_time.as_secs_f64(),
        size as f64 / 1e6
    );

    // As the node serves them: the member table and the logs' heads kept
    // between answers while the writer's generation holds still (it does:
    // nothing writes here). `uncached` reads them again for every answer,
    // as the first answer after a commit does.
    let uncached = Views::new(
        reader.clone(),
        Arc::new(RwLock::new(roster)),
        MemberCode::from_str_or_panic("SEC"),
        keys["SEC"],
    );
    let views = uncached.clone().cached(Default::default());
    let input = |f: &dyn Fn(&mut ViewInput)| {
        let mut i = ViewInput {
            as_of: "2026-06-30".into(),
            ..Default::default()
        };
        f(&mut i);
        i
    };
    let (baseline, _) = time(|| {
        reader
            .with(|c| {
                Ok(
                    c.query_row("SELECT count(*) FROM records", [], |r| r.get::<_, i64>(0))
                        .unwrap(),
                )
            })
            .unwrap()
    });
    println!("baseline: SELECT count(*) FROM records: {}", ms(baseline));
    // What reading the rows of the two large views costs at least: one
    // json_extract per row of the type.
    for kind in ["practice", "funding"] {
        let sql = format!(
            "SELECT count(json_extract(json, '$.themes')) FROM records WHERE type = '{kind}'"
        );
        let (d, _) = time(|| {
            reader
                .with(|c| Ok(c.query_row(&sql, [], |r| r.get::<_, i64>(0)).unwrap()))
                .unwrap()
        });
        println!("floor: {sql}: {}", ms(d));
    }
    // What migration 10 does once at start-up over records already stored,
    // and `verify` again: every summary summed from the records (once each).
    let conn =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut recount = std::time::Duration::ZERO;
    for sql in [
        "SELECT count(*) FROM (SELECT among, owner, visibility, theme, count(*)
         FROM practice_contributions GROUP BY among, owner, visibility, theme)",
        "SELECT count(*) FROM (SELECT among, dim, value, currency, visibility, owner, count(*),
         sum(milli) FROM funding_contributions
         GROUP BY among, dim, value, currency, visibility, owner)",
        "SELECT count(*) FROM follow_up_source",
        "SELECT count(*) FROM practice_theme_source",
    ] {
        let start = std::time::Instant::now();
        let rows: i64 = conn.query_row(sql, [], |r| r.get(0)).unwrap();
        recount += start.elapsed();
        println!(
            "summary from the records: {} rows in {}: {}",
            rows,
            ms(start.elapsed()),
            sql.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    println!(
        "every summary from the records (migration 10's fill at start-up, `verify`'s recount): {}",
        ms(recount)
    );
    println!();
    println!(
        "| view | median of {RUNS} | rows | baseline: the JSON of as many rows of its type | ratio | goal |"
    );
    println!("|---|---|---|---|---|---|");
    // The baseline of a view showing `shown` rows of `kind`.
    let json_of = |kind: &str, shown: usize| {
        let sql = format!("SELECT json FROM records WHERE type = '{kind}' LIMIT {shown}");
        time(|| {
            reader
                .with(|c| {
                    let mut statement = c.prepare(&sql).unwrap();
                    let mut rows = statement.query([]).unwrap();
                    let mut bytes = 0usize;
                    while let Some(row) = rows.next().unwrap() {
                        bytes += row.get_ref(0).unwrap().as_str().unwrap().len();
                    }
                    Ok(bytes)
                })
                .unwrap()
        })
        .0
    };
    let report = |name: &str, d: Duration, rows: String, kind: &str, shown: usize| {
        let base = json_of(kind, shown.max(1));
        let goal = if name.starts_with("directory") || name.starts_with("NAP") {
            3.0
        } else {
            10.0
        };
        println!(
            "| {name} | {} | {rows} | {shown} × {kind}: {} | {:.1} | ≤ {goal} ms: {} |",
            ms(d),
            ms(base),
            d.as_secs_f64() / base.as_secs_f64(),
            if d.as_secs_f64() * 1e3 <= goal {
                "met"
            } else {
                "not met"
            }
        );
    };
    let all = input(&|_| {});
    let (d, v) = time(|| views.directory(&all).unwrap());
    report(
        "directory",
        d,
        format!("{} focal points", v.total),
        "focal-point",
        v.entries.len(),
    );
    let (d, v) = time(|| uncached.directory(&all).unwrap());
    report(
        "directory, first answer after a commit (nothing kept)",
        d,
        format!("{} focal points", v.total),
        "focal-point",
        v.entries.len(),
    );
    let one = input(&|i| i.member = member_code(17));
    let (d, v) = time(|| views.directory(&one).unwrap());
    report(
        "directory --member",
        d,
        format!("{} focal points", v.total),
        "focal-point",
        v.entries.len(),
    );
    let (d, v) = time(|| views.nap_tracker(&all).unwrap());
    report(
        "NAP tracker",
        d,
        format!(
            "{} members, {} in force",
            v.members.len(),
            v.summary.in_force
        ),
        "nap",
        v.members.len(),
    );
    let (d, v) = time(|| uncached.nap_tracker(&all).unwrap());
    report(
        "NAP tracker, first answer after a commit (nothing kept)",
        d,
        format!(
            "{} members, {} in force",
            v.members.len(),
            v.summary.in_force
        ),
        "nap",
        v.members.len(),
    );
    let africa = input(&|i| i.region = "africa".into());
    let (d, v) = time(|| views.nap_tracker(&africa).unwrap());
    report(
        "NAP tracker --region africa",
        d,
        format!("{} members", v.members.len()),
        "nap",
        v.members.len(),
    );
    let (d, v) = time(|| views.practices(&all).unwrap());
    report(
        "practices (first 1,000 rows; counts over all)",
        d,
        format!("{} practices", v.total),
        "practice",
        v.practices.len(),
    );
    let theme = input(&|i| i.theme = "climate-change".into());
    let (d, v) = time(|| views.practices(&theme).unwrap());
    report(
        "practices --theme",
        d,
        format!("{} practices", v.total),
        "practice",
        v.practices.len(),
    );
    let (d, v) = time(|| views.funding(&all).unwrap());
    report(
        "funding (first 1,000 rows; totals over all)",
        d,
        format!("{} commitments", v.total),
        "funding",
        v.commitments.len(),
    );
    let (d, v) = time(|| views.funding(&one).unwrap());
    report(
        "funding --member",
        d,
        format!("{} commitments", v.total),
        "funding",
        v.commitments.len(),
    );
    let (d, v) = time(|| views.follow_up(&all).unwrap());
    report(
        "follow-up",
        d,
        format!("{} decisions, {} overdue", v.total, v.summary.overdue),
        "decision",
        v.decisions.len(),
    );
    let (d, v) = time(|| views.meeting(&meeting, &all).unwrap());
    report(
        "meeting",
        d,
        format!(
            "{} registrations, {} statements",
            v.summary.registrations, v.summary.statements
        ),
        "registration",
        v.registrations.len() + v.statements.len(),
    );
}

trait FromStrOrPanic {
    fn from_str_or_panic(code: &str) -> Self;
}

impl FromStrOrPanic for MemberCode {
    fn from_str_or_panic(code: &str) -> Self {
        code.parse().unwrap()
    }
}
