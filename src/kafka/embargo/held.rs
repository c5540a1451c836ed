//! What one releaser holds: embargoed records ordered by the time they may be published,
//! one per article id, and per partition the offsets it may commit.
//!
//! A partition's committable offset is its lowest record still held (or being published),
//! else one past the last record read: a restart reads again what was not yet released.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, FixedOffset};
use rdkafka::message::OwnedMessage;

/// An embargoed record from the embargo topic.
#[derive(Debug)]
pub struct HeldRecord {
    pub id: String,
    pub until: DateTime<FixedOffset>,
    pub message: OwnedMessage,
    pub partition: i32,
    pub offset: i64,
}

/// Where a record sits in release order: its time, then its place on the topic.
type Slot = (i64, i32, i64);

#[derive(Debug, Default)]
struct Partition {
    /// Offsets of records held or being published.
    unreleased: BTreeSet<i64>,
    /// One past the last record read.
    next: i64,
}

#[derive(Debug)]
pub struct Held {
    by_time: BTreeMap<Slot, HeldRecord>,
    by_id: HashMap<String, Slot>,
    partitions: BTreeMap<i32, Partition>,
    capacity: usize,
}

impl Held {
    pub fn new(capacity: usize) -> Self {
        Self {
            by_time: BTreeMap::new(),
            by_id: HashMap::new(),
            partitions: BTreeMap::new(),
            capacity: capacity.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.by_time.len()
    }

    pub fn is_full(&self) -> bool {
        self.len() >= self.capacity
    }

    /// Whether the record at `offset` was read already (delivered again after a seek).
    pub fn was_read(&self, partition: i32, offset: i64) -> bool {
        self.partitions
            .get(&partition)
            .is_some_and(|state| offset < state.next)
    }

    /// A record read while full, left for later: reading resumes at it at the latest.
    pub fn leave_unread(&mut self, partition: i32, offset: i64) {
        self.partitions.entry(partition).or_insert(Partition {
            unreleased: BTreeSet::new(),
            next: offset,
        });
    }

    /// Holds `record` until its time. An earlier record of the same article still held is
    /// dropped: the later one on the topic is the article's newer state.
    pub fn hold(&mut self, record: HeldRecord) {
        self.cancel(record.partition, record.offset, &record.id);
        let slot = (
            record.until.timestamp_millis(),
            record.partition,
            record.offset,
        );
        self.partitions
            .entry(record.partition)
            .or_default()
            .unreleased
            .insert(record.offset);
        self.by_id.insert(record.id.clone(), slot);
        self.by_time.insert(slot, record);
    }

    /// Reads the record at `offset`, which holds nothing, and drops what is held of the
    /// article `id` (a kill's tombstone). Returns whether something was dropped.
    pub fn cancel(&mut self, partition: i32, offset: i64, id: &str) -> bool {
        self.skip(partition, offset);
        let Some(slot) = self.by_id.remove(id) else {
            return false;
        };
        self.by_time.remove(&slot);
        self.released(slot.1, slot.2);
        true
    }

    /// Reads the record at `offset`, which holds nothing.
    pub fn skip(&mut self, partition: i32, offset: i64) {
        let state = self.partitions.entry(partition).or_default();
        state.next = state.next.max(offset + 1);
    }

    /// When the first held record may be published, in milliseconds since the epoch.
    pub fn next_due_ms(&self) -> Option<i64> {
        self.by_time.keys().next().map(|(until, _, _)| *until)
    }

    /// Takes out the records whose time has come by `now_ms`, first due first. Their offsets
    /// stay uncommitted until [`Held::released`].
    pub fn take_due(&mut self, now_ms: i64) -> Vec<HeldRecord> {
        let later = self.by_time.split_off(&(now_ms + 1, i32::MIN, i64::MIN));
        let due = std::mem::replace(&mut self.by_time, later);
        due.into_values()
            .inspect(|record| {
                self.by_id.remove(&record.id);
            })
            .collect()
    }

    /// The record at `offset` is published (or dropped): its offset no longer holds the
    /// partition's commit back.
    pub fn released(&mut self, partition: i32, offset: i64) {
        if let Some(state) = self.partitions.get_mut(&partition) {
            state.unreleased.remove(&offset);
        }
    }

    /// The offset to commit for each partition read.
    pub fn committable(&self) -> Vec<(i32, i64)> {
        self.partitions
            .iter()
            .map(|(partition, state)| {
                let lowest = state.unreleased.first().copied();
                (*partition, lowest.unwrap_or(state.next))
            })
            .collect()
    }

    /// Where reading resumes in each partition: one past the last record read.
    pub fn resume_points(&self) -> Vec<(i32, i64)> {
        self.partitions
            .iter()
            .map(|(partition, state)| (*partition, state.next))
            .collect()
    }

    /// Forgets revoked partitions: their new owner reads them from the committed offsets.
    pub fn drop_partitions(&mut self, revoked: &[i32]) {
        self.by_time
            .retain(|(_, partition, _), _| !revoked.contains(partition));
        let by_time = &self.by_time;
        self.by_id.retain(|_, slot| by_time.contains_key(slot));
        self.partitions
            .retain(|partition, _| !revoked.contains(partition));
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::message::Timestamp;

    use super::*;

    fn record(id: &str, until_s: i64, partition: i32, offset: i64) -> HeldRecord {
        HeldRecord {
            id: id.into(),
            until: DateTime::from_timestamp(until_s, 0).unwrap().fixed_offset(),
            message: OwnedMessage::new(
                Some(b"{}".to_vec()),
                Some(id.as_bytes().to_vec()),
                "news.embargoed".into(),
                Timestamp::NotAvailable,
                partition,
                offset,
                None,
            ),
            partition,
            offset,
        }
    }

    fn ids(records: &[HeldRecord]) -> Vec<&str> {
        records.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn records_come_out_by_time_and_commits_wait_for_the_lowest_held() {
        let mut held = Held::new(10);
        held.hold(record("late", 300, 0, 5));
        held.hold(record("soon", 100, 0, 6));
        held.hold(record("mid", 200, 1, 0));
        assert_eq!(held.next_due_ms(), Some(100_000));
        assert_eq!(held.committable(), [(0, 5), (1, 0)]);

        let due = held.take_due(200_000);
        assert_eq!(ids(&due), ["soon", "mid"]);
        assert_eq!(held.committable(), [(0, 5), (1, 0)], "not yet published");
        for record in &due {
            held.released(record.partition, record.offset);
        }
        assert_eq!(held.committable(), [(0, 5), (1, 1)]);
        let due = held.take_due(300_000);
        held.released(0, due[0].offset);
        assert_eq!(held.committable(), [(0, 7), (1, 1)]);
        assert_eq!((held.len(), held.next_due_ms()), (0, None));
    }

    #[test]
    fn a_tombstone_or_a_newer_record_of_the_article_replaces_the_held_one() {
        let mut held = Held::new(10);
        held.hold(record("a", 100, 0, 0));
        held.hold(record("b", 100, 0, 1));
        assert!(held.cancel(0, 2, "a"));
        assert!(!held.cancel(0, 3, "a"), "nothing left to drop");
        held.hold(record("b", 50, 0, 4));
        assert_eq!(held.len(), 1);
        assert_eq!(held.committable(), [(0, 4)]);
        assert_eq!(ids(&held.take_due(i64::MAX / 2)), ["b"]);
        assert_eq!(held.take_due(i64::MAX / 2).len(), 0);
    }

    #[test]
    fn full_reads_resume_where_they_stopped_and_revoked_partitions_are_forgotten() {
        let mut held = Held::new(2);
        held.hold(record("a", 100, 0, 0));
        held.hold(record("b", 100, 1, 7));
        assert!(held.is_full());
        held.leave_unread(0, 1);
        held.leave_unread(2, 40);
        assert!(held.was_read(0, 0) && !held.was_read(0, 1) && !held.was_read(2, 40));
        assert_eq!(held.committable(), [(0, 0), (1, 7), (2, 40)]);
        assert_eq!(held.resume_points(), [(0, 1), (1, 8), (2, 40)]);
        held.drop_partitions(&[0, 2]);
        assert_eq!(held.len(), 1);
        assert_eq!(held.committable(), [(1, 7)]);
        assert!(!held.was_read(0, 0));
    }
}
