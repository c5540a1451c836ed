//! Callbacks from librdkafka: rebalances, commits, statistics and client errors, all in one
//! consumer context, as rdkafka's at-least-once example does; and the producer's statistics
//! and errors in its own.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::offsets::SharedTracker;
use crate::telemetry::events::{
    BrokerStatus, ClientError, OffsetsCommitted, PartitionLag, ProducerQueue, Rebalanced,
    RevokeDrained,
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
    health.set_broker_reachable(any_up);
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
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.health.set_broker_reachable(false);
        }
        ClientError {
            error: &error.to_string(),
            reason,
        }
        .emit();
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

impl ClientContext for PipelineContext {
    fn stats(&self, statistics: Statistics) {
        report_brokers(&statistics, &self.health);
        for (topic_name, topic) in &statistics.topics {
            for (partition, stats) in &topic.partitions {
                // Partition -1 is librdkafka's internal "unassigned" partition; -1 lag means
                // not known yet.
                if *partition >= 0 && stats.consumer_lag >= 0 {
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

    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.health.set_broker_reachable(false);
        }
        ClientError {
            error: &error.to_string(),
            reason,
        }
        .emit();
    }
}

impl ConsumerContext for PipelineContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            self.release(consumer, partitions);
            let remaining = consumer.assignment().map_or(0, |a| a.count());
            let now = remaining.saturating_sub(partitions.count());
            self.health.set_assigned_partitions(now);
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
            self.health.set_assigned_partitions(now);
            self.health.set_broker_reachable(true);
            Rebalanced {
                kind: "assigned",
                partitions: &describe(partitions),
                assigned_now: now as i64,
            }
            .emit();
        }
    }
}
