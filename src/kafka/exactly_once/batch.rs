//! Reading the exactly-once loop's batches. The batch being collected lives in the
//! [`Reader`], not in the read's future, so a read cut short (the batch before it is ready
//! to commit) keeps what it collected for the next read.
//!
//! Rebalances happen inside the stream's polls, so between two records of a batch a
//! partition may be revoked (and, with the eager protocol, assigned again at once, to be read
//! from its last committed offset). The records of such a partition read before the revoke
//! are dropped, from the batch being collected and from those in flight: no transaction
//! holds them yet, and whoever holds the partition now reads them again; kept, they would
//! be committed a second time.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};

use super::super::budget::ByteBudget;
use super::super::context::report_client_error;
use super::super::offsets::SharedTracker;
use super::super::produce::Origin;

/// When a batch ends.
pub struct BatchLimits {
    pub records: usize,
    pub interval: Duration,
    pub bytes: ByteBudget,
}

/// A (topic, partition).
pub type Partition = (String, i32);

pub struct Reader<S> {
    stream: S,
    limits: BatchLimits,
    tracker: Arc<SharedTracker>,
    /// The records of the batch being collected, and their payload bytes.
    collected: Vec<OwnedMessage>,
    bytes: usize,
    /// When the batch being collected closes: its interval after its first record, however
    /// many reads collect it.
    closes: Option<tokio::time::Instant>,
    /// A record read but left for a later batch by the byte budget.
    carried: Option<OwnedMessage>,
    /// The partitions revoked since [`Reader::take_revoked`] last looked.
    revoked: HashSet<Partition>,
}

/// A record as the stream yields it, to be kept beyond the poll.
pub trait Detach {
    fn detach(&self) -> OwnedMessage;
}

impl Detach for BorrowedMessage<'_> {
    fn detach(&self) -> OwnedMessage {
        BorrowedMessage::detach(self)
    }
}

impl<S, M> Reader<S>
where
    S: futures::Stream<Item = Result<M, KafkaError>> + Unpin,
    M: Detach,
{
    pub fn new(stream: S, limits: BatchLimits, tracker: Arc<SharedTracker>) -> Self {
        Self {
            stream,
            limits,
            tracker,
            collected: Vec::new(),
            bytes: 0,
            closes: None,
            carried: None,
            revoked: HashSet::new(),
        }
    }

    /// Waits for a first record (however long that takes; the carried one first, if any),
    /// then collects more for up to the interval, the record limit or the byte budget,
    /// which the `in_flight` bytes of the batches in flight share. A record that does not fit is
    /// carried to a later batch. Empty when the stream ended, or when the first record
    /// does not fit beside `in_flight`.
    pub async fn read(&mut self, in_flight: usize) -> Vec<OwnedMessage> {
        let deadline = tokio::time::sleep_until(
            self.closes
                .unwrap_or_else(|| tokio::time::Instant::now() + self.limits.interval),
        );
        tokio::pin!(deadline);
        let mut ended = false;
        loop {
            while self.collected.len() < self.limits.records {
                let message = match self.carried.take() {
                    Some(message) => message,
                    None => {
                        let next = if self.collected.is_empty() {
                            self.stream.next().await
                        } else {
                            tokio::select! {
                                () = &mut deadline => break,
                                next = self.stream.next() => next,
                            }
                        };
                        // Whatever this poll brought is from the assignment as it is now.
                        self.drop_revoked();
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
                let size = payload_bytes(&message);
                if !self.limits.bytes.fits(in_flight + self.bytes, size) {
                    self.carried = Some(message);
                    break;
                }
                if self.collected.is_empty() {
                    let closes = tokio::time::Instant::now() + self.limits.interval;
                    self.closes = Some(closes);
                    deadline.as_mut().reset(closes);
                }
                self.bytes += size;
                self.collected.push(message);
            }
            // A poll that timed out may have revoked partitions too.
            self.drop_revoked();
            // Read on only when revokes emptied the batch.
            if !self.collected.is_empty() || self.carried.is_some() || ended {
                break;
            }
        }
        self.take_collected()
    }

    /// The partitions revoked since the last call: the batch in flight drops its records
    /// of theirs. A read cut short may have polled a revoke it did not look at yet.
    pub fn take_revoked(&mut self) -> HashSet<Partition> {
        self.drop_revoked();
        std::mem::take(&mut self.revoked)
    }

    /// Takes the records read and not yet in a batch (collected or carried), to be read
    /// again after a rewind.
    pub fn take_unbatched(&mut self) -> Vec<OwnedMessage> {
        let mut records = self.take_collected();
        records.extend(self.carried.take());
        records
    }

    fn take_collected(&mut self) -> Vec<OwnedMessage> {
        self.bytes = 0;
        self.closes = None;
        std::mem::take(&mut self.collected)
    }

    /// Drops the records of the partitions revoked since the last look from those read and
    /// not yet in flight, and notes the partitions for the batch in flight.
    fn drop_revoked(&mut self) {
        let revoked = self.tracker.lock().take_revoked();
        if revoked.is_empty() {
            return;
        }
        let kept = |message: &OwnedMessage| !is_revoked(&revoked, position_of_message(message));
        self.collected.retain(kept);
        if self.collected.is_empty() {
            self.closes = None;
        }
        if self.carried.as_ref().is_some_and(|message| !kept(message)) {
            self.carried = None;
        }
        self.bytes = self.collected.iter().map(payload_bytes).sum();
        self.revoked.extend(revoked);
    }
}

pub fn payload_bytes(message: &OwnedMessage) -> usize {
    message.payload().map_or(0, <[u8]>::len)
}

/// A record's (topic, partition, offset).
pub type Position<'r> = (&'r str, i32, i64);

pub fn position_of_origin(origin: &Origin) -> Position<'_> {
    (&origin.topic, origin.partition, origin.offset)
}

pub fn position_of_message(message: &OwnedMessage) -> Position<'_> {
    (message.topic(), message.partition(), message.offset())
}

/// Whether the record at `position` is in one of the `revoked` partitions (a scan: a
/// rebalance revokes a replica's few partitions, and a record's check need not allocate).
pub fn is_revoked(revoked: &HashSet<Partition>, (topic, partition, _): Position) -> bool {
    revoked.iter().any(|(revoked_topic, revoked_partition)| {
        *revoked_partition == partition && revoked_topic == topic
    })
}

/// Lowers each (topic, partition)'s first offset in `first` (where to rewind to) to that of
/// `records`.
pub fn note_first<'r>(
    first: &mut BTreeMap<Partition, i64>,
    records: impl IntoIterator<Item = Position<'r>>,
) {
    for (topic, partition, offset) in records {
        let first = first.entry((topic.to_owned(), partition)).or_insert(offset);
        *first = (*first).min(offset);
    }
}

/// The offsets to commit with `records`: one past each (topic, partition)'s last record.
pub fn next_offsets<'r>(records: impl IntoIterator<Item = Position<'r>>) -> TopicPartitionList {
    let mut last = BTreeMap::new();
    for (topic, partition, offset) in records {
        let last = last.entry((topic, partition)).or_insert(offset);
        *last = (*last).max(offset);
    }
    let mut next = TopicPartitionList::new();
    for ((topic, partition), offset) in last {
        next.add_partition_offset(topic, partition, Offset::Offset(offset + 1))
            .expect("a valid offset");
    }
    next
}

#[cfg(test)]
pub(super) mod tests {
    use std::pin::Pin;

    use rdkafka::message::Timestamp;

    use super::*;

    impl Detach for OwnedMessage {
        fn detach(&self) -> OwnedMessage {
            self.clone()
        }
    }

    pub(in crate::kafka::exactly_once) fn record(
        partition: i32,
        offset: i64,
        payload: &str,
    ) -> OwnedMessage {
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

    fn positions(batch: &[OwnedMessage]) -> Vec<(i32, i64)> {
        batch.iter().map(|m| (m.partition(), m.offset())).collect()
    }

    /// A stream of records, as a test reader's.
    pub(in crate::kafka::exactly_once) type Records =
        Pin<Box<dyn futures::Stream<Item = Result<OwnedMessage, KafkaError>> + Send>>;

    /// What a test stream does after its records.
    #[derive(Clone, Copy)]
    pub(in crate::kafka::exactly_once) enum Then {
        Ends,
        /// As a consumer's stream does when nothing more comes.
        Waits,
    }

    /// A reader of `records` (batches of `limit` records, a byte budget of `budget`, a
    /// 60-second interval) whose revokes come from `tracker`.
    pub(in crate::kafka::exactly_once) fn reader(
        records: Vec<OwnedMessage>,
        then: Then,
        limit: usize,
        budget: usize,
        tracker: Arc<SharedTracker>,
    ) -> Reader<Records> {
        let limits = BatchLimits {
            records: limit,
            interval: Duration::from_secs(60),
            bytes: ByteBudget::new(budget),
        };
        let records = futures::stream::iter(records.into_iter().map(Ok));
        let stream: Records = match then {
            Then::Ends => Box::pin(records),
            Then::Waits => Box::pin(records.chain(futures::stream::pending())),
        };
        Reader::new(stream, limits, tracker)
    }

    /// A batch ends at the record limit, and at the byte budget, which a batch in flight
    /// shares: the record that does not fit waits for the next read, which takes it first.
    #[tokio::test]
    async fn a_batch_ends_at_its_limits_and_shares_the_budget_with_the_one_in_flight() {
        let records = (0..5).map(|offset| record(0, offset, "xxxx")).collect();
        let mut reader = reader(records, Then::Ends, 2, 10, Arc::default());
        assert_eq!(positions(&reader.read(0).await), vec![(0, 0), (0, 1)]);
        // 8 bytes in flight leave room for none: the first record waits.
        assert!(reader.read(8).await.is_empty());
        // 4 bytes in flight leave room for one.
        assert_eq!(positions(&reader.read(4).await), vec![(0, 2)]);
        assert_eq!(positions(&reader.read(0).await), vec![(0, 3), (0, 4)]);
        assert!(reader.read(0).await.is_empty(), "the stream ended");
    }

    /// A read cut short keeps what it collected, and the next read closes the batch at
    /// the interval from its first record, not from the resumed read.
    #[tokio::test(start_paused = true)]
    async fn a_read_cut_short_keeps_its_records_and_its_deadline() {
        let records = vec![record(0, 0, "a"), record(1, 0, "b")];
        let mut reader = reader(records, Then::Waits, 10, 100, Arc::default());
        let first_read = tokio::time::Instant::now();
        let cut = tokio::time::timeout(Duration::from_secs(40), reader.read(0)).await;
        assert!(cut.is_err(), "the read waits for its interval");
        let batch = reader.read(0).await;
        assert_eq!(positions(&batch), vec![(0, 0), (1, 0)]);
        assert_eq!(first_read.elapsed(), Duration::from_secs(60));
    }

    /// Records read and not yet in a batch, carried or collected, are taken for a rewind.
    #[tokio::test]
    async fn unbatched_records_are_taken_for_a_rewind() {
        let records = vec![
            record(0, 0, "aaaa"),
            record(1, 0, "bbbbbbbb"),
            record(2, 0, "c"),
        ];
        let mut reader = reader(records, Then::Waits, 10, 10, Arc::default());
        assert!(
            reader.read(8).await.is_empty(),
            "no room beside 8 bytes in flight"
        );
        assert_eq!(positions(&reader.take_unbatched()), vec![(0, 0)]);
        let cut = tokio::time::timeout(Duration::from_millis(50), reader.read(0)).await;
        assert!(cut.is_err(), "the read waits for its interval");
        assert_eq!(positions(&reader.take_unbatched()), vec![(1, 0), (2, 0)]);
    }

    /// A rebalance between two records revokes partition 1: its records read before the
    /// revoke leave the batch (and the carried record with them), the others stay, the byte
    /// count follows, and the partition is noted for the batch in flight.
    #[test]
    fn records_of_a_partition_revoked_mid_batch_are_dropped() {
        let mut reader = reader(Vec::new(), Then::Ends, 10, 100, Arc::default());
        reader.collected = vec![
            record(0, 10, "aaaa"),
            record(1, 20, "bb"),
            record(0, 11, "cccccc"),
            record(1, 21, "d"),
        ];
        reader.bytes = 13;
        reader.carried = Some(record(1, 22, "eeeeeeee"));
        reader.drop_revoked();
        assert_eq!(
            reader.collected.len(),
            4,
            "nothing revoked, nothing dropped"
        );

        reader.tracker.lock().revoke("news.raw", 1);
        reader.drop_revoked();
        assert_eq!(positions(&reader.collected), vec![(0, 10), (0, 11)]);
        assert_eq!(reader.bytes, 10);
        assert!(reader.carried.is_none());
        let revoked = reader.take_revoked();
        assert!(revoked.contains(&("news.raw".to_owned(), 1)), "{revoked:?}");

        // Once looked at, a revoke drops nothing more: records read after it are from the
        // partition's new assignment.
        reader.collected.push(record(1, 20, "bb"));
        reader.drop_revoked();
        assert_eq!(reader.collected.len(), 3);
        assert!(reader.take_revoked().is_empty());

        // A revoke polled by a read cut short before it looked is still taken.
        reader.tracker.lock().revoke("news.raw", 0);
        let revoked = reader.take_revoked();
        assert!(revoked.contains(&("news.raw".to_owned(), 0)), "{revoked:?}");
        assert_eq!(positions(&reader.collected), vec![(1, 20)]);
    }

    /// A record is revoked when its topic and partition both are.
    #[test]
    fn a_record_is_revoked_by_its_own_topic_and_partition() {
        let revoked = HashSet::from([("news.raw".to_owned(), 1)]);
        assert!(is_revoked(&revoked, ("news.raw", 1, 7)));
        assert!(!is_revoked(&revoked, ("news.raw", 0, 7)));
        assert!(!is_revoked(&revoked, ("news.wire", 1, 7)));
        assert!(!is_revoked(&HashSet::new(), ("news.raw", 1, 7)));
    }

    /// A batch's offsets: each partition's first (lowest) to rewind to, and one past its
    /// last to commit.
    #[test]
    fn offsets_to_rewind_to_and_to_commit() {
        let batch = [
            record(0, 7, ""),
            record(1, 3, ""),
            record(0, 9, ""),
            record(0, 8, ""),
        ];
        let mut first = BTreeMap::new();
        note_first(&mut first, batch.iter().map(position_of_message));
        note_first(&mut first, [("news.raw", 1, 1)]);
        let first: Vec<_> = first.into_iter().map(|((_, p), o)| (p, o)).collect();
        assert_eq!(first, vec![(0, 7), (1, 1)]);
        let next = next_offsets(batch.iter().map(position_of_message));
        let next: Vec<_> = next
            .elements()
            .iter()
            .map(|e| (e.partition(), e.offset()))
            .collect();
        assert_eq!(next, vec![(0, Offset::Offset(10)), (1, Offset::Offset(4))]);
    }
}
