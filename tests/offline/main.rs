//! The tests that need no broker, in one binary: configuration failures, the golden seed,
//! `newsflow process` and the record schemas.

#[path = "../support/mod.rs"]
mod support;

mod config_failures;
mod golden_seed;
mod process_cli;
mod schemas;
