//! `newsflow aggregate`: the events topic folded into one record per event fingerprint
//! on a compacted topic ([`crate::aggregate`]).
//!
//! The events topic is keyed by fingerprint, so each aggregator of the consumer group owns
//! the events of its partitions. Partition `p`'s aggregates are written to partition `p`
//! of the output topic, and read back from it when the partition is assigned: the state
//! lives in Kafka, not on a local disk. Records are read in batches; a batch's changed
//! aggregates are stored (acknowledged by the broker) before its offsets are committed.
//! Redelivery after a crash or a rebalance replays mentions already in the stored
//! aggregates, which count each mention once: the counts stay exact under at-least-once.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::FutureProducer;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::check::{ensure_topics, partition_count};
use super::compacted::read_to_end;
use super::context::{commit_offsets, report_client_error, ProducerContext, ReleaserContext};
use super::envelope::Envelopes;
use super::produce::{Origin, Outgoing};
use super::{client_config, Client, RunError};
use crate::aggregate::{AggregateConfig, AggregatedEvent, Applied, Families};
use crate::config::RunConfig;
use crate::record::{DeadLetter, DeadLetterReason, EventRecord};
use crate::registry::framing::unframe;
use crate::telemetry::aggregate_events::{
    AggregateBatchStored, AggregateRecordRead, AggregatesRestored,
};
use crate::telemetry::events::DeadLettered;
use crate::telemetry::Health;

/// Records aggregated together, at most; and how long a batch waits for more.
const BATCH_RECORDS: usize = 500;
const BATCH_WAIT: Duration = Duration::from_millis(50);

/// Reading a partition's aggregates back fails when a record takes longer.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(30);

/// What an events-topic record holds.
enum Read {
    Mention(Box<EventRecord>),
    /// A withdrawn article (its events are not taken back: see docs/aggregation.md).
    KillMarker,
    Invalid(DeadLetterReason, String),
}

/// A record's JSON, with a schema registry's framing taken off when it has one.
fn unframed(bytes: &[u8]) -> &[u8] {
    unframe(bytes).map_or(bytes, |(_, json)| json)
}

/// An aggregated event as stored on the output topic, framed for a registry or not.
fn stored(value: &[u8]) -> serde_json::Result<AggregatedEvent> {
    serde_json::from_slice(unframed(value))
}

fn read(payload: &[u8]) -> Read {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Read::Invalid(DeadLetterReason::Empty, "empty record".into());
    }
    // Framed for a schema registry when the events output is.
    let value: Value = match serde_json::from_slice(unframed(payload)) {
        Ok(value) => value,
        Err(error) => return Read::Invalid(DeadLetterReason::InvalidJson, error.to_string()),
    };
    if value.get("killed") == Some(&Value::Bool(true)) {
        return Read::KillMarker;
    }
    match serde_json::from_value(value) {
        Ok(record) => Read::Mention(Box::new(record)),
        Err(error) => Read::Invalid(
            DeadLetterReason::SchemaViolation,
            format!("not an event record: {error}"),
        ),
    }
}

/// The aggregates of the partitions this aggregator owns.
struct Aggregator {
    config: AggregateConfig,
    events_topic: String,
    dlq_topic: String,
    /// Per owned partition, its events; a partition is here once read back.
    owned: HashMap<i32, Families>,
    restorer: Arc<BaseConsumer>,
    /// How the aggregated records are wrapped (`[envelope] aggregated`).
    envelopes: Envelopes,
    /// Tellings so far (restored events included): orders them across partitions.
    told: u64,
}

/// What one batch changed.
#[derive(Default)]
struct BatchResult {
    changed: BTreeSet<(i32, String)>,
    dead_letters: Vec<Outgoing>,
    next_offsets: HashMap<i32, i64>,
    newest_ms: Option<i64>,
}

impl Aggregator {
    /// Reads partition `partition`'s aggregates back, unless held already.
    async fn restore(&mut self, partition: i32) -> Result<(), RunError> {
        if self.owned.contains_key(&partition) {
            return Ok(());
        }
        let started = Instant::now();
        let restorer = Arc::clone(&self.restorer);
        let topic = self.config.output_topic.clone();
        let (max_held, mut told) = (self.config.max_events_held, self.told);
        let (events, unreadable, told) = tokio::task::spawn_blocking(move || {
            // In the topic's order, so that a key's newest record is the one kept, and the
            // events told longest ago are forgotten first when the partition holds too many.
            let mut events = Families::default();
            let mut unreadable = 0;
            read_to_end(
                &restorer,
                &topic,
                Some(&[partition]),
                RESTORE_TIMEOUT,
                |key, value| match value.map(stored) {
                    Some(Ok(event)) if event.id == key => {
                        told += 1;
                        events.restore(event, told);
                        if events.len() > max_held {
                            events.forget_oldest();
                        }
                    }
                    None => events.forget(key),
                    Some(_) => unreadable += 1,
                },
            )
            .map(|()| (events, unreadable, told))
        })
        .await
        .unwrap_or(Err(KafkaError::Canceled))
        .map_err(|source| RunError::State {
            topic: self.config.output_topic.clone(),
            source,
        })?;
        AggregatesRestored {
            topic: &self.config.output_topic,
            partition,
            events: events.len(),
            unreadable,
            seconds: started.elapsed().as_secs_f64(),
        }
        .emit();
        self.owned.insert(partition, events);
        self.told = told;
        Ok(())
    }

    /// Counts `batch` in; what must be stored before its offsets are committed.
    async fn apply(&mut self, batch: &[OwnedMessage]) -> Result<BatchResult, RunError> {
        let mut result = BatchResult::default();
        let now = Utc::now();
        for message in batch {
            let partition = message.partition();
            self.restore(partition).await?;
            result.next_offsets.insert(partition, message.offset() + 1);
            let timestamp = message.timestamp().to_millis();
            result.newest_ms = result.newest_ms.max(timestamp);
            let seen_at = timestamp
                .and_then(DateTime::<Utc>::from_timestamp_millis)
                .unwrap_or(now);
            let outcome = match read(message.payload().unwrap_or_default()) {
                Read::Mention(record) => {
                    let events = self.owned.entry(partition).or_default();
                    self.told += 1;
                    let told = self.told;
                    let (applied, id) = events.count(&record, seen_at, &self.config, told);
                    if applied == Applied::Counted {
                        result.changed.insert((partition, id));
                    }
                    applied.as_str()
                }
                Read::KillMarker => "kill_marker",
                Read::Invalid(reason, error) => {
                    let letter = DeadLetter::new(
                        reason,
                        error,
                        Origin::of(message).dead_letter_source(),
                        message.payload().unwrap_or_default(),
                    );
                    DeadLettered { letter: &letter }.emit();
                    result.dead_letters.push(Outgoing::dead_letter(
                        &self.dlq_topic,
                        &letter,
                        message,
                    ));
                    "dead_lettered"
                }
            };
            AggregateRecordRead { outcome }.emit();
        }
        Ok(result)
    }

    fn held(&self) -> usize {
        self.owned.values().map(Families::len).sum()
    }

    /// Forgets the events told longest ago, over every partition, while more than
    /// `max_events_held` are held; returns how many. Their records stay on the topic.
    fn forget_beyond_limit(&mut self) -> usize {
        let excess = self.held().saturating_sub(self.config.max_events_held);
        for _ in 0..excess {
            let oldest = self
                .owned
                .values_mut()
                .filter_map(|events| Some((events.oldest_told()?, events)))
                .min_by_key(|(told, _)| *told);
            if let Some((_, events)) = oldest {
                events.forget_oldest();
            }
        }
        excess
    }
}

/// Aggregates the events topic until `shutdown`; fails when Kafka does beyond its retries
/// (the batch in hand is then read again by whoever owns its partitions next).
pub async fn aggregate(
    config: &RunConfig,
    health: Health,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let settings = &config.aggregate;
    let events_topic = config.events_topic.clone();
    ensure_topics(
        config,
        &[events_topic.clone(), config.dlq_topic.clone()],
        config.create_topics,
        &[],
    )
    .await?;
    let events_partitions = partition_count(config, &events_topic).await?;
    // Created with the events topic's partitions: partition p's aggregates go to p.
    let output_config = RunConfig {
        topic_partitions: events_partitions,
        ..config.clone()
    };
    ensure_topics(
        &output_config,
        std::slice::from_ref(&settings.output_topic),
        true,
        &[("cleanup.policy", "compact")],
    )
    .await?;
    let output_partitions = partition_count(config, &settings.output_topic).await?;
    if output_partitions < events_partitions {
        return Err(RunError::Settings(crate::config::ConfigError::Invalid(
            format!(
                "aggregate.output_topic {} has {output_partitions} partitions, fewer than the \
             {events_partitions} of {events_topic}: each events partition's aggregates go \
             to the partition of the same number",
                settings.output_topic
            ),
        )));
    }
    let consumer: StreamConsumer<ReleaserContext> = client_config(
        config,
        Client::Consumer,
        &[
            ("group.id", settings.group_id.clone()),
            ("enable.auto.commit", "false".into()),
            ("auto.offset.reset", "earliest".into()),
            ("isolation.level", "read_committed".into()),
            // Its lag on the events topic, as newsflow_consumer_lag_messages.
            ("statistics.interval.ms", "5000".into()),
        ],
    )
    .create_with_context(ReleaserContext {
        health: health.clone(),
        revoked: Default::default(),
    })
    .map_err(|error| RunError::client(config, Client::Consumer, &error))?;
    consumer
        .subscribe(&[&events_topic])
        .map_err(|source| RunError::Subscribe {
            topic: events_topic.clone(),
            source,
        })?;
    let restorer: BaseConsumer = client_config(
        config,
        Client::Consumer,
        &[
            ("group.id", format!("{}-restore", settings.group_id)),
            ("enable.auto.commit", "false".into()),
            ("enable.partition.eof", "true".into()),
        ],
    )
    .create()
    .map_err(|error| RunError::client(config, Client::Consumer, &error))?;
    let envelopes =
        Envelopes::start_aggregated(&config.envelope, &config.registry, &settings.output_topic)
            .await?;
    let producer: FutureProducer<ProducerContext> = client_config(
        config,
        Client::Producer,
        &[
            ("enable.idempotence", "true".into()),
            ("linger.ms", "5".into()),
            ("compression.type", "lz4".into()),
            ("statistics.interval.ms", "5000".into()),
        ],
    )
    .create_with_context(ProducerContext {
        health: health.clone(),
    })
    .map_err(|error| RunError::client(config, Client::Producer, &error))?;
    let mut aggregator = Aggregator {
        config: settings.clone(),
        events_topic,
        dlq_topic: config.dlq_topic.clone(),
        owned: HashMap::new(),
        restorer: Arc::new(restorer),
        envelopes,
        told: 0,
    };
    while let Some(batch) = next_batch(&consumer, &shutdown).await {
        let revoked = aggregator.forget_revoked(&consumer, &batch);
        let batch: Vec<OwnedMessage> = batch
            .into_iter()
            .filter(|m| !revoked.contains(&m.partition()))
            .collect();
        let result = aggregator.apply(&batch).await?;
        store(&aggregator, &producer, &result).await?;
        let offsets: Vec<(String, i32, i64)> = result
            .next_offsets
            .iter()
            .map(|(&partition, &offset)| (aggregator.events_topic.clone(), partition, offset))
            .collect();
        if !offsets.is_empty() {
            // A failed commit reads the batch again, which counts nothing twice.
            let _ = commit_offsets(&consumer, &offsets, CommitMode::Sync);
        }
        let forgotten = aggregator.forget_beyond_limit();
        AggregateBatchStored {
            records: batch.len(),
            updates: result.changed.len(),
            forgotten,
            events_held: aggregator.held(),
            lag_seconds: result
                .newest_ms
                .map(|ms| (Utc::now().timestamp_millis() - ms).max(0) as f64 / 1000.0),
        }
        .emit();
    }
    Ok(())
}

impl Aggregator {
    /// Drops the aggregates of partitions revoked since the last batch, and sends those
    /// still (or again) assigned back to their committed offsets: the batch's records of
    /// them may have been read before the revoke, and are left out.
    fn forget_revoked(
        &mut self,
        consumer: &StreamConsumer<ReleaserContext>,
        batch: &[OwnedMessage],
    ) -> Vec<i32> {
        let revoked = consumer.context().take_revoked();
        for &partition in &revoked {
            self.owned.remove(&partition);
            if batch.iter().any(|m| m.partition() == partition) {
                rewind(consumer, &self.events_topic, partition);
            }
        }
        revoked
    }
}

/// Sends `partition` back to its committed offset (a no-op unless it is assigned again).
fn rewind(consumer: &StreamConsumer<ReleaserContext>, topic: &str, partition: i32) {
    let mut list = TopicPartitionList::new();
    list.add_partition(topic, partition);
    let committed = consumer
        .committed_offsets(list, Duration::from_secs(10))
        .ok()
        .and_then(|list| list.find_partition(topic, partition).map(|e| e.offset()));
    let offset = match committed {
        Some(Offset::Offset(offset)) => Offset::Offset(offset),
        _ => Offset::Beginning,
    };
    if let Err(error) = consumer.seek(topic, partition, offset, Duration::from_secs(10)) {
        report_client_error(&error, Some("rewinding a revoked partition"));
    }
}

/// The next records, as many as come within [`BATCH_WAIT`] of the first (at most
/// [`BATCH_RECORDS`]); `None` at shutdown.
async fn next_batch(
    consumer: &StreamConsumer<ReleaserContext>,
    shutdown: &CancellationToken,
) -> Option<Vec<OwnedMessage>> {
    let mut batch = Vec::new();
    loop {
        let first = tokio::select! {
            () = shutdown.cancelled() => return None,
            received = consumer.recv() => received,
        };
        match first {
            Ok(message) => {
                batch.push(message.detach());
                break;
            }
            Err(error) => report_client_error(&error, None),
        }
    }
    let deadline = tokio::time::Instant::now() + BATCH_WAIT;
    while batch.len() < BATCH_RECORDS {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(message)) => batch.push(message.detach()),
            Ok(Err(error)) => report_client_error(&error, None),
            Err(_) => break,
        }
    }
    Some(batch)
}

/// Writes the batch's changed aggregates (each to its events partition's number) and its
/// dead letters, and waits for the broker to store them all.
async fn store(
    aggregator: &Aggregator,
    producer: &FutureProducer<ProducerContext>,
    result: &BatchResult,
) -> Result<(), RunError> {
    let topic = &aggregator.config.output_topic;
    let mut deliveries = Vec::with_capacity(result.changed.len() + result.dead_letters.len());
    let aggregates: Vec<(i32, Outgoing)> = result
        .changed
        .iter()
        .map(|(partition, id)| {
            let event = aggregator.owned[partition]
                .get(id)
                .expect("a changed event is held");
            let out = Outgoing::aggregated(topic, event);
            let wrapped = aggregator.envelopes.aggregated(out, event);
            // Framing fails only for a topic whose schema was not registered at start-up.
            (
                *partition,
                wrapped.expect("the output topic's schema is registered"),
            )
        })
        .collect();
    for (partition, out) in &aggregates {
        let record = out.record().partition(*partition);
        deliveries.push(producer.send_result(record).map_err(|(error, _)| error));
    }
    for letter in &result.dead_letters {
        deliveries.push(
            producer
                .send_result(letter.record())
                .map_err(|(error, _)| error),
        );
    }
    for delivery in deliveries {
        let delivered = match delivery {
            Ok(future) => future
                .await
                .map_err(|_| KafkaError::Canceled)
                .and_then(|d| d.map(|_| ()).map_err(|(error, _)| error)),
            Err(error) => Err(error),
        };
        delivered.map_err(RunError::Aggregate)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_aggregate_reads_back_framed_for_a_registry_or_not() {
        let mention = br#"{"schema_version": 5, "article_id": "a1", "published_at": null,
            "plover": "CONSULT", "cameo": "040", "actors": ["FRA"], "targets": [],
            "location": null, "date_start": null, "date_end": null, "modality": "occurred",
            "sentence": "They met.", "confidence": 0.5, "fingerprint": "00ff00ff00ff00ff"}"#;
        let Read::Mention(record) = read(mention) else {
            panic!("a mention")
        };
        let config = AggregateConfig::default();
        let event = AggregatedEvent::new("e1".into(), &record, Utc::now(), &config);
        let value = serde_json::to_vec(&event).unwrap();
        assert_eq!(stored(&value).unwrap(), event);
        let framed = crate::registry::frame(12, &value);
        assert_eq!(stored(&framed).unwrap(), event);
        assert!(stored(b"{}").is_err());
    }

    #[test]
    fn records_that_are_no_event_are_told_apart() {
        assert!(matches!(
            read(b"  "),
            Read::Invalid(DeadLetterReason::Empty, _)
        ));
        assert!(matches!(
            read(b"{oops"),
            Read::Invalid(DeadLetterReason::InvalidJson, _)
        ));
        assert!(matches!(
            read(br#"{"article_id": "a1"}"#),
            Read::Invalid(DeadLetterReason::SchemaViolation, _)
        ));
        let marker =
            br#"{"article_id":"a1","schema_version":5,"killed":true,"pubstatus":"canceled"}"#;
        assert!(matches!(read(marker), Read::KillMarker));
    }
}
