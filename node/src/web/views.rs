//! The network views that have pages beside the directory and the NAP
//! tracker (`pages.rs`): practices, funding, follow-up, meetings.

use axum::Router;

use crate::web::WebApp;

/// The routes.
pub fn routes() -> Router<WebApp> {
    Router::new()
}
