//! `newsflow run` against Apache Kafka on loopback (one broker shared by these tests, each
//! with its own topics and group): every good article comes out enriched, every malformed
//! record lands on the dead-letter topic with its reason, /metrics agrees, and SIGTERM
//! drains, commits and exits 0. An enriched record too large to send becomes a dead letter
//! of its original. A replica the group gives no partition is ready all the same. A
//! canceled item becomes a tombstone and a kill marker, under either guarantee.

use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use serde_json::{json, Value};

use crate::support::{
    articles, free_port, http_get, metric, newsflow, pipeline_command, reader, terminate,
    wait_exit, Broker, Guarantee, Running, SpawnRunning, Topics,
};

const PARTITIONS: i32 = 4;
const GOOD: usize = 2000;

/// `newsflow run` on `topics`, in a group named after the input topic, with extra
/// librdkafka `properties` (`-X`).
fn start_pipeline(
    broker: &Broker,
    topics: &Topics,
    metrics_port: u16,
    properties: &[&str],
) -> Running {
    let mut command = pipeline_command(broker.address(), topics, metrics_port);
    command.args([
        "--max-record-bytes",
        "100000",
        "--commit-interval-ms",
        "200",
        // A small window, so that the full-window path is exercised too.
        "--max-in-flight",
        "64",
    ]);
    for property in properties {
        command.args(["-X", property]);
    }
    command.spawn_running("newsflow")
}

/// Waits until newsflow is ready and owns partitions: readiness alone says it can reach
/// the broker, not that the group has given it work yet.
fn wait_ready(metrics_port: u16, timeout: Duration) {
    let started = Instant::now();
    while started.elapsed() < timeout {
        let ready = http_get(metrics_port, "/readyz").is_some_and(|(status, _)| status == 200);
        let owns_partitions = || {
            http_get(metrics_port, "/metrics").is_some_and(|(_, text)| {
                metric(&text, "newsflow_assigned_partitions").is_some_and(|n| n > 0.0)
            })
        };
        if ready && owns_partitions() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("newsflow did not become ready with partitions within {timeout:?}");
}

/// Malformed records, one per dead-letter reason the decoder knows, with the reason expected.
fn malformed() -> Vec<(Option<String>, Vec<u8>, &'static str)> {
    vec![
        (
            Some("bad-json".into()),
            b"{\"id\": \"x\", body".to_vec(),
            "invalid_json",
        ),
        (
            Some("bad-utf8".into()),
            b"{\"id\":\"x\",\"body\":\"\xff\xfe\"}".to_vec(),
            "invalid_utf8",
        ),
        (
            Some("no-id".into()),
            br#"{"body":"text without id"}"#.to_vec(),
            "schema_violation",
        ),
        (
            Some("bad-type".into()),
            br#"{"id":"x","body":42}"#.to_vec(),
            "schema_violation",
        ),
        (
            Some("too-big".into()),
            format!(r#"{{"id":"big","body":"{}"}}"#, "word ".repeat(30_000)).into_bytes(),
            "too_large",
        ),
        (Some("empty".into()), Vec::new(), "empty"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enriches_good_articles_and_dead_letters_malformed_ones() {
    let broker = Broker::shared();
    let topics = Topics::create(broker, "pipeline", PARTITIONS as u32);
    let good = articles(GOOD);
    let bad = malformed();
    let mut input = good.clone();
    // Spread the bad records through the stream rather than at its end.
    for (i, (key, value, _)) in bad.iter().enumerate() {
        input.insert(i * 300 + 1, (key.clone(), value.clone()));
    }
    broker.produce(&topics.input, &input).await;

    let metrics_port = free_port();
    let mut pipeline = start_pipeline(broker, &topics, metrics_port, &[]);
    let enriched = broker.consume(&topics.output, PARTITIONS, GOOD, Duration::from_secs(120));
    let dead = broker.consume(&topics.dlq, PARTITIONS, bad.len(), Duration::from_secs(30));

    // Every good article, once, enriched, keyed by its id.
    if enriched.len() != GOOD {
        let counters = http_get(metrics_port, "/metrics").map(|(_, text)| {
            text.lines()
                .filter(|l| {
                    l.starts_with("newsflow_articles")
                        || l.starts_with("newsflow_records")
                        || l.starts_with("newsflow_in_flight")
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
        panic!(
            "{} enriched records of {GOOD}; metrics:\n{}",
            enriched.len(),
            counters.unwrap_or_default()
        );
    }
    let mut ids: Vec<String> = enriched
        .iter()
        .map(|record| {
            let value: Value = serde_json::from_slice(&record.value).expect("enriched JSON");
            let id = value["id"].as_str().expect("id").to_owned();
            assert_eq!(record.key.as_deref(), Some(id.as_bytes()));
            assert_eq!(value["schema_version"], ::newsflow::record::SCHEMA_VERSION);
            assert!(value["clean"]["paragraphs"].is_array());
            id
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), GOOD, "distinct ids");

    // Every event of every article, once more on its own, keyed by its fingerprint.
    let expected_events: Vec<(String, String)> = enriched
        .iter()
        .flat_map(|record| {
            let value: Value = serde_json::from_slice(&record.value).expect("enriched JSON");
            let id = value["id"].as_str().unwrap_or_default().to_owned();
            value["events"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    (
                        id.clone(),
                        e["fingerprint"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        !expected_events.is_empty(),
        "the sample feed reports events"
    );
    let events = broker.consume(
        &topics.events,
        PARTITIONS,
        expected_events.len(),
        Duration::from_secs(30),
    );
    let mut published: Vec<(String, String)> = events
        .iter()
        .map(|record| {
            let value: Value = serde_json::from_slice(&record.value).expect("event JSON");
            let fingerprint = value["fingerprint"]
                .as_str()
                .expect("fingerprint")
                .to_owned();
            assert_eq!(record.key.as_deref(), Some(fingerprint.as_bytes()));
            assert!(value["plover"].is_string() && value["sentence"].is_string());
            (
                value["article_id"].as_str().expect("article id").to_owned(),
                fingerprint,
            )
        })
        .collect();
    let mut expected_events = expected_events;
    published.sort();
    expected_events.sort();
    assert_eq!(published, expected_events, "events topic");

    // Every malformed record, with its original bytes and reason.
    assert_eq!(dead.len(), bad.len(), "dead letters");
    for (key, value, reason) in &bad {
        let letter = dead
            .iter()
            .find(|r| r.key.as_deref() == key.as_deref().map(str::as_bytes))
            .unwrap_or_else(|| panic!("no dead letter for {key:?}"));
        assert_eq!(&letter.value, value, "original bytes of {key:?}");
        assert_eq!(
            letter.header("newsflow.reason"),
            Some(*reason),
            "reason of {key:?}"
        );
        assert!(letter
            .header("newsflow.error")
            .is_some_and(|e| !e.is_empty()));
        assert_eq!(
            letter.header("newsflow.source.topic"),
            Some(topics.input.as_str())
        );
        assert!(letter.header("newsflow.source.offset").is_some());
    }

    // /metrics agrees with what came out.
    let (status, text) = http_get(metrics_port, "/metrics").expect("metrics");
    assert_eq!(status, 200);
    let total = (GOOD + bad.len()) as f64;
    let consumed = format!(
        "newsflow_articles_consumed_total{{topic=\"{}\"}}",
        topics.input
    );
    let produced = |topic: &str| format!("newsflow_records_produced_total{{topic=\"{topic}\"}}");
    assert_eq!(metric(&text, &consumed), Some(total));
    assert_eq!(metric(&text, &produced(&topics.output)), Some(GOOD as f64));
    assert_eq!(
        metric(&text, &produced(&topics.dlq)),
        Some(bad.len() as f64)
    );
    assert_eq!(
        metric(
            &text,
            "newsflow_dead_letters_total{reason=\"schema_violation\"}"
        ),
        Some(2.0)
    );
    for reason in ["invalid_json", "invalid_utf8", "too_large", "empty"] {
        let series = format!("newsflow_dead_letters_total{{reason=\"{reason}\"}}");
        assert_eq!(metric(&text, &series), Some(1.0), "{series}");
    }
    assert!(
        metric(
            &text,
            "newsflow_stage_duration_seconds_count{stage=\"clean\"}"
        )
        .unwrap_or(0.0)
            >= GOOD as f64
    );
    assert_eq!(
        http_get(metrics_port, "/healthz").map(|(s, _)| s),
        Some(200)
    );
    assert_eq!(http_get(metrics_port, "/readyz").map(|(s, _)| s), Some(200));

    // SIGTERM: drain, commit, exit 0.
    terminate(&pipeline);
    assert_eq!(wait_exit(&mut pipeline, Duration::from_secs(30)), Some(0));

    // A restart in the same group resumes after the committed offsets: nothing is redone.
    let metrics_port = free_port();
    let mut restarted = start_pipeline(broker, &topics, metrics_port, &[]);
    wait_ready(metrics_port, Duration::from_secs(60));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, text) = http_get(metrics_port, "/metrics").expect("metrics after restart");
    assert_eq!(
        metric(&text, &consumed).unwrap_or(0.0),
        0.0,
        "records consumed again after a clean shutdown"
    );
    terminate(&restarted);
    assert_eq!(wait_exit(&mut restarted, Duration::from_secs(30)), Some(0));

    // replay-dlq re-submits the chosen dead letters, byte for byte, once.
    let replayed_topic = "pipeline.replayed";
    let replay = || {
        let output = newsflow()
            .args(["replay-dlq", "--brokers", broker.address()])
            .args(["--dlq-topic", &topics.dlq, "--to-topic", replayed_topic])
            .args(["--reason", "schema_violation", "--reason", "invalid_json"])
            .stderr(crate::support::child_log())
            .output()
            .expect("run replay-dlq");
        assert!(output.status.success(), "replay-dlq failed");
        serde_json::from_slice::<Value>(&output.stdout).expect("replay summary")
    };
    broker.create_topic(replayed_topic, 1);
    let first = replay();
    assert_eq!(first["replayed"], 3, "{first}");
    assert_eq!(first["filtered"], (bad.len() - 3) as u64, "{first}");
    let replayed = broker.consume(replayed_topic, 1, 3, Duration::from_secs(30));
    let mut values: Vec<&[u8]> = replayed.iter().map(|r| &r.value[..]).collect();
    let mut expected: Vec<&[u8]> = bad
        .iter()
        .filter(|(_, _, reason)| ["schema_violation", "invalid_json"].contains(reason))
        .map(|(_, value, _)| &value[..])
        .collect();
    values.sort();
    expected.sort();
    assert_eq!(values, expected);
    assert!(replayed
        .iter()
        .all(|r| r.header("newsflow.replayed.from").is_some()
            && r.header("newsflow.reason").is_none()));
    assert_eq!(replay()["replayed"], 0, "a second replay repeats nothing");
}

/// An enriched record the producer may not send (here `message.max.bytes` is lowered below
/// its size) is refused for good: the original record goes to the dead-letter topic,
/// unchanged, with reason `too_large`, and the records after it are enriched as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enriched_record_refused_as_too_large_becomes_a_dead_letter_of_the_original() {
    let broker = Broker::shared();
    let topics = Topics::create(broker, "too-large", 1);
    let sentence = "The minister said on Monday that the talks in Geneva would resume next week. ";
    // About 2.0 KB as raw input (the dead letter, with its headers, fits under the limit);
    // enriched (paragraphs, places, topics with evidence, entities, events) about 2.6 KB.
    let big = serde_json::json!({"id": "big-1", "title": "Talks", "body": sentence.repeat(25)});
    let small = serde_json::json!({"id": "small-1", "title": "Talks", "body": sentence});
    let input: Vec<crate::support::Keyed> = [("big-1", &big), ("small-1", &small)]
        .into_iter()
        .map(|(key, value)| (Some(key.to_owned()), value.to_string().into_bytes()))
        .collect();
    broker.produce(&topics.input, &input).await;

    let mut pipeline = start_pipeline(
        broker,
        &topics,
        free_port(),
        &["producer.message.max.bytes=2450"],
    );
    let dead = broker.consume(&topics.dlq, 1, 1, Duration::from_secs(60));
    let enriched = broker.consume(&topics.output, 1, 1, Duration::from_secs(30));
    terminate(&pipeline);
    assert_eq!(wait_exit(&mut pipeline, Duration::from_secs(30)), Some(0));

    assert_eq!(dead.len(), 1, "one dead letter");
    assert_eq!(dead[0].key.as_deref(), Some(&b"big-1"[..]));
    assert_eq!(dead[0].value, input[0].1, "the original bytes");
    assert_eq!(dead[0].header("newsflow.reason"), Some("too_large"));
    assert_eq!(enriched.len(), 1, "the small article, enriched");
    let value: Value = serde_json::from_slice(&enriched[0].value).expect("enriched JSON");
    assert_eq!(value["id"], "small-1");
}

/// Two replicas in one group on one partition: the replica left without a partition is
/// ready (readiness is being able to consume and produce), and the gauge says it owns none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_without_partitions_is_ready() {
    let broker = Broker::shared();
    let topics = Topics::create(broker, "idle-replica", 1);
    let ports = [free_port(), free_port()];
    let mut replicas: Vec<Running> = ports
        .iter()
        .map(|&port| start_pipeline(broker, &topics, port, &[]))
        .collect();
    let owned = |port| {
        http_get(port, "/metrics")
            .and_then(|(_, text)| metric(&text, "newsflow_assigned_partitions"))
    };
    let ready = |port| http_get(port, "/readyz").map(|(status, _)| status) == Some(200);
    let started = Instant::now();
    loop {
        let assignment = ports.map(&owned);
        let idle_and_ready = ports
            .iter()
            .zip(assignment)
            .any(|(&port, owned)| owned == Some(0.0) && ready(port));
        if assignment.contains(&Some(1.0)) && idle_and_ready {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no idle replica was ready within 60 s (partitions owned: {assignment:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for replica in &mut replicas {
        terminate(replica);
        assert_eq!(wait_exit(replica, Duration::from_secs(30)), Some(0));
    }
}

/// A record as a downstream consumer reads it: key and value, `None` for a tombstone.
type Read = (Option<String>, Option<Value>);

/// Reads `topic` (one partition) with `isolation` until `done` holds for what arrived, or
/// `timeout` passes; returns what arrived.
fn read_until(
    broker: &Broker,
    topic: &str,
    isolation: &str,
    done: impl Fn(&[Read]) -> bool,
    timeout: Duration,
) -> Vec<Read> {
    let consumer = reader(broker.address(), topic, 1, isolation);
    let mut records = Vec::new();
    let started = Instant::now();
    while !done(&records) && started.elapsed() < timeout {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            let key = message
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned());
            let value = message
                .payload()
                .map(|v| serde_json::from_slice(v).expect("JSON value"));
            records.push((key, value));
        }
    }
    consumer.unassign().expect("unassign");
    records
}

/// A canceled ninjs item between articles, under each guarantee: the output topic has a
/// tombstone keyed by its id and no enriched record of it, the events topic its kill marker
/// keyed by the same id, and /metrics counts the kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canceled_item_becomes_a_tombstone_and_a_kill_marker() {
    const KILLED: &str = "urn:newsml:example.com:2024:withdrawn";
    let broker = Broker::shared();
    for guarantee in [Guarantee::AtLeastOnce, Guarantee::ExactlyOnce] {
        let name = format!("killed-{guarantee:?}").to_lowercase();
        let topics = Topics::create(broker, &name, 1);
        let mut input = articles(2);
        let item = json!({
            "uri": KILLED,
            "pubstatus": "canceled",
            "versioncreated": "Mon, 01 Jul 2024 09:00:00 +0100",
            "headlines": [{"role": "main", "value": "Leaders meet in Moscow"}],
            "bodies": [{"role": "main", "contenttype": "text/plain",
                "value": "President Xi Jinping met President Vladimir Putin in Moscow on Tuesday."}],
        });
        input.insert(1, (Some(KILLED.to_owned()), item.to_string().into_bytes()));
        broker.produce(&topics.input, &input).await;
        let metrics_port = free_port();
        let mut command = pipeline_command(broker.address(), &topics, metrics_port);
        let mut child = guarantee
            .apply(&mut command, &name)
            .spawn_running("newsflow");
        let timeout = Duration::from_secs(120);
        let isolation = guarantee.isolation();
        let output = read_until(broker, &topics.output, isolation, |r| r.len() >= 3, timeout);
        let is_marker = |(key, value): &Read| {
            key.as_deref() == Some(KILLED) && value.as_ref().is_some_and(|v| v["killed"] == true)
        };
        let events = read_until(
            broker,
            &topics.events,
            isolation,
            |r| r.iter().any(is_marker),
            timeout,
        );
        let killed = http_get(metrics_port, "/metrics").and_then(|(_, text)| {
            metric(
                &text,
                "newsflow_articles_killed_total{pubstatus=\"canceled\"}",
            )
        });
        terminate(&child);
        assert_eq!(wait_exit(&mut child, Duration::from_secs(30)), Some(0));

        let keys: Vec<Option<&str>> = output.iter().map(|(key, _)| key.as_deref()).collect();
        assert_eq!(keys.len(), 3, "{guarantee:?}: {keys:?}");
        assert_eq!(keys[1], Some(KILLED), "{guarantee:?}");
        assert_eq!(output[1].1, None, "{guarantee:?}: not a tombstone");
        for (key, value) in [&output[0], &output[2]] {
            let value = value.as_ref().expect("enriched record");
            assert_eq!(value["id"].as_str(), key.as_deref(), "{guarantee:?}");
        }
        let article_ids: Vec<&Value> = events
            .iter()
            .filter_map(|(_, value)| value.as_ref().map(|v| &v["article_id"]))
            .collect();
        let markers: Vec<&Read> = events.iter().filter(|r| is_marker(r)).collect();
        assert_eq!(markers.len(), 1, "{guarantee:?}: {article_ids:?}");
        assert_eq!(
            markers[0].1,
            Some(
                json!({"article_id": KILLED, "killed": true, "pubstatus": "canceled",
                "schema_version": ::newsflow::record::SCHEMA_VERSION})
            ),
        );
        assert!(
            events.iter().all(|(_, v)| v
                .as_ref()
                .is_some_and(|v| v["article_id"] != KILLED || v["killed"] == true)),
            "{guarantee:?}: an event of the killed item: {article_ids:?}"
        );
        assert_eq!(killed, Some(1.0), "{guarantee:?}");
    }
}
