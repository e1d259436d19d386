//! The `focal` commands, one family per module; `main.rs` parses the
//! arguments and hands each command to its family.
//!
//! - [`node`]: which node to talk to and how (`--node`, `--node-key`,
//!   `--token`, the config file), `focal info`, and how the node's errors read.
//! - [`views`]: `focal view …`, the network-wide views.
//! - [`output`]: standard output that streams, and how a record prints.

pub(crate) mod node;
pub(crate) mod output;
pub(crate) mod views;
