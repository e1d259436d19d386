//! Records at the size limit replicate everywhere, and one byte more is
//! refused before anything is signed.
//!
//! The nodes here raise the record limits (`max_text_bytes`,
//! `max_record_json_bytes`) far enough that the binding limit is the one no
//! configuration moves: a signed log entry travels to peers in one message,
//! so it may be at most `MAX_ENTRY_BYTES` (the peer message cap less
//! framing). Records whose entries are exactly that large are written on a
//! member and on the secretariat while the member's link to the secretariat
//! is cut and comes back, and while a fresh node joins and catches up: every
//! node ends up with every record, byte for byte. A record whose entry would
//! be one byte larger is refused with a message that says so, and neither
//! the log nor the records change.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use focal_node::log::MAX_ENTRY_BYTES;
use focal_tests::{NodeDir, Proxy, TestNetwork, focal_at, json, wait_until};
use sha2::{Digest, Sha256};

/// focal.toml changes that let a record's text fill a whole log entry.
fn raise_the_record_limits(dir: &NodeDir) {
    dir.set_config(
        "# max_message_bytes = 4194304",
        "max_message_bytes = 16777216",
    );
    dir.set_config(
        "# max_record_json_bytes = 1048576",
        "max_record_json_bytes = 8388608",
    );
    dir.set_config("# max_text_bytes = 20000", "max_text_bytes = 8388608");
}

/// `n` letters and digits, different for every `seed`, that no compression
/// would shrink much.
fn filler(seed: &str, n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut state = u64::from_le_bytes(Sha256::digest(seed.as_bytes())[..8].try_into().unwrap());
    (0..n)
        .map(|_| {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let x = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
            ALPHABET[(x >> 58) as usize % ALPHABET.len()] as char
        })
        .collect()
}

/// Writes a practice whose summary is `n` bytes long through `focal
/// practice add --from-json FILE` (too large for a command-line argument):
/// its id, or the CLI's error.
fn create_sized(conn: &str, scratch: &Path, title: &str, n: usize) -> Result<String, String> {
    let fields = serde_json::json!({
        "kind": "best-practice",
        "title": {"en": title},
        "summary": {"en": filler(title, n)},
        "themes": ["peacekeeping"],
    });
    let file = scratch.join(format!("{}.json", title.replace(' ', "-")));
    std::fs::write(&file, serde_json::to_vec(&fields).unwrap()).unwrap();
    let out = focal_at(
        conn,
        &[
            "--json",
            "practice",
            "add",
            "--from-json",
            file.to_str().unwrap(),
        ],
    );
    std::fs::remove_file(&file).unwrap();
    if out.status.success() {
        let id = json(&String::from_utf8_lossy(&out.stdout))["id"]
            .as_str()
            .expect("the record has an id")
            .to_owned();
        Ok(id)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The entry size a refusal names ("… a log entry of N bytes …").
#[track_caller]
fn refused_entry_bytes(refusal: &str) -> usize {
    let after = refusal
        .split("a log entry of ")
        .nth(1)
        .unwrap_or_else(|| panic!("not refused for the entry size: {refusal}"));
    after
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no entry size in: {refusal}"))
}

/// The ids of the records a node holds, from its database.
fn ids_in(dir: &NodeDir) -> Vec<String> {
    let db = rusqlite::Connection::open(dir.path.join("focal.db")).unwrap();
    let mut stmt = db.prepare("SELECT id FROM records ORDER BY id").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Entries of a node's own logs (entries received from others arrive at
/// any time).
fn own_entries(dir: &NodeDir) -> i64 {
    let db = rusqlite::Connection::open(dir.path.join("focal.db")).unwrap();
    db.query_row(
        "SELECT count(*) FROM log_entries WHERE origin = ?1",
        [&dir.node_key[..]],
        |r| r.get(0),
    )
    .unwrap()
}

/// The ids of the records of member `code` a node holds.
fn own_ids(dir: &NodeDir, code: &str) -> Vec<String> {
    let prefix = format!("{code}:");
    ids_in(dir)
        .into_iter()
        .filter(|id| id.starts_with(&prefix))
        .collect()
}

/// The size of the log entry that carries the record `id` in `dir`'s log.
fn entry_bytes_of(dir: &NodeDir, id: &str) -> usize {
    let db = rusqlite::Connection::open(dir.path.join("focal.db")).unwrap();
    db.query_row(
        "SELECT max(length(entry)) FROM log_entries WHERE doc_id = ?1",
        [id],
        |r| r.get::<_, i64>(0),
    )
    .unwrap() as usize
}

/// The SHA-256 of a record's summary as a node serves it.
fn summary_digest(conn: &str, id: &str) -> String {
    let out = focal_at(conn, &["--json", "show", id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let record = json(&String::from_utf8_lossy(&out.stdout));
    let english = &record["summary"]["en"];
    let summary = english
        .as_str()
        .or_else(|| english["text"].as_str())
        .unwrap_or_else(|| panic!("no summary in {id}: {}", record["summary"]));
    hex::encode(Sha256::digest(summary.as_bytes()))
}

/// A writer of records at the limit on one node.
struct Writer<'a> {
    conn: String,
    dir: &'a NodeDir,
    scratch: PathBuf,
    code: &'static str,
    written: usize,
}

impl Writer<'_> {
    /// Writes a record whose log entry is exactly `MAX_ENTRY_BYTES`, after
    /// checking that one byte more is refused and changes nothing. The
    /// entry's size grows by one byte per byte of summary, so one refused
    /// probe says how long the summary can be.
    fn at_the_limit(&mut self) -> String {
        self.written += 1;
        // Titles of one length: the entry's overhead is the same for all.
        let title = format!("Large record {} {:03}", self.code, self.written);
        let probe = create_sized(&self.conn, &self.scratch, &title, MAX_ENTRY_BYTES)
            .expect_err("a summary as long as the largest entry cannot fit in one");
        let overhead = refused_entry_bytes(&probe) - MAX_ENTRY_BYTES;
        let fits = MAX_ENTRY_BYTES - overhead;

        let entries_before = own_entries(self.dir);
        let records_before = own_ids(self.dir, self.code);
        let over = match create_sized(&self.conn, &self.scratch, &title, fits + 1) {
            Err(e) => e,
            Ok(id) => panic!(
                "one byte over was accepted: {id}, in an entry of {} bytes",
                entry_bytes_of(self.dir, &id)
            ),
        };
        assert_eq!(
            refused_entry_bytes(&over),
            MAX_ENTRY_BYTES + 1,
            "the refusal names the entry's size: {over}"
        );
        assert!(
            over.contains(&format!("({MAX_ENTRY_BYTES} bytes"))
                && over.contains("nothing was signed or stored"),
            "the refusal says what the limit is and that nothing was stored: {over}"
        );
        assert_eq!(own_entries(self.dir), entries_before, "nothing was signed");
        assert_eq!(
            own_ids(self.dir, self.code),
            records_before,
            "no record was stored"
        );

        let id = create_sized(&self.conn, &self.scratch, &title, fits)
            .unwrap_or_else(|e| panic!("a record at the limit is accepted: {e}"));
        assert_eq!(
            entry_bytes_of(self.dir, &id),
            MAX_ENTRY_BYTES,
            "the record's entry is exactly at the limit"
        );
        id
    }
}

#[test]
fn records_at_the_size_limit_reach_every_node_and_one_byte_more_is_refused_unsigned() {
    let mut net = TestNetwork::start(&["ESP"], |_, dir| raise_the_record_limits(dir));
    net.secretariat.stop();
    raise_the_record_limits(&net.secretariat.dir);
    net.secretariat.start();
    // ESP reaches the secretariat only through a proxy the test controls.
    let proxy = Proxy::start(net.secretariat.running().addr);
    net.member("ESP").reach_the_secretariat_only_through(&proxy);

    let scratch = tempfile::tempdir().unwrap();
    let esp_conn = net.member("ESP").conn();
    let sec_conn = net.secretariat.conn();
    let mut written: BTreeMap<String, &'static str> = BTreeMap::new();
    {
        let esp_dir = &net.members[0].dir;
        let mut esp = Writer {
            conn: esp_conn.clone(),
            dir: esp_dir,
            scratch: scratch.path().to_owned(),
            code: "ESP",
            written: 0,
        };
        let mut sec = Writer {
            conn: sec_conn.clone(),
            dir: &net.secretariat.dir,
            scratch: scratch.path().to_owned(),
            code: "SEC",
            written: 0,
        };

        // Connected: two on each side.
        for _ in 0..2 {
            written.insert(esp.at_the_limit(), "ESP");
            written.insert(sec.at_the_limit(), "SEC");
        }
        // The link is cut: both sides write on; then it comes back while
        // they write more.
        proxy.cut();
        written.insert(esp.at_the_limit(), "ESP");
        written.insert(sec.at_the_limit(), "SEC");
        proxy.restore();
        written.insert(esp.at_the_limit(), "ESP");
        written.insert(sec.at_the_limit(), "SEC");
        wait_until("ESP and the secretariat to hold every large record", || {
            [esp_dir, &net.secretariat.dir].iter().all(|dir| {
                let held = ids_in(dir);
                written.keys().all(|id| held.contains(id))
            })
        });
    }

    // A fresh node joins and catches up while both sides write more.
    net.join("JPN", raise_the_record_limits);
    let (esp_dir, sec_dir) = (&net.members[0].dir, &net.secretariat.dir);
    let mut esp = Writer {
        conn: esp_conn.clone(),
        dir: esp_dir,
        scratch: scratch.path().to_owned(),
        code: "ESP",
        written: 10,
    };
    let mut sec = Writer {
        conn: sec_conn.clone(),
        dir: sec_dir,
        scratch: scratch.path().to_owned(),
        code: "SEC",
        written: 10,
    };
    written.insert(esp.at_the_limit(), "ESP");
    written.insert(sec.at_the_limit(), "SEC");
    let jpn_dir = &net.members[1].dir;
    wait_until("every node to hold every large record", || {
        [esp_dir, sec_dir, jpn_dir].iter().all(|dir| {
            let held = ids_in(dir);
            written.keys().all(|id| held.contains(id))
        })
    });

    // Byte for byte: the summaries every node serves are the ones written.
    let jpn_conn = net.members[1].conn();
    for (id, code) in &written {
        let origin = if *code == "ESP" { &esp_conn } else { &sec_conn };
        let expected = summary_digest(origin, id);
        for conn in [&esp_conn, &sec_conn, &jpn_conn] {
            assert_eq!(summary_digest(conn, id), expected, "{id} differs");
        }
    }
    // Nothing was refused or cut off on the way.
    for member in net.all() {
        let log = member.running().log_text();
        assert!(
            !log.contains("too large") && !log.contains("cut off"),
            "{}: {log}",
            member.dir.member
        );
    }
}
