//! The store layer: the database and everything read from it.
//!
//! - [`db`]: opening the SQLite file, numbered migrations, clean close;
//! - [`documents`]: loading a stored Automerge document, a record's row;
//! - [`query`]: the read connection pool and every read the services make;
//! - [`contact`]: merging a focal point's contact details back in on read;
//! - [`tokens`]: client bearer tokens;
//! - [`datadir`]: the data directory (key, configuration, lock, database).
//!
//! Depends on `base` and the core only. Writes go through `engine::writer`;
//! the functions here that write (`db`'s migrations, `tokens`, `datadir`'s
//! metadata) run before the writer starts or from operator commands.

pub mod contact;
pub mod datadir;
pub mod db;
pub mod documents;
pub mod query;
pub mod tokens;
pub mod users;

#[cfg(test)]
pub(crate) use db::temp_store;
pub use db::{APPLICATION_ID, DATABASE_FILE, SCHEMA_VERSION, Store, StoreError, StoreOptions};
pub use documents::{ReadError, RecordRow};
