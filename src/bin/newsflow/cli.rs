//! Command-line interface. Every `run` setting is also a `NEWSFLOW_*` variable and a key
//! of the TOML config file; flags win over variables, variables over the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::builder::RangedU64ValueParser;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, Parser, Subcommand};

/// Sets each `$field` of `$target` that `$args` (the flags, or their variables) gives.
macro_rules! override_from_args {
    ($args:expr => $target:expr; $($field:ident),+ $(,)?) => {$(
        if let Some(value) = $args.$field {
            $target.$field = value;
        }
    )+};
}

mod aggregate;
mod service;
pub use aggregate::AggregateArgs;
use service::ServiceArgs;

use newsflow::config::{check_topic_name, ConfigError, Guarantee, OutputFormat, RunConfig, MASK};
use newsflow::kafka::ReplayOptions;
use newsflow::record::DeadLetterReason;
use newsflow::telemetry::LogFormat;

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
    /// Fetch newsroom feeds (RSS, Atom, JSON Feed, ninjs, sitemaps) once and write their
    /// items as raw articles, one JSON line each.
    Ingest(IngestArgs),
    /// Fold the events topic into one record per event (mentions, articles, sources,
    /// confidence) on a compacted topic, until stopped.
    Aggregate(AggregateArgs),
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// TOML config file; its `[ingest]` table and `[[ingest.feeds]]` tables set the feeds,
    /// its top-level keys the Kafka connection, as for `run`.
    #[arg(long, env = "NEWSFLOW_CONFIG")]
    pub config: Option<PathBuf>,
    /// A feed's address, besides those of the config file (repeatable).
    #[arg(long = "feed")]
    pub feeds: Vec<String>,
    /// Fetch every feed once and write the records here, one per line (`-` for stdout),
    /// instead of polling into Kafka. The feeds that could be read are written even when
    /// others could not (the command then exits 1).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// How long one request may take, redirects and body included [default: 30].
    #[arg(long)]
    pub timeout_secs: Option<u64>,
    /// Responses larger than this many bytes are refused [default: 10485760].
    #[arg(long)]
    pub max_response_bytes: Option<u64>,
    /// Seconds between two polls of a feed that does not set its own [default: 300].
    #[arg(long, env = "NEWSFLOW_INGEST_INTERVAL_SECS")]
    pub interval_secs: Option<u64>,
    #[command(flatten)]
    pub service: ServiceArgs,
    /// Topic the raw articles are produced to [default: news.raw].
    #[arg(long, env = "NEWSFLOW_INPUT_TOPIC")]
    pub input_topic: Option<String>,
    /// Compacted topic of the items already sent [default: news.ingest.state].
    #[arg(long, env = "NEWSFLOW_INGEST_STATE_TOPIC")]
    pub state_topic: Option<String>,
    /// Transactional id; an ingest started with the same id fences the one before it
    /// [default: newsflow-ingest].
    #[arg(long, env = "NEWSFLOW_INGEST_TRANSACTIONAL_ID")]
    pub transactional_id: Option<String>,
}

/// What `newsflow ingest` is asked to do.
pub enum Ingest {
    /// Fetch once into a file.
    Once {
        config: newsflow::ingest::IngestConfig,
        output: PathBuf,
    },
    /// Poll into Kafka until stopped.
    Follow(Box<RunConfig>),
}

impl IngestArgs {
    /// Defaults ← config file ← environment ← flags, checked.
    pub fn into_config(self) -> Result<Ingest, ConfigError> {
        let mut config = RunConfig::load(self.config.as_deref())?;
        let ingest = &mut config.ingest;
        ingest
            .feeds
            .extend(self.feeds.into_iter().map(newsflow::ingest::FeedSpec::new));
        override_from_args!(self => ingest; timeout_secs, max_response_bytes, interval_secs, state_topic, transactional_id);
        override_from_args!(self => config; input_topic);
        config.ingest.validate()?;
        let Some(output) = self.output else {
            self.service.apply(&mut config)?;
            config.validate()?;
            check_topic_name("state_topic", &config.ingest.state_topic)?;
            if config.ingest.state_topic == config.input_topic {
                return Err(ConfigError::Invalid(
                    "the ingest state topic must differ from the input topic".into(),
                ));
            }
            newsflow::config::keep_out_of_logs(config.kafka_properties());
            newsflow::kafka::check_run_clients(&config)?;
            return Ok(Ingest::Follow(Box::new(config)));
        };
        Ok(Ingest::Once {
            config: config.ingest,
            output,
        })
    }
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
    /// Events with a lower confidence (0 to 1) are left off the events topic [default: 0.0].
    #[arg(long, env = "NEWSFLOW_MIN_EVENT_CONFIDENCE")]
    pub min_event_confidence: Option<f64>,
    /// Topic of dead letters [default: news.dlq].
    #[arg(long, env = "NEWSFLOW_DLQ_TOPIC")]
    pub dlq_topic: Option<String>,
    /// Topic embargoed articles wait on until their time [default: news.embargoed].
    #[arg(long, env = "NEWSFLOW_EMBARGO_TOPIC")]
    pub embargo_topic: Option<String>,
    /// The story log (one partition, created when missing): with it, every enriched
    /// article carries its story, the same on every replica [default: none, no stories].
    #[arg(long, env = "NEWSFLOW_STORY_TOPIC")]
    pub story_topic: Option<String>,
    /// How long an article waits for others on the story log, so that copies enriched
    /// within it are decided by publication time and id, whichever replica appended first;
    /// 0 decides in log order (`[story] settle_ms`) [default: 250].
    #[arg(long, env = "NEWSFLOW_STORY_SETTLE_MS")]
    pub story_settle_ms: Option<u64>,
    /// Embargoed articles held in memory at most, waiting for their time [default: 100000].
    #[arg(long, env = "NEWSFLOW_MAX_EMBARGOED_HELD")]
    pub max_embargoed_held: Option<usize>,
    /// Articles whose latest version is remembered, so an older one is left out
    /// [default: 1000000].
    #[arg(long, env = "NEWSFLOW_MAX_VERSIONS_TRACKED")]
    pub max_versions_tracked: Option<usize>,
    /// Enriched articles also carry `clean.text`, the paragraphs joined into one string
    /// [default: false].
    #[arg(long, env = "NEWSFLOW_INCLUDE_TEXT", num_args = 0..=1, default_missing_value = "true")]
    pub include_text: Option<bool>,
    /// What the enriched topic and the routes' topics carry: the enriched article, or an
    /// IPTC ninjs 2.2 document [default: json].
    #[arg(long, value_enum, env = "NEWSFLOW_OUTPUT_FORMAT")]
    pub output_format: Option<OutputFormat>,
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
    /// Payload bytes of the records in flight at most; a larger record goes alone [default: 67108864].
    #[arg(long, env = "NEWSFLOW_MAX_IN_FLIGHT_BYTES")]
    pub max_in_flight_bytes: Option<usize>,
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
    /// Create the output, events and dead-letter topics that do not exist, instead of
    /// failing at start-up [default: false].
    #[arg(long, env = "NEWSFLOW_CREATE_TOPICS", num_args = 0..=1, default_missing_value = "true")]
    pub create_topics: Option<bool>,
    /// Partitions of a topic --create-topics creates; 0 for the broker's default [default: 0].
    #[arg(long, env = "NEWSFLOW_TOPIC_PARTITIONS")]
    pub topic_partitions: Option<u32>,
    /// Replication factor of a topic --create-topics creates; 0 for the broker's default
    /// [default: 0].
    #[arg(long, env = "NEWSFLOW_TOPIC_REPLICATION_FACTOR")]
    pub topic_replication_factor: Option<u16>,
    /// A librdkafka property, passed through unchanged (repeatable); NEWSFLOW_KAFKA_<NAME>
    /// variables do the same (`NEWSFLOW_KAFKA_SECURITY_PROTOCOL=SASL_SSL`). A `consumer.` or
    /// `producer.` prefix gives it to that client alone (`consumer.fetch.wait.max.ms=10`).
    #[arg(short = 'X', long = "kafka-property", value_name = "KEY=VALUE")]
    pub kafka_properties: Vec<String>,
}

impl RunArgs {
    /// Defaults ← config file ← environment ← flags (clap has already put variables and
    /// flags together, flags first), checked: settings by newsflow, librdkafka properties
    /// by librdkafka.
    pub fn into_config(self) -> Result<RunConfig, ConfigError> {
        let mut config = RunConfig::load(self.config.as_deref())?;
        override_from_args!(self => config;
            brokers,
            input_topic,
            output_topic,
            events_topic,
            min_event_confidence,
            dlq_topic,
            embargo_topic,
            story_topic,
            max_embargoed_held,
            max_versions_tracked,
            include_text,
            output_format,
            group_id,
            metrics_addr,
            guarantee,
            max_record_bytes,
            max_in_flight,
            max_in_flight_bytes,
            workers,
            commit_interval_ms,
            shutdown_timeout_ms,
            transaction_max_records,
            transaction_interval_ms,
            revoke_drain_timeout_ms,
            create_topics,
            topic_partitions,
            topic_replication_factor
        );
        if self.transactional_id.is_some() {
            config.transactional_id = self.transactional_id;
        }
        if let Some(settle_ms) = self.story_settle_ms {
            config.story.settle_ms = settle_ms;
        }
        config.apply_kafka_overrides(std::env::vars_os(), &self.kafka_properties)?;
        config.registry.apply_env(std::env::vars_os())?;
        config.validate()?;
        newsflow::config::keep_out_of_logs(config.kafka_properties());
        newsflow::kafka::check_run_clients(&config)?;
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
    /// Where dead letters go, one JSON line each [default: beside --output, its name
    /// ending in `.dlq.jsonl`; required when --output is stdout].
    #[arg(long)]
    pub dlq: Option<PathBuf>,
    /// Threads that run the stages, 1 to 1024 [default: number of CPUs].
    #[arg(long, value_parser = RangedU64ValueParser::<usize>::new().range(1..=1024))]
    pub threads: Option<usize>,
    /// Lines longer than this many bytes are dead-lettered.
    #[arg(
        long,
        default_value_t = 10 * 1024 * 1024,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..)
    )]
    pub max_record_bytes: usize,
    /// Enriched articles also carry `clean.text`, the paragraphs joined into one string.
    #[arg(long)]
    pub include_text: bool,
    /// Articles whose latest version is remembered, so that an older one later in the
    /// input is left out (about 50 MB per million).
    #[arg(
        long,
        default_value_t = 1_000_000,
        value_parser = RangedU64ValueParser::<usize>::new().range(2..=100_000_000)
    )]
    pub max_versions_tracked: usize,
}

impl ProcessArgs {
    /// Where dead letters go: `--dlq`, else beside the output file (`out.jsonl` →
    /// `out.dlq.jsonl`). Never stderr, whose JSON log lines they would be mixed with, so an
    /// output on stdout needs `--dlq`.
    pub fn dead_letter_path(&self) -> Result<PathBuf, ConfigError> {
        if let Some(path) = &self.dlq {
            return Ok(path.clone());
        }
        if self.output == Path::new("-") {
            return Err(ConfigError::Invalid(
                "--dlq is required when --output is stdout: stderr carries the logs".into(),
            ));
        }
        let stem = self.output.file_stem().unwrap_or_default();
        let mut name = stem.to_os_string();
        name.push(".dlq.jsonl");
        Ok(self.output.with_file_name(name))
    }
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
        config.apply_kafka_overrides(std::env::vars_os(), &self.kafka_properties)?;
        config.validate_connection()?;
        if let Some(topic) = &self.to_topic {
            check_topic_name("to_topic", topic)?;
        }
        if self.group_id.is_empty() {
            return Err(ConfigError::Invalid("group_id must be set".into()));
        }
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
        newsflow::config::keep_out_of_logs(config.kafka_properties());
        newsflow::kafka::check_replay_clients(&config, &options)?;
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

/// clap's message for a command-line error, with what the user typed in place of an option
/// masked: a value out of place may be a secret (in `-X sasl.password SECRET`, a space
/// where `=` belongs, SECRET is an unexpected argument, and clap would quote it).
pub fn usage_error_message(error: &clap::Error) -> String {
    let mut message = error.render().to_string();
    for (kind, value) in error.context() {
        let ContextValue::String(typed) = value else {
            continue;
        };
        let masked = match kind {
            ContextKind::InvalidValue | ContextKind::InvalidSubcommand => MASK.to_owned(),
            // An unknown option's name helps ("--brokres"); its value does not.
            ContextKind::InvalidArg if error.kind() == ErrorKind::UnknownArgument => {
                match typed.split_once('=') {
                    Some((name, _)) if name.starts_with('-') => format!("{name}={MASK}"),
                    None if typed.starts_with('-') => continue,
                    _ => MASK.to_owned(),
                }
            }
            _ => continue,
        };
        message = replace_whole(&message, typed, &masked);
    }
    message
}

/// `text` with each occurrence of `word` that is not part of a longer word (clap quotes
/// what was typed, or puts it before a space) replaced by `with`: masking a typed `0` must
/// not turn `1..=1024` into `1..=1****24`.
fn replace_whole(text: &str, word: &str, with: &str) -> String {
    if word.is_empty() {
        return text.to_owned();
    }
    let is_word_char = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, _) in text.match_indices(word) {
        let end = at + word.len();
        let whole = !is_word_char(text[..at].chars().next_back())
            && !is_word_char(text[end..].chars().next());
        if whole {
            out.push_str(&text[copied..at]);
            out.push_str(with);
            copied = end;
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests;
