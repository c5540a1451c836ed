//! Callbacks from librdkafka: rebalances, commits, statistics and client errors, all in one
//! consumer context, as rdkafka's at-least-once example does; and the producer's statistics
//! and errors in its own.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tracing::Level;

use super::offsets::SharedTracker;
use crate::config::scrub;
use crate::telemetry::events::{
    BrokerReachabilityChanged, BrokerStatus, ClientError, LibrdkafkaLogged, OffsetsCommitted,
    PartitionLag, PartitionReleased, ProducerQueue, Rebalanced, RevokeDrained,
};
use crate::telemetry::Health;

/// Broker states and round-trip times from a client's statistics; the broker counts as
/// reachable while any connection is up.
fn report_brokers(statistics: &Statistics, health: &Health) {
    let mut any_up = false;
    // librdkafka's bootstrap and internal pseudo-brokers have no node id.
    for broker in statistics.brokers.values().filter(|b| b.nodeid >= 0) {
        let up = broker.state == "UP";
        any_up |= up;
        BrokerStatus {
            broker: &broker.name,
            up,
            rtt: broker
                .rtt
                .as_ref()
                .filter(|window| window.cnt > 0)
                .map(|window| Duration::from_micros(window.avg.max(0) as u64)),
        }
        .emit();
    }
    set_broker_reachable(health, any_up);
}

/// Readiness follows the broker; a change is logged once, whichever client saw it.
fn set_broker_reachable(health: &Health, reachable: bool) {
    if health.set_broker_reachable(reachable) {
        BrokerReachabilityChanged { reachable }.emit();
    }
}

/// An error from a client's error callback: readiness drops when every broker is down.
fn on_client_error(health: &Health, error: &KafkaError, reason: &str) {
    if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
        set_broker_reachable(health, false);
    }
    report_client_error(error, Some(reason));
}

/// The level of a log line of librdkafka's own: rdkafka's mapping, except that a failed
/// connection ("FAIL") goes to debug, because the error callback reports the same failure
/// with the same text (`BrokerTransportFailure`), limited to one line per window.
fn librdkafka_log_level(level: RDKafkaLogLevel, facility: &str) -> Level {
    match level {
        _ if facility == "FAIL" => Level::DEBUG,
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => Level::ERROR,
        RDKafkaLogLevel::Warning => Level::WARN,
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => Level::INFO,
        RDKafkaLogLevel::Debug => Level::DEBUG,
    }
}

fn log_from_librdkafka(level: RDKafkaLogLevel, facility: &str, message: &str) {
    LibrdkafkaLogged {
        level: librdkafka_log_level(level, facility),
        facility,
        message: &scrub(message),
    }
    .emit();
}

/// Reports an error a client raised outside any one record; the consumer's stream yields
/// the errors its callback gets too.
pub fn report_client_error(error: &KafkaError, reason: Option<&str>) {
    let code = error
        .rdkafka_error_code()
        .map_or_else(|| "Unknown".to_owned(), |code| format!("{code:?}"));
    ClientError {
        code: &code,
        error: &scrub(&error.to_string()),
        reason: reason.map(scrub).as_deref(),
    }
    .emit();
}

/// The producer's callbacks: its queue depth and broker states from statistics, its errors
/// as events. The producer's statistics keep coming while the consumer is not polled (its
/// in-flight window full during an outage), so readiness follows the broker either way.
pub struct ProducerContext {
    pub health: Health,
}

impl ClientContext for ProducerContext {
    fn stats(&self, statistics: Statistics) {
        ProducerQueue {
            messages: statistics.msg_cnt,
        }
        .emit();
        report_brokers(&statistics, &self.health);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        on_client_error(&self.health, &error, reason);
    }

    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log_from_librdkafka(level, facility, message);
    }
}

/// The consumer of the embargo releaser and of `newsflow aggregate`: notes revoked
/// partitions, whose state its owner then drops, and reports errors and lag (when asked
/// for statistics) as the pipeline's consumer does.
pub struct ReleaserContext {
    pub health: Health,
    pub revoked: std::sync::Mutex<Vec<i32>>,
}

impl ReleaserContext {
    /// The partitions revoked since the last call.
    pub fn take_revoked(&self) -> Vec<i32> {
        std::mem::take(&mut *self.revoked.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl ClientContext for ReleaserContext {
    fn stats(&self, statistics: Statistics) {
        report_lag(&statistics);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        on_client_error(&self.health, &error, reason);
    }

    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log_from_librdkafka(level, facility, message);
    }
}

impl ConsumerContext for ReleaserContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            let mut revoked = self.revoked.lock().unwrap_or_else(|e| e.into_inner());
            for element in partitions.elements() {
                revoked.push(element.partition());
                PartitionReleased {
                    topic: element.topic(),
                    partition: element.partition(),
                }
                .emit();
            }
        }
    }
}

pub struct PipelineContext {
    pub tracker: Arc<SharedTracker>,
    pub health: Health,
    /// How long a revoke may wait for the partitions' records in flight; keep it below
    /// `session.timeout.ms`.
    pub revoke_drain_timeout: Duration,
}

impl PipelineContext {
    /// Before `partitions` go to another consumer: waits (within the drain timeout) for
    /// their records in flight, commits their delivered watermarks synchronously and
    /// forgets them. Records still in flight after the timeout are read again by the new
    /// owner.
    fn release(&self, consumer: &BaseConsumer<Self>, partitions: &TopicPartitionList) {
        let revoked: Vec<(String, i32)> = partitions
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        let drained = self
            .tracker
            .wait_drained(&revoked, self.revoke_drain_timeout);
        RevokeDrained {
            drained,
            timeout: self.revoke_drain_timeout,
        }
        .emit();
        let mut tracker = self.tracker.lock();
        let due: Vec<_> = tracker
            .committable()
            .into_iter()
            .filter(|(topic, partition, _)| partitions.find_partition(topic, *partition).is_some())
            .collect();
        if !due.is_empty() {
            let result = commit_offsets(consumer, &due, CommitMode::Sync);
            if result.is_ok() {
                tracker.mark_committed(&due);
            }
        }
        for (topic, partition) in &revoked {
            tracker.revoke(topic, *partition);
        }
    }
}

/// Commits every watermark that moved since the last commit.
pub fn commit_due<C: Consumer<X>, X: ConsumerContext>(
    consumer: &C,
    tracker: &SharedTracker,
    mode: CommitMode,
) {
    let due = tracker.lock().committable();
    if due.is_empty() {
        return;
    }
    if commit_offsets(consumer, &due, mode).is_ok() {
        tracker.lock().mark_committed(&due);
    }
}

/// Commits `(topic, partition, next offset)` triples and reports the outcome.
pub fn commit_offsets<C: Consumer<X>, X: ConsumerContext>(
    consumer: &C,
    offsets: &[(String, i32, i64)],
    mode: CommitMode,
) -> KafkaResult<()> {
    let mut list = TopicPartitionList::new();
    for (topic, partition, offset) in offsets {
        list.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
    }
    let result = consumer.commit(&list, mode);
    let error = result.as_ref().err().map(ToString::to_string);
    OffsetsCommitted {
        partitions: offsets.len(),
        error: error.as_deref(),
    }
    .emit();
    result
}

fn describe(partitions: &TopicPartitionList) -> String {
    partitions
        .elements()
        .iter()
        .map(|e| format!("{}/{}", e.topic(), e.partition()))
        .collect::<Vec<_>>()
        .join(",")
}

/// The lag of each partition a consumer fetches, from its statistics.
fn report_lag(statistics: &Statistics) {
    for (topic_name, topic) in &statistics.topics {
        for (partition, stats) in &topic.partitions {
            // Partition -1 is librdkafka's internal "unassigned" partition; -1 lag means not
            // known yet.
            if *partition >= 0 && stats.consumer_lag >= 0 && is_fetched(&stats.fetch_state) {
                PartitionLag {
                    topic: topic_name,
                    partition: *partition,
                    lag: stats.consumer_lag,
                }
                .emit();
            }
        }
    }
}

/// Whether a partition in the statistics is one this consumer fetches. librdkafka keeps
/// reporting a revoked partition's last lag (its fetch state back to "none"), which would
/// bring back the series the revoke removed.
fn is_fetched(fetch_state: &str) -> bool {
    !matches!(fetch_state, "none" | "stopping" | "stopped")
}

impl ClientContext for PipelineContext {
    fn stats(&self, statistics: Statistics) {
        report_brokers(&statistics, &self.health);
        report_lag(&statistics);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        on_client_error(&self.health, &error, reason);
    }

    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log_from_librdkafka(level, facility, message);
    }
}

impl ConsumerContext for PipelineContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            self.release(consumer, partitions);
            for element in partitions.elements() {
                PartitionReleased {
                    topic: element.topic(),
                    partition: element.partition(),
                }
                .emit();
            }
            let remaining = consumer.assignment().map_or(0, |a| a.count());
            let now = remaining.saturating_sub(partitions.count());
            Rebalanced {
                kind: "revoked",
                partitions: &describe(partitions),
                assigned_now: now as i64,
            }
            .emit();
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            let now = consumer
                .assignment()
                .map_or(partitions.count(), |a| a.count());
            set_broker_reachable(&self.health, true);
            Rebalanced {
                kind: "assigned",
                partitions: &describe(partitions),
                assigned_now: now as i64,
            }
            .emit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_partitions_being_fetched_report_lag() {
        for state in [
            "active",
            "offset-query",
            "offset-wait",
            "validate-epoch-wait",
        ] {
            assert!(is_fetched(state), "{state}");
        }
        for state in ["none", "stopping", "stopped"] {
            assert!(!is_fetched(state), "{state}");
        }
    }

    #[test]
    fn failed_connections_are_left_to_the_error_callback() {
        assert_eq!(
            librdkafka_log_level(RDKafkaLogLevel::Error, "FAIL"),
            Level::DEBUG
        );
        assert_eq!(
            librdkafka_log_level(RDKafkaLogLevel::Error, "SSL"),
            Level::ERROR
        );
        assert_eq!(
            librdkafka_log_level(RDKafkaLogLevel::Warning, "CONFWARN"),
            Level::WARN
        );
        assert_eq!(
            librdkafka_log_level(RDKafkaLogLevel::Notice, "REQTMOUT"),
            Level::INFO
        );
    }
}
