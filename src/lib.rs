//! newsflow: a stream-processing pipeline that turns raw news articles into enriched
//! records: the article's own text, its countries and topics, and the events it reports.
//!
//! Layout:
//! - [`record`]: the records on the wire (raw article, ninjs, enriched article, dead letter).
//! - [`stage`]: the enrichment stages (clean → classify → extract) behind the `Stage` trait,
//!   and the reference data they are handed.
//! - [`batch`]: `newsflow process`, the stages over JSON Lines files.
//! - [`ingest`]: `newsflow ingest`, newsroom feeds (RSS, Atom, JSON Feed, ninjs, sitemaps) as raw articles.
//! - [`kafka`]: `newsflow run`, the stages between Kafka topics with at-least-once delivery.
//! - [`story`]: stories across articles (near-duplicates join the first one's story).
//! - [`aggregate`]: events across articles, one record per event fingerprint.
//! - [`registry`]: records framed by Confluent Schema Registry serializers, and a client of
//!   the registry.
//! - [`config`]: settings from defaults, a TOML file, `NEWSFLOW_*` variables and flags.
//! - [`telemetry`]: metrics, logs and the HTTP endpoints.
//!
//! Inside: `geo` (country reference data shared by the stages) and `folded` (text folded
//! for dictionary matching). The command line, the commands and the demo are the
//! `newsflow` binary's (`src/bin/newsflow/`); the golden checks are `newsflow-eval`'s.

pub mod aggregate;
pub mod batch;
pub mod config;
mod folded;
mod geo;
mod hash;
pub mod ingest;
pub mod kafka;
pub mod record;
pub mod registry;
pub mod route;
pub mod stage;
pub mod story;
pub mod telemetry;
