//! The at-least-once loop.
//!
//! The consumer side polls the input, starts a job per record on the worker threads and
//! queues the job, in consumption order, to the delivery side, which produces each job's
//! outputs in that order and marks the record finished once the broker has stored them all.
//! The two sides run as separate tasks, so a rebalance callback (which runs inside the
//! consumer's poll) can wait for a revoked partition's records to drain.
//!
//! At most `max_in_flight` records are in flight: when the window is full the loop stops
//! reading until a record is finished. The wait is bounded by how long a record takes, far
//! below `max.poll.interval.ms`, so the group membership stays alive; pausing partitions
//! instead was seen to make librdkafka skip buffered records on resume.

use std::sync::Arc;
use std::time::Duration;

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use rdkafka::consumer::{CommitMode, StreamConsumer};
use rdkafka::message::Message;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::context::{commit_due, report_client_error, PipelineContext};
use super::job::{Jobs, Origin};
use super::offsets::SharedTracker;
use super::produce::{Outgoing, Producer};
use crate::config::RunConfig;
use crate::telemetry::events::RecordFinished;
use crate::telemetry::metrics;

type Job = std::pin::Pin<Box<dyn std::future::Future<Output = (Origin, Vec<Outgoing>)> + Send>>;

pub async fn run(
    config: &RunConfig,
    consumer: &StreamConsumer<PipelineContext>,
    producer: Producer,
    jobs: Jobs,
    tracker: Arc<SharedTracker>,
    shutdown: CancellationToken,
) {
    let in_flight = Arc::new(Semaphore::new(config.max_in_flight));
    let (queue, queued) = mpsc::unbounded_channel::<(Job, OwnedSemaphorePermit)>();
    let delivery = tokio::spawn(deliver_in_order(queued, producer, Arc::clone(&tracker)));
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
        tracker
            .lock()
            .begin(message.topic(), message.partition(), message.offset());
        metrics().in_flight.inc();
        let job: Job = Box::pin(jobs.start(message));
        // The delivery task ends only after this loop closes the queue.
        let _ = queue.send((job, permit));
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

/// Produces each job's outputs in queue order and marks its record finished once they are
/// all stored. Ends when the queue is closed and everything queued is delivered.
async fn deliver_in_order(
    mut queued: mpsc::UnboundedReceiver<(Job, OwnedSemaphorePermit)>,
    producer: Producer,
    tracker: Arc<SharedTracker>,
) {
    let mut deliveries = FuturesUnordered::new();
    loop {
        tokio::select! {
            next = queued.recv() => match next {
                Some((job, permit)) => {
                    let (origin, outputs) = job.await;
                    let sends = producer.enqueue(outputs).await;
                    deliveries.push(producer.clone().deliver(origin, sends, permit));
                }
                None => break,
            },
            Some((origin, _permit)) = deliveries.next() => finish(&tracker, &origin),
        }
    }
    while let Some((origin, _permit)) = deliveries.next().await {
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
