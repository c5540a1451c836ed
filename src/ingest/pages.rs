//! Article pages for items whose feed carries only a summary: the page an item links to is
//! fetched and its HTML becomes the record's body (`content_type` text/html), which the
//! clean stage turns into the article's text.
//!
//! An item wants its page when it is a raw article (not ninjs, whose bodies are its own)
//! with an http(s) `url` and a body of fewer than [`MIN_BODY_CHARS`] characters once its
//! tags are left out: feeds that send a teaser, sometimes even in `content:encoded`, send
//! one or two sentences, and a full article is longer than that.
//!
//! Politeness: the same timeout, size cap, redirect bound and User-Agent as the feeds, at
//! most `per_host_concurrency` requests to one host at a time, and each host's
//! `robots.txt` read once per poll and obeyed as RFC 9309 says: a 4xx (404 included)
//! allows everything, a 5xx or an unreachable host disallows everything for that poll.
//! A page that is disallowed or fails leaves its item as the feed gave it; no item is
//! dropped for its page.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use serde_json::Value;
use texting_robots::Robot;
use tokio::sync::{OnceCell, Semaphore};
use tracing::{info, warn};

use super::entries::strip_tags;
use super::{FeedSpec, FetchError, Fetcher, IngestConfig};
use crate::record::ContentType;

/// Bodies shorter than this many characters (tags left out) are taken for summaries.
pub const MIN_BODY_CHARS: usize = 600;

/// Pages of one feed in flight at once; the per-host limit is the politeness bound, this
/// one bounds memory when a feed lists many hosts.
const PAGES_IN_FLIGHT: usize = 16;

/// What became of the pages an item wanted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PageCounts {
    /// Fetched and sent as the body.
    pub fetched: usize,
    /// Not fetched because the host's robots.txt disallows them (or could not be read).
    pub disallowed: usize,
    /// Tried and failed (status, timeout, too large, not HTML).
    pub failed: usize,
    /// Not tried, past the feed's `max_pages_per_feed`.
    pub over_limit: usize,
}

/// Why a page gave no body.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("the page is {0}, not HTML")]
    NotHtml(String),
    #[error("not an http(s) address")]
    NotHttp,
}

impl PageError {
    /// A short fixed name, for logs and metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Fetch(error) => error.kind(),
            Self::NotHtml(_) => "not_html",
            Self::NotHttp => "not_http",
        }
    }
}

/// The page fetcher of one poll: it remembers each host's robots.txt and limits the
/// requests to each host, across all feeds of the poll.
pub struct Pages<'a> {
    fetcher: &'a Fetcher,
    /// The product token robots.txt groups are matched against.
    robots_agent: String,
    per_host_concurrency: usize,
    max_per_feed: usize,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

struct Host {
    permits: Semaphore,
    robots: OnceCell<Robots>,
}

/// What a host's robots.txt lets newsflow fetch.
#[derive(Debug)]
enum Robots {
    AllowAll,
    DisallowAll,
    Rules(Box<Robot>),
}

impl Robots {
    /// The rules of a robots.txt fetch, as RFC 9309 section 2.3.1 reads its outcome.
    fn from_fetch(fetched: Result<Vec<u8>, FetchError>, agent: &str) -> Self {
        match fetched {
            // A robots.txt that cannot be parsed at all has no rule newsflow could break.
            Ok(text) => Robot::new(agent, &text)
                .map_or(Self::AllowAll, |robot| Self::Rules(Box::new(robot))),
            // "Unavailable": no robots.txt, or one behind too many redirects.
            Err(FetchError::Status(400..=499) | FetchError::Redirects) => Self::AllowAll,
            // "Unreachable": a server error, a timeout, a refused connection.
            Err(_) => Self::DisallowAll,
        }
    }

    fn allows(&self, url: &str) -> bool {
        match self {
            Self::AllowAll => true,
            Self::DisallowAll => false,
            Self::Rules(robot) => robot.allowed(url),
        }
    }
}

enum Outcome {
    Fetched(String),
    Disallowed,
    Failed(PageError),
}

impl<'a> Pages<'a> {
    pub fn new(fetcher: &'a Fetcher, config: &IngestConfig) -> Self {
        Self {
            fetcher,
            robots_agent: product_token(&config.user_agent),
            per_host_concurrency: config.per_host_concurrency.max(1),
            max_per_feed: config.max_pages_per_feed,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Fetches the page of every record of `spec` that wants one and puts its HTML in the
    /// record's body; the others, and those whose page is disallowed or fails, keep theirs.
    /// Past `max_pages_per_feed` (in feed order) no page is fetched.
    pub async fn complete(&self, records: &mut [Value], spec: &FeedSpec) -> PageCounts {
        let mut counts = PageCounts::default();
        let mut wanted: Vec<(usize, String)> = records
            .iter()
            .enumerate()
            .filter_map(|(index, record)| wanted_page(record).map(|url| (index, url.to_owned())))
            .collect();
        if wanted.len() > self.max_per_feed {
            counts.over_limit = wanted.len() - self.max_per_feed;
            wanted.truncate(self.max_per_feed);
            warn!(
                feed = spec.url,
                over_limit = counts.over_limit,
                "More items want their page than max_pages_per_feed; the rest keep the feed's text."
            );
        }
        let outcomes: Vec<(usize, String, Outcome)> = futures::stream::iter(wanted)
            .map(|(index, url)| async move {
                let outcome = self.fetch(&url).await;
                (index, url, outcome)
            })
            .buffer_unordered(PAGES_IN_FLIGHT)
            .collect()
            .await;
        for (index, url, outcome) in outcomes {
            match outcome {
                Outcome::Fetched(html) => {
                    counts.fetched += 1;
                    if let Some(record) = records[index].as_object_mut() {
                        record.insert("body".into(), html.into());
                        record.insert("content_type".into(), "text/html".into());
                    }
                }
                Outcome::Disallowed => {
                    counts.disallowed += 1;
                    info!(
                        feed = spec.url,
                        page = url,
                        reason = "robots_txt",
                        "Page not fetched, robots.txt disallows it; the item keeps the feed's text."
                    );
                }
                Outcome::Failed(error) => {
                    counts.failed += 1;
                    warn!(
                        feed = spec.url,
                        page = url,
                        kind = error.kind(),
                        error = %error,
                        "Page not fetched; the item keeps the feed's text."
                    );
                }
            }
        }
        counts
    }

    async fn fetch(&self, url: &str) -> Outcome {
        let origin = match reqwest::Url::parse(url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {
                parsed.origin().ascii_serialization()
            }
            _ => return Outcome::Failed(PageError::NotHttp),
        };
        let host = self.host(&origin);
        let robots = host
            .robots
            .get_or_init(|| async {
                let fetched = self.fetcher.get(&format!("{origin}/robots.txt")).await;
                if let Err(error) = &fetched {
                    info!(host = origin, kind = error.kind(), error = %error, "No robots.txt read.");
                }
                Robots::from_fetch(fetched, &self.robots_agent)
            })
            .await;
        if !robots.allows(url) {
            return Outcome::Disallowed;
        }
        // The semaphore is never closed, so a permit always comes.
        let _permit = host.permits.acquire().await;
        match self.fetcher.get_typed(url).await {
            Ok((body, content_type)) => match html(&body, content_type.as_deref()) {
                Ok(html) => Outcome::Fetched(html),
                Err(error) => Outcome::Failed(error),
            },
            Err(error) => Outcome::Failed(error.into()),
        }
    }

    fn host(&self, origin: &str) -> Arc<Host> {
        let mut hosts = self
            .hosts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        hosts
            .entry(origin.to_owned())
            .or_insert_with(|| {
                Arc::new(Host {
                    permits: Semaphore::new(self.per_host_concurrency),
                    robots: OnceCell::new(),
                })
            })
            .clone()
    }
}

/// The page address of a record that wants its page (see the module's header).
fn wanted_page(record: &Value) -> Option<&str> {
    record.get("id")?.as_str()?;
    let body = record.get("body")?.as_str()?;
    let url = record.get("url")?.as_str()?;
    let is_http = url.starts_with("http://") || url.starts_with("https://");
    let short = strip_tags(body).trim().chars().count() < MIN_BODY_CHARS;
    (is_http && short).then_some(url)
}

/// The page as text: HTML only (a page served without a type, or as bytes of no named
/// kind, counts when it looks like HTML), decoded by a byte order mark, else the charset
/// its `Content-Type` names, else the one a `<meta>` near its start names, else UTF-8.
fn html(body: &[u8], content_type: Option<&str>) -> Result<String, PageError> {
    let mut parts = content_type.unwrap_or_default().split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let declared = matches!(essence.as_str(), "text/html" | "application/xhtml+xml");
    let untyped = matches!(essence.as_str(), "" | "application/octet-stream");
    if !declared && !untyped {
        return Err(PageError::NotHtml(essence));
    }
    let encoding = parts
        .filter_map(|parameter| parameter.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("charset"))
        .and_then(|(_, label)| encoding_label(label))
        .or_else(|| meta_charset(body))
        .unwrap_or(encoding_rs::UTF_8);
    let text = encoding.decode(body).0.into_owned();
    if untyped && ContentType::sniff(&text) != ContentType::Html {
        return Err(PageError::NotHtml(format!("{essence:?} and no markup")));
    }
    Ok(text)
}

fn encoding_label(label: &str) -> Option<&'static encoding_rs::Encoding> {
    encoding_rs::Encoding::for_label(label.trim().trim_matches(['"', '\'']).as_bytes())
}

/// The charset a `<meta charset>` or `<meta http-equiv>` names in the first 1024 bytes, as
/// the HTML standard's prescan looks for it (simplified: the first `charset=` wins).
fn meta_charset(body: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = String::from_utf8_lossy(&body[..body.len().min(1024)]).to_ascii_lowercase();
    let after = &head[head.find("charset=")? + "charset=".len()..];
    let label: String = after
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    encoding_label(&label)
}

/// "newsflow" of "newsflow/0.1.0 (feed ingest)": robots.txt groups name products.
fn product_token(user_agent: &str) -> String {
    let token: String = user_agent
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    if token.is_empty() {
        "newsflow".into()
    } else {
        token
    }
}

#[cfg(test)]
mod tests;
