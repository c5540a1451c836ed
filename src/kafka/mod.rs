//! `newsflow run`: the stages between Kafka topics.
//!
//! Two delivery guarantees:
//! - at-least-once (`at_least_once`): records are processed in a stream; an input offset
//!   is committed only when every output of its record is stored by the broker, and the
//!   commit never passes a record still in flight ([`offsets::OffsetTracker`]).
//! - exactly-once (`exactly_once`): records are processed in batches, each batch's outputs
//!   and input offsets committed in one Kafka transaction; `read_committed` readers see each
//!   output once.
//!
//! Both hold an article under an embargo still to come on the embargo topic, which the
//! releaser (`embargo`) reads and publishes from at each article's time; both leave out an
//! article older than a version of it seen before (`crate::stage::LatestVersions`).
//!
//! [`replay`] re-submits dead letters (`newsflow replay-dlq`).
//!
//! Before anything runs, [`check_run_clients`] (and [`check_replay_clients`]) let librdkafka
//! check every property by creating the clients offline (`check`).

mod aggregate;
mod at_least_once;
mod budget;
mod check;
mod compacted;
mod context;
mod embargo;
mod envelope;
mod exactly_once;
mod feed_sink;
mod headers;
mod input_schemas;
mod job;
mod offsets;
mod produce;
mod replay;
mod route_topics;
mod stories;

use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::config::{ConfigError, Guarantee, RunConfig};
use crate::route::Router;
use crate::stage::{LatestVersions, Pipeline};
use crate::telemetry::Health;
pub use aggregate::aggregate;
pub use check::check_run_clients;
use check::{check_clients, client_error, ensure_output_topics};
use context::{PipelineContext, ProducerContext};
use envelope::Envelopes;
pub use envelope::{cloudevent_type, EnvelopeConfig, OutputEnvelope};
pub use feed_sink::{FeedSink, StoreError};
pub use headers::HeaderPolicy;
use input_schemas::InputSchemas;
use job::{Jobs, Publication};
pub use offsets::{OffsetTracker, SharedTracker};
use produce::Producer;
pub use replay::{check_replay_clients, replay, ReplayOptions, ReplaySummary, REPLAYED_FROM};
use route_topics::RouteTopics;
use stories::StoryKeeper;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot create the Kafka {role}: {source}")]
    Client {
        role: &'static str,
        source: ConfigError,
    },
    #[error("cannot subscribe to {topic}: {source}")]
    Subscribe { topic: String, source: KafkaError },
    #[error("cannot start a thread: {0}")]
    Thread(std::io::Error),
    #[error("cannot start the worker threads: {0}")]
    Workers(#[from] rayon::ThreadPoolBuildError),
    #[error("transaction failed beyond recovery: {0}")]
    Transaction(KafkaError),
    /// The broker fenced this producer: a newer one with the same transactional id took
    /// over (this one is a zombie), or its transaction outlived `transaction.timeout.ms` and
    /// was aborted. Nothing more may be committed with it.
    #[error(
        "fenced: transactional id {transactional_id} was taken over by a newer producer (or \
         its transaction timed out); stopping without committing: {source}"
    )]
    Fenced {
        transactional_id: String,
        source: KafkaError,
    },
    #[error("cannot read the state kept in {topic} back: {source}")]
    State { topic: String, source: KafkaError },
    #[error("cannot read the metadata of topic {topic}: {source}")]
    Metadata { topic: String, source: KafkaError },
    #[error("replaying dead letters failed: {0}")]
    Replay(KafkaError),
    #[error("{0}")]
    Settings(ConfigError),
    #[error("output topics missing on the cluster: {0}; create them, or set create_topics")]
    MissingTopics(String),
    #[error("cannot create topic {topic}: {reason}")]
    CreateTopic { topic: String, reason: String },
    #[error("cannot store aggregated events: {0}")]
    Aggregate(KafkaError),
    #[error("cannot register the outputs' schemas: {0}")]
    Registry(#[from] crate::registry::RegistryError),
}

impl RunError {
    /// Whether the settings are at fault (exit code 2), not the run.
    pub fn is_configuration(&self) -> bool {
        match self {
            Self::MissingTopics(_) | Self::Settings(_) => true,
            Self::Registry(error) => !error.is_transient(),
            _ => false,
        }
    }

    fn client(config: &RunConfig, client: Client, error: &KafkaError) -> Self {
        Self::Client {
            role: client.name(),
            source: client_error(config, client, error),
        }
    }
}

/// The value of a record's header `name`, as text.
pub fn header_value(message: &impl rdkafka::message::Message, name: &str) -> Option<String> {
    use rdkafka::message::Headers;
    message
        .headers()
        .and_then(|headers| headers.iter().find(|h| h.key == name))
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Which client a configuration is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    Consumer,
    Producer,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Self::Consumer => "consumer",
            Self::Producer => "producer",
        }
    }

    /// The prefix of a user property meant for this client alone
    /// (`consumer.fetch.wait.max.ms`); unprefixed properties go to both clients.
    fn prefix(self) -> &'static str {
        match self {
            Self::Consumer => "consumer.",
            Self::Producer => "producer.",
        }
    }
}

/// Properties newsflow sets itself; the user's librdkafka properties override them, and a
/// property given to this client alone overrides the same one given to both. A property
/// for the other client only is left out, so that librdkafka does not warn about it.
fn client_config(config: &RunConfig, client: Client, own: &[(&str, String)]) -> ClientConfig {
    let other = match client {
        Client::Consumer => Client::Producer,
        Client::Producer => Client::Consumer,
    };
    let mut properties = ClientConfig::new();
    properties.set("bootstrap.servers", &config.brokers);
    for (key, value) in own {
        properties.set(*key, value);
    }
    let shared = config
        .kafka
        .iter()
        .filter(|(key, _)| !key.starts_with(client.prefix()) && !key.starts_with(other.prefix()))
        .map(|(key, value)| (key.as_str(), value));
    let own_only = config
        .kafka
        .iter()
        .filter_map(|(key, value)| Some((key.strip_prefix(client.prefix())?, value)));
    for (key, value) in shared.chain(own_only) {
        properties.set(key, value);
    }
    properties
}

fn consumer_config(config: &RunConfig) -> ClientConfig {
    let isolation = match config.guarantee {
        Guarantee::AtLeastOnce => "read_uncommitted",
        // Input written transactionally upstream is read once, and aborted input never.
        Guarantee::ExactlyOnce => "read_committed",
    };
    client_config(
        config,
        Client::Consumer,
        &[
            ("group.id", config.group_id.clone()),
            // Offsets are committed by newsflow at the delivered watermark, never by a timer.
            ("enable.auto.commit", "false".into()),
            ("enable.auto.offset.store", "false".into()),
            ("auto.offset.reset", "earliest".into()),
            ("isolation.level", isolation.into()),
            ("statistics.interval.ms", "5000".into()),
            // librdkafka prefetches up to 64 MB by default, which a replica that falls
            // behind fills: resident memory then jumps by that much. newsflow bounds its own
            // work in flight; 16 MB of prefetch is still seconds of input at full speed.
            ("queued.max.messages.kbytes", "16384".into()),
            // Once that prefetch is full, librdkafka waits this long before fetching again
            // (1 s by default): at full speed the 16 MB drain in under a second, and a
            // replica behind its input sat idle for 150-300 ms of every second.
            ("fetch.queue.backoff.ms", "100".into()),
        ],
    )
}

fn producer_config(config: &RunConfig) -> ClientConfig {
    let mut own = vec![
        // Idempotence keeps per-partition order through librdkafka's own retries.
        ("enable.idempotence", "true".to_owned()),
        // A short linger keeps latency low: through Apache Kafka with the trained models,
        // 5 ms gave p50 18 ms and p99 48 ms at 500 articles/s offered, against 39 and 75 ms
        // at 30 ms, and saturation did not fall (1,669 against 1,362 articles/s): the
        // stages, not the broker's requests, bound it. `-X producer.linger.ms=30` gives
        // fuller batches when the broker's request rate matters more.
        ("linger.ms", "5".into()),
        ("compression.type", "lz4".into()),
        ("statistics.interval.ms", "5000".into()),
    ];
    if config.guarantee == Guarantee::ExactlyOnce {
        own.push(("transactional.id", config.transactional_id()));
    }
    client_config(config, Client::Producer, &own)
}

/// The producer of a run (exactly-once mode makes a new one in place of one stuck in a
/// transaction call).
fn create_producer(config: &RunConfig, health: &Health) -> Result<Producer, RunError> {
    let producer: FutureProducer<ProducerContext> = producer_config(config)
        .create_with_context(ProducerContext {
            health: health.clone(),
        })
        .map_err(|error| RunError::client(config, Client::Producer, &error))?;
    Ok(Producer::new(producer, config, health.clone()))
}

/// Consumes, enriches and produces until `shutdown` fires, then drains what is in flight
/// (within the shutdown timeout) and commits.
pub async fn run(
    config: RunConfig,
    pipeline: Arc<Pipeline>,
    health: Health,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let reference = pipeline.reference();
    let router = Router::new(
        &config.routes,
        &reference.gazetteer,
        &reference.topics,
        &config.input_topic,
    )
    .map_err(RunError::Settings)?;
    ensure_output_topics(&config).await?;
    let tracker = Arc::new(SharedTracker::default());
    let context = PipelineContext {
        tracker: Arc::clone(&tracker),
        health: health.clone(),
        revoke_drain_timeout: Duration::from_millis(config.revoke_drain_timeout_ms),
    };
    let consumer: StreamConsumer<PipelineContext> = consumer_config(&config)
        .create_with_context(context)
        .map_err(|error| RunError::client(&config, Client::Consumer, &error))?;
    let producer = create_producer(&config, &health)?;
    let outputs = (
        config.output_topic.as_str(),
        &config.routes[..],
        config.events_topic.as_str(),
    );
    let envelopes = Envelopes::start(
        &config.envelope,
        &config.registry,
        config.output_format,
        outputs,
    )
    .await?;
    let publication = Publication {
        output_topic: config.output_topic.as_str().into(),
        events_topic: config.events_topic.as_str().into(),
        min_event_confidence: config.min_event_confidence,
        router: Arc::new(router),
        route_topics: Arc::new(RouteTopics::new(producer.inner().clone())),
        headers: Arc::new(config.headers.clone()),
        format: config.output_format,
        envelopes: Arc::new(envelopes),
        pipeline: Arc::clone(&pipeline),
    };
    consumer
        .subscribe(&[&config.input_topic])
        .map_err(|source| RunError::Subscribe {
            topic: config.input_topic.clone(),
            source,
        })?;
    let workers = rayon::ThreadPoolBuilder::new()
        .num_threads(config.workers)
        .thread_name(|i| format!("newsflow-stage-{i}"))
        .build()?;
    // The story log is read until the pipeline has drained, so that articles in flight at
    // shutdown still get their stories.
    let stories_stop = CancellationToken::new();
    let _stop_stories = stories_stop.clone().drop_guard();
    let jobs = Jobs {
        pipeline,
        workers: Arc::new(workers),
        publication: publication.clone(),
        dlq_topic: config.dlq_topic.as_str().into(),
        embargo_topic: config.embargo_topic.as_str().into(),
        versions: Arc::new(LatestVersions::new(config.max_versions_tracked)),
        max_record_bytes: config.max_record_bytes,
        include_text: config.include_text,
        input_schemas: InputSchemas::new(&config.registry)?.map(Arc::new),
        stories: match config.story_topic.as_str() {
            "" => None,
            _ => Some(Arc::new(
                StoryKeeper::start(&config, &health, stories_stop.clone()).await?,
            )),
        },
    };
    info!(
        brokers = %config.brokers,
        input_topic = %config.input_topic,
        output_topic = %config.output_topic,
        events_topic = %config.events_topic,
        dlq_topic = %config.dlq_topic,
        embargo_topic = %config.embargo_topic,
        story_topic = %config.story_topic,
        group_id = %config.group_id,
        guarantee = ?config.guarantee,
        kafka = ?config.kafka_for_log(),
        "Pipeline started."
    );
    crate::telemetry::metrics().register_output_topics([
        config.output_topic.as_str(),
        config.events_topic.as_str(),
        config.dlq_topic.as_str(),
        config.embargo_topic.as_str(),
    ]);
    // The releaser stops with the pipeline, whichever way the pipeline stops; a releaser
    // that cannot run stops the pipeline, rather than leave embargoes unreleased unseen.
    let releaser_stop = shutdown.child_token();
    let releaser = tokio::spawn({
        let (config, health) = (config.clone(), health.clone());
        let (stop, shutdown) = (releaser_stop.clone(), shutdown.clone());
        let publication = publication.clone();
        async move {
            let released = embargo::release(config, publication, health, stop).await;
            if released.is_err() {
                shutdown.cancel();
            }
            released
        }
    });
    let piped = match config.guarantee {
        Guarantee::AtLeastOnce => {
            at_least_once::run(&config, &consumer, producer, jobs, tracker, shutdown).await;
            Ok(())
        }
        Guarantee::ExactlyOnce => {
            exactly_once::run(&config, &consumer, producer, &health, jobs, shutdown).await
        }
    };
    releaser_stop.cancel();
    let released = releaser.await.unwrap_or(Ok(()));
    info!("Pipeline stopped.");
    piped.and(released)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_properties_go_to_their_client_alone() {
        let mut config = RunConfig::default();
        for (key, value) in [
            ("consumer.fetch.wait.max.ms", "10"),
            ("producer.linger.ms", "50"),
            ("security.protocol", "SSL"),
        ] {
            config.kafka.insert(key.into(), value.into());
        }
        let consumer = consumer_config(&config);
        let producer = producer_config(&config);
        assert_eq!(consumer.get("fetch.wait.max.ms"), Some("10"));
        assert_eq!(producer.get("fetch.wait.max.ms"), None);
        assert_eq!(producer.get("linger.ms"), Some("50"));
        assert_eq!(consumer.get("linger.ms"), None);
        assert_eq!(consumer.get("security.protocol"), Some("SSL"));
        assert_eq!(producer.get("security.protocol"), Some("SSL"));
        assert!(consumer
            .config_map()
            .keys()
            .all(|key| !key.starts_with("consumer.")));
    }

    /// The prefixed property wins whichever sorts first: `consumer.session.timeout.ms`
    /// sorts before `session.timeout.ms` and `consumer.auto.offset.reset` after
    /// `auto.offset.reset`.
    #[test]
    fn a_property_for_one_client_overrides_the_same_for_both() {
        let config = with_properties(&[
            ("session.timeout.ms", "20000"),
            ("consumer.session.timeout.ms", "7000"),
            ("auto.offset.reset", "latest"),
            ("consumer.auto.offset.reset", "error"),
        ]);
        let consumer = consumer_config(&config);
        assert_eq!(consumer.get("session.timeout.ms"), Some("7000"));
        assert_eq!(consumer.get("auto.offset.reset"), Some("error"));
        assert_eq!(
            producer_config(&config).get("session.timeout.ms"),
            Some("20000")
        );
    }

    /// The default configuration with these librdkafka properties.
    pub(super) fn with_properties(properties: &[(&str, &str)]) -> RunConfig {
        let mut config = RunConfig::default();
        for (key, value) in properties {
            config.kafka.insert((*key).into(), (*value).into());
        }
        config
    }
}
