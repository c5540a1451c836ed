//! Which input offsets may be committed: per partition, the contiguous watermark below
//! which every record's outputs were acknowledged. A record finished early never lets the
//! commit jump over one still in flight, so a crash re-delivers rather than loses.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct PartitionOffsets {
    /// Offsets consumed whose outputs are not yet acknowledged.
    pending: BTreeSet<i64>,
    /// One past the highest offset finished so far.
    next_after_finished: Option<i64>,
    /// The last offset committed (the next one to consume).
    committed: Option<i64>,
}

impl PartitionOffsets {
    /// The offset to commit: the oldest pending one, or one past everything finished.
    fn watermark(&self) -> Option<i64> {
        self.pending.first().copied().or(self.next_after_finished)
    }
}

/// Offsets of the partitions this process consumes.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    partitions: HashMap<(String, i32), PartitionOffsets>,
    /// Partitions revoked since [`OffsetTracker::take_revoked`] last looked: a set, no
    /// larger than the partitions ever held whether anyone looks or not.
    revoked: HashSet<(String, i32)>,
}

impl OffsetTracker {
    /// A record was consumed and its work started.
    pub fn begin(&mut self, topic: &str, partition: i32, offset: i64) {
        self.partitions
            .entry((topic.to_owned(), partition))
            .or_default()
            .pending
            .insert(offset);
    }

    /// Every output of a record was acknowledged. Records of partitions revoked in the
    /// meantime are ignored: their offsets belong to another consumer now.
    pub fn finish(&mut self, topic: &str, partition: i32, offset: i64) {
        if let Some(state) = self.partitions.get_mut(&(topic.to_owned(), partition)) {
            if state.pending.remove(&offset) {
                let next = offset + 1;
                state.next_after_finished =
                    Some(state.next_after_finished.map_or(next, |n| n.max(next)));
            }
        }
    }

    /// Offsets that moved since the last commit, as (topic, partition, next offset).
    pub fn committable(&self) -> Vec<(String, i32, i64)> {
        let mut out: Vec<_> = self
            .partitions
            .iter()
            .filter_map(|((topic, partition), state)| {
                let watermark = state.watermark()?;
                (state.committed != Some(watermark)).then(|| (topic.clone(), *partition, watermark))
            })
            .collect();
        out.sort();
        out
    }

    /// Records that these offsets were committed.
    pub fn mark_committed(&mut self, committed: &[(String, i32, i64)]) {
        for (topic, partition, offset) in committed {
            if let Some(state) = self.partitions.get_mut(&(topic.clone(), *partition)) {
                state.committed = Some(*offset);
            }
        }
    }

    /// Forgets a partition handed to another consumer.
    pub fn revoke(&mut self, topic: &str, partition: i32) {
        self.partitions.remove(&(topic.to_owned(), partition));
        self.revoked.insert((topic.to_owned(), partition));
    }

    /// The partitions revoked since the last call: the exactly-once loop drops the records
    /// of theirs it read before the revoke and has not committed yet.
    pub fn take_revoked(&mut self) -> HashSet<(String, i32)> {
        std::mem::take(&mut self.revoked)
    }

    /// Records of one partition consumed and not yet finished.
    pub fn pending_in(&self, topic: &str, partition: i32) -> usize {
        self.partitions
            .get(&(topic.to_owned(), partition))
            .map_or(0, |state| state.pending.len())
    }

    /// Records consumed and not yet finished, over all partitions.
    pub fn pending(&self) -> usize {
        self.partitions
            .values()
            .map(|state| state.pending.len())
            .sum()
    }
}

/// The tracker shared by the consumer loop, the delivery side and the rebalance callback,
/// which can wait for a partition's records to finish before giving it away.
#[derive(Debug, Default)]
pub struct SharedTracker {
    state: Mutex<OffsetTracker>,
    finished: Condvar,
}

impl SharedTracker {
    pub fn lock(&self) -> MutexGuard<'_, OffsetTracker> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn finish(&self, topic: &str, partition: i32, offset: i64) {
        self.lock().finish(topic, partition, offset);
        self.finished.notify_all();
    }

    /// Blocks until no record of `partitions` is in flight, or `timeout` passed; returns
    /// whether they drained.
    pub fn wait_drained(&self, partitions: &[(String, i32)], timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if partitions.iter().all(|(t, p)| state.pending_in(t, *p) == 0) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .finished
                .wait_timeout(state, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_never_passes_an_unfinished_record() {
        let mut tracker = OffsetTracker::default();
        for offset in 10..15 {
            tracker.begin("t", 0, offset);
        }
        tracker.finish("t", 0, 11);
        tracker.finish("t", 0, 12);
        assert_eq!(tracker.committable(), vec![("t".to_owned(), 0, 10)]);
        tracker.finish("t", 0, 10);
        assert_eq!(tracker.committable(), vec![("t".to_owned(), 0, 13)]);
        tracker.finish("t", 0, 14);
        tracker.finish("t", 0, 13);
        assert_eq!(tracker.committable(), vec![("t".to_owned(), 0, 15)]);
        assert_eq!(tracker.pending(), 0);
    }

    #[test]
    fn only_moved_watermarks_are_committed_again() {
        let mut tracker = OffsetTracker::default();
        tracker.begin("t", 0, 0);
        tracker.begin("t", 1, 5);
        tracker.finish("t", 0, 0);
        tracker.finish("t", 1, 5);
        let due = tracker.committable();
        assert_eq!(due.len(), 2);
        tracker.mark_committed(&due);
        assert!(tracker.committable().is_empty());
        tracker.begin("t", 1, 6);
        tracker.finish("t", 1, 6);
        assert_eq!(tracker.committable(), vec![("t".to_owned(), 1, 7)]);
    }

    #[test]
    fn waiting_for_a_drain_returns_when_the_last_record_finishes() {
        let tracker = std::sync::Arc::new(SharedTracker::default());
        tracker.lock().begin("t", 0, 1);
        tracker.lock().begin("t", 1, 1);
        let finisher = std::sync::Arc::clone(&tracker);
        let handle = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            finisher.finish("t", 0, 1);
        });
        let partition_0 = [("t".to_owned(), 0)];
        assert!(tracker.wait_drained(&partition_0, Duration::from_secs(10)));
        handle.join().unwrap();
        let partition_1 = [("t".to_owned(), 1)];
        assert!(!tracker.wait_drained(&partition_1, Duration::from_millis(20)));
    }

    #[test]
    fn revoked_partitions_are_forgotten() {
        let mut tracker = OffsetTracker::default();
        tracker.begin("t", 3, 1);
        tracker.revoke("t", 3);
        tracker.finish("t", 3, 1);
        assert!(tracker.committable().is_empty());
        assert_eq!(tracker.pending(), 0);
    }

    #[test]
    fn revoked_partitions_are_reported_once() {
        let mut tracker = OffsetTracker::default();
        tracker.revoke("t", 3);
        tracker.revoke("t", 1);
        tracker.revoke("t", 3);
        let revoked = tracker.take_revoked();
        assert_eq!(
            revoked,
            HashSet::from([("t".to_owned(), 1), ("t".to_owned(), 3)])
        );
        assert!(tracker.take_revoked().is_empty());
    }
}
