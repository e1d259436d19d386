//! Membership and key lifecycle with real `focal-node` processes: a member's
//! key rotation (and a node offline meanwhile), a clock-free revocation that
//! reaches a node only through relays, suspension, readmission and removal,
//! endpoint changes without restarts, and the secretariat's own key (the
//! trust anchor) rotated while a member is offline.

use std::path::Path;

use focal_tests::{
    NodeDir, Proxy, TestMember, TestNetwork, assert_fails_with, focal_at, focal_node, focal_ok,
    json, wait_until,
};
use serde_json::Value;

fn add_practice(conn: &str, title: &str) -> String {
    focal_tests::add_practice(conn, "best-practice", title, "peacekeeping")
}

fn status(dir: &NodeDir) -> Value {
    focal_tests::status_of(&dir.path)
}

fn key_of(dir: &NodeDir) -> String {
    hex::encode(dir.node_key)
}

use focal_tests::record_on as record;

fn title_on(conn: &str, id: &str) -> Option<String> {
    record(conn, id).and_then(|r| r["title"]["en"]["text"].as_str().map(str::to_owned))
}

/// The last entry of `key`'s network log that a node reports holding.
fn network_head(dir: &NodeDir, key: &str) -> Option<u64> {
    status(dir)["logs"]
        .as_array()?
        .iter()
        .find(|l| l["origin"] == key && l["audience"] == "network")
        .and_then(|l| l["seq"].as_u64())
}

/// Stops the node, runs `focal-node key rotate`, and returns what it printed
/// (the test network's idea of the node key follows).
fn rotate(member: &mut TestMember) -> String {
    member.stop();
    let out = focal_node(&["key", "rotate", "--data", member.dir.path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "key rotate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let new = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("new key"))
        .expect("rotate prints the new key")
        .trim()
        .to_owned();
    hex::decode_to_slice(&new, &mut member.dir.node_key).unwrap();
    stdout
}

fn assert_verifies(dir: &NodeDir) {
    let out = dir.verify();
    assert!(
        out.status.success(),
        "verify {}: {}",
        dir.member,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn log_has(path: &Path, needles: &[&str]) -> bool {
    std::fs::read_to_string(path.with_extension("log"))
        .unwrap_or_default()
        .lines()
        .any(|l| needles.iter().all(|n| l.contains(n)))
}

#[test]
fn a_rotated_member_key_takes_over_and_a_node_offline_meanwhile_accepts_it() {
    let mut net = TestNetwork::start(&["ESP", "NAM"], |_, _| {});
    let sec = net.secretariat.conn();
    let id = add_practice(&net.member("ESP").conn(), "Before the rotation");
    let nam = net.member("NAM").conn();
    wait_until("NAM to receive ESP's record", || {
        record(&nam, &id).is_some()
    });
    net.member("NAM").stop();

    let old = key_of(&net.member("ESP").dir);
    let printed = rotate(net.member("ESP"));
    let new = key_of(&net.member("ESP").dir);
    assert_ne!(old, new);
    assert!(printed.contains(&format!("old key  {old}")), "{printed}");
    let handover = printed
        .split_whitespace()
        .skip_while(|w| *w != "confirm")
        .nth(1)
        .expect("rotate prints the confirm command")
        .to_owned();
    // The hand-over can be printed again, identical.
    let again = focal_node(&[
        "key",
        "handover",
        "--data",
        net.member("ESP").dir.path.to_str().unwrap(),
    ]);
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stdout)
            .contains(&format!("focal admin key confirm {handover}"))
    );
    // The old key file is retired, not destroyed; the new one is in place.
    let retired = net
        .member("ESP")
        .dir
        .path
        .join(format!("node.key.retired-{}", &old[..16]));
    assert!(retired.exists());

    // A forged or mangled hand-over is refused; the real one is confirmed.
    let mut forged = handover.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    assert_fails_with(
        &focal_at(&sec, &["admin", "key", "confirm", &forged]),
        "signature does not verify",
    );
    let out = focal_ok(&sec, &["admin", "key", "confirm", &handover]);
    assert!(
        out.contains("handed over") && out.contains("Next:"),
        "{out}"
    );
    assert_fails_with(
        &focal_at(&sec, &["admin", "key", "confirm", &handover]),
        "is rotated: only an active key can hand over",
    );
    let roster = json(&focal_ok(&sec, &["--json", "admin", "roster"]));
    assert_eq!(roster["ESP"]["keys"][&new], "active", "{roster}");
    assert_eq!(
        roster["ESP"]["keys"][&old], "rotated (last valid: network 1, secretariat 0)",
        "{roster}"
    );

    // The member continues under the new key; the record keeps its history.
    net.member("ESP").start();
    let esp = net.member("ESP").conn();
    focal_ok(&esp, &["edit", &id, "--title", "After the rotation"]);
    let id2 = add_practice(&esp, "Written with the new key");
    let history = json(&focal_ok(&esp, &["--json", "history", &id]));
    let signers: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["signer"].as_str().unwrap())
        .collect();
    assert_eq!(signers, vec![old.as_str(), new.as_str()]);
    wait_until("the secretariat to receive the new key's entries", || {
        title_on(&sec, &id).as_deref() == Some("After the rotation") && record(&sec, &id2).is_some()
    });

    // NAM was offline during all of it: it learns the hand-over from the
    // roster and accepts the new key (over TLS too: it dials ESP directly).
    net.member("NAM").start();
    let nam = net.member("NAM").conn();
    wait_until("NAM to receive the new key's entries", || {
        title_on(&nam, &id).as_deref() == Some("After the rotation") && record(&nam, &id2).is_some()
    });
    wait_until("NAM to be connected to ESP's new key", || {
        status(&net.member("NAM").dir)["peers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["key"] == new.as_str() && p["connected"] == true)
    });
    for m in net.all() {
        assert_verifies(&m.dir);
    }
}

#[test]
fn key_commands_refuse_what_they_cannot_do_and_change_nothing() {
    let single = focal_tests::single_node("ESP");
    let data = single.dir.path.to_str().unwrap().to_owned();
    let key_before = std::fs::read(single.dir.path.join("node.key")).unwrap();
    // While the node runs, its directory is locked.
    assert_fails_with(
        &focal_node(&["key", "rotate", "--data", &data]),
        "in use by another focal-node",
    );
    let mut node = single.node;
    assert!(node.terminate().success());
    // Outside a network there is no one to hand over to.
    assert_fails_with(
        &focal_node(&["key", "rotate", "--data", &data]),
        "not in a network yet",
    );
    assert_fails_with(
        &focal_node(&["key", "handover", "--data", &data]),
        "was never rotated",
    );
    assert_eq!(
        std::fs::read(single.dir.path.join("node.key")).unwrap(),
        key_before
    );
    assert!(!single.dir.path.join("node.key.new").exists());
}

#[test]
fn a_revoked_keys_later_entries_are_dropped_and_refused_even_through_relays() {
    // JPN reaches the secretariat only through a proxy the test cuts, so it
    // learns of the revocation only through AU (a relay). NAM is a stale
    // relay: it holds the revoked entries and, dialing no one, never learns.
    let mut net = TestNetwork::start(&["ESP", "NAM", "JPN", "AU"], |_, _| {});
    let sec_addr = net.secretariat.running().addr;
    let nam_proxy = Proxy::start(sec_addr);
    let jpn_proxy = Proxy::start(sec_addr);
    for (code, proxy, mesh) in [("NAM", &nam_proxy, false), ("JPN", &jpn_proxy, true)] {
        let m = net.member(code);
        m.stop();
        m.dir.set_network(&[proxy.addr], mesh);
        m.start();
    }
    let esp_key = key_of(&net.member("ESP").dir);
    let esp = net.member("ESP").conn();
    let id = add_practice(&esp, "Valid v1");
    focal_ok(&esp, &["edit", &id, "--title", "Valid v2"]);
    let conns: Vec<String> = net.all().map(TestMember::conn).collect();
    for conn in &conns {
        wait_until("every node to hold the valid record", || {
            title_on(conn, &id).as_deref() == Some("Valid v2")
        });
    }
    // The status file is rewritten every second.
    let mut cut_off = 0;
    wait_until("ESP's status to show its log", || {
        cut_off = network_head(&net.members[0].dir, &esp_key).unwrap_or(0);
        cut_off >= 2
    });

    // The key leaks: what it signs from here on is the attacker's.
    focal_ok(&esp, &["edit", &id, "--title", "Forged title"]);
    let forged = add_practice(&esp, "Forged practice");
    for conn in &conns {
        wait_until("every node to hold the forged entries", || {
            title_on(conn, &id).as_deref() == Some("Forged title")
                && record(conn, &forged).is_some()
        });
    }
    nam_proxy.cut();
    jpn_proxy.cut();
    net.member("ESP").stop();

    let sec = net.secretariat.conn();
    let out = focal_ok(
        &sec,
        &[
            "admin",
            "key",
            "revoke",
            &esp_key,
            "--last-network",
            &cut_off.to_string(),
        ],
    );
    assert!(
        out.contains(&format!("its entries up to network {cut_off}"))
            && out.contains("this node drops 2 entries"),
        "{out}"
    );

    for code in ["SEC", "AU", "JPN"] {
        let m = net.all().find(|m| m.dir.member == code).unwrap();
        let conn = m.conn();
        wait_until(
            "the forged entries to be dropped and the records rebuilt",
            || {
                title_on(&conn, &id).as_deref() == Some("Valid v2")
                    && record(&conn, &forged).is_none()
            },
        );
        wait_until("the status to report what was dropped", || {
            let s = status(&m.dir);
            let dropped = s["dropped"].as_array().cloned().unwrap_or_default();
            s["dropped_total"] == 2
                && dropped.iter().any(|d| d["record"] == forged.as_str())
                && dropped.iter().any(|d| d["record"] == id.as_str())
                && dropped
                    .iter()
                    .all(|d| d["origin"] == esp_key.as_str() && d["seq"].as_u64() > Some(cut_off))
        });
    }
    // JPN learned it through a relay: its link to the secretariat is cut.
    let jpn = net.member("JPN");
    wait_until("JPN's status to show the secretariat unreachable", || {
        let s = status(&jpn.dir);
        s != Value::Null
            && !s["peers"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["member"] == "SEC" && p["connected"] == true)
    });
    // The stale relay keeps offering the revoked entries: JPN refuses them.
    let nam_key = key_of(&net.member("NAM").dir);
    let jpn = net.member("JPN");
    wait_until("JPN to refuse the revoked entries NAM relays", || {
        status(&jpn.dir)["rejections"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| {
                r["peer"] == nam_key.as_str()
                    && r["origin"] == esp_key.as_str()
                    && r["reason"]
                        .as_str()
                        .is_some_and(|t| t.contains("beyond the key's cut-off: it was revoked"))
            })
    });
    let jpn_conn = jpn.conn();
    assert_eq!(title_on(&jpn_conn, &id).as_deref(), Some("Valid v2"));
    assert!(record(&jpn_conn, &forged).is_none());
    let text = String::from_utf8_lossy(
        &focal_node(&["status", "--data", jpn.dir.path.to_str().unwrap()]).stdout,
    )
    .into_owned();
    assert!(
        text.contains("changes dropped by key cut-offs (2 in all") && text.contains(&forged),
        "{text}"
    );
    // The revoked key is refused at the handshake: ESP cannot come back.
    let roster = json(&focal_ok(&sec, &["--json", "admin", "roster"]));
    assert!(
        roster["ESP"]["keys"][&esp_key]
            .as_str()
            .unwrap()
            .starts_with("revoked"),
        "{roster}"
    );
    // A revoked key never comes back.
    assert_fails_with(
        &focal_at(
            &sec,
            &[
                "admin",
                "member",
                "add",
                "--member",
                "ESP",
                "--key",
                &esp_key,
                "--endpoint",
                "127.0.0.1:9",
            ],
        ),
        "a retired key never comes back",
    );

    // ESP gets a new key. Before the secretariat adds it, ESP is isolated
    // (every node refuses the unknown key) and still holds the forged
    // entries: what it writes there builds on them.
    let esp_addr = net.member("ESP").dir.path.clone();
    rotate(net.member("ESP"));
    net.member("ESP").start();
    let esp = net.member("ESP").conn();
    // No peer accepts the new key yet, so none can confirm the node's heads
    // after its start (see `recovery`): its operator, who just rotated the
    // key on this very directory, knows it is current and vouches for it.
    let out = focal_node(&[
        "resume-writes",
        "--data",
        esp_addr.to_str().unwrap(),
        "--confirm",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    focal_ok(
        &esp,
        &["edit", &id, "--title", "Edited on top of the forgery"],
    );
    let fresh = add_practice(&esp, "Written with the new key");
    let out = focal_node(&["join-request", "--data", esp_addr.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let request = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    focal_ok(&sec, &["admin", "member", "add", "--request", &request]);
    // Everyone, ESP included once it learns the revocation, keeps the new
    // key's record and leaves out the edit that built on dropped changes.
    let conns: Vec<(String, String)> = net
        .all()
        .filter(|m| m.dir.member != "NAM")
        .map(|m| (m.dir.member.clone(), m.conn()))
        .collect();
    for (code, conn) in &conns {
        wait_until(
            &format!("{code} to converge after the re-admission"),
            || {
                record(conn, &fresh).is_some()
                    && title_on(conn, &id).as_deref() == Some("Valid v2")
                    && record(conn, &forged).is_none()
            },
        );
    }
    wait_until(
        "the secretariat to list the dependent edit as dropped",
        || {
            status(&net.secretariat.dir)["dropped"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|d| {
                    d["record"] == id.as_str()
                        && d["origin"] != esp_key.as_str()
                        && d["reason"]
                            .as_str()
                            .is_some_and(|r| r.contains("depends on a change dropped"))
                })
        },
    );
    for code in ["SEC", "AU", "JPN", "ESP"] {
        let m = net.all().find(|m| m.dir.member == code).unwrap();
        assert_verifies(&m.dir);
    }
}

#[test]
fn a_suspended_member_cannot_connect_and_its_records_stay_readable() {
    let mut net = TestNetwork::start(&["ESP", "NAM"], |_, _| {});
    let sec = net.secretariat.conn();
    let esp = net.member("ESP").conn();
    let esp_key = key_of(&net.member("ESP").dir);
    let id = add_practice(&esp, "Before the suspension");
    let nam = net.member("NAM").conn();
    wait_until("NAM to hold ESP's record", || record(&nam, &id).is_some());

    // Bad input changes nothing.
    for (args, needle) in [
        (
            vec!["admin", "member", "suspend", "FRA"],
            "FRA is not a member in the roster",
        ),
        (vec!["admin", "member", "suspend", "E$P"], "E$P"),
        (
            vec!["admin", "member", "suspend", "SEC"],
            "the secretariat cannot suspend",
        ),
        (vec!["admin", "key", "revoke", "abc"], "is not a node key"),
        (
            vec!["admin", "member", "endpoints", "NAM", "nowhere"],
            "is not host:port",
        ),
    ] {
        assert_fails_with(&focal_at(&sec, &args), needle);
    }
    assert_fails_with(
        &focal_at(&nam, &["admin", "member", "suspend", "ESP"]),
        "only the secretariat's node changes the roster",
    );

    let out = focal_ok(&sec, &["admin", "member", "suspend", "ESP"]);
    assert!(
        out.contains("ESP is suspended") && out.contains("Next: readmit"),
        "{out}"
    );
    wait_until("NAM to mark ESP's records suspended", || {
        record(&nam, &id).is_some_and(|r| r["owner_standing"] == "suspended")
    });
    let table = focal_ok(&nam, &["list"]);
    assert!(table.contains("(ESP suspended)"), "{table}");
    // ESP is refused at the handshake, by the secretariat and by NAM.
    let sec_dir = net.secretariat.dir.path.clone();
    let nam_dir = net.member("NAM").dir.path.clone();
    let refused = ["refused a peer at the TLS handshake", esp_key.as_str()];
    wait_until("the secretariat and NAM to refuse ESP's key", || {
        log_has(&sec_dir, &refused) && log_has(&nam_dir, &refused)
    });
    let during = add_practice(&esp, "Written while suspended");
    // Readmitted, it connects again and what it wrote meanwhile arrives.
    let out = focal_ok(&sec, &["admin", "member", "readmit", "ESP"]);
    assert!(out.contains("ESP is active again"), "{out}");
    wait_until("NAM to receive what ESP wrote while suspended", || {
        record(&nam, &during).is_some()
    });
    assert!(record(&nam, &id).unwrap().get("owner_standing").is_none());
    // ESP learns of its removal through a stream it has open when it
    // happens (a node refused at the handshake learns nothing): wait until
    // it follows live again, i.e. receives something written now.
    let probe = add_practice(&sec, "Written after the readmission");
    wait_until("ESP to follow live again", || {
        record(&esp, &probe).is_some()
    });

    // Removal: the key is revoked at what the secretariat holds.
    let out = focal_ok(&sec, &["admin", "member", "remove", "ESP"]);
    assert!(
        out.contains("ESP is removed") && out.contains("revoked after network entry 2"),
        "{out}"
    );
    wait_until("NAM to mark ESP's records removed", || {
        record(&nam, &id).is_some_and(|r| r["owner_standing"] == "removed")
            && record(&nam, &during).is_some()
    });
    assert_fails_with(
        &focal_at(&sec, &["admin", "member", "readmit", "ESP"]),
        "re-joins with a new key",
    );
    // A removed member's node cannot write any more entries that count.
    wait_until("ESP to learn it was removed", || {
        focal_at(&esp, &["edit", &id, "--title", "Too late"])
            .stderr
            .windows(7)
            .any(|w| w == b"revoked")
    });
    for m in net.all() {
        assert_verifies(&m.dir);
    }
}

#[test]
fn an_endpoint_change_takes_effect_without_restarts() {
    let mut net = TestNetwork::start(&["ESP", "NAM"], |_, _| {});
    let sec = net.secretariat.conn();
    // NAM moves to a new address; nobody else restarts.
    let new_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    {
        let nam = net.member("NAM");
        nam.stop();
        nam.dir.set_listen(new_addr);
        nam.start();
    }
    let out = focal_ok(
        &sec,
        &["admin", "member", "endpoints", "NAM", &new_addr.to_string()],
    );
    assert!(
        out.contains(&format!("NAM is now reached at {new_addr}")),
        "{out}"
    );
    let nam_key = key_of(&net.members[1].dir);
    for dir in [&net.secretariat.dir, &net.members[0].dir] {
        wait_until("the node to dial NAM at its new address", || {
            status(dir)["peers"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| {
                    p["key"] == nam_key.as_str()
                        && p["endpoint"] == new_addr.to_string().as_str()
                        && p["connected"] == true
                })
        });
    }
    let id = add_practice(&net.member("NAM").conn(), "From the new address");
    let esp = net.member("ESP").conn();
    wait_until("ESP to receive it", || record(&esp, &id).is_some());
}

#[test]
fn the_secretariat_rotates_its_anchor_key_and_an_offline_member_follows() {
    // NAM dials only the secretariat: when it returns, the secretariat
    // presents a key NAM has never seen, and NAM must follow the hand-over.
    let mut net = TestNetwork::start(&["ESP", "NAM"], |code, dir| {
        if code == "NAM" {
            dir.set_config("# mesh = true", "mesh = false");
        }
    });
    let before = add_practice(&net.member("ESP").conn(), "Before the anchor rotation");
    let nam = net.member("NAM").conn();
    wait_until("NAM to hold ESP's record", || {
        record(&nam, &before).is_some()
    });
    net.member("NAM").stop();

    let genesis = key_of(&net.secretariat.dir);
    let printed = rotate(&mut net.secretariat);
    let anchor = key_of(&net.secretariat.dir);
    assert!(printed.contains("already in the roster"), "{printed}");
    net.secretariat.start();
    let sec = net.secretariat.conn();
    let roster = json(&focal_ok(&sec, &["--json", "admin", "roster"]));
    assert_eq!(roster["SEC"]["keys"][&anchor], "active", "{roster}");
    assert!(
        roster["SEC"]["keys"][&genesis]
            .as_str()
            .unwrap()
            .starts_with("rotated"),
        "{roster}"
    );
    // A former anchor key cannot be revoked (its hand-over already ends it).
    assert_fails_with(
        &focal_at(&sec, &["admin", "key", "revoke", &genesis]),
        "is a former anchor key",
    );
    // The new anchor writes the roster and the secretariat's records.
    focal_ok(
        &sec,
        &[
            "admin",
            "member",
            "endpoints",
            "ESP",
            &net.member("ESP").running().addr.to_string(),
        ],
    );
    let after = add_practice(&net.member("ESP").conn(), "After the anchor rotation");
    let esp = net.member("ESP").conn();
    wait_until(
        "ESP (online, but its secretariat link broke) to follow",
        || {
            status(&net.member("ESP").dir)["peers"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["key"] == anchor.as_str() && p["connected"] == true)
        },
    );
    // focal.toml still names the genesis key: nothing to reconfigure.
    let config = std::fs::read_to_string(net.member("ESP").dir.path.join("focal.toml")).unwrap();
    assert!(config.contains(&genesis));

    net.member("NAM").start();
    let nam = net.member("NAM").conn();
    wait_until("NAM to follow the new anchor and catch up", || {
        record(&nam, &after).is_some()
    });
    let roster = json(&focal_ok(&nam, &["--json", "admin", "roster"]));
    assert_eq!(roster["SEC"]["keys"][&anchor], "active", "{roster}");
    assert!(record(&esp, &after).is_some());
    for m in net.all() {
        assert_verifies(&m.dir);
    }

    // A roster change signed by the old anchor after its hand-over, or by a
    // member's key, is refused by a member's node.
    net.member("NAM").stop();
    forged_roster_changes_are_refused(&net.members[1].dir, &net.secretariat.dir);
}

/// Offers NAM's writer (on its real database) roster changes that the
/// secretariat's current key did not sign.
fn forged_roster_changes_are_refused(nam: &NodeDir, sec: &NodeDir) {
    use automerge::{Author, ROOT, ReadDoc, transaction::Transactable};
    use focal_node::{
        engine::writer::{NetworkContext, Writer},
        identity::NodeKey,
        log::{Audience, EntryBody, EntryHash},
        roster::ROSTER_ID,
        store::datadir::DataDir,
        store::documents::load_document,
    };
    let retired = std::fs::read_dir(&sec.path)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("node.key.retired-")
        })
        .expect("the retired anchor key");
    let old_anchor = NodeKey::load_file(&retired.path()).unwrap();
    let open = DataDir::new(&nam.path).open().unwrap();
    let genesis = open
        .config
        .network
        .secretariat_key
        .as_deref()
        .and_then(focal_node::identity::NodeId::from_hex);
    let nam_key = open.key.signing_key().clone();
    let (mut document, _) = load_document(open.store.conn(), ROSTER_ID)
        .unwrap()
        .unwrap();
    let head = |origin: &focal_node::identity::NodeId| -> (u64, EntryHash) {
        open.store
            .conn()
            .query_row(
                "SELECT seq, hash FROM log_entries WHERE origin = ?1 AND audience = 0
                 ORDER BY seq DESC LIMIT 1",
                [&origin.0[..]],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Vec<u8>>(1)?)),
            )
            .map(|(seq, hash)| (seq, EntryHash(hash.try_into().unwrap())))
            .unwrap_or((0, EntryHash::default()))
    };
    let hash_at = |origin: &focal_node::identity::NodeId, seq: u64| -> EntryHash {
        open.store
            .conn()
            .query_row(
                "SELECT hash FROM log_entries WHERE origin = ?1 AND audience = 0 AND seq = ?2",
                rusqlite::params![&origin.0[..], seq as i64],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .map(|hash| EntryHash(hash.try_into().unwrap()))
            .unwrap_or_default()
    };
    // `at`: the sequence number to sign at (default: after the head).
    let mut forgeries = 0;
    let mut forge = |key: &ed25519_dalek::SigningKey, at: Option<u64>| {
        let origin = focal_node::identity::NodeId(key.verifying_key().to_bytes());
        let mut doc = document.fork();
        doc.set_author(Some(Author::from(origin.0.to_vec())));
        let mut tx = doc.transaction();
        forgeries += 1;
        tx.put(ROOT, "forged_by", format!("{origin} #{forgeries}"))
            .unwrap();
        let hash = tx.commit().0.expect("the forged change");
        let change = doc.get_change_by_hash(&hash).unwrap().raw_bytes().to_vec();
        document = doc;
        let (head_seq, head_hash) = head(&origin);
        let (seq, prev) = match at {
            Some(seq) => (seq, hash_at(&origin, seq - 1)),
            None => (head_seq + 1, head_hash),
        };
        EntryBody {
            origin,
            audience: Audience::Network,
            seq,
            prev,
            doc_id: ROSTER_ID.to_owned(),
            changes: vec![change],
        }
        .sign(key)
    };
    let old_id = focal_node::identity::NodeId(old_anchor.signing_key().verifying_key().to_bytes());
    let old_head = head(&old_id).0;
    let by_old_anchor = forge(old_anchor.signing_key(), None);
    let fork_at_cutoff = forge(old_anchor.signing_key(), Some(old_head));
    let by_member = forge(&nam_key, None);
    let (writer, thread) = Writer::spawn(
        open.store,
        nam_key,
        open.member,
        NetworkContext::new(genesis, open.config.network.id.clone()),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (first, second, third) = rt.block_on(async {
        let first = writer.ingest(vec![by_old_anchor]).await.unwrap();
        let second = writer.ingest(vec![by_member]).await.unwrap();
        let third = writer.ingest(vec![fork_at_cutoff]).await.unwrap();
        writer.shutdown().await;
        (first, second, third)
    });
    // A different entry where the hand-over pins the old anchor's last one.
    assert_eq!(third.accepted, 0);
    let why = third.rejected[0].2.to_string();
    assert!(
        why.contains("is not the entry the key's cut-off pins"),
        "{why}"
    );
    let _ = thread.join();
    assert_eq!(first.accepted, 0);
    let why = first.rejected[0].2.to_string();
    assert!(
        why.contains("beyond the key's cut-off: it was rotated"),
        "{why}"
    );
    assert_eq!(second.accepted, 0);
    let why = second.rejected[0].2.to_string();
    assert!(
        why.contains("may not write roster: only the secretariat's anchor key"),
        "{why}"
    );
    drop(open.lock);
}

/// A peer's stream is checked one message ahead of the writer (`sync`'s
/// pipeline): a message can be checked before the message that adds its
/// key to the roster is stored. The writer must then accept it exactly as
/// it would have if it had been checked afterwards.
#[test]
fn entries_checked_before_their_key_joined_the_roster_are_checked_again() {
    use focal_node::{
        engine::writer::{NetworkContext, Writer},
        identity::NodeKey,
        log::EntryHash,
        roster::add_member_patch,
        store::datadir::DataDir,
    };
    use focal_tests::fake_peer::{FAKE, honest};
    let sec = NodeDir::init_secretariat("Pipeline test");
    let open = DataDir::new(&sec.path).open().unwrap();
    let secretariat = open.key.id();
    let (writer, thread) = Writer::spawn(
        open.store,
        open.key.signing_key().clone(),
        open.member,
        NetworkContext::new(Some(secretariat), open.config.network.id.clone()),
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let key = NodeKey::generate().unwrap();
    let first = honest(
        &key,
        1,
        EntryHash::default(),
        "pipelineaaaa",
        "Checked early",
    );
    let second = honest(&key, 2, first.hash(), "pipelinebbbb", "Checked early too");
    let (early, report) = runtime.block_on(async {
        // Checked while the key is unknown: refused before its signature.
        let early = writer
            .check(vec![first.clone(), second.clone()])
            .await
            .unwrap();
        writer
            .change_roster(add_member_patch(
                &FAKE.parse().unwrap(),
                &key.id(),
                "127.0.0.1:1",
            ))
            .await
            .unwrap();
        let verdicts: Vec<String> = early
            .entries
            .iter()
            .map(|c| format!("{:?}", c.verdict))
            .collect();
        let report = writer.store_checked("(test)", early).await.unwrap();
        writer.shutdown().await;
        (verdicts, report)
    });
    drop(writer);
    thread.join().unwrap();
    assert!(
        early[0].contains("UnknownKey") && !early[0].contains("Verified"),
        "{early:?}"
    );
    assert_eq!(report.accepted, 2, "{report}");
    assert!(report.rejected.is_empty(), "{report}");
}
