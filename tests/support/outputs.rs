//! Everything a pipeline wrote to its three output topics, read back as a downstream
//! consumer would, and checked against what went in: every article enriched, every event
//! published and every malformed record dead-lettered, each exactly once (or at least once);
//! and whether a transaction is open on the broker at a given moment.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::Deserialize;

use newsflow::record::{Event, EventRecord};

use super::{keys, Guarantee, Input, Topics};

/// How often each output was seen on the enriched, events and dead-letter topics, read from
/// the beginning of every partition with one isolation level as records arrive.
pub struct Outputs {
    consumer: BaseConsumer,
    brokers: String,
    partitions: i32,
    topics: [String; 3],
    /// Times each article id came out enriched.
    pub articles: HashMap<String, usize>,
    /// The events inside each article's first enriched copy: what the events topic must hold.
    article_events: HashMap<String, Vec<String>>,
    /// Times each event came out on its own, by (article id, the event as JSON): two articles
    /// may report the same event (one fingerprint), and one article the same event twice.
    events: HashMap<(String, String), usize>,
    /// Times each dead letter came out, by the key of its original record.
    pub dead_letters: HashMap<String, usize>,
    /// Records read on all three topics, copies included.
    pub records: usize,
    /// Partitions and Kafka timestamps (when newsflow produced them, in ms) of the enriched
    /// records.
    produced_ms: Vec<(i32, i64)>,
}

/// The part of an enriched article the checks need.
#[derive(Deserialize)]
struct ArticleEvents {
    id: String,
    events: Vec<Event>,
}

/// One count of outputs against what they should be.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub expected: usize,
    pub distinct_seen: usize,
    pub missing: usize,
    /// Copies beyond the expected ones.
    pub duplicates: usize,
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} expected, {} distinct seen, {} missing, {} duplicates",
            self.expected, self.distinct_seen, self.missing, self.duplicates
        )
    }
}

impl Outputs {
    /// `isolation` is `read_committed` or `read_uncommitted`.
    pub fn new(brokers: &str, topics: &Topics, partitions: i32, isolation: &str) -> Self {
        let names = [
            topics.output.clone(),
            topics.events.clone(),
            topics.dlq.clone(),
        ];
        Self::of(brokers, names, partitions, isolation)
    }

    fn of(brokers: &str, names: [String; 3], partitions: i32, isolation: &str) -> Self {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", "newsflow-test-outputs")
            .set("isolation.level", isolation)
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        let mut list = TopicPartitionList::new();
        for topic in &names {
            for partition in 0..partitions {
                list.add_partition_offset(topic, partition, Offset::Beginning)
                    .expect("partition");
            }
        }
        consumer.assign(&list).expect("assign");
        Self {
            consumer,
            brokers: brokers.to_owned(),
            partitions,
            topics: names,
            articles: HashMap::new(),
            article_events: HashMap::new(),
            events: HashMap::new(),
            dead_letters: HashMap::new(),
            records: 0,
            produced_ms: Vec::new(),
        }
    }

    /// Reads until `articles` distinct articles and `dead_letters` distinct dead letters
    /// came out, or `timeout` passed.
    pub fn read_until(&mut self, articles: usize, dead_letters: usize, timeout: Duration) {
        let started = Instant::now();
        while (self.articles.len() < articles || self.dead_letters.len() < dead_letters)
            && started.elapsed() < timeout
        {
            self.poll();
        }
    }

    /// Reads whatever else arrives within `quiet`.
    pub fn drain(&mut self, quiet: Duration) {
        self.read_until(usize::MAX, usize::MAX, quiet);
    }

    /// Reads until every article and every dead letter of `input` came out (or `timeout`
    /// passed), then whatever else arrives within 2 s.
    pub fn read_all(&mut self, input: &Input, timeout: Duration) {
        self.read_until(input.articles.len(), input.malformed.len(), timeout);
        self.drain(Duration::from_secs(2));
    }

    /// Prints how `input`'s outputs came out and asserts that none is missing and, under
    /// exactly-once, that none came out twice and nothing else came out.
    pub fn assert_delivered(&self, input: &Input, guarantee: Guarantee, what: &str) {
        let articles = self.article_tally(keys(&input.articles));
        let events = self.event_tally();
        let dead_letters = self.dead_letter_tally(keys(&input.malformed));
        eprintln!("{what}: articles {articles}; events {events}; dead letters {dead_letters}");
        for (tally, kind) in [
            (&articles, "articles"),
            (&events, "events"),
            (&dead_letters, "dead letters"),
        ] {
            assert_eq!(tally.missing, 0, "{what}: {kind} lost");
            if guarantee == Guarantee::ExactlyOnce {
                assert_eq!(tally.duplicates, 0, "{what}: {kind} seen more than once");
            }
        }
        assert_eq!(
            (articles.distinct_seen, dead_letters.distinct_seen),
            (input.articles.len(), input.malformed.len()),
            "{what}: articles or dead letters that were not in the input"
        );
    }

    /// What faults left in aborted transactions: the records a `read_uncommitted` reader of
    /// the same topics sees beyond those this `read_committed` one saw, once both read
    /// `input`'s outputs. Prints both counts.
    pub fn aborted_records(&self, input: &Input, what: &str) -> usize {
        let mut everything = Self::of(
            &self.brokers,
            self.topics.clone(),
            self.partitions,
            "read_uncommitted",
        );
        everything.read_all(input, Duration::from_secs(60));
        let aborted = everything.records - self.records;
        eprintln!(
            "{what}: {} records committed (read_committed), {} stored (read_uncommitted): {aborted} in aborted transactions",
            self.records, everything.records
        );
        aborted
    }

    fn poll(&mut self) {
        // Errors such as a node down are transient here: the reader retries.
        let Some(Ok(message)) = self.consumer.poll(Duration::from_millis(100)) else {
            return;
        };
        self.records += 1;
        let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
        let value = message.payload().unwrap_or_default();
        if message.topic() == self.topics[0] {
            let article: ArticleEvents = serde_json::from_slice(value).expect("enriched article");
            *self.articles.entry(article.id.clone()).or_default() += 1;
            self.article_events
                .entry(article.id)
                .or_insert_with(|| article.events.iter().map(event_json).collect());
            if let Some(ms) = message.timestamp().to_millis() {
                self.produced_ms.push((message.partition(), ms));
            }
        } else if message.topic() == self.topics[1] {
            let record: EventRecord = serde_json::from_slice(value).expect("event record");
            let event = (record.article_id, event_json(&record.event));
            *self.events.entry(event).or_default() += 1;
        } else {
            *self.dead_letters.entry(key).or_default() += 1;
        }
    }

    /// The enriched articles against the input's article ids.
    pub fn article_tally<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Tally {
        tally(&self.articles, ids)
    }

    /// The dead letters against the keys of the malformed input records.
    pub fn dead_letter_tally<'a>(&self, keys: impl IntoIterator<Item = &'a str>) -> Tally {
        tally(&self.dead_letters, keys)
    }

    /// The events topic against the events inside the enriched articles: each article's
    /// events must each come out as many times as the article holds them (once, unless the
    /// article reports one event twice), and no event of an article that did not come out.
    pub fn event_tally(&self) -> Tally {
        let mut expected: HashMap<(&str, &str), usize> = HashMap::new();
        for (article, events) in &self.article_events {
            for event in events {
                *expected.entry((article, event)).or_default() += 1;
            }
        }
        let mut result = Tally {
            expected: expected.values().sum(),
            distinct_seen: self.events.len(),
            ..Tally::default()
        };
        for ((article, event), &want) in &expected {
            let seen = self
                .events
                .get(&((*article).to_owned(), (*event).to_owned()))
                .copied()
                .unwrap_or(0);
            result.missing += want.saturating_sub(seen);
            result.duplicates += seen.saturating_sub(want);
        }
        result.duplicates += self
            .events
            .iter()
            .filter(|((article, event), _)| !expected.contains_key(&(article, event)))
            .map(|(_, seen)| seen)
            .sum::<usize>();
        result
    }

    /// The longest time without an enriched record produced, between `from_ms` and `to_ms`
    /// (ms since the epoch): how long all output paused around a fault in that span.
    pub fn longest_pause(&self, from_ms: i64, to_ms: i64) -> Duration {
        longest_gap(self.produced_ms.iter().map(|&(_, ms)| ms), from_ms, to_ms)
    }

    /// [`Outputs::longest_pause`] of the partition of the enriched topic that paused
    /// longest: a partition moving between replicas pauses while the others may go on.
    /// (Keyed records land on the same partition of the enriched topic as of the input,
    /// which has as many.)
    pub fn longest_partition_pause(&self, from_ms: i64, to_ms: i64) -> Duration {
        (0..self.partitions)
            .map(|partition| {
                let times = self.produced_ms.iter().filter(|&&(p, _)| p == partition);
                longest_gap(times.map(|&(_, ms)| ms), from_ms, to_ms)
            })
            .max()
            .unwrap_or_default()
    }

    /// Both pauses between `from_ms` and `to_ms`, to print.
    pub fn pauses(&self, from_ms: i64, to_ms: i64) -> String {
        format!(
            "{:?} in all output, {:?} in one partition",
            self.longest_pause(from_ms, to_ms),
            self.longest_partition_pause(from_ms, to_ms)
        )
    }
}

/// The longest span between `from_ms` and `to_ms` with none of `times_ms` in it.
fn longest_gap(times_ms: impl Iterator<Item = i64>, from_ms: i64, to_ms: i64) -> Duration {
    let mut times: Vec<i64> = times_ms.filter(|t| (from_ms..=to_ms).contains(t)).collect();
    times.sort_unstable();
    let bounds = std::iter::once(from_ms)
        .chain(times)
        .chain(std::iter::once(to_ms));
    let gaps = bounds
        .clone()
        .zip(bounds.skip(1))
        .map(|(before, after)| after - before);
    Duration::from_millis(gaps.max().unwrap_or(0).max(0) as u64)
}

/// An event as JSON, the same whether it came inside its article or on its own.
fn event_json(event: &Event) -> String {
    serde_json::to_string(event).expect("events serialise")
}

fn tally<'a>(seen: &HashMap<String, usize>, expected: impl IntoIterator<Item = &'a str>) -> Tally {
    let mut result = Tally {
        distinct_seen: seen.len(),
        ..Tally::default()
    };
    for key in expected {
        result.expected += 1;
        match seen.get(key) {
            Some(&copies) => result.duplicates += copies - 1,
            None => result.missing += 1,
        }
    }
    result
}

/// Milliseconds since the epoch now, as Kafka timestamps count.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_millis() as i64
}

/// Whether a transaction is open on a topic: some of its records are stored beyond the
/// last stable offset, which a `read_committed` client's end offset is.
pub struct TransactionWatch {
    stable: BaseConsumer,
    stored: BaseConsumer,
    topic: String,
    partitions: i32,
}

impl TransactionWatch {
    pub fn new(brokers: &str, topic: &str, partitions: i32) -> Self {
        let client = |isolation| -> BaseConsumer {
            ClientConfig::new()
                .set("bootstrap.servers", brokers)
                .set("isolation.level", isolation)
                .create()
                .expect("consumer")
        };
        Self {
            stable: client("read_committed"),
            stored: client("read_uncommitted"),
            topic: topic.to_owned(),
            partitions,
        }
    }

    /// Whether a transaction is open now on some partition. The stored end is asked first:
    /// the stable end only grows, so a stable end below it means a transaction was still
    /// open when the second answer came.
    pub fn open(&self) -> bool {
        let end = |client: &BaseConsumer, partition| {
            client
                .fetch_watermarks(&self.topic, partition, Duration::from_secs(5))
                .map(|(_, high)| high)
                .ok()
        };
        let stored: Vec<Option<i64>> = (0..self.partitions).map(|p| end(&self.stored, p)).collect();
        (0..self.partitions).zip(stored).any(|(partition, stored)| {
            stored
                .zip(end(&self.stable, partition))
                .is_some_and(|(stored, stable)| stable < stored)
        })
    }

    /// Waits up to `timeout` for a transaction to be open; returns whether one was.
    pub fn wait_open(&self, timeout: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if self.open() {
                return true;
            }
        }
        false
    }
}
