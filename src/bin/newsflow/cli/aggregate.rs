//! `newsflow aggregate`'s command line.

use std::path::PathBuf;

use clap::Args;

use super::ServiceArgs;
use newsflow::config::{ConfigError, RunConfig};

#[derive(Debug, Args)]
pub struct AggregateArgs {
    /// TOML config file; its `[aggregate]` table sets the aggregation, its top-level keys
    /// the Kafka connection and the events topic, as for `run`.
    #[arg(long, env = "NEWSFLOW_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub service: ServiceArgs,
    /// Topic of events, keyed by fingerprint, that `run` writes [default: news.events].
    #[arg(long, env = "NEWSFLOW_EVENTS_TOPIC")]
    pub events_topic: Option<String>,
    /// Compacted topic of the aggregated events [default: news.events.aggregated].
    #[arg(long, env = "NEWSFLOW_AGGREGATE_OUTPUT_TOPIC")]
    pub output_topic: Option<String>,
    /// Consumer group of the aggregators [default: newsflow-aggregate].
    #[arg(long, env = "NEWSFLOW_AGGREGATE_GROUP_ID")]
    pub group_id: Option<String>,
    /// Aggregated events held in memory at most; those told longest ago are forgotten
    /// beyond [default: 100000].
    #[arg(long, env = "NEWSFLOW_AGGREGATE_MAX_EVENTS_HELD")]
    pub max_events_held: Option<usize>,
    /// Where records that are no event go [default: news.dlq].
    #[arg(long, env = "NEWSFLOW_DLQ_TOPIC")]
    pub dlq_topic: Option<String>,
}

impl AggregateArgs {
    /// Defaults ← config file ← environment ← flags, checked.
    pub fn into_config(self) -> Result<RunConfig, ConfigError> {
        let mut config = RunConfig::load(self.config.as_deref())?;
        override_from_args!(self => config.aggregate; output_topic, group_id, max_events_held);
        override_from_args!(self => config; events_topic, dlq_topic);
        self.service.apply(&mut config)?;
        config.validate_connection()?;
        config.aggregate.validate(&config.events_topic)?;
        config.envelope.validate(&config.registry, &[])?;
        newsflow::config::keep_out_of_logs(config.kafka_properties());
        newsflow::kafka::check_run_clients(&config)?;
        Ok(config)
    }
}
