//! A feed's items as raw-article records: RSS 2.0, RSS 1.0, Atom 1.0 and JSON Feed through
//! `feed-rs`, and IPTC ninjs items (one, a list, or an object with an `items` list), which
//! the pipeline decodes itself and so pass through as they are.

use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Feed, Text};
use serde_json::{Map, Value};

use super::{FeedFormat, FeedSpec};

/// A feed document that yields no records.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("not a feed newsflow reads (RSS, Atom, JSON Feed, ninjs or a sitemap): {0}")]
    Unreadable(String),
    #[error("the feed is declared {expected} but serves {found}")]
    NotTheDeclaredFormat {
        expected: FeedFormat,
        found: &'static str,
    },
}

/// One record per item of `document`, in feed order, each with what `spec` says of its
/// feed (source, language, tags) where the item does not say it itself. Items without an
/// id, a link or a title, which no later poll could recognise, are counted in the second
/// value and left out. The feed's `format` hint, when not `auto`, must match the document
/// (sitemaps are read by [`super::sitemap`], not here).
pub fn records(document: &[u8], spec: &FeedSpec) -> Result<(Vec<Value>, usize), FeedError> {
    let ninjs = match spec.format {
        FeedFormat::Auto | FeedFormat::Ninjs => ninjs_items(document),
        _ => None,
    };
    if let Some(items) = ninjs {
        let records = items
            .into_iter()
            .map(|mut item| {
                add_missing(&mut item, spec, None);
                Value::Object(item)
            })
            .collect();
        return Ok((records, 0));
    }
    if matches!(spec.format, FeedFormat::Ninjs | FeedFormat::Sitemap) {
        return Err(FeedError::NotTheDeclaredFormat {
            expected: spec.format,
            found: "something else",
        });
    }
    let feed = feed_rs::parser::Builder::new()
        .id_generator(|links, title, _| {
            links
                .first()
                .map(|link| link.href.clone())
                .or_else(|| title.as_ref().map(|title| title.content.clone()))
                .unwrap_or_default()
        })
        .build()
        .parse(document)
        .map_err(|error| FeedError::Unreadable(error.to_string()))?;
    if !spec.format.accepts(&feed.feed_type) {
        return Err(FeedError::NotTheDeclaredFormat {
            expected: spec.format,
            found: FeedFormat::name_of(&feed.feed_type),
        });
    }
    let mut without_id = 0;
    let records = feed
        .entries
        .iter()
        .filter_map(|entry| {
            let record = entry_record(entry, &feed, spec);
            without_id += usize::from(record.is_none());
            record
        })
        .collect();
    Ok((records, without_id))
}

/// The ninjs items of a JSON document, or none when it is not ninjs (JSON Feed is read by
/// `feed-rs`).
fn ninjs_items(document: &[u8]) -> Option<Vec<Map<String, Value>>> {
    let first = document.iter().find(|b| !b.is_ascii_whitespace())?;
    if !matches!(first, b'{' | b'[') {
        return None;
    }
    let is_item = |value: &Value| value.get("uri").is_some_and(Value::is_string);
    let items = match serde_json::from_slice::<Value>(document).ok()? {
        Value::Array(items) => items,
        Value::Object(mut object) if !object.contains_key("version") => {
            match object.remove("items") {
                Some(Value::Array(items)) => items,
                Some(_) => return None,
                None => vec![Value::Object(object)],
            }
        }
        _ => return None,
    };
    items.iter().all(is_item).then(|| {
        items
            .into_iter()
            .filter_map(|item| match item {
                Value::Object(item) => Some(item),
                _ => None,
            })
            .collect()
    })
}

/// A feed entry as a raw article: the full content when the feed carries it
/// (`content:encoded`, Atom `content`), the summary otherwise.
fn entry_record(entry: &Entry, feed: &Feed, spec: &FeedSpec) -> Option<Value> {
    let id = entry.id.trim();
    if id.is_empty() {
        return None;
    }
    let (body, html) = match (&entry.content, &entry.summary) {
        (Some(content), _)
            if content
                .body
                .as_deref()
                .is_some_and(|b| !b.trim().is_empty()) =>
        {
            (
                content.body.clone().unwrap_or_default(),
                is_html(content.content_type.essence().to_string().as_str()),
            )
        }
        (_, Some(summary)) => (summary.content.clone(), text_is_html(summary)),
        _ => (String::new(), false),
    };
    let mut record = Map::new();
    record.insert("id".into(), id.into());
    record.insert("body".into(), body.into());
    record.insert(
        "content_type".into(),
        if html { "text/html" } else { "text/plain" }.into(),
    );
    if let Some(title) = &entry.title {
        record.insert("title".into(), plain(title).into());
    }
    if let Some(link) = entry.links.first() {
        record.insert("url".into(), link.href.clone().into());
    }
    if let Some(time) = entry.published.or(entry.updated) {
        record.insert("published_at".into(), rfc3339(time).into());
    }
    let authors: Vec<Value> = entry
        .authors
        .iter()
        .filter_map(|person| person.name.clone())
        .map(Value::from)
        .collect();
    if !authors.is_empty() {
        record.insert("authors".into(), authors.into());
    }
    let categories: Vec<Value> = entry
        .categories
        .iter()
        .map(|category| Value::from(category.label.clone().unwrap_or(category.term.clone())))
        .collect();
    if !categories.is_empty() {
        record.insert("categories".into(), categories.into());
    }
    let feed_language = entry.language.clone().or(feed.language.clone());
    add_missing(&mut record, spec, feed_language);
    Some(Value::Object(record))
}

/// Adds the feed's source name, language and tags, and the feed's address, where the
/// record does not have them.
pub(super) fn add_missing(
    record: &mut Map<String, Value>,
    spec: &FeedSpec,
    language: Option<String>,
) {
    let mut add = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            record.entry(key).or_insert(value);
        }
    };
    add("source", spec.source.clone().map(Value::from));
    add(
        "language",
        spec.language
            .clone()
            .or(language)
            .map(|l| Value::from(primary_language(&l))),
    );
    add(
        "tags",
        (!spec.tags.is_empty()).then(|| spec.tags.iter().cloned().map(Value::from).collect()),
    );
    add("feed", Some(spec.url.clone().into()));
}

/// "en" of "en-GB" or "en_us": raw articles carry ISO 639-1 codes.
fn primary_language(tag: &str) -> String {
    tag.split(['-', '_'])
        .next()
        .unwrap_or(tag)
        .to_ascii_lowercase()
}

fn is_html(essence: &str) -> bool {
    matches!(essence, "text/html" | "application/xhtml+xml")
}

fn text_is_html(text: &Text) -> bool {
    is_html(text.content_type.essence().to_string().as_str())
}

/// A title as plain text: feeds may escape markup into it.
fn plain(text: &Text) -> String {
    if !text_is_html(text) {
        return text.content.trim().to_owned();
    }
    strip_tags(&text.content).trim().to_owned()
}

/// Markup's text with its tags left out (entities stay as written).
pub(super) fn strip_tags(markup: &str) -> String {
    let mut out = String::with_capacity(markup.len());
    let mut in_tag = false;
    for c in markup.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests;
