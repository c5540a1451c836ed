//! How output records are wrapped for their consumers, per output (the `[envelope]`
//! table): framed for a schema registry (a zero byte and the id of the record's schema, as
//! Confluent's serializers write), and as CloudEvents in binary mode (`ce_*` headers,
//! the record's value the event's data).
//!
//! Schemas are registered at start-up for the output and events topics, and for a route's
//! topic when the route names one without placeholders; a templated route's topic is
//! registered the first time a copy goes there (on a worker thread, which may wait for the
//! registry). Dead letters keep the original record as it came, and tombstones stay
//! without value or envelope.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;

use super::headers::OutHeader;
use super::produce::Outgoing;
use crate::aggregate::AggregatedEvent;
use crate::config::{ConfigError, OutputFormat};
use crate::record::{EnrichedArticle, EventRecord, Kill};
use crate::registry::{OutputSchema, RegistryClient, RegistryConfig, RegistryError};
use crate::route::RouteSpec;
use crate::telemetry::events::RegistryFailed;

/// The `[envelope]` table of the config file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnvelopeConfig {
    /// The CloudEvents `source` of the records written as CloudEvents (a URI reference).
    pub cloudevents_source: String,
    /// The output topic and the routes' topics.
    pub enriched: OutputEnvelope,
    /// The events topic.
    pub events: OutputEnvelope,
    /// The aggregated events topic (`newsflow aggregate`).
    pub aggregated: OutputEnvelope,
}

impl Default for EnvelopeConfig {
    fn default() -> Self {
        Self {
            cloudevents_source: "newsflow".into(),
            enriched: OutputEnvelope::default(),
            events: OutputEnvelope::default(),
            aggregated: OutputEnvelope::default(),
        }
    }
}

/// How one output's records are wrapped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputEnvelope {
    /// Framed for the schema registry of the `[registry]` table.
    pub registry: bool,
    /// CloudEvents in binary mode.
    pub cloudevents: bool,
}

impl EnvelopeConfig {
    /// Settings that fit together with the registry's and the routes' own envelopes.
    pub fn validate(
        &self,
        registry: &RegistryConfig,
        routes: &[RouteSpec],
    ) -> Result<(), ConfigError> {
        let invalid = |problem: String| Err(ConfigError::Invalid(format!("envelope: {problem}")));
        let outputs = [
            ("enriched", self.enriched),
            ("events", self.events),
            ("aggregated", self.aggregated),
        ];
        let routes = routes.iter().enumerate().filter_map(|(index, route)| {
            let envelope = route.envelope?;
            Some((format!("routes[{index}].envelope"), envelope))
        });
        let all = outputs
            .into_iter()
            .map(|(name, envelope)| (name.to_owned(), envelope))
            .chain(routes);
        for (output, envelope) in all {
            if envelope.registry && !registry.enabled() {
                return invalid(format!(
                    "{output}.registry is set, but no schema registry is configured \
                     (give [registry] a url)"
                ));
            }
        }
        let source = self.cloudevents_source.trim();
        if source.is_empty() || source.chars().any(char::is_whitespace) {
            return invalid("cloudevents_source must be a URI reference, without spaces".into());
        }
        Ok(())
    }

    /// How the copies of `route` are wrapped.
    fn of_route(&self, route: &RouteSpec) -> OutputEnvelope {
        route.envelope.unwrap_or(self.enriched)
    }
}

/// The CloudEvents types of newsflow's records.
pub mod cloudevent_type {
    pub const ARTICLE_ENRICHED: &str = "newsflow.article.enriched.v1";
    pub const ARTICLE_NINJS: &str = "newsflow.article.ninjs.v1";
    pub const EVENT: &str = "newsflow.event.v1";
    pub const ARTICLE_KILLED: &str = "newsflow.article.killed.v1";
    pub const EVENT_AGGREGATED: &str = "newsflow.event.aggregated.v1";
}

/// The envelopes of a run's outputs, with the schema ids they need.
pub struct Envelopes {
    source: String,
    enriched: OutputEnvelope,
    events: OutputEnvelope,
    aggregated: OutputEnvelope,
    format: OutputFormat,
    framer: Option<Framer>,
}

/// The schema ids records are framed with.
struct Framer {
    client: RegistryClient,
    runtime: Handle,
    /// By topic and schema: those of start-up, then the templated routes' topics met since.
    ids: RwLock<HashMap<(String, OutputSchema), u32>>,
    /// When registering for a templated route's topic last failed: its copies are left out
    /// without asking again for a while, so that workers do not wait on every copy.
    failed: Mutex<HashMap<(String, OutputSchema), Instant>>,
}

/// How often, and after how long, a templated route's topic is registered again when the
/// registry could not be reached, before its copy is left out.
const LAZY_ATTEMPTS: u32 = 3;
const LAZY_FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// How long a templated route's topic whose registration failed is left alone.
const LAZY_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Start-up registration: how often a registry that cannot be reached is tried.
const START_ATTEMPTS: u32 = 5;
const START_FIRST_BACKOFF: Duration = Duration::from_secs(1);

impl Envelopes {
    /// The envelopes `config` asks for, for the output topic, `routes` and `events_topic`
    /// (none when empty). With a registry, the schemas of the outputs it frames are
    /// registered first: the output topic's, the events topic's, and those of the routes'
    /// topics without placeholders.
    pub async fn start(
        config: &EnvelopeConfig,
        registry: &RegistryConfig,
        format: OutputFormat,
        (output_topic, routes, events_topic): (&str, &[RouteSpec], &str),
    ) -> Result<Self, RegistryError> {
        let envelopes = Self::unframed(config, format);
        let article_schema = OutputSchema::of_articles(format);
        let mut wanted = Vec::new();
        if config.enriched.registry {
            wanted.push((output_topic, article_schema));
        }
        wanted.extend(
            routes
                .iter()
                .filter(|route| config.of_route(route).registry && !route.topic.contains('{'))
                .map(|route| (route.topic.as_str(), article_schema)),
        );
        if config.events.registry && !events_topic.is_empty() {
            wanted.push((events_topic, OutputSchema::Event));
        }
        let templated_framed = routes
            .iter()
            .any(|route| config.of_route(route).registry && route.topic.contains('{'));
        if wanted.is_empty() && !templated_framed {
            return Ok(envelopes);
        }
        envelopes.registering(registry, wanted).await
    }

    /// The envelope `config` asks for the aggregated events on `topic`, its schema
    /// registered first when they are framed.
    pub async fn start_aggregated(
        config: &EnvelopeConfig,
        registry: &RegistryConfig,
        topic: &str,
    ) -> Result<Self, RegistryError> {
        let envelopes = Self::unframed(config, OutputFormat::Json);
        if !config.aggregated.registry {
            return Ok(envelopes);
        }
        let wanted = vec![(topic, OutputSchema::EventAggregate)];
        envelopes.registering(registry, wanted).await
    }

    fn unframed(config: &EnvelopeConfig, format: OutputFormat) -> Self {
        Self {
            source: config.cloudevents_source.trim().to_owned(),
            enriched: config.enriched,
            events: config.events,
            aggregated: config.aggregated,
            format,
            framer: None,
        }
    }

    /// These envelopes with the schemas `wanted` registered, for their records' framing.
    async fn registering(
        mut self,
        registry: &RegistryConfig,
        wanted: Vec<(&str, OutputSchema)>,
    ) -> Result<Self, RegistryError> {
        let framer = Framer {
            client: RegistryClient::new(registry)?,
            runtime: Handle::current(),
            ids: RwLock::default(),
            failed: Mutex::default(),
        };
        for (topic, schema) in wanted {
            framer
                .register(topic, schema, START_ATTEMPTS, START_FIRST_BACKOFF)
                .await?;
        }
        self.framer = Some(framer);
        Ok(self)
    }

    /// An article on the output topic, or on a route's with the route's own envelope when
    /// it has one: `None` when its topic's schema could not be registered (a templated
    /// route's topic; the error is logged and counted).
    pub fn article(
        &self,
        out: Outgoing,
        article: &EnrichedArticle,
        route: Option<OutputEnvelope>,
    ) -> Option<Outgoing> {
        let envelope = route.unwrap_or(self.enriched);
        let mut out = self.framed(out, envelope, OutputSchema::of_articles(self.format))?;
        if envelope.cloudevents {
            let kind = match self.format {
                OutputFormat::Json => cloudevent_type::ARTICLE_ENRICHED,
                OutputFormat::Ninjs | OutputFormat::NinjsExtended => cloudevent_type::ARTICLE_NINJS,
            };
            let id = match article.version().version {
                Some(version) => format!("{}@{version}", article.id),
                None => article.id.clone(),
            };
            out.add_headers(self.cloudevent(kind, id, &article.id));
        }
        Some(out)
    }

    /// An event on the events topic.
    pub fn event(&self, out: Outgoing, event: &EventRecord) -> Option<Outgoing> {
        let mut out = self.framed(out, self.events, OutputSchema::Event)?;
        if self.events.cloudevents {
            let fingerprint = &event.event.fingerprint;
            let id = format!("{fingerprint}/{}", event.article_id);
            out.add_headers(self.cloudevent(cloudevent_type::EVENT, id, fingerprint));
        }
        Some(out)
    }

    /// A kill marker on the events topic.
    pub fn kill_marker(&self, out: Outgoing, kill: &Kill) -> Option<Outgoing> {
        let mut out = self.framed(out, self.events, OutputSchema::Event)?;
        if self.events.cloudevents {
            let id = format!("killed/{}", kill.id);
            out.add_headers(self.cloudevent(cloudevent_type::ARTICLE_KILLED, id, &kill.id));
        }
        Some(out)
    }

    /// An aggregated event on the aggregated events topic, whose schema was registered at
    /// start-up when it is framed. Its CloudEvents id changes with each telling counted.
    pub fn aggregated(&self, out: Outgoing, event: &AggregatedEvent) -> Option<Outgoing> {
        let mut out = self.framed(out, self.aggregated, OutputSchema::EventAggregate)?;
        if self.aggregated.cloudevents {
            let id = format!("{}/{}", event.id, event.num_mentions);
            let kind = cloudevent_type::EVENT_AGGREGATED;
            out.add_headers(self.cloudevent(kind, id, &event.id));
        }
        Some(out)
    }

    fn framed(
        &self,
        out: Outgoing,
        envelope: OutputEnvelope,
        schema: OutputSchema,
    ) -> Option<Outgoing> {
        let framer = match &self.framer {
            Some(framer) if envelope.registry => framer,
            _ => return Some(out),
        };
        let id = framer.id(out.topic(), schema)?;
        Some(out.framed(id))
    }

    /// The binary-mode attributes besides `content-type`, which every JSON output has.
    fn cloudevent(&self, kind: &'static str, id: String, subject: &str) -> Vec<OutHeader> {
        let time = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        [
            ("ce_specversion", "1.0".to_owned()),
            ("ce_id", id),
            ("ce_source", self.source.clone()),
            ("ce_type", kind.to_owned()),
            ("ce_time", time),
            ("ce_subject", subject.to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| (Cow::Borrowed(name), Some(value.into_bytes())))
        .collect()
    }
}

impl Framer {
    /// The id of `schema` for `topic`, registered now if it was not at start-up. Waits
    /// for the registry: call it off the async runtime (from a worker thread).
    fn id(&self, topic: &str, schema: OutputSchema) -> Option<u32> {
        let key = (topic.to_owned(), schema);
        if let Some(id) = self.ids.read().expect("ids lock").get(&key) {
            return Some(*id);
        }
        let mut failed = self.failed.lock().expect("failed lock");
        if failed
            .get(&key)
            .is_some_and(|when| when.elapsed() < LAZY_RETRY_AFTER)
        {
            return None;
        }
        // Held while registering: the other workers wait for this one's answer.
        let registered =
            self.runtime
                .block_on(self.register(topic, schema, LAZY_ATTEMPTS, LAZY_FIRST_BACKOFF));
        match registered {
            Ok(id) => {
                failed.remove(&key);
                Some(id)
            }
            Err(_) => {
                failed.insert(key, Instant::now());
                None
            }
        }
    }

    /// Registers `schema` for `topic`, trying a registry that cannot be reached up to
    /// `attempts` times.
    async fn register(
        &self,
        topic: &str,
        schema: OutputSchema,
        attempts: u32,
        first_backoff: Duration,
    ) -> Result<u32, RegistryError> {
        let mut backoff = first_backoff;
        let mut attempt = 1;
        loop {
            match self.client.register_value(topic, schema.text()).await {
                Ok(id) => {
                    let key = (topic.to_owned(), schema);
                    self.ids.write().expect("ids lock").insert(key, id);
                    return Ok(id);
                }
                Err(error) => {
                    RegistryFailed {
                        request: &format!("registering the schema of {topic}"),
                        error: &error,
                    }
                    .emit();
                    if !error.is_transient() || attempt >= attempts {
                        return Err(error);
                    }
                }
            }
            tokio::time::sleep(backoff).await;
            backoff *= 2;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests;
