//! Where `newsflow ingest` writes: feed items as raw articles to the input topic (key = item
//! id, so that an item's versions keep their order on one partition), and the seen-item
//! state to its compacted topic, both in one Kafka transaction per poll. Either both are
//! stored or neither: an ingest killed in the middle of a poll leaves an open transaction
//! that the next one, with the same transactional id, aborts; the items are then sent again,
//! once, because the state says they never were.
//!
//! At start the state is read back from its topic (`read_committed`, after the fencing, so
//! nothing of an aborted poll counts) into [`SeenItems`].

use std::time::{Duration, Instant};

use rdkafka::consumer::BaseConsumer;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};

use super::check::ensure_topics;
use super::compacted::read_to_end;
use super::context::ProducerContext;
use super::exactly_once::calls::blocking;
use super::{client_config, Client, RunError};
use crate::config::RunConfig;
use crate::ingest::seen::{Outgoing, SeenItems};
use crate::telemetry::feed_events::SeenStateLoaded;
use crate::telemetry::Health;

/// Transaction calls get this long before they count as failed.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(30);

/// Reading the state back fails when the topic's metadata or a record takes longer.
const STATE_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a poll's items were not stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The transaction was aborted; the items count as not sent and go again next poll.
    #[error("storing the items failed, transaction aborted: {0}")]
    Aborted(KafkaError),
    /// Nothing more can be written with this producer (fenced by a newer ingest, or a
    /// fatal error): the ingest stops.
    #[error(transparent)]
    Fatal(RunError),
}

pub struct FeedSink {
    producer: FutureProducer<ProducerContext>,
    input_topic: String,
    state_topic: String,
    transactional_id: String,
}

impl FeedSink {
    /// Checks the topics (the input topic as `create_topics` says, the state topic always
    /// created when missing, compacted), fences any earlier ingest with the same
    /// transactional id, and reads the state back.
    pub async fn start(config: &RunConfig, health: Health) -> Result<(Self, SeenItems), RunError> {
        let ingest = &config.ingest;
        ensure_topics(
            config,
            std::slice::from_ref(&config.input_topic),
            config.create_topics,
            &[],
        )
        .await?;
        ensure_topics(
            config,
            std::slice::from_ref(&ingest.state_topic),
            true,
            &[("cleanup.policy", "compact")],
        )
        .await?;
        let producer: FutureProducer<ProducerContext> = client_config(
            config,
            Client::Producer,
            &[
                ("enable.idempotence", "true".into()),
                ("transactional.id", ingest.transactional_id.clone()),
                ("compression.type", "lz4".into()),
                ("statistics.interval.ms", "5000".into()),
            ],
        )
        .create_with_context(ProducerContext { health })
        .map_err(|error| RunError::client(config, Client::Producer, &error))?;
        let sink = Self {
            producer,
            input_topic: config.input_topic.clone(),
            state_topic: ingest.state_topic.clone(),
            transactional_id: ingest.transactional_id.clone(),
        };
        let fencing = sink.producer.clone();
        blocking(move || fencing.init_transactions(TRANSACTION_TIMEOUT))
            .await
            .map_err(|error| sink.fatal(error))?;
        let started = Instant::now();
        let state_config = client_config(
            config,
            Client::Consumer,
            &[
                ("group.id", format!("{}-state", ingest.transactional_id)),
                ("enable.auto.commit", "false".into()),
                ("enable.partition.eof", "true".into()),
                ("isolation.level", "read_committed".into()),
            ],
        );
        let topic = ingest.state_topic.clone();
        let seen = tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = state_config.create()?;
            read_state(&consumer, &topic)
        })
        .await
        .expect("reading the state does not panic")
        .map_err(|source| RunError::State {
            topic: ingest.state_topic.clone(),
            source,
        })?;
        SeenStateLoaded {
            topic: &ingest.state_topic,
            items: seen.len(),
            seconds: started.elapsed().as_secs_f64(),
        }
        .emit();
        Ok((sink, seen))
    }

    /// Stores `items` and their state entries in one transaction.
    pub async fn store(&self, items: &[Outgoing]) -> Result<(), StoreError> {
        if items.is_empty() {
            return Ok(());
        }
        let producer = self.producer.clone();
        blocking(move || producer.begin_transaction())
            .await
            .map_err(|error| self.failed(error))?;
        let mut deliveries = Vec::with_capacity(items.len() * 2);
        for item in items {
            let record = item.record.to_string();
            let entry = serde_json::to_string(&item.entry).expect("state entries serialise");
            for (topic, value) in [(&self.input_topic, record), (&self.state_topic, entry)] {
                let sent = self
                    .producer
                    .send_result(FutureRecord::to(topic).key(&item.id).payload(&value));
                match sent {
                    Ok(delivery) => deliveries.push(delivery),
                    Err((error, _)) => return Err(self.abort(error).await),
                }
            }
        }
        for delivery in deliveries {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((error, _))) => return Err(self.abort(error).await),
                Err(_) => return Err(self.abort(KafkaError::Canceled).await),
            }
        }
        let producer = self.producer.clone();
        match blocking(move || producer.commit_transaction(TRANSACTION_TIMEOUT)).await {
            Ok(()) => Ok(()),
            Err(error) => Err(self.abort(error).await),
        }
    }

    /// Aborts the open transaction after `error`; fatal when that is impossible too.
    async fn abort(&self, error: KafkaError) -> StoreError {
        if let StoreError::Fatal(fatal) = self.failed(error.clone()) {
            return StoreError::Fatal(fatal);
        }
        let producer = self.producer.clone();
        match blocking(move || producer.abort_transaction(TRANSACTION_TIMEOUT)).await {
            Ok(()) => StoreError::Aborted(error),
            Err(abort) => self.failed(abort),
        }
    }

    fn failed(&self, error: KafkaError) -> StoreError {
        match &error {
            KafkaError::Transaction(inner) if inner.txn_requires_abort() => {
                StoreError::Aborted(error)
            }
            KafkaError::Transaction(inner) if inner.is_fatal() => {
                StoreError::Fatal(self.fatal(error))
            }
            _ => StoreError::Aborted(error),
        }
    }

    fn fatal(&self, error: KafkaError) -> RunError {
        match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::Fenced | RDKafkaErrorCode::ProducerFenced) => RunError::Fenced {
                transactional_id: self.transactional_id.clone(),
                source: error,
            },
            _ => RunError::Transaction(error),
        }
    }
}

/// Reads `topic` from its start to its end into the seen-item state.
fn read_state(consumer: &BaseConsumer, topic: &str) -> Result<SeenItems, KafkaError> {
    let mut seen = SeenItems::default();
    read_to_end(consumer, topic, None, STATE_READ_TIMEOUT, |id, value| {
        seen.load(id, value)
    })?;
    Ok(seen)
}
