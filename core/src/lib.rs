//! Focal's core: what every node, client and tool agrees on, without I/O.
//!
//! - [`member`], [`identity`]: member codes and ed25519 node keys;
//! - [`codec`]: the canonical binary encodings' reader and writer;
//! - [`log`]: signed log entries, their hash chain, logs and their heads;
//! - [`fork`]: proofs that a key signed two entries at one position;
//! - [`handover`], [`network`]: signed key hand-overs and network ids;
//! - [`roster`]: who is in the network, with which keys and standing;
//! - [`doc`], [`records`], [`limits`]: Automerge documents as JSON, the
//!   record types' schemas, and the limits every node enforces;
//! - [`json`], [`clock`]: JSON merge patch, and the one time format.
//!
//! Nothing here touches a database, the network or an async runtime.

#![deny(missing_docs)]

pub mod clock;
pub mod codec;
pub mod doc;
pub mod fork;
pub mod handover;
pub mod identity;
pub mod json;
pub mod limits;
pub mod log;
pub mod member;
pub mod network;
pub mod records;
pub mod roster;
pub mod schema;
