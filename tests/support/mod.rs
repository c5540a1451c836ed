//! Shared helpers for the integration tests: Apache Kafka on loopback (scripts/kafka.sh),
//! the newsflow binary as a child process, and small Kafka and HTTP clients.

#![allow(dead_code)] // each test binary uses its own subset

mod broker;
pub mod schema;

#[allow(unused_imports)] // as above
pub use broker::{Broker, Topics};

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

/// A record to produce: optional key, value.
pub type Keyed = (Option<String>, Vec<u8>);

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Produces `records` to `topic` from a background task, in 100 slices spread over
/// `duration`: input that still flows while a test does its worst.
pub fn feed(
    broker: &Broker,
    topic: &str,
    records: Vec<Keyed>,
    duration: Duration,
) -> tokio::task::JoinHandle<()> {
    const SLICES: usize = 100;
    let producer = broker.producer();
    let topic = topic.to_owned();
    tokio::spawn(async move {
        for slice in records.chunks(records.len().div_ceil(SLICES).max(1)) {
            produce_with(&producer, &topic, slice).await;
            tokio::time::sleep(duration / SLICES as u32).await;
        }
    })
}

/// Produces every value (with its key) through `producer` and waits for all
/// acknowledgements.
pub async fn produce_with(producer: &FutureProducer, topic: &str, records: &[Keyed]) {
    let sends = records.iter().map(|(key, value)| {
        let mut record = FutureRecord::<str, [u8]>::to(topic).payload(&value[..]);
        if let Some(key) = key {
            record = record.key(key.as_str());
        }
        producer.send(record, Duration::from_secs(30))
    });
    for result in futures::future::join_all(sends).await {
        result.map_err(|(e, _)| e).expect("produce");
    }
}

/// A consumer assigned to every partition of `topic` from the beginning, outside any
/// group's committed offsets. `isolation` is `read_committed` or `read_uncommitted`.
pub fn reader(brokers: &str, topic: &str, partitions: i32, isolation: &str) -> BaseConsumer {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "newsflow-test-reader")
        .set("isolation.level", isolation)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut list = TopicPartitionList::new();
    for partition in 0..partitions {
        list.add_partition_offset(topic, partition, Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&list).expect("assign");
    consumer
}

/// A number from the environment variable `name`, or `default`: the fault tests and
/// benchmarks take their sizes from it.
pub fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How many times each key appeared on a topic, read from the beginning of every
/// partition as records arrive (keys are article ids on the output topic).
pub struct KeyTally {
    consumer: BaseConsumer,
    pub seen: std::collections::HashMap<String, usize>,
}

impl KeyTally {
    pub fn new(brokers: &str, topic: &str, partitions: i32, isolation: &str) -> Self {
        let consumer = reader(brokers, topic, partitions, isolation);
        Self {
            consumer,
            seen: std::collections::HashMap::new(),
        }
    }

    /// Reads until `distinct` keys were seen or `timeout` passed.
    pub fn read_until(&mut self, distinct: usize, timeout: Duration) {
        let started = Instant::now();
        while self.seen.len() < distinct && started.elapsed() < timeout {
            // Errors such as "all brokers down" are transient here: the reader retries.
            if let Some(Ok(message)) = self.consumer.poll(Duration::from_millis(100)) {
                let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
                *self.seen.entry(key).or_default() += 1;
            }
        }
    }

    /// Reads whatever else arrives within `quiet`.
    pub fn drain(&mut self, quiet: Duration) {
        self.read_until(usize::MAX, quiet);
    }

    /// Keys of `expected` never seen.
    pub fn missing<'a>(&self, expected: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        expected
            .into_iter()
            .filter(|key| !self.seen.contains_key(*key))
            .collect()
    }

    /// Records beyond the first of each key.
    pub fn duplicates(&self) -> usize {
        self.seen.values().map(|n| n - 1).sum()
    }
}

#[derive(Debug, Clone)]
pub struct Record {
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl Record {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

pub fn wait_for_port(port: u16, timeout: Duration) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < timeout,
            "nothing listens on 127.0.0.1:{port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// GET `path` from 127.0.0.1:`port`; returns the status code and body.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

/// The value of a metric line (name with labels, exactly as exposed) in Prometheus text.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        line.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// The newsflow binary under test.
pub fn newsflow() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_newsflow"));
    command.env("NEWSFLOW_LOG_FORMAT", "json");
    command
}

/// Where a child's stderr goes: inherited when `NEWSFLOW_TEST_LOGS` is set (to debug a
/// failing test), else discarded.
pub fn child_log() -> Stdio {
    if std::env::var_os("NEWSFLOW_TEST_LOGS").is_some() {
        Stdio::inherit()
    } else {
        Stdio::null()
    }
}

/// Path of a file in the repository.
pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// `n` distinct good raw articles, cycled from the sample feed's raw articles (not its
/// ninjs items or its deliberately broken records) with fresh ids.
pub fn articles(n: usize) -> Vec<Keyed> {
    articles_from(&repo_path("data/sample-feed.jsonl"), n)
}

/// `n` distinct raw articles cycled from the JSON Lines file at `path`, with fresh ids.
pub fn articles_from(path: &std::path::Path, n: usize) -> Vec<Keyed> {
    let feed = std::fs::read_to_string(path).expect("articles file");
    let templates: Vec<serde_json::Value> = feed
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v.get("id").is_some() && v.get("body").is_some())
        .collect();
    (0..n)
        .map(|i| {
            let mut article = templates[i % templates.len()].clone();
            let id = format!("article-{i:05}");
            article["id"] = id.clone().into();
            (Some(id), serde_json::to_vec(&article).expect("serialise"))
        })
        .collect()
}

/// Sends SIGTERM to a child process.
pub fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// Waits up to `timeout` for a child to exit; returns its exit code.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<i32> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    None
}
