//! The exactly-once loop: read a batch, enrich it, and commit its outputs together with its
//! input offsets in one Kafka transaction (offsets sent with the consumer group's metadata,
//! so a zombie replica is fenced). Readers with `isolation.level=read_committed` see each
//! output once. An abortable transaction error aborts the batch and rewinds the consumer to
//! the batch's first offsets, so the batch is read and enriched again; a fatal one stops the
//! process, whose restart (same transactional id) fences what the old one left open. A
//! producer fenced by a newer one with its transactional id (it was a zombie) stops with
//! [`RunError::Fenced`], however the broker said so ([`calls::is_fencing`]). A producer stuck sending
//! a batch's offsets (the group coordinator's node died, [`STUCK_AFTER`]) is replaced in
//! place, as a restart would replace it: the new one fences it and the batch is read again.
//!
//! A batch ends at `transaction_max_records`, after `transaction_interval_ms`, or at the byte
//! budget (`max_in_flight_bytes` of payload): the record that would take it past the budget
//! is kept for the next batch, and a record larger than the budget is a batch of its own.
//!
//! rdkafka's transaction calls block, so they run on the blocking thread pool (sending the
//! offsets on a thread of its own, [`calls::within`]), never on the async reactor.

pub(super) mod calls;

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

use calls::{beyond_recovery, blocking, is_abortable, is_fenced, retrying, within, AWAKE_GRACE};

use super::budget::ByteBudget;
use super::context::{report_client_error, PipelineContext};
use super::job::Jobs;
use super::offsets::SharedTracker;
use super::produce::{Origin, Outgoing, Producer};
use super::{create_producer, RunError};
use crate::config::RunConfig;
use crate::telemetry::events::{RecordFinished, RecordProduced, TransactionEnded};
use crate::telemetry::metrics;
use crate::telemetry::Health;

/// Blocking transaction calls get this long before they count as failed.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(30);

/// How long sending a batch's offsets to its transaction may take (retries included) before
/// the call counts as stuck and the producer is replaced. librdkafka 2.12 does not keep the
/// call's timeout while the group coordinator is unreachable (confluentinc/librdkafka#5456),
/// and when the coordinator's node leaves the cluster's metadata (a dead node, once fenced)
/// it keeps waiting for that node instead of looking for the new coordinator (#5511): the
/// call returns only once the dead node is back, long after the transaction timed out.
const STUCK_AFTER: Duration = Duration::from_secs(TRANSACTION_TIMEOUT.as_secs() + 5);

pub async fn run(
    config: &RunConfig,
    consumer: &StreamConsumer<PipelineContext>,
    mut producer: Producer,
    health: &Health,
    jobs: Jobs,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let transactional_id = config.transactional_id();
    // What stops the run when a transaction call of `producer` fails for good.
    let stop = |producer: &Producer, error| {
        beyond_recovery(producer.inner().client(), &transactional_id, error)
    };
    init_transactions(&producer)
        .await
        .map_err(|error| stop(&producer, error))?;
    info!(%transactional_id, "Transactions initialised.");
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
        let finished = futures::future::join_all(batch.into_iter().map(|m| jobs.start(m))).await;
        // In batch order, which is each partition's order.
        let outputs: Vec<_> = finished
            .into_iter()
            .map(|job| job.admitted(&jobs.versions))
            .collect();
        let Some(group) = consumer.group_metadata() else {
            warn!("No consumer group metadata; rewinding the batch.");
            rewind(consumer, first_offsets, carried.take());
            continue;
        };
        let published: Vec<Option<i64>> = outputs.iter().map(|(o, _)| o.published_ms).collect();
        let result = commit_batch(&producer, outputs, next_offsets, group).await;
        let aborted = |error: &str| {
            TransactionEnded {
                committed: false,
                records,
                duration: started.elapsed(),
                error: Some(error),
            }
            .emit();
        };
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
            Err(Failed::OffsetsStuck) => {
                // A producer that knows it was fenced stops (a zombie must not take its id
                // back from its successor).
                if let Some((code, _)) = producer.inner().client().fatal_error() {
                    return Err(stop(&producer, KafkaError::Global(code)));
                }
                // Nothing was committed (the commit comes after the offsets). A new producer
                // with the same transactional id fences the stuck one and aborts its
                // transaction, as a restart would; the batch is read again.
                aborted("sending the offsets to the transaction got stuck; replacing the producer");
                producer = create_producer(config, health)?;
                init_transactions(&producer)
                    .await
                    .map_err(|error| stop(&producer, error))?;
                rewind(consumer, first_offsets, carried.take());
            }
            Err(Failed::Call(error))
                if is_abortable(&error) && !is_fenced(producer.inner().client(), &error) =>
            {
                aborted(&error.to_string());
                let aborting = producer.inner().clone();
                blocking(move || aborting.abort_transaction(TRANSACTION_TIMEOUT))
                    .await
                    .map_err(|error| stop(&producer, error))?;
                rewind(consumer, first_offsets, carried.take());
            }
            Err(Failed::Call(error)) => return Err(stop(&producer, error)),
        }
    }
    metrics().in_flight.set(0);
    Ok(())
}

async fn init_transactions(producer: &Producer) -> Result<(), KafkaError> {
    let transactional = producer.inner().clone();
    blocking(move || transactional.init_transactions(TRANSACTION_TIMEOUT)).await
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

/// How committing a batch failed.
enum Failed {
    /// A transaction call failed.
    Call(KafkaError),
    /// Sending the offsets to the transaction did not return within [`STUCK_AFTER`].
    OffsetsStuck,
}

impl From<KafkaError> for Failed {
    fn from(error: KafkaError) -> Self {
        Self::Call(error)
    }
}

/// Begins a transaction, produces every output, adds the offsets and commits. Returns the
/// topic of every record written.
async fn commit_batch(
    producer: &Producer,
    outputs: Vec<(Origin, Vec<Outgoing>)>,
    offsets: TopicPartitionList,
    group: rdkafka::consumer::ConsumerGroupMetadata,
) -> Result<Vec<String>, Failed> {
    let begin = producer.inner().clone();
    blocking(move || begin.begin_transaction()).await?;
    let mut topics = Vec::new();
    for (origin, outs) in outputs {
        for out in outs {
            topics.extend(producer.enqueue_transactional(&origin, out).await?);
        }
    }
    let sending = producer.inner().clone();
    let sent = within(STUCK_AFTER, AWAKE_GRACE, move || {
        retrying(|| sending.send_offsets_to_transaction(&offsets, &group, TRANSACTION_TIMEOUT))
    });
    sent.await.ok_or(Failed::OffsetsStuck)??;
    let committing = producer.inner().clone();
    blocking(move || retrying(|| committing.commit_transaction(TRANSACTION_TIMEOUT))).await?;
    Ok(topics)
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

    /// A zombie's offsets refused with INVALID_PRODUCER_EPOCH (how Apache Kafka 4 answered a
    /// paused replica's TxnOffsetCommit once its successor had bumped the epoch) stop the
    /// run as fenced, as PRODUCER_FENCED does, and the message says so; the transaction
    /// call is the real one, against librdkafka's mock cluster.
    #[test]
    fn an_old_epoch_stops_the_run_as_fenced() {
        use rdkafka::config::ClientConfig;
        use rdkafka::consumer::BaseConsumer;
        use rdkafka::mocking::MockCluster;
        use rdkafka::producer::BaseProducer;
        use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

        for refusal in [
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_PRODUCER_FENCED,
        ] {
            let cluster = MockCluster::new(1).expect("mock cluster");
            let client = |config: &mut ClientConfig| {
                config
                    .set("bootstrap.servers", cluster.bootstrap_servers())
                    .clone()
            };
            let producer: BaseProducer = client(ClientConfig::new().set("transactional.id", "t"))
                .create()
                .expect("producer");
            let consumer: BaseConsumer = client(ClientConfig::new().set("group.id", "g"))
                .create()
                .expect("consumer");
            let timeout = Duration::from_secs(10);
            producer.init_transactions(timeout).expect("init");
            producer.begin_transaction().expect("begin");
            cluster.request_errors(RDKafkaApiKey::TxnOffsetCommit, &[refusal]);
            let mut offsets = TopicPartitionList::new();
            offsets
                .add_partition_offset("news.raw", 0, Offset::Offset(1))
                .expect("offset");
            let group = consumer.group_metadata().expect("group metadata");
            let error = producer
                .send_offsets_to_transaction(&offsets, &group, timeout)
                .expect_err("refused");

            let error = beyond_recovery(producer.client(), "t", error);
            assert!(
                matches!(error, RunError::Fenced { .. }),
                "{refusal:?}: {error}"
            );
            assert!(error.to_string().contains("fenced"), "{error}");
        }
    }

    /// What replacing a stuck producer rests on, against librdkafka's mock cluster: while
    /// the group coordinator is down, sending the offsets does not return within its
    /// timeout (librdkafka#5456); a new producer with the same transactional id then
    /// starts, fences the stuck one, and commits a transaction with those offsets once the
    /// group has a coordinator again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_producer_stuck_sending_offsets_is_replaced_by_one_that_commits() {
        use rdkafka::config::ClientConfig;
        use rdkafka::consumer::BaseConsumer;
        use rdkafka::mocking::{MockCluster, MockCoordinator};
        use rdkafka::producer::BaseProducer;

        let cluster = MockCluster::new(3).expect("mock cluster");
        cluster.create_topic("news.raw", 1, 3).expect("topic");
        cluster
            .coordinator(MockCoordinator::Transaction("t".into()), 1)
            .expect("transaction coordinator");
        cluster
            .coordinator(MockCoordinator::Group("g".into()), 2)
            .expect("group coordinator");
        let config = |transactional: bool| {
            let mut config = ClientConfig::new();
            config.set("bootstrap.servers", cluster.bootstrap_servers());
            if transactional {
                config.set("transactional.id", "t");
            } else {
                config.set("group.id", "g");
            }
            config
        };
        let consumer: BaseConsumer = config(false).create().expect("consumer");
        let group = consumer.group_metadata().expect("group metadata");
        let mut offsets = TopicPartitionList::new();
        offsets
            .add_partition_offset("news.raw", 0, Offset::Offset(1))
            .expect("offset");
        let timeout = Duration::from_secs(2);

        let stuck: BaseProducer = config(true).create().expect("producer");
        stuck.init_transactions(timeout).expect("init");
        stuck.begin_transaction().expect("begin");
        cluster.broker_down(2).expect("broker down");
        let sending = std::sync::Arc::new(stuck);
        let sending_offsets = offsets.clone();
        let sending_group = consumer.group_metadata().expect("group metadata");
        let sent = within(timeout * 3, Duration::ZERO, move || {
            sending.send_offsets_to_transaction(&sending_offsets, &sending_group, timeout)
        })
        .await;
        assert!(sent.is_none(), "sending the offsets returned: {sent:?}");

        cluster
            .coordinator(MockCoordinator::Group("g".into()), 3)
            .expect("group coordinator");
        let replacement: BaseProducer = config(true).create().expect("producer");
        replacement.init_transactions(timeout).expect("init");
        replacement.begin_transaction().expect("begin");
        replacement
            .send_offsets_to_transaction(&offsets, &group, timeout)
            .expect("offsets sent");
        replacement.commit_transaction(timeout).expect("committed");
        std::mem::forget(cluster);
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
