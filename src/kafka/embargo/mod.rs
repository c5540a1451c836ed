//! The embargo releaser: publishes embargoed articles when their time comes.
//!
//! The pipeline sends an article whose `embargoed` time is still to come to the embargo
//! topic (key = article id, the time in the `newsflow.embargoed.until` header and the
//! `embargoed` field), events and all. The releaser, a second consumer inside `newsflow
//! run` (group `<group_id>.embargo`, `read_committed` under exactly-once), reads that topic,
//! holds the records in memory in release order ([`held::Held`]) and, at each one's time,
//! produces it to the output topic and its events to the events topic, then commits the
//! embargo topic's offsets up to the lowest record it still holds per partition. A restart
//! reads again whatever was not released, so nothing is lost; a record released just before
//! a crash is released again, which the output topic, keyed by article id, absorbs.
//!
//! The releaser produces without transactions under either guarantee: its outputs are at
//! least once, and `read_committed` readers see them as soon as they are stored. A kill,
//! or a newer version published at once, sends a tombstone for the article to the embargo
//! topic as well; the releaser drops what it holds of that article. At most `max_embargoed_held` records are held: when full, the
//! releaser pauses the topic and reads on from where it stopped once one is released.

mod held;

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use self::held::{Held, HeldRecord};
use super::context::{report_client_error, ProducerContext, ReleaserContext};
use super::job::Publication;
use super::produce::{Origin, Outgoing, Producer};
use super::{consumer_config, producer_config, Client, RunError};
use crate::config::RunConfig;
use crate::record::{DeadLetter, DeadLetterReason, EnrichedArticle};
use crate::telemetry::events::{ArticleReleased, DeadLettered, EmbargoDropped, EmbargoesHeld};
use crate::telemetry::Health;

/// How long the releaser sleeps when it holds nothing (a record read wakes it sooner).
const IDLE: Duration = Duration::from_secs(60);

/// How long a seek back to the first record left unread may take.
const SEEK_TIMEOUT: Duration = Duration::from_secs(5);

/// The releaser's consumer group: the pipeline's, suffixed.
pub fn group_id(config: &RunConfig) -> String {
    format!("{}.embargo", config.group_id)
}

/// Releases embargoed articles until `shutdown` fires, then commits what it released.
pub async fn release(
    config: RunConfig,
    publication: Publication,
    health: Health,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let mut consumer_properties = consumer_config(&config);
    consumer_properties.set("group.id", group_id(&config));
    consumer_properties.remove("statistics.interval.ms");
    let context = ReleaserContext {
        health: health.clone(),
        revoked: Default::default(),
    };
    let consumer: StreamConsumer<ReleaserContext> = consumer_properties
        .create_with_context(context)
        .map_err(|error| RunError::client(&config, Client::Consumer, &error))?;
    let mut producer_properties = producer_config(&config);
    // Released records are keyed by article id, so producing one twice is harmless.
    producer_properties.remove("transactional.id");
    let producer = producer_properties
        .create_with_context(ProducerContext {
            health: health.clone(),
        })
        .map_err(|error| RunError::client(&config, Client::Producer, &error))?;
    let producer = Producer::new(producer, &config, health);
    consumer
        .subscribe(&[&config.embargo_topic])
        .map_err(|source| RunError::Subscribe {
            topic: config.embargo_topic.clone(),
            source,
        })?;
    info!(
        embargo_topic = %config.embargo_topic,
        group_id = %group_id(&config),
        "Embargo releaser started."
    );
    let mut releaser = Releaser {
        config: &config,
        publication,
        consumer: &consumer,
        producer,
        held: Held::new(config.max_embargoed_held),
        paused: false,
    };
    releaser.run(shutdown).await;
    info!(held = releaser.held.len(), "Embargo releaser stopped.");
    Ok(())
}

struct Releaser<'a> {
    config: &'a RunConfig,
    /// Where a released article goes, as if it had been published when read.
    publication: Publication,
    consumer: &'a StreamConsumer<ReleaserContext>,
    producer: Producer,
    held: Held,
    paused: bool,
}

impl Releaser<'_> {
    async fn run(&mut self, shutdown: CancellationToken) {
        let consumer = self.consumer;
        let mut stream = consumer.stream();
        let mut commit_timer =
            tokio::time::interval(Duration::from_millis(self.config.commit_interval_ms));
        loop {
            let wait = self.held.next_due_ms().map_or(IDLE, |due_ms| {
                let now_ms = Utc::now().timestamp_millis();
                Duration::from_millis(due_ms.saturating_sub(now_ms).max(0) as u64)
            });
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(wait) => self.release_due().await,
                _ = commit_timer.tick() => self.commit(CommitMode::Async),
                message = stream.next() => match message {
                    Some(Ok(message)) => self.read(message.detach()).await,
                    Some(Err(error)) => report_client_error(&error, None),
                    None => break,
                },
            }
            self.drop_revoked();
            self.pause_or_resume();
        }
        self.commit(CommitMode::Sync);
    }

    /// Forgets the partitions revoked since the last look. A record a poll brings is from
    /// the assignment as it is after that poll's rebalance, so this comes before reading it.
    fn drop_revoked(&mut self) {
        let revoked = self.consumer.context().take_revoked();
        if !revoked.is_empty() {
            self.held.drop_partitions(&revoked);
        }
    }

    /// Holds an embargoed record, or drops what is held of a killed article.
    async fn read(&mut self, message: OwnedMessage) {
        self.drop_revoked();
        let (partition, offset) = (message.partition(), message.offset());
        if self.held.was_read(partition, offset) {
            return;
        }
        if self.held.is_full() {
            self.held.leave_unread(partition, offset);
            return;
        }
        let id = message
            .key()
            .and_then(|key| std::str::from_utf8(key).ok())
            .map(str::to_owned);
        match (id, message.payload()) {
            (Some(id), None) => {
                if self.held.cancel(partition, offset, &id) {
                    EmbargoDropped {
                        article_id: &id,
                        held: self.held.len(),
                    }
                    .emit();
                }
            }
            (Some(id), Some(value)) => match release_time(value) {
                Ok(until) => {
                    let article_id = id.clone();
                    self.held.hold(HeldRecord {
                        id,
                        until,
                        message,
                        partition,
                        offset,
                    });
                    EmbargoesHeld {
                        article_id: &article_id,
                        until,
                        held: self.held.len(),
                    }
                    .emit();
                }
                Err(problem) => self.dead_letter(message, &problem).await,
            },
            (None, _) => self.dead_letter(message, "no article id as key").await,
        }
    }

    /// Publishes every record whose time has come, each with its events, and commits.
    async fn release_due(&mut self) {
        let due = self.held.take_due(Utc::now().timestamp_millis());
        if due.is_empty() {
            return;
        }
        let mut deliveries = Vec::with_capacity(due.len());
        for record in due {
            let origin = Origin::of(&record.message);
            let sends = self.producer.enqueue(self.outputs(&record).await).await;
            deliveries.push(self.producer.clone().deliver(origin, sends, record));
        }
        for (_, record) in futures::future::join_all(deliveries).await {
            self.held.released(record.partition, record.offset);
            ArticleReleased {
                article_id: &record.id,
                until: record.until,
                held: self.held.len(),
            }
            .emit();
        }
        self.commit(CommitMode::Async);
    }

    /// The released article and its events, as the pipeline would have produced them.
    async fn outputs(&self, record: &HeldRecord) -> Vec<Outgoing> {
        let publication = self.publication.clone();
        let message = record.message.clone();
        // Route topics and schema ids may be looked up over the network: off the runtime.
        let outputs = tokio::task::spawn_blocking(move || {
            let value = message.payload().unwrap_or_default();
            // Read when it was held, so it reads again.
            let article = serde_json::from_slice::<EnrichedArticle>(value).ok()?;
            Some(publication.outputs(&article, message))
        });
        outputs.await.ok().flatten().unwrap_or_default()
    }

    /// A record on the embargo topic that is no embargoed article goes to the dead letters.
    async fn dead_letter(&mut self, message: OwnedMessage, problem: &str) {
        let origin = Origin::of(&message);
        self.held.skip(origin.partition, origin.offset);
        let letter = DeadLetter::new(
            DeadLetterReason::SchemaViolation,
            format!("not an embargoed article: {problem}"),
            origin.dead_letter_source(),
            message.payload().unwrap_or_default(),
        );
        DeadLettered { letter: &letter }.emit();
        let out = Outgoing::dead_letter(&self.config.dlq_topic, &letter, &message);
        let sends = self.producer.enqueue(vec![out]).await;
        self.producer.clone().deliver(origin, sends, ()).await;
    }

    /// Stops reading while the hold is full; reads on from where it stopped once it is not
    /// (a seek, since records fetched meanwhile were left unread).
    fn pause_or_resume(&mut self) {
        if self.held.is_full() == self.paused {
            return;
        }
        let Ok(assignment) = self.consumer.assignment() else {
            return;
        };
        if self.paused {
            if let Err(error) = self.consumer.resume(&assignment) {
                report_client_error(&error, Some("resuming the embargo topic"));
                return;
            }
            let topic = &self.config.embargo_topic;
            for (partition, next) in self.held.resume_points() {
                let at = Offset::Offset(next);
                if let Err(error) = self.consumer.seek(topic, partition, at, SEEK_TIMEOUT) {
                    warn!(%error, partition, "Cannot seek the embargo topic; the partition's records may wait for a restart.");
                }
            }
        } else if let Err(error) = self.consumer.pause(&assignment) {
            report_client_error(&error, Some("pausing the embargo topic"));
            return;
        }
        self.paused = !self.paused;
    }

    fn commit(&self, mode: CommitMode) {
        let offsets = self.held.committable();
        if offsets.is_empty() {
            return;
        }
        let mut list = TopicPartitionList::new();
        for (partition, offset) in offsets {
            // Offsets come from the broker, so they are valid.
            let _ = list.add_partition_offset(
                &self.config.embargo_topic,
                partition,
                Offset::Offset(offset),
            );
        }
        if let Err(error) = self.consumer.commit(&list, mode) {
            report_client_error(&error, Some("committing the embargo topic"));
        }
    }
}

/// When a record on the embargo topic may be published: its `embargoed` field (the header
/// says the same, for readers that do not parse the value).
fn release_time(value: &[u8]) -> Result<DateTime<chrono::FixedOffset>, String> {
    let article: EnrichedArticle =
        serde_json::from_slice(value).map_err(|error| error.to_string())?;
    article
        .embargoed
        .ok_or_else(|| format!("no `{}` time", crate::record::EMBARGO_FIELD))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_release_time_is_the_records_embargo() {
        let article = EnrichedArticle {
            id: "a".into(),
            embargoed: Some(DateTime::parse_from_rfc3339("2030-01-01T00:00:00+02:00").unwrap()),
            ..EnrichedArticle::default()
        };
        let bytes = serde_json::to_vec(&article).unwrap();
        assert_eq!(release_time(&bytes), Ok(article.embargoed.unwrap()));
        let without = serde_json::to_vec(&EnrichedArticle::default()).unwrap();
        assert!(release_time(&without).unwrap_err().contains("embargoed"));
        assert!(release_time(b"{").is_err());
    }
}
