//! Settings for `newsflow run`, from four layers, each overriding the one before:
//! built-in defaults, a TOML file (`--config`), `NEWSFLOW_*` environment variables and
//! command-line flags. librdkafka properties pass through unchanged, so SASL/SSL
//! clusters work without newsflow knowing about them.
//!
//! Errors name the setting or property at fault, never its value: a value may be a secret
//! (a password typed where another setting belongs, or under a mistyped property name).

mod cpu_quota;
mod file;
mod secrets;
mod topics;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::Path;

use serde::Deserialize;

use secrets::is_secret;
pub use secrets::{keep_out_of_logs, redact, scrub, MASK};
use topics::{is_pattern, pattern_matches, topic_name_problem};

/// Prefix of environment variables that set librdkafka properties:
/// `NEWSFLOW_KAFKA_SASL_MECHANISM=PLAIN` sets `sasl.mechanism`.
pub const KAFKA_ENV_PREFIX: &str = "NEWSFLOW_KAFKA_";

/// What newsflow promises about each input record's outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Guarantee {
    /// Every record's outputs are stored at least once; after a crash some may be
    /// produced again (same key). Fast, works with any broker.
    AtLeastOnce,
    /// Outputs and input offsets are committed in one transaction: `read_committed`
    /// readers see each output exactly once. Costs latency (one commit per batch).
    ExactlyOnce,
}

/// What the enriched topic (and the routes' topics) carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    /// The enriched article as `schemas/enriched-article.v1.json` describes it.
    Json,
    /// An IPTC ninjs 2.2 document, valid against the IPTC schema (events and quotes as
    /// names in its `events`, no more).
    Ninjs,
    /// ninjs 2.2 with the events and quotes in full, valid against newsflow's extension
    /// of it (`schemas/ninjs-newsflow.v1.json`).
    NinjsExtended,
}

// Serialized only by the binary's test that compares the defaults with its help and the
// README.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Bootstrap brokers, comma-separated `host:port`.
    pub brokers: String,
    /// Topic raw articles are consumed from.
    pub input_topic: String,
    /// Topic enriched articles are produced to (key = article id).
    pub output_topic: String,
    /// Topic events are produced to, one record per event (key = event fingerprint);
    /// empty to publish events only inside the enriched articles.
    pub events_topic: String,
    /// Events less likely right than this (their `confidence`, 0 to 1) are left off the
    /// events topic; the enriched articles keep them all.
    pub min_event_confidence: f64,
    /// Topic dead letters are produced to (original key and value, reason in headers).
    pub dlq_topic: String,
    /// Topic enriched articles under an embargo wait on (key = article id) until the
    /// releaser publishes them at their time.
    pub embargo_topic: String,
    /// The story log (one partition, created when missing): with it, every enriched
    /// article carries its story, the same on every replica. Empty: no stories.
    pub story_topic: String,
    /// Embargoed articles the releaser holds in memory at most; it stops reading the
    /// embargo topic while that many wait.
    pub max_embargoed_held: usize,
    /// Articles whose latest version is remembered, so that an older version arriving
    /// later is left out (about 50 MB per million).
    pub max_versions_tracked: usize,
    /// Whether enriched articles also carry `clean.text`, the paragraphs joined into one
    /// string (the paragraphs are always there).
    pub include_text: bool,
    /// What the enriched topic and the routes' topics carry.
    pub output_format: OutputFormat,
    /// Consumer group; replicas with the same group share the input partitions.
    pub group_id: String,
    /// Address of the HTTP server for /metrics, /healthz and /readyz.
    pub metrics_addr: SocketAddr,
    /// At-least-once or exactly-once delivery.
    pub guarantee: Guarantee,
    /// Transactional id for exactly-once mode: stable per replica (a restarted replica with
    /// the same id fences its predecessor's unfinished transaction) and unique in the
    /// cluster. Default: `newsflow-<group>-<host name>`.
    pub transactional_id: Option<String>,
    /// Records per transaction at most, in exactly-once mode.
    pub transaction_max_records: usize,
    /// How long a transaction collects records before it commits, in exactly-once mode.
    pub transaction_interval_ms: u64,
    /// Records larger than this are dead-lettered as `too_large`.
    pub max_record_bytes: usize,
    /// Records consumed but not yet acknowledged by the broker, at most.
    pub max_in_flight: usize,
    /// Payload bytes of the records in flight, at most: consumption waits while the next
    /// record would take them past this, and a larger record goes through alone. In
    /// exactly-once mode a transaction's records stay within it too.
    pub max_in_flight_bytes: usize,
    /// Threads that run the stages; by default one per CPU of the cgroup CPU quota.
    pub workers: usize,
    /// How often delivered offsets are committed.
    pub commit_interval_ms: u64,
    /// How long shutdown may take to drain in-flight records before giving up.
    pub shutdown_timeout_ms: u64,
    /// How long a partition revoke may wait for its records in flight; keep it below the
    /// consumer's `session.timeout.ms`.
    pub revoke_drain_timeout_ms: u64,
    /// Whether start-up creates the output, events and dead-letter topics that do not exist
    /// (otherwise it fails, naming them): a cluster without topic auto-creation would hold
    /// their records back silently.
    pub create_topics: bool,
    /// Partitions of a topic start-up creates; 0 for the broker's `num.partitions`.
    pub topic_partitions: u32,
    /// Replication factor of a topic start-up creates; 0 for the broker's
    /// `default.replication.factor`.
    pub topic_replication_factor: u16,
    /// librdkafka properties for both consumer and producer, passed through unchanged
    /// (e.g. `"security.protocol" = "SASL_SSL"`); a `consumer.` or `producer.` prefix
    /// gives a property to that client alone (`"consumer.fetch.wait.max.ms" = "10"`).
    pub kafka: BTreeMap<String, String>,
    /// The feeds `newsflow ingest` polls (the `[ingest]` table); `run` does not read them.
    #[serde(skip_serializing)]
    pub ingest: crate::ingest::IngestConfig,
    /// Further topics enriched articles go to (`[[routes]]` tables): see
    /// [`crate::route`].
    #[serde(skip_serializing)]
    pub routes: Vec<crate::route::RouteSpec>,
    /// Which input headers enriched articles carry on (the `[headers]` table).
    #[serde(skip_serializing)]
    pub headers: crate::kafka::HeaderPolicy,
    /// The schema registry output records are framed for (the `[registry]` table).
    #[serde(skip_serializing)]
    pub registry: crate::registry::RegistryConfig,
    /// How each output's records are wrapped (the `[envelope]` table).
    #[serde(skip_serializing)]
    pub envelope: crate::kafka::EnvelopeConfig,
    /// How stories are told apart and how long they are remembered (the `[story]` table).
    #[serde(skip_serializing)]
    pub story: crate::story::StoryConfig,
    /// `newsflow aggregate`'s settings (the `[aggregate]` table); `run` does not read them.
    #[serde(skip_serializing)]
    pub aggregate: crate::aggregate::AggregateConfig,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            input_topic: "news.raw".into(),
            output_topic: "news.enriched".into(),
            events_topic: "news.events".into(),
            min_event_confidence: 0.0,
            dlq_topic: "news.dlq".into(),
            embargo_topic: "news.embargoed".into(),
            max_embargoed_held: 100_000,
            max_versions_tracked: 1_000_000,
            include_text: false,
            output_format: OutputFormat::Json,
            group_id: "newsflow".into(),
            metrics_addr: SocketAddr::from(([127, 0, 0, 1], 9898)),
            guarantee: Guarantee::AtLeastOnce,
            transactional_id: None,
            transaction_max_records: 500,
            transaction_interval_ms: 100,
            max_record_bytes: 10 * 1024 * 1024,
            max_in_flight: 1000,
            max_in_flight_bytes: 64 * 1024 * 1024,
            workers: cpu_quota::default_workers(),
            commit_interval_ms: 1000,
            shutdown_timeout_ms: 10_000,
            revoke_drain_timeout_ms: 5_000,
            create_topics: false,
            topic_partitions: 0,
            topic_replication_factor: 0,
            kafka: BTreeMap::new(),
            ingest: Default::default(),
            routes: Vec::new(),
            headers: Default::default(),
            registry: Default::default(),
            envelope: Default::default(),
            aggregate: Default::default(),
            story: Default::default(),
            story_topic: String::new(),
        }
    }
}

/// Durations are at most an hour, so that adding one to the clock cannot overflow.
const MAX_DURATION_MS: u64 = 3_600_000;

/// Kafka's own limit on a record's size.
const MAX_RECORD_BYTES: u64 = i32::MAX as u64;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// Says where in the file, never what is there: the line may hold a secret.
    #[error("invalid config file {path}, {place}: {problem}")]
    Parse {
        path: String,
        place: String,
        problem: String,
    },
    #[error("invalid setting: {0}")]
    Invalid(String),
    #[error("invalid setting: {setting} must be between {min} and {max}")]
    OutOfRange {
        setting: &'static str,
        min: u64,
        max: u64,
    },
    #[error("environment variable {name} is not valid UTF-8")]
    NotUnicode { name: String },
    #[error("librdkafka property `{property}`: {problem}")]
    KafkaProperty { property: String, problem: String },
    #[error("librdkafka refuses the {client}'s properties: {reason}")]
    KafkaClient {
        client: &'static str,
        reason: String,
    },
}

impl RunConfig {
    /// Defaults, overridden by the TOML file at `path` when given.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: display.clone(),
            source,
        })?;
        toml::from_str(&text).map_err(|error| file::parse_error(display, &text, &error))
    }

    /// Adds librdkafka properties from `NEWSFLOW_KAFKA_*` variables (underscores become
    /// dots, lower-cased) and then from `key=value` pairs given on the command line.
    pub fn apply_kafka_overrides<I, S>(
        &mut self,
        env: impl IntoIterator<Item = (OsString, OsString)>,
        pairs: I,
    ) -> Result<(), ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for (name, value) in env {
            if !name
                .as_encoded_bytes()
                .starts_with(KAFKA_ENV_PREFIX.as_bytes())
            {
                continue;
            }
            let not_unicode = || ConfigError::NotUnicode {
                name: name.to_string_lossy().into_owned(),
            };
            let key = name.to_str().ok_or_else(not_unicode)?[KAFKA_ENV_PREFIX.len()..]
                .to_ascii_lowercase()
                .replace('_', ".");
            let value = value.to_str().ok_or_else(not_unicode)?.to_owned();
            self.kafka.insert(key, value);
        }
        for (position, pair) in pairs.into_iter().enumerate() {
            // Without its `=`, the pair may be a bare secret: it is not quoted.
            let (key, value) = pair.as_ref().split_once('=').ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "librdkafka property number {} on the command line is not KEY=VALUE",
                    position + 1
                ))
            })?;
            self.kafka.insert(key.trim().to_owned(), value.to_owned());
        }
        Ok(())
    }

    /// Everything `newsflow run` needs checked before it starts: names, topics and ranges.
    /// librdkafka properties are checked by librdkafka itself (`kafka::check_run_clients`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_connection()?;
        if self.group_id.is_empty() {
            return Err(ConfigError::Invalid("group_id must be set".into()));
        }
        if self.transactional_id.as_deref() == Some("") {
            return Err(ConfigError::Invalid(
                "transactional_id must not be empty".into(),
            ));
        }
        self.validate_topics()?;
        if !(0.0..=1.0).contains(&self.min_event_confidence) {
            return Err(ConfigError::Invalid(
                "min_event_confidence must be between 0 and 1".into(),
            ));
        }
        for (setting, value, range) in self.ranges() {
            if !range.contains(&value) {
                return Err(ConfigError::OutOfRange {
                    setting,
                    min: *range.start(),
                    max: *range.end(),
                });
            }
        }
        self.registry.validate()?;
        self.story.validate()?;
        self.envelope.validate(&self.registry, &self.routes)
    }

    /// What every command that talks to Kafka needs: brokers and the dead-letter topic.
    pub fn validate_connection(&self) -> Result<(), ConfigError> {
        if let Some(problem) = brokers_problem(&self.brokers) {
            return Err(ConfigError::Invalid(format!("brokers: {problem}")));
        }
        check_topic_name("dlq_topic", &self.dlq_topic)
    }

    fn validate_topics(&self) -> Result<(), ConfigError> {
        check_topic_name("output_topic", &self.output_topic)?;
        check_topic_name("embargo_topic", &self.embargo_topic)?;
        if !self.events_topic.is_empty() {
            check_topic_name("events_topic", &self.events_topic)?;
        }
        if !self.story_topic.is_empty() {
            check_topic_name("story_topic", &self.story_topic)?;
        }
        let outputs: Vec<(&str, &str)> = [
            ("output_topic", &self.output_topic),
            ("events_topic", &self.events_topic),
            ("dlq_topic", &self.dlq_topic),
            ("embargo_topic", &self.embargo_topic),
            ("story_topic", &self.story_topic),
        ]
        .into_iter()
        .filter(|(_, topic)| !topic.is_empty())
        .map(|(setting, topic)| (setting, topic.as_str()))
        .collect();
        let input = self.input_topic.as_str();
        if !is_pattern(input) {
            check_topic_name("input_topic", input)?;
            if outputs.iter().any(|(_, topic)| *topic == input) {
                return Err(ConfigError::Invalid(
                    "the input topic must differ from the output, events, dead-letter, embargo and story topics"
                        .into(),
                ));
            }
            return Ok(());
        }
        let topics: Vec<&str> = outputs.iter().map(|(_, topic)| *topic).collect();
        let matches = pattern_matches(input, &topics).map_err(|problem| {
            ConfigError::Invalid(format!("input_topic is not a usable pattern: {problem}"))
        })?;
        match outputs.iter().zip(matches).find(|(_, matched)| *matched) {
            Some(((setting, _), _)) => Err(ConfigError::Invalid(format!(
                "the input_topic pattern matches the {setting}: newsflow would consume its own output"
            ))),
            None => Ok(()),
        }
    }

    /// Each numeric setting with its allowed range. Intervals are above zero (a timer
    /// cannot tick every 0 ms); the upper limits keep a typo from asking for absurd numbers
    /// of threads, records or bytes.
    fn ranges(&self) -> [(&'static str, u64, RangeInclusive<u64>); 13] {
        let count = |n: usize| n as u64;
        [
            (
                "max_embargoed_held",
                count(self.max_embargoed_held),
                1..=100_000_000,
            ),
            (
                "max_versions_tracked",
                count(self.max_versions_tracked),
                2..=100_000_000,
            ),
            ("max_in_flight", count(self.max_in_flight), 1..=1_000_000),
            (
                "max_in_flight_bytes",
                count(self.max_in_flight_bytes),
                1..=u64::from(u32::MAX),
            ),
            ("workers", count(self.workers), 1..=1024),
            (
                "max_record_bytes",
                count(self.max_record_bytes),
                1..=MAX_RECORD_BYTES,
            ),
            (
                "transaction_max_records",
                count(self.transaction_max_records),
                1..=1_000_000,
            ),
            (
                "commit_interval_ms",
                self.commit_interval_ms,
                1..=MAX_DURATION_MS,
            ),
            (
                "transaction_interval_ms",
                self.transaction_interval_ms,
                1..=MAX_DURATION_MS,
            ),
            (
                "shutdown_timeout_ms",
                self.shutdown_timeout_ms,
                0..=MAX_DURATION_MS,
            ),
            (
                "revoke_drain_timeout_ms",
                self.revoke_drain_timeout_ms,
                0..=MAX_DURATION_MS,
            ),
            (
                "topic_partitions",
                u64::from(self.topic_partitions),
                0..=100_000,
            ),
            (
                "topic_replication_factor",
                u64::from(self.topic_replication_factor),
                0..=100,
            ),
        ]
    }

    /// The transactional id to use in exactly-once mode.
    pub fn transactional_id(&self) -> String {
        self.transactional_id.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "local".into());
            format!("newsflow-{}-{host}", self.group_id)
        })
    }

    /// The topics `newsflow run` produces to: output, events (when set), dead letters and
    /// embargoed articles.
    pub fn output_topics(&self) -> Vec<&str> {
        // A templated route topic is known only once an article names it.
        let route_topics = self
            .routes
            .iter()
            .map(|route| &route.topic)
            .filter(|topic| !topic.contains('{'));
        [
            &self.output_topic,
            &self.events_topic,
            &self.dlq_topic,
            &self.embargo_topic,
        ]
        .into_iter()
        .chain(route_topics)
        .filter(|topic| !topic.is_empty())
        .map(String::as_str)
        .collect()
    }

    /// The librdkafka properties as they were given, names and values.
    pub fn kafka_properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.kafka
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }

    /// The librdkafka properties, with secrets masked, for logging.
    pub fn kafka_for_log(&self) -> BTreeMap<&str, &str> {
        self.kafka
            .iter()
            .map(|(key, value)| {
                let shown = if is_secret(key) { MASK } else { value.as_str() };
                (key.as_str(), shown)
            })
            .collect()
    }
}

/// Why `brokers` is not a list librdkafka can connect to, if it is not: comma-separated
/// `[protocol://]host[:port]`. librdkafka itself only logs a bad entry and runs on without
/// it, and takes a port above 65535 modulo 65536.
fn brokers_problem(brokers: &str) -> Option<&'static str> {
    const PROTOCOLS: [&str; 4] = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"];
    let entries: Vec<&str> = brokers
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect();
    if entries.is_empty() {
        return Some("must be set");
    }
    for entry in entries {
        let address = match entry.split_once("://") {
            Some((protocol, _)) if !PROTOCOLS.contains(&protocol.to_ascii_lowercase().as_str()) => {
                return Some("a protocol is not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL");
            }
            Some((_, address)) => address,
            None => entry,
        };
        let (host, port) = match address.strip_prefix('[') {
            Some(bracketed) => match bracketed.split_once(']') {
                Some((host, "")) => (host, None),
                Some((host, rest)) => (host, Some(rest.strip_prefix(':').unwrap_or(rest))),
                None => return Some("an IPv6 address misses its `]`"),
            },
            None => match address.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (address, None),
            },
        };
        if host.is_empty() {
            return Some("a host is empty");
        }
        // librdkafka would only fail to resolve such a host, again and again, while running.
        let host_char = |c: char| c.is_ascii_alphanumeric() || "-._:%".contains(c);
        if !host.chars().all(host_char) {
            return Some("a host has a character no host name or address has");
        }
        if port.is_some_and(|port| !port.parse::<u16>().is_ok_and(|port| port > 0)) {
            return Some("a port is not a number from 1 to 65535");
        }
    }
    None
}

/// An error unless `name` is a legal Kafka topic name; `setting` names it in the error.
pub fn check_topic_name(setting: &str, name: &str) -> Result<(), ConfigError> {
    match topic_name_problem(name) {
        Some(problem) => Err(ConfigError::Invalid(format!(
            "{setting} is not a valid topic name: {problem}"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
