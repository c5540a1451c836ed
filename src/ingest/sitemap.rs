//! XML sitemaps as feeds: a `<urlset>` (with Google News `news:news` entries or without),
//! or a `<sitemapindex>` whose child sitemaps are fetched, at most [`MAX_CHILD_SITEMAPS`]
//! of them and one level deep. A sitemap names pages and at best their headlines, so each
//! record's body is left empty for [`super::pages`] to fill from the page itself.

use std::collections::HashSet;

use futures::StreamExt;
use quick_xml::encoding::DecodingReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use serde_json::{Map, Value};
use tracing::warn;

use super::entries::{add_missing, FeedError};
use super::{FeedFormat, FeedSpec, Fetcher, IngestError, PageCounts, Polled};
use crate::record::parse_timestamp;

/// Child sitemaps of an index read in one poll; publishers' indexes list months of
/// archives, and the newest come first.
pub const MAX_CHILD_SITEMAPS: usize = 50;

/// Child sitemaps fetched at the same time.
const CHILD_CONCURRENCY: usize = 4;

const SITEMAP_NS: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";
const NEWS_NS: &str = "http://www.google.com/schemas/sitemap-news/0.9";

/// A sitemap document.
#[derive(Debug, PartialEq)]
pub enum Sitemap {
    Urls(Vec<SitemapUrl>),
    /// The addresses of the child sitemaps.
    Index(Vec<String>),
}

/// One `<url>` of a `<urlset>`.
#[derive(Debug, Default, PartialEq)]
pub struct SitemapUrl {
    pub loc: String,
    pub lastmod: Option<String>,
    pub news: Option<NewsEntry>,
}

/// A Google News `<news:news>` entry.
#[derive(Debug, Default, PartialEq)]
pub struct NewsEntry {
    pub title: Option<String>,
    pub publication_date: Option<String>,
    pub publication_name: Option<String>,
    pub language: Option<String>,
    pub keywords: Vec<String>,
}

/// Whether the document of `spec` is read as a sitemap: when the hint says so, or when it
/// says `auto` and the root element is `<urlset>` or `<sitemapindex>`.
pub fn applies(spec: &FeedSpec, document: &[u8]) -> bool {
    match spec.format {
        FeedFormat::Sitemap => true,
        FeedFormat::Auto => root_is_sitemap(document),
        _ => false,
    }
}

fn root_is_sitemap(document: &[u8]) -> bool {
    let mut reader = NsReader::from_reader(DecodingReader::new(document));
    let mut buffer = Vec::new();
    loop {
        match reader.read_resolved_event_into(&mut buffer) {
            Ok((_, Event::Start(element) | Event::Empty(element))) => {
                let name = element.local_name();
                return matches!(name.as_ref(), "urlset" | "sitemapindex");
            }
            Ok((_, Event::Eof)) | Err(_) => return false,
            Ok(_) => buffer.clear(),
        }
    }
}

/// The records of a sitemap, or of the child sitemaps of an index (each page once). A
/// child that cannot be fetched or read is logged and skipped; an index in an index is
/// not followed.
pub async fn read(
    fetcher: &Fetcher,
    document: &[u8],
    spec: &FeedSpec,
) -> Result<Polled, IngestError> {
    let mut bytes = document.len();
    let urls = match parse(document)? {
        Sitemap::Urls(urls) => urls,
        Sitemap::Index(children) => {
            if children.len() > MAX_CHILD_SITEMAPS {
                warn!(
                    feed = spec.url,
                    listed = children.len(),
                    read = MAX_CHILD_SITEMAPS,
                    "Sitemap index lists more sitemaps than are read in one poll."
                );
            }
            let mut urls = Vec::new();
            let mut fetched = futures::stream::iter(children.into_iter().take(MAX_CHILD_SITEMAPS))
                .map(|child| async move {
                    let result = child_urls(fetcher, &child).await;
                    (child, result)
                })
                .buffered(CHILD_CONCURRENCY);
            while let Some((child, result)) = fetched.next().await {
                match result {
                    Ok((child_urls, child_bytes)) => {
                        bytes += child_bytes;
                        urls.extend(child_urls);
                    }
                    Err(error) => warn!(
                        feed = spec.url,
                        sitemap = child,
                        kind = error.kind(),
                        error = %error,
                        "Child sitemap not read."
                    ),
                }
            }
            urls
        }
    };
    let mut seen = HashSet::new();
    let records = urls
        .into_iter()
        .filter(|url| seen.insert(url.loc.clone()))
        .map(|url| record(url, spec))
        .collect();
    Ok(Polled {
        records,
        without_id: 0,
        bytes,
        pages: PageCounts::default(),
    })
}

async fn child_urls(fetcher: &Fetcher, url: &str) -> Result<(Vec<SitemapUrl>, usize), IngestError> {
    let document = fetcher.get(url).await?;
    match parse(&document)? {
        Sitemap::Urls(urls) => Ok((urls, document.len())),
        Sitemap::Index(_) => {
            Err(FeedError::Unreadable("a sitemap index inside a sitemap index".into()).into())
        }
    }
}

/// A sitemap entry as a raw article: its address is its id, and its body is empty until
/// the page is fetched.
fn record(url: SitemapUrl, spec: &FeedSpec) -> Value {
    let news = url.news.unwrap_or_default();
    let mut record = Map::new();
    record.insert("id".into(), url.loc.clone().into());
    record.insert("body".into(), "".into());
    record.insert("url".into(), url.loc.into());
    let mut insert = |key: &str, value: Option<String>| {
        if let Some(value) = value {
            record.insert(key.into(), value.into());
        }
    };
    insert("title", news.title);
    insert(
        "published_at",
        news.publication_date
            .or(url.lastmod)
            .map(|date| w3c_datetime(&date)),
    );
    insert("source", news.publication_name);
    if !news.keywords.is_empty() {
        record.insert("categories".into(), news.keywords.into());
    }
    add_missing(&mut record, spec, news.language);
    Value::Object(record)
}

/// A sitemap date (W3C Datetime, which allows minutes without seconds) in RFC 3339 UTC as
/// the other feeds' records carry it; passed on as written when it cannot be read.
fn w3c_datetime(date: &str) -> String {
    let date = date.trim();
    // "2024-07-01T09:00+01:00" is read as "2024-07-01T09:00:00+01:00".
    let bytes = date.as_bytes();
    let minute_precision = bytes.get(10) == Some(&b'T')
        && bytes.get(13) == Some(&b':')
        && matches!(bytes.get(16), Some(b'+' | b'-' | b'Z'));
    let read = if minute_precision {
        parse_timestamp(&format!("{}:00{}", &date[..16], &date[16..]))
    } else {
        parse_timestamp(date)
    };
    read.map_or_else(
        || date.to_owned(),
        |time| {
            time.to_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        },
    )
}

/// Which vocabulary an element is of. Other extensions (images, videos, alternates) have
/// `loc`s and `title`s of their own and are told apart by their namespace.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Vocabulary {
    Sitemap,
    News,
    Other,
}

/// Reads a `<urlset>` or a `<sitemapindex>`. Entries without a `<loc>` are left out.
pub fn parse(document: &[u8]) -> Result<Sitemap, FeedError> {
    let unreadable = |why: String| FeedError::Unreadable(format!("sitemap: {why}"));
    let mut reader = NsReader::from_reader(DecodingReader::new(document));
    reader.config_mut().expand_empty_elements = true;
    let mut buffer = Vec::new();
    let mut open: Vec<(Vocabulary, String)> = Vec::new();
    let mut text = String::new();
    let mut root = None;
    let mut urls = Vec::new();
    let mut children = Vec::new();
    let mut url = SitemapUrl::default();
    let mut news = NewsEntry::default();
    loop {
        buffer.clear();
        let (namespace, event) = reader
            .read_resolved_event_into(&mut buffer)
            .map_err(|error| unreadable(error.to_string()))?;
        match event {
            Event::Start(element) => {
                let vocabulary = match namespace {
                    ResolveResult::Bound(ns) if ns.as_ref() == NEWS_NS => Vocabulary::News,
                    ResolveResult::Bound(ns) if ns.as_ref() == SITEMAP_NS => Vocabulary::Sitemap,
                    // Sitemaps written without their namespace are common enough to read.
                    ResolveResult::Unbound => Vocabulary::Sitemap,
                    _ => Vocabulary::Other,
                };
                let name = element.local_name().as_ref().to_owned();
                if root.is_none() {
                    if !matches!(name.as_str(), "urlset" | "sitemapindex") {
                        return Err(unreadable(format!("the root element is <{name}>")));
                    }
                    root = Some(name.clone());
                }
                open.push((vocabulary, name));
                text.clear();
            }
            Event::Text(part) => text.push_str(&part),
            Event::CData(part) => text.push_str(&part),
            Event::GeneralRef(reference) => {
                if let Ok(Some(c)) = reference.resolve_char_ref() {
                    text.push(c);
                } else if let Some(entity) =
                    quick_xml::escape::resolve_predefined_entity(&reference)
                {
                    text.push_str(entity);
                }
            }
            Event::End(_) => {
                let Some((vocabulary, name)) = open.pop() else {
                    continue;
                };
                let parent = open.last().map(|(v, n)| (*v, n.as_str()));
                let value = || Some(text.trim().to_owned()).filter(|t| !t.is_empty());
                use Vocabulary::{News, Sitemap as Map};
                match (vocabulary, name.as_str(), parent) {
                    (Map, "loc", Some((Map, "url"))) => url.loc = text.trim().to_owned(),
                    (Map, "lastmod", Some((Map, "url"))) => url.lastmod = value(),
                    (Map, "loc", Some((Map, "sitemap"))) => children.extend(value()),
                    (News, "title", Some((News, "news"))) => news.title = value(),
                    (News, "publication_date", _) => news.publication_date = value(),
                    (News, "name", Some((News, "publication"))) => news.publication_name = value(),
                    (News, "language", Some((News, "publication"))) => news.language = value(),
                    (News, "keywords", _) => {
                        news.keywords = text
                            .split(',')
                            .map(str::trim)
                            .filter(|k| !k.is_empty())
                            .map(str::to_owned)
                            .collect();
                    }
                    (News, "news", _) => url.news = Some(std::mem::take(&mut news)),
                    (Map, "url", _) => {
                        let done = std::mem::take(&mut url);
                        if !done.loc.is_empty() {
                            urls.push(done);
                        }
                    }
                    _ => {}
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some((_, name)) = open.last() {
        return Err(unreadable(format!("cut off inside <{name}>")));
    }
    match root.as_deref() {
        Some("urlset") => Ok(Sitemap::Urls(urls)),
        Some(_) => Ok(Sitemap::Index(children)),
        None => Err(unreadable("no root element".into())),
    }
}

#[cfg(test)]
mod tests;
