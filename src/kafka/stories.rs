//! Stories in `newsflow run`, the same on every replica: each enriched article's signature
//! is appended to the story log (one partition of `story_topic`), and every replica reads
//! the whole log into its own [`StoryIndex`], in log order. An article's story is the
//! decision its replica's index takes at the article's place in the log, which every
//! replica's index takes alike. The log is the shared state: a replica (re)started reads
//! the window's part of it back, with no local disk.
//!
//! Consistency: the log orders all articles, whichever replica enriched them, and every
//! replica decides its entries in one order read from it ([`crate::story::settle`]): entries
//! appended within `settle_ms` of each other by publication time and id, others in log
//! order. Of two copies enriched at about the same moment, on one replica or two, the
//! earlier published founds the story (the smaller id on a tie) and the other joins it, on
//! every replica. An article enriched again (a redelivery, a restart) is appended again and
//! keeps its story (the index gives a kept article's story back to the same id).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::check::{ensure_topics, partition_count};
use super::context::{report_client_error, ProducerContext};
use super::{client_config, Client, RunError};
use crate::config::{ConfigError, RunConfig};
use crate::story::log::{Entry, Record, TICK};
use crate::story::settle::Settler;
use crate::story::{Signature, Story, StoryIndex};
use crate::telemetry::story_events::{StoriesMeasured, StoryAssigned, StoryUnassigned};
use crate::telemetry::Health;

/// How long an article waits for its story before it is published without one: the story
/// log or its broker is away. At start, reading the log back counts in it.
const DECISION_TIMEOUT: Duration = Duration::from_secs(120);

/// Reading the log's start offset fails when the broker takes longer.
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// The stories of this replica's articles, decided by its copy of the shared index.
pub struct StoryKeeper {
    topic: String,
    producer: FutureProducer<ProducerContext>,
    /// This replica in this run: its own entries' decisions are kept for it.
    incarnation: u64,
    /// This replica's entries, by log offset: decided, or with their article waiting.
    decisions: Decisions,
    /// Cancelled when the log's reader stops.
    reader_stopped: CancellationToken,
    /// Where articles wait for their stories.
    runtime: tokio::runtime::Handle,
}

impl StoryKeeper {
    /// Creates the story topic when missing (one partition, kept as long as the window),
    /// reads the window's part of the log from a thread of its own, and returns the
    /// keeper; the thread stops with `shutdown`.
    pub async fn start(
        config: &RunConfig,
        health: &Health,
        shutdown: CancellationToken,
    ) -> Result<Self, RunError> {
        let topic = config.story_topic.clone();
        let window_ms = config.story.window_secs.saturating_mul(1000);
        let retention = window_ms.to_string();
        let log_config = RunConfig {
            topic_partitions: 1,
            ..config.clone()
        };
        ensure_topics(
            &log_config,
            std::slice::from_ref(&topic),
            true,
            &[("cleanup.policy", "delete"), ("retention.ms", &retention)],
        )
        .await?;
        let partitions = partition_count(config, &topic).await?;
        if partitions != 1 {
            return Err(RunError::Settings(ConfigError::Invalid(format!(
                "story_topic {topic} has {partitions} partitions: the story log is one, so \
                 that every replica reads the articles in one order"
            ))));
        }
        let producer: FutureProducer<ProducerContext> = client_config(
            config,
            Client::Producer,
            &[
                ("enable.idempotence", "true".into()),
                ("linger.ms", "2".into()),
            ],
        )
        .create_with_context(ProducerContext {
            health: health.clone(),
        })
        .map_err(|error| RunError::client(config, Client::Producer, &error))?;
        let reader: BaseConsumer = client_config(
            config,
            Client::Consumer,
            &[
                ("group.id", format!("{}-stories", config.group_id)),
                ("enable.auto.commit", "false".into()),
                ("fetch.wait.max.ms", "10".into()),
            ],
        )
        .create()
        .map_err(|error| RunError::client(config, Client::Consumer, &error))?;
        let since = Utc::now().timestamp_millis() - i64::try_from(window_ms).unwrap_or(i64::MAX);
        assign_from(&reader, &topic, since).map_err(|source| RunError::State {
            topic: topic.clone(),
            source,
        })?;
        let incarnation = rand_incarnation();
        let decisions = Decisions::default();
        let reader_stopped = CancellationToken::new();
        let reading = Reading {
            reader,
            decider: Decider {
                index: StoryIndex::new(config.story.clone()),
                settler: Settler::new(config.story.settle_ms),
                incarnation,
                decisions: decisions.clone(),
            },
            ticks: Ticks {
                producer: producer.clone(),
                topic: topic.clone(),
                quiet: Ticks::quiet_for(config.story.settle_ms),
            },
            stopped: reader_stopped.clone(),
        };
        std::thread::Builder::new()
            .name("newsflow-stories".into())
            .spawn(move || reading.run(&shutdown))
            .map_err(RunError::Thread)?;
        Ok(Self {
            topic,
            producer,
            incarnation,
            decisions,
            reader_stopped,
            runtime: tokio::runtime::Handle::current(),
        })
    }

    /// The async runtime the keeper was started on.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    /// Article `id`'s story: its signature appended to the log, then the index's decision
    /// at its place. `None`, logged and counted, when the log cannot be written or read
    /// within [`DECISION_TIMEOUT`]; the article is then published without a story.
    pub async fn story(
        &self,
        id: &str,
        time: DateTime<Utc>,
        signature: Signature,
    ) -> Option<Story> {
        let entry = Entry {
            id: id.to_owned(),
            time,
            incarnation: self.incarnation,
            signature,
        };
        let value = entry.encode();
        let record = FutureRecord::to(&self.topic)
            .partition(0)
            .key(id)
            .payload(&value);
        let decided = tokio::time::timeout(DECISION_TIMEOUT, async {
            let delivered = self
                .producer
                .send(record, rdkafka::util::Timeout::After(DECISION_TIMEOUT))
                .await
                .map_err(|(error, _)| error.to_string())?;
            self.decision(delivered.offset).await
        })
        .await
        .unwrap_or_else(|_| Err("timed out".into()));
        match decided {
            Ok(story) => {
                StoryAssigned { story: &story }.emit();
                Some(story)
            }
            Err(error) => {
                StoryUnassigned {
                    article_id: id,
                    error: &error,
                }
                .emit();
                None
            }
        }
    }

    async fn decision(&self, offset: i64) -> Result<Story, String> {
        let stopped = || "the story log reader stopped".to_owned();
        let waiting = match self.decisions.wait(offset) {
            Ok(story) => return Ok(story),
            Err(waiting) => waiting,
        };
        tokio::select! {
            story = waiting => story.map_err(|_| stopped()),
            () = self.reader_stopped.cancelled() => Err(stopped()),
        }
    }
}

/// This replica's entries of the log, by offset: decided before their article asked, or
/// with their article waiting.
#[derive(Clone, Default)]
struct Decisions(Arc<Mutex<HashMap<i64, Decision>>>);

enum Decision {
    Taken(Story),
    Awaited(oneshot::Sender<Story>),
}

impl Decisions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Decision>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The decision on the entry at `offset`, or where it will come.
    fn wait(&self, offset: i64) -> Result<Story, oneshot::Receiver<Story>> {
        let mut decisions = self.lock();
        if let Some(Decision::Taken(story)) = decisions.remove(&offset) {
            return Ok(story);
        }
        let (sender, receiver) = oneshot::channel();
        decisions.insert(offset, Decision::Awaited(sender));
        Err(receiver)
    }

    fn decided(&self, offset: i64, story: Story) {
        let mut decisions = self.lock();
        match decisions.remove(&offset) {
            Some(Decision::Awaited(sender)) => {
                // Its article gave up waiting (timed out) when the send fails.
                let _ = sender.send(story);
            }
            _ => {
                decisions.insert(offset, Decision::Taken(story));
            }
        }
    }
}

/// The thread that reads the log into the index.
struct Reading {
    reader: BaseConsumer,
    decider: Decider,
    ticks: Ticks,
    stopped: CancellationToken,
}

/// The index, the order it decides in, and where its decisions on this replica's entries
/// go.
struct Decider {
    index: StoryIndex,
    settler: Settler,
    incarnation: u64,
    decisions: Decisions,
}

/// Ticks for the log's time to move on while this replica's entries wait and nothing is
/// appended.
struct Ticks {
    producer: FutureProducer<ProducerContext>,
    topic: String,
    /// How long the log stays quiet before a tick.
    quiet: Duration,
}

impl Reading {
    fn run(mut self, shutdown: &CancellationToken) {
        let (mut measured, mut heard) = (Instant::now(), Instant::now());
        while !shutdown.is_cancelled() {
            if measured.elapsed() >= Duration::from_secs(1) {
                let sizes = self.decider.index.sizes();
                StoriesMeasured { sizes }.emit();
                measured = Instant::now();
            }
            match self.reader.poll(self.ticks.poll()) {
                Some(Ok(message)) => {
                    let written_ms = message
                        .timestamp()
                        .to_millis()
                        .unwrap_or_else(|| Utc::now().timestamp_millis());
                    let value = message.payload().unwrap_or_default();
                    self.decider.read(message.offset(), value, written_ms);
                    heard = Instant::now();
                }
                Some(Err(error)) => report_client_error(&error, Some("reading the story log")),
                None => {}
            }
            if heard.elapsed() >= self.ticks.quiet
                && self.decider.settler.waits_for(self.decider.incarnation)
            {
                self.ticks.send();
                heard = Instant::now();
            }
        }
        self.stopped.cancel();
    }
}

impl Ticks {
    /// How long the log may stay quiet while entries wait: a fifth of the settling time,
    /// so an entry is decided soon after it is due, between 10 and 100 ms (a tick is one
    /// byte; nothing waits without settling).
    fn quiet_for(settle_ms: u64) -> Duration {
        match settle_ms {
            0 => Duration::ZERO,
            ms => Duration::from_millis((ms / 5).clamp(10, 100)),
        }
    }

    /// How long a poll of the log may wait: as long as the log may stay quiet (at most
    /// 100 ms, as [`Ticks::quiet_for`] makes it), or 100 ms when nothing settles.
    fn poll(&self) -> Duration {
        match self.quiet {
            Duration::ZERO => Duration::from_millis(100),
            quiet => quiet,
        }
    }

    fn send(&self) {
        let record = FutureRecord::<(), [u8]>::to(&self.topic)
            .partition(0)
            .payload(&TICK);
        // Not awaited: the tick is read back like any record, or the next one is sent.
        if let Err((error, _)) = self.producer.send_result(record) {
            report_client_error(&error, Some("ticking the story log"));
        }
    }
}

impl Decider {
    fn read(&mut self, offset: i64, value: &[u8], written_ms: i64) {
        let entry = match Record::decode(value) {
            Ok(Record::Entry(entry)) => Some(entry),
            Ok(Record::Tick) => None,
            Err(error) => {
                tracing::warn!(offset, error = %error, "Story log record left out.");
                return;
            }
        };
        for (offset, entry) in self.settler.read(offset, entry, written_ms) {
            let story = self.index.assign(&entry.id, &entry.signature, entry.time);
            if entry.incarnation == self.incarnation {
                self.decisions.decided(offset, story);
            }
        }
    }
}

/// Assigns the log's partition from the first record at or after `since_ms` (its end when
/// none is).
fn assign_from(
    reader: &BaseConsumer,
    topic: &str,
    since_ms: i64,
) -> Result<(), rdkafka::error::KafkaError> {
    let mut wanted = TopicPartitionList::new();
    wanted.add_partition_offset(topic, 0, Offset::Offset(since_ms.max(0)))?;
    let found = reader.offsets_for_times(wanted, METADATA_TIMEOUT)?;
    let offset = found
        .find_partition(topic, 0)
        .map_or(Offset::Beginning, |element| match element.offset() {
            Offset::Offset(offset) => Offset::Offset(offset),
            _ => Offset::End,
        });
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, 0, offset)?;
    reader.assign(&assignment)
}

/// A number telling this run of this replica from every other.
fn rand_incarnation() -> u64 {
    let now = Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
    crate::hash::mix(now ^ (u64::from(std::process::id()) << 32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn story(id: &str) -> Story {
        let time = DateTime::from_timestamp(1_719_824_400, 0).expect("a time");
        StoryIndex::new(Default::default()).assign(id, &Signature::of(""), time)
    }

    #[test]
    fn a_decision_reaches_its_article_whether_it_comes_before_or_after_the_asking() {
        let decisions = Decisions::default();
        decisions.decided(3, story("early"));
        assert_eq!(decisions.wait(3).unwrap().duplicate_of, None);
        let mut waiting = decisions.wait(4).unwrap_err();
        assert!(waiting.try_recv().is_err(), "nothing decided yet");
        decisions.decided(4, story("late"));
        assert_eq!(waiting.try_recv().unwrap(), story("late"));
        assert!(decisions.lock().is_empty(), "nothing is left behind");
    }

    #[test]
    fn ticks_come_sooner_than_the_settling_time_and_never_without_it() {
        assert_eq!(Ticks::quiet_for(0), Duration::ZERO);
        assert_eq!(Ticks::quiet_for(250), Duration::from_millis(50));
        assert_eq!(Ticks::quiet_for(20), Duration::from_millis(10));
        assert_eq!(Ticks::quiet_for(60_000), Duration::from_millis(100));
    }
}
