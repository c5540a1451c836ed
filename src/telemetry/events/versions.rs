//! What becomes of an article's versions and embargoes: superseded inputs, embargoed
//! articles held by the releaser, dropped when killed, released at their time.

use chrono::{DateTime, FixedOffset};
use tracing::{debug, info};

use super::metrics;
use crate::record::ArticleVersion;

/// An input was left out: a newer version of its article came first.
pub struct ArticleSuperseded<'a> {
    pub stale: &'a ArticleVersion,
}

impl ArticleSuperseded<'_> {
    pub fn emit(&self) {
        info!(
            article_id = self.stale.id,
            version = self.stale.version,
            versioncreated = self.stale.created.map(|t| t.to_rfc3339()),
            "Article superseded by a newer version; left out."
        );
        metrics().articles_superseded.inc();
    }
}

/// An enriched article's embargo is still to come: it is held until `until`.
pub struct ArticleEmbargoed<'a> {
    pub article_id: &'a str,
    pub until: DateTime<FixedOffset>,
}

impl ArticleEmbargoed<'_> {
    pub fn emit(&self) {
        info!(
            article_id = self.article_id,
            embargoed_until = %self.until.to_rfc3339(),
            "Article embargoed."
        );
        metrics().articles_embargoed.inc();
    }
}

/// The releaser holds one more embargoed article (`held` in all), or one fewer.
pub struct EmbargoesHeld<'a> {
    pub article_id: &'a str,
    pub until: DateTime<FixedOffset>,
    pub held: usize,
}

impl EmbargoesHeld<'_> {
    pub fn emit(&self) {
        debug!(
            article_id = self.article_id,
            embargoed_until = %self.until.to_rfc3339(),
            held = self.held,
            "Embargoed article held."
        );
        metrics().embargoed_held.set(self.held as i64);
    }
}

/// The releaser dropped what it held of an article killed before its embargo ended.
pub struct EmbargoDropped<'a> {
    pub article_id: &'a str,
    pub held: usize,
}

impl EmbargoDropped<'_> {
    pub fn emit(&self) {
        info!(
            article_id = self.article_id,
            held = self.held,
            "Embargoed article dropped: it was killed before its time."
        );
        metrics().embargoed_held.set(self.held as i64);
    }
}

/// An embargoed article's time came and it was published on the output topic.
pub struct ArticleReleased<'a> {
    pub article_id: &'a str,
    pub until: DateTime<FixedOffset>,
    /// Articles still held.
    pub held: usize,
}

impl ArticleReleased<'_> {
    pub fn emit(&self) {
        info!(
            article_id = self.article_id,
            embargoed_until = %self.until.to_rfc3339(),
            late_ms = (chrono::Utc::now() - self.until.to_utc()).num_milliseconds(),
            "Embargoed article released."
        );
        metrics().articles_released.inc();
        metrics().embargoed_held.set(self.held as i64);
    }
}
