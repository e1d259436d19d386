//! The gRPC services clients use: [`records`], [`admin`] and [`views`], on
//! the shared state of [`api`], with the bearer-token checks of [`auth`]
//! and the mapping of errors to gRPC statuses of [`status`].
//!
//! Depends on `views`, `engine` (the writer handle), `store` (reads) and the
//! core; runs no SQL of its own.

pub mod admin;
pub mod api;
pub mod auth;
pub mod records;
pub mod status;
pub mod views;
