//! Stories across articles: near-duplicates (the same text with other boilerplate, light
//! edits, reordered or trimmed paragraphs, a rewrite keeping much of the wording) join the
//! story of the first article seen; other articles, on the same subject or not, found
//! their own.
//!
//! - [`signature`]: what a text is compared by.
//! - [`index`]: the stories of a time window, bounded in memory.
//! - [`sizes`]: how many articles the window's stories have.
//! - [`log`]: the story log that replicas share on Kafka (`newsflow run`).
//! - [`settle`]: the order the log's entries are decided in.

pub mod index;
pub mod log;
mod postings;
pub mod settle;
pub mod signature;
pub mod sizes;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

pub use index::{cluster_id, StoryIndex};
pub use signature::Signature;

/// An article's story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Story {
    /// The story's id (16 hex digits, from its first article's id).
    pub cluster_id: String,
    /// The id of the story's first article, when this is not it.
    pub duplicate_of: Option<String>,
    /// When the story's first article was published (or seen).
    pub first_seen: DateTime<Utc>,
    /// How much of one text the other contains (0–1, estimated), when a duplicate.
    pub similarity: Option<f64>,
}

/// How stories are told apart and how long they are remembered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoryConfig {
    /// How long a story takes new articles, from its first.
    pub window_secs: u64,
    /// Stories remembered at most (the oldest leave first).
    pub max_stories: usize,
    /// How much of one text the other must contain for the same story.
    pub min_containment: f64,
    /// How many shingles (word 3-grams) two texts must share, at least, for the same
    /// story: short texts sharing a stock paragraph are not one story.
    pub min_shared_shingles: f64,
    /// An article that joins a story containing less than this of it (or contained less
    /// in it) is kept as well, so that its own copies find the story.
    pub max_containment_unindexed: f64,
    /// Index keys an article is found by.
    pub index_keys: usize,
    /// Index keys an article asks with.
    pub query_keys: usize,
    /// Stories a key may find before it is too common to use.
    pub max_roots_per_key: usize,
    /// `newsflow run` with a story log: how long an entry of the log waits for others, so
    /// that those appended within this time are decided by publication time and id, not
    /// by which replica appended first. Every article waits this long for its story; 0
    /// decides in log order.
    pub settle_ms: u64,
}

impl Default for StoryConfig {
    fn default() -> Self {
        Self {
            window_secs: 7 * 24 * 3600,
            max_stories: 1_000_000,
            min_containment: 0.45,
            min_shared_shingles: 30.0,
            max_containment_unindexed: 0.9,
            index_keys: 8,
            query_keys: 16,
            max_roots_per_key: 10,
            settle_ms: 250,
        }
    }
}

impl StoryConfig {
    pub fn validate(&self) -> Result<(), crate::config::ConfigError> {
        use crate::config::ConfigError;
        if self.window_secs == 0 || self.max_stories == 0 {
            return Err(ConfigError::Invalid(
                "story.window_secs and story.max_stories must be above 0".into(),
            ));
        }
        if self.settle_ms > 60_000 {
            return Err(ConfigError::OutOfRange {
                setting: "story.settle_ms",
                min: 0,
                max: 60_000,
            });
        }
        if !(0.0..=1.0).contains(&self.min_containment)
            || !(0.0..=1.0).contains(&self.max_containment_unindexed)
        {
            return Err(ConfigError::Invalid(
                "story.min_containment and story.max_containment_unindexed must be between 0 and 1"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// The time an article's story is kept by: its publication time, or now when it has none
/// or one still ahead (a scheduled or mistyped date would move the window past every story
/// before it).
pub fn story_time(published_at: Option<DateTime<FixedOffset>>) -> DateTime<Utc> {
    let now = Utc::now();
    published_at.map_or(now, |at| at.to_utc().min(now))
}

#[cfg(test)]
mod tests;
