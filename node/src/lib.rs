//! The Focal node: one member's replica of the WPS Focal Points Network.
//!
//! The core's modules (`focal-core`: members, keys, the signed log, the
//! roster, records, documents, schema versions) are re-exported under the
//! same paths. The node's own modules are in layers, one folder each, lowest
//! first; a module uses its own layer and those below, never one above
//! (checked by `node/tests/tidy.rs`):
//!
//! 1. [`base`]: configuration, counters, log-rate budgets, shutdown;
//! 2. [`store`]: the database, documents, reads, tokens, the data directory;
//! 3. [`engine`]: the single writer and everything it does;
//! 4. [`views`]: the network views, on store reads;
//! 5. [`net`]: TLS, connections, the peer service, sync;
//! 6. [`ops`]: operator commands on a data directory;
//! 7. [`service`]: the gRPC services clients use;
//! 8. [`web`]: the web app for the member's staff;
//! 9. [`server`]: the running node, its metrics endpoint and status report.
//!
//! See `ARCHITECTURE.md` at the repository root for the invariants.

#![deny(missing_docs)]

// The core (`focal-core`), under the paths the node and its tools use.
pub use focal_core::{
    clock, codec, doc, fork, handover, identity, json, limits, log, member, network, records,
    roster, schema,
};

pub mod base;
pub mod engine;
pub mod net;
pub mod ops;
pub mod server;
pub mod service;
pub mod store;
pub mod views;
pub mod web;

#[cfg(test)]
mod tests {
    /// Clients take the envelope's keys from `focal-proto`, the node from
    /// the core: one list.
    #[test]
    fn the_envelope_is_the_same_for_clients_and_the_node() {
        assert_eq!(
            focal_core::records::ENVELOPE_KEYS,
            focal_proto::ENVELOPE_KEYS
        );
    }
}
