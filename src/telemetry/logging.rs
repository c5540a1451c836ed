//! Structured logs: JSON lines in production, human-readable on a terminal.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON on a pipe or file, human-readable on a terminal.
    Auto,
    Json,
    Text,
}

/// Logs go to stderr, so stdout stays free for records in batch mode. The level comes
/// from `NEWSFLOW_LOG` (or `RUST_LOG`), `default_level` when neither is set.
pub fn init_logging(format: LogFormat, default_level: &str) {
    let filter = EnvFilter::try_from_env("NEWSFLOW_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(default_level));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests, embedded use) keeps the first subscriber.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}
