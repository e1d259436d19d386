//! A node killed with SIGKILL in the middle of a stream of writes restarts
//! with every acknowledged write present, and `focal-node verify` finds the
//! store clean. Repeated at 20 kill points.

use std::sync::{Arc, Mutex};

use focal_proto::v1 as pb;
use focal_tests::{NodeDir, RunningNode, client_for, connection_for};

const KILL_POINTS: usize = 20;
const WRITERS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_never_loses_an_acknowledged_write() {
    let dir = NodeDir::init("NAM");
    let token = dir.token("crash-test");
    let mut acknowledged: Vec<String> = Vec::new();
    let mut updated: Vec<(String, String)> = Vec::new();

    for point in 0..KILL_POINTS {
        let node = dir.start();
        let connection = connection_for(&node, &token);
        let client = client_for(&connection).await;
        let acked = Arc::new(Mutex::new(Vec::<String>::new()));
        let edits = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let client = client.clone();
            let acked = acked.clone();
            let edits = edits.clone();
            writers.push(tokio::spawn(async move {
                // Each record gets exactly one update (in the writer's next
                // round), so an acknowledged update has exactly one right
                // outcome.
                let mut previous: Option<String> = None;
                for i in 0.. {
                    let title = format!("Practice {point}-{w}-{i}");
                    let fields = serde_json::json!({
                        "kind": "best-practice",
                        "title": title,
                        "themes": ["capacity-building"],
                    });
                    let created = client
                        .records()
                        .create(pb::CreateRequest {
                            r#type: "practice".into(),
                            fields_json: fields.to_string(),
                            visibility: String::new(),
                            language: String::new(),
                            request_id: String::new(),
                        })
                        .await;
                    let id = match created {
                        Ok(record) => record.into_inner().id,
                        Err(_) => return,
                    };
                    acked.lock().unwrap().push(id.clone());
                    // Updates too, so kills also land in the middle of
                    // updates.
                    if let Some(id) = previous.replace(id) {
                        let summary = format!("edit {point}-{w}-{i}");
                        let patch = serde_json::json!({ "summary": summary });
                        let result = client
                            .records()
                            .update(pb::UpdateRequest {
                                id: id.clone(),
                                patch_json: patch.to_string(),
                                language: String::new(),
                            })
                            .await;
                        match result {
                            Ok(_) => edits.lock().unwrap().push((id.clone(), summary)),
                            Err(_) => return,
                        }
                    }
                }
            }));
        }
        // Kill at a different moment each time: after a number of
        // acknowledged writes that grows with the kill point.
        let target = 5 + point * 7;
        focal_tests::eventually("writes to be acknowledged", || {
            let acked = acked.clone();
            async move { (acked.lock().unwrap().len() >= target).then_some(()) }
        })
        .await;
        node.signal(nix::sys::signal::Signal::SIGKILL);
        let mut node = node;
        let _ = node.wait();
        for writer in writers {
            let _ = writer.await;
        }
        acknowledged.extend(acked.lock().unwrap().iter().cloned());
        updated.extend(edits.lock().unwrap().iter().cloned());
        check_everything_is_there(&dir, &token, &acknowledged, &updated).await;
    }
    let out = dir.verify();
    assert!(
        out.status.success(),
        "verify after {KILL_POINTS} kills: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(acknowledged.len() >= KILL_POINTS * 5);
}

async fn check_everything_is_there(
    dir: &NodeDir,
    token: &str,
    acknowledged: &[String],
    updated: &[(String, String)],
) {
    let mut node: RunningNode = dir.start();
    let client = client_for(&connection_for(&node, token)).await;
    for id in acknowledged {
        let record = client
            .records()
            .get(pb::GetRequest { id: id.clone() })
            .await
            .unwrap_or_else(|e| panic!("acknowledged record {id} is missing: {e}"))
            .into_inner();
        assert_eq!(&record.id, id);
    }
    for (id, summary) in updated {
        let record = client
            .records()
            .get(pb::GetRequest { id: id.clone() })
            .await
            .unwrap()
            .into_inner();
        let json: serde_json::Value = serde_json::from_str(&record.json).unwrap();
        let text = json["summary"]["en"]["text"].as_str().unwrap_or_default();
        assert_eq!(text, summary, "record {id} lost its acknowledged update");
    }
    // verify while the node runs (a consistent read snapshot), then stop it.
    let out = dir.verify();
    assert!(
        out.status.success(),
        "verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(node.terminate().success(), "{}", node.log_text());
}
