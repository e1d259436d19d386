//! The engine: the single writer and everything it does inside its
//! transactions.
//!
//! - [`writer`]: the writer thread, its jobs and batches (group commit),
//!   local writes, roster changes, the restore fence's writes;
//! - [`ingest`] and [`intake`]: entries from peers, checked outside the
//!   writer ([`intake`]) and applied inside it ([`ingest`]), fork proofs;
//! - [`revocation`]: cutting a revoked key's entries out of documents;
//! - [`contact`]: keeping a focal point's contact details in their
//!   companion record;
//! - [`idempotency`]: request ids of creates;
//! - [`membership`]: planning roster changes;
//! - [`recovery`]: the restore fence and the start check.
//!
//! Depends on `store`, `base` and the core. Nothing else writes to the
//! database while a node runs.

pub mod contact;
pub mod idempotency;
pub mod ingest;
pub mod intake;
pub mod membership;
pub mod recovery;
pub mod revocation;
pub mod writer;
