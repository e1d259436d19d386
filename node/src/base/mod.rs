//! The node's base: configuration, counters, log-rate budgets, progress
//! reports, fault injection and the shutdown signal. Imports nothing from the
//! node's other layers.

pub mod config;
pub mod fault;
pub mod lograte;
pub mod metrics;
pub mod progress;
pub mod shutdown;
