//! Index keys to the slots of the articles that hold them, in 8 bytes a pair: a small map of
//! recent pairs, and sorted runs of older ones, merged as they grow (a log-structured
//! merge), so that a million articles' keys take no hash table's empty buckets. Pairs of
//! articles that left the window are dropped when runs merge.

use std::collections::HashMap;

/// Pairs gathered before they become a sorted run.
const RECENT: usize = 16_384;

#[derive(Default)]
pub struct Postings {
    recent: HashMap<u32, Vec<u32>>,
    recent_pairs: usize,
    /// Sorted by key, then slot; each at most half as long as the one before it, after
    /// merging.
    runs: Vec<Vec<(u32, u32)>>,
}

impl Postings {
    pub fn insert(&mut self, key: u32, slot: u32, live: impl Fn(u32) -> bool) {
        self.recent.entry(key).or_default().push(slot);
        self.recent_pairs += 1;
        if self.recent_pairs >= RECENT {
            self.flush(live);
        }
    }

    /// The slots `key` finds, including those no longer live.
    pub fn slots(&self, key: u32) -> impl Iterator<Item = u32> + '_ {
        let recent = self.recent.get(&key).into_iter().flatten().copied();
        let runs = self.runs.iter().flat_map(move |run| {
            let from = run.partition_point(|&(k, _)| k < key);
            run[from..]
                .iter()
                .take_while(move |&&(k, _)| k == key)
                .map(|&(_, slot)| slot)
        });
        recent.chain(runs)
    }

    /// Drops every pair whose slot is no longer live, merging all runs into one.
    pub fn sweep(&mut self, live: impl Fn(u32) -> bool) {
        self.flush(&live);
        let runs = std::mem::take(&mut self.runs);
        let mut all: Vec<(u32, u32)> = runs
            .into_iter()
            .flatten()
            .filter(|&(_, slot)| live(slot))
            .collect();
        all.sort_unstable();
        all.shrink_to_fit();
        if !all.is_empty() {
            self.runs.push(all);
        }
    }

    /// Bytes held on the heap, about.
    pub fn heap_bytes(&self) -> usize {
        let recent = self.recent.capacity() * (std::mem::size_of::<(u32, Vec<u32>)>() + 1)
            + self
                .recent
                .values()
                .map(|v| v.capacity() * 4)
                .sum::<usize>();
        let runs = self
            .runs
            .iter()
            .map(|run| run.capacity() * 8)
            .sum::<usize>();
        recent + runs
    }

    /// Turns the recent pairs into a run, and merges the runs that are no longer at most
    /// half as long as the one before.
    fn flush(&mut self, live: impl Fn(u32) -> bool) {
        let mut run: Vec<(u32, u32)> = self
            .recent
            .drain()
            .flat_map(|(key, slots)| slots.into_iter().map(move |slot| (key, slot)))
            .filter(|&(_, slot)| live(slot))
            .collect();
        self.recent_pairs = 0;
        run.sort_unstable();
        self.runs.push(run);
        while self.runs.len() >= 2 {
            let last = self.runs[self.runs.len() - 1].len();
            let before = self.runs[self.runs.len() - 2].len();
            if last * 2 <= before {
                break;
            }
            let newer = self.runs.pop().unwrap_or_default();
            let older = self.runs.pop().unwrap_or_default();
            self.runs.push(merge(older, newer, &live));
        }
    }
}

/// Two sorted runs as one, without the pairs that are no longer live.
fn merge(a: Vec<(u32, u32)>, b: Vec<(u32, u32)>, live: impl Fn(u32) -> bool) -> Vec<(u32, u32)> {
    let mut merged = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x <= y => a.next(),
            (Some(_), Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => break,
        };
        if let Some(pair) = next.filter(|&(_, slot)| live(slot)) {
            merged.push(pair);
        }
    }
    merged.shrink_to_fit();
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_found_across_runs_and_dropped_once_not_live() {
        let mut postings = Postings::default();
        let all = |_: u32| true;
        for slot in 0..(RECENT as u32 * 3) {
            postings.insert(slot % 1000, slot, all);
        }
        assert!(!postings.runs.is_empty());
        let mut found: Vec<u32> = postings.slots(7).collect();
        found.sort_unstable();
        let expected: Vec<u32> = (0..RECENT as u32 * 3).filter(|s| s % 1000 == 7).collect();
        assert_eq!(found, expected);
        postings.sweep(|slot| slot >= 20_000);
        assert!(postings.slots(7).all(|slot| slot >= 20_000));
        assert_eq!(
            postings.slots(7).count(),
            expected.iter().filter(|s| **s >= 20_000).count()
        );
        assert!(postings.slots(1001).next().is_none());
    }
}
