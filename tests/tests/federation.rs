//! Replication between real `focal-node` processes on loopback over mutual
//! TLS: convergence, relay through the secretariat, catch-up after a
//! restart, a cut link, and peers the roster does not know.

use std::collections::BTreeMap;

use focal_tests::{
    NodeDir, Proxy, TestNetwork, assert_fails_with, focal_at, focal_node, focal_ok, records_on,
    wait_until,
};
use serde_json::Value;

fn add_practice(conn: &str, title: &str) -> String {
    focal_tests::add_practice(conn, "best-practice", title, "peacekeeping")
}

/// id → (heads, updated) of every record a node holds.
fn heads_on(conn: &str) -> BTreeMap<String, Value> {
    records_on(conn)
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r))
        .collect()
}

fn heads_of(conn: &str, id: &str) -> Vec<String> {
    // The heads come from the API's Record (the CLI prints the JSON only).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = focal_tests::client_for(conn).await;
        client
            .records()
            .get(focal_proto::v1::GetRequest { id: id.to_owned() })
            .await
            .unwrap()
            .into_inner()
            .heads
    })
}

#[test]
fn four_nodes_converge_to_identical_documents() {
    let net = TestNetwork::start(&["ESP", "NAM", "JPN"], |_, _| {});
    let mut ids = vec![focal_ok(
        &net.secretariat.conn(),
        &[
            "--json",
            "meeting",
            "add",
            "--kind",
            "capital-annual",
            "--title",
            "Annual meeting",
            "--start",
            "2026-04-20",
            "--end",
            "2026-04-21",
            "--city",
            "Windhoek",
        ],
    )];
    ids[0] = serde_json::from_str::<Value>(ids[0].trim()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for member in &net.members {
        ids.push(add_practice(
            &member.conn(),
            &format!("Practice of {}", member.dir.member),
        ));
    }
    // An edit after creation, so documents have more than one change.
    focal_ok(
        &net.members[0].conn(),
        &["edit", &ids[1], "--summary", "Edited in Madrid"],
    );

    for node in net.all() {
        let conn = node.conn();
        wait_until(&format!("{} to hold every record", node.dir.member), || {
            let held = heads_on(&conn);
            ids.iter().all(|id| held.contains_key(id))
                && held[&ids[1]]["summary"]["en"]["text"] == "Edited in Madrid"
        });
    }
    for id in &ids {
        let reference = heads_of(&net.secretariat.conn(), id);
        for node in net.all() {
            assert_eq!(
                heads_of(&node.conn(), id),
                reference,
                "{id} on {}",
                node.dir.member
            );
        }
    }
    // Every node can verify what it received.
    for node in net.all() {
        let out = node.dir.verify();
        assert!(
            out.status.success(),
            "{}: {}",
            node.dir.member,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_member_connected_only_to_the_secretariat_gets_everything_relayed() {
    let net = TestNetwork::start(&["ESP", "NAM"], |code, dir| {
        if code == "NAM" {
            dir.set_config("# mesh = true", "mesh = false");
        }
    });
    let id = add_practice(&net.members[0].conn(), "Relayed practice");
    let nam = &net.members[1];
    let conn = nam.conn();
    wait_until(
        "NAM to receive ESP's record through the secretariat",
        || heads_on(&conn).contains_key(&id),
    );
    // The status file is rewritten every second: wait for one that lists
    // the peers NAM dials.
    let peers_in_status = || -> Vec<String> {
        focal_tests::status_of(&nam.dir.path)["peers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p["member"].as_str().map(str::to_owned))
            .collect()
    };
    wait_until("NAM's status to list its peers", || {
        !peers_in_status().is_empty()
    });
    let peers = peers_in_status();
    assert_eq!(peers, vec!["SEC"], "NAM dials only the secretariat");
    // The status is refreshed every second.
    wait_until(
        "`focal network peers` to show the secretariat connected",
        || {
            let table = focal_ok(&conn, &["network", "peers"]);
            table.contains("SEC") && table.contains("connected")
        },
    );
    let out = nam.dir.verify();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_restarted_node_catches_up_without_new_writes() {
    let mut net = TestNetwork::start(&["ESP", "NAM"], |_, _| {});
    net.member("NAM").stop();
    let esp = net.member("ESP").conn();
    let ids: Vec<String> = (0..5)
        .map(|i| add_practice(&esp, &format!("While NAM was down {i}")))
        .collect();
    net.member("NAM").start();
    let conn = net.member("NAM").conn();
    wait_until("NAM to catch up", || {
        let held = heads_on(&conn);
        ids.iter().all(|id| held.contains_key(id))
    });
}

#[test]
fn a_cut_link_heals_and_the_node_converges() {
    let mut net = TestNetwork::start(&["ESP"], |_, _| {});
    // ESP reaches the secretariat only through a proxy the test controls.
    let proxy = Proxy::start(net.secretariat.running().addr);
    net.member("ESP").reach_the_secretariat_only_through(&proxy);
    let sec = net.secretariat.conn();
    let esp_conn = net.member("ESP").conn();
    // Meetings are the secretariat's, so these records come from SEC.
    let before = add_virtual_meeting(&sec, "Before", "2026-01-10");
    wait_until("ESP to receive the first meeting", || {
        heads_on(&esp_conn).contains_key(&before)
    });

    proxy.cut();
    let during = add_virtual_meeting(&sec, "During", "2026-02-10");
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert!(
        !heads_on(&esp_conn).contains_key(&during),
        "the link is cut"
    );
    proxy.restore();
    wait_until("ESP to converge after the link is restored", || {
        heads_on(&esp_conn).contains_key(&during)
    });
}

/// A link that goes silent (no reset: bytes dropped, as behind a dead
/// router) is noticed by HTTP/2 pings within seconds: the status says the
/// peer is unreachable rather than connected, and once the link heals the
/// node converges within seconds, without new writes. (Before, the dead
/// stream showed "connected" and waited for TCP's retransmissions.)
#[test]
fn a_silent_link_is_noticed_and_replication_resumes_when_it_heals() {
    let mut net = TestNetwork::start(&["ESP"], |_, _| {});
    let proxy = Proxy::start(net.secretariat.running().addr);
    let sec_key = focal_node::identity::NodeId(net.secretariat.dir.node_key).to_string();
    net.member("ESP").reach_the_secretariat_only_through(&proxy);
    let sec = net.secretariat.conn();
    let esp = net.member("ESP");
    let esp_conn = esp.conn();
    let before = add_virtual_meeting(&sec, "Before", "2026-01-10");
    wait_until("ESP to receive the first meeting", || {
        heads_on(&esp_conn).contains_key(&before)
    });
    proxy.stall();
    let during = add_virtual_meeting(&sec, "During", "2026-02-10");
    // Pings every 5 s, 5 s to answer: the dead stream is noticed, and the
    // status says so, within seconds.
    let stalled = std::time::Instant::now();
    wait_until("ESP's status to show the secretariat unreachable", || {
        focal_tests::peer_status_of(&esp.dir.path, &sec_key)
            .is_some_and(|p| p["connected"] == false && p["unreachable_since"].is_string())
    });
    let noticed = stalled.elapsed();
    assert!(
        noticed < std::time::Duration::from_secs(25),
        "noticed after {noticed:?}"
    );
    assert!(
        !heads_on(&esp_conn).contains_key(&during),
        "the link is silent"
    );
    let out = focal_node(&["status", "--data", esp.dir.path.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("unreachable since"), "{text}");
    proxy.restore();
    let healed = std::time::Instant::now();
    wait_until("ESP to converge after the link heals", || {
        heads_on(&esp_conn).contains_key(&during)
    });
    let converged = healed.elapsed();
    // A dial under way when the link healed may need its 5 s to fail, then
    // at most 5 s of back-off; generous for a loaded machine.
    assert!(
        converged < std::time::Duration::from_secs(20),
        "converged {converged:?} after the link healed"
    );
    eprintln!("silent link noticed after {noticed:?}; converged {converged:?} after healing");
}

#[test]
fn peers_the_roster_does_not_know_are_refused() {
    let net = TestNetwork::start(&["ESP"], |_, _| {});
    let sec = &net.secretariat;
    let network_id = {
        let text = std::fs::read_to_string(sec.dir.path.join("focal.toml")).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("id = "))
            .unwrap()
            .trim_matches('"')
            .to_owned()
    };
    // A node that was never added to the roster, configured for this
    // network: it cannot get in.
    // The network holds a record the stranger could otherwise receive.
    let held = add_practice(&net.members[0].conn(), "Not for strangers");
    wait_until("the secretariat to hold ESP's record", || {
        heads_on(&sec.conn()).contains_key(&held)
    });
    let stranger = NodeDir::init("FRA");
    stranger.tune_for_tests();
    join(&stranger, &network_id, sec);
    let stranger_node = stranger.start();
    let key = hex::encode(stranger.node_key);
    let sec_node = sec.running();
    // Refused at least twice: it has retried after a back-off.
    wait_until("the secretariat to refuse the stranger twice", || {
        sec_node
            .log_text()
            .lines()
            .filter(|line| line.contains("refused a peer") && line.contains(&key))
            .count()
            >= 2
    });
    // And the stranger received nothing.
    let token = stranger.token("t");
    let conn = focal_tests::connection_for(&stranger_node, &token);
    assert!(records_on(&conn).is_empty());

    // A whole other network: its members are not in this roster either.
    let other = NodeDir::init_secretariat("Another network");
    let other_key = hex::encode(other.node_key);
    join(&other, &network_id, sec);
    let _other_node = other.start();
    wait_until("the secretariat to refuse the other network's node", || {
        sec_node
            .log_text()
            .lines()
            .any(|line| line.contains("refused a peer") && line.contains(&other_key))
    });
}

#[test]
fn visibility_decides_who_receives_a_record() {
    let net = TestNetwork::start(&["ESP", "NAM"], |_, _| {});
    let esp = net.members[0].conn();
    let id_of = |out: String| {
        serde_json::from_str::<Value>(out.trim()).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let for_secretariat = id_of(focal_ok(
        &esp,
        &[
            "--json",
            "practice",
            "add",
            "--kind",
            "lesson-learned",
            "--title",
            "For the secretariat",
            "--theme",
            "peacekeeping",
            "--visibility",
            "secretariat",
        ],
    ));
    let local = id_of(focal_ok(
        &esp,
        &[
            "--json",
            "practice",
            "add",
            "--kind",
            "lesson-learned",
            "--title",
            "Draft, local only",
            "--theme",
            "peacekeeping",
            "--visibility",
            "local",
        ],
    ));
    let public = add_practice(&esp, "For everyone");
    let sec = net.secretariat.conn();
    let nam = net.members[1].conn();
    wait_until(
        "the secretariat to receive the network and secretariat records",
        || {
            let held = heads_on(&sec);
            held.contains_key(&for_secretariat) && held.contains_key(&public)
        },
    );
    wait_until("NAM to receive the network record", || {
        heads_on(&nam).contains_key(&public)
    });
    // Let anti-entropy run a few rounds: nothing else may arrive.
    let settle = std::time::Instant::now();
    while settle.elapsed() < std::time::Duration::from_millis(1200) {
        let at_nam = heads_on(&nam);
        assert!(
            !at_nam.contains_key(&for_secretariat),
            "a secretariat record reached NAM"
        );
        assert!(!at_nam.contains_key(&local), "a local record left its node");
        assert!(
            !heads_on(&sec).contains_key(&local),
            "a local record left its node"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Not even the signed entries travel: NAM's log of ESP has only the
    // network entry.
    let nam_db = rusqlite::Connection::open(net.members[1].dir.path.join("focal.db")).unwrap();
    let audiences: Vec<i64> = nam_db
        .prepare("SELECT DISTINCT audience FROM log_entries WHERE doc_id LIKE 'ESP:%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(audiences, vec![0], "NAM holds only network entries of ESP");
}

/// `focal-node join` for `dir` into the network of `sec`.
fn join(dir: &NodeDir, network_id: &str, sec: &focal_tests::TestMember) {
    let out = focal_node(&[
        "join",
        "--data",
        dir.path.to_str().unwrap(),
        "--network-id",
        network_id,
        "--secretariat-key",
        &hex::encode(sec.dir.node_key),
        "--peer",
        &sec.running().addr.to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn admin_and_join_refuse_bad_input_and_change_nothing() {
    let net = TestNetwork::start(&["ESP"], |_, _| {});
    let admin = net.secretariat.conn();
    let roster_before = focal_ok(&admin, &["--json", "admin", "roster"]);
    let key = "ab".repeat(32);
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "admin",
                "member",
                "add",
                "--member",
                "SPAIN",
                "--key",
                &key,
                "--endpoint",
                "h:1",
            ],
            "`SPAIN` is not a member code",
        ),
        (
            &[
                "admin",
                "member",
                "add",
                "--member",
                "FRA",
                "--key",
                "12",
                "--endpoint",
                "h:1",
            ],
            "`12` is not a node key",
        ),
        (
            &[
                "admin",
                "member",
                "add",
                "--member",
                "FRA",
                "--key",
                &key,
                "--endpoint",
                "nowhere",
            ],
            "endpoint `nowhere` is not host:port",
        ),
        (
            &[
                "admin",
                "member",
                "add",
                "--request",
                "{\"member\":\"FRA\"}",
            ],
            "the join request has no `node_key`",
        ),
    ];
    for (args, needle) in cases {
        assert_fails_with(&focal_at(&admin, args), needle);
    }
    assert_eq!(
        focal_ok(&admin, &["--json", "admin", "roster"]),
        roster_before
    );
    // Only the secretariat's node keeps the roster.
    let esp = net.members[0].conn();
    assert_fails_with(
        &focal_at(
            &esp,
            &[
                "admin",
                "member",
                "add",
                "--member",
                "FRA",
                "--key",
                &key,
                "--endpoint",
                "h:1",
            ],
        ),
        "only the secretariat's node changes the roster",
    );

    // `focal-node join` refuses values that are not a network id or a key,
    // and leaves focal.toml as it was.
    let dir = NodeDir::init("FRA");
    let config = dir.path.join("focal.toml");
    let before = std::fs::read_to_string(&config).unwrap();
    for (id, secretariat_key, needle) in [
        ("not-an-id", key.as_str(), "is not a network id"),
        ("ab".repeat(16).as_str(), "xyz", "is not a node key"),
    ] {
        let out = focal_node(&[
            "join",
            "--data",
            dir.path.to_str().unwrap(),
            "--network-id",
            id,
            "--secretariat-key",
            secretariat_key,
            "--peer",
            "127.0.0.1:1",
        ]);
        assert_fails_with(&out, needle);
        assert_eq!(std::fs::read_to_string(&config).unwrap(), before);
    }
}

/// `focal meeting add` (secretariat only) of a one-day virtual meeting.
fn add_virtual_meeting(conn: &str, title: &str, day: &str) -> String {
    let out = focal_ok(
        conn,
        &[
            "--json", "meeting", "add", "--kind", "virtual", "--title", title, "--start", day,
        ],
    );
    focal_tests::json(&out)["id"].as_str().unwrap().to_owned()
}
