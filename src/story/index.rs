//! The stories of a time window: each story's first article with its signature, found
//! again through index keys. An article whose text mostly contains a kept article's, or is
//! mostly contained in it, joins that article's story; any other founds one. Only a story's
//! first article is kept, and those that join it while adding much of their own (a
//! regional version with local paragraphs), so that their copies find the story too: a
//! story copied verbatim a hundred times costs what one article does.
//!
//! Bounded: kept articles older than the window (by the newest article time seen) leave
//! it, and so does the oldest when the index holds `max_stories`. A key shared by
//! `max_roots_per_key` kept articles is too common to tell stories apart ("prime minister
//! tony"): it takes no more, and does not count among the keys an article asks with.

use std::collections::VecDeque;

use chrono::{DateTime, TimeZone, Utc};

use super::postings::Postings;
use super::signature::{Signature, BINS};
use super::sizes::StorySizes;
use super::{Story, StoryConfig};
use crate::hash::{fnv1a, mix};

/// An article kept in the index: a story's first, or one that joined it while adding
/// much of its own (so that its copies find the story too). 104 bytes; its id, and its
/// story's first article's id when that is another, are in the index's id buffer.
struct Root {
    /// Where its id starts in the id buffer (counted from the first id ever kept).
    id_at: u64,
    id_len: u32,
    /// The length of its story's first article's id, after its own; 0 for a story's first.
    story_len: u32,
    /// When the story's first article, and this one, were seen (seconds since 2000).
    story_seen: u32,
    seen: u32,
    /// For a story's first article, how many articles its story has been given (itself
    /// and those that joined while it was in the window, redeliveries included); for
    /// another, how many slots back its story's first article is (0: gone before it).
    story_link: u32,
    occupied: u64,
    minima: [u8; BINS],
    shingles: u16,
}

impl Root {
    fn signature(&self) -> Signature {
        Signature {
            minima: self.minima,
            occupied: self.occupied,
            shingles: self.shingles,
            keys: Vec::new(),
        }
    }
}

/// The story index of one process.
pub struct StoryIndex {
    config: StoryConfig,
    /// In arrival order; `roots[i]` has slot `first_slot + i`.
    roots: VecDeque<Root>,
    first_slot: u64,
    /// The roots' ids, in their order; `ids[0]` is byte `first_id_byte` of all ids kept.
    ids: VecDeque<u8>,
    first_id_byte: u64,
    /// Index keys to slots (kept as their low 32 bits).
    postings: Postings,
    /// The newest article time seen (seconds since 2000): the window ends there.
    newest: u32,
    /// Roots gone since the postings were last swept of their slots.
    gone_since_sweep: usize,
    /// The stories whose first article is in the window, by size.
    sizes: StorySizes,
}

impl StoryIndex {
    pub fn new(config: StoryConfig) -> Self {
        Self {
            config,
            roots: VecDeque::new(),
            first_slot: 0,
            ids: VecDeque::new(),
            first_id_byte: 0,
            postings: Postings::default(),
            newest: 0,
            gone_since_sweep: 0,
            sizes: StorySizes::default(),
        }
    }

    /// The story of article `id`, with `signature`, published (or seen) at `time`; the
    /// article founds a story when it joins none.
    pub fn assign(&mut self, id: &str, signature: &Signature, time: DateTime<Utc>) -> Story {
        let seen = since_2000(time);
        self.newest = self.newest.max(seen);
        self.evict();
        if signature.is_empty() {
            return founded(id, seen);
        }
        let found = self.look_up(signature);
        if let Some((slot, similarity)) = self.best_match(signature, &found) {
            let root = &self.roots[(slot - self.first_slot) as usize];
            let story = self.story_of(root);
            let (story_seen, same_article) = (root.story_seen, self.id_of(root) == id);
            if story == id {
                // The same article again (redelivered, or a new version): the same story.
                return founded(id, story_seen);
            }
            if !same_article {
                let first = self.first_of_story(slot);
                self.grow(first);
                if similarity < self.config.max_containment_unindexed {
                    let article = (id, signature, seen);
                    self.insert(article, Some((&story, story_seen, first)), &found);
                }
            }
            return Story {
                cluster_id: cluster_id(&story),
                duplicate_of: Some(story),
                first_seen: utc(story_seen),
                similarity: Some((similarity * 1000.0).round() / 1000.0),
            };
        }
        self.insert((id, signature, seen), None, &found);
        founded(id, seen)
    }

    /// The stories whose first article is in the window, by how many articles they have.
    pub fn sizes(&self) -> &StorySizes {
        &self.sizes
    }

    /// Articles in the window that the index keeps.
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// About how many bytes the index holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.roots.capacity() * std::mem::size_of::<Root>()
            + self.ids.capacity()
            + self.postings.heap_bytes()
    }

    fn text(&self, from: u64, len: u32) -> String {
        let start = (from - self.first_id_byte) as usize;
        let bytes: Vec<u8> = self
            .ids
            .range(start..start + len as usize)
            .copied()
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn id_of(&self, root: &Root) -> String {
        self.text(root.id_at, root.id_len)
    }

    fn story_of(&self, root: &Root) -> String {
        match root.story_len {
            0 => self.id_of(root),
            len => self.text(root.id_at + u64::from(root.id_len), len),
        }
    }

    /// The slot of the first article of the story that the root at `slot` is in, while
    /// that article is in the window.
    fn first_of_story(&self, slot: u64) -> Option<u64> {
        let root = &self.roots[(slot - self.first_slot) as usize];
        match (root.story_len, root.story_link) {
            (0, _) => Some(slot),
            (_, 0) => None,
            (_, back) => Some(slot - u64::from(back)).filter(|first| *first >= self.first_slot),
        }
    }

    /// One more article in the story whose first article is at slot `first`.
    fn grow(&mut self, first: Option<u64>) {
        if let Some(first) = first {
            let root = &mut self.roots[(first - self.first_slot) as usize];
            self.sizes.grew(root.story_link);
            root.story_link = root.story_link.saturating_add(1);
        }
    }

    /// Whether the slot whose low 32 bits are `slot` is in the window.
    fn live(first_slot: u64, kept: usize, slot: u32) -> bool {
        (slot.wrapping_sub(first_slot as u32) as usize) < kept
    }

    /// The full slot of a live slot's low 32 bits.
    fn full_slot(&self, slot: u32) -> u64 {
        self.first_slot + u64::from(slot.wrapping_sub(self.first_slot as u32))
    }

    /// The live slots `key` finds.
    fn slots(&self, key: u32) -> impl Iterator<Item = u64> + '_ {
        let (first, kept) = (self.first_slot, self.roots.len());
        self.postings
            .slots(key)
            .filter(move |slot| Self::live(first, kept, *slot))
            .map(|slot| self.full_slot(slot))
    }

    /// The signature's keys as far as asking goes, each with the live slots it finds:
    /// keys until `query_keys` of them were not too common. A key that became too common
    /// after a root took it still finds that root (it holds at most `max_roots_per_key`).
    fn look_up(&self, signature: &Signature) -> Vec<(u32, Vec<u64>)> {
        let mut found = Vec::with_capacity(self.config.query_keys);
        let mut uncommon = 0;
        for &key in &signature.keys {
            if uncommon == self.config.query_keys {
                break;
            }
            let slots: Vec<u64> = self.slots(key).collect();
            uncommon += usize::from(slots.len() < self.config.max_roots_per_key);
            found.push((key, slots));
        }
        found
    }

    /// Of the roots the keys `found`, the earliest at least `min_containment` contained in
    /// the text, or containing it: its slot and the containment. The earliest, not the
    /// closest, so that the copies of a story join its first article even where one copy
    /// is closer to another.
    fn best_match(&self, signature: &Signature, found: &[(u32, Vec<u64>)]) -> Option<(u64, f64)> {
        let mut candidates: Vec<u64> = found.iter().flat_map(|(_, slots)| slots).copied().collect();
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .map(|slot| {
                let root = self.roots[(slot - self.first_slot) as usize].signature();
                (slot, root.containment(signature), root.shared(signature))
            })
            .find(|(_, similarity, shared)| {
                *similarity >= self.config.min_containment
                    && *shared >= self.config.min_shared_shingles
            })
            .map(|(slot, similarity, _)| (slot, similarity))
    }

    /// Keeps the article, as the first of its story or as one of `story`'s, under the first
    /// `index_keys` of the keys `found` that are not too common.
    fn insert(
        &mut self,
        (id, signature, seen): (&str, &Signature, u32),
        story: Option<(&str, u32, Option<u64>)>,
        found: &[(u32, Vec<u64>)],
    ) {
        let slot = self.first_slot + self.roots.len() as u64;
        let keys: Vec<u32> = found
            .iter()
            .filter(|(_, slots)| slots.len() < self.config.max_roots_per_key)
            .map(|(key, _)| *key)
            .take(self.config.index_keys)
            .collect();
        for key in keys {
            let (first, kept) = (self.first_slot, self.roots.len() + 1);
            self.postings
                .insert(key, slot as u32, |s| Self::live(first, kept, s));
        }
        let id_at = self.first_id_byte + self.ids.len() as u64;
        self.ids.extend(id.bytes());
        let (story_len, story_seen, story_link) = match story {
            Some((story, story_seen, first)) => {
                self.ids.extend(story.bytes());
                let back = first.map_or(0, |first| (slot - first) as u32);
                (story.len() as u32, story_seen, back)
            }
            None => {
                self.sizes.founded();
                (0, seen, 1)
            }
        };
        self.roots.push_back(Root {
            id_at,
            id_len: id.len() as u32,
            story_len,
            story_seen,
            seen,
            story_link,
            occupied: signature.occupied,
            minima: signature.minima,
            shingles: signature.shingles,
        });
    }

    /// Lets roots out of the window, and the oldest out while the index is full; sweeps
    /// the postings once the roots gone since the last sweep are as many as those left.
    fn evict(&mut self) {
        let oldest_allowed = self.newest.saturating_sub(self.config.window_secs as u32);
        while let Some(root) = self.roots.front() {
            let full = self.roots.len() >= self.config.max_stories;
            if root.seen >= oldest_allowed && !full {
                break;
            }
            if root.story_len == 0 {
                self.sizes.left(root.story_link);
            }
            let bytes = root.id_len as usize + root.story_len as usize;
            self.ids.drain(..bytes);
            self.first_id_byte += bytes as u64;
            self.roots.pop_front();
            self.first_slot += 1;
            self.gone_since_sweep += 1;
        }
        if self.gone_since_sweep > self.roots.len().max(1024) {
            let (first, kept) = (self.first_slot, self.roots.len());
            self.postings.sweep(|slot| Self::live(first, kept, slot));
            self.gone_since_sweep = 0;
        }
    }
}

/// The story an article founds.
fn founded(id: &str, seen: u32) -> Story {
    Story {
        cluster_id: cluster_id(id),
        duplicate_of: None,
        first_seen: utc(seen),
        similarity: None,
    }
}

/// 2000-01-01T00:00:00Z in Unix seconds: index times count from there, in 32 bits (until
/// 2136); earlier times count as that moment.
const EPOCH_2000: i64 = 946_684_800;

fn since_2000(time: DateTime<Utc>) -> u32 {
    u32::try_from((time.timestamp() - EPOCH_2000).max(0)).unwrap_or(u32::MAX)
}

/// A story's id: from its first article's id, so that it is the same wherever computed.
pub fn cluster_id(root_id: &str) -> String {
    format!("{:016x}", mix(fnv1a(root_id.as_bytes())))
}

fn utc(seen: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(EPOCH_2000 + i64::from(seen), 0)
        .single()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_719_792_000 + hours * 3600, 0).unwrap()
    }

    #[test]
    fn a_key_too_common_takes_no_more_stories() {
        let mut index = StoryIndex::new(StoryConfig {
            max_roots_per_key: 2,
            ..StoryConfig::default()
        });
        // Ten different stories, each with the same long quotation.
        let quotation = "\"We will not accept any further delay to the reforms that were \
            promised to the people of this country,\" the spokesman for the ministry said.";
        let mut keys = Vec::new();
        for n in 0..10 {
            let text = format!(
                "{quotation} Story {n}: {}",
                super::super::tests::SAME_SUBJECT_TEXT
                    .replace("Thursday", &format!("day {n} of the month {}", n * 7))
            );
            let signature = Signature::of(&text);
            keys.extend(signature.keys.iter().copied());
            index.assign(&format!("s-{n}"), &signature, at(n));
        }
        assert!(index.heap_bytes() > 0);
        assert!(keys.iter().all(|key| index.slots(*key).count() <= 2));
        assert!(keys.iter().any(|key| index.slots(*key).count() == 2));
    }

    #[test]
    fn a_kept_article_takes_104_bytes() {
        assert_eq!(std::mem::size_of::<Root>(), 104);
    }
}
