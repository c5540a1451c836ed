//! What happens to the feeds `newsflow ingest` polls, logged and counted in one place (as
//! in [`super::events`]).

use tracing::{debug, info, warn};

use super::metrics;
use crate::ingest::pages::PageCounts;

/// The seconds since the epoch, now.
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// What one item of a poll was, against the seen-item state.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ItemCounts {
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// A poll of a feed ended.
pub enum FeedPolled<'a> {
    /// The feed was read and its new and updated items stored.
    Read {
        feed: &'a str,
        items: ItemCounts,
        /// Items nothing identifies (no id, link or title), left out.
        without_id: usize,
        bytes: usize,
        /// The linked pages of the new and updated items.
        pages: PageCounts,
    },
    /// The server said the feed has not changed since the last poll (HTTP 304).
    NotModified { feed: &'a str },
    /// The feed could not be read, or its items not stored; polled again after `retry_in`.
    Failed {
        feed: &'a str,
        kind: &'static str,
        error: &'a str,
        retry_in: std::time::Duration,
    },
}

impl FeedPolled<'_> {
    pub fn emit(&self) {
        let metrics = &metrics().feed;
        match *self {
            Self::Read {
                feed,
                items,
                without_id,
                bytes,
                pages,
            } => {
                // A poll that finds nothing new is the common case: debug, not info.
                if items.new + items.updated > 0 || without_id > 0 {
                    info!(
                        feed,
                        new = items.new,
                        updated = items.updated,
                        unchanged = items.unchanged,
                        without_id,
                        bytes,
                        pages_fetched = pages.fetched,
                        pages_disallowed = pages.disallowed,
                        pages_failed = pages.failed,
                        pages_over_limit = pages.over_limit,
                        "Feed polled."
                    );
                } else {
                    debug!(feed, unchanged = items.unchanged, bytes, "Feed polled.");
                }
                metrics.polls.with_label_values(&[feed, "ok"]).inc();
                for (outcome, count) in [
                    ("fetched", pages.fetched),
                    ("disallowed", pages.disallowed),
                    ("failed", pages.failed),
                    ("over_limit", pages.over_limit),
                ] {
                    metrics
                        .pages
                        .with_label_values(&[feed, outcome])
                        .inc_by(count as u64);
                }
                for (status, count) in [
                    ("new", items.new),
                    ("updated", items.updated),
                    ("unchanged", items.unchanged),
                ] {
                    metrics
                        .items
                        .with_label_values(&[feed, status])
                        .inc_by(count);
                }
                metrics
                    .bytes
                    .with_label_values(&[feed])
                    .inc_by(bytes as u64);
                metrics
                    .last_success
                    .with_label_values(&[feed])
                    .set(unix_now());
            }
            Self::NotModified { feed } => {
                debug!(feed, "Feed not modified.");
                metrics
                    .polls
                    .with_label_values(&[feed, "not_modified"])
                    .inc();
                metrics
                    .last_success
                    .with_label_values(&[feed])
                    .set(unix_now());
            }
            Self::Failed {
                feed,
                kind,
                error,
                retry_in,
            } => {
                warn!(
                    feed,
                    kind,
                    error,
                    retry_in_secs = retry_in.as_secs(),
                    "Feed not read."
                );
                metrics.polls.with_label_values(&[feed, "error"]).inc();
                metrics.errors.with_label_values(&[feed, kind]).inc();
            }
        }
    }
}

/// Ingest read the seen-item state back from its topic.
pub struct SeenStateLoaded<'a> {
    pub topic: &'a str,
    pub items: usize,
    pub seconds: f64,
}

impl SeenStateLoaded<'_> {
    pub fn emit(&self) {
        info!(
            topic = self.topic,
            items = self.items,
            seconds = self.seconds,
            "Seen-item state loaded."
        );
    }
}
