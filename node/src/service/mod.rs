//! The gRPC services clients use: records, admin and views, with the bearer
//! token checks and the mapping of errors to gRPC statuses.
//!
//! Depends on `views`, `engine` (the writer handle), `store` (reads) and the
//! core; runs no SQL of its own.

pub mod api;
pub mod status;
pub mod views;
