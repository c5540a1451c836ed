//! The at-least-once loop.
//!
//! The consumer side polls the input, starts a job per record on the worker threads and
//! queues the job, in consumption order, to the delivery side, which produces each job's
//! outputs in that order and marks the record finished once the broker has stored them all.
//! The two sides run as separate tasks, so a rebalance callback (which runs inside the
//! consumer's poll) can wait for a revoked partition's records to drain.
//!
//! At most `max_in_flight` records, and at most `max_in_flight_bytes` of their payloads
//! ([`ByteBudget`]), are in flight: when either window is full the loop stops reading (or
//! starting the record it has read) until a record is finished. The wait is bounded by how
//! long a record takes, far below `max.poll.interval.ms`, so the group membership stays
//! alive; pausing partitions instead was seen to make librdkafka skip buffered records on
//! resume.

use std::sync::Arc;
use std::time::Duration;

use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use rdkafka::consumer::{CommitMode, StreamConsumer};
use rdkafka::message::Message;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::budget::ByteBudget;
use super::context::{commit_due, report_client_error, PipelineContext};
use super::job::{JobOutput, Jobs};
use super::offsets::SharedTracker;
use super::produce::{Origin, Producer};
use crate::config::RunConfig;
use crate::stage::LatestVersions;
use crate::telemetry::events::RecordFinished;
use crate::telemetry::metrics;

type Job = std::pin::Pin<Box<dyn std::future::Future<Output = JobOutput> + Send>>;

/// A record's places in the two windows, held until it is finished: one of the
/// `max_in_flight` records, and its payload's bytes of the byte budget.
struct InFlight {
    record: OwnedSemaphorePermit,
    bytes: OwnedSemaphorePermit,
}

pub async fn run(
    config: &RunConfig,
    consumer: &StreamConsumer<PipelineContext>,
    producer: Producer,
    jobs: Jobs,
    tracker: Arc<SharedTracker>,
    shutdown: CancellationToken,
) {
    let in_flight = Arc::new(Semaphore::new(config.max_in_flight));
    let byte_window = ByteBudget::new(config.max_in_flight_bytes).window();
    let (queue, queued) = mpsc::unbounded_channel::<(Job, InFlight)>();
    let delivery = tokio::spawn(deliver_in_order(
        queued,
        producer,
        Arc::clone(&tracker),
        Arc::clone(&jobs.versions),
    ));
    let mut commit_timer = tokio::time::interval(Duration::from_millis(config.commit_interval_ms));
    let mut stream = consumer.stream();

    'consume: loop {
        let permit = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            _ = commit_timer.tick() => { commit_due(consumer, &tracker, CommitMode::Async); continue; }
            permit = Arc::clone(&in_flight).acquire_owned() => {
                permit.expect("the in-flight semaphore is never closed")
            }
        };
        let message = loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break 'consume,
                _ = commit_timer.tick() => commit_due(consumer, &tracker, CommitMode::Async),
                message = stream.next() => match message {
                    Some(Ok(message)) => break message.detach(),
                    Some(Err(error)) => report_client_error(&error, None),
                    None => break 'consume,
                },
            }
        };
        // A record left here at shutdown was never begun, so no commit passes it.
        let admission = byte_window.admit(message.payload().map_or(0, <[u8]>::len));
        tokio::pin!(admission);
        let bytes = loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break 'consume,
                _ = commit_timer.tick() => commit_due(consumer, &tracker, CommitMode::Async),
                bytes = &mut admission => break bytes,
            }
        };
        tracker
            .lock()
            .begin(message.topic(), message.partition(), message.offset());
        metrics().in_flight.inc();
        let job: Job = Box::pin(jobs.start(message));
        // The delivery task ends only after this loop closes the queue.
        let _ = queue.send((
            job,
            InFlight {
                record: permit,
                bytes,
            },
        ));
    }

    info!(in_flight = tracker.lock().pending(), "Draining.");
    drop(queue);
    let timeout = Duration::from_millis(config.shutdown_timeout_ms);
    if tokio::time::timeout(timeout, delivery).await.is_err() {
        warn!(
            timeout_ms = config.shutdown_timeout_ms,
            "Shutdown timeout reached with records in flight; they will be consumed again."
        );
    }
    commit_due(consumer, &tracker, CommitMode::Sync);
    metrics().in_flight.set(0);
}

/// Produces each job's outputs in queue order (admitting its article's version in that
/// order) and marks its record finished once they are all stored. Ends when the queue is
/// closed and everything queued is delivered.
async fn deliver_in_order(
    mut queued: mpsc::UnboundedReceiver<(Job, InFlight)>,
    producer: Producer,
    tracker: Arc<SharedTracker>,
    versions: Arc<LatestVersions>,
) {
    let mut deliveries = FuturesUnordered::new();
    loop {
        tokio::select! {
            next = queued.recv() => match next {
                Some((job, InFlight { record, bytes })) => {
                    let (origin, outputs) = job.await.admitted(&versions);
                    let sends = producer.enqueue(outputs).await;
                    let delivery = producer.clone().deliver(origin, sends, record);
                    deliveries.push(delivery.map(|(origin, record)| (origin, InFlight { record, bytes })));
                }
                None => break,
            },
            // The record leaves both windows only after it is counted finished.
            Some((origin, _in_flight)) = deliveries.next() => finish(&tracker, &origin),
        }
    }
    while let Some((origin, _in_flight)) = deliveries.next().await {
        finish(&tracker, &origin);
    }
}

fn finish(tracker: &SharedTracker, origin: &Origin) {
    tracker.finish(&origin.topic, origin.partition, origin.offset);
    metrics().in_flight.dec();
    RecordFinished {
        published_ms: origin.published_ms,
    }
    .emit();
}
