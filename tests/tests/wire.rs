//! The peer protocol across releases: today's node against the recorded
//! messages of the first protocol (`tests/fixtures/wire-v1/`, made by the
//! release that spoke only it, before the protocol changed), in both roles.
//!
//! - As the server of an old client: the recorded requests, sent with the
//!   old client's key to a node started on the recorded server's data
//!   directory, get the recorded answers, byte for byte.
//! - As the client of an old server: a node started on the old client's
//!   data directory, whose only peer answers from the recording and knows
//!   no method the old release lacked, asks exactly the recorded requests
//!   (nothing the old server was never asked), catches up on every entry,
//!   keeps running anti-entropy rounds, and reports no error.
//!
//! The ignored test `record` made the fixture (see its comment); it runs
//! again only to record a new protocol version's fixture.

use std::{collections::HashSet, fs, net::SocketAddr, path::Path, time::Duration};

use focal_node::{identity::NodeKey, log::LogEntry};
use focal_proto::v1 as pb;
use focal_tests::{
    NodeDir, TestNetwork, add_practice, entry_count, peer_status_of, records_on, wait_until,
    wire::{self, Exchange, OldPeer, Recorder},
};
use prost::Message;
use rusqlite::{Connection, OpenFlags};

/// The protocol version whose fixture these tests replay.
const OLD: u32 = 1;

/// The node key in a data directory, read as text: a fixture's file has
/// the mode git gives it, which the node's own loader refuses.
fn key_of(dir: &Path) -> NodeKey {
    let text = fs::read_to_string(dir.join("node.key")).expect("the node key");
    NodeKey::from_pem(&text).expect("a node key")
}

/// A copy of the fixture's data directory `name`, listening on a free port.
fn copy_of(name: &str, code: &str, into: &Path) -> NodeDir {
    let from = wire::fixture_dir(OLD).join(name);
    let to = into.join(name);
    wire::copy_data_dir(&from, &to);
    let dir = NodeDir::existing(to, code, key_of(&from).id().0);
    dir.set_listen("127.0.0.1:0".parse().unwrap());
    dir
}

/// Every entry the recorded `Pull` answers carried, by hash.
fn recorded_entries(exchanges: &[Exchange]) -> HashSet<Vec<u8>> {
    exchanges
        .iter()
        .filter(|e| e.rpc == "Pull")
        .flat_map(|e| &e.responses)
        .flat_map(|bytes| pb::PullResponse::decode(bytes.as_slice()).unwrap().entries)
        .map(|entry| LogEntry::hash_of(&entry).0.to_vec())
        .collect()
}

/// The hashes of the entries a node's database holds.
fn held_entries(dir: &NodeDir) -> HashSet<Vec<u8>> {
    let db =
        Connection::open_with_flags(dir.path.join("focal.db"), OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut statement = db.prepare("SELECT hash FROM log_entries").unwrap();
    statement
        .query_map([], |row| row.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// What today's node answers to one recorded request: the encoded
/// message(s), as many as the recording holds for a followed stream (it
/// stays open after its catch-up), all of them otherwise.
async fn answer(
    client: &mut pb::peer_service_client::PeerServiceClient<tonic::transport::Channel>,
    exchange: &Exchange,
) -> Result<Vec<Vec<u8>>, tonic::Status> {
    let q = exchange.request.as_slice();
    let one = |m: &dyn Fn() -> Vec<u8>| vec![m()];
    Ok(match exchange.rpc.as_str() {
        "Pull" => {
            let request = pb::PullRequest::decode(q).unwrap();
            let follow = request.follow;
            let mut stream = client.pull(request).await?.into_inner();
            let mut got = Vec::new();
            while let Some(message) =
                tokio::time::timeout(Duration::from_secs(30), stream.message())
                    .await
                    .expect("the node answers within 30 s")?
            {
                got.push(message.encode_to_vec());
                if follow && got.len() == exchange.responses.len() {
                    break;
                }
            }
            got
        }
        "Heads" => {
            let a = client
                .heads(pb::HeadsRequest::decode(q).unwrap())
                .await?
                .into_inner();
            one(&|| a.encode_to_vec())
        }
        "Forks" => {
            let a = client
                .forks(pb::ForksRequest::decode(q).unwrap())
                .await?
                .into_inner();
            one(&|| a.encode_to_vec())
        }
        "Hashes" => {
            let a = client
                .hashes(pb::HashesRequest::decode(q).unwrap())
                .await?
                .into_inner();
            one(&|| a.encode_to_vec())
        }
        "Entry" => {
            let a = client
                .entry(pb::EntryRequest::decode(q).unwrap())
                .await?
                .into_inner();
            one(&|| a.encode_to_vec())
        }
        "Handovers" => {
            let a = client
                .handovers(pb::HandoversRequest::decode(q).unwrap())
                .await?
                .into_inner();
            one(&|| a.encode_to_vec())
        }
        other => panic!("the fixture holds an unknown method {other}"),
    })
}

#[test]
fn the_fixture_holds_a_whole_session_of_the_old_protocol() {
    let exchanges = wire::load(&wire::fixture_dir(OLD));
    for rpc in ["Pull", "Heads", "Forks", "Hashes", "Entry", "Handovers"] {
        assert!(
            exchanges.iter().any(|e| e.rpc == rpc),
            "the recording has no {rpc} call"
        );
    }
    let rounds = exchanges
        .iter()
        .filter(|e| {
            e.rpc == "Pull"
                && !pb::PullRequest::decode(e.request.as_slice())
                    .unwrap()
                    .follow
        })
        .count();
    assert!(
        rounds >= 3,
        "the recording holds {rounds} anti-entropy rounds"
    );
    assert!(recorded_entries(&exchanges).len() >= 5);
}

#[test]
fn todays_node_serves_an_old_client_the_old_way() {
    let tmp = tempfile::tempdir().unwrap();
    let sec = copy_of("server", "SEC", tmp.path());
    let client_key = key_of(&wire::fixture_dir(OLD).join("client"));
    let server_key = key_of(&sec.path);
    let node = sec.start();
    let exchanges = wire::load(&wire::fixture_dir(OLD));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut client = wire::peer_client(&client_key, server_key.id(), node.addr).await;
        for (i, exchange) in exchanges.iter().enumerate() {
            let got = answer(&mut client, exchange).await;
            let canonical = |list: &[Vec<u8>]| -> Vec<Vec<u8>> {
                list.iter()
                    .map(|m| wire::canonical(&exchange.rpc, false, m))
                    .collect()
            };
            match (&exchange.error, got) {
                (None, Ok(got)) => assert!(
                    canonical(&got) == canonical(&exchange.responses),
                    "call {i} ({}): today's node answered differently from the old one.\n\
                     recorded: {:?}\ntoday:    {:?}",
                    exchange.rpc,
                    exchange
                        .responses
                        .iter()
                        .map(hex::encode)
                        .collect::<Vec<_>>(),
                    got.iter().map(hex::encode).collect::<Vec<_>>(),
                ),
                (Some((code, _)), Err(status)) => assert_eq!(
                    status.code() as i32,
                    *code,
                    "call {i} ({}) failed otherwise: {status}",
                    exchange.rpc
                ),
                (expected, got) => panic!(
                    "call {i} ({}): recorded {expected:?}, today {:?}",
                    exchange.rpc,
                    got.map(|m| m.len())
                ),
            }
        }
    });
    drop(node);
}

#[test]
fn todays_node_follows_an_old_server_the_old_way() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = wire::fixture_dir(OLD);
    let fra = copy_of("client", "FRA", tmp.path());
    let exchanges = wire::load(&fixture);
    let old = OldPeer::start(
        key_of(&fixture.join("server")),
        &exchanges,
        key_of(&fra.path).id(),
        "FRA",
    );
    fra.set_network(&[old.addr], false);
    let node = fra.start();
    let expected = recorded_entries(&exchanges);
    wait_until("the node holds every recorded entry", || {
        held_entries(&fra).is_superset(&expected)
    });
    // Anti-entropy rounds, the old way, after the catch-up.
    let rounds = |old: &OldPeer| {
        old.calls_of("Pull")
            .iter()
            .filter(|q| !pb::PullRequest::decode(q.as_slice()).unwrap().follow)
            .count()
    };
    wait_until("three anti-entropy rounds", || rounds(&old) >= 3);
    assert!(
        !old.calls_of("Hello").is_empty(),
        "today's node asks which version its peer speaks"
    );
    let unrecorded = old.unrecorded.lock().unwrap().clone();
    assert!(
        unrecorded.is_empty(),
        "today's node asked the old one what it was never asked: {}",
        unrecorded
            .iter()
            .map(|(rpc, q)| format!("{rpc} {}", hex::encode(q)))
            .collect::<Vec<_>>()
            .join("; ")
    );
    assert_eq!(
        held_entries(&fra),
        expected,
        "the node holds exactly the recorded entries"
    );
    // The status file is rewritten every second.
    let sec = hex::encode(key_of(&fixture.join("server")).id().0);
    let status = || peer_status_of(&fra.path, &sec).unwrap_or_default();
    wait_until("the status file reports the old peer connected", || {
        status()["connected"] == true
    });
    assert!(status()["last_error"].is_null(), "{}", status());
    drop(node);
}

/// A member's client asking the secretariat: a `Hello` that offers too
/// much is refused and says why, one that offers no version this node
/// speaks is answered with version 1, a `Heads` whose digest is not one
/// (a megabyte) is answered with every head, and a compressed request that
/// expands past the message cap is refused.
#[test]
fn hostile_hellos_and_digests_are_answered_within_limits() {
    let net = TestNetwork::start(&["ESP"], |_, _| {});
    let esp = key_of(&net.members[0].dir.path);
    let sec = key_of(&net.secretariat.dir.path);
    let network_id = net.secretariat.dir.network_id();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut client = wire::peer_client(&esp, sec.id(), net.secretariat.running().addr).await;
        let refused = client
            .hello(pb::HelloRequest {
                network_id: network_id.clone(),
                versions: (1..=65).collect(),
                features: Vec::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::InvalidArgument);
        assert!(
            refused.message().contains("at most 64 versions"),
            "{refused}"
        );
        let answer = client
            .hello(pb::HelloRequest {
                network_id: network_id.clone(),
                versions: vec![7, 99],
                features: vec!["teleport".into()],
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!((answer.version, answer.features.len()), (1, 0));
        let answer = client
            .heads(pb::HeadsRequest {
                network_id: network_id.clone(),
                known: vec![0xab; 1 << 20],
                version: 2,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(!answer.unchanged && !answer.heads.is_empty() && answer.digest.len() == 32);
        let wrong = client
            .hello(pb::HelloRequest {
                network_id: "another network".into(),
                versions: vec![2],
                features: Vec::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(wrong.code(), tonic::Code::PermissionDenied);
        // A compressed request that expands past the node's message cap
        // (16 MiB of zeros, a few kB on the wire) is refused while it is
        // decompressed, and the node goes on answering.
        let mut bomber = client
            .clone()
            .send_compressed(tonic::codec::CompressionEncoding::Zstd);
        let refused = bomber
            .heads(pb::HeadsRequest {
                network_id: network_id.clone(),
                known: vec![0; 16 << 20],
                version: 2,
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused}");
        assert!(refused.message().contains("decompressing"), "{refused}");
        let answer = client
            .heads(pb::HeadsRequest {
                network_id,
                known: Vec::new(),
                version: 2,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(!answer.heads.is_empty());
    });
}

/// The records of ESP in the recorded sessions.
const TITLES: [&str; 3] = [
    "Gender advisers in every peacekeeping contingent",
    "A helpline for survivors run with civil society",
    "Quotas for women in the border police",
];

/// A secretariat and ESP with a few records, then FRA joins and reaches the
/// secretariat only through a [`Recorder`] (its data directory copied to
/// `save_client` first, if given). The secretariat receives nothing new
/// while FRA runs.
fn session_through_a_recorder(save_client: Option<&Path>) -> (TestNetwork, Recorder) {
    let mut net = TestNetwork::start(&["ESP"], |_, _| {});
    let esp = net.member("ESP").conn();
    for title in TITLES {
        add_practice(&esp, "best-practice", title, "peacekeeping");
    }
    let sec_conn = net.secretariat.conn();
    wait_until("the secretariat holds ESP's records", || {
        records_on(&sec_conn).len() >= TITLES.len()
    });
    let sec_path = net.secretariat.dir.path.clone();
    let sec_addr: SocketAddr = net.secretariat.running().addr;
    let mut recorder = None;
    net.join("FRA", |dir| {
        let rec = Recorder::start(key_of(&sec_path), sec_addr, key_of(&dir.path), "FRA");
        dir.set_network(&[rec.addr], false);
        if let Some(to) = save_client {
            wire::copy_data_dir(&dir.path, to);
        }
        recorder = Some(rec);
    });
    (net, recorder.unwrap())
}

#[test]
fn nodes_of_today_speak_version_2_and_a_round_in_sync_is_one_small_call() {
    let (mut net, recorder) = session_through_a_recorder(None);
    let fra = net.member("FRA").conn();
    wait_until("FRA holds ESP's records", || {
        records_on(&fra).len() >= TITLES.len()
    });
    let heads_calls = |r: &Recorder| {
        r.exchanges()
            .into_iter()
            .filter(|e| e.rpc == "Heads")
            .map(|e| {
                (
                    pb::HeadsRequest::decode(e.request.as_slice()).unwrap(),
                    e.responses
                        .first()
                        .map(|a| pb::HeadsResponse::decode(a.as_slice()).unwrap()),
                )
            })
            .collect::<Vec<_>>()
    };
    wait_until("five rounds answered \"unchanged\"", || {
        heads_calls(&recorder)
            .iter()
            .filter(|(_, a)| a.as_ref().is_some_and(|a| a.unchanged))
            .count()
            >= 5
    });
    let exchanges = recorder.exchanges();
    let hello = exchanges
        .iter()
        .find(|e| e.rpc == "Hello")
        .expect("FRA says hello");
    let answer = pb::HelloResponse::decode(hello.responses[0].as_slice()).unwrap();
    assert_eq!(answer.version, 2);
    // From the first "unchanged" answer on (the nodes are in sync and the
    // secretariat stores nothing new), each round is that one call: no
    // anti-entropy `Pull`, no `Forks`, no second `Heads`.
    let first = exchanges
        .iter()
        .position(|e| {
            e.rpc == "Heads"
                && pb::HeadsResponse::decode(e.responses[0].as_slice())
                    .unwrap()
                    .unchanged
        })
        .unwrap();
    let after: Vec<&str> = exchanges[first..].iter().map(|e| e.rpc.as_str()).collect();
    assert!(
        after.iter().all(|rpc| *rpc == "Heads"),
        "calls in sync: {after:?}"
    );
    for e in &exchanges[first..] {
        let q = pb::HeadsRequest::decode(e.request.as_slice()).unwrap();
        let a = pb::HeadsResponse::decode(e.responses[0].as_slice()).unwrap();
        assert_eq!(q.version, 2);
        assert!(a.unchanged && a.heads.is_empty() && a.digest == q.known);
        assert!(
            e.request.len() + e.responses[0].len() < 200,
            "an in-sync round's messages are {} + {} bytes",
            e.request.len(),
            e.responses[0].len()
        );
    }
    // A new record on the secretariat reaches FRA (live), and changes the
    // digest: the next round gets the heads again.
    let seen = recorder.exchanges().len();
    let id = add_practice(
        &net.secretariat.conn(),
        "best-practice",
        "A new practice",
        "peacekeeping",
    );
    wait_until("FRA holds the new record", || {
        records_on(&fra).iter().any(|r| r["id"] == id.as_str())
    });
    wait_until("a round gets the changed heads", || {
        recorder.exchanges()[seen..].iter().any(|e| {
            e.rpc == "Heads"
                && e.responses.first().is_some_and(|a| {
                    let a = pb::HeadsResponse::decode(a.as_slice()).unwrap();
                    !a.unchanged && !a.heads.is_empty()
                })
        })
    });
}

/// Makes `tests/fixtures/wire-vN/` (N = the protocol this code speaks) from
/// real processes: a secretariat and ESP with a few records, then FRA joins
/// and reaches the secretariat only through a [`Recorder`], which writes
/// down every call while FRA catches up and runs anti-entropy rounds. The
/// secretariat receives nothing new meanwhile, so the recorded answers
/// follow from its data directory as saved. Run
/// `FOCAL_RECORD_WIRE=N cargo test -p focal-tests --test wire -- --ignored record`
/// with N the new version, then commit the folder.
#[test]
#[ignore = "makes a fixture; see its comment"]
fn record() {
    let version: u32 = std::env::var("FOCAL_RECORD_WIRE")
        .expect("FOCAL_RECORD_WIRE=N names the protocol version to record")
        .parse()
        .expect("a version number");
    let out = wire::fixture_dir(version);
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(&out).unwrap();
    let (mut net, recorder) = session_through_a_recorder(Some(&out.join("client")));
    let sec_path = net.secretariat.dir.path.clone();
    let before = entry_count(&net.secretariat.dir);
    let fra = net.member("FRA").conn();
    wait_until("FRA holds ESP's records", || {
        records_on(&fra).len() >= TITLES.len()
    });
    let rounds = |r: &Recorder| {
        r.exchanges()
            .iter()
            .filter(|e| {
                e.rpc == "Pull"
                    && !pb::PullRequest::decode(e.request.as_slice())
                        .unwrap()
                        .follow
            })
            .count()
    };
    wait_until("four anti-entropy rounds", || rounds(&recorder) >= 4);
    // The calls a healthy session does not make (they find forks and a
    // moved secretariat), asked here with FRA's key through the recorder.
    let fra_key = key_of(&net.member("FRA").dir.path);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut client = wire::peer_client(&fra_key, key_of(&sec_path).id(), recorder.addr).await;
        let network_id = recorder
            .exchanges()
            .iter()
            .find(|e| e.rpc == "Heads")
            .map(|e| {
                pb::HeadsRequest::decode(e.request.as_slice())
                    .unwrap()
                    .network_id
            })
            .unwrap();
        let heads = client
            .heads(pb::HeadsRequest {
                network_id: network_id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .heads;
        let head = heads.iter().max_by_key(|h| h.seq).unwrap();
        let at = |seq| pb::Position {
            origin: head.origin.clone(),
            audience: head.audience,
            seq,
        };
        client
            .hashes(pb::HashesRequest {
                network_id: network_id.clone(),
                positions: vec![at(1), at(head.seq), at(head.seq + 5)],
            })
            .await
            .unwrap();
        let first = client
            .entry(pb::EntryRequest {
                network_id: network_id.clone(),
                position: Some(at(1)),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .entry;
        client
            .entry(pb::EntryRequest {
                network_id: network_id.clone(),
                position: Some(at(2)),
                after: LogEntry::hash_of(&first).0.to_vec(),
                ..Default::default()
            })
            .await
            .unwrap();
        client
            .handovers(pb::HandoversRequest { network_id })
            .await
            .unwrap();
    });
    net.member("FRA").stop();
    let exchanges = recorder.exchanges();
    net.secretariat.stop();
    assert_eq!(
        entry_count(&net.secretariat.dir),
        before,
        "the secretariat stored nothing while it was recorded"
    );
    wire::copy_data_dir(&net.secretariat.dir.path, &out.join("server"));
    wire::save(&out, &exchanges);
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .unwrap();
    fs::write(
        out.join("MADE-BY"),
        format!(
            "focal at {} (protocol {version}), by `cargo test -p focal-tests --test wire -- --ignored record`\n",
            String::from_utf8_lossy(&commit.stdout).trim()
        ),
    )
    .unwrap();
}
