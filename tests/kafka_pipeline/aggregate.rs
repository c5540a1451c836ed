//! `newsflow aggregate` on Apache Kafka: the events topic folded into one record per event
//! on a compacted topic, with exact counts although an aggregator is SIGKILLed, a second
//! one takes its partitions over, and every mention of the first half is delivered again;
//! one fingerprint told in two places makes two events. Beyond its memory limit, an
//! aggregator forgets the events told longest ago without overwriting their records.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rdkafka::message::Message;
use serde_json::{json, Value};

use crate::support::schema::{assert_valid, validator};
use crate::support::{
    child_log, free_port, http_get, metric, newsflow, reader, terminate, wait_exit, wait_ready,
    Broker, Keyed, Running, SpawnRunning,
};

/// The topics and group one test's aggregators use.
struct Topics {
    events: &'static str,
    aggregated: &'static str,
    dlq: &'static str,
    group: &'static str,
    partitions: i32,
}

const TOPICS: Topics = Topics {
    events: "aggregate.events",
    aggregated: "aggregate.events.aggregated",
    dlq: "aggregate.dlq",
    group: "aggregate-test",
    partitions: 3,
};
const FINGERPRINTS: usize = 6;
const ARTICLES: usize = 30;
const SOURCES: [&str; 3] = ["AFP", "Reuters", "AP"];

/// One mention: its event's fingerprint, article, source, sentence and country.
struct Mention {
    fingerprint: String,
    article: String,
    source: &'static str,
    sentence: String,
    country: Option<&'static str>,
}

/// One family told in two places: the first and an unplaced telling are one event, the
/// two in the second place another (keyed by the fingerprint and `-1`).
const FAMILY: &str = "00000000000000aa";

fn family_mentions() -> Vec<Mention> {
    [Some("FR"), None, Some("DE"), Some("DE")]
        .into_iter()
        .enumerate()
        .map(|(n, country)| Mention {
            fingerprint: FAMILY.into(),
            article: format!("family-{n}"),
            source: "AFP",
            sentence: format!("The ministers met ({n})."),
            country,
        })
        .collect()
}

/// Each article tells two events, and every fifth tells its first event twice.
fn mentions() -> Vec<Mention> {
    let mut mentions = Vec::new();
    for n in 0..ARTICLES {
        let events = [n % FINGERPRINTS, (n * 7 + 1) % FINGERPRINTS];
        for (i, event) in events.into_iter().enumerate() {
            let times = if i == 0 && n % 5 == 0 { 2 } else { 1 };
            for time in 0..times {
                mentions.push(Mention {
                    fingerprint: format!("{event:016x}"),
                    article: format!("article-{n}"),
                    source: SOURCES[n % SOURCES.len()],
                    sentence: format!("Event {event} as article {n} tells it ({time})."),
                    country: None,
                });
            }
        }
    }
    mentions
}

fn record(mention: &Mention) -> Keyed {
    let value = json!({
        "schema_version": 5,
        "article_id": mention.article,
        "published_at": "2024-07-01T09:00:00Z",
        "source": mention.source,
        "plover": "CONSULT",
        "cameo": "040",
        "actors": ["FRA", "DEU"],
        "targets": [],
        "location": mention.country.map(|country| json!({"country": country, "name": null})),
        "date_start": null,
        "date_end": null,
        "modality": "occurred",
        "sentence": mention.sentence,
        "confidence": 0.5,
        "fingerprint": mention.fingerprint,
    });
    (
        Some(mention.fingerprint.clone()),
        value.to_string().into_bytes(),
    )
}

/// Per event id: mentions, articles and sources, counted once each (the family's events
/// aside, each id is a fingerprint).
fn expected(mentions: &[Mention]) -> HashMap<String, (u64, u64, u64)> {
    let mut sets: HashMap<&str, (u64, BTreeSet<&str>, BTreeSet<&str>)> = HashMap::new();
    for m in mentions {
        let entry = sets.entry(&m.fingerprint).or_default();
        entry.0 += 1;
        entry.1.insert(&m.article);
        entry.2.insert(m.source);
    }
    sets.into_iter()
        .map(|(fingerprint, (n, articles, sources))| {
            (
                fingerprint.to_owned(),
                (n, articles.len() as u64, sources.len() as u64),
            )
        })
        .chain([
            (FAMILY.to_owned(), (2, 2, 1)),
            (format!("{FAMILY}-1"), (2, 2, 1)),
        ])
        .collect()
}

fn start_aggregate(broker: &Broker, topics: &Topics, metrics_port: u16, args: &[&str]) -> Running {
    newsflow()
        .args(["aggregate", "--brokers", broker.address()])
        .args(["--events-topic", topics.events])
        .args(["--output-topic", topics.aggregated])
        .args(["--dlq-topic", topics.dlq, "--group-id", topics.group])
        .arg("--create-topics")
        .args(args)
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
        .args(["-X", "session.timeout.ms=6000"])
        .stderr(child_log())
        .spawn_running("newsflow aggregate")
}

fn counted(metrics_port: u16, outcome: &str) -> f64 {
    let series = format!("newsflow_aggregate_records_total{{outcome=\"{outcome}\"}}");
    metric_of(metrics_port, &series).unwrap_or(0.0)
}

fn metric_of(metrics_port: u16, series: &str) -> Option<f64> {
    http_get(metrics_port, "/metrics").and_then(|(_, text)| metric(&text, series))
}

/// Waits until `done`, polling every 100 ms; fails naming `what` after `timeout`.
fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < timeout, "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `metrics_port` reports `records` events-topic records counted.
fn wait_counted(metrics_port: u16, records: usize, timeout: Duration) {
    wait_until(&format!("{records} records counted"), timeout, || {
        counted(metrics_port, "counted") >= records as f64
    });
}

/// Reads the aggregates topic until its latest record per fingerprint has the counts
/// `expected`, or `timeout` passes; returns the latest records.
fn read_aggregates(
    broker: &Broker,
    topics: &Topics,
    expected: &HashMap<String, (u64, u64, u64)>,
    timeout: Duration,
) -> HashMap<String, Value> {
    let consumer = reader(
        broker.address(),
        topics.aggregated,
        topics.partitions,
        "read_uncommitted",
    );
    let mut latest: HashMap<String, Value> = HashMap::new();
    let counts = |v: &Value| {
        (
            v["num_mentions"].as_u64().unwrap(),
            v["num_articles"].as_u64().unwrap(),
            v["num_sources"].as_u64().unwrap(),
        )
    };
    let started = Instant::now();
    while started.elapsed() < timeout {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            let key = String::from_utf8_lossy(message.key().unwrap()).into_owned();
            let value: Value = serde_json::from_slice(message.payload().unwrap()).unwrap();
            latest.insert(key, value);
        } else if latest.len() == expected.len()
            && latest
                .iter()
                .all(|(k, v)| expected.get(k) == Some(&counts(v)))
        {
            break;
        }
    }
    latest
}

#[test]
fn counts_stay_exact_across_a_kill_a_takeover_and_redelivery() {
    let broker = Broker::shared();
    broker.create_topic(TOPICS.events, TOPICS.partitions as u32);
    let mentions = mentions();
    let records: Vec<Keyed> = mentions.iter().map(record).collect();
    let (first_half, second_half) = records.split_at(records.len() / 2);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(broker.produce(TOPICS.events, first_half));

    let (port_a, port_b) = (free_port(), free_port());
    let mut first = start_aggregate(broker, &TOPICS, port_a, &[]);
    let timeout = Duration::from_secs(60);
    wait_counted(port_a, first_half.len(), timeout);
    // A second aggregator joins; the first is killed, so its partitions move to the second,
    // which reads their aggregates back.
    let mut second = start_aggregate(broker, &TOPICS, port_b, &[]);
    wait_ready(port_b, timeout);
    first.kill().unwrap();
    first.wait().unwrap();
    // The first half again (as at-least-once redelivers), the second half, the family told
    // in two places (twice over), and a record that is no event.
    let mut again = first_half.to_vec();
    again.extend_from_slice(second_half);
    let family: Vec<Keyed> = family_mentions().iter().map(record).collect();
    again.extend_from_slice(&family);
    again.extend_from_slice(&family);
    again.push((Some("junk".into()), b"{not json".to_vec()));
    runtime.block_on(broker.produce(TOPICS.events, &again));

    let expected = expected(&mentions);
    let latest = read_aggregates(broker, &TOPICS, &expected, Duration::from_secs(90));
    let schema = validator("event-aggregate.v1.json");
    for (fingerprint, counts) in &expected {
        let value = &latest[fingerprint];
        assert_valid(&schema, value, fingerprint);
        let got = (
            value["num_mentions"].as_u64().unwrap(),
            value["num_articles"].as_u64().unwrap(),
            value["num_sources"].as_u64().unwrap(),
        );
        assert_eq!(&got, counts, "{fingerprint}: {value}");
        assert_eq!(value["counts_exact"], true);
        let confidence = value["confidence"].as_f64().unwrap();
        let sources = i32::try_from(counts.2).unwrap();
        assert!(
            (confidence - (1.0 - 0.5f64.powi(sources))).abs() < 1e-9,
            "{value}"
        );
    }
    assert_eq!(latest[FAMILY]["location"]["country"], "FR");
    assert_eq!(latest[&format!("{FAMILY}-1")]["location"]["country"], "DE");
    assert!(
        counted(port_b, "already_counted") >= first_half.len() as f64,
        "the redelivered half was counted again"
    );
    // Its lag on the events topic, from librdkafka's statistics (every 5 s).
    let lag_of = |partition: i32| {
        let series = format!(
            "newsflow_consumer_lag_messages{{partition=\"{partition}\",topic=\"{}\"}}",
            TOPICS.events
        );
        metric_of(port_b, &series)
    };
    wait_until("a lag of 0 reported", Duration::from_secs(20), || {
        (0..TOPICS.partitions).all(|p| lag_of(p) == Some(0.0))
    });
    let letters = broker.consume(TOPICS.dlq, 1, 1, Duration::from_secs(10));
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].header("newsflow.reason"), Some("invalid_json"));
    terminate(&second);
    assert_eq!(wait_exit(&mut second, timeout), Some(0));
}

#[test]
fn beyond_its_limit_an_aggregator_forgets_the_events_told_longest_ago() {
    const FORGET: Topics = Topics {
        events: "aggregate.forget.events",
        aggregated: "aggregate.forget.aggregated",
        dlq: "aggregate.forget.dlq",
        group: "aggregate-forget-test",
        partitions: 1,
    };
    let broker = Broker::shared();
    broker.create_topic(FORGET.events, 1);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mention = |event: usize, article: usize| {
        record(&Mention {
            fingerprint: format!("{event:016x}"),
            article: format!("forget-{article}"),
            source: "AFP",
            sentence: format!("Event {event} as article {article} tells it."),
            country: None,
        })
    };
    let send = |records: &[Keyed]| runtime.block_on(broker.produce(FORGET.events, records));
    let limit = ["--max-events-held", "2"];
    let timeout = Duration::from_secs(60);
    let port = free_port();
    let mut aggregator = start_aggregate(broker, &FORGET, port, &limit);
    send(&[mention(1, 1), mention(2, 2), mention(3, 3)]);
    wait_counted(port, 3, timeout);
    // Event 1, told longest ago, was forgotten: told again, it founds `…1-1`.
    send(&[mention(1, 4)]);
    wait_counted(port, 4, timeout);
    let one = format!("{:016x}", 1);
    let mut expected: HashMap<String, (u64, u64, u64)> = (1..=3)
        .map(|event| (format!("{event:016x}"), (1, 1, 1)))
        .collect();
    expected.insert(format!("{one}-1"), (1, 1, 1));
    let latest = read_aggregates(broker, &FORGET, &expected, timeout);
    assert_eq!(latest.len(), 4, "{latest:?}");
    assert_eq!(latest[&one]["article_ids"], json!(["forget-1"]));
    assert_eq!(
        latest[&format!("{one}-1")]["article_ids"],
        json!(["forget-4"])
    );
    // Reported once the batch is stored, so a moment after its records.
    let reported = |series: &str| metric_of(port, series);
    wait_until("two events forgotten", timeout, || {
        reported("newsflow_aggregate_forgotten_total") == Some(2.0)
    });
    assert_eq!(reported("newsflow_aggregate_events"), Some(2.0));
    terminate(&aggregator);
    assert_eq!(wait_exit(&mut aggregator, timeout), Some(0));

    // Read back within the limit, in the topic's order: `…1` is forgotten again, so event
    // 1 told once more joins `…1-1`, and the family numbers on after it.
    let port = free_port();
    let mut aggregator = start_aggregate(broker, &FORGET, port, &limit);
    send(&[mention(1, 5)]);
    wait_counted(port, 1, timeout);
    expected.insert(format!("{one}-1"), (2, 2, 1));
    let latest = read_aggregates(broker, &FORGET, &expected, timeout);
    assert_eq!(latest.len(), 4, "{latest:?}");
    assert_eq!(
        latest[&format!("{one}-1")]["article_ids"],
        json!(["forget-4", "forget-5"])
    );
    terminate(&aggregator);
    assert_eq!(wait_exit(&mut aggregator, timeout), Some(0));
}
