//! The Focal node: one member's replica of the WPS Focal Points Network.
//!
//! Layers, each using only the ones above it:
//! - [`member`], [`identity`]: who the node is (member code, ed25519 key);
//! - [`config`]: the operator's settings;
//! - [`store`]: the SQLite database and its migrations;
//! - [`datadir`]: the data directory that holds all of the above;
//! - [`tls`], [`server`]: the TLS identity and the running gRPC server.
//!
//! See `ARCHITECTURE.md` at the repository root for the invariants.

#![deny(missing_docs)]

pub mod api;
pub mod backup;
pub mod branch;
// Public only to the fuzz targets (`fuzz/`, built with `--cfg fuzzing`),
// which drive the reader directly.
#[cfg(fuzzing)]
pub mod codec;
#[cfg(not(fuzzing))]
mod codec;
pub mod config;
pub mod connections;
pub mod contact;
pub mod datadir;
pub mod doc;
pub mod fault;
pub mod fork;
pub mod handover;
pub mod idempotency;
pub mod identity;
pub mod ingest;
pub mod intake;
pub mod limits;
pub mod log;
pub mod lograte;
pub mod member;
pub mod membership;
pub mod metrics;
pub mod network;
pub mod peer;
pub mod progress;
pub mod query;
pub mod records;
pub mod recovery;
pub mod revocation;
pub mod roster;
pub mod rotate;
pub mod server;
pub mod store;
pub mod sync;
pub mod tls;
pub mod tokens;
pub mod verify;
pub mod view_api;
pub mod views;
pub mod writer;
