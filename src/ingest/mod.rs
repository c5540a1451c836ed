//! `newsflow ingest`: newsroom feeds (RSS, Atom, JSON Feed, IPTC ninjs, XML sitemaps)
//! fetched over HTTP and turned into raw-article records, the pipeline's input.
//!
//! Each feed is fetched once per call of [`poll_once`]; a feed that fails (unreachable, an
//! HTTP error, too large, not a feed) is reported with its reason and the others go on.
//! Items that carry only a summary can have their linked page fetched ([`pages`]).

pub mod entries;
pub mod fetch;
mod follow;
pub mod format;
pub mod pages;
mod schedule;
pub mod seen;
pub mod sitemap;

use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use entries::FeedError;
pub use fetch::{FetchError, Fetcher};
pub use follow::{follow, FollowError};
pub use format::FeedFormat;
pub use pages::{PageCounts, Pages};

/// The `[ingest]` table of the config file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// The feeds, each a `[[ingest.feeds]]` table.
    pub feeds: Vec<FeedSpec>,
    /// Sent with every request, so that publishers know who polls them.
    pub user_agent: String,
    /// How long one request may take, redirects and body included.
    pub timeout_secs: u64,
    /// Responses larger than this (after decompression) are refused.
    pub max_response_bytes: u64,
    /// Feeds fetched at the same time.
    pub concurrency: usize,
    /// Article pages fetched at the same time from one host.
    pub per_host_concurrency: usize,
    /// Article pages fetched for one feed in one poll, so that a large sitemap does not
    /// turn a poll into a crawl.
    pub max_pages_per_feed: usize,
    /// Seconds between two polls of a feed that does not set its own.
    pub interval_secs: u64,
    /// The longest wait before polling a failing feed again (the wait doubles from the
    /// interval with each failure in a row).
    pub max_backoff_secs: u64,
    /// Compacted topic of the items sent (key = item id, value = content hash and
    /// version): what a restarted or replacing ingest reads back so as not to send them
    /// again. Created when missing.
    pub state_topic: String,
    /// The ingest's transactional id: items and their state are written in one
    /// transaction, and an ingest started with the same id fences the one before it, so
    /// that only one writes at a time.
    pub transactional_id: String,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            feeds: Vec::new(),
            user_agent: concat!("newsflow/", env!("CARGO_PKG_VERSION"), " (feed ingest)").into(),
            timeout_secs: 30,
            max_response_bytes: 10 * 1024 * 1024,
            concurrency: 4,
            per_host_concurrency: 2,
            max_pages_per_feed: 1000,
            interval_secs: 300,
            max_backoff_secs: 3600,
            state_topic: "news.ingest.state".into(),
            transactional_id: "newsflow-ingest".into(),
        }
    }
}

impl IngestConfig {
    /// At least one feed, each named once (names label the metrics), and intervals that
    /// a timer can keep.
    pub fn validate(&self) -> Result<(), crate::config::ConfigError> {
        use crate::config::ConfigError;
        if self.feeds.is_empty() {
            return Err(ConfigError::Invalid(
                "no feed: give --feed or [[ingest.feeds]] in the config file".into(),
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        if let Some(feed) = self.feeds.iter().find(|feed| !names.insert(feed.name())) {
            return Err(ConfigError::Invalid(format!(
                "two feeds are named {:?}: give them different sources",
                feed.name()
            )));
        }
        let intervals = self.feeds.iter().filter_map(|feed| feed.interval_secs);
        if std::iter::once(self.interval_secs)
            .chain(intervals)
            .any(|secs| secs == 0)
        {
            return Err(ConfigError::Invalid(
                "interval_secs must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// One feed and what its items carry when they do not say it themselves.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSpec {
    pub url: String,
    /// Publisher or feed name, the records' `source`.
    #[serde(default)]
    pub source: Option<String>,
    /// ISO 639-1 code, when the feed does not declare its language.
    #[serde(default)]
    pub language: Option<String>,
    /// Added to every record of the feed as `tags`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// What the address serves; anything but `auto` makes another kind an error.
    #[serde(default)]
    pub format: FeedFormat,
    /// Fetch the linked page of items that carry only a summary (always done for sitemaps).
    #[serde(default)]
    pub fetch_pages: bool,
    /// Seconds between two polls of this feed, instead of the `[ingest]` interval.
    #[serde(default)]
    pub interval_secs: Option<u64>,
}

impl FeedSpec {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            source: None,
            language: None,
            tags: Vec::new(),
            format: FeedFormat::default(),
            fetch_pages: false,
            interval_secs: None,
        }
    }

    /// The feed's name in logs and metrics: its source name, or its address.
    pub fn name(&self) -> &str {
        self.source.as_deref().unwrap_or(&self.url)
    }
}

/// Why a feed gave no records.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Feed(#[from] FeedError),
}

impl IngestError {
    /// A short fixed name, for logs and metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Fetch(error) => error.kind(),
            Self::Feed(_) => "unreadable",
        }
    }
}

/// What one feed gave.
#[derive(Debug)]
pub struct Polled {
    /// Raw-article records, in feed order.
    pub records: Vec<Value>,
    /// Items left out because nothing (id, link, title) identifies them.
    pub without_id: usize,
    /// The feed's bytes, a sitemap index's child sitemaps included.
    pub bytes: usize,
    /// What became of the linked pages fetched for the items.
    pub pages: PageCounts,
}

/// Fetches every feed of `config` once, at most `concurrency` at a time, and returns each
/// feed's records or error, in the order of the feeds.
pub async fn poll_once(
    config: &IngestConfig,
) -> Result<Vec<(FeedSpec, Result<Polled, IngestError>)>, FetchError> {
    let fetcher = Fetcher::new(
        &config.user_agent,
        Duration::from_secs(config.timeout_secs),
        config.max_response_bytes,
    )?;
    let fetcher = &fetcher;
    let pages = &Pages::new(fetcher, config);
    Ok(futures::stream::iter(config.feeds.iter().cloned())
        .map(|spec| async move {
            let polled = poll(fetcher, pages, &spec).await;
            (spec, polled)
        })
        .buffered(config.concurrency.max(1))
        .collect()
        .await)
}

async fn poll(
    fetcher: &Fetcher,
    pages: &Pages<'_>,
    spec: &FeedSpec,
) -> Result<Polled, IngestError> {
    let document = fetcher.get(&spec.url).await?;
    let (mut polled, wants_pages) = read(fetcher, spec, &document).await?;
    if wants_pages {
        polled.pages = pages.complete(&mut polled.records, spec).await;
    }
    Ok(polled)
}

/// The records of a feed's document (a sitemap index's from its child sitemaps), and
/// whether their linked pages are to be fetched: a sitemap gives addresses and headlines
/// only, so its pages always are.
async fn read(
    fetcher: &Fetcher,
    spec: &FeedSpec,
    document: &[u8],
) -> Result<(Polled, bool), IngestError> {
    if sitemap::applies(spec, document) {
        return Ok((sitemap::read(fetcher, document, spec).await?, true));
    }
    let (records, without_id) = entries::records(document, spec)?;
    let polled = Polled {
        records,
        without_id,
        bytes: document.len(),
        pages: PageCounts::default(),
    };
    Ok((polled, spec.fetch_pages))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use crate::config::{ConfigError, RunConfig};

    fn load(text: &str) -> Result<RunConfig, ConfigError> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        RunConfig::load(Some(file.path()))
    }

    /// One config file serves `run` and `ingest`: `run` accepts the `[ingest]` table, and a
    /// mistake in it is as much an error as anywhere else.
    #[test]
    fn the_config_file_lists_the_feeds() {
        let config = load(
            "input_topic = \"raw\"\n[ingest]\ntimeout_secs = 5\n\
             [[ingest.feeds]]\nurl = \"http://127.0.0.1/a\"\ntags = [\"wire\"]\n\
             [[ingest.feeds]]\nurl = \"http://127.0.0.1/b\"\nsource = \"B\"\n",
        )
        .unwrap();
        assert_eq!(config.input_topic, "raw");
        let feeds = &config.ingest.feeds;
        assert_eq!(config.ingest.timeout_secs, 5);
        assert_eq!(feeds.len(), 2);
        assert_eq!(feeds[0].tags, ["wire"]);
        assert_eq!(feeds[1].source.as_deref(), Some("B"));
        assert!(
            load("[[ingest.feeds]]\nurl = \"http://127.0.0.1/a\"\nlanguag = \"en\"\n").is_err()
        );
        assert!(load("[[ingest.feeds]]\nsource = \"no url\"\n").is_err());
    }
}
