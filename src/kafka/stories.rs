//! Stories in `newsflow run`, the same on every replica: each enriched article's signature
//! is appended to the story log (one partition of `story_topic`), and every replica reads
//! the whole log into its own [`StoryIndex`], in log order. An article's story is the
//! decision its replica's index takes at the article's place in the log, which every
//! replica's index takes alike. The log is the shared state: a replica (re)started reads
//! the window's part of it back, with no local disk.
//!
//! Consistency: the log orders all articles, whichever replica enriched them. Of two copies
//! enriched at the same moment on two replicas, the one whose signature the broker appends
//! first founds the story and the other joins it, on both replicas. An article enriched
//! again (a redelivery, a restart) is appended again and keeps its story (the index gives
//! a kept article's story back to the same id).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::check::{ensure_topics, partition_count};
use super::context::{report_client_error, ProducerContext};
use super::{client_config, Client, RunError};
use crate::config::{ConfigError, RunConfig};
use crate::story::log::Entry;
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
    /// Decisions on this replica's entries, by log offset, until taken.
    decisions: Arc<Mutex<HashMap<i64, Story>>>,
    /// The log offset the index has read up to (exclusive), or -1 once it has failed.
    read_up_to: watch::Receiver<i64>,
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
        let decisions = Arc::new(Mutex::new(HashMap::new()));
        let (progress, read_up_to) = watch::channel(0);
        let reading = Reading {
            reader,
            decider: Decider {
                index: StoryIndex::new(config.story.clone()),
                incarnation,
                decisions: Arc::clone(&decisions),
            },
            progress,
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
            read_up_to,
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
        let mut read_up_to = self.read_up_to.clone();
        loop {
            if let Some(story) = self.take(offset) {
                return Ok(story);
            }
            if *read_up_to.borrow_and_update() < 0 {
                return Err("the story log reader stopped".into());
            }
            read_up_to
                .changed()
                .await
                .map_err(|_| "the story log reader stopped".to_owned())?;
        }
    }

    fn take(&self, offset: i64) -> Option<Story> {
        self.decisions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&offset)
    }
}

/// The thread that reads the log into the index.
struct Reading {
    reader: BaseConsumer,
    decider: Decider,
    progress: watch::Sender<i64>,
}

/// The index, and where its decisions on this replica's entries go.
struct Decider {
    index: StoryIndex,
    incarnation: u64,
    decisions: Arc<Mutex<HashMap<i64, Story>>>,
}

impl Reading {
    fn run(mut self, shutdown: &CancellationToken) {
        let mut measured = Instant::now();
        while !shutdown.is_cancelled() {
            if measured.elapsed() >= Duration::from_secs(1) {
                let sizes = self.decider.index.sizes();
                StoriesMeasured { sizes }.emit();
                measured = Instant::now();
            }
            match self.reader.poll(Duration::from_millis(100)) {
                Some(Ok(message)) => {
                    let offset = message.offset();
                    self.decider
                        .read(offset, message.payload().unwrap_or_default());
                    self.progress.send_replace(offset + 1);
                }
                Some(Err(error)) => report_client_error(&error, Some("reading the story log")),
                None => {}
            }
        }
        self.progress.send_replace(-1);
    }
}

impl Decider {
    fn read(&mut self, offset: i64, value: &[u8]) {
        let entry = match Entry::decode(value) {
            Ok(entry) => entry,
            Err(error) => {
                tracing::warn!(offset, error = %error, "Story log record left out.");
                return;
            }
        };
        let story = self.index.assign(&entry.id, &entry.signature, entry.time);
        if entry.incarnation == self.incarnation {
            self.decisions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(offset, story);
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
