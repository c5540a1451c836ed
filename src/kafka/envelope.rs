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
}

impl Default for EnvelopeConfig {
    fn default() -> Self {
        Self {
            cloudevents_source: "newsflow".into(),
            enriched: OutputEnvelope::default(),
            events: OutputEnvelope::default(),
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
        let outputs = [("enriched", self.enriched), ("events", self.events)];
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
}

/// The envelopes of a run's outputs, with the schema ids they need.
pub struct Envelopes {
    source: String,
    enriched: OutputEnvelope,
    events: OutputEnvelope,
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
        let mut envelopes = Self {
            source: config.cloudevents_source.trim().to_owned(),
            enriched: config.enriched,
            events: config.events,
            format,
            framer: None,
        };
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
        envelopes.framer = Some(framer);
        Ok(envelopes)
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
mod tests {
    use rdkafka::message::{Headers, OwnedMessage};
    use rdkafka::Timestamp;

    use super::*;
    use crate::record::{InputFormat, PubStatus};
    use crate::stage::reference::for_tests;
    use crate::stage::{Enrichment, Pipeline};

    fn article() -> EnrichedArticle {
        let record = serde_json::json!({
            "id": "a1",
            "version": 3,
            "published_at": "2024-07-01T00:00:00Z",
            "body": "Israeli troops arrested more than 100 Palestinians on Saturday.",
        });
        Pipeline::standard(for_tests().clone())
            .enrich(record.to_string().as_bytes(), usize::MAX)
            .ok()
            .and_then(Enrichment::into_article)
            .expect("enriched")
    }

    fn published(topic: &str, article: &EnrichedArticle) -> Outgoing {
        let original = OwnedMessage::new(
            None,
            None,
            "news.raw".into(),
            Timestamp::NotAvailable,
            0,
            0,
            None,
        );
        Outgoing::published(topic, article, OutputFormat::Json, original, Vec::new())
    }

    fn header<'a>(
        record: &'a rdkafka::producer::FutureRecord<'a, [u8], [u8]>,
        name: &str,
    ) -> Option<String> {
        let headers = record.headers.as_ref()?;
        let found = headers.iter().find(|h| h.key == name)?;
        Some(String::from_utf8(found.value?.to_vec()).unwrap())
    }

    fn envelopes(enriched: OutputEnvelope, events: OutputEnvelope) -> Envelopes {
        Envelopes {
            source: "urn:newsflow:test".into(),
            enriched,
            events,
            format: OutputFormat::Json,
            framer: None,
        }
    }

    const CLOUDEVENTS: OutputEnvelope = OutputEnvelope {
        registry: false,
        cloudevents: true,
    };

    #[test]
    fn framing_needs_a_registry_and_a_source_needs_no_spaces() {
        let mut config = EnvelopeConfig::default();
        config.events.registry = true;
        let error = config
            .validate(&RegistryConfig::default(), &[])
            .unwrap_err();
        assert!(
            error.to_string().contains("envelope: events.registry"),
            "{error}"
        );
        let registry = RegistryConfig {
            url: "http://127.0.0.1:8081".into(),
            ..RegistryConfig::default()
        };
        config.validate(&registry, &[]).unwrap();
        config.cloudevents_source = "news flow".into();
        assert!(config.validate(&registry, &[]).is_err());
    }

    #[test]
    fn cloudevents_attributes_name_each_records_kind_and_identity() {
        let article = article();
        let envelopes = envelopes(CLOUDEVENTS, CLOUDEVENTS);
        let out = envelopes
            .article(published("news.enriched", &article), &article, None)
            .unwrap();
        let record = out.record();
        assert_eq!(header(&record, "ce_specversion").as_deref(), Some("1.0"));
        assert_eq!(
            header(&record, "ce_type").as_deref(),
            Some(cloudevent_type::ARTICLE_ENRICHED)
        );
        assert_eq!(header(&record, "ce_id").as_deref(), Some("a1@3"));
        assert_eq!(header(&record, "ce_subject").as_deref(), Some("a1"));
        assert_eq!(
            header(&record, "ce_source").as_deref(),
            Some("urn:newsflow:test")
        );
        assert_eq!(
            header(&record, "content-type").as_deref(),
            Some("application/json")
        );
        let time = header(&record, "ce_time").unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(&time).is_ok(),
            "{time}"
        );

        let event = &EventRecord::all_of(&article)[0];
        let out = Outgoing::event("news.events", event, Vec::new());
        let out = envelopes.event(out, event).unwrap();
        let record = out.record();
        let fingerprint = &event.event.fingerprint;
        assert_eq!(
            header(&record, "ce_type").as_deref(),
            Some(cloudevent_type::EVENT)
        );
        assert_eq!(header(&record, "ce_id"), Some(format!("{fingerprint}/a1")));

        let kill = Kill {
            id: "a1".into(),
            status: PubStatus::Canceled,
            format: InputFormat::RawArticle,
        };
        let out = Outgoing::kill_marker("news.events", &kill, Vec::new());
        let record_out = envelopes.kill_marker(out, &kill).unwrap();
        let record = record_out.record();
        assert_eq!(
            header(&record, "ce_type").as_deref(),
            Some(cloudevent_type::ARTICLE_KILLED)
        );
        assert_eq!(header(&record, "ce_id").as_deref(), Some("killed/a1"));
    }

    #[test]
    fn a_route_may_wrap_its_copies_its_own_way_and_framing_them_needs_a_registry() {
        let article = article();
        let plain = envelopes(OutputEnvelope::default(), OutputEnvelope::default());
        let copy = published("news.desk", &article);
        let copy = plain.article(copy, &article, Some(CLOUDEVENTS)).unwrap();
        assert_eq!(
            header(&copy.record(), "ce_type").as_deref(),
            Some(cloudevent_type::ARTICLE_ENRICHED)
        );
        let main = plain
            .article(published("news.enriched", &article), &article, None)
            .unwrap();
        assert!(header(&main.record(), "ce_type").is_none());

        let route: RouteSpec =
            toml::from_str("topic = \"news.desk\"\nenvelope = { registry = true }").unwrap();
        let error = EnvelopeConfig::default()
            .validate(&RegistryConfig::default(), &[route])
            .unwrap_err();
        assert!(
            error.to_string().contains("routes[0].envelope.registry"),
            "{error}"
        );
    }

    #[test]
    fn without_envelopes_records_stay_as_they_are() {
        let article = article();
        let out = published("news.enriched", &article);
        let plain = out.record().payload.map(<[u8]>::to_vec);
        let none = envelopes(OutputEnvelope::default(), OutputEnvelope::default());
        let out = none.article(out, &article, None).unwrap();
        assert_eq!(out.record().payload.map(<[u8]>::to_vec), plain);
        assert!(header(&out.record(), "ce_type").is_none());
    }

    #[test]
    fn records_are_framed_with_their_topics_id_and_a_failed_registration_is_not_retried_at_once() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        // Nothing listens on port 9: registering for an unknown topic fails.
        let registry = RegistryConfig {
            url: "http://127.0.0.1:9".into(),
            timeout_ms: 200,
            ..RegistryConfig::default()
        };
        let framer = Framer {
            client: RegistryClient::new(&registry).unwrap(),
            runtime: runtime.handle().clone(),
            ids: RwLock::new(HashMap::from([(
                ("news.enriched".to_owned(), OutputSchema::Enriched),
                42,
            )])),
            failed: Mutex::default(),
        };
        let mut envelopes = envelopes(
            OutputEnvelope {
                registry: true,
                cloudevents: false,
            },
            OutputEnvelope::default(),
        );
        envelopes.framer = Some(framer);
        let article = article();
        let out = published("news.enriched", &article);
        let plain = out.record().payload.unwrap().to_vec();
        let framed = envelopes.article(out, &article, None).unwrap();
        let payload = framed.record().payload.unwrap().to_vec();
        assert_eq!(payload[..5], [0, 0, 0, 0, 42]);
        assert_eq!(payload[5..], plain[..]);

        let copy = published("news.desk.fr", &article);
        assert!(envelopes.article(copy, &article, None).is_none());
        let started = Instant::now();
        let copy = published("news.desk.fr", &article);
        assert!(envelopes.article(copy, &article, None).is_none());
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "asked the registry again"
        );
    }
}
