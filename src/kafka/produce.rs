//! Producing a record's outputs and waiting until the broker has them.
//!
//! Outputs are enqueued in consumption order (librdkafka keeps that order per partition);
//! a failed delivery is retried with backoff until it succeeds, never skipped, because the
//! input offset must not be committed past an output that is not stored. An output the
//! broker refuses for good (too large) is replaced by a dead letter of the original record.
//! An event record is small and also inside its enriched article, so one the broker refuses
//! for good is logged and left out rather than blocking the partition; so is a kill marker,
//! whose tombstone says the same, and a kill's tombstone on the embargo topic. A tombstone
//! is produced with no value at all. An embargoed article goes to the embargo topic as an
//! enriched record does to the output topic, its time in a header as well.

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use tracing::error;

use super::context::ProducerContext;
use super::headers::{self, OutHeader};
use crate::aggregate::AggregatedEvent;
use crate::config::{OutputFormat, RunConfig};
use chrono::{DateTime, FixedOffset};

use crate::record::{
    header, to_ninjs, to_ninjs_with_extensions, DeadLetter, DeadLetterReason, DeadLetterSource,
    EnrichedArticle, EventRecord, Kill, KillMarker,
};
use crate::registry;
use crate::telemetry::events::{DeadLettered, OutputTopicMissing, ProduceFailed, RecordProduced};
use crate::telemetry::Health;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Where an input record came from, carried along with its outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The record's Kafka timestamp, in milliseconds since the epoch.
    pub published_ms: Option<i64>,
}

impl Origin {
    pub fn of(message: &OwnedMessage) -> Self {
        Self {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            published_ms: message.timestamp().to_millis(),
        }
    }

    pub fn dead_letter_source(&self) -> DeadLetterSource {
        DeadLetterSource::Kafka {
            topic: self.topic.clone(),
            partition: self.partition,
            offset: self.offset,
        }
    }
}

/// One record to produce.
#[derive(Debug)]
pub struct Outgoing {
    topic: String,
    key: Option<Vec<u8>>,
    /// `None` for a tombstone.
    value: Option<Vec<u8>>,
    headers: Vec<OutHeader>,
    kind: OutgoingKind,
}

#[derive(Debug)]
enum OutgoingKind {
    /// With the input record, should the enriched record become a dead letter.
    Enriched {
        original: OwnedMessage,
    },
    Event,
    Routed,
    DeadLetter,
}

impl Outgoing {
    /// The enriched article of `original`, keyed by its id, with the input's `carried`
    /// headers.
    pub fn enriched(
        topic: &str,
        article: &EnrichedArticle,
        original: OwnedMessage,
        carried: Vec<OutHeader>,
    ) -> Self {
        Self::published(topic, article, OutputFormat::Json, original, carried)
    }

    /// The enriched article of `original` in `format`, keyed by its id, with the input's
    /// `carried` headers.
    pub fn published(
        topic: &str,
        article: &EnrichedArticle,
        format: OutputFormat,
        original: OwnedMessage,
        carried: Vec<OutHeader>,
    ) -> Self {
        Self {
            topic: topic.to_owned(),
            key: Some(article.id.as_bytes().to_vec()),
            value: Some(formatted(article, format)),
            headers: headers::json_output(carried),
            kind: OutgoingKind::Enriched { original },
        }
    }

    /// A route's copy of this enriched record on `topic`: the same key, value and headers,
    /// serialised once. The article is on the output topic already, so a copy the broker
    /// refuses for good is logged and left out.
    pub fn copy_to(&self, topic: &str) -> Self {
        Self {
            topic: topic.to_owned(),
            key: self.key.clone(),
            value: self.value.clone(),
            headers: self.headers.clone(),
            kind: OutgoingKind::Routed,
        }
    }

    /// The topic it goes to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// This record with its value framed for the schema registry's schema `schema_id`.
    pub fn framed(mut self, schema_id: u32) -> Self {
        if let Some(value) = &self.value {
            self.value = Some(registry::frame(schema_id, value));
        }
        self
    }

    /// Adds `more` after the headers it has.
    pub fn add_headers(&mut self, more: Vec<OutHeader>) {
        self.headers.extend(more);
    }

    /// One event with its article's id, keyed by the event fingerprint, with the input's
    /// `trace` context.
    pub fn event(topic: &str, event: &EventRecord, trace: Vec<OutHeader>) -> Self {
        Self {
            topic: topic.to_owned(),
            key: Some(event.event.fingerprint.as_bytes().to_vec()),
            value: Some(serde_json::to_vec(event).expect("event records serialise")),
            headers: headers::json_output(trace),
            kind: OutgoingKind::Event,
        }
    }

    /// One event across articles, keyed by its id (`newsflow aggregate`).
    pub fn aggregated(topic: &str, event: &AggregatedEvent) -> Self {
        Self {
            topic: topic.to_owned(),
            key: Some(event.id.as_bytes().to_vec()),
            value: Some(serde_json::to_vec(event).expect("aggregated events serialise")),
            headers: headers::json_output(Vec::new()),
            kind: OutgoingKind::Event,
        }
    }

    /// A tombstone for the killed article's enriched record: its id as key, no value. Like
    /// an enriched record, it becomes a dead letter of `original` should the broker refuse it.
    pub fn tombstone(topic: &str, kill: &Kill, original: OwnedMessage) -> Self {
        Self {
            topic: topic.to_owned(),
            key: Some(kill.id.as_bytes().to_vec()),
            value: None,
            headers: headers::trace_context(&original),
            kind: OutgoingKind::Enriched { original },
        }
    }

    /// An article under an embargo still to come, for the releaser to publish at `until`;
    /// like an enriched record, a dead letter of `original` should the broker refuse it.
    pub fn embargoed(
        topic: &str,
        article: &EnrichedArticle,
        until: DateTime<FixedOffset>,
        original: OwnedMessage,
        carried: Vec<OutHeader>,
    ) -> Self {
        let mut held = Self::enriched(topic, article, original, carried);
        let until = until.to_rfc3339().into_bytes();
        held.headers
            .push((header::EMBARGOED_UNTIL.into(), Some(until)));
        held
    }

    /// A tombstone keyed by the article id on the embargo topic, after a kill or a newer
    /// version: the releaser drops what it holds of the article instead of publishing it.
    pub fn embargo_tombstone(topic: &str, article_id: &str) -> Self {
        Self {
            topic: topic.to_owned(),
            key: Some(article_id.as_bytes().to_vec()),
            value: None,
            headers: Vec::new(),
            kind: OutgoingKind::Event,
        }
    }

    /// The kill marker for the killed article's events, keyed by the article id.
    pub fn kill_marker(topic: &str, kill: &Kill, trace: Vec<OutHeader>) -> Self {
        Self {
            topic: topic.to_owned(),
            key: Some(kill.id.as_bytes().to_vec()),
            value: Some(serde_json::to_vec(&KillMarker::of(kill)).expect("kill markers serialise")),
            headers: headers::json_output(trace),
            kind: OutgoingKind::Event,
        }
    }

    /// The original record, unchanged, with the reason in headers.
    pub fn dead_letter(topic: &str, letter: &DeadLetter, original: &OwnedMessage) -> Self {
        Self {
            topic: topic.to_owned(),
            key: original.key().map(<[u8]>::to_vec),
            value: Some(original.payload().unwrap_or_default().to_vec()),
            headers: headers::dead_letter(original, letter.headers()),
            kind: OutgoingKind::DeadLetter,
        }
    }

    pub(super) fn record(&self) -> FutureRecord<'_, [u8], [u8]> {
        let mut headers = OwnedHeaders::new_with_capacity(self.headers.len());
        for (key, value) in &self.headers {
            headers = headers.insert(Header {
                key,
                value: value.as_deref(),
            });
        }
        let mut record = FutureRecord::to(&self.topic).headers(headers);
        if let Some(value) = &self.value {
            record = record.payload(&value[..]);
        }
        match &self.key {
            Some(key) => record.key(&key[..]),
            None => record,
        }
    }
}

/// `article` as `format` writes it.
fn formatted(article: &EnrichedArticle, format: OutputFormat) -> Vec<u8> {
    let serialised = match format {
        OutputFormat::Json => serde_json::to_vec(article),
        OutputFormat::Ninjs => serde_json::to_vec(&to_ninjs(article)),
        OutputFormat::NinjsExtended => serde_json::to_vec(&to_ninjs_with_extensions(article)),
    };
    serialised.expect("enriched articles serialise")
}

/// A produce call that either went into librdkafka's queue or failed at once.
pub enum Pending {
    Queued(DeliveryFuture),
    Refused(KafkaError),
}

impl Pending {
    async fn outcome(self) -> Result<(), KafkaError> {
        match self {
            Self::Refused(error) => Err(error),
            Self::Queued(future) => match future.await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err((error, _))) => Err(error),
                Err(_) => Err(KafkaError::Canceled),
            },
        }
    }
}

#[derive(Clone)]
pub struct Producer {
    inner: FutureProducer<ProducerContext>,
    dlq_topic: String,
    health: Health,
}

impl Producer {
    pub fn new(inner: FutureProducer<ProducerContext>, config: &RunConfig, health: Health) -> Self {
        Self {
            inner,
            dlq_topic: config.dlq_topic.clone(),
            health,
        }
    }

    pub fn inner(&self) -> &FutureProducer<ProducerContext> {
        &self.inner
    }

    /// Hands one record to librdkafka without waiting for its delivery; an output
    /// librdkafka refuses as too large is replaced as [`Producer::deliver`] does. Returns
    /// the topic written and the delivery to come, or `None` when nothing replaces a
    /// refused output.
    pub async fn enqueue_transactional(
        &self,
        origin: &Origin,
        mut out: Outgoing,
    ) -> Result<Option<(String, DeliveryFuture)>, KafkaError> {
        loop {
            match self.send(&out).await {
                Pending::Queued(delivery) => return Ok(Some((out.topic, delivery))),
                Pending::Refused(error) if refused_for_good(&error).is_some() => {
                    match self.fallback(origin, out, &error) {
                        Some(replacement) => out = replacement,
                        None => return Ok(None),
                    }
                }
                Pending::Refused(error) => return Err(error),
            }
        }
    }

    /// Hands one record to librdkafka, waiting while its queue is full.
    async fn send(&self, out: &Outgoing) -> Pending {
        loop {
            match self.inner.send_result(out.record()) {
                Ok(future) => return Pending::Queued(future),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((error, _)) => return Pending::Refused(error),
            }
        }
    }

    /// Enqueues a record's outputs in order.
    pub async fn enqueue(&self, outputs: Vec<Outgoing>) -> Vec<(Outgoing, Pending)> {
        let mut sends = Vec::with_capacity(outputs.len());
        for out in outputs {
            let pending = self.send(&out).await;
            sends.push((out, pending));
        }
        sends
    }

    /// Resolves when every output of the record from `origin` is stored by the broker,
    /// handing `held` (what the caller holds until then) back.
    pub async fn deliver<T>(
        self,
        origin: Origin,
        sends: Vec<(Outgoing, Pending)>,
        held: T,
    ) -> (Origin, T) {
        for (mut out, pending) in sends {
            let mut outcome = pending.outcome().await;
            let mut backoff = FIRST_BACKOFF;
            let mut attempt = 1;
            loop {
                match outcome {
                    Ok(()) => {
                        self.note_topic_missing(&out.topic, false);
                        RecordProduced { topic: &out.topic }.emit();
                        break;
                    }
                    Err(error) if refused_for_good(&error).is_some() => {
                        match self.fallback(&origin, out, &error) {
                            Some(replacement) => out = replacement,
                            None => break,
                        }
                    }
                    Err(error) => {
                        self.note_topic_missing(&out.topic, is_unknown_topic(&error));
                        ProduceFailed {
                            topic: &out.topic,
                            error: &error.to_string(),
                            attempt,
                            retry_in: backoff,
                        }
                        .emit();
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        attempt += 1;
                    }
                }
                outcome = self.send(&out).await.outcome().await;
            }
        }
        (origin, held)
    }

    /// Tells health and telemetry whether `topic` is missing, when that changed.
    fn note_topic_missing(&self, topic: &str, missing: bool) {
        if self.health.set_topic_missing(topic, missing) {
            OutputTopicMissing { topic, missing }.emit();
        }
    }

    /// What to produce instead of an output the broker will never take: the original
    /// record as a dead letter, or a dead letter's headers without its value.
    fn fallback(&self, origin: &Origin, out: Outgoing, error: &KafkaError) -> Option<Outgoing> {
        let reason = refused_for_good(error).unwrap_or(DeadLetterReason::ProduceRefused);
        if let OutgoingKind::Enriched { original } = out.kind {
            let letter = DeadLetter::new(
                reason,
                format!("the enriched record was refused by the broker: {error}"),
                origin.dead_letter_source(),
                &[],
            );
            DeadLettered { letter: &letter }.emit();
            return Some(Outgoing::dead_letter(&self.dlq_topic, &letter, &original));
        }
        if matches!(out.kind, OutgoingKind::DeadLetter)
            && reason == DeadLetterReason::TooLarge
            && out.value.as_ref().is_some_and(|value| !value.is_empty())
        {
            let mut headers = out.headers;
            headers.push((header::VALUE_DROPPED.into(), Some(b"true".to_vec())));
            return Some(Outgoing {
                value: Some(Vec::new()),
                headers,
                ..out
            });
        }
        error!(
            topic = %out.topic,
            source_topic = %origin.topic,
            source_partition = origin.partition,
            source_offset = origin.offset,
            %error,
            "The broker refused the record for good; it is left out (a dead letter's original stays in the input topic, an event in its enriched article, a route's copy beside it on the output topic, a kill marker or embargo tombstone beside the output tombstone)."
        );
        None
    }
}

/// Whether a delivery failed because the cluster does not know the topic (deleted while
/// running, or never created on a cluster without auto-creation).
fn is_unknown_topic(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic)
    )
}

/// The dead-letter reason for an error that retrying cannot fix; `None` for errors worth
/// retrying (a broker away, a leader moving, a timeout): those are retried for as long as
/// they last, since the input offset must not pass an output that is not stored.
fn refused_for_good(error: &KafkaError) -> Option<DeadLetterReason> {
    use RDKafkaErrorCode as Code;
    match error.rdkafka_error_code()? {
        Code::MessageSizeTooLarge | Code::MessageBatchTooLarge => Some(DeadLetterReason::TooLarge),
        Code::TopicAuthorizationFailed
        | Code::ClusterAuthorizationFailed
        | Code::InvalidRecord
        | Code::InvalidMessage
        | Code::InvalidTopic
        | Code::PolicyViolation
        | Code::UnsupportedForMessageFormat => Some(DeadLetterReason::ProduceRefused),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery_error(code: RDKafkaErrorCode) -> KafkaError {
        KafkaError::MessageProduction(code)
    }

    #[test]
    fn a_missing_topic_is_told_from_other_delivery_errors() {
        assert!(is_unknown_topic(&delivery_error(
            RDKafkaErrorCode::UnknownTopicOrPartition
        )));
        assert!(is_unknown_topic(&delivery_error(
            RDKafkaErrorCode::UnknownTopic
        )));
        assert!(!is_unknown_topic(&delivery_error(
            RDKafkaErrorCode::MessageTimedOut
        )));
    }

    #[test]
    fn only_errors_retrying_cannot_fix_become_dead_letters() {
        assert_eq!(
            refused_for_good(&delivery_error(RDKafkaErrorCode::MessageSizeTooLarge)),
            Some(DeadLetterReason::TooLarge)
        );
        assert_eq!(
            refused_for_good(&delivery_error(RDKafkaErrorCode::TopicAuthorizationFailed)),
            Some(DeadLetterReason::ProduceRefused)
        );
        for transient in [
            RDKafkaErrorCode::AllBrokersDown,
            RDKafkaErrorCode::RequestTimedOut,
            RDKafkaErrorCode::MessageTimedOut,
            RDKafkaErrorCode::NotLeaderForPartition,
            RDKafkaErrorCode::UnknownTopicOrPartition,
        ] {
            assert_eq!(
                refused_for_good(&delivery_error(transient)),
                None,
                "{transient:?}"
            );
        }
    }
}
