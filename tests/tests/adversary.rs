//! Adversarial peers: a fake member node (`focal_tests::fake_peer`), in
//! this process, that the real nodes dial and pull from, and that answers
//! with crafted entries.

use std::time::Instant;

use automerge::{Author, Automerge};
use focal_node::{
    doc,
    identity::{NodeId, NodeKey},
    log::{EntryHash, LogEntry},
};
use focal_proto::v1 as pb;
use focal_tests::{TestMember, TestNetwork, fake_peer::*, focal_ok, records_on};
use rusqlite::params;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Scenarios.

/// 1. A bad signature, after an honest entry in the same message: the honest
///    one is stored and listed, the forgery refused, the peer cut off.
#[test]
fn an_entry_with_a_bad_signature_is_refused_and_the_peer_cut_off() {
    let key = NodeKey::generate().unwrap();
    let h1 = honest(
        &key,
        1,
        EntryHash::default(),
        "honestaaaaaa",
        "Women mediators in local ceasefire talks",
    );
    let mut forged = honest(&key, 2, h1.hash(), "forgedaaaaaa", "Forged practice");
    forged.signature[17] ^= 0x01;
    let script: Script = {
        let (h1, forged) = (h1.clone(), forged.clone());
        Box::new(move |_| vec![message(&[&h1, &forged])])
    };
    let fx = Fixture::start(key, |_, _| script);
    let fra = fx.fake.id.to_string();
    let refusal = format!("entry 2 of {fra}: the signature does not verify");
    for victim in fx.victims() {
        wait_logged(victim, &["entry refused", &refusal]);
        wait_logged(victim, &["disconnecting the peer", &fra, &refusal]);
        wait_last_error(victim, &fx.fake.id, &refusal);
        wait_rejection(victim, &fx.fake.id, 2, &refusal);
        fx.assert_cut_off_with_backoff(victim);
        wait_listed(victim, &h1, "Women mediators in local ceasefire talks");
        assert_holds_exactly(victim, &fx.fake.id, &[&h1]);
        assert_not_listed(victim, &forged.body.doc_id);
        assert_verifies(victim);
    }
}

/// 2. Validly signed by the fake peer's key, but for records it does not
///    own: another member's record, the roster, a meeting.
#[test]
fn validly_signed_entries_for_records_the_peer_may_not_write_are_refused() {
    let key = NodeKey::generate().unwrap();
    let title = "Gender advisers in every peacekeeping unit";
    let h1 = honest(&key, 1, EntryHash::default(), "honestaaaaaa", title);
    let mut esp_record = String::new();
    let mut attempts = Vec::new();
    let fx = Fixture::start(key, |net, key| {
        // A real ESP record, on every node, that the fake peer then rewrites.
        esp_record = add_practice(&net.members[0].conn(), "Madrid lesson");
        let sec = net.secretariat.conn();
        wait_for("SEC to hold ESP's record", &net.secretariat, || {
            records_on(&sec)
                .iter()
                .any(|r| r["id"] == esp_record.as_str())
        });
        let hijack = creation(Some(key.id()), &practice("ESP", &esp_record, "Hijacked"));
        let roster = json!({"type": "roster", "members": {"FRA": {"status": "active"}}});
        let roster = creation(Some(key.id()), roster.as_object().unwrap());
        let meeting_id = record_id(FAKE, "meeting", "meetingaaaaa");
        let meeting = json!({"id": meeting_id, "type": "meeting", "owner": FAKE});
        let meeting = creation(Some(key.id()), meeting.as_object().unwrap());
        attempts = vec![
            signed(key, 2, h1.hash(), &esp_record, vec![hijack]),
            signed(key, 2, h1.hash(), "roster", vec![roster]),
            signed(key, 2, h1.hash(), &meeting_id, vec![meeting]),
        ];
        let (h1, attempts) = (h1.clone(), attempts.clone());
        Box::new(move |session| {
            let attempt = &attempts[session.min(attempts.len() - 1)];
            vec![message(&[&h1, attempt])]
        })
    });
    let fra = fx.fake.id.to_string();
    let refusals = [
        format!(
            "FRA (key {fra}) may not write {esp_record}: only the owner member's keys write its records"
        ),
        format!(
            "FRA (key {fra}) may not write roster: only the secretariat's anchor key (or a key it handed over to) writes the roster"
        ),
        format!(
            "FRA (key {fra}) may not write {}: only the secretariat writes meetings and decisions",
            attempts[2].body.doc_id
        ),
    ];
    for victim in fx.victims() {
        for refusal in &refusals {
            wait_logged(victim, &["entry refused", refusal]);
            wait_rejection(victim, &fx.fake.id, 2, refusal);
            wait_logged(victim, &["disconnecting the peer", &fra, refusal]);
        }
        fx.assert_cut_off_with_backoff(victim);
        wait_listed(victim, &h1, title);
        assert_holds_exactly(victim, &fx.fake.id, &[&h1]);
        let held = records_on(&victim.conn());
        let record = held
            .iter()
            .find(|r| r["id"] == esp_record.as_str())
            .unwrap();
        assert_eq!(record["title"]["en"]["text"], "Madrid lesson");
        assert_eq!(record["owner"], "ESP");
        assert_not_listed(victim, &attempts[2].body.doc_id);
        assert_verifies(victim);
    }
    // The roster still has FRA as added, nothing the fake peer wrote.
    let roster = focal_ok(&fx.net.secretariat.conn(), &["--json", "admin", "roster"]);
    let roster: Value = serde_json::from_str(roster.trim()).unwrap();
    assert_eq!(roster["FRA"]["status"], "active", "{roster}");
}

/// 3. Replayed entries the victims already hold (copied from the
///    secretariat's database) are duplicates: not stored twice, not refused,
///    and the peer is not cut off for relaying them.
#[test]
fn replayed_entries_are_not_stored_twice() {
    let key = NodeKey::generate().unwrap();
    let title = "Community early-warning networks led by women";
    let h1 = honest(&key, 1, EntryHash::default(), "honestaaaaaa", title);
    let mut replayed: Vec<Vec<u8>> = Vec::new();
    let fx = Fixture::start(key, |net, _| {
        let id = add_practice(&net.members[0].conn(), "Replayed lesson");
        let sec = net.secretariat.conn();
        wait_for("SEC to hold ESP's record", &net.secretariat, || {
            records_on(&sec).iter().any(|r| r["id"] == id.as_str())
        });
        // Every network entry the secretariat holds: the roster's and ESP's.
        let db = database(&net.secretariat);
        let mut stmt = db
            .prepare("SELECT entry FROM log_entries WHERE audience = 0 ORDER BY id")
            .unwrap();
        replayed = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(replayed.len() >= 2, "roster and practice entries");
        let esp = &net.members[0];
        wait_for("ESP to hold every replayed entry", esp, || {
            let db = database(esp);
            replayed.iter().all(|bytes| {
                let hash = LogEntry::decode(bytes).unwrap().hash();
                db.query_row(
                    "SELECT count(*) FROM log_entries WHERE hash = ?1",
                    [&hash.0[..]],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap()
                    == 1
            })
        });
        let mut entries = vec![h1.encode()];
        entries.extend(replayed.iter().cloned());
        // The oldest entry once more, alone, after the rest.
        let oldest = replayed[0].clone();
        Box::new(move |_| {
            vec![
                raw_message(entries.clone()),
                raw_message(vec![oldest.clone()]),
            ]
        })
    });
    fx.wait_for_pulls();
    for victim in fx.victims() {
        fx.assert_stays_connected(victim);
        wait_listed(victim, &h1, title);
        assert_holds_exactly(victim, &fx.fake.id, &[&h1]);
        let db = database(victim);
        for bytes in &replayed {
            let entry = LogEntry::decode(bytes).unwrap();
            let rows: Vec<Vec<u8>> = db
                .prepare(
                    "SELECT hash FROM log_entries WHERE origin = ?1 AND audience = ?2 AND seq = ?3",
                )
                .unwrap()
                .query_map(
                    params![
                        &entry.body.origin.0[..],
                        entry.body.audience.code(),
                        entry.body.seq as i64
                    ],
                    |r| r.get(0),
                )
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert_eq!(rows, vec![entry.hash().0.to_vec()], "{}", victim.dir.member);
        }
        assert!(
            !logged(victim, &["entry refused"]),
            "{}",
            victim.running().log_text()
        );
        let status = fresh_peer_status(victim, &fx.fake.id);
        assert_eq!(status["connected"], true, "{status}");
        assert_eq!(status["rejected"], 0, "{status}");
        assert!(status["accepted"].as_u64().unwrap() <= 1, "{status}");
        assert!(status["last_error"].is_null(), "{status}");
        assert_verifies(victim);
    }
}

/// 4. Entry 3 when the victim holds none of the fake peer's log: a gap,
///    refused (and refused again on every anti-entropy round) while the
///    honest entry 1 in the next message of the same stream is stored. The
///    node does not cut a peer off for a gap.
#[test]
fn a_sequence_gap_is_refused_and_honest_entries_still_arrive() {
    let key = NodeKey::generate().unwrap();
    let title = "Women's protection advisers in field missions";
    let h1 = honest(&key, 1, EntryHash::default(), "honestaaaaaa", title);
    let h2 = honest(&key, 2, h1.hash(), "secondaaaaaa", "Second");
    let g3 = honest(&key, 3, h2.hash(), "gapaaaaaaaaa", "Beyond a gap");
    let script: Script = {
        let (h1, g3) = (h1.clone(), g3.clone());
        Box::new(move |_| vec![message(&[&g3]), message(&[&h1])])
    };
    let fx = Fixture::start(key, |_, _| script);
    fx.wait_for_pulls();
    let fra = fx.fake.id.to_string();
    let gap = format!("sequence gap in the log of {fra} (network): holding ");
    // The secretariat receives FRA's entries from the fake peer only, gap
    // first; ESP may already hold entry 1, relayed by the secretariat.
    wait_logged(
        &fx.net.secretariat,
        &["entry refused", &format!("{gap}0, received 3")],
    );
    for victim in fx.victims() {
        wait_logged(victim, &["entry refused", &gap, ", received 3"]);
        fx.assert_stays_connected(victim);
        wait_listed(victim, &h1, title);
        wait_for("a gap refused on a later round too", victim, || {
            logged(victim, &[&format!("{gap}1, received 3")])
                && peer_status(victim, &fx.fake.id)
                    .is_some_and(|s| s["rejected"].as_u64().unwrap_or(0) >= 2)
        });
        wait_last_error(victim, &fx.fake.id, &gap);
        // Each round's refusal is recorded again.
        wait_for("two gap refusals in `rejections`", victim, || {
            rejections(victim, &fx.fake.id)
                .iter()
                .filter(|(_, seq, reason)| *seq == 3 && reason.contains(&gap))
                .count()
                >= 2
        });
        assert_holds_exactly(victim, &fx.fake.id, &[&h1]);
        assert_not_listed(victim, &g3.body.doc_id);
        assert_verifies(victim);
    }
}

/// A row of `forks`: origin, audience, seq, first entry, second entry.
type Proof = (Vec<u8>, u8, i64, Vec<u8>, Vec<u8>);

/// 5. Two different, validly signed entries 1 of the fake peer's log: a
///    proof of a fork at entry 1. The first is stored (it arrived first and
///    was valid), then the second proves the fork: the proof is kept, the
///    origin quarantined, and its log stands up to the entry before the
///    fork (none), so the first entry's record goes too, here as on every
///    node that holds the proof; its next entry is refused for that (also
///    across a restart).
#[test]
fn equivocation_is_proven_and_the_origin_quarantined() {
    let key = NodeKey::generate().unwrap();
    let title = "First version of entry 1";
    let a = honest(&key, 1, EntryHash::default(), "firstaaaaaaa", title);
    let b = honest(
        &key,
        1,
        EntryHash::default(),
        "secondaaaaaa",
        "Second version of entry 1",
    );
    let c = honest(&key, 2, a.hash(), "thirdaaaaaaa", "After the equivocation");
    let script: Script = {
        let (a, b, c) = (a.clone(), b.clone(), c.clone());
        Box::new(move |_| vec![message(&[&a, &b]), message(&[&c])])
    };
    let mut fx = Fixture::start(key, |_, _| script);
    fx.wait_for_pulls();
    let fra = fx.fake.id.to_string();
    let equivocation = format!(
        "equivocation: origin {fra} signed two different entries with sequence 1 (network); \
         both kept as evidence, origin quarantined"
    );
    let quarantined = format!(
        "origin {fra} is quarantined for equivocation: its network log stands up to entry 0, \
         the last before the fork it signed at entry 1"
    );
    let (first, second) = if a.hash() < b.hash() {
        (a.encode(), b.encode())
    } else {
        (b.encode(), a.encode())
    };
    let proven = format!("origin={fra}");
    for victim in fx.victims() {
        // A victim sees both entries itself and refuses the second as
        // equivocation, or a peer that saw them first hands it the proof
        // (which order depends on the machine's load).
        wait_for("the equivocation seen, or proven by a peer", victim, || {
            logged(victim, &["entry refused", "seq=1", &equivocation])
                || logged(victim, &["fork proven", &proven, "seq=1"])
        });
        let saw_it = logged(victim, &["entry refused", "seq=1", &equivocation]);
        wait_logged(victim, &["entry refused", "seq=2", &quarantined]);
        wait_rejection(
            victim,
            &fx.fake.id,
            1,
            if saw_it { &equivocation } else { &quarantined },
        );
        wait_rejection(victim, &fx.fake.id, 2, &quarantined);
        // Not a reason to cut the peer off (it could be relaying).
        fx.assert_stays_connected(victim);
        assert_holds_exactly(victim, &fx.fake.id, &[]);
        assert_not_listed(victim, &a.body.doc_id);
        assert_not_listed(victim, &b.body.doc_id);
        assert_not_listed(victim, &c.body.doc_id);
        let db = database(victim);
        let proofs: Vec<Proof> = db
            .prepare("SELECT origin, audience, seq, first, second FROM forks")
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        // Exactly one proof, although every round sends the pair again.
        assert_eq!(
            proofs,
            vec![(fx.fake.id.0.to_vec(), 0, 1, first.clone(), second.clone())],
            "{}",
            victim.dir.member
        );
        let quarantine: Vec<(String, String)> = db
            .prepare("SELECT origin, reason FROM quarantine")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            quarantine,
            vec![(
                fra.clone(),
                "fork proven at network entry 1: the log stands up to entry 0".to_owned()
            )]
        );
        wait_last_error(victim, &fx.fake.id, &quarantined);
        assert_verifies(victim);
    }
    // The proof is stored: after a restart, still nothing from FRA.
    let esp = fx.net.member("ESP");
    esp.stop();
    esp.start();
    let esp = fx.esp();
    wait_logged(esp, &["entry refused", "seq=1", &quarantined]);
    assert_holds_exactly(esp, &fx.fake.id, &[]);
}

/// 5c. An entry that differs from one held but chains elsewhere (the fork
///    is earlier), sent again every round by a peer that never lets the
///    fork be found (its `Hashes` answers nothing): kept once as evidence,
///    not a proof, no quarantine, the peer not cut off, and the table does
///    not grow with the rounds.
#[test]
fn evidence_of_an_unfound_fork_is_kept_once() {
    let key = NodeKey::generate().unwrap();
    let a1 = honest(&key, 1, EntryHash::default(), "firstaaaaaaa", "One");
    let a2 = honest(&key, 2, a1.hash(), "secondaaaaaa", "Two");
    let b2 = honest(&key, 2, EntryHash([9; 32]), "elsewhereaaa", "Elsewhere");
    let script: Script = {
        let (a1, a2, b2) = (a1.clone(), a2.clone(), b2.clone());
        Box::new(move |_| vec![message(&[&a1, &a2]), message(&[&b2])])
    };
    let fx = Fixture::start(key, |_, _| script);
    fx.wait_for_pulls();
    for victim in fx.victims() {
        wait_rejection(victim, &fx.fake.id, 2, "equivocation");
        // Rounds go on, each sending the entry again.
        fx.assert_stays_connected(victim);
        let db = database(victim);
        let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(
            count("SELECT count(*) FROM equivocations"),
            1,
            "{}",
            victim.dir.member
        );
        assert_eq!(count("SELECT count(*) FROM forks"), 0);
        assert_eq!(count("SELECT count(*) FROM quarantine"), 0);
        assert_holds_exactly(victim, &fx.fake.id, &[&a1, &a2]);
        assert_verifies(victim);
    }
}

/// A fork as the fake peer lists it: its position and the two hashes.
fn listed(position: &LogEntry, first: &[u8], second: &[u8]) -> pb::Fork {
    pb::Fork {
        position: Some(pb::Position {
            origin: position.body.origin.0.to_vec(),
            audience: u32::from(position.body.audience.code()),
            seq: position.body.seq,
        }),
        first: LogEntry::hash_of(first).0.to_vec(),
        second: LogEntry::hash_of(second).0.to_vec(),
    }
}

/// 5b. "Proofs" of a fork that prove nothing, offered by the fake peer
///    (`Forks`, then `Entry` for each of the two entries): one signature
///    invalid, entries of two different keys, the same entry twice. Each
///    is refused, nothing is kept or quarantined, and the peer is cut off;
///    so is a peer that lists a fork whose entries it does not serve. A
///    real proof about a key outside the roster (anyone can make one with a
///    key of their own) is not even fetched, and no reason for a cut-off.
#[test]
fn forged_fork_proofs_are_refused_and_the_peer_cut_off() {
    let key = NodeKey::generate().unwrap();
    let stranger = NodeKey::generate().unwrap();
    let a = honest(&key, 1, EntryHash::default(), "firstaaaaaaa", "One");
    let b = honest(&key, 1, EntryHash::default(), "secondaaaaaa", "Two");
    let mut unsigned = b.clone();
    unsigned.signature[9] ^= 0x01;
    let by_stranger = honest(&stranger, 1, EntryHash::default(), "strangeraaaa", "Three");
    let stranger_b = honest(&stranger, 1, EntryHash::default(), "strangerbbbb", "Four");
    let fx = Fixture::start(key, |_, _| Box::new(|_| Vec::new()));
    let fra = fx.fake.id.to_string();
    let cases: [(pb::Fork, Vec<Vec<u8>>, String); 4] = [
        (
            listed(&a, &a.encode(), &unsigned.encode()),
            vec![a.encode(), unsigned.encode()],
            format!("a fork proof's entry 1 of {fra} is not signed by its origin"),
        ),
        (
            listed(&a, &a.encode(), &by_stranger.encode()),
            vec![a.encode(), by_stranger.encode()],
            "a fork proof's entries are not at one position of one log".to_owned(),
        ),
        (
            listed(&a, &a.encode(), &a.encode()),
            vec![a.encode()],
            "a fork proof holds the same entry twice".to_owned(),
        ),
        (
            listed(&a, &a.encode(), &b.encode()),
            Vec::new(),
            format!("peer listed a fork of {fra} at 1 but does not serve its entries"),
        ),
    ];
    for (fork, entries, refusal) in cases {
        *fx.fake.offered.lock().unwrap() = (vec![fork], entries);
        for victim in fx.victims() {
            wait_logged(victim, &["disconnecting the peer", &refusal]);
        }
    }
    for victim in fx.victims() {
        fx.assert_cut_off_with_backoff(victim);
        let db = database(victim);
        let count = |table: &str| -> i64 {
            db.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(count("forks"), 0, "{}", victim.dir.member);
        assert_eq!(count("quarantine"), 0, "{}", victim.dir.member);
        assert_verifies(victim);
    }
    // A valid proof about a key that is in no roster: not kept, and no
    // reason to cut the peer off.
    let started: Vec<usize> = fx
        .victims()
        .iter()
        .map(|v| fx.fake.sessions(v).len())
        .collect();
    *fx.fake.offered.lock().unwrap() = (
        vec![listed(
            &by_stranger,
            &by_stranger.encode(),
            &stranger_b.encode(),
        )],
        vec![by_stranger.encode(), stranger_b.encode()],
    );
    let asked = || {
        fx.fake
            .forks_asked
            .load(std::sync::atomic::Ordering::SeqCst)
    };
    let before = asked();
    // Several rounds of both victims asking.
    focal_tests::wait_until("the victims to ask for forks ten times more", || {
        asked() >= before + 10
    });
    for (victim, before) in fx.victims().into_iter().zip(started) {
        // At most the session that was waiting out its back-off.
        let after = fx.fake.sessions(victim);
        assert!(
            after.len() <= before + 1 && after.last().unwrap().dropped.is_none(),
            "{}: {after:?}",
            victim.dir.member
        );
        let db = database(victim);
        let forks: i64 = db
            .query_row("SELECT count(*) FROM forks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(forks, 0);
    }
}

/// 6. Automerge changes whose author is not the entry's origin: authored by
///    another member's key, by no one, or continuing an actor no change by
///    the origin started.
#[test]
fn changes_authored_by_another_key_are_refused() {
    let key = NodeKey::generate().unwrap();
    let title = "National action plan co-drafted with civil society";
    let h1 = honest(&key, 1, EntryHash::default(), "honestaaaaaa", title);
    let mut forgeries = Vec::new();
    let mut actor = String::new();
    let fx = Fixture::start(key, |net, key| {
        let esp = NodeId(net.members[0].dir.node_key);
        let by_esp = record_id(FAKE, "practice", "authoraaaaaa");
        let by_esp = signed(
            key,
            2,
            h1.hash(),
            &by_esp,
            vec![creation(
                Some(esp),
                &practice(FAKE, &by_esp, "Authored by ESP"),
            )],
        );
        // The second change of an actor: no author footer, and its first
        // change never travels.
        let continued = record_id(FAKE, "practice", "actoraaaaaaa");
        let mut document = Automerge::new();
        document.set_author(Some(Author::from(key.id().0.to_vec())));
        for title in ["Started", "Continued"] {
            let mut tx = document.transaction();
            for (k, v) in &practice(FAKE, &continued, title) {
                doc::put(&mut tx, &automerge::ROOT, k, v).unwrap();
            }
            tx.commit();
        }
        let second = document.get_last_local_change().unwrap();
        assert!(second.author().is_none());
        actor = second.actor_id().to_hex_string();
        let continued = signed(
            key,
            2,
            h1.hash(),
            &continued,
            vec![second.raw_bytes().to_vec()],
        );
        let anonymous = record_id(FAKE, "practice", "noneaaaaaaaa");
        let anonymous = signed(
            key,
            2,
            h1.hash(),
            &anonymous,
            vec![creation(None, &practice(FAKE, &anonymous, "By no one"))],
        );
        forgeries = vec![by_esp, continued, anonymous];
        let (h1, forgeries) = (h1.clone(), forgeries.clone());
        Box::new(move |session| {
            vec![message(&[
                &h1,
                &forgeries[session.min(forgeries.len() - 1)],
            ])]
        })
    });
    let fra = fx.fake.id.to_string();
    let esp = hex::encode(fx.esp().dir.node_key);
    let refusals: [&[&str]; 3] = [
        &[
            &format!("entry 2 of {fra}: change 0 ("),
            &format!("is authored by {esp}, not by the entry's origin"),
        ],
        &[
            &format!("entry 2 of {fra}: change 0 continues actor {actor}, which no change by"),
            "this key started",
        ],
        &[
            &format!("entry 2 of {fra}: change 0 ("),
            "is authored by none, not by the entry's origin",
        ],
    ];
    for victim in fx.victims() {
        for refusal in refusals {
            let mut needles = vec!["disconnecting the peer", fra.as_str()];
            needles.extend_from_slice(refusal);
            wait_logged(victim, &needles);
            let mut needles = vec!["entry refused"];
            needles.extend_from_slice(refusal);
            assert!(logged(victim, &needles), "{}", victim.running().log_text());
            wait_rejection(victim, &fx.fake.id, 2, refusal[1]);
        }
        fx.assert_cut_off_with_backoff(victim);
        wait_listed(victim, &h1, title);
        assert_holds_exactly(victim, &fx.fake.id, &[&h1]);
        for forgery in &forgeries {
            assert_not_listed(victim, &forgery.body.doc_id);
        }
        assert_verifies(victim);
    }
}

/// 7. A message larger than `server.max_message_bytes`: refused by the gRPC
///    decoder, the session ends, what came before it in the stream stays.
#[test]
fn an_oversized_message_is_refused_and_the_peer_cut_off() {
    let key = NodeKey::generate().unwrap();
    let title = "Quotas for women in security-sector recruitment";
    let h1 = honest(&key, 1, EntryHash::default(), "honestaaaaaa", title);
    let h2 = honest(
        &key,
        2,
        h1.hash(),
        "secondaaaaaa",
        "Inside the oversized message",
    );
    let script: Script = {
        let (h1, h2) = (h1.clone(), h2.clone());
        Box::new(move |_| {
            vec![
                message(&[&h1]),
                raw_message(vec![h2.encode(), noise(MAX_MESSAGE, 7)]),
            ]
        })
    };
    let fx = Fixture::start(key, |_, _| script);
    let too_large = "decoded message length too large";
    let limit = format!("the limit is: {MAX_MESSAGE} bytes");
    for victim in fx.victims() {
        wait_logged(
            victim,
            &["peer session ended", "peer=FRA", too_large, &limit],
        );
        wait_last_error(victim, &fx.fake.id, too_large);
        fx.assert_cut_off_with_backoff(victim);
        wait_listed(victim, &h1, title);
        assert_holds_exactly(victim, &fx.fake.id, &[&h1]);
        assert_not_listed(victim, &h2.body.doc_id);
        assert_verifies(victim);
    }
}

/// 7a. A message of more entries than a batch may hold (1,024), each of
///     them small. The session reads messages one ahead of the writer
///     (`sync::Pipeline`), which counts them and does not decode or check
///     such a message. The peer is cut off; what came before stays;
///     nothing of the message is stored.
#[test]
fn a_message_of_too_many_entries_is_refused_and_the_peer_cut_off() {
    let key = NodeKey::generate().unwrap();
    let title = "Women in ceasefire monitoring";
    let h1 = honest(&key, 1, EntryHash::default(), "honestaaaaaa", title);
    let h2 = honest(&key, 2, h1.hash(), "secondaaaaaa", "One of too many");
    let script: Script = {
        let (h1, h2) = (h1.clone(), h2.clone());
        Box::new(move |_| vec![message(&[&h1]), raw_message(vec![h2.encode(); 1025])])
    };
    let fx = Fixture::start(key, |_, _| script);
    let too_many = "peer sent 1025 entries in one message; the limit is 1024";
    for victim in fx.victims() {
        wait_logged(victim, &["disconnecting the peer", too_many]);
        wait_last_error(victim, &fx.fake.id, too_many);
        fx.assert_cut_off_with_backoff(victim);
        wait_listed(victim, &h1, title);
        assert_holds_exactly(victim, &fx.fake.id, &[&h1]);
        assert_not_listed(victim, &h2.body.doc_id);
        assert_verifies(victim);
    }
}

/// 7b. A compressed message that expands past `server.max_message_bytes`
///     (a zstd bomb: four times the cap of zeros, a few kB on the wire):
///     the decoder stops at the cap, the peer is cut off as oversized, what
///     came before it in the stream stays.
#[test]
fn a_compressed_message_expanding_past_the_cap_is_refused_and_the_peer_cut_off() {
    let key = NodeKey::generate().unwrap();
    let title = "Women's protection advisers in field missions";
    let h1 = honest(&key, 1, EntryHash::default(), "honestaaaaaa", title);
    let h2 = honest(&key, 2, h1.hash(), "secondaaaaaa", "Inside the bomb");
    let script: Script = {
        let (h1, h2) = (h1.clone(), h2.clone());
        Box::new(move |_| {
            vec![
                message(&[&h1]),
                raw_message(vec![h2.encode(), vec![0; 4 * MAX_MESSAGE]]),
            ]
        })
    };
    let fx = Fixture::start(key, |_, _| script);
    let bomb = "exceeded while decompressing message";
    for victim in fx.victims() {
        wait_logged(victim, &["peer session ended", "peer=FRA", bomb]);
        wait_last_error(victim, &fx.fake.id, bomb);
        fx.assert_cut_off_with_backoff(victim);
        wait_listed(victim, &h1, title);
        assert_holds_exactly(victim, &fx.fake.id, &[&h1]);
        assert_not_listed(victim, &h2.body.doc_id);
        assert_verifies(victim);
    }
}

/// 7c. Version 2: a peer that answers `Heads` "unchanged" to a digest the
///     victim never sent (it sent none) is cut off; the entry it streamed
///     honestly stays.
#[test]
fn a_peer_claiming_unchanged_heads_for_a_digest_never_sent_is_cut_off() {
    let key = NodeKey::generate().unwrap();
    let title = "A national network of women mediators";
    let h1 = honest(&key, 1, EntryHash::default(), "honestaaaaaa", title);
    let script: Script = {
        let h1 = h1.clone();
        Box::new(move |_| vec![message(&[&h1])])
    };
    let lie = pb::HeadsResponse {
        unchanged: true,
        digest: vec![7; 32],
        ..Default::default()
    };
    let fx = Fixture::start_with(key, Some(lie), |_, _| script);
    let needle = "peer said its heads were unchanged";
    for victim in fx.victims() {
        wait_logged(victim, &["disconnecting the peer", needle]);
        wait_last_error(victim, &fx.fake.id, needle);
        fx.assert_cut_off_with_backoff(victim);
        wait_listed(victim, &h1, title);
        assert_holds_exactly(victim, &fx.fake.id, &[&h1]);
        assert_verifies(victim);
    }
}

/// 7d. Protocol 2's chained messages (each entry after the first without
///     its `prev`, which the receiver puts back): a run reordered, an
///     entry truncated, an entry of another branch of the log spliced in,
///     an entry forged. Each is refused and the peer cut off, one variant per
///     session; the honest chained run that opens every session is kept,
///     and once the fake sends only honest runs it stays connected and its
///     next entry arrives.
#[test]
fn chained_runs_reordered_truncated_spliced_or_forged_are_refused() {
    let key = NodeKey::generate().unwrap();
    let title = "Women in the security-sector reform steering group";
    let h1 = honest(&key, 1, EntryHash::default(), "chainaaaaaaa", title);
    let h2 = honest(&key, 2, h1.hash(), "chainbbbbbbb", "Second of the run");
    let h3 = honest(&key, 3, h2.hash(), "chainccccccc", "Third of the run");
    // Entry 3 of another branch of the log (signed after h1, not h2),
    // spliced into the run after h2.
    let spliced = honest(&key, 3, h1.hash(), "splicedaaaaa", "Spliced in");
    let mut forged = h3.clone();
    forged.body.doc_id = record_id(FAKE, "practice", "forgedaaaaaa");
    let script: Script = {
        let (h1, h2, h3, spliced, forged) = (
            h1.clone(),
            h2.clone(),
            h3.clone(),
            spliced.clone(),
            forged.clone(),
        );
        Box::new(move |session| {
            let opening = chained_message(&[&h1, &h2]);
            let bad = match session {
                // h3 put back after h1: its prev is h2's hash.
                0 => chained_message(&[&h1, &h3, &h2]),
                1 => {
                    let mut m = chained_message(&[&h2, &h3]);
                    m.entries[1].truncate(30);
                    m
                }
                2 => chained_message(&[&h2, &spliced]),
                3 => chained_message(&[&h2, &forged]),
                _ => return vec![opening, chained_message(&[&h2, &h3])],
            };
            vec![opening, bad]
        })
    };
    let fx = Fixture::start(key, |_, _| script);
    for victim in fx.victims() {
        wait_for(
            &format!("{} to go through every variant", victim.dir.member),
            victim,
            || fx.fake.sessions(victim).len() >= 5,
        );
        let sessions = fx.fake.sessions(victim);
        assert!(
            sessions[..4].iter().all(|s| s.dropped.is_some()),
            "{}: each bad variant ends its session",
            victim.dir.member
        );
        wait_logged(
            victim,
            &[
                "disconnecting the peer",
                "a chained entry of impossible length",
            ],
        );
        wait_logged(
            victim,
            &["disconnecting the peer", "the signature does not verify"],
        );
        wait_listed(victim, &h3, "Third of the run");
        assert_holds_exactly(victim, &fx.fake.id, &[&h1, &h2, &h3]);
        assert_not_listed(victim, &spliced.body.doc_id);
        assert_not_listed(victim, &forged.body.doc_id);
        // Honest runs only from the fifth session on: it stays.
        let rounds = fx.fake.rounds(victim);
        wait_for("three more anti-entropy rounds", victim, || {
            fx.fake.rounds(victim) >= rounds + 3
        });
        let sessions = fx.fake.sessions(victim);
        assert_eq!(sessions.len(), 5, "{}: {sessions:?}", victim.dir.member);
        assert!(sessions[4].dropped.is_none(), "{sessions:?}");
        assert_verifies(victim);
    }
}

/// 8. Bytes that are not an entry: the whole message is dropped (including
///    the honest entry before them in it), the peer cut off; an honest
///    entry in the stream's earlier message is kept.
#[test]
fn random_bytes_instead_of_an_entry_cut_the_peer_off() {
    let key = NodeKey::generate().unwrap();
    let title = "Survivor-centred reparations programme";
    let h1 = honest(&key, 1, EntryHash::default(), "honestaaaaaa", title);
    let h2 = honest(&key, 2, h1.hash(), "secondaaaaaa", "Next to the garbage");
    let garbage = noise(300, 0x5eed);
    let truncated = h2.encode()[..60].to_vec();
    let script: Script = {
        let (h1, h2) = (h1.clone(), h2.clone());
        Box::new(move |session| {
            let bad = if session == 0 {
                vec![h2.encode(), garbage.clone()]
            } else {
                vec![truncated.clone()]
            };
            vec![message(&[&h1]), raw_message(bad)]
        })
    };
    let fx = Fixture::start(key, |_, _| script);
    let fra = fx.fake.id.to_string();
    let cut = "disconnecting the peer";
    for victim in fx.victims() {
        wait_logged(
            victim,
            &[cut, &fra, "malformed log entry: not a focal.log-entry.v1"],
        );
        wait_logged(victim, &[cut, &fra, "malformed log entry: truncated"]);
        wait_last_error(
            victim,
            &fx.fake.id,
            "garbage from peer: malformed log entry",
        );
        fx.assert_cut_off_with_backoff(victim);
        wait_listed(victim, &h1, title);
        assert_holds_exactly(victim, &fx.fake.id, &[&h1]);
        assert_not_listed(victim, &h2.body.doc_id);
        assert_verifies(victim);
    }
}

/// The control: a fake peer that sends only its honest entry is pulled
/// from, by the victims only (the node's own TLS verifier refuses any other
/// client), and is never cut off. So every cut above is the node reacting
/// to the crafted entries, not to the harness.
#[test]
fn an_honest_fake_peer_stays_connected() {
    let key = NodeKey::generate().unwrap();
    let title = "Only honest entries";
    let h1 = honest(&key, 1, EntryHash::default(), "honestaaaaaa", title);
    let script: Script = {
        let h1 = h1.clone();
        Box::new(move |_| vec![message(&[&h1])])
    };
    let fx = Fixture::start(key, |_, _| script);
    fx.wait_for_pulls();
    for victim in fx.victims() {
        fx.assert_stays_connected(victim);
        wait_listed(victim, &h1, title);
        assert_holds_exactly(victim, &fx.fake.id, &[&h1]);
        let status = fresh_peer_status(victim, &fx.fake.id);
        assert_eq!(status["connected"], true, "{status}");
        assert_eq!(status["rejected"], 0, "{status}");
        assert!(status["last_error"].is_null(), "{status}");
    }
    let victims: Vec<Option<NodeId>> = fx
        .victims()
        .iter()
        .map(|v| Some(NodeId(v.dir.node_key)))
        .collect();
    let calls = fx.fake.calls.lock().unwrap().clone();
    assert!(
        calls.iter().all(|c| victims.contains(&c.victim)),
        "{calls:?}"
    );
}

// ---------------------------------------------------------------------------
// Node bugs found with the fake peer. Each test states what the node should
// do; they are ignored until the node is fixed (see the reasons).

/// A forged entry (bad signature) beyond the victim's head is refused as a
/// gap, or as a broken chain, before its signature is checked: the forgery
/// is never detected, and the peer is not cut off.
#[test]
fn forged_entries_out_of_sequence_cut_the_peer_off() {
    let key = NodeKey::generate().unwrap();
    let h1 = honest(&key, 1, EntryHash::default(), "honestaaaaaa", "Honest");
    let mut beyond = honest(
        &key,
        3,
        EntryHash([7; 32]),
        "gapaaaaaaaaa",
        "Forged, beyond",
    );
    beyond.signature = [0x42; 64];
    let script: Script = {
        let (h1, beyond) = (h1.clone(), beyond.clone());
        Box::new(move |_| vec![message(&[&h1]), message(&[&beyond])])
    };
    let fx = Fixture::start(key, |_, _| script);
    let esp = fx.esp();
    wait_for("ESP to cut the fake peer off or keep it", esp, || {
        fx.fake.sessions(esp).len() >= 2 || fx.fake.rounds(esp) >= 3
    });
    assert!(
        fx.fake.sessions(esp).len() >= 2,
        "a forgery was sent and the peer is still connected:\n{}",
        esp.running().log_text()
    );
}

/// A member's key writes a record under its own id whose envelope says
/// another member owns it: the node stores it and lists it as ESP's
/// (`focal list --owner ESP`). And an ESP user may then edit it (the writer
/// trusts the JSON `owner`): ESP signs an entry every peer refuses, and is
/// cut off by all of them for good.
#[test]
fn a_record_whose_envelope_names_another_owner_is_refused() {
    let key = NodeKey::generate().unwrap();
    let id = record_id(FAKE, "practice", "spoofaaaaaaa");
    let mut json = practice(FAKE, &id, "Looks like ESP's");
    json.insert("owner".to_owned(), "ESP".into());
    json.insert("member".to_owned(), "ESP".into());
    let spoof = signed(
        &key,
        1,
        EntryHash::default(),
        &id,
        vec![creation(Some(key.id()), &json)],
    );
    let script: Script = {
        let spoof = spoof.clone();
        Box::new(move |_| vec![message(&[&spoof])])
    };
    let fx = Fixture::start(key, |_, _| script);
    fx.wait_for_pulls();
    let esp = fx.esp();
    wait_for("ESP to cut the fake peer off or keep it", esp, || {
        fx.fake.sessions(esp).len() >= 2 || fx.fake.rounds(esp) >= 3
    });
    assert_holds_exactly(esp, &fx.fake.id, &[]);
    let owned_by_esp = focal_ok(&esp.conn(), &["--json", "list", "--owner", "ESP"]);
    assert!(!owned_by_esp.contains(&id), "{owned_by_esp}");
}

/// ESP has two nodes (keys): the second one's record reaches the first (here
/// relayed by the fake peer, as any node may relay). A user edits it on the
/// first node. The writer edits the document the ingest path left in its
/// cache, whose Automerge author was never set: the change has no author
/// footer, every peer refuses ESP's entry ("authored by none") and cuts ESP
/// off, and ESP's log is stuck at every peer from then on.
#[test]
fn an_edit_of_a_record_from_another_key_of_the_same_member_replicates() {
    let key = NodeKey::generate().unwrap();
    let second = NodeKey::generate().unwrap();
    let id = record_id("ESP", "practice", "secondnodeaa");
    let record = signed(
        &second,
        1,
        EntryHash::default(),
        &id,
        vec![creation(
            Some(second.id()),
            &practice("ESP", &id, "From ESP's second node"),
        )],
    );
    let fx = Fixture::start(key, |net, _| {
        // ESP's second node key, at ESP's endpoint (the roster keeps one
        // endpoint list per member).
        focal_ok(
            &net.secretariat.conn(),
            &[
                "admin",
                "member",
                "add",
                "--member",
                "ESP",
                "--key",
                &second.id().to_string(),
                "--endpoint",
                &net.members[0].running().addr.to_string(),
            ],
        );
        let record = record.clone();
        Box::new(move |_| vec![message(&[&record])])
    });
    let esp = fx.esp();
    wait_listed(esp, &record, "From ESP's second node");
    focal_ok(
        &esp.conn(),
        &["edit", &id, "--title", "Edited on the first node"],
    );
    let sec = &fx.net.secretariat;
    let conn = sec.conn();
    let edited = || {
        records_on(&conn).iter().any(|r| {
            r["id"] == id.as_str() && r["title"]["en"]["text"] == "Edited on the first node"
        })
    };
    wait_for("SEC to receive the edit or refuse it", sec, || {
        edited() || logged(sec, &["entry refused", "authored by none"])
    });
    assert!(edited(), "{}", sec.running().log_text());
}

/// Bytes of the node's database, with its WAL.
fn database_bytes(node: &TestMember) -> u64 {
    ["focal.db", "focal.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(node.dir.path.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

/// 5. A peer with a valid key floods the victims with entries signed by
///    throwaway keys (unknown to the roster) and with sequence gaps, the
///    same messages in every session. Before, each refusal was one row and
///    one WARN line, forever (470,016 refusals a minute, +137 MB of database
///    and +167 MB of log a minute) and the peer was never cut off. Now the
///    refusals are counted (one row per peer and reason), the recent ones
///    kept in a ring, the log sampled, and the peer cut off after
///    `max_refusals_per_session` refusals, backing off between sessions;
///    honest replication goes on.
#[test]
fn a_flood_of_unknown_keys_and_gaps_is_counted_bounded_and_cut_off() {
    let key = NodeKey::generate().unwrap();
    // Three messages of 256 entries: 255 by throwaway keys, 1 beyond a gap
    // in the fake peer's own log. Signed once, sent in every session.
    let messages: Vec<pb::PullResponse> = (0..3u64)
        .map(|m| {
            let mut entries: Vec<Vec<u8>> = (0..255u64)
                .map(|i| {
                    let stranger = NodeKey::generate().unwrap();
                    // Record suffixes are base32 letters: spell the number.
                    let n = m * 1000 + i;
                    let suffix: String = std::iter::once("flood".to_owned())
                        .chain((0..7).rev().map(|d| {
                            char::from(b'a' + ((n / 26u64.pow(d)) % 26) as u8).to_string()
                        }))
                        .collect();
                    let id = record_id(FAKE, "practice", &suffix);
                    let change = creation(Some(stranger.id()), &practice(FAKE, &id, "Flood"));
                    signed(&stranger, 1, EntryHash::default(), &id, vec![change]).encode()
                })
                .collect();
            let gap = honest(&key, 5 + m, EntryHash::default(), "gapgapgapgap", "Gap");
            entries.push(gap.encode());
            raw_message(entries)
        })
        .collect();
    let script: Script = Box::new(move |_| messages.clone());
    let fx = Fixture::start(key, |_, _| script);
    fx.wait_for_pulls();
    let started = Instant::now();
    let fake = fx.fake.id.to_string();
    for victim in fx.victims() {
        fx.assert_cut_off_with_backoff(victim);
        wait_last_error(victim, &fx.fake.id, "max_refusals_per_session");
    }
    // Honest replication goes on while the flood does.
    let title = "Gender advisers in every peace operation";
    let id = add_practice(&fx.esp().conn(), title);
    wait_for(
        "ESP's practice at the secretariat",
        &fx.net.secretariat,
        || {
            records_on(&fx.net.secretariat.conn())
                .iter()
                .any(|r| r["id"] == id.as_str())
        },
    );
    let elapsed_minutes = started.elapsed().as_secs() / 60 + 1;
    for victim in fx.victims() {
        let db = database(victim);
        let (counted, rows): (i64, i64) = db
            .query_row(
                "SELECT coalesce(sum(count), 0), count(*) FROM refusal_counts WHERE peer = ?1",
                [&fake],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        // Three sessions at least, each cut after more than 512 refusals.
        assert!(
            counted > 3 * 512,
            "{}: {counted} refusals counted",
            victim.dir.member
        );
        assert!(
            rows <= 3,
            "{}: {rows} count rows for one peer",
            victim.dir.member
        );
        let unknown: i64 = db
            .query_row(
                "SELECT count FROM refusal_counts WHERE peer = ?1 AND reason = 'unknown_key'",
                [&fake],
                |r| r.get(0),
            )
            .unwrap();
        assert!(unknown > 512, "{unknown}");
        let ring: i64 = db
            .query_row("SELECT count(*) FROM rejections", [], |r| r.get(0))
            .unwrap();
        assert!(
            ring <= focal_node::engine::ingest::RECENT_REFUSALS,
            "{}: {ring} refusals kept",
            victim.dir.member
        );
        // The ring keeps evidence: the refused entry's identity (hash,
        // signed header, signature, changes' hashes), not its content.
        let (seq, evidence): (i64, Vec<u8>) = db
            .query_row(
                "SELECT seq, evidence FROM rejections WHERE peer = ?1 ORDER BY id DESC LIMIT 1",
                [&fake],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let evidence: Value = serde_json::from_slice(&evidence).unwrap();
        assert_eq!(evidence["seq"], seq, "{evidence}");
        assert_eq!(
            evidence["hash"].as_str().map(str::len),
            Some(64),
            "{evidence}"
        );
        assert_eq!(
            evidence["changes"][0]["sha256"].as_str().map(str::len),
            Some(64)
        );
        drop(db);
        let bytes = database_bytes(victim);
        assert!(
            bytes < 16 << 20,
            "{}: database of {bytes} bytes",
            victim.dir.member
        );
        let log = victim.running().log_text();
        let refused_lines = log.lines().filter(|l| l.contains("entry refused")).count() as u64;
        assert!(
            refused_lines <= 30 * elapsed_minutes,
            "{}: {refused_lines} 'entry refused' lines in {elapsed_minutes} min",
            victim.dir.member
        );
        assert!(
            log.len() < 2 << 20,
            "{}: {} bytes of log",
            victim.dir.member,
            log.len()
        );
        // The status shows the counts.
        let status = focal_tests::status_of(&victim.dir.path);
        assert!(
            status["refusal_counts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["peer"] == fake.as_str() && c["reason"] == "unknown_key"),
            "{status}"
        );
        assert_holds_exactly(victim, &fx.fake.id, &[]);
        assert_verifies(victim);
    }
}

/// 9. A panic while storing an entry (injected in a debug build: the node
///    panics after the entry's row is written, before its savepoint is
///    released) used to take the single writer thread down, and every write
///    with it. Now the entry is refused, nothing of it is stored, its sender
///    is cut off, and the node goes on serving writes, reads and its other
///    peers. A local write that panics the same way fails alone.
#[test]
fn a_panic_while_storing_refuses_that_entry_and_the_node_goes_on() {
    const TRIGGER: &str = "Injected-fault-7f3a";
    // Members pull from the secretariat only, so that what NAM writes
    // reaches the secretariat from NAM alone.
    let mut net = TestNetwork::start(&["ESP", "NAM"], |_, dir| {
        dir.set_config("# mesh = true", "mesh = false");
    });
    {
        let sec = &mut net.secretariat;
        sec.stop();
        std::fs::write(sec.dir.path.join("test-fault-panic-on"), TRIGGER).unwrap();
        sec.start();
    }
    let sec = &net.secretariat;
    let (esp, nam) = (&net.members[0], &net.members[1]);
    let nam_key = NodeId(nam.dir.node_key);
    // NAM's record makes the secretariat's writer panic.
    let poisoned = add_practice(&nam.conn(), &format!("Practice {TRIGGER}"));
    wait_logged(
        sec,
        &[
            "entry refused",
            "failed unexpectedly",
            "injected test fault",
        ],
    );
    wait_logged(sec, &["disconnecting the peer", "failed unexpectedly"]);
    // The secretariat goes on: its own writes, ESP's, reads.
    let own = add_practice(&sec.conn(), "Secretariat practice after the panic");
    let from_esp = add_practice(&esp.conn(), "ESP practice after the panic");
    for id in [&own, &from_esp] {
        wait_for(&format!("{id} on the secretariat"), sec, || {
            records_on(&sec.conn())
                .iter()
                .any(|r| r["id"] == id.as_str())
        });
        wait_for(&format!("{id} on ESP"), esp, || {
            records_on(&esp.conn())
                .iter()
                .any(|r| r["id"] == id.as_str())
        });
    }
    assert_not_listed(sec, &poisoned);
    assert_holds_exactly(sec, &nam_key, &[]);
    wait_rejection(sec, &nam_key, 1, "failed unexpectedly");
    // A local write that panics fails alone, with a clear error; the next
    // one takes the sequence number it did not consume.
    let out = focal_tests::focal_at(
        &sec.conn(),
        &[
            "practice",
            "add",
            "--kind",
            "best-practice",
            "--title",
            &format!("Local {TRIGGER}"),
            "--theme",
            "peacekeeping",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("failed unexpectedly"), "{err}");
    let after = add_practice(&sec.conn(), "Secretariat practice after a failed write");
    wait_for("the secretariat's next write on ESP", esp, || {
        records_on(&esp.conn())
            .iter()
            .any(|r| r["id"] == after.as_str())
    });
    assert!(
        !records_on(&sec.conn())
            .iter()
            .any(|r| r["title"]["en"]["text"]
                .as_str()
                .is_some_and(|t| t.contains(TRIGGER))),
        "a record of a panicked write was stored"
    );
    // What the refused entry and the failed write left: bounded. (Memory
    // peaks at ~30 MB; with RUST_BACKTRACE=1 in the environment, the debug
    // node symbolizes the contained panic's backtrace once, reading its own
    // debug information: ~320 MB.)
    let backtraces = std::env::var("RUST_BACKTRACE").is_ok_and(|v| v != "0");
    let bound: u64 = if backtraces { 450 << 20 } else { 100 << 20 };
    for node in [sec, esp] {
        let peak = focal_tests::proc_status_bytes(node.running().pid(), "VmHWM:").expect("VmHWM");
        let log = node.running().log_text().len();
        let database = database_bytes(node);
        eprintln!(
            "{}: peak memory {peak} B, log {log} B, database {database} B",
            node.dir.member
        );
        assert!(
            peak < bound,
            "{}: peak memory {peak} B (bound {bound} B)",
            node.dir.member
        );
        assert!(log < 2 << 20, "{}: {log} bytes of log", node.dir.member);
        assert!(
            database < 16 << 20,
            "{}: database of {database} B",
            node.dir.member
        );
    }
    assert_verifies(sec);
}
