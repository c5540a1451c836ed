//! Settings for `newsflow run`, from four layers, each overriding the one before:
//! built-in defaults, a TOML file (`--config`), `NEWSFLOW_*` environment variables and
//! command-line flags. librdkafka properties pass through unchanged, so SASL/SSL
//! clusters work without newsflow knowing about them.
//!
//! Errors name the setting or property at fault, never its value: a value may be a secret
//! (a password typed where another setting belongs, or under a mistyped property name).

mod file;
mod secrets;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

use secrets::is_secret;
pub use secrets::{redact, MASK};

/// Prefix of environment variables that set librdkafka properties:
/// `NEWSFLOW_KAFKA_SASL_MECHANISM=PLAIN` sets `sasl.mechanism`.
pub const KAFKA_ENV_PREFIX: &str = "NEWSFLOW_KAFKA_";

/// What newsflow promises about each input record's outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Guarantee {
    /// Every record's outputs are stored at least once; after a crash some may be
    /// produced again (same key). Fast, works with any broker.
    AtLeastOnce,
    /// Outputs and input offsets are committed in one transaction: `read_committed`
    /// readers see each output exactly once. Costs latency (one commit per batch).
    ExactlyOnce,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
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
    /// Topic dead letters are produced to (original key and value, reason in headers).
    pub dlq_topic: String,
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
    /// Threads that run the stages.
    pub workers: usize,
    /// How often delivered offsets are committed.
    pub commit_interval_ms: u64,
    /// How long shutdown may take to drain in-flight records before giving up.
    pub shutdown_timeout_ms: u64,
    /// How long a partition revoke may wait for its records in flight; keep it below the
    /// consumer's `session.timeout.ms`.
    pub revoke_drain_timeout_ms: u64,
    /// librdkafka properties for both consumer and producer, passed through unchanged
    /// (e.g. `"security.protocol" = "SASL_SSL"`); a `consumer.` or `producer.` prefix
    /// gives a property to that client alone (`"consumer.fetch.wait.max.ms" = "10"`).
    pub kafka: BTreeMap<String, String>,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            input_topic: "news.raw".into(),
            output_topic: "news.enriched".into(),
            events_topic: "news.events".into(),
            dlq_topic: "news.dlq".into(),
            group_id: "newsflow".into(),
            metrics_addr: SocketAddr::from(([127, 0, 0, 1], 9898)),
            guarantee: Guarantee::AtLeastOnce,
            transactional_id: None,
            transaction_max_records: 500,
            transaction_interval_ms: 100,
            max_record_bytes: 10 * 1024 * 1024,
            max_in_flight: 1000,
            max_in_flight_bytes: 64 * 1024 * 1024,
            workers: std::thread::available_parallelism().map_or(1, usize::from),
            commit_interval_ms: 1000,
            shutdown_timeout_ms: 10_000,
            revoke_drain_timeout_ms: 5_000,
            kafka: BTreeMap::new(),
        }
    }
}

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

    pub fn validate(&self) -> Result<(), ConfigError> {
        let topics = [&self.input_topic, &self.output_topic, &self.dlq_topic];
        if topics.iter().any(|t| t.is_empty()) || self.brokers.is_empty() {
            return Err(ConfigError::Invalid(
                "brokers and every topic must be set".into(),
            ));
        }
        let outputs = [&self.output_topic, &self.events_topic, &self.dlq_topic];
        if outputs.contains(&&self.input_topic) {
            return Err(ConfigError::Invalid(
                "the input topic must differ from the output, events and dead-letter topics".into(),
            ));
        }
        if self.max_in_flight == 0
            || self.max_in_flight_bytes == 0
            || self.workers == 0
            || self.transaction_max_records == 0
        {
            return Err(ConfigError::Invalid(
                "max_in_flight, max_in_flight_bytes, workers and transaction_max_records must be at least 1".into(),
            ));
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "Zq9-secret-value";

    fn write_config(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newsflow.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(name, value)| (name.into(), value.into()))
            .collect()
    }

    #[test]
    fn file_overrides_defaults_and_rejects_unknown_keys() {
        let (_dir, path) = write_config(
            "brokers = \"10.0.0.1:9092\"\ngroup_id = \"g\"\n[kafka]\n\"security.protocol\" = \"SASL_SSL\"\n",
        );
        let config = RunConfig::load(Some(&path)).unwrap();
        assert_eq!(config.brokers, "10.0.0.1:9092");
        assert_eq!(config.group_id, "g");
        assert_eq!(config.input_topic, "news.raw");
        assert_eq!(config.kafka["security.protocol"], "SASL_SSL");

        std::fs::write(&path, "brokrs = \"x\"\n").unwrap();
        let err = RunConfig::load(Some(&path)).unwrap_err();
        assert!(err.to_string().contains("unknown field `brokrs`"), "{err}");
    }

    #[test]
    fn kafka_properties_come_from_env_then_flags() {
        let mut config = RunConfig::default();
        let env = env(&[
            ("NEWSFLOW_KAFKA_SASL_MECHANISM", "PLAIN"),
            ("NEWSFLOW_KAFKA_LINGER_MS", "5"),
            ("HOME", "/root"),
        ]);
        config
            .apply_kafka_overrides(env, ["linger.ms=20", "sasl.password=s3cret"])
            .unwrap();
        assert_eq!(config.kafka["sasl.mechanism"], "PLAIN");
        assert_eq!(config.kafka["linger.ms"], "20");
        assert_eq!(config.kafka.len(), 3);
        assert_eq!(config.kafka_for_log()["sasl.password"], "****");
    }

    #[test]
    fn malformed_kafka_overrides_are_errors_that_quote_nothing() {
        let mut config = RunConfig::default();
        let err = config
            .apply_kafka_overrides(vec![], ["linger.ms=5", SECRET])
            .unwrap_err()
            .to_string();
        assert!(err.contains("number 2"), "{err}");
        assert!(!err.contains(SECRET), "{err}");

        // std::env::vars() would panic here, quoting the value.
        use std::os::unix::ffi::OsStringExt;
        let mut value = SECRET.as_bytes().to_vec();
        value.push(0xff);
        let env = vec![(
            OsString::from("NEWSFLOW_KAFKA_SASL_PASSWORD"),
            OsString::from_vec(value),
        )];
        let err = config
            .apply_kafka_overrides(env, [] as [&str; 0])
            .unwrap_err()
            .to_string();
        assert!(err.contains("NEWSFLOW_KAFKA_SASL_PASSWORD"), "{err}");
        assert!(!err.contains(SECRET), "{err}");
        // Other variables are none of newsflow's business, UTF-8 or not.
        let env = vec![(OsString::from("OTHER"), OsString::from_vec(vec![0xff]))];
        config.apply_kafka_overrides(env, [] as [&str; 0]).unwrap();
    }

    #[test]
    fn the_example_config_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/newsflow.example.toml");
        let config = RunConfig::load(Some(&path)).unwrap();
        config.validate().unwrap();
        assert_eq!(config.kafka["session.timeout.ms"], "10000");
    }

    #[test]
    fn validation_rejects_a_loop_back_into_the_input() {
        let config = RunConfig {
            output_topic: "news.raw".into(),
            ..RunConfig::default()
        };
        assert!(config.validate().is_err());
        assert!(RunConfig::default().validate().is_ok());
    }
}
