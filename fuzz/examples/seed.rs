//! Writes the seed corpora of the fuzz targets into `fuzz/corpus/<target>/`:
//! real log entries, changes, hand-overs, genesis statements, records of
//! every type, focal.toml files and connection strings, all made by the
//! node's own code. Run from `fuzz/`: `cargo run --example seed`.
//!
//! Entries and changes are signed and authored by the fixed key the
//! `automerge_change` target signs with, so its seeds verify there.

use std::{fs, path::Path};

use automerge::{ActorId, Author, Automerge, transaction::CommitOptions};
use ed25519_dalek::SigningKey;
use focal_node::{
    base::config::{Config, set_network_keys},
    doc,
    handover::Handover,
    identity::NodeId,
    log::{Audience, EntryBody, EntryHash, LogEntry},
    network::Genesis,
    records::{self, RecordType, ValidationContext},
};
use serde_json::{Map, Value, json};

const KEY: [u8; 32] = [7; 32];
const SEPARATOR: &[u8] = b"\xff--focal-change--\xff";

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = root.join(target);
        fs::create_dir_all(&dir).expect("create the corpus directory");
        fs::write(dir.join(name), bytes).expect("write a seed");
    };
    let key = SigningKey::from_bytes(&KEY);
    let origin = NodeId(key.verifying_key().to_bytes());
    let next = SigningKey::from_bytes(&[8; 32]);

    // Records of every type, as a client sends them and in normal form.
    let mut normal_forms = Vec::new();
    for (i, (kind, fields)) in samples().into_iter().enumerate() {
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
        let selector = RecordType::ALL
            .iter()
            .position(|k| *k == kind)
            .expect("a record type") as u8;
        let normal = records::validate(kind, &fields, &ctx)
            .unwrap_or_else(|e| panic!("the {kind} sample is invalid: {e:?}"));
        for (form, map) in [("input", &fields), ("normal", &normal)] {
            let mut bytes = vec![selector];
            bytes.extend_from_slice(Value::Object(map.clone()).to_string().as_bytes());
            write("record_json", &format!("{i:02}-{kind}-{form}"), &bytes);
        }
        normal_forms.push((kind, owner, normal));
    }

    // Record documents as the writer makes them: a creation, then an edit.
    for (i, (kind, owner, fields)) in normal_forms.iter().enumerate() {
        let id = format!("{owner}:{kind}:aaaaaaaaaaa{i:x}");
        let mut record = Map::new();
        record.insert("id".into(), json!(id));
        record.insert("type".into(), json!(kind.as_str()));
        record.insert("owner".into(), json!(owner));
        record.insert("visibility".into(), json!("network"));
        record.insert("created".into(), json!("2026-11-30T12:00:00Z"));
        record.insert("updated".into(), json!("2026-11-30T12:00:00Z"));
        record.insert("deleted".into(), json!(false));
        record.extend(fields.clone());
        // Fixed actors, so that the seeds are the same on every run.
        // (`set_author` picks a random actor, so the actor is set after it.)
        let mut document = Automerge::new();
        document.set_author(Some(Author::from(origin.0.to_vec())));
        document.set_actor(ActorId::from([i as u8 + 1; 16]));
        let created = commit(&mut document, |tx| {
            for (k, v) in &record {
                doc::put(tx, &automerge::ROOT, k, v).expect("put a field");
            }
        });
        let mut edited = record.clone();
        edited.insert("updated".into(), json!("2026-11-30T13:00:00Z"));
        edited.insert("deleted".into(), json!(i % 3 == 0));
        let edit = commit(&mut document, |tx| {
            let mut touched = Vec::new();
            doc::reconcile(
                tx,
                &automerge::ROOT,
                &record,
                &edited,
                &[],
                "",
                &mut touched,
            )
            .expect("reconcile");
        });
        write(
            "automerge_change",
            &format!("{i:02}-{kind}-created"),
            &created,
        );
        write(
            "automerge_change",
            &format!("{i:02}-{kind}-created-edited"),
            &[&created[..], &edit[..]].join(SEPARATOR),
        );
        let first = entry(&key, 1, EntryHash::default(), &id, vec![created]);
        let second = entry(&key, 2, first.hash(), &id, vec![edit]);
        write("log_entry", &format!("{i:02}-{kind}-1"), &first.encode());
        write("log_entry", &format!("{i:02}-{kind}-2"), &second.encode());
        write(
            "codec",
            &format!("{i:02}-{kind}"),
            &program(&first.encode()),
        );
    }

    // The genesis, hand-overs, and a roster that carries one.
    let genesis = Genesis::found("WPS Focal Points Network", &key, 1_474_617_600);
    write("genesis", "genesis", &genesis.encode());
    write(
        "genesis",
        "genesis-long-name",
        &Genesis::found(&"Réseau ".repeat(36), &key, -1).encode(),
    );
    write("codec", "genesis", &program(&genesis.encode()));
    let network = genesis.network_id();
    let handover = Handover::sign(
        &key,
        &network,
        "SEC",
        NodeId(next.verifying_key().to_bytes()),
        (12, EntryHash([3; 32])),
        (0, EntryHash::default()),
    );
    let member_handover = Handover::sign(
        &next,
        &network,
        "ESP",
        origin,
        (0, EntryHash::default()),
        (4, EntryHash([9; 32])),
    );
    for (name, h) in [("anchor", &handover), ("member", &member_handover)] {
        let text = h.to_hex();
        let bytes = hex::decode(&text).expect("hex");
        write("handover_hex", name, text.as_bytes());
        write(
            "handover_hex",
            &format!("{name}-spaced"),
            format!("  {text}\n").as_bytes(),
        );
        write("handover_bytes", name, &bytes);
        write("codec", &format!("handover-{name}"), &program(&bytes));
    }
    let roster = json!({
        "members": {
            "SEC": {"status": "active", "endpoints": ["secretariat.example.org:7400"],
                    "keys": {origin.to_string(): {"status": "rotated",
                             "cutoff": {"network": 12, "network_hash": hex::encode([3; 32])}}}},
            "ESP": {"status": "suspended", "keys": {}, "endpoints": []},
        },
        "handovers": {origin.to_string(): handover.to_hex()},
    });
    let mut document = Automerge::new();
    document.set_author(Some(Author::from(origin.0.to_vec())));
    document.set_actor(ActorId::from([0xee; 16]));
    let change = commit(&mut document, |tx| {
        for (k, v) in roster.as_object().expect("an object") {
            doc::put(tx, &automerge::ROOT, k, v).expect("put");
        }
    });
    write("automerge_change", "roster", &change);
    let roster_entry = entry(&key, 1, EntryHash::default(), "roster", vec![change]);
    write("log_entry", "roster", &roster_entry.encode());

    // focal.toml: the template, the deployment examples, a joined node's.
    let template = Config::template();
    write("config", "template", template.as_bytes());
    for file in ["focal-member.toml", "focal-secretariat.toml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../deploy")
            .join(file);
        let text = fs::read_to_string(&path).expect("read a deploy example");
        write("config", file, text.as_bytes());
    }
    let joined = set_network_keys(
        &template,
        &[
            ("id", format!("{network:?}")),
            ("secretariat_key", format!("\"{origin}\"")),
            ("peers", "[\"secretariat.example.org:7400\"]".to_owned()),
        ],
    );
    Config::parse(&joined, Path::new("focal.toml")).expect("a joined focal.toml parses");
    write("config", "joined", joined.as_bytes());
    // Every setting uncommented (those whose example is `…` left out).
    let full: String = joined
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(setting)
                if setting
                    .split_once(" = ")
                    .is_some_and(|(k, v)| !k.contains(' ') && !v.contains('…')) =>
            {
                format!("{setting}\n")
            }
            _ => format!("{line}\n"),
        })
        .collect();
    Config::parse(&full, Path::new("focal.toml")).expect("every setting parses");
    write("config", "uncommented", full.as_bytes());

    // Connection strings as `focal-node token create` prints them.
    let node_key = hex::encode(origin.0);
    for (name, text) in [
        (
            "loopback",
            format!("focal://127.0.0.1:7400?key={node_key}&token=focal_1a2b3c"),
        ),
        (
            "dns",
            format!("focal://focal.ministry.example:7400/?key={node_key}"),
        ),
        (
            "ipv6",
            format!("focal://[::1]:7400?token=focal_x&key={node_key}"),
        ),
    ] {
        write("connection_string", name, text.as_bytes());
    }
    println!("seeds written under {}", root.display());
}

/// Commits what `edit` does as one change and returns its bytes.
fn commit(
    document: &mut Automerge,
    edit: impl FnOnce(&mut automerge::transaction::Transaction<'_>),
) -> Vec<u8> {
    let mut tx = document.transaction();
    edit(&mut tx);
    tx.commit_with(
        CommitOptions::default()
            .with_message("seed".to_owned())
            .with_time(1_764_504_000),
    );
    document
        .get_last_local_change()
        .expect("a change")
        .raw_bytes()
        .to_vec()
}

fn entry(
    key: &SigningKey,
    seq: u64,
    prev: EntryHash,
    doc_id: &str,
    changes: Vec<Vec<u8>>,
) -> LogEntry {
    let entry = EntryBody {
        origin: NodeId(key.verifying_key().to_bytes()),
        audience: Audience::Network,
        seq,
        prev,
        doc_id: doc_id.to_owned(),
        changes,
    }
    .sign(key);
    entry
        .verify(&focal_node::limits::Limits::default())
        .expect("a seed entry verifies");
    entry
}

/// A `codec` target input: a program of reads (u32 length then the bytes,
/// a 32-byte array, a u64 …) over `bytes`.
fn program(bytes: &[u8]) -> Vec<u8> {
    let ops = [
        0u8, 19, 6, 200, 2, 0, 1, 0, 5, 0, 2, 0, 7, 255, 4, 0, 3, 0, 8, 0,
    ];
    let mut out = vec![ops.len() as u8];
    out.extend_from_slice(&ops);
    out.extend_from_slice(bytes);
    out
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("samples are objects"),
    }
}

/// One or two valid records of every type (all invented).
fn samples() -> Vec<(RecordType, Map<String, Value>)> {
    let meeting = "SEC:meeting:abcdefghijk2";
    let decision = "SEC:decision:abcdefghijk3";
    vec![
        (RecordType::Member, json!({"kind": "state",
            "name": {"es": {"text": "Reino de Ejemplo", "original": true}, "en": "Kingdom of Example"},
            "region": "western-europe-others", "joined": "2013-09-23", "founding_member": true})),
        (RecordType::FocalPoint, json!({"person_name": "Ana Ejemplo (invented)",
            "institution": "Ministry of Foreign Affairs (example)", "posting": "capital",
            "designation": "primary", "languages": ["es", "en"], "appointed": "2022-03-01",
            "contact": {"email": "a.ejemplo@example.org", "phone": "+34 600 000 000"}})),
        (RecordType::NationalActionPlan, json!({"kind": "nap",
            "title": "Third Example National Action Plan", "status": "in-force", "generation": 3,
            "period": {"start": "2023-01-01", "end": "2027-12-31"},
            "pillars": ["participation", "prevention"],
            "themes": ["climate-change", "participation-peace-processes"],
            "budget": {"status": "allocated", "amount": 1_500_000, "currency": "EUR"},
            "monitoring": {"described": true, "framework": "Annual report to parliament.",
                           "indicators": ["Share of women among mediators"]},
            "civil_society": {"drafting": true, "implementation": true, "monitoring": false}})),
        (RecordType::Practice, json!({"kind": "best-practice", "title": "Women mediators roster",
            "summary": "A roster of trained women mediators.",
            "themes": ["participation-peace-processes", "capacity-building"],
            "related_nap": "ESP:nap:abcdefghijk2"})),
        (RecordType::FundingCommitment, json!({"title": "Support to the NAP secretariat",
            "donor": "ESP", "recipient": "NAM", "channel": "bilateral", "kind": "technical",
            "amount": 250_000.5, "currency": "EUR", "themes": ["nap-design-monitoring-financing"],
            "progress": [{"year": 2024, "progress": "met"}]})),
        (RecordType::Partnership, json!({"organization_name": "Invented Women's Network",
            "organization_type": "womens-organization", "scope": "national",
            "roles": ["drafting", "monitoring"]})),
        (RecordType::Meeting, json!({"kind": "capital-annual",
            "title": "Annual capital-level meeting", "host": "NAM", "chair": "NAM",
            "dates": {"start": "2026-04-20", "end": "2026-04-21"}, "city": "Windhoek",
            "theme": "Financing National Action Plans",
            "agenda": ["Opening", {"title": "Round table"}],
            "working_groups": [{"name": "Financing", "lead": "ESP"}],
            "outcomes": [{"kind": "joint-communique", "un_symbol": "S/2024/123",
                          "links": {"en": "https://example.org/communique-en.pdf"}}]})),
        (RecordType::Registration, json!({"meeting": meeting,
            "delegates": ["Ana Ejemplo", "Luis Ejemplo"], "minister_speaking": true})),
        (RecordType::Statement, json!({"meeting": meeting,
            "speaker": "Secretary of State, A. Example", "language": "es",
            "text": {"es": {"text": "Señora presidenta…", "original": true}, "en": "Madam Chair…"},
            "link": "https://example.org/statement"})),
        (RecordType::Decision, json!({"meeting": meeting, "kind": "commitment",
            "responsible": "all-members", "due": "2027-04-01",
            "text": "Members report on the financing of their NAPs at the next meeting."})),
        (RecordType::FollowUp, json!({"decision": decision, "year": 2026, "status": "met",
            "text": "The NAP financing report was presented to parliament.",
            "links": ["https://example.org/report-2024", "https://example.org/annex"]})),
    ]
    .into_iter()
    .map(|(kind, value)| (kind, object(value)))
    .collect()
}
