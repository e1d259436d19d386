//! The shutdown signal every long-running task watches.

use tokio::sync::watch;

/// Resolves once `stop` turns true (or its sender is gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    // An error means the sender is gone: that is a stop as well.
    let _ = stop.wait_for(|stopping| *stopping).await;
}
