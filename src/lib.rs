//! newsflow: a stream-processing pipeline that turns raw news articles into enriched
//! records: the article's own text, its countries and topics, and the events it reports.
//!
//! Layout:
//! - [`record`]: the records on the wire (raw article, ninjs, enriched article, dead letter).
//! - [`stage`]: the enrichment stages (clean → classify → extract) behind the `Stage` trait.
//! - [`geo`]: country reference data shared by the stages.
//! - [`folded`]: text folded for dictionary matching (countries, topics).
//! - [`golden`]: checks of an enriched article against an expectations file.
//! - [`batch`]: `newsflow process`, the stages over JSON Lines files.
//! - [`kafka`]: `newsflow run`, the stages between Kafka topics with at-least-once delivery.
//! - [`demo`]: `newsflow demo`, the pipeline on an embedded broker and a sample feed.
//! - [`config`]: settings from defaults, a TOML file, `NEWSFLOW_*` variables and flags.
//! - [`telemetry`]: metrics, logs and the HTTP endpoints.
//! - [`memory`]: freed memory given back to the operating system during long runs.
//! - [`cli`] and [`app`]: the command line and the commands around the parts above.

pub mod app;
pub mod batch;
pub mod cli;
pub mod config;
pub mod demo;
pub mod folded;
pub mod geo;
pub mod golden;
mod hash;
pub mod kafka;
pub mod memory;
pub mod record;
pub mod stage;
pub mod telemetry;
