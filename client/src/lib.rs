//! The Focal client library: how an app reaches its local node.
//!
//! [`transport`] opens pinned-TLS gRPC channels, [`connection`] parses the
//! connection strings operators hand out, and [`client`] wraps the generated
//! service clients with the bearer token. (The `focal` CLI's flag table is
//! the binary's own, `src/cli/fields.rs`.)

#![deny(missing_docs)]

pub mod client;
pub mod connection;
pub mod transport;

pub use client::{Client, ClientError};
pub use connection::ConnectionString;
pub use transport::{NodeTarget, TransportError, connect};
