//! Command-line interface. Every `run` setting is also a `NEWSFLOW_*` variable and a key
//! of the TOML config file; flags win over variables, variables over the file.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{ConfigError, Guarantee, RunConfig};
use crate::kafka::ReplayOptions;
use crate::record::DeadLetterReason;
use crate::telemetry::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "newsflow",
    version,
    about = "Cleans, classifies and extracts events from news articles, between Kafka topics or JSON Lines files."
)]
pub struct Cli {
    /// Log format on stderr; the level comes from NEWSFLOW_LOG (e.g. `debug`, `newsflow=trace`).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "NEWSFLOW_LOG_FORMAT",
        default_value = "auto"
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Consume raw articles from Kafka, enrich them and produce the results (at-least-once).
    Run(Box<RunArgs>),
    /// Enrich JSON Lines: one output line per good input line, in order.
    Process(ProcessArgs),
    /// Run the pipeline on an embedded broker over the sample feed and print what came out.
    Demo(DemoArgs),
    /// Produce dead letters again (original key and value) after a fix, then stop.
    ReplayDlq(ReplayArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// TOML config file; its keys are the long flag names with underscores.
    #[arg(long, env = "NEWSFLOW_CONFIG")]
    pub config: Option<PathBuf>,
    /// Bootstrap brokers, comma-separated host:port [default: 127.0.0.1:9092].
    #[arg(long, env = "NEWSFLOW_BROKERS")]
    pub brokers: Option<String>,
    /// Topic of raw articles [default: news.raw].
    #[arg(long, env = "NEWSFLOW_INPUT_TOPIC")]
    pub input_topic: Option<String>,
    /// Topic of enriched articles [default: news.enriched].
    #[arg(long, env = "NEWSFLOW_OUTPUT_TOPIC")]
    pub output_topic: Option<String>,
    /// Topic of events, one record per event; empty for none [default: news.events].
    #[arg(long, env = "NEWSFLOW_EVENTS_TOPIC")]
    pub events_topic: Option<String>,
    /// Topic of dead letters [default: news.dlq].
    #[arg(long, env = "NEWSFLOW_DLQ_TOPIC")]
    pub dlq_topic: Option<String>,
    /// Consumer group [default: newsflow].
    #[arg(long, env = "NEWSFLOW_GROUP_ID")]
    pub group_id: Option<String>,
    /// Address of /metrics, /healthz and /readyz [default: 127.0.0.1:9898].
    #[arg(long, env = "NEWSFLOW_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Delivery guarantee [default: at-least-once].
    #[arg(long, value_enum, env = "NEWSFLOW_GUARANTEE")]
    pub guarantee: Option<Guarantee>,
    /// Transactional id in exactly-once mode, stable per replica [default: newsflow-<group>-<host>].
    #[arg(long, env = "NEWSFLOW_TRANSACTIONAL_ID")]
    pub transactional_id: Option<String>,
    /// Records per transaction at most, in exactly-once mode [default: 500].
    #[arg(long, env = "NEWSFLOW_TRANSACTION_MAX_RECORDS")]
    pub transaction_max_records: Option<usize>,
    /// Milliseconds a transaction collects records before committing [default: 100].
    #[arg(long, env = "NEWSFLOW_TRANSACTION_INTERVAL_MS")]
    pub transaction_interval_ms: Option<u64>,
    /// Records larger than this many bytes are dead-lettered [default: 10485760].
    #[arg(long, env = "NEWSFLOW_MAX_RECORD_BYTES")]
    pub max_record_bytes: Option<usize>,
    /// Records in flight (consumed, outputs not yet acknowledged) at most [default: 1000].
    #[arg(long, env = "NEWSFLOW_MAX_IN_FLIGHT")]
    pub max_in_flight: Option<usize>,
    /// Threads that run the stages [default: number of CPUs].
    #[arg(long, env = "NEWSFLOW_WORKERS")]
    pub workers: Option<usize>,
    /// Milliseconds between offset commits [default: 1000].
    #[arg(long, env = "NEWSFLOW_COMMIT_INTERVAL_MS")]
    pub commit_interval_ms: Option<u64>,
    /// Milliseconds shutdown may spend draining in-flight records [default: 10000].
    #[arg(long, env = "NEWSFLOW_SHUTDOWN_TIMEOUT_MS")]
    pub shutdown_timeout_ms: Option<u64>,
    /// Milliseconds a partition revoke may wait for its records in flight [default: 5000].
    #[arg(long, env = "NEWSFLOW_REVOKE_DRAIN_TIMEOUT_MS")]
    pub revoke_drain_timeout_ms: Option<u64>,
    /// A librdkafka property, passed through unchanged (repeatable); NEWSFLOW_KAFKA_<NAME>
    /// variables do the same (`NEWSFLOW_KAFKA_SECURITY_PROTOCOL=SASL_SSL`). A `consumer.` or
    /// `producer.` prefix gives it to that client alone (`consumer.fetch.wait.max.ms=10`).
    #[arg(short = 'X', long = "kafka-property", value_name = "KEY=VALUE")]
    pub kafka_properties: Vec<String>,
}

impl RunArgs {
    /// Defaults ← config file ← environment ← flags (clap has already put variables and
    /// flags together, flags first).
    pub fn into_config(self) -> Result<RunConfig, ConfigError> {
        let mut config = RunConfig::load(self.config.as_deref())?;
        macro_rules! override_from_args {
            ($($field:ident),+) => {$(
                if let Some(value) = self.$field {
                    config.$field = value;
                }
            )+};
        }
        override_from_args!(
            brokers,
            input_topic,
            output_topic,
            events_topic,
            dlq_topic,
            group_id,
            metrics_addr,
            guarantee,
            max_record_bytes,
            max_in_flight,
            workers,
            commit_interval_ms,
            shutdown_timeout_ms,
            transaction_max_records,
            transaction_interval_ms,
            revoke_drain_timeout_ms
        );
        if self.transactional_id.is_some() {
            config.transactional_id = self.transactional_id;
        }
        config.apply_kafka_overrides(std::env::vars(), &self.kafka_properties)?;
        config.validate()?;
        Ok(config)
    }
}

#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// JSON Lines of raw articles; `-` for stdin.
    #[arg(long, default_value = "-")]
    pub input: PathBuf,
    /// Where enriched articles go, one per line; `-` for stdout. A file, here or in --dlq,
    /// replaces what was there only when the run succeeds.
    #[arg(long, default_value = "-")]
    pub output: PathBuf,
    /// Where dead letters go, one JSON line each [default: stderr].
    #[arg(long)]
    pub dlq: Option<PathBuf>,
    /// Threads that run the stages [default: number of CPUs].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Lines longer than this many bytes are dead-lettered.
    #[arg(long, default_value_t = 10 * 1024 * 1024)]
    pub max_record_bytes: usize,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// TOML config file of `newsflow run`; its brokers, dlq_topic and [kafka] are used.
    #[arg(long, env = "NEWSFLOW_CONFIG")]
    pub config: Option<PathBuf>,
    /// Bootstrap brokers [default: 127.0.0.1:9092].
    #[arg(long, env = "NEWSFLOW_BROKERS")]
    pub brokers: Option<String>,
    /// Dead-letter topic to replay [default: news.dlq].
    #[arg(long, env = "NEWSFLOW_DLQ_TOPIC")]
    pub dlq_topic: Option<String>,
    /// Topic to produce to [default: each dead letter's source topic].
    #[arg(long)]
    pub to_topic: Option<String>,
    /// Replay only dead letters with this reason (repeatable), e.g. `stage_failed`.
    #[arg(long = "reason")]
    pub reasons: Vec<String>,
    /// Consumer group of the replay: what it committed is not replayed again.
    #[arg(long, default_value = "newsflow-replay")]
    pub group_id: String,
    /// A librdkafka property, passed through unchanged (repeatable).
    #[arg(short = 'X', long = "kafka-property", value_name = "KEY=VALUE")]
    pub kafka_properties: Vec<String>,
}

impl ReplayArgs {
    /// The connection settings (defaults ← file ← environment ← flags) and what to replay.
    pub fn into_parts(self) -> Result<(RunConfig, ReplayOptions), ConfigError> {
        let mut config = RunConfig::load(self.config.as_deref())?;
        if let Some(brokers) = self.brokers {
            config.brokers = brokers;
        }
        if let Some(topic) = self.dlq_topic {
            config.dlq_topic = topic;
        }
        config.apply_kafka_overrides(std::env::vars(), &self.kafka_properties)?;
        let known: Vec<&str> = DeadLetterReason::ALL.iter().map(|r| r.as_str()).collect();
        if let Some(unknown) = self.reasons.iter().find(|r| !known.contains(&r.as_str())) {
            return Err(ConfigError::Invalid(format!(
                "unknown dead-letter reason `{unknown}`; known: {}",
                known.join(", ")
            )));
        }
        let options = ReplayOptions {
            to_topic: self.to_topic,
            reasons: self.reasons,
            group_id: self.group_id,
        };
        Ok((config, options))
    }
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// JSON Lines feed to use instead of the built-in sample feed.
    #[arg(long)]
    pub feed: Option<PathBuf>,
    /// Address of /metrics while the demo runs (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub metrics_addr: SocketAddr,
    /// Keep serving /metrics this many seconds after the summary, to look at them.
    #[arg(long, default_value_t = 0)]
    pub linger_secs: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_override_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "group_id = \"from-file\"\ndlq_topic = \"file.dlq\"\n",
        )
        .unwrap();
        let cli = Cli::try_parse_from([
            "newsflow",
            "run",
            "--config",
            path.to_str().unwrap(),
            "--group-id",
            "from-flag",
            "-X",
            "linger.ms=7",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("expected run")
        };
        let config = args.into_config().unwrap();
        assert_eq!(config.group_id, "from-flag");
        assert_eq!(config.dlq_topic, "file.dlq");
        assert_eq!(config.kafka["linger.ms"], "7");
    }
}
