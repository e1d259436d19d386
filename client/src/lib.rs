//! The Focal client library: how an app reaches its local node.
//!
//! [`transport`] opens pinned-TLS gRPC channels, [`connection`] parses the
//! connection strings operators hand out, and [`client`] wraps the generated
//! service clients with the bearer token.
//!
//! [`fields`] is the `focal` CLI's flag table. Only the CLI builds commands
//! from it, but it stays in the library because the integration test
//! `tests/tests/record_types.rs` checks it against the node's schema.

#![deny(missing_docs)]

pub mod client;
pub mod connection;
pub mod fields;
pub mod transport;

pub use client::{Client, ClientError};
pub use connection::ConnectionString;
pub use transport::{NodeTarget, TransportError, connect};
