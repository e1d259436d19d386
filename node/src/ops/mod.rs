//! Operator commands that work on a data directory: verify, backup and
//! restore, key rotation, recovering a forked branch, resuming writes.
//!
//! Depends on `net`, `views`, `engine`, `store`, `base` and the core. Their
//! writes go through a writer (`engine::writer`) of their own, started on the
//! stopped node's data directory.

pub mod backup;
pub mod branch;
pub mod resume;
pub mod rotate;
pub mod verify;
