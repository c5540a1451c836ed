//! One struct per thing that happens; `emit()` logs it and counts it in one place.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn, Level};

use super::limiter::{self, event_at, SharedLimiter};
use super::metrics;
use crate::geo::Gazetteer;
use crate::record::{DeadLetter, DeadLetterSource, EnrichedArticle, Kill};

/// Client errors repeat as fast as librdkafka retries (every 50 ms or so while no broker
/// answers, from the consumer and the producer alike), dead letters as fast as bad input
/// arrives: their lines are limited per error code and per reason.
static CLIENT_ERROR_LOGS: SharedLimiter = SharedLimiter::new("Kafka client error.", Level::ERROR);
static DEAD_LETTER_LOGS: SharedLimiter = SharedLimiter::new("Record dead-lettered.", Level::WARN);
static PRODUCE_FAILED_LOGS: SharedLimiter =
    SharedLimiter::new("Produce failed; retrying.", Level::WARN);
static COMMIT_FAILED_LOGS: SharedLimiter = SharedLimiter::new("Offset commit failed.", Level::WARN);
static LIMITED: [&SharedLimiter; 4] = [
    &CLIENT_ERROR_LOGS,
    &DEAD_LETTER_LOGS,
    &PRODUCE_FAILED_LOGS,
    &COMMIT_FAILED_LOGS,
];

/// Logs how many lines the limits held back, as their windows end, until `shutdown`.
pub async fn summarize_suppressed_periodically(shutdown: CancellationToken) {
    limiter::summarize_periodically(&LIMITED, shutdown).await;
}

/// Logs how many lines the limits hold back now: at the end of a run, so the last window's
/// count is not lost.
pub fn summarize_suppressed() {
    LIMITED.iter().for_each(|limiter| limiter.summarize_all());
}

/// A record was read from an input (a topic, or "-" for files).
pub struct RecordConsumed<'a> {
    pub topic: &'a str,
}

impl RecordConsumed<'_> {
    pub fn emit(&self) {
        metrics()
            .articles_consumed
            .with_label_values(&[self.topic])
            .inc();
    }
}

/// A stage finished with one article.
pub struct StageCompleted {
    pub stage: &'static str,
    pub duration: Duration,
}

impl StageCompleted {
    pub fn emit(&self) {
        metrics()
            .stage_duration
            .with_label_values(&[self.stage])
            .observe(self.duration.as_secs_f64());
    }
}

/// An article went through every stage.
pub struct ArticleEnriched<'a> {
    pub article: &'a EnrichedArticle,
    /// Where the article's first country's region is looked up.
    pub gazetteer: &'a Gazetteer,
}

impl ArticleEnriched<'_> {
    pub fn emit(&self) {
        let article = self.article;
        debug!(article_id = article.id, "Article enriched.");
        let metrics = metrics();
        metrics.articles_enriched.inc();
        let region = article
            .regions
            .countries
            .first()
            .and_then(|c| self.gazetteer.by_alpha2(&c.code))
            .map_or("none", |c| c.region.name.as_str());
        metrics
            .articles_by_region
            .with_label_values(&[region])
            .inc();
        let topic = article
            .topics
            .first()
            .map_or_else(|| "none".to_owned(), |t| top_level_qcode(&t.qcode));
        metrics.articles_by_topic.with_label_values(&[&topic]).inc();
        for event in &article.events {
            metrics.events.with_label_values(&[&event.plover]).inc();
        }
    }
}

/// An input withdrew its article (`pubstatus` canceled or withheld).
pub struct ArticleKilled<'a> {
    pub kill: &'a Kill,
}

impl ArticleKilled<'_> {
    pub fn emit(&self) {
        let status = self.kill.status.as_str();
        info!(
            article_id = self.kill.id,
            pubstatus = status,
            "Article killed."
        );
        metrics().articles_killed.with_label_values(&[status]).inc();
    }
}

/// An enriched article matched a route: a copy goes to the route's topic.
pub struct RecordRouted<'a> {
    pub route: &'a str,
}

impl RecordRouted<'_> {
    pub fn emit(&self) {
        metrics()
            .articles_routed
            .with_label_values(&[self.route])
            .inc();
    }
}

/// A request to the schema registry failed: registering the schema of a topic's records
/// (at start-up, and for a templated route's topic), or looking up the schema a framed
/// input record names. Each is tried again a minute later at most: no limit needed.
pub struct RegistryFailed<'a> {
    /// What was asked: "registering the schema of news.enriched".
    pub request: &'a str,
    pub error: &'a crate::registry::RegistryError,
}

impl RegistryFailed<'_> {
    pub fn emit(&self) {
        let kind = self.error.kind();
        warn!(
            request = self.request,
            kind,
            error = %self.error,
            transient = self.error.is_transient(),
            "A schema registry request failed."
        );
        metrics().registry_errors.with_label_values(&[kind]).inc();
    }
}

/// A route named a topic the cluster does not have: its copies are left out until it does.
pub struct RouteTopicMissing<'a> {
    pub topic: &'a str,
}

impl RouteTopicMissing<'_> {
    pub fn emit(&self) {
        // Looked up at most once a minute per topic: no limit needed.
        warn!(
            topic = self.topic,
            "A route's topic does not exist; its copies are left out until it does."
        );
        metrics()
            .route_topic_missing
            .with_label_values(&[self.topic])
            .inc();
    }
}

/// "medtop:11000000" for any Media Topic under politics ("medtop:20000621" is not under a
/// top-level code by its digits, so only codes in the top-level numbering are truncated).
fn top_level_qcode(qcode: &str) -> String {
    match qcode.strip_prefix("medtop:") {
        Some(code) if code.len() == 8 && code.starts_with(['0', '1']) => {
            format!("medtop:{}000000", &code[..2])
        }
        _ => qcode.to_owned(),
    }
}

/// A record's outputs were all stored (acknowledged, or committed in a transaction);
/// `published_ms` is the input's Kafka timestamp.
pub struct RecordFinished {
    pub published_ms: Option<i64>,
}

impl RecordFinished {
    pub fn emit(&self) {
        let metrics = metrics();
        if let Some(published) = self.published_ms {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            // Clocks of producers and brokers differ: a negative age is counted as zero.
            let age = (now - published).max(0) as f64 / 1000.0;
            metrics.end_to_end_latency.observe(age);
        }
    }
}

/// A record was sent to the dead-letter output.
pub struct DeadLettered<'a> {
    pub letter: &'a DeadLetter,
}

impl DeadLettered<'_> {
    pub fn emit(&self) {
        let letter = self.letter;
        let reason = letter.reason.as_str();
        metrics().dead_letters.with_label_values(&[reason]).inc();
        let (topic, partition, offset, file, line) = match &letter.source {
            DeadLetterSource::Kafka {
                topic,
                partition,
                offset,
            } => (
                Some(topic.as_str()),
                Some(*partition),
                Some(*offset),
                None,
                None,
            ),
            DeadLetterSource::File { file, line } => {
                (None, None, None, Some(file.as_str()), Some(*line))
            }
        };
        event_at!(
            DEAD_LETTER_LOGS.level(reason),
            reason,
            error = letter.error,
            article_id = letter.article_id,
            topic,
            partition,
            offset,
            file,
            line,
            "Record dead-lettered."
        );
    }
}

/// The broker acknowledged a produced record.
pub struct RecordProduced<'a> {
    pub topic: &'a str,
}

impl RecordProduced<'_> {
    pub fn emit(&self) {
        metrics()
            .records_produced
            .with_label_values(&[self.topic])
            .inc();
    }
}

/// A produce attempt failed; it will be retried.
pub struct ProduceFailed<'a> {
    pub topic: &'a str,
    pub error: &'a str,
    pub attempt: u32,
    pub retry_in: Duration,
}

impl ProduceFailed<'_> {
    pub fn emit(&self) {
        // Every record in flight retries while the broker is away: one line per topic and
        // window.
        event_at!(
            PRODUCE_FAILED_LOGS.level(self.topic),
            topic = self.topic,
            error = self.error,
            attempt = self.attempt,
            retry_in_ms = self.retry_in.as_millis() as u64,
            "Produce failed; retrying."
        );
        metrics()
            .produce_errors
            .with_label_values(&[self.topic])
            .inc();
    }
}

/// Offsets were committed, or the commit failed.
pub struct OffsetsCommitted<'a> {
    pub partitions: usize,
    pub error: Option<&'a str>,
}

impl OffsetsCommitted<'_> {
    pub fn emit(&self) {
        match self.error {
            None => {
                debug!(partitions = self.partitions, "Offsets committed.");
                metrics().commits.with_label_values(&["ok"]).inc();
            }
            Some(error) => {
                event_at!(
                    COMMIT_FAILED_LOGS.level("commit"),
                    partitions = self.partitions,
                    error,
                    "Offset commit failed."
                );
                metrics().commits.with_label_values(&["error"]).inc();
            }
        }
    }
}

/// The consumer group assigned or revoked partitions.
pub struct Rebalanced<'a> {
    pub kind: &'static str,
    pub partitions: &'a str,
    pub assigned_now: i64,
}

impl Rebalanced<'_> {
    pub fn emit(&self) {
        info!(
            kind = self.kind,
            partitions = self.partitions,
            "Partitions {}.",
            self.kind
        );
        metrics().rebalances.with_label_values(&[self.kind]).inc();
        metrics().assigned_partitions.set(self.assigned_now);
    }
}

/// The Kafka client reported an error outside any one record (from a client's error
/// callback, or the consumer's stream). The same outage reaches all three: they share one
/// limit per error code.
pub struct ClientError<'a> {
    /// librdkafka's error code, e.g. `AllBrokersDown`.
    pub code: &'a str,
    pub error: &'a str,
    /// librdkafka's explanation, when it gave one.
    pub reason: Option<&'a str>,
}

impl ClientError<'_> {
    pub fn emit(&self) {
        metrics()
            .client_errors
            .with_label_values(&[self.code])
            .inc();
        event_at!(
            CLIENT_ERROR_LOGS.level(self.code),
            code = self.code,
            error = self.error,
            reason = self.reason,
            "Kafka client error."
        );
    }
}

/// A log line of librdkafka's own, at the level the Kafka side chose for it.
pub struct LibrdkafkaLogged<'a> {
    pub level: Level,
    pub facility: &'a str,
    pub message: &'a str,
}

impl LibrdkafkaLogged<'_> {
    pub fn emit(&self) {
        // The target rdkafka's own logging used, so `NEWSFLOW_LOG=librdkafka=debug` works.
        event_at!(
            self.level,
            target: "librdkafka",
            "librdkafka: {} {}",
            self.facility,
            self.message
        );
    }
}

/// Whether any broker is reachable changed, as the consumer and producer see it together:
/// one line per change, however many errors and statistics report it.
pub struct BrokerReachabilityChanged {
    pub reachable: bool,
}

impl BrokerReachabilityChanged {
    pub fn emit(&self) {
        if self.reachable {
            // The outage's errors are over: say how many were held back, and log the next
            // outage's first errors at once.
            CLIENT_ERROR_LOGS.summarize_all();
            info!("Broker reachable.");
        } else {
            warn!("No broker reachable.");
        }
    }
}

/// Records in the producer's queue (not yet sent or not yet acknowledged), from its
/// statistics.
pub struct ProducerQueue {
    pub messages: u64,
}

impl ProducerQueue {
    pub fn emit(&self) {
        metrics()
            .producer_queue
            .set(i64::try_from(self.messages).unwrap_or(i64::MAX));
    }
}

/// A broker's state and round-trip time, from the client's statistics.
pub struct BrokerStatus<'a> {
    pub broker: &'a str,
    pub up: bool,
    pub rtt: Option<Duration>,
}

impl BrokerStatus<'_> {
    pub fn emit(&self) {
        let metrics = metrics();
        metrics
            .broker_up
            .with_label_values(&[self.broker])
            .set(i64::from(self.up));
        if let Some(rtt) = self.rtt {
            metrics
                .broker_rtt
                .with_label_values(&[self.broker])
                .set(rtt.as_secs_f64());
        }
    }
}

/// Consumer lag of one partition, from the client's statistics.
pub struct PartitionLag<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub lag: i64,
}

impl PartitionLag<'_> {
    pub fn emit(&self) {
        metrics()
            .consumer_lag
            .with_label_values(&[self.topic, &self.partition.to_string()])
            .set(self.lag);
    }
}

/// A partition went to another consumer. Its lag is the new owner's to report now: a
/// series left behind would count it twice in every sum over replicas.
pub struct PartitionReleased<'a> {
    pub topic: &'a str,
    pub partition: i32,
}

impl PartitionReleased<'_> {
    pub fn emit(&self) {
        // Absent when no statistics came while the partition was owned: nothing to remove.
        let _ = metrics()
            .consumer_lag
            .remove_label_values(&[self.topic, &self.partition.to_string()]);
    }
}

/// A revoke waited for the revoked partitions' records in flight.
pub struct RevokeDrained {
    pub drained: bool,
    pub timeout: Duration,
}

impl RevokeDrained {
    pub fn emit(&self) {
        if !self.drained {
            warn!(
                timeout_ms = self.timeout.as_millis() as u64,
                "Revoked partitions still had records in flight after the drain timeout; their new owner will process them again."
            );
        }
    }
}

mod transactions;
pub use transactions::{TransactionEnded, TransactionSteps};

mod versions;
pub use versions::{
    ArticleEmbargoed, ArticleReleased, ArticleSuperseded, EmbargoDropped, EmbargoesHeld,
};

#[cfg(test)]
mod tests;

/// Start-up could not tell whether the output topics exist: no broker answered. The
/// pipeline starts anyway and retries the brokers like any outage.
pub struct OutputTopicsUnchecked<'a> {
    pub error: &'a str,
}

impl OutputTopicsUnchecked<'_> {
    pub fn emit(&self) {
        warn!(
            error = self.error,
            "Cannot check that the output topics exist; starting anyway."
        );
    }
}

/// Start-up created a missing output topic (`create_topics`).
pub struct TopicCreated<'a> {
    pub topic: &'a str,
}

impl TopicCreated<'_> {
    pub fn emit(&self) {
        info!(topic = self.topic, "Topic created.");
    }
}

/// An output topic went missing on the cluster while running, or came back: one line per
/// change, however many records wait for it.
pub struct OutputTopicMissing<'a> {
    pub topic: &'a str,
    pub missing: bool,
}

impl OutputTopicMissing<'_> {
    pub fn emit(&self) {
        if self.missing {
            warn!(
                topic = self.topic,
                "Output topic missing on the cluster; its records wait and the replica is not ready."
            );
        } else {
            info!(topic = self.topic, "Output topic back.");
        }
        metrics()
            .output_topic_missing
            .with_label_values(&[self.topic])
            .set(i64::from(self.missing));
    }
}
