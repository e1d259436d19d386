//! Every way `focal-node` can be misconfigured gets a specific error and a
//! non-zero exit, and leaves what is stored untouched.

use std::{fs, net::TcpListener, os::unix::fs::PermissionsExt};

use focal_tests::{NodeDir, assert_fails_with, focal_node};

fn run(dir: &NodeDir) -> std::process::Output {
    focal_node(&["run", "--data", dir.path.to_str().unwrap()])
}

#[test]
fn missing_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nowhere");
    let out = focal_node(&["run", "--data", missing.to_str().unwrap()]);
    assert_fails_with(&out, "does not exist");
    assert_fails_with(&out, "focal-node init --data");
    assert!(
        !missing.exists(),
        "run must not create an explicitly named data dir"
    );
}

#[test]
fn data_dir_that_is_not_a_directory_or_cannot_be_read() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("plain-file");
    fs::write(&file, "not a directory").unwrap();
    assert_fails_with(
        &focal_node(&["run", "--data", file.to_str().unwrap()]),
        "is not a directory",
    );
    // A path through a file cannot even be looked at.
    let beneath = file.join("data");
    assert_fails_with(
        &focal_node(&["run", "--data", beneath.to_str().unwrap()]),
        "is not usable",
    );
}

#[test]
fn config_syntax_error_says_where() {
    let dir = NodeDir::init("ESP");
    dir.set_config("log_level = \"info\"", "log_level = info");
    let text = fs::read_to_string(dir.path.join("focal.toml")).unwrap();
    let line = text.lines().position(|l| l == "log_level = info").unwrap() + 1;
    let out = run(&dir);
    assert_fails_with(&out, &format!("focal.toml, line {line}, column 13"));
    assert_fails_with(&out, &format!("{line} | log_level = info"));
}

#[test]
fn unknown_config_key() {
    let dir = NodeDir::init("ESP");
    dir.set_config("# busy_timeout_ms", "busy_timeout = 3\n# busy_timeout_ms");
    let out = run(&dir);
    assert_fails_with(&out, "unknown field `busy_timeout`");
}

#[test]
fn port_already_in_use() {
    let dir = NodeDir::init("ESP");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    dir.set_config("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    let out = run(&dir);
    assert_fails_with(
        &out,
        &format!("cannot listen on 127.0.0.1:{port}: the address is already in use"),
    );
}

#[test]
fn metrics_port_already_in_use() {
    let dir = NodeDir::init("ESP");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    dir.set_config(
        "# listen = \"127.0.0.1:9464\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    );
    let out = run(&dir);
    assert_fails_with(&out, &format!("cannot serve metrics on 127.0.0.1:{port}"));
    // Nothing announces a node that is not running.
    assert!(!dir.path.join("focal-node.addr").exists());
    assert!(!dir.path.join("focal-node.metrics-addr").exists());
}

#[test]
fn key_file_readable_by_others() {
    let dir = NodeDir::init("ESP");
    let key = dir.path.join("node.key");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&dir);
    assert_fails_with(&out, "has mode 0644: others can read it");
    assert_fails_with(&out, "chmod 600");
}

#[test]
fn database_from_a_newer_focal() {
    let dir = NodeDir::init("ESP");
    let db = dir.path.join("focal.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA user_version = 999;")
        .unwrap();
    let before = fs::read(&db).unwrap();
    let out = run(&dir);
    assert_fails_with(&out, "schema version 999");
    assert_fails_with(&out, "written by a newer version of Focal");
    assert_eq!(
        fs::read(&db).unwrap(),
        before,
        "the newer database must be left untouched"
    );
}

#[test]
fn init_refuses_to_overwrite_a_key() {
    let dir = NodeDir::init("ESP");
    let key_before = fs::read(dir.path.join("node.key")).unwrap();
    let out = focal_node(&[
        "init",
        "--data",
        dir.path.to_str().unwrap(),
        "--member",
        "NAM",
    ]);
    assert_fails_with(&out, "refusing to overwrite this node's key");
    assert_eq!(fs::read(dir.path.join("node.key")).unwrap(), key_before);
}

#[test]
fn init_validates_the_member_code() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let out = focal_node(&[
        "init",
        "--data",
        data.to_str().unwrap(),
        "--member",
        "SPAIN",
    ]);
    assert_fails_with(&out, "`SPAIN` is not a member code");
    assert!(!data.exists(), "nothing is created for an invalid member");
}

#[test]
fn init_writes_a_private_key_and_database() {
    let dir = NodeDir::init("NATO");
    for (file, mode) in [("node.key", 0o600), ("focal.db", 0o600)] {
        let actual = fs::metadata(dir.path.join(file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(actual, mode, "{file}");
    }
    let config = fs::read_to_string(dir.path.join("focal.toml")).unwrap();
    assert!(
        config.starts_with("# Focal node configuration."),
        "commented config"
    );
}

#[test]
fn two_nodes_cannot_share_a_data_dir() {
    let dir = NodeDir::init("ESP");
    let mut first = dir.start();
    let out = run(&dir);
    assert_fails_with(&out, "in use by another focal-node process");
    assert!(first.terminate().success());
}
