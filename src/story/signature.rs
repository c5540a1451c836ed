//! What an article's text is compared by: its word 3-grams (shingles), as a one-permutation
//! MinHash sketch to estimate how much of one text another contains, and as the few
//! smallest shingle hashes, which serve as index keys to find the texts worth comparing.
//!
//! Containment, not resemblance: a regional version that keeps two thirds of a story, or a
//! rewrite that adds paragraphs, contains most of the other's shingles while sharing few
//! of all of them. Shingles made of stop words alone ("one of the") say nothing of a story
//! and are left out.

use crate::hash::mix;
use crate::stage::clean::fingerprint::word_hashes;

/// Words per shingle.
const SHINGLE: usize = 3;
/// Sketch bins: 64 one-byte minima (the estimate's standard error is about 0.06 at the
/// similarities that decide).
pub const BINS: usize = 64;
/// Candidate index keys kept: the index uses the first of them that are not too common.
pub const KEYS_KEPT: usize = 32;

/// English function words: a shingle of these alone is no evidence of a shared story.
const STOP_WORDS: &[&str] = &[
    "the", "a", "an", "of", "to", "in", "and", "or", "for", "on", "at", "by", "with", "from", "as",
    "is", "was", "are", "were", "be", "been", "it", "its", "that", "this", "which", "who", "said",
    "says", "has", "have", "had", "will", "would", "not", "but",
];

/// An article's text as its story is compared by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Per bin, a byte of the smallest shingle hash that fell into it.
    pub(super) minima: [u8; BINS],
    /// Which bins any shingle fell into.
    pub(super) occupied: u64,
    /// Distinct shingles, at most `u16::MAX`.
    pub(super) shingles: u16,
    /// The smallest shingle hashes (their high 32 bits), ascending: index keys.
    pub(super) keys: Vec<u32>,
}

impl Signature {
    /// The signature of `text` (the article's paragraphs, joined).
    pub fn of(text: &str) -> Self {
        let shingles = shingles(text);
        let mut lede: Vec<u64> = shingles.iter().take(LEDE_WORDS).copied().collect();
        let mut hashes = shingles;
        for list in [&mut lede, &mut hashes] {
            list.sort_unstable();
            list.dedup();
        }
        let mut minima = [0u8; BINS];
        let mut occupied = 0u64;
        // Ascending, so the first hash of a bin is its minimum.
        for &hash in &hashes {
            let bin = (hash >> 58) as usize;
            if occupied & (1 << bin) == 0 {
                occupied |= 1 << bin;
                minima[bin] = mix(hash) as u8;
            }
        }
        // The lede's keys and the whole text's, alternately: a trimmed copy keeps the lede,
        // a rewrite much of the rest.
        let smallest = |hashes: &[u64]| {
            let mut keys: Vec<u32> = hashes.iter().map(|hash| key(*hash)).collect();
            keys.sort_unstable();
            keys.dedup();
            keys.truncate(KEYS_KEPT);
            keys
        };
        let (lede, whole) = (smallest(&lede), smallest(&hashes));
        let mut keys = Vec::with_capacity(KEYS_KEPT);
        for pair in lede
            .iter()
            .zip(whole.iter().chain(std::iter::repeat(&u32::MAX)))
        {
            for &candidate in [pair.0, pair.1] {
                if candidate != u32::MAX && !keys.contains(&candidate) {
                    keys.push(candidate);
                }
            }
        }
        keys.extend(
            whole
                .iter()
                .skip(lede.len())
                .filter(|k| !keys.contains(k))
                .collect::<Vec<_>>(),
        );
        keys.truncate(KEYS_KEPT);
        Self {
            minima,
            occupied,
            shingles: u16::try_from(hashes.len()).unwrap_or(u16::MAX),
            keys,
        }
    }

    /// Whether the text had no shingle to compare (too short, or stop words only).
    pub fn is_empty(&self) -> bool {
        self.shingles == 0
    }

    /// The estimated share of the smaller text's shingles that the other has too.
    pub fn containment(&self, other: &Self) -> f64 {
        let shared = self.shared(other);
        let smaller = f64::from(self.shingles.min(other.shingles)).max(1.0);
        (shared / smaller).min(1.0)
    }

    /// The estimated number of shingles both texts have.
    pub fn shared(&self, other: &Self) -> f64 {
        let either = self.occupied | other.occupied;
        let both = self.occupied & other.occupied;
        if either == 0 {
            return 0.0;
        }
        let equal = (0..BINS)
            .filter(|&bin| both & (1 << bin) != 0 && self.minima[bin] == other.minima[bin])
            .count();
        // A byte matches by chance once in 256: take that out of the resemblance.
        let chance = 1.0 / 256.0;
        let observed = equal as f64 / f64::from(either.count_ones());
        let resemblance = ((observed - chance) / (1.0 - chance)).max(0.0);
        let (a, b) = (f64::from(self.shingles), f64::from(other.shingles));
        // |A ∩ B| = J (|A| + |B|) / (1 + J)
        resemblance * (a + b) / (1.0 + resemblance)
    }
}

/// The distinct hashes of the text's shingles, ascending.
pub fn shingle_hashes(text: &str) -> Vec<u64> {
    let mut hashes = shingles(text);
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

/// The hashes of the text's shingles, in the text's order.
fn shingles(text: &str) -> Vec<u64> {
    let stop = stop_word_hashes();
    word_hashes(text)
        .windows(SHINGLE)
        .filter(|shingle| !shingle.iter().all(|word| stop.contains(word)))
        .map(|shingle| mix(shingle.iter().fold(0u64, |acc, w| acc.rotate_left(17) ^ w)))
        .collect()
}

/// An index key of a shingle hash.
fn key(hash: u64) -> u32 {
    (mix(hash ^ KEY_SEED) >> 32) as u32
}

/// The opening of a story, which a trimmed copy keeps: shingles starting in its first
/// words.
const LEDE_WORDS: usize = 120;

/// Keys are taken from hashes remixed with this, so that they are not the bins' order.
const KEY_SEED: u64 = 0x5354_4f52_595f_4b45;

fn stop_word_hashes() -> &'static [u64] {
    static HASHES: std::sync::OnceLock<Vec<u64>> = std::sync::OnceLock::new();
    HASHES.get_or_init(|| {
        STOP_WORDS
            .iter()
            .flat_map(|word| word_hashes(word))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORY: &str = "Finance ministers from the euro zone agreed on Monday to release \
        a further 8.7 billion euros of loans to Greece after Athens passed a package of \
        spending cuts through parliament. The money will let Greece repay bonds that fall \
        due in August, officials in Brussels said. Protesters gathered outside the \
        parliament building in Athens as the vote took place, and police used tear gas to \
        disperse a crowd of several thousand. The International Monetary Fund is expected \
        to decide on its share of the loans later this month.";
    const OTHER: &str = "The club confirmed on Friday that its captain would miss the rest \
        of the season with a knee injury sustained in training. The manager said the squad \
        had enough depth to cope, but supporters fear the loss will end hopes of a title \
        challenge. Scans showed damage to a ligament, and surgery is planned for next week \
        in Munich, where the player will stay for the first part of his recovery.";

    #[test]
    fn a_trimmed_and_edited_copy_is_mostly_contained_and_another_story_is_not() {
        let story = Signature::of(STORY);
        let trimmed = STORY
            .split(". ")
            .take(3)
            .collect::<Vec<_>>()
            .join(". ")
            .replace("agreed on Monday", "agreed late on Monday");
        let copy = Signature::of(&trimmed);
        assert!(
            story.containment(&copy) > 0.6,
            "{}",
            story.containment(&copy)
        );
        assert_eq!(story.containment(&copy), copy.containment(&story));
        assert!(story.containment(&Signature::of(OTHER)) < 0.15);
        assert!((story.containment(&story) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn case_and_punctuation_do_not_change_a_signature_and_stop_words_alone_make_none() {
        assert_eq!(Signature::of(STORY), Signature::of(&STORY.to_uppercase()));
        assert!(Signature::of("It was said that it is to be").is_empty());
        assert!(Signature::of("").is_empty());
        assert_eq!(Signature::of(STORY).keys.len(), KEYS_KEPT);
    }
}
