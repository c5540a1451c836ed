//! The exactly-once loop: read a batch, enrich it, and commit its outputs together with its
//! input offsets in one Kafka transaction (offsets sent with the consumer group's metadata,
//! so a zombie replica is fenced). Readers with `isolation.level=read_committed` see each
//! output once. An abortable transaction error aborts the batch and rewinds the consumer to
//! the batch's first offsets, so the batch is read and enriched again; a fatal one stops the
//! process, whose restart (same transactional id) fences what the old one left open.
//!
//! A batch ends at `transaction_max_records`, after `transaction_interval_ms`, or at the byte
//! budget (`max_in_flight_bytes` of payload): the record that would take it past the budget
//! is kept for the next batch, and a record larger than the budget is a batch of its own.
//!
//! rdkafka's transaction calls block, so they run on the blocking thread pool, never on the
//! async reactor.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::Producer as _;
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::budget::ByteBudget;
use super::context::{report_client_error, PipelineContext};
use super::job::{Jobs, Origin};
use super::offsets::SharedTracker;
use super::produce::{Outgoing, Producer};
use super::RunError;
use crate::config::RunConfig;
use crate::telemetry::events::{RecordFinished, RecordProduced, TransactionEnded};
use crate::telemetry::metrics;

/// Blocking transaction calls get this long before they count as failed.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run(
    config: &RunConfig,
    consumer: &StreamConsumer<PipelineContext>,
    producer: Producer,
    jobs: Jobs,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let transactional = producer.inner().clone();
    blocking(move || transactional.init_transactions(TRANSACTION_TIMEOUT))
        .await
        .map_err(RunError::Transaction)?;
    info!(transactional_id = %config.transactional_id(), "Transactions initialised.");
    let limits = BatchLimits {
        records: config.transaction_max_records,
        interval: Duration::from_millis(config.transaction_interval_ms),
        bytes: ByteBudget::new(config.max_in_flight_bytes),
    };
    // Where the rebalance callback notes revoked partitions.
    let tracker = &consumer.context().tracker;
    let mut stream = consumer.stream();
    // A record read but left for the next batch by the byte budget.
    let mut carried = None;
    loop {
        let batch = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            batch = read_batch(&mut stream, &mut carried, &limits, tracker) => batch,
        };
        if batch.is_empty() {
            break;
        }
        let started = Instant::now();
        let records = batch.len();
        let (first_offsets, next_offsets) = batch_offsets(&batch);
        let outputs = futures::future::join_all(batch.into_iter().map(|m| jobs.start(m))).await;
        let Some(group) = consumer.group_metadata() else {
            warn!("No consumer group metadata; rewinding the batch.");
            rewind(consumer, first_offsets, carried.take());
            continue;
        };
        let published: Vec<Option<i64>> = outputs.iter().map(|(o, _)| o.published_ms).collect();
        let result = commit_batch(&producer, outputs, next_offsets, group).await;
        match result {
            Ok(topics) => {
                for published_ms in published {
                    RecordFinished { published_ms }.emit();
                }
                for topic in &topics {
                    RecordProduced { topic }.emit();
                }
                TransactionEnded {
                    committed: true,
                    records,
                    duration: started.elapsed(),
                    error: None,
                }
                .emit();
            }
            Err(error) if is_abortable(&error) => {
                TransactionEnded {
                    committed: false,
                    records,
                    duration: started.elapsed(),
                    error: Some(&error.to_string()),
                }
                .emit();
                let aborting = producer.inner().clone();
                blocking(move || aborting.abort_transaction(TRANSACTION_TIMEOUT))
                    .await
                    .map_err(RunError::Transaction)?;
                rewind(consumer, first_offsets, carried.take());
            }
            Err(error) => return Err(RunError::Transaction(error)),
        }
    }
    metrics().in_flight.set(0);
    Ok(())
}

/// When a batch ends.
struct BatchLimits {
    records: usize,
    interval: Duration,
    bytes: ByteBudget,
}

/// Waits for a first record (however long that takes; `carried` first, if a record was
/// left there), then collects more for up to the interval, the record limit or the byte
/// budget. A record that does not fit in the budget is left in `carried`. Empty only when
/// the stream ended.
///
/// Rebalances happen inside the stream's polls, so between two records of a batch a
/// partition may be revoked (and, with the eager protocol, assigned again at once, to be read
/// from its last committed offset). The records of such a partition read before the revoke
/// are dropped: no transaction holds them yet, and whoever holds the partition now reads
/// them again; kept, they would be committed a second time.
async fn read_batch<'a, S>(
    stream: &mut S,
    carried: &mut Option<OwnedMessage>,
    limits: &BatchLimits,
    tracker: &SharedTracker,
) -> Vec<OwnedMessage>
where
    S: futures::Stream<Item = Result<rdkafka::message::BorrowedMessage<'a>, KafkaError>> + Unpin,
{
    let mut batch = Vec::new();
    let mut bytes = 0;
    let mut ended = false;
    let deadline = tokio::time::sleep(limits.interval);
    tokio::pin!(deadline);
    while batch.is_empty() && !ended {
        while batch.len() < limits.records {
            let message = match carried.take() {
                Some(message) => message,
                None => {
                    let next = if batch.is_empty() {
                        stream.next().await
                    } else {
                        tokio::select! {
                            () = &mut deadline => break,
                            next = stream.next() => next,
                        }
                    };
                    // Whatever this poll brought is from the assignment as it is now.
                    bytes = drop_revoked(tracker, &mut batch, carried).unwrap_or(bytes);
                    match next {
                        Some(Ok(message)) => message.detach(),
                        Some(Err(error)) => {
                            report_client_error(&error, None);
                            continue;
                        }
                        None => {
                            ended = true;
                            break;
                        }
                    }
                }
            };
            let size = message.payload().map_or(0, <[u8]>::len);
            if !limits.bytes.fits(bytes, size) {
                *carried = Some(message);
                break;
            }
            if batch.is_empty() {
                deadline
                    .as_mut()
                    .reset(tokio::time::Instant::now() + limits.interval);
            }
            bytes += size;
            batch.push(message);
        }
        // A poll that timed out may have revoked partitions too.
        bytes = drop_revoked(tracker, &mut batch, carried).unwrap_or(bytes);
    }
    metrics().in_flight.set(batch.len() as i64);
    batch
}

/// Drops from `batch` and `carried` the records of the partitions revoked since the last
/// look; returns the payload bytes left in the batch, or `None` when nothing was revoked.
fn drop_revoked(
    tracker: &SharedTracker,
    batch: &mut Vec<OwnedMessage>,
    carried: &mut Option<OwnedMessage>,
) -> Option<usize> {
    let revoked = tracker.lock().take_revoked();
    if revoked.is_empty() {
        return None;
    }
    let kept = |message: &OwnedMessage| {
        !revoked.contains(&(message.topic().to_owned(), message.partition()))
    };
    batch.retain(kept);
    if carried.as_ref().is_some_and(|message| !kept(message)) {
        *carried = None;
    }
    Some(
        batch
            .iter()
            .map(|m| m.payload().map_or(0, <[u8]>::len))
            .sum(),
    )
}

/// Each (topic, partition)'s first offset in the batch (where to rewind to) and the offsets
/// to commit with it (one past each partition's last record).
fn batch_offsets(batch: &[OwnedMessage]) -> (BTreeMap<(String, i32), i64>, TopicPartitionList) {
    let mut first = BTreeMap::new();
    let mut last = BTreeMap::new();
    for message in batch {
        let key = (message.topic().to_owned(), message.partition());
        first.entry(key.clone()).or_insert(message.offset());
        let highest = last.entry(key).or_insert(message.offset());
        *highest = (*highest).max(message.offset());
    }
    let mut next = TopicPartitionList::new();
    for ((topic, partition), offset) in &last {
        next.add_partition_offset(topic, *partition, Offset::Offset(offset + 1))
            .expect("a valid offset");
    }
    (first, next)
}

/// Begins a transaction, produces every output, adds the offsets and commits. Returns the
/// topic of every record written.
async fn commit_batch(
    producer: &Producer,
    outputs: Vec<(Origin, Vec<Outgoing>)>,
    offsets: TopicPartitionList,
    group: rdkafka::consumer::ConsumerGroupMetadata,
) -> Result<Vec<String>, KafkaError> {
    let begin = producer.inner().clone();
    blocking(move || begin.begin_transaction()).await?;
    let mut topics = Vec::new();
    for (origin, outs) in outputs {
        for out in outs {
            topics.extend(producer.enqueue_transactional(&origin, out).await?);
        }
    }
    let committing = producer.inner().clone();
    blocking(move || {
        retrying(|| committing.send_offsets_to_transaction(&offsets, &group, TRANSACTION_TIMEOUT))?;
        retrying(|| committing.commit_transaction(TRANSACTION_TIMEOUT))
    })
    .await?;
    Ok(topics)
}

/// Repeats a transaction call while librdkafka says the same call may succeed if retried
/// (a timeout, a coordinator moving), a few times.
fn retrying(mut call: impl FnMut() -> Result<(), KafkaError>) -> Result<(), KafkaError> {
    let mut attempts = 1;
    loop {
        match call() {
            Err(KafkaError::Transaction(inner)) if inner.is_retriable() && attempts < 5 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(100 * attempts));
            }
            outcome => return outcome,
        }
    }
}

fn is_abortable(error: &KafkaError) -> bool {
    match error {
        KafkaError::Transaction(inner) => inner.txn_requires_abort(),
        // A produce librdkafka refused at once (its queue closed, say) aborts it too.
        _ => true,
    }
}

/// Points the consumer back at the batch's first offsets, and at the record carried to the
/// next batch if its partition had none in this one, so that all of them are read again.
fn rewind(
    consumer: &StreamConsumer<PipelineContext>,
    mut first: BTreeMap<(String, i32), i64>,
    carried: Option<OwnedMessage>,
) {
    if let Some(message) = carried {
        first
            .entry((message.topic().to_owned(), message.partition()))
            .or_insert(message.offset());
    }
    for ((topic, partition), offset) in &first {
        if let Err(error) = consumer.seek(
            topic,
            *partition,
            Offset::Offset(*offset),
            Duration::from_secs(10),
        ) {
            // The partition was revoked meanwhile: its new owner starts from the last
            // committed transaction anyway.
            warn!(%error, topic, partition, "Cannot rewind the partition.");
        }
    }
}

async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, KafkaError> + Send + 'static,
) -> Result<T, KafkaError> {
    tokio::task::spawn_blocking(call)
        .await
        .expect("transaction calls do not panic")
}

#[cfg(test)]
mod tests {
    use rdkafka::message::Timestamp;

    use super::*;

    fn record(partition: i32, offset: i64, payload: &str) -> OwnedMessage {
        OwnedMessage::new(
            Some(payload.as_bytes().to_vec()),
            None,
            "news.raw".to_owned(),
            Timestamp::NotAvailable,
            partition,
            offset,
            None,
        )
    }

    fn partitions_and_offsets(batch: &[OwnedMessage]) -> Vec<(i32, i64)> {
        batch.iter().map(|m| (m.partition(), m.offset())).collect()
    }

    /// A rebalance between two records of a batch revokes partition 1: its records read
    /// before the revoke leave the batch (and the carried record with them), the others
    /// stay, and the byte count follows.
    #[test]
    fn records_of_a_partition_revoked_mid_batch_are_dropped() {
        let tracker = SharedTracker::default();
        let mut batch = vec![
            record(0, 10, "aaaa"),
            record(1, 20, "bb"),
            record(0, 11, "cccccc"),
            record(1, 21, "d"),
        ];
        let mut carried = Some(record(1, 22, "eeeeeeee"));
        assert_eq!(drop_revoked(&tracker, &mut batch, &mut carried), None);
        assert_eq!(batch.len(), 4, "nothing revoked, nothing dropped");

        tracker.lock().revoke("news.raw", 1);
        assert_eq!(drop_revoked(&tracker, &mut batch, &mut carried), Some(10));
        assert_eq!(partitions_and_offsets(&batch), vec![(0, 10), (0, 11)]);
        assert!(carried.is_none());

        // Once looked at, a revoke drops nothing more: records read after it are from the
        // partition's new assignment.
        batch.push(record(1, 20, "bb"));
        assert_eq!(drop_revoked(&tracker, &mut batch, &mut carried), None);
        assert_eq!(batch.len(), 3);
    }
}
