//! `newsflow replay-dlq`: re-submits dead letters after a fix, by producing each one's
//! original key and value again, to the topic it came from or to a chosen one.
//!
//! The replay reads the dead-letter topic as its own consumer group, from that group's
//! committed offsets up to the end of the topic as it was at the start (so records that
//! fail again and come back are not replayed in a loop), and commits only after the broker
//! acknowledged every replayed record: an interrupted replay resumes where it stopped.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tracing::info;

use super::{check_clients, client_config, header_value, Client, RunError};
use crate::config::{ConfigError, RunConfig};
use crate::record::header;

const METADATA_TIMEOUT: Duration = Duration::from_secs(30);

/// Header naming the dead letter a replayed record came from: `topic/partition/offset`.
pub const REPLAYED_FROM: &str = "newsflow.replayed.from";

/// What to replay and where.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Topic to produce to; `None` sends each record back to its source topic.
    pub to_topic: Option<String>,
    /// Only dead letters with one of these reasons; empty for all.
    pub reasons: Vec<String>,
    /// The replay's own consumer group on the dead-letter topic.
    pub group_id: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplaySummary {
    pub replayed: u64,
    /// Left out by the reason filter.
    pub filtered: u64,
    /// Dead letters whose original value the broker had refused (only their headers were
    /// kept): replay those from their source topic and offset.
    pub without_value: u64,
    /// Neither a target topic nor a source topic to send to.
    pub without_target: u64,
}

fn consumer_config(config: &RunConfig, options: &ReplayOptions) -> ClientConfig {
    client_config(
        config,
        Client::Consumer,
        &[
            ("group.id", options.group_id.clone()),
            ("enable.auto.commit", "false".into()),
            ("auto.offset.reset", "earliest".into()),
        ],
    )
}

fn producer_config(config: &RunConfig) -> ClientConfig {
    client_config(
        config,
        Client::Producer,
        &[("enable.idempotence", "true".into())],
    )
}

/// Lets librdkafka check the replay's properties before anything runs, as
/// [`super::check_run_clients`] does for `newsflow run`.
pub fn check_replay_clients(
    config: &RunConfig,
    options: &ReplayOptions,
) -> Result<(), ConfigError> {
    check_clients(
        config,
        consumer_config(config, options),
        producer_config(config),
    )
}

/// Replays the dead letters of `config.dlq_topic` (brokers and librdkafka properties
/// from `config`). Every librdkafka call here blocks (metadata, watermarks, polls, the
/// synchronous commit), so this is a plain function for a thread of its own, never for an
/// async runtime's worker.
pub fn replay(config: &RunConfig, options: &ReplayOptions) -> Result<ReplaySummary, RunError> {
    let consumer: BaseConsumer = consumer_config(config, options)
        .create()
        .map_err(|error| RunError::client(config, Client::Consumer, &error))?;
    let producer: FutureProducer = producer_config(config)
        .create()
        .map_err(|error| RunError::client(config, Client::Producer, &error))?;
    let topic = config.dlq_topic.as_str();
    let ends = end_offsets(&consumer, topic)?;
    let mut assignment = TopicPartitionList::new();
    for partition in ends.keys() {
        assignment.add_partition(topic, *partition);
    }
    let committed = consumer
        .committed_offsets(assignment, METADATA_TIMEOUT)
        .map_err(RunError::Replay)?;
    let mut start = TopicPartitionList::new();
    let mut remaining = BTreeMap::new();
    for element in committed.elements() {
        let from = match element.offset() {
            Offset::Offset(offset) => offset,
            _ => 0,
        };
        let end = ends[&element.partition()];
        start
            .add_partition_offset(topic, element.partition(), Offset::Offset(from))
            .map_err(RunError::Replay)?;
        if from < end {
            remaining.insert(element.partition(), end);
        }
    }
    consumer.assign(&start).map_err(RunError::Replay)?;

    let mut summary = ReplaySummary::default();
    let mut deliveries = Vec::new();
    let mut next_offsets = TopicPartitionList::new();
    while !remaining.is_empty() {
        let Some(message) = consumer.poll(Duration::from_millis(500)) else {
            // Control records (transaction markers) take offsets no message has.
            let positions = consumer.position().map_err(RunError::Replay)?;
            for element in positions.elements() {
                if let (Offset::Offset(at), Some(end)) =
                    (element.offset(), remaining.get(&element.partition()))
                {
                    if at >= *end {
                        remaining.remove(&element.partition());
                    }
                }
            }
            continue;
        };
        let message = message.map_err(RunError::Replay)?;
        let partition = message.partition();
        let Some(end) = remaining.get(&partition).copied() else {
            continue;
        };
        if message.offset() >= end {
            remaining.remove(&partition);
            continue;
        }
        if let Some(record) = replayable(&message, options, &mut summary) {
            deliveries.push(
                producer
                    .send_result(record.as_future_record())
                    .map_err(|(e, _)| RunError::Replay(e))?,
            );
            summary.replayed += 1;
        }
        next_offsets
            .add_partition_offset(topic, partition, Offset::Offset(message.offset() + 1))
            .map_err(RunError::Replay)?;
        if message.offset() + 1 >= end {
            remaining.remove(&partition);
        }
    }
    for delivery in deliveries {
        // The producer's own thread completes the delivery; nothing else needs to run.
        match futures::executor::block_on(delivery) {
            Ok(Ok(_)) => {}
            Ok(Err((error, _))) => return Err(RunError::Replay(error)),
            Err(_) => return Err(RunError::Replay(rdkafka::error::KafkaError::Canceled)),
        }
    }
    if next_offsets.count() > 0 {
        consumer
            .commit(&next_offsets, CommitMode::Sync)
            .map_err(RunError::Replay)?;
    }
    info!(
        dlq_topic = topic,
        replayed = summary.replayed,
        filtered = summary.filtered,
        without_value = summary.without_value,
        without_target = summary.without_target,
        "Replay done."
    );
    Ok(summary)
}

/// Each partition of `topic` and its end offset now.
fn end_offsets(consumer: &BaseConsumer, topic: &str) -> Result<BTreeMap<i32, i64>, RunError> {
    let metadata = consumer
        .fetch_metadata(Some(topic), METADATA_TIMEOUT)
        .map_err(RunError::Replay)?;
    let partitions = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map(|t| t.partitions().iter().map(|p| p.id()).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut ends = BTreeMap::new();
    for partition in partitions {
        let (_, high) = consumer
            .fetch_watermarks(topic, partition, METADATA_TIMEOUT)
            .map_err(RunError::Replay)?;
        ends.insert(partition, high);
    }
    Ok(ends)
}

/// A record to produce again, with its original key, value and non-newsflow headers.
struct Replayed {
    topic: String,
    key: Option<Vec<u8>>,
    value: Vec<u8>,
    headers: OwnedHeaders,
}

impl Replayed {
    fn as_future_record(&self) -> FutureRecord<'_, [u8], [u8]> {
        let record = FutureRecord::to(&self.topic)
            .payload(&self.value[..])
            .headers(self.headers.clone());
        match &self.key {
            Some(key) => record.key(&key[..]),
            None => record,
        }
    }
}

fn replayable(
    message: &BorrowedMessage<'_>,
    options: &ReplayOptions,
    summary: &mut ReplaySummary,
) -> Option<Replayed> {
    let header_value = |name| header_value(message, name);
    let reason = header_value(header::REASON).unwrap_or_default();
    if !options.reasons.is_empty() && !options.reasons.contains(&reason) {
        summary.filtered += 1;
        return None;
    }
    if header_value(header::VALUE_DROPPED).as_deref() == Some("true") {
        summary.without_value += 1;
        return None;
    }
    let Some(topic) = options
        .to_topic
        .clone()
        .or_else(|| header_value(header::SOURCE_TOPIC))
    else {
        summary.without_target += 1;
        return None;
    };
    let mut headers = OwnedHeaders::new();
    if let Some(original) = message.headers() {
        for h in original.iter().filter(|h| !h.key.starts_with("newsflow.")) {
            headers = headers.insert(Header {
                key: h.key,
                value: h.value,
            });
        }
    }
    let from = format!(
        "{}/{}/{}",
        message.topic(),
        message.partition(),
        message.offset()
    );
    headers = headers.insert(Header {
        key: REPLAYED_FROM,
        value: Some(from.as_bytes()),
    });
    Some(Replayed {
        topic,
        key: message.key().map(<[u8]>::to_vec),
        value: message.payload().unwrap_or_default().to_vec(),
        headers,
    })
}
