//! `newsflow aggregate`'s command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use newsflow::config::{ConfigError, RunConfig};

#[derive(Debug, Args)]
pub struct AggregateArgs {
    /// TOML config file; its `[aggregate]` table sets the aggregation, its top-level keys
    /// the Kafka connection and the events topic, as for `run`.
    #[arg(long, env = "NEWSFLOW_CONFIG")]
    pub config: Option<PathBuf>,
    /// Bootstrap brokers, comma-separated host:port [default: 127.0.0.1:9092].
    #[arg(long, env = "NEWSFLOW_BROKERS")]
    pub brokers: Option<String>,
    /// Topic of events, keyed by fingerprint, that `run` writes [default: news.events].
    #[arg(long, env = "NEWSFLOW_EVENTS_TOPIC")]
    pub events_topic: Option<String>,
    /// Compacted topic of the aggregated events [default: news.events.aggregated].
    #[arg(long, env = "NEWSFLOW_AGGREGATE_OUTPUT_TOPIC")]
    pub output_topic: Option<String>,
    /// Consumer group of the aggregators [default: newsflow-aggregate].
    #[arg(long, env = "NEWSFLOW_AGGREGATE_GROUP_ID")]
    pub group_id: Option<String>,
    /// Where records that are no event go [default: news.dlq].
    #[arg(long, env = "NEWSFLOW_DLQ_TOPIC")]
    pub dlq_topic: Option<String>,
    /// Address of /metrics, /healthz and /readyz [default: 127.0.0.1:9898].
    #[arg(long, env = "NEWSFLOW_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Create the events topic when it does not exist, instead of failing [default: false].
    #[arg(long, env = "NEWSFLOW_CREATE_TOPICS", num_args = 0..=1, default_missing_value = "true")]
    pub create_topics: Option<bool>,
    /// A librdkafka property, as for `run` (repeatable).
    #[arg(short = 'X', long = "kafka-property", value_name = "KEY=VALUE")]
    pub kafka_properties: Vec<String>,
}

impl AggregateArgs {
    /// Defaults ← config file ← environment ← flags, checked.
    pub fn into_config(self) -> Result<RunConfig, ConfigError> {
        let mut config = RunConfig::load(self.config.as_deref())?;
        macro_rules! override_from_args {
            ($target:expr; $($field:ident),+) => {$(
                if let Some(value) = self.$field {
                    $target.$field = value;
                }
            )+};
        }
        override_from_args!(config.aggregate; output_topic, group_id);
        override_from_args!(config; brokers, events_topic, dlq_topic, metrics_addr, create_topics);
        config.apply_kafka_overrides(std::env::vars_os(), &self.kafka_properties)?;
        config.validate_connection()?;
        config.aggregate.validate(&config.events_topic)?;
        newsflow::config::keep_out_of_logs(config.kafka_properties());
        newsflow::kafka::check_run_clients(&config)?;
        Ok(config)
    }
}
