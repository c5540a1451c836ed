//! Tests that need no broker of their own, in one binary: configuration failures, the golden
//! seed, `newsflow ingest` against feeds the test serves, `newsflow process`, the record
//! schemas, the ninjs output, the schema registry client against a registry the test serves, and a
//! real Prometheus scraping `newsflow demo` (which runs on
//! its embedded cluster). The hostile-input and stage-scaling tests stay binaries of their
//! own, because `make fuzz` runs them alone at full size.

#[path = "../support/mod.rs"]
mod support;

mod config_failures;
mod golden_seed;
mod ingest_cli;
mod ninjs;
mod process_cli;
mod prometheus_scrape;
mod registry;
mod schemas;
