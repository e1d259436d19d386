//! The `focal` commands, one family per module; `main.rs` parses the
//! arguments and hands each command to its family.
//!
//! - [`node`]: which node to talk to and how (`--node`, `--node-key`,
//!   `--token`, the config file), `focal info`, and how the node's errors read.
//! - [`record_args`]: the per-record-type subcommands and `focal edit`'s
//!   flags, built from the field table, and their flags turned into JSON.
//! - [`records`]: the record commands: `<type> add|list`, `list`, `show`,
//!   `history`, `edit`, `delete`, `watch`.
//! - [`transfer`]: `export` and `import`.
//! - [`admin`]: `focal admin …`, on the secretariat's node.
//! - [`network`]: `focal network …`, the network as this node sees it.
//! - [`views`]: `focal view …`, the network-wide views.
//! - [`output`]: standard output that streams, and how a record prints.
//! - [`fields`]: the fields each record type offers as flags.

pub(crate) mod admin;
pub(crate) mod fields;
pub(crate) mod network;
pub(crate) mod node;
pub(crate) mod output;
pub(crate) mod record_args;
pub(crate) mod records;
pub(crate) mod transfer;
pub(crate) mod views;
