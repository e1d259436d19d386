//! `focal-node devnet` (the README's run command) brings up four real nodes,
//! joins them, seeds them, converges, and stops cleanly on SIGTERM.

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use focal_tests::{DEADLINE, bin};

/// A base port with the three after it free.
fn free_base_port() -> u16 {
    for _ in 0..200 {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = probe.local_addr().unwrap().port();
        drop(probe);
        if base > 65000 {
            continue;
        }
        if (0..4).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no four consecutive free ports");
}

#[test]
fn devnet_converges_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base_port();
    let mut child = Command::new(bin("focal-node"))
        .args(["devnet", "--dir"])
        .arg(dir.path().join("net"))
        .args(["--base-port", &base.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let converged = loop {
        match rx.recv_timeout(DEADLINE) {
            Ok(line) => {
                let done = line.starts_with("Converged");
                seen.push(line.clone());
                if done {
                    break line;
                }
            }
            Err(_) => {
                let _ = child.kill();
                let output = child.wait_with_output().unwrap();
                panic!(
                    "devnet did not converge; stdout:\n{}\nstderr:\n{}",
                    seen.join("\n"),
                    String::from_utf8_lossy(&output.stderr)
                );
            }
        }
    };
    assert!(
        converged.contains("every node holds 21 records"),
        "{converged}"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = std::time::Instant::now() + DEADLINE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "devnet exited with {status}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "devnet did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Every node stopped cleanly: no address file left behind.
    for code in ["SEC", "ESP", "NAM", "JPN"] {
        let data = dir.path().join("net").join(code);
        assert!(
            !data.join("focal-node.addr").exists(),
            "{code} did not stop cleanly"
        );
        let log = std::fs::read_to_string(data.with_extension("log")).unwrap();
        assert!(log.contains("focal-node stopped cleanly"), "{code}: {log}");
    }
}
