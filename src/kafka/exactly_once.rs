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
//! While a batch's records are enriched (and wait for their stories), more batches are read
//! and started ([`flight`]), within the byte budget and while fewer than `max_in_flight`
//! records are in flight, so that the workers are not idle while a transaction waits.
//! Transactions still commit one at a time, in batch order; a batch that fails rewinds the
//! batches after it too.
//!
//! rdkafka's transaction calls block, so they run on the blocking thread pool (sending the
//! offsets on a thread of its own, [`calls::within`]), never on the async reactor.

mod batch;
pub(super) mod calls;
mod flight;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::Producer as _;
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use batch::{
    is_revoked, next_offsets, note_first, position_of_origin, BatchLimits, Partition, Reader,
};
use calls::{beyond_recovery, blocking, is_abortable, is_fenced, retrying, within, AWAKE_GRACE};
use flight::{InFlight, Ready};

use super::budget::ByteBudget;
use super::context::PipelineContext;
use super::job::{JobOutput, Jobs};
use super::produce::{Origin, Outgoing, Producer};
use super::{create_producer, RunError};
use crate::config::RunConfig;
use crate::telemetry::events::{
    RecordFinished, RecordProduced, TransactionEnded, TransactionSteps,
};
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
    // The rebalance callback notes revoked partitions in the tracker.
    let tracker = consumer.context().tracker.clone();
    let mut reader = Reader::new(consumer.stream(), limits, tracker);
    let mut in_flight = InFlight::<JobOutput>::new(config.max_in_flight);
    let job = |message| Box::pin(jobs.start(message)) as _;
    loop {
        if in_flight.is_empty() {
            let batch = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                batch = reader.read(0) => batch,
            };
            if batch.is_empty() {
                break;
            }
            in_flight.start(batch, &mut reader, job);
        }
        let Ready {
            outputs,
            revoked,
            started,
        } = in_flight.oldest_ready(&mut reader, job, &shutdown).await;
        // In batch order, which is each partition's order.
        let outputs: Vec<_> = outputs
            .into_iter()
            .filter(|job| !is_revoked(&revoked, position_of_origin(job.origin())))
            .map(|job| job.admitted(&jobs.versions))
            .collect();
        if outputs.is_empty() {
            // Every partition of the batch was revoked: their new owners read them again.
            continue;
        }
        let records = outputs.len();
        let mut first = BTreeMap::new();
        note_first(
            &mut first,
            outputs.iter().map(|(o, _)| position_of_origin(o)),
        );
        let next_offsets = next_offsets(outputs.iter().map(|(o, _)| position_of_origin(o)));
        // A failed transaction rewinds to its batch's first records and drops the batches
        // after it, to read them all again.
        let mut rewind_all = |in_flight: &mut InFlight<_>| {
            in_flight.drop_all(&mut reader, &mut first);
            rewind(consumer, &first);
        };
        let Some(group) = consumer.group_metadata() else {
            warn!("No consumer group metadata; rewinding the batch.");
            rewind_all(&mut in_flight);
            continue;
        };
        let published: Vec<Option<i64>> = outputs.iter().map(|(o, _)| o.published_ms).collect();
        let result = commit_batch(&producer, outputs, next_offsets, group, started).await;
        let aborted = |error: &str| TransactionEnded::Aborted { records, error }.emit();
        match result {
            Ok((topics, steps)) => {
                for published_ms in published {
                    RecordFinished { published_ms }.emit();
                }
                for topic in &topics {
                    RecordProduced { topic }.emit();
                }
                TransactionEnded::Committed { records, steps }.emit();
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
                rewind_all(&mut in_flight);
            }
            Err(Failed::Call(error))
                if is_abortable(&error) && !is_fenced(producer.inner().client(), &error) =>
            {
                aborted(&error.to_string());
                let aborting = producer.inner().clone();
                blocking(move || aborting.abort_transaction(TRANSACTION_TIMEOUT))
                    .await
                    .map_err(|error| stop(&producer, error))?;
                rewind_all(&mut in_flight);
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
/// topic of every record written, and how long each step took since the batch was
/// `started`.
async fn commit_batch(
    producer: &Producer,
    outputs: Vec<(Origin, Vec<Outgoing>)>,
    offsets: TopicPartitionList,
    group: rdkafka::consumer::ConsumerGroupMetadata,
    started: Instant,
) -> Result<(Vec<String>, TransactionSteps), Failed> {
    let mut step = started;
    let mut lap = || std::mem::replace(&mut step, Instant::now()).elapsed();
    let ready = lap();
    let begin = producer.inner().clone();
    blocking(move || begin.begin_transaction()).await?;
    let (mut topics, mut deliveries) = (Vec::new(), Vec::new());
    for (origin, outs) in outputs {
        for out in outs {
            if let Some((topic, delivery)) = producer.enqueue_transactional(&origin, out).await? {
                topics.push(topic);
                deliveries.push(delivery);
            }
        }
    }
    let produce = lap();
    let sending = producer.inner().clone();
    let sent = within(STUCK_AFTER, AWAKE_GRACE, move || {
        retrying(|| sending.send_offsets_to_transaction(&offsets, &group, TRANSACTION_TIMEOUT))
    });
    sent.await.ok_or(Failed::OffsetsStuck)??;
    let offsets = lap();
    // rdkafka's commit call first flushes, and while any output is still on its way it
    // waits out a 100 ms poll of an event queue that the producer's own thread serves:
    // every transaction cost 100 ms more. Waiting for the deliveries here first leaves it
    // nothing to flush. A failed delivery is the commit's to report (the transaction is
    // then abortable).
    futures::future::join_all(deliveries).await;
    let committing = producer.inner().clone();
    blocking(move || retrying(|| committing.commit_transaction(TRANSACTION_TIMEOUT))).await?;
    let steps = TransactionSteps {
        ready,
        produce,
        offsets,
        commit: lap(),
    };
    Ok((topics, steps))
}

/// Points the consumer back at each partition's `first` offset, so that the records from
/// there on are read again.
fn rewind(consumer: &StreamConsumer<PipelineContext>, first: &BTreeMap<Partition, i64>) {
    for ((topic, partition), offset) in first {
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
    use super::*;

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
}
