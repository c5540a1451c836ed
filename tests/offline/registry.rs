//! The schema registry client (src/registry/) against a registry on 127.0.0.1 that serves
//! the Confluent REST API subset newsflow uses (server.rs): registration and lookups, what
//! goes to the registry once per process, subject strategies, and failures whose messages
//! say what to fix and never show a credential; a CA file against a TLS server (tls.rs).

mod server;
mod tls;

use std::time::{Duration, Instant};

use newsflow::registry::{
    frame, unframe_json, RegistryClient, RegistryConfig, RegistryError, SchemaType, SubjectStrategy,
};
use server::{Auth, FakeRegistry};

const ARTICLE: &str =
    r#"{"title":"Article","type":"object","properties":{"id":{"type":"string"}}}"#;
const EVENT: &str = r#"{"$id":"https://newsflow.invalid/event.json","type":"object"}"#;
const PASSWORD: &str = "correct-horse-battery";
const TOKEN: &str = "token-5f0c2a9e71";

fn config(url: &str) -> RegistryConfig {
    RegistryConfig {
        url: url.to_owned(),
        ..RegistryConfig::default()
    }
}

fn client(config: &RegistryConfig) -> RegistryClient {
    RegistryClient::new(config).unwrap()
}

#[tokio::test]
async fn registers_each_schema_once_per_process() {
    let registry = FakeRegistry::start(Auth::None).await;
    let newsflow = client(&config(&registry.url));
    let article = newsflow
        .register("news.enriched-value", ARTICLE)
        .await
        .unwrap();
    assert_eq!(
        newsflow
            .register("news.enriched-value", ARTICLE)
            .await
            .unwrap(),
        article
    );
    let event = newsflow.register("news.events-value", EVENT).await.unwrap();
    assert_ne!(event, article);
    assert_eq!(
        registry.requests(),
        [
            "POST /subjects/news.enriched-value/versions",
            "POST /subjects/news.events-value/versions"
        ]
    );
    // Another process asks again, and the registry answers with the id it gave.
    let restarted = client(&config(&registry.url));
    assert_eq!(
        restarted
            .register("news.enriched-value", ARTICLE)
            .await
            .unwrap(),
        article
    );
    assert_eq!(registry.requests().len(), 3);
}

#[tokio::test]
async fn concurrent_registrations_of_one_schema_send_one_request() {
    let registry = FakeRegistry::start_slow(Auth::None, Duration::from_millis(100)).await;
    let newsflow = client(&config(&registry.url));
    let ids = futures::future::join_all(
        (0..8).map(|_| newsflow.register_value("news.enriched", ARTICLE)),
    )
    .await;
    let first = *ids[0].as_ref().unwrap();
    assert!(
        ids.iter().all(|id| *id.as_ref().unwrap() == first),
        "{ids:?}"
    );
    assert_eq!(registry.requests().len(), 1);
}

#[tokio::test]
async fn names_subjects_by_the_configured_strategy() {
    let registry = FakeRegistry::start(Auth::None).await;
    for strategy in [
        SubjectStrategy::TopicName,
        SubjectStrategy::RecordName,
        SubjectStrategy::TopicRecordName,
    ] {
        let newsflow = client(&RegistryConfig {
            subject_strategy: strategy,
            ..config(&registry.url)
        });
        newsflow
            .register_value("news.enriched", ARTICLE)
            .await
            .unwrap();
        newsflow.register_value("news.events", EVENT).await.unwrap();
    }
    assert_eq!(
        registry.requests(),
        [
            "POST /subjects/news.enriched-value/versions",
            "POST /subjects/news.events-value/versions",
            "POST /subjects/Article/versions",
            // The `$id` of a schema without a title, percent-encoded as one path segment.
            "POST /subjects/https:%2F%2Fnewsflow.invalid%2Fevent.json/versions",
            "POST /subjects/news.enriched-Article/versions",
            "POST /subjects/news.events-https:%2F%2Fnewsflow.invalid%2Fevent.json/versions",
        ]
    );
    let latest = client(&config(&registry.url))
        .latest("news.events-https://newsflow.invalid/event.json")
        .await
        .unwrap();
    assert_eq!(latest.schema.schema, EVENT);
    let untitled = client(&RegistryConfig {
        subject_strategy: SubjectStrategy::RecordName,
        ..config(&registry.url)
    })
    .register_value("news.enriched", r#"{"type":"object"}"#)
    .await
    .unwrap_err();
    assert!(
        untitled
            .to_string()
            .contains("neither a `title` nor an `$id`"),
        "{untitled}"
    );
}

#[tokio::test]
async fn looks_schemas_up_by_id_once_and_tells_their_type() {
    let registry = FakeRegistry::start(Auth::None).await;
    let avro = registry.add(
        "news.raw-value",
        "AVRO",
        r#"{"type":"record","name":"Raw","fields":[]}"#,
    );
    let newsflow = client(&config(&registry.url));
    let json = newsflow.register("news.raw-value", ARTICLE).await.unwrap();

    let schema = newsflow.schema(json).await.unwrap();
    assert_eq!(
        (schema.id, &schema.schema_type, schema.schema.as_str()),
        (json, &SchemaType::Json, ARTICLE)
    );
    assert_eq!(newsflow.schema(json).await.unwrap(), schema);
    assert_eq!(
        newsflow.schema(avro).await.unwrap().schema_type,
        SchemaType::Avro
    );
    let lookups = registry
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET"))
        .count();
    assert_eq!(lookups, 2);

    let missing = newsflow.schema(404).await.unwrap_err();
    assert!(
        matches!(missing, RegistryError::SchemaNotFound(404)),
        "{missing:?}"
    );
    assert!(!missing.is_transient());

    let latest = newsflow.latest("news.raw-value").await.unwrap();
    assert_eq!((latest.version, latest.schema.id), (2, json));
    let unknown = newsflow.latest("news.nothing-value").await.unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "the schema registry has no subject \"news.nothing-value\""
    );
}

#[tokio::test]
async fn reads_back_what_a_framed_record_names() {
    let registry = FakeRegistry::start(Auth::None).await;
    let newsflow = client(&config(&registry.url));
    let id = newsflow
        .register_value("news.enriched", ARTICLE)
        .await
        .unwrap();
    let record = frame(id, br#"{"id":"a1"}"#);
    let (read_id, payload) = unframe_json(&record).unwrap();
    assert_eq!(payload, br#"{"id":"a1"}"#);
    assert_eq!(newsflow.schema(read_id).await.unwrap().schema, ARTICLE);
}

#[tokio::test]
async fn refused_schemas_say_why() {
    let registry = FakeRegistry::start(Auth::None).await;
    let newsflow = client(&config(&registry.url));
    let refused = newsflow
        .register("news.enriched-value", "{not json")
        .await
        .unwrap_err();
    assert!(
        matches!(refused, RegistryError::Rejected { status: 422, .. }),
        "{refused:?}"
    );
    assert_eq!(
        refused.to_string(),
        "the schema registry refused the schema for subject \"news.enriched-value\" \
         (HTTP 422): Invalid schema: not a JSON document"
    );
    // A failure is not remembered: the next attempt asks again.
    let _ = newsflow.register("news.enriched-value", "{not json").await;
    assert_eq!(registry.requests().len(), 2);
}

#[tokio::test]
async fn sends_basic_credentials_and_keeps_them_out_of_errors() {
    let registry = FakeRegistry::start(Auth::Basic {
        user: "newsflow".into(),
        password: PASSWORD.into(),
    })
    .await;
    let with = |password: &str| RegistryConfig {
        basic_auth_user: Some("newsflow".into()),
        basic_auth_password: Some(password.into()),
        ..config(&registry.url)
    };
    client(&with(PASSWORD))
        .register_value("news.enriched", ARTICLE)
        .await
        .unwrap();

    let wrong = format!("{PASSWORD}-old");
    let refused = client(&with(&wrong)).schema(1).await.unwrap_err();
    assert!(
        matches!(refused, RegistryError::Unauthorized { status: 401 }),
        "{refused:?}"
    );
    assert!(!refused.is_transient());
    let shown = format!("{refused} {refused:?} {:?}", with(&wrong));
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(shown.contains("basic_auth_user"), "{shown}");

    let anonymous = client(&config(&registry.url)).schema(1).await.unwrap_err();
    assert!(
        matches!(anonymous, RegistryError::Unauthorized { .. }),
        "{anonymous:?}"
    );
}

#[tokio::test]
async fn sends_a_bearer_token() {
    let registry = FakeRegistry::start(Auth::Bearer(TOKEN.into())).await;
    let with = |token: &str| RegistryConfig {
        bearer_token: Some(token.into()),
        ..config(&registry.url)
    };
    let id = client(&with(TOKEN))
        .register_value("news.enriched", ARTICLE)
        .await
        .unwrap();
    client(&with(TOKEN)).schema(id).await.unwrap();
    let refused = client(&with("token-expired")).schema(id).await.unwrap_err();
    let shown = format!("{refused} {refused:?}");
    assert!(
        matches!(refused, RegistryError::Unauthorized { .. }),
        "{shown}"
    );
    assert!(!shown.contains("token-expired"), "{shown}");
}

#[tokio::test]
async fn a_slow_or_absent_registry_is_a_transient_failure() {
    let registry = FakeRegistry::start_slow(Auth::None, Duration::from_secs(10)).await;
    let newsflow = client(&RegistryConfig {
        timeout_ms: 300,
        ..config(&registry.url)
    });
    let started = Instant::now();
    let slow = newsflow.schema(1).await.unwrap_err();
    assert!(matches!(slow, RegistryError::Timeout(_)), "{slow:?}");
    assert!(slow.is_transient());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let absent = client(&config(&format!("http://127.0.0.1:{port}")))
        .register_value("news.enriched", ARTICLE)
        .await
        .unwrap_err();
    assert!(matches!(absent, RegistryError::Transport(_)), "{absent:?}");
    assert!(absent.is_transient());
    assert!(
        absent
            .to_string()
            .starts_with("cannot reach the schema registry: "),
        "{absent}"
    );
}

#[tokio::test]
async fn an_api_under_a_path_is_addressed_below_it() {
    let registry = FakeRegistry::start(Auth::None).await;
    // Apicurio serves the API under /apis/ccompat/v7: the path is kept, with a trailing
    // slash or without. This registry serves it at the root and answers 404.
    let newsflow = client(&config(&format!("{}/apis/ccompat/v7/", registry.url)));
    let error = newsflow.schema(1).await.unwrap_err();
    assert!(
        matches!(error, RegistryError::Status { status: 404, .. }),
        "{error:?}"
    );
    assert_eq!(registry.requests(), ["GET /apis/ccompat/v7/schemas/ids/1"]);
    // A 404 without the registry's error code is no proof that the schema is missing.
    assert_eq!(
        error.to_string(),
        "the schema registry answered HTTP 404 to looking up schema id 1: HTTP 404 Not Found \
         (is url the base address of the registry's API?)"
    );
}

#[test]
fn an_unreadable_ca_file_is_named() {
    let missing = RegistryClient::new(&RegistryConfig {
        ca_file: Some("/nonexistent/registry-ca.pem".into()),
        ..config("https://127.0.0.1:8081")
    })
    .err()
    .unwrap();
    assert!(
        missing
            .to_string()
            .contains("ca_file /nonexistent/registry-ca.pem"),
        "{missing}"
    );
    let garbage = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(garbage.path(), "not a certificate").unwrap();
    let refused = RegistryClient::new(&RegistryConfig {
        ca_file: Some(garbage.path().into()),
        ..config("https://127.0.0.1:8081")
    })
    .err()
    .unwrap();
    assert!(matches!(refused, RegistryError::Config(_)), "{refused:?}");
}
