//! Safe retries: a create that carries a request id is made once, however
//! often it is sent, across restarts and concurrent retries; reusing the id
//! for another request is refused.

use focal_proto::v1 as pb;
use focal_tests::{
    assert_fails_with, client_for, connection_for, focal_at, focal_ok, json, records_on,
    single_node,
};

fn add(conn: &str, title: &str, request_id: &str) -> std::process::Output {
    focal_at(
        conn,
        &[
            "--json",
            "practice",
            "add",
            "--kind",
            "best-practice",
            "--title",
            title,
            "--theme",
            "peacekeeping",
            "--request-id",
            request_id,
        ],
    )
}

fn added(conn: &str, title: &str, request_id: &str) -> String {
    let out = add(conn, title, request_id);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&String::from_utf8_lossy(&out.stdout))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn count_titled(conn: &str, title: &str) -> usize {
    records_on(conn)
        .iter()
        .filter(|r| r["title"]["en"]["text"] == title)
        .count()
}

#[test]
fn a_retried_create_answers_the_record_the_first_one_made() {
    let mut node = single_node("ESP");
    let request = "9b1f4c2e-5a7d-4e33-8c10-2f6a7b8c9d0e";
    let title = "Gender budgeting in the NAP";
    let first = added(&node.conn, title, request);
    // Retried, as a client that lost the answer would.
    assert_eq!(added(&node.conn, title, request), first);
    // An edit in between: the retry answers the record as it is now.
    focal_ok(&node.conn, &["edit", &first, "--summary", "Edited since"]);
    assert_eq!(added(&node.conn, title, request), first);
    assert_eq!(count_titled(&node.conn, title), 1);

    // Remembered across a restart.
    let token = node.conn.clone();
    assert!(node.node.terminate().success());
    node.node = node.dir.start();
    node.conn = connection_for(&node.node, &token);
    assert_eq!(added(&node.conn, title, request), first);
    assert_eq!(count_titled(&node.conn, title), 1);

    // The same id for another request is refused, and stores nothing.
    let out = add(&node.conn, "Another practice", request);
    assert_fails_with(&out, "was already used for a different create");
    assert_eq!(count_titled(&node.conn, "Another practice"), 0);
    // A new id is a new record; a malformed id is refused.
    let second = added(&node.conn, title, "second-request");
    assert_ne!(second, first);
    assert_fails_with(&add(&node.conn, title, "has a space"), "printable ASCII");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_make_one_record() {
    let node = single_node("NAM");
    let client = client_for(&node.conn).await;
    let title = "Women mediators network";
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client
                .records()
                .create(pb::CreateRequest {
                    r#type: "practice".into(),
                    fields_json: serde_json::json!({
                        "kind": "best-practice",
                        "title": title,
                        "themes": ["peacekeeping"],
                    })
                    .to_string(),
                    visibility: String::new(),
                    language: String::new(),
                    request_id: "the-same-request".into(),
                })
                .await
                .map(|r| r.into_inner().id)
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().expect("every retry succeeds"));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(count_titled(&node.conn, title), 1);
}
