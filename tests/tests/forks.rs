//! Forks with real `focal-node` processes: a member restored from a backup
//! and forced to write signs a second entry 3. Every node, the up-to-date
//! ones included, proves the fork within a few anti-entropy rounds, keeps
//! the proof, quarantines the key and holds the same entries of its log
//! (up to entry 2); a node that joins later converges on the same; the
//! forked node stops signing and says why; and the documented recovery
//! (rotate the key, the secretariat confirms, `recover-branch`) ends with
//! the lost branch's records written again under the new key and `verify`
//! clean everywhere.

use std::net::SocketAddr;

use focal_tests::{
    NodeDir, TestMember, TestNetwork, add_practice, assert_fails_with, focal_node, focal_ok,
    records_on, status_of, wait_until,
};
use rusqlite::{Connection, OpenFlags};

/// `anti_entropy_ms` in the test networks (`NodeDir::tune_for_tests`).
const ANTI_ENTROPY: std::time::Duration = std::time::Duration::from_millis(300);

/// The network log of `key` that a node holds: (seq, hash), in order.
fn log_of(dir: &NodeDir, key: &[u8; 32]) -> Vec<(i64, Vec<u8>)> {
    log_in(dir, key, 0)
}

/// A log (0 network, 1 secretariat) of `key` that a node holds.
fn log_in(dir: &NodeDir, key: &[u8; 32], audience: u8) -> Vec<(i64, Vec<u8>)> {
    let db =
        Connection::open_with_flags(dir.path.join("focal.db"), OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    db.prepare("SELECT seq, hash FROM log_entries WHERE origin = ?1 AND audience = ?2 ORDER BY seq")
        .unwrap()
        .query_map(rusqlite::params![&key[..], audience], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The forks a node holds a proof of: (origin, audience, seq).
fn forks_of(dir: &NodeDir) -> Vec<(Vec<u8>, i64, i64)> {
    let db =
        Connection::open_with_flags(dir.path.join("focal.db"), OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    db.prepare("SELECT origin, audience, seq FROM forks ORDER BY origin, audience")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn titles(member: &TestMember) -> Vec<String> {
    let mut titles: Vec<String> = records_on(&member.conn())
        .iter()
        .filter(|r| r["type"] == "practice")
        .filter_map(|r| r["title"]["en"]["text"].as_str().map(str::to_owned))
        .collect();
    titles.sort();
    titles
}

fn practice(member: &TestMember, title: &str) -> std::process::Output {
    focal_tests::try_add_practice(&member.conn(), title)
}

/// A practice only the secretariat and its member read: an entry of the
/// member's `secretariat` log.
fn confidential(member: &TestMember, title: &str) {
    focal_tests::focal_ok(
        &member.conn(),
        &[
            "practice",
            "add",
            "--kind",
            "best-practice",
            "--title",
            title,
            "--theme",
            "peacekeeping",
            "--visibility",
            "secretariat",
        ],
    );
}

/// `focal_forks_proven_total` on a node's metrics endpoint.
fn forks_proven(dir: &NodeDir) -> u64 {
    use std::io::{Read as _, Write as _};
    let addr = std::fs::read_to_string(dir.path.join("focal-node.metrics-addr")).unwrap();
    let mut stream = std::net::TcpStream::connect(addr.trim()).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .lines()
        .find_map(|l| l.strip_prefix("focal_forks_proven_total "))
        .expect("the metric is served")
        .trim()
        .parse()
        .unwrap()
}

/// Waits until `check` holds on every node of the network.
fn every(net: &TestNetwork, what: &str, check: &dyn Fn(&NodeDir) -> bool) {
    wait_until(what, || {
        std::iter::once(&net.secretariat)
            .chain(&net.members)
            .all(|m| check(&m.dir))
    });
}

fn run(args: &[&str]) -> String {
    let out = focal_node(args);
    assert!(
        out.status.success(),
        "focal-node {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_fork_is_proven_everywhere_the_forked_node_stops_and_its_work_is_written_again() {
    // ESP (up to date when FRA forks) serves its metrics.
    let mut net = TestNetwork::start(&["ESP", "FRA", "NAM"], |code, dir| {
        if code == "ESP" {
            dir.set_config("# listen = \"127.0.0.1:9464\"", "listen = \"127.0.0.1:0\"");
        }
    });
    let sec_addr: SocketAddr = net.secretariat.running().addr;
    let fra_key = net.member("FRA").dir.node_key;
    let fra_data = net.member("FRA").dir.path.to_str().unwrap().to_owned();

    // FRA writes two entries, is backed up, writes two more: every node
    // holds its entries 1 to 4.
    for title in ["Mediation network", "Gender desks"] {
        add_practice(
            &net.member("FRA").conn(),
            "best-practice",
            title,
            "peacekeeping",
        );
    }
    confidential(net.member("FRA"), "Confidential briefing");
    every(&net, "every node to hold FRA's entries 1-2", &|d| {
        d.member == "FRA" || log_of(d, &fra_key).len() == 2
    });
    wait_until("the secretariat to hold FRA's secretariat entry 1", || {
        log_in(&net.secretariat.dir, &fra_key, 1).len() == 1
    });
    let tmp = tempfile::tempdir().unwrap();
    let backup = tmp.path().join("fra.focal-backup");
    run(&[
        "backup",
        "--data",
        &fra_data,
        "--to",
        backup.to_str().unwrap(),
    ]);
    for title in ["Budget tagging", "Police recruitment"] {
        add_practice(
            &net.member("FRA").conn(),
            "best-practice",
            title,
            "peacekeeping",
        );
    }
    confidential(net.member("FRA"), "Confidential follow-up");
    every(&net, "every node to hold FRA's entries 1-4", &|d| {
        log_of(d, &fra_key).len() == 4
    });
    wait_until(
        "the secretariat to hold FRA's secretariat entries 1-2",
        || log_in(&net.secretariat.dir, &fra_key, 1).len() == 2,
    );
    let agreed = log_of(&net.member("FRA").dir, &fra_key)[..2].to_vec();

    // Restored from the backup, cut off, and forced to write: it signs a
    // second entry 3 (and 4, 5, 6).
    let fra = net.member("FRA");
    fra.stop();
    run(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--data",
        &fra_data,
        "--replace",
    ]);
    fra.dir
        .set_network(&["127.0.0.1:1".parse().unwrap()], false);
    run(&["resume-writes", "--data", &fra_data, "--confirm"]);
    fra.start();
    let lost = ["Forked three", "Forked four", "Forked five", "Forked six"];
    for title in lost {
        let out = practice(fra, title);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // And a second entry 2 of its secretariat log.
    confidential(fra, "Forked confidential");
    // Reconnected.
    fra.stop();
    fra.dir.set_network(&[sec_addr], true);
    fra.start();
    let reconnected = std::time::Instant::now();

    // Every node proves the fork at entry 3, keeps the proof, and holds
    // FRA's log up to entry 2: the up-to-date nodes, and FRA itself. The
    // fork of FRA's secretariat log (at entry 2) is proven by the nodes
    // that read that log, the secretariat and FRA, and travels to no
    // other: a proof carries the log's entries.
    let proof = vec![(fra_key.to_vec(), 0, 3)];
    let both = vec![(fra_key.to_vec(), 0, 3), (fra_key.to_vec(), 1, 2)];
    let readers = ["SEC", "FRA"];
    every(
        &net,
        "every node to prove FRA's forks and hold its logs up to the entries before",
        &|d| {
            let reads = readers.contains(&d.member.as_str());
            log_of(d, &fra_key) == agreed
                && forks_of(d) == if reads { both.clone() } else { proof.clone() }
                && (!reads || log_in(d, &fra_key, 1).len() == 1)
        },
    );
    // Within a few anti-entropy rounds (300 ms in the tests; generous for
    // a loaded machine).
    let took = reconnected.elapsed();
    eprintln!("fork proven on every node {took:?} after FRA reconnected");
    assert!(
        took < ANTI_ENTROPY * 20,
        "the fork took {took:?} to be proven everywhere"
    );
    // The status (written every few seconds) shows it.
    every(&net, "every node's status to show the forks", &|d| {
        let reads = readers.contains(&d.member.as_str());
        status_of(&d.path)["forks"]
            .as_array()
            .is_some_and(|f| f.len() == if reads { 2 } else { 1 })
    });
    for m in std::iter::once(&net.secretariat).chain(&net.members) {
        let status = status_of(&m.dir.path);
        let forks = status["forks"].as_array().cloned().unwrap_or_default();
        let reads = readers.contains(&m.dir.member.as_str());
        assert_eq!(
            forks.len(),
            if reads { 2 } else { 1 },
            "{}: {status}",
            m.dir.member
        );
        assert_eq!(forks[0]["seq"], 3);
        assert_eq!(forks[0]["stands_up_to"], 2);
        assert_eq!(forks[0]["own"], m.dir.member == "FRA", "{}", m.dir.member);
        let quarantined = status["quarantined"].to_string();
        assert!(
            quarantined.contains(&format!("{} since", hex::encode(fra_key)))
                && quarantined.contains("fork proven at"),
            "{}: {quarantined}",
            m.dir.member
        );
    }
    // The metrics count it: ESP proved (or received) one fork, the network
    // log's (it does not read FRA's secretariat log).
    assert_eq!(forks_proven(&net.member("ESP").dir), 1);

    // The forked node signs nothing more, and says why and what to do.
    let fra = net.member("FRA");
    assert_fails_with(
        &practice(fra, "After the fork"),
        "signed two different entries at entry 3 of its network log",
    );
    assert_fails_with(&practice(fra, "After the fork"), "focal-node key rotate");
    let out = run(&["status", "--data", &fra_data]);
    assert!(out.contains("THIS NODE'S KEY FORKED"), "{out}");
    assert!(
        fra.running()
            .log_text()
            .contains("this node's own key signed two different entries"),
        "FRA's log says nothing of its fork"
    );
    // Both branches' records beyond entry 2 are gone on every node.
    for m in std::iter::once(&net.secretariat).chain(&net.members) {
        let mut expected = vec!["Gender desks", "Mediation network"];
        if readers.contains(&m.dir.member.as_str()) {
            expected.insert(0, "Confidential briefing");
        }
        assert_eq!(titles(m), expected, "{}", m.dir.member);
    }

    // A node that joins now, holding none of FRA's entries, converges on
    // the same entries and the same proof.
    net.join("ARG", |_| {});
    every(&net, "ARG to converge on FRA's log and proof", &|d| {
        let reads = readers.contains(&d.member.as_str());
        forks_of(d) == if reads { both.clone() } else { proof.clone() }
            && log_of(d, &fra_key) == agreed
    });

    // FRA fetched the other branch's entries (its entry 3 is in the proof;
    // entry 4) from its peers, to write them again.
    wait_until("FRA to keep the other branch's entry 4", || {
        Connection::open_with_flags(
            net.members[1].dir.path.join("focal.db"),
            OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap()
        .query_row("SELECT count(*) FROM fork_entries", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
            == 1
    });

    // Recovery: the key is rotated (its hand-over names entry 2, the last
    // agreed one), the secretariat confirms, and the lost branch's records
    // are written again under the new key.
    let fra = net.member("FRA");
    fra.stop();
    assert_fails_with(
        &focal_node(&["recover-branch", "--data", &fra_data]),
        "rotate it first",
    );
    let rotated = run(&["key", "rotate", "--data", &fra_data]);
    assert!(
        rotated.contains("its last entries: network 2, secretariat 1"),
        "{rotated}"
    );
    let new_key = rotated
        .lines()
        .find_map(|l| l.trim().strip_prefix("new key"))
        .unwrap()
        .trim()
        .to_owned();
    hex::decode_to_slice(&new_key, &mut fra.dir.node_key).unwrap();
    let handover = rotated
        .split_whitespace()
        .skip_while(|w| *w != "confirm")
        .nth(1)
        .unwrap()
        .to_owned();
    focal_ok(
        &net.secretariat.conn(),
        &["admin", "key", "confirm", &handover],
    );
    let plan = run(&["recover-branch", "--data", &fra_data]);
    for title in lost.iter().chain(&[
        "Budget tagging",
        "Police recruitment",
        "Confidential follow-up",
        "Forked confidential",
    ]) {
        assert!(plan.contains(title), "{plan}");
    }
    assert!(plan.contains("Nothing was written"), "{plan}");
    let done = run(&["recover-branch", "--data", &fra_data, "--confirm"]);
    assert!(done.contains("Wrote 8 records again"), "{done}");
    // Running it again writes nothing twice.
    let again = run(&["recover-branch", "--data", &fra_data, "--confirm"]);
    assert!(!again.contains("created again"), "{again}");
    assert_eq!(
        again.matches("already written again as").count(),
        8,
        "{again}"
    );
    net.member("FRA").start();
    // Both branches' records: what FRA typed before the restore, and
    // after.
    let mut expected: Vec<String> = [
        "Gender desks",
        "Mediation network",
        "Budget tagging",
        "Police recruitment",
    ]
    .into_iter()
    .chain(lost)
    .map(str::to_owned)
    .collect();
    expected.sort();
    let mut confidential_too: Vec<String> = expected
        .iter()
        .cloned()
        .chain(
            [
                "Confidential briefing",
                "Confidential follow-up",
                "Forked confidential",
            ]
            .map(str::to_owned),
        )
        .collect();
    confidential_too.sort();
    wait_until(
        "every node to list the lost branches' records again",
        || {
            std::iter::once(&net.secretariat)
                .chain(&net.members)
                .all(|m| {
                    if readers.contains(&m.dir.member.as_str()) {
                        titles(m) == confidential_too
                    } else {
                        titles(m) == expected
                    }
                })
        },
    );
    let new_key: [u8; 32] = hex::decode(&new_key).unwrap().try_into().unwrap();
    every(&net, "every node to hold FRA's new key's 6 entries", &|d| {
        log_of(d, &new_key).len() == 6
    });
    // `verify` is clean on every node.
    for m in std::iter::once(&mut net.secretariat).chain(net.members.iter_mut()) {
        m.stop();
        let out = m.dir.verify();
        assert!(
            out.status.success(),
            "verify {}: {}{}",
            m.dir.member,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
