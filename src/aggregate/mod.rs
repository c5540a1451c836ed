//! Events across articles: one record per event fingerprint, GDELT's event table, with
//! how many mentions, articles and sources tell of the event and what they agree on.
//!
//! An [`AggregatedEvent`] is both the published record and the whole state of its event:
//! `newsflow aggregate` reads it back from the compacted topic after a restart or a
//! rebalance. It keeps the keys of the mentions it counted ([`MentionKey`]), so that a
//! mention delivered twice (at-least-once) is counted once.

mod families;
mod support;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{check_topic_name, ConfigError};
use crate::hash::fnv1a;
use crate::record::{EventLocation, EventRecord, Modality};
pub use families::Families;
use support::{best, vote};
pub use support::{DateSpan, Parties, Vote};

/// The version of `schemas/event-aggregate.v1.json` the records follow.
pub const AGGREGATE_SCHEMA_VERSION: u32 = 1;

/// The `[aggregate]` table of the config file: `newsflow aggregate`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AggregateConfig {
    /// Compacted topic of the aggregated events, keyed by fingerprint; created when
    /// missing with the events topic's partition count.
    pub output_topic: String,
    /// Consumer group of the aggregators: each owns some partitions of the events topic,
    /// and the same partitions of the output topic.
    pub group_id: String,
    /// Article ids an aggregated event lists (the first ones).
    pub max_articles_listed: usize,
    /// Mentions an aggregated event remembers, so as to count each once. Beyond them,
    /// mentions are still counted but a redelivered one may count twice
    /// (`counts_exact` turns false).
    pub max_mentions_tracked: usize,
    /// How many days apart two tellings of one family's event may date it and still be
    /// one event.
    pub date_tolerance_days: u32,
    /// How many days from its first and last mentions a telling may come and still be the
    /// same event (by publication time).
    pub window_days: u32,
    /// Events an aggregator holds in memory at most, over its partitions: beyond them,
    /// those told longest ago are forgotten. A forgotten event's record stays on the
    /// topic as it last was; a later mention of it founds a new event.
    pub max_events_held: usize,
}

impl Default for AggregateConfig {
    fn default() -> Self {
        Self {
            output_topic: "news.events.aggregated".into(),
            group_id: "newsflow-aggregate".into(),
            max_articles_listed: 50,
            max_mentions_tracked: 10_000,
            date_tolerance_days: 3,
            window_days: 7,
            max_events_held: 100_000,
        }
    }
}

impl AggregateConfig {
    /// Checks the settings, with the events topic they read.
    pub fn validate(&self, events_topic: &str) -> Result<(), ConfigError> {
        if events_topic.is_empty() {
            return Err(ConfigError::Invalid(
                "events_topic must be set: it is what aggregate reads".into(),
            ));
        }
        check_topic_name("events_topic", events_topic)?;
        check_topic_name("aggregate.output_topic", &self.output_topic)?;
        if self.output_topic == events_topic {
            return Err(ConfigError::Invalid(
                "aggregate.output_topic must differ from events_topic".into(),
            ));
        }
        if self.group_id.is_empty() {
            return Err(ConfigError::Invalid(
                "aggregate.group_id must be set".into(),
            ));
        }
        for (setting, days) in [
            ("aggregate.date_tolerance_days", self.date_tolerance_days),
            ("aggregate.window_days", self.window_days),
        ] {
            if days > 366 {
                return Err(ConfigError::OutOfRange {
                    setting,
                    min: 0,
                    max: 366,
                });
            }
        }
        for (setting, count, max) in [
            (
                "aggregate.max_mentions_tracked",
                self.max_mentions_tracked,
                1_000_000,
            ),
            (
                "aggregate.max_events_held",
                self.max_events_held,
                100_000_000,
            ),
        ] {
            if !(1..=max).contains(&count) {
                return Err(ConfigError::OutOfRange {
                    setting,
                    min: 1,
                    max: max as u64,
                });
            }
        }
        Ok(())
    }
}

/// One article's telling of an event: its article and what the mention says, hashed.
/// The article comes first, so that the mentions of one article sort together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct MentionKey {
    article: u64,
    mention: u32,
}

impl MentionKey {
    fn of(record: &EventRecord) -> Self {
        let event = &record.event;
        let mention = format!(
            "{}|{}|{}",
            event.date_start.as_deref().unwrap_or(""),
            event.date_end.as_deref().unwrap_or(""),
            event.sentence
        );
        Self {
            article: fnv1a(record.article_id.as_bytes()),
            mention: fnv1a(mention.as_bytes()) as u32,
        }
    }
}

impl From<MentionKey> for String {
    fn from(key: MentionKey) -> Self {
        format!("{:016x}{:08x}", key.article, key.mention)
    }
}

impl TryFrom<String> for MentionKey {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let parsed = (text.len() == 24)
            .then(|| {
                Some(Self {
                    article: u64::from_str_radix(text.get(..16)?, 16).ok()?,
                    mention: u32::from_str_radix(text.get(16..)?, 16).ok()?,
                })
            })
            .flatten();
        parsed.ok_or_else(|| format!("not a mention key: {text:?}"))
    }
}

/// One source's part in an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceSupport {
    pub source: String,
    pub articles: u64,
    /// The source's likeliest telling of the event.
    pub confidence: f64,
}

/// What the mentions say, each value with how many mentions say it. Mentions without a
/// place or a date do not vote on it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Support {
    pub parties: Vec<Vote<Parties>>,
    pub places: Vec<Vote<EventLocation>>,
    pub dates: Vec<Vote<DateSpan>>,
    pub modalities: Vec<Vote<Modality>>,
    pub cameo: Vec<Vote<String>>,
}

/// One event across every article that tells of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregatedEvent {
    pub schema_version: u32,
    /// The record's key: the fingerprint for its family's first event, the fingerprint
    /// and a number for the others (`5be6a1f0c3e0d2aa-1`).
    pub id: String,
    /// The family: class and parties ([`Families`]).
    pub fingerprint: String,
    pub plover: String,
    /// The best-supported values: the most mentions, the first told on a tie.
    pub cameo: String,
    pub actors: Vec<String>,
    pub targets: Vec<String>,
    pub location: Option<EventLocation>,
    pub date_start: Option<String>,
    pub date_end: Option<String>,
    pub modality: Modality,
    /// Event records counted: an article telling the event twice (two dates) counts twice.
    pub num_mentions: u64,
    pub num_articles: u64,
    pub num_sources: u64,
    /// The earliest and latest publication time of the mentions.
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// The chance that at least one source is right, taking sources as independent and
    /// each at its likeliest telling: one source alone gives its own confidence, and
    /// every further source raises it.
    pub confidence: f64,
    /// The first articles that told of it, at most `max_articles_listed`.
    pub article_ids: Vec<String>,
    pub sources: Vec<SourceSupport>,
    pub support: Support,
    /// Whether each mention was counted once for sure (false once more mentions came
    /// than `max_mentions_tracked`).
    pub counts_exact: bool,
    /// The mentions counted, sorted: what makes a redelivered mention count once.
    pub counted: Vec<MentionKey>,
}

/// What became of a mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Counted,
    /// Counted before (a redelivery, or the same article again).
    AlreadyCounted,
}

impl Applied {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counted => "counted",
            Self::AlreadyCounted => "already_counted",
        }
    }
}

impl AggregatedEvent {
    /// The event as its first mention tells it.
    pub fn new(
        id: String,
        record: &EventRecord,
        seen_at: DateTime<Utc>,
        config: &AggregateConfig,
    ) -> Self {
        let event = &record.event;
        let time = mention_time(record, seen_at);
        let mut aggregated = Self {
            schema_version: AGGREGATE_SCHEMA_VERSION,
            id,
            fingerprint: event.fingerprint.clone(),
            plover: event.plover.clone(),
            cameo: event.cameo.clone(),
            actors: event.actors.clone(),
            targets: event.targets.clone(),
            location: event.location.clone(),
            date_start: event.date_start.clone(),
            date_end: event.date_end.clone(),
            modality: event.modality,
            num_mentions: 0,
            num_articles: 0,
            num_sources: 0,
            first_seen: time,
            last_seen: time,
            confidence: 0.0,
            article_ids: Vec::new(),
            sources: Vec::new(),
            support: Support::default(),
            counts_exact: true,
            counted: Vec::new(),
        };
        aggregated.apply(record, seen_at, config);
        aggregated
    }

    /// Counts `record` in, unless it was counted before. `seen_at` stands for its
    /// publication time when it has none.
    pub fn apply(
        &mut self,
        record: &EventRecord,
        seen_at: DateTime<Utc>,
        config: &AggregateConfig,
    ) -> Applied {
        let key = MentionKey::of(record);
        let position = match self.counted.binary_search(&key) {
            Ok(_) => return Applied::AlreadyCounted,
            Err(position) => position,
        };
        let new_article = !self.has_article(key.article);
        if self.counted.len() < config.max_mentions_tracked {
            self.counted.insert(position, key);
        } else {
            self.counts_exact = false;
        }
        self.num_mentions += 1;
        let time = mention_time(record, seen_at);
        self.first_seen = self.first_seen.min(time);
        self.last_seen = self.last_seen.max(time);
        let event = &record.event;
        if new_article {
            self.num_articles += 1;
            if self.article_ids.len() < config.max_articles_listed {
                self.article_ids.push(record.article_id.clone());
            }
        }
        self.count_source(record, new_article);
        let support = &mut self.support;
        vote(
            &mut support.parties,
            Parties {
                actors: event.actors.clone(),
                targets: event.targets.clone(),
            },
        );
        if let Some(location) = &event.location {
            vote(&mut support.places, location.clone());
        }
        if event.date_start.is_some() || event.date_end.is_some() {
            vote(
                &mut support.dates,
                DateSpan {
                    start: event.date_start.clone(),
                    end: event.date_end.clone(),
                },
            );
        }
        vote(&mut support.modalities, event.modality);
        vote(&mut support.cameo, event.cameo.clone());
        self.settle();
        Applied::Counted
    }

    /// Whether the mention `key` was counted.
    fn has_counted(&self, key: MentionKey) -> bool {
        self.counted.binary_search(&key).is_ok()
    }

    /// Whether a mention of `article` was counted (the keys of one article sort together).
    fn has_article(&self, article: u64) -> bool {
        let first = self.counted.partition_point(|key| key.article < article);
        self.counted
            .get(first)
            .is_some_and(|key| key.article == article)
    }

    fn count_source(&mut self, record: &EventRecord, new_article: bool) {
        let name = source_of(record);
        let confidence = record.event.confidence;
        match self.sources.iter_mut().find(|s| s.source == name) {
            Some(source) => {
                source.articles += u64::from(new_article);
                source.confidence = source.confidence.max(confidence);
            }
            None => self.sources.push(SourceSupport {
                source: name,
                articles: u64::from(new_article),
                confidence,
            }),
        }
        self.num_sources = self.sources.len() as u64;
    }

    /// The best-supported values and the confidence, from the counts.
    fn settle(&mut self) {
        let support = &self.support;
        if let Some(parties) = best(&support.parties) {
            self.actors = parties.actors.clone();
            self.targets = parties.targets.clone();
        }
        if let Some(place) = best(&support.places) {
            self.location = Some(place.clone());
        }
        if let Some(dates) = best(&support.dates) {
            self.date_start = dates.start.clone();
            self.date_end = dates.end.clone();
        }
        if let Some(&modality) = best(&support.modalities) {
            self.modality = modality;
        }
        if let Some(cameo) = best(&support.cameo) {
            self.cameo = cameo.clone();
        }
        let all_wrong: f64 = self
            .sources
            .iter()
            .map(|source| 1.0 - source.confidence.clamp(0.0, 1.0))
            .product();
        self.confidence = ((1.0 - all_wrong) * 1000.0).round() / 1000.0;
    }
}

/// When a mention was published: its article's time, else when it was seen.
fn mention_time(record: &EventRecord, seen_at: DateTime<Utc>) -> DateTime<Utc> {
    record
        .published_at
        .map_or(seen_at, |published| published.with_timezone(&Utc))
}

/// Who told it: the article's source, else its address's host, else "unknown".
fn source_of(record: &EventRecord) -> String {
    if let Some(source) = record.source.as_deref().filter(|s| !s.trim().is_empty()) {
        return source.trim().to_owned();
    }
    record
        .url
        .as_deref()
        .and_then(|url| reqwest::Url::parse(url).ok())
        .and_then(|url| {
            url.host_str()
                .map(|host| host.trim_start_matches("www.").to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests;
