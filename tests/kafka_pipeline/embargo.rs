//! Embargoes and versions through `newsflow run` on Apache Kafka, under either guarantee:
//! an article embargoed a few seconds ahead reaches the output topic only once its time has
//! come (its record stamped no earlier), an embargoed article killed before its time never
//! does, nor does one a newer version without an embargo replaced, and a late older version
//! of an article produces nothing.

use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use serde_json::{json, Value};

use crate::support::{
    articles, free_port, http_get, metric, pipeline_command, reader, terminate, wait_exit,
    wait_ready, Broker, Guarantee, Keyed, SpawnRunning, Topics,
};

const EMBARGOED: &str = "embargoed-1";
const KILLED: &str = "embargoed-then-killed";
const VERSIONED: &str = "urn:newsml:example.com:2024:versioned";
const LIFTED: &str = "embargo-lifted";

/// How far ahead the embargo lies when the input is produced: past the pipeline's own
/// latency with room to spare, short enough for a test.
const EMBARGO_AHEAD: Duration = Duration::from_secs(7);

/// A record on the output topic: key, value (`None` for a tombstone) and its timestamp.
struct Published {
    key: Option<String>,
    value: Option<Value>,
    timestamp_ms: i64,
}

fn ninjs(version: &str, created: &str) -> Keyed {
    let item = json!({"uri": VERSIONED, "version": version, "versioncreated": created,
        "bodies": [{"role": "main", "value": "President Xi Jinping met President Vladimir Putin in Moscow."}]});
    (Some(VERSIONED.to_owned()), item.to_string().into_bytes())
}

fn embargoed(id: &str, until: &str) -> Keyed {
    let article = json!({"id": id, "body": "Quarterly results: revenue rose 4%.",
        "published_at": "2024-07-01T09:00:00Z", "embargoed": until, "version": 1});
    (Some(id.to_owned()), article.to_string().into_bytes())
}

/// The next version of an embargoed article, published at once.
fn lifted() -> Keyed {
    let article = json!({"id": LIFTED, "body": "Quarterly results: revenue rose 5%.",
        "published_at": "2024-07-01T09:30:00Z", "version": 2});
    (Some(LIFTED.to_owned()), article.to_string().into_bytes())
}

/// The input: a newer version, the embargoed articles, a kill of one of them and a newer
/// version of another without an embargo, the older version arriving late, and two
/// ordinary articles around them.
fn input(until: &str) -> Vec<Keyed> {
    let mut input = articles(2);
    let kill = json!({"id": KILLED, "pubstatus": "canceled"});
    input.splice(
        1..1,
        [
            ninjs("2", "2024-07-01T10:00:00Z"),
            embargoed(EMBARGOED, until),
            embargoed(KILLED, until),
            (Some(KILLED.to_owned()), kill.to_string().into_bytes()),
            embargoed(LIFTED, until),
            lifted(),
            ninjs("1", "2024-07-01T11:00:00Z"),
        ],
    );
    input
}

/// Reads the output topic until `done` holds, or `timeout` passes.
fn read_output(
    broker: &Broker,
    topic: &str,
    isolation: &str,
    done: impl Fn(&[Published]) -> bool,
    timeout: Duration,
) -> Vec<Published> {
    let consumer = reader(broker.address(), topic, 1, isolation);
    let mut records = Vec::new();
    let started = Instant::now();
    while !done(&records) && started.elapsed() < timeout {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            records.push(Published {
                key: message
                    .key()
                    .map(|k| String::from_utf8_lossy(k).into_owned()),
                value: message
                    .payload()
                    .map(|v| serde_json::from_slice(v).expect("JSON value")),
                timestamp_ms: message.timestamp().to_millis().expect("timestamp"),
            });
        }
    }
    consumer.unassign().expect("unassign");
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embargo_holds_the_article_until_its_time_and_a_late_older_version_is_dropped() {
    let broker = Broker::shared();
    for guarantee in [Guarantee::AtLeastOnce, Guarantee::ExactlyOnce] {
        let name = format!("embargo-{guarantee:?}").to_lowercase();
        let topics = Topics::create(broker, &name, 1);
        let metrics_port = free_port();
        let mut command = pipeline_command(broker.address(), &topics, metrics_port);
        command.args(["--commit-interval-ms", "200"]);
        let mut child = guarantee
            .apply(&mut command, &name)
            .spawn_running("newsflow");
        wait_ready(metrics_port, Duration::from_secs(60));

        // Whole milliseconds, as the record writes it.
        let ahead = (Utc::now() + EMBARGO_AHEAD).timestamp_millis();
        let until = DateTime::from_timestamp_millis(ahead).expect("a time");
        let until_text = until.to_rfc3339_opts(SecondsFormat::Millis, true);
        broker.produce(&topics.input, &input(&until_text)).await;
        let released =
            |records: &[Published]| records.iter().any(|r| r.key.as_deref() == Some(EMBARGOED));
        let output = read_output(
            broker,
            &topics.output,
            guarantee.isolation(),
            released,
            EMBARGO_AHEAD + Duration::from_secs(60),
        );
        assert!(released(&output), "{guarantee:?}: never released");
        // Everything, once the killed article's time has passed too.
        std::thread::sleep(Duration::from_secs(1));
        let after = read_output(
            broker,
            &topics.output,
            guarantee.isolation(),
            |_| false,
            Duration::from_secs(3),
        );
        let metrics = http_get(metrics_port, "/metrics").map(|(_, text)| text);
        let count = |series: &str| metrics.as_deref().and_then(|text| metric(text, series));
        let counts = [
            count("newsflow_articles_embargoed_total"),
            count("newsflow_articles_released_total"),
            count("newsflow_articles_superseded_total"),
            count("newsflow_embargoed_held"),
        ];
        terminate(&child);
        assert_eq!(wait_exit(&mut child, Duration::from_secs(30)), Some(0));

        let keys: Vec<&str> = after.iter().filter_map(|r| r.key.as_deref()).collect();
        let released: Vec<&Published> = after
            .iter()
            .filter(|r| r.key.as_deref() == Some(EMBARGOED))
            .collect();
        assert!(!released.is_empty(), "{guarantee:?}: {keys:?}");
        for record in &released {
            assert!(
                record.timestamp_ms >= until.timestamp_millis(),
                "{guarantee:?}: published {} ms before its embargo",
                until.timestamp_millis() - record.timestamp_ms
            );
            let value = record.value.as_ref().expect("the article");
            let embargo = value["embargoed"].as_str().expect("embargoed kept");
            assert_eq!(
                embargo.parse::<DateTime<Utc>>().ok(),
                Some(until),
                "{guarantee:?}"
            );
        }
        let killed: Vec<&Published> = after
            .iter()
            .filter(|r| r.key.as_deref() == Some(KILLED))
            .collect();
        assert!(
            killed.iter().all(|r| r.value.is_none()),
            "{guarantee:?}: the killed article was published after its kill"
        );
        let lifted: Vec<&Value> = after
            .iter()
            .filter(|r| r.key.as_deref() == Some(LIFTED))
            .filter_map(|r| r.value.as_ref())
            .map(|v| &v["source_fields"]["version"])
            .collect();
        assert_eq!(
            lifted,
            [&json!(2)],
            "{guarantee:?}: the embargoed version came out"
        );
        let versions: Vec<&Value> = after
            .iter()
            .filter(|r| r.key.as_deref() == Some(VERSIONED))
            .filter_map(|r| r.value.as_ref())
            .map(|v| &v["source_fields"]["version"])
            .collect();
        assert_eq!(versions, [&json!("2")], "{guarantee:?}: {keys:?}");
        assert_eq!(
            counts,
            [Some(3.0), Some(1.0), Some(1.0), Some(0.0)],
            "{guarantee:?}: embargoed, released, superseded, held"
        );
    }
}
