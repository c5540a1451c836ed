//! newsflow in a Kafka estate with a schema registry and CloudEvents, through Apache Kafka:
//! a record written by Confluent's own JSON Schema serializer (its Python client, installed
//! by scripts/install-confluent-serde.sh), a binary-mode and a structured-mode CloudEvent
//! are enriched; the outputs configured for the registry carry framed records that
//! Confluent's deserializer reads and validates with the schema their id names, as
//! CloudEvents, but for a route whose own envelope is bare JSON; Avro-framed records are
//! dead letters that say so, one of them told by the schema type the registry holds for
//! its id, since its payload looks like JSON; the trace context reaches the outputs and the
//! dead letters; `newsflow aggregate` reads the framed events and frames its own records.
//! The registry is the one the offline tests serve (a real one cannot be
//! built here: docs/registry.md).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use newsflow::kafka::cloudevent_type;
use newsflow::registry::{RegistryClient, RegistryConfig, SchemaType};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use serde_json::{json, Value};

use crate::registry_server::{Auth, FakeRegistry};
use crate::support::{
    free_port, newsflow, pipeline_command, repo_path, terminate, wait_exit, Broker, Record,
    SpawnRunning, Topics,
};

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const USER: &str = "newsflow";
const PASSWORD: &str = "s3cret-registry-pass";
const BODY: &str = "China and Russia held a summit in Moscow on May 16. Israeli troops \
                    arrested more than 100 Palestinians on Saturday.";

/// The Python interpreter with Confluent's client.
fn confluent_python() -> String {
    let output = Command::new(repo_path("scripts/install-confluent-serde.sh"))
        .stderr(Stdio::inherit())
        .output()
        .expect("scripts/install-confluent-serde.sh runs");
    assert!(output.status.success(), "installing confluent-kafka failed");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Runs confluent_serde.py `args` over `lines`; its output lines.
fn confluent_serde(python: &str, args: &[&str], lines: &[String]) -> Vec<String> {
    let script = repo_path("tests/kafka_pipeline/confluent_serde.py");
    let mut child = Command::new(python)
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    for line in lines {
        writeln!(input, "{line}").unwrap();
    }
    drop(input);
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "confluent_serde.py {args:?} failed"
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Confluent's deserializer on `records`: each one's schema id and value.
fn deserialized(python: &str, url: &str, topic: &str, records: &[Record]) -> Vec<(u32, Value)> {
    let hex: Vec<String> = records
        .iter()
        .map(|r| data_encoding::HEXLOWER.encode(&r.value))
        .collect();
    confluent_serde(python, &["deserialize", url, topic], &hex)
        .iter()
        .map(|line| {
            let read: Value = serde_json::from_str(line).unwrap();
            (
                read["schema_id"].as_u64().unwrap() as u32,
                read["value"].clone(),
            )
        })
        .collect()
}

/// A run configuration framing every output for the registry at `url`, as CloudEvents, with
/// a route to `desk`, and one to `plain` whose copies are bare JSON.
fn config_file(url: &str, password: &str, desk: &str, plain: &str) -> tempfile::NamedTempFile {
    let config = tempfile::NamedTempFile::new().unwrap();
    let text = format!(
        r#"
[registry]
url = "{url}"
basic_auth_user = "{USER}"
basic_auth_password = "{password}"

[envelope]
cloudevents_source = "urn:newsflow:test"
enriched = {{ registry = true, cloudevents = true }}
events = {{ registry = true, cloudevents = true }}
aggregated = {{ registry = true, cloudevents = true }}

[[routes]]
topic = "{desk}"

[[routes]]
topic = "{plain}"
envelope = {{ registry = false, cloudevents = false }}
"#
    );
    std::fs::write(config.path(), text).unwrap();
    config
}

/// A header's name and value.
type Pair<'a> = (&'a str, &'a str);

fn headers(pairs: &[Pair]) -> OwnedHeaders {
    pairs
        .iter()
        .fold(OwnedHeaders::new(), |headers, &(key, value)| {
            headers.insert(Header {
                key,
                value: Some(value),
            })
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_framed_records_and_cloudevents_in_framed_cloudevents_out() {
    let python = confluent_python();
    let broker = Broker::shared();
    let topics = Topics::create(broker, "registry", 1);
    let desk = format!("{}.desk", topics.output);
    let plain = format!("{}.plain", topics.output);
    broker.create_topic(&desk, 1);
    broker.create_topic(&plain, 1);
    let registry = FakeRegistry::start(Auth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    })
    .await;
    let port = registry.url.trim_start_matches("http://");
    let url_with_auth = format!("http://{USER}:{PASSWORD}@{port}");

    let article = json!({ "id": "r-1", "title": "Summit in Moscow", "body": BODY });
    let schema = repo_path("schemas/raw-article.v1.json");
    let framed = confluent_serde(
        &python,
        &[
            "serialize",
            &url_with_auth,
            &topics.input,
            schema.to_str().unwrap(),
        ],
        &[article.to_string()],
    );
    let framed = data_encoding::HEXLOWER
        .decode(framed[0].as_bytes())
        .unwrap();
    assert_eq!(framed[0], 0, "Confluent's framing");
    let binary = json!({ "id": "ce-1", "body": BODY }).to_string();
    let structured = json!({
        "specversion": "1.0", "id": "ce-2", "source": "urn:wire", "type": "com.example.article",
        "datacontenttype": "application/json", "data": { "body": BODY },
    })
    .to_string();
    let avro = [0u8, 0, 0, 0, 9, 2, b'a'];
    // An Avro record that looks like JSON: only the registry tells what it is.
    let avro_schema =
        r#"{"type":"record","name":"Article","fields":[{"name":"id","type":"string"}]}"#;
    let avro_id = registry.add("avro-value", "AVRO", avro_schema);
    let mut avro_like_json = vec![0u8];
    avro_like_json.extend_from_slice(&avro_id.to_be_bytes());
    avro_like_json.extend_from_slice(
        json!({ "id": "looks-json", "body": BODY })
            .to_string()
            .as_bytes(),
    );
    let trace = ("traceparent", TRACEPARENT);
    let binary_headers = [
        trace,
        ("ce_specversion", "1.0"),
        ("ce_id", "ce-1"),
        ("ce_source", "urn:wire"),
        ("ce_type", "com.example.article"),
        ("content-type", "application/json"),
    ];
    let producer = broker.producer();
    let inputs: [(&str, &[u8], &[Pair]); 5] = [
        ("r-1", &framed, &[trace]),
        ("ce-1", binary.as_bytes(), &binary_headers),
        (
            "ce-2",
            structured.as_bytes(),
            &[trace, ("content-type", "application/cloudevents+json")],
        ),
        ("avro", &avro, &[trace]),
        ("looks-json", &avro_like_json, &[trace]),
    ];
    for (key, value, pairs) in inputs {
        let record = FutureRecord::to(&topics.input)
            .key(key)
            .payload(value)
            .headers(headers(pairs));
        producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(error, _)| error)
            .unwrap();
    }

    let config = config_file(&registry.url, PASSWORD, &desk, &plain);
    let mut pipeline = pipeline_command(broker.address(), &topics, free_port())
        .arg("--config")
        .arg(config.path())
        .spawn_running("newsflow run");
    let timeout = Duration::from_secs(60);
    let enriched = broker.consume(&topics.output, 1, 3, timeout);
    let routed = broker.consume(&desk, 1, 3, timeout);
    let bare = broker.consume(&plain, 1, 3, timeout);
    let events = broker.consume(&topics.events, 1, 1, timeout);
    let dead = broker.consume(&topics.dlq, 1, 2, timeout);
    terminate(&pipeline);
    assert_eq!(wait_exit(&mut pipeline, timeout), Some(0));

    assert_eq!(enriched.len(), 3);
    let read = deserialized(&python, &url_with_auth, &topics.output, &enriched);
    let mut ids: Vec<&str> = read
        .iter()
        .map(|(_, a)| a["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["ce-1", "ce-2", "r-1"]);
    let schema_id = read[0].0;
    assert!(read.iter().all(|(id, _)| *id == schema_id));
    let client = RegistryClient::new(&RegistryConfig {
        url: registry.url.clone(),
        basic_auth_user: Some(USER.into()),
        basic_auth_password: Some(PASSWORD.into()),
        ..RegistryConfig::default()
    })
    .unwrap();
    let registered = client.schema(schema_id).await.unwrap();
    assert_eq!(registered.schema_type, SchemaType::Json);
    let registered: Value = serde_json::from_str(&registered.schema).unwrap();
    assert_eq!(registered["title"], "newsflow enriched article, version 2");
    for record in &enriched {
        assert_eq!(
            record.header("ce_type"),
            Some(cloudevent_type::ARTICLE_ENRICHED)
        );
        assert_eq!(record.header("ce_source"), Some("urn:newsflow:test"));
        assert_eq!(record.header("ce_specversion"), Some("1.0"));
        assert_eq!(record.header("content-type"), Some("application/json"));
        assert_eq!(record.header("traceparent"), Some(TRACEPARENT));
    }

    let read_routed = deserialized(&python, &url_with_auth, &desk, &routed);
    assert_eq!(read_routed.len(), 3, "every article goes to the desk");
    let desk_subject = format!("POST /subjects/{desk}-value/versions");
    assert!(
        registry.requests().contains(&desk_subject),
        "{:?}",
        registry.requests()
    );

    assert_eq!(bare.len(), 3);
    for record in &bare {
        let article: Value = serde_json::from_slice(&record.value).expect("bare JSON");
        assert!(article["id"].is_string());
        assert_eq!(
            record.header("ce_type"),
            None,
            "the route's own envelope has none"
        );
    }

    let read_events = deserialized(&python, &url_with_auth, &topics.events, &events);
    assert!(!read_events.is_empty());
    let registered = client.schema(read_events[0].0).await.unwrap();
    assert!(registered.schema.contains("newsflow event, version 2"));
    for record in &events {
        assert_eq!(record.header("ce_type"), Some(cloudevent_type::EVENT));
        assert_eq!(record.header("traceparent"), Some(TRACEPARENT));
    }

    // `newsflow aggregate` with the same file reads the framed events and frames its own
    // records, as CloudEvents, for Confluent's deserializer.
    let aggregated_topic = format!("{}.aggregated", topics.events);
    let mut aggregator = newsflow()
        .args(["aggregate", "--brokers", broker.address(), "--config"])
        .arg(config.path())
        .args([
            "--events-topic",
            &topics.events,
            "--output-topic",
            &aggregated_topic,
        ])
        .args([
            "--dlq-topic",
            &topics.dlq,
            "--group-id",
            "registry-aggregate",
        ])
        .args([
            "--create-topics",
            "--metrics-addr",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .spawn_running("newsflow aggregate");
    let aggregates = broker.consume(&aggregated_topic, 1, 1, timeout);
    terminate(&aggregator);
    assert_eq!(wait_exit(&mut aggregator, timeout), Some(0));
    let read_aggregates = deserialized(&python, &url_with_auth, &aggregated_topic, &aggregates);
    assert!(!read_aggregates.is_empty());
    let registered = client.schema(read_aggregates[0].0).await.unwrap();
    assert!(registered.schema.contains("event-aggregate.v1.json"));
    let told: u64 = read_aggregates
        .iter()
        .map(|(_, event)| event["num_mentions"].as_u64().unwrap())
        .sum();
    assert!(told >= 1, "{read_aggregates:?}");
    for record in &aggregates {
        assert_eq!(
            record.header("ce_type"),
            Some(cloudevent_type::EVENT_AGGREGATED)
        );
    }

    assert_eq!(dead.len(), 2);
    assert_eq!(dead[0].value, avro, "the original record, as it came");
    assert_eq!(dead[1].value, avro_like_json);
    for letter in &dead {
        assert_eq!(
            letter.header("newsflow.reason"),
            Some("unsupported_encoding")
        );
        assert_eq!(letter.header("traceparent"), Some(TRACEPARENT));
    }
    let error = dead[1].header("newsflow.error").unwrap_or_default();
    assert!(
        error.contains(&format!("schema id {avro_id}")) && error.contains("AVRO"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_refusing_the_credentials_stops_start_up_with_exit_code_2() {
    let broker = Broker::shared();
    let topics = Topics::create(broker, "registry-refused", 1);
    let registry = FakeRegistry::start(Auth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    })
    .await;
    let wrong = "not-the-password-7731";
    let config = config_file(&registry.url, wrong, &topics.output, &topics.events);
    let run = pipeline_command(broker.address(), &topics, free_port())
        .arg("--config")
        .arg(config.path())
        .stderr(Stdio::piped())
        .output();
    let output = tokio::task::spawn_blocking(move || run.unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(logs.contains("refused access (HTTP 401)"), "{logs}");
    assert!(!logs.contains(wrong), "the password is in the logs: {logs}");
}
