//! The flags of every long-running command besides `run`: where Kafka is, where the
//! metrics are served, and librdkafka properties.

use std::net::SocketAddr;

use clap::Args;

use newsflow::config::{ConfigError, RunConfig};

#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// Bootstrap brokers, comma-separated host:port [default: 127.0.0.1:9092].
    #[arg(long, env = "NEWSFLOW_BROKERS")]
    pub brokers: Option<String>,
    /// Address of /metrics, /healthz and /readyz [default: 127.0.0.1:9898].
    #[arg(long, env = "NEWSFLOW_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Create the topics it reads when they do not exist, instead of failing [default: false].
    #[arg(long, env = "NEWSFLOW_CREATE_TOPICS", num_args = 0..=1, default_missing_value = "true")]
    pub create_topics: Option<bool>,
    /// A librdkafka property, as for `run` (repeatable).
    #[arg(short = 'X', long = "kafka-property", value_name = "KEY=VALUE")]
    pub kafka_properties: Vec<String>,
}

impl ServiceArgs {
    /// Sets what these flags (or their variables) give on `config`.
    pub fn apply(self, config: &mut RunConfig) -> Result<(), ConfigError> {
        override_from_args!(self => config; brokers, metrics_addr, create_topics);
        config.apply_kafka_overrides(std::env::vars_os(), &self.kafka_properties)
    }
}
