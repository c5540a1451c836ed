//! Tests that need no broker, in one binary: configuration failures, the golden seed,
//! `newsflow process` and the record schemas. The hostile-input and stage-scaling tests stay
//! binaries of their own, because `make fuzz` runs them alone at full size.

#[path = "../support/mod.rs"]
mod support;

mod config_failures;
mod golden_seed;
mod process_cli;
mod schemas;
