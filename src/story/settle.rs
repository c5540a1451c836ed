//! The order the story log's entries are decided in: by the article's time and then its
//! id, not by the order replicas happened to append them, for every entry appended within
//! the settling time of another. So whichever replicas enrich the copies of a story, and
//! whenever within that time, the same copy founds it: the earliest published, the
//! smallest id on a tie.
//!
//! An entry is due once the log holds a record written `settle_ms` after it (an entry or a
//! tick); then it is decided with every entry still waiting whose key is no greater, in
//! key order, before the record that made it due joins the waiting. The rule reads only
//! the log (its records and their timestamps), so every replica decides alike. An entry
//! appended more than `settle_ms` after another that precedes it by key still comes after
//! it: the order holds within the settling time.

use std::collections::{BTreeMap, VecDeque};

use super::log::Entry;

/// Where an entry stands in the decision order: its article's time and id, then its place
/// in the log (the same article appended twice is decided twice, in log order).
type Key = (i64, String, i64);

/// The entries read from the log and not yet decided.
#[derive(Debug)]
pub struct Settler {
    settle_ms: i64,
    /// Waiting entries in decision order, with their log offsets.
    waiting: BTreeMap<Key, Entry>,
    /// The waiting entries' keys in log order, each with when it is due.
    due: VecDeque<(i64, Key)>,
    /// The latest record timestamp read from the log.
    log_ms: i64,
}

impl Settler {
    pub fn new(settle_ms: u64) -> Self {
        Self {
            settle_ms: i64::try_from(settle_ms).unwrap_or(i64::MAX),
            waiting: BTreeMap::new(),
            due: VecDeque::new(),
            log_ms: i64::MIN,
        }
    }

    /// A log record read: the entry at log `offset`, or a tick (`None`), written at
    /// `written_ms`. Returns the entries it makes due, in the order they are decided, with
    /// their log offsets. The record's own entry waits, unless nothing settles.
    pub fn read(
        &mut self,
        offset: i64,
        entry: Option<Entry>,
        written_ms: i64,
    ) -> Vec<(i64, Entry)> {
        self.log_ms = self.log_ms.max(written_ms);
        let mut decided = self.decide();
        if let Some(entry) = entry {
            let key = (entry.time.timestamp(), entry.id.clone(), offset);
            self.due
                .push_back((written_ms.saturating_add(self.settle_ms), key.clone()));
            self.waiting.insert(key, entry);
            decided.extend(self.decide());
        }
        decided
    }

    /// The entries due by the log's time, in the order they are decided.
    fn decide(&mut self) -> Vec<(i64, Entry)> {
        let mut decided = Vec::new();
        while self
            .due
            .front()
            .is_some_and(|(due_ms, _)| *due_ms <= self.log_ms)
        {
            let (_, key) = self.due.pop_front().expect("a front entry");
            while self
                .waiting
                .first_key_value()
                .is_some_and(|(first, _)| *first <= key)
            {
                let ((_, _, offset), entry) = self.waiting.pop_first().expect("a first entry");
                decided.push((offset, entry));
            }
        }
        decided
    }

    /// Whether an entry of `incarnation` waits.
    pub fn waits_for(&self, incarnation: u64) -> bool {
        self.waiting.values().any(|e| e.incarnation == incarnation)
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::story::Signature;

    fn entry(id: &str, published_s: i64) -> Entry {
        Entry {
            id: id.into(),
            time: DateTime::from_timestamp(1_719_824_400 + published_s, 0).unwrap(),
            incarnation: 7,
            signature: Signature::of(""),
        }
    }

    fn ids(decided: &[(i64, Entry)]) -> Vec<&str> {
        decided.iter().map(|(_, e)| e.id.as_str()).collect()
    }

    #[test]
    fn entries_appended_within_the_settling_time_are_decided_by_time_then_id() {
        let mut settler = Settler::new(1000);
        assert!(settler.read(0, Some(entry("c-wire", 0)), 10_000).is_empty());
        assert!(settler.read(1, Some(entry("c-site", 0)), 10_400).is_empty());
        assert!(settler
            .read(2, Some(entry("b-late", -60)), 10_900)
            .is_empty());
        assert!(settler.waits_for(7));
        // Due at 11,000: it and every entry before it by key, however young.
        let decided = settler.read(3, None, 11_000);
        assert_eq!(ids(&decided), ["b-late", "c-site", "c-wire"]);
        assert_eq!(
            decided.iter().map(|(o, _)| *o).collect::<Vec<_>>(),
            [2, 1, 0]
        );
        assert!(!settler.waits_for(7));
    }

    #[test]
    fn an_entry_appended_after_the_settling_time_comes_after_those_decided() {
        let mut settler = Settler::new(1000);
        settler.read(0, Some(entry("c-wire", 0)), 10_000);
        settler.read(1, Some(entry("z-other", 5)), 10_500);
        let decided = settler.read(2, Some(entry("c-site", 0)), 11_200);
        assert_eq!(ids(&decided), ["c-wire"]);
        assert!(settler.read(3, None, 11_499).is_empty());
        assert_eq!(
            ids(&settler.read(4, None, 11_500)),
            ["c-site", "z-other"],
            "z-other's turn brings the earlier c-site along"
        );
        assert!(!settler.waits_for(7));
    }

    #[test]
    fn without_settling_the_log_order_stands() {
        let mut settler = Settler::new(0);
        assert_eq!(
            ids(&settler.read(0, Some(entry("c-wire", 0)), 10_000)),
            ["c-wire"]
        );
        assert_eq!(
            ids(&settler.read(1, Some(entry("c-site", 0)), 10_000)),
            ["c-site"]
        );
        let again = settler.read(2, Some(entry("c-site", 0)), 9_000);
        assert_eq!(again[0].0, 2, "the same article again, at a clock behind");
    }
}
