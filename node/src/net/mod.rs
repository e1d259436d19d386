//! The network layer: TLS identities, accepted connections and their caps,
//! the peer service (what this node serves other nodes) and sync (what it
//! asks of them).
//!
//! Depends on `engine`, `store`, `base` and the core.

pub mod connections;
pub mod peer;
pub mod sync;
pub mod tls;
