//! The batches in flight: read and started, their transactions still to come. While the
//! oldest batch's records are enriched (and wait for their stories, above all), more
//! batches are read and started, so that the workers are not idle while a transaction
//! waits; the transactions commit one at a time, in batch order.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use futures::future::JoinAll;
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedMessage;
use tokio_util::sync::CancellationToken;

use super::batch::{note_first, payload_bytes, position_of_message, Detach, Partition, Reader};
use crate::telemetry::metrics;

/// A started record's outputs to come.
type Job<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A batch whose records' jobs are started.
struct Started<T> {
    /// Each partition's first offset in the batch, to read it again if a batch before it
    /// fails.
    first: BTreeMap<Partition, i64>,
    records: usize,
    bytes: usize,
    started: Instant,
    outputs: JoinAll<Job<T>>,
    /// The partitions revoked since the batch was read: its records of theirs are dropped.
    revoked: HashSet<Partition>,
}

/// The oldest batch, its outputs ready.
pub struct Ready<T> {
    /// In batch order, which is each partition's order.
    pub outputs: Vec<T>,
    /// The partitions revoked since it was read: no transaction may hold its records of
    /// theirs, which their new owner reads again.
    pub revoked: HashSet<Partition>,
    /// When it was read.
    pub started: Instant,
}

/// The batches in flight, whose records' jobs yield `T`.
pub struct InFlight<T> {
    batches: VecDeque<Started<T>>,
    /// More batches are read while fewer records than this are in flight.
    max_records: usize,
}

/// What came first while the oldest batch was in flight.
enum Came<T> {
    Ready(Vec<T>),
    Read(Vec<OwnedMessage>),
    ShutDown,
}

impl<T> InFlight<T> {
    pub fn new(max_records: usize) -> Self {
        Self {
            batches: VecDeque::new(),
            max_records,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// Starts the jobs of a batch just read; the revokes seen while reading it dropped its
    /// records read before them, and concern the batches started before it.
    pub fn start<S, M, F>(&mut self, batch: Vec<OwnedMessage>, reader: &mut Reader<S>, job: F)
    where
        S: futures::Stream<Item = Result<M, KafkaError>> + Unpin,
        M: Detach,
        F: FnMut(OwnedMessage) -> Job<T>,
    {
        self.note_revoked(reader);
        let mut first = BTreeMap::new();
        note_first(&mut first, batch.iter().map(position_of_message));
        let records = batch.len();
        let bytes = batch.iter().map(payload_bytes).sum();
        let outputs = futures::future::join_all(batch.into_iter().map(job));
        self.batches.push_back(Started {
            first,
            records,
            bytes,
            started: Instant::now(),
            outputs,
            revoked: HashSet::new(),
        });
        self.report();
    }

    /// Waits for the oldest batch's outputs (there must be a batch in flight) and takes it
    /// out; meanwhile reads more batches and starts them, within the byte budget the batches
    /// in flight leave, until shutdown. No more is read once the oldest is ready: its
    /// transaction then runs with the consumer unpolled, so no rebalance comes between the
    /// partitions it drops as revoked and the offsets it commits.
    pub async fn oldest_ready<S, M, F>(
        &mut self,
        reader: &mut Reader<S>,
        mut job: F,
        shutdown: &CancellationToken,
    ) -> Ready<T>
    where
        S: futures::Stream<Item = Result<M, KafkaError>> + Unpin,
        M: Detach,
        F: FnMut(OwnedMessage) -> Job<T>,
    {
        let mut reading = !shutdown.is_cancelled();
        loop {
            let bytes: usize = self.batches.iter().map(|b| b.bytes).sum();
            let room = reading && self.records() < self.max_records;
            let oldest = self.batches.front_mut().expect("a batch in flight");
            let came = tokio::select! {
                biased;
                outputs = &mut oldest.outputs => Came::Ready(outputs),
                () = shutdown.cancelled(), if reading => Came::ShutDown,
                batch = reader.read(bytes), if room => Came::Read(batch),
            };
            match came {
                Came::Ready(outputs) => {
                    self.note_revoked(reader);
                    let oldest = self.batches.pop_front().expect("a batch in flight");
                    self.report();
                    return Ready {
                        outputs,
                        revoked: oldest.revoked,
                        started: oldest.started,
                    };
                }
                Came::ShutDown => reading = false,
                // Nothing fits beside the batches in flight, or the stream ended.
                Came::Read(batch) if batch.is_empty() => reading = false,
                Came::Read(batch) => self.start(batch, reader, &mut job),
            }
        }
    }

    /// Drops every batch in flight, and the records read and not yet in one, for all of
    /// them to be read again after a failed transaction; lowers `first` (each partition's
    /// offset to rewind to) to theirs. A batch's partitions revoked since it was read are
    /// left out: whoever holds them now reads them from their last committed offset.
    pub fn drop_all<S, M>(&mut self, reader: &mut Reader<S>, first: &mut BTreeMap<Partition, i64>)
    where
        S: futures::Stream<Item = Result<M, KafkaError>> + Unpin,
        M: Detach,
    {
        self.note_revoked(reader);
        let unbatched = reader.take_unbatched();
        note_first(first, unbatched.iter().map(position_of_message));
        for batch in self.batches.drain(..) {
            let held = batch
                .first
                .iter()
                .filter(|(partition, _)| !batch.revoked.contains(*partition));
            note_first(
                first,
                held.map(|((topic, partition), offset)| (topic.as_str(), *partition, *offset)),
            );
        }
        self.report();
    }

    /// Gives the revokes the reader saw to every batch in flight.
    fn note_revoked<S, M>(&mut self, reader: &mut Reader<S>)
    where
        S: futures::Stream<Item = Result<M, KafkaError>> + Unpin,
        M: Detach,
    {
        let revoked = reader.take_revoked();
        if revoked.is_empty() {
            return;
        }
        for batch in &mut self.batches {
            batch.revoked.extend(revoked.iter().cloned());
        }
    }

    /// The records of every batch in flight.
    fn records(&self) -> usize {
        self.batches.iter().map(|b| b.records).sum()
    }

    fn report(&self) {
        metrics().in_flight.set(self.records() as i64);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use rdkafka::Message;
    use tokio::sync::Semaphore;

    use super::super::batch::tests::{reader, record, Then};
    use super::*;
    use crate::kafka::offsets::SharedTracker;

    fn partition(number: i32) -> Partition {
        ("news.raw".to_owned(), number)
    }

    /// While the oldest batch waits, the next is read and started; a revoke seen meanwhile
    /// drops its partition from the oldest batch only (the next one's record of it came
    /// after the revoke); and a failed transaction rewinds the batches after it to their
    /// first offsets, leaving out the partitions revoked since they were read.
    #[tokio::test]
    async fn batches_read_while_the_oldest_waits_keep_the_revokes_after_them() {
        let records = vec![
            record(0, 0, "a"),
            record(1, 0, "b"),
            record(0, 1, "c"),
            record(1, 1, "d"),
        ];
        let tracker = Arc::new(SharedTracker::default());
        let mut reader = reader(records, Then::Waits, 2, 100, Arc::clone(&tracker));
        // The first batch's jobs wait at the gate; the others are done at once.
        let gate = Arc::new(Semaphore::new(0));
        let job = |message: OwnedMessage| -> Job<(i32, i64)> {
            let gate = Arc::clone(&gate);
            let position = (message.partition(), message.offset());
            Box::pin(async move {
                if position.1 == 0 {
                    let _permit = gate.acquire().await;
                }
                position
            })
        };
        let mut in_flight = InFlight::new(100);
        let first_batch = reader.read(0).await;
        in_flight.start(first_batch, &mut reader, job);

        tracker.lock().revoke("news.raw", 1);
        let opening = Arc::clone(&gate);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            opening.add_permits(2);
        });
        let ready = in_flight
            .oldest_ready(&mut reader, job, &CancellationToken::new())
            .await;
        assert_eq!(ready.outputs, vec![(0, 0), (1, 0)]);
        assert_eq!(ready.revoked, HashSet::from([partition(1)]));
        assert!(
            !in_flight.is_empty(),
            "the second batch was started meanwhile"
        );

        tracker.lock().revoke("news.raw", 0);
        let mut first = BTreeMap::from([(partition(2), 5)]);
        in_flight.drop_all(&mut reader, &mut first);
        assert!(in_flight.is_empty());
        assert_eq!(
            first,
            BTreeMap::from([(partition(1), 1), (partition(2), 5)])
        );
    }
}
