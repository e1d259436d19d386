//! The Focal client library: how an app reaches its local node.
//!
//! [`transport`] opens pinned-TLS gRPC channels; the generated service clients
//! of [`focal_proto`] run over them.

#![deny(missing_docs)]

pub mod transport;

pub use transport::{NodeTarget, TransportError, connect};
