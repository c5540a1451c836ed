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
        aggregated: CLOUDEVENTS,
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
    assert_cloudevent(&record, cloudevent_type::ARTICLE_ENRICHED, "a1@3", "a1");
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

    // An aggregated event: a new id for each telling counted, the event's id as subject.
    let config = crate::aggregate::AggregateConfig::default();
    let mut aggregated =
        crate::aggregate::AggregatedEvent::new("e1".into(), event, Utc::now(), &config);
    aggregated.num_mentions = 7;
    let out = Outgoing::aggregated("news.events.aggregated", &aggregated);
    let out = envelopes.aggregated(out, &aggregated).unwrap();
    let record = out.record();
    assert_cloudevent(&record, cloudevent_type::EVENT_AGGREGATED, "e1/7", "e1");
    assert_eq!(
        header(&record, "content-type").as_deref(),
        Some("application/json")
    );
}

/// The record's CloudEvents type, id and subject.
fn assert_cloudevent(
    record: &rdkafka::producer::FutureRecord<'_, [u8], [u8]>,
    kind: &str,
    id: &str,
    subject: &str,
) {
    assert_eq!(header(record, "ce_type").as_deref(), Some(kind));
    assert_eq!(header(record, "ce_id").as_deref(), Some(id));
    assert_eq!(header(record, "ce_subject").as_deref(), Some(subject));
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
