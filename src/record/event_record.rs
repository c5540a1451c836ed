//! An event on its own, as published to the events topic (schemas/event.v1.json): the
//! event's fields plus the article it was found in, keyed by the event fingerprint so that
//! every article about the same meeting lands on the same key.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::{EnrichedArticle, Event, SCHEMA_VERSION};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub schema_version: u32,
    /// Id of the article the event was extracted from.
    pub article_id: String,
    pub published_at: Option<DateTime<FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(flatten)]
    pub event: Event,
}

impl EventRecord {
    /// One record per event of the article, in the article's order.
    pub fn all_of(article: &EnrichedArticle) -> Vec<Self> {
        article
            .events
            .iter()
            .map(|event| Self {
                schema_version: SCHEMA_VERSION,
                article_id: article.id.clone(),
                published_at: article.published_at,
                url: article.url.clone(),
                source: article.source.clone(),
                event: event.clone(),
            })
            .collect()
    }
}
