//! Shared helpers for the integration tests: Apache Kafka on loopback (scripts/kafka.sh),
//! the newsflow binary as a child process, and small Kafka and HTTP clients.

#![allow(dead_code)] // each test binary uses its own subset

mod broker;
mod outputs;
pub mod schema;

#[allow(unused_imports)] // as above
pub use broker::{Broker, Topics};
#[allow(unused_imports)] // as above
pub use outputs::{now_ms, Outputs, Tally, TransactionWatch};

/// The delivery guarantee newsflow runs with in a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarantee {
    AtLeastOnce,
    ExactlyOnce,
}

impl Guarantee {
    /// Adds the flags of `newsflow run` that choose it; exactly-once takes a transactional
    /// id per replica.
    pub fn apply<'a>(self, command: &'a mut Command, transactional_id: &str) -> &'a mut Command {
        match self {
            Self::AtLeastOnce => command,
            Self::ExactlyOnce => command
                .args(["--guarantee", "exactly-once"])
                .args(["--transactional-id", transactional_id]),
        }
    }

    /// How a downstream consumer reads the outputs: only what is committed, under
    /// exactly-once.
    pub fn isolation(self) -> &'static str {
        match self {
            Self::AtLeastOnce => "read_uncommitted",
            Self::ExactlyOnce => "read_committed",
        }
    }
}

/// A run's input: articles with malformed records spread among them.
pub struct Input {
    pub articles: Vec<Keyed>,
    pub malformed: Vec<Keyed>,
}

impl Input {
    /// `count` articles and one malformed record for every 50 of them.
    pub fn new(count: usize) -> Self {
        Self {
            articles: articles(count),
            malformed: malformed(count.div_ceil(50)),
        }
    }

    /// Every record, fed to `topic` over `duration` in the background (see [`feed`]).
    pub fn feed(
        &self,
        broker: &Broker,
        topic: &str,
        duration: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let records = interleave(self.articles.clone(), self.malformed.clone());
        feed(broker, topic, records, duration)
    }
}

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

/// A listener on a free port of 127.0.0.1 and its base URL (`http://127.0.0.1:PORT`), for
/// a test's HTTP server whose documents name its own address.
pub fn http_listener() -> (std::net::TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    (listener, base)
}

/// Serves `router` on `listener` from a thread of its own, for as long as the test runs.
pub fn serve_http(listener: std::net::TcpListener, router: axum::Router) {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                axum::serve(listener, router).await.expect("serve");
            });
    });
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Produces `records` to `topic` from a background task, a slice every 50 ms over
/// `duration`: input that still flows while a test does its worst, evenly enough that a
/// pause in output longer than that is the test's doing. Slices keep to their schedule
/// however long the broker takes to acknowledge one.
pub fn feed(
    broker: &Broker,
    topic: &str,
    records: Vec<Keyed>,
    duration: Duration,
) -> tokio::task::JoinHandle<()> {
    const EVERY: Duration = Duration::from_millis(50);
    let slices = (duration.as_millis() / EVERY.as_millis()).max(1) as usize;
    let producer = broker.producer();
    let topic = topic.to_owned();
    tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        for (index, slice) in records
            .chunks(records.len().div_ceil(slices).max(1))
            .enumerate()
        {
            tokio::time::sleep_until(started + EVERY * index as u32).await;
            produce_with(&producer, &topic, slice).await;
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

/// `newsflow run` on `brokers` with its metrics on `metrics_port` and a 6 s group session,
/// so that the partitions of a replica killed mid-stream move on within seconds. Add flags,
/// then spawn.
pub fn run_command(brokers: &str, metrics_port: u16) -> Command {
    let mut command = newsflow();
    command
        .args(["run", "--brokers", brokers])
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
        .args(["-X", "session.timeout.ms=6000"])
        .stdout(Stdio::null())
        .stderr(child_log());
    command
}

/// [`run_command`] over `topics`, in a group named after the input topic.
pub fn pipeline_command(brokers: &str, topics: &Topics, metrics_port: u16) -> Command {
    let mut command = run_command(brokers, metrics_port);
    command
        .args(topics.flags())
        .args(["--group-id", &topics.input]);
    command
}

/// Waits until the newsflow whose metrics are on `metrics_port` is ready (it holds
/// partitions and reaches a broker).
pub fn wait_ready(metrics_port: u16, timeout: Duration) {
    let started = Instant::now();
    while http_get(metrics_port, "/readyz").is_none_or(|(status, _)| status != 200) {
        assert!(
            started.elapsed() < timeout,
            "newsflow did not become ready within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
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

/// `count` malformed records, each keyed `malformed-NNNNN` so that its dead letter can be
/// told apart: broken JSON, a missing body, bytes that are not UTF-8, an empty value and an
/// array, in turn.
pub fn malformed(count: usize) -> Vec<Keyed> {
    const SHAPES: [&[u8]; 5] = [
        b"{\"id\": \"broken\", \"body\": \"cut off",
        b"{\"id\": \"no-body\"}",
        b"\xff\xfe not text",
        b"",
        b"[1, 2, 3]",
    ];
    (0..count)
        .map(|i| {
            let key = format!("malformed-{i:05}");
            (Some(key), SHAPES[i % SHAPES.len()].to_vec())
        })
        .collect()
}

/// `articles` with the `malformed` records spread evenly among them.
pub fn interleave(articles: Vec<Keyed>, malformed: Vec<Keyed>) -> Vec<Keyed> {
    let every = (articles.len() / malformed.len().max(1)).max(1);
    let mut malformed = malformed.into_iter();
    let mut out = Vec::new();
    for (i, article) in articles.into_iter().enumerate() {
        if i % every == every - 1 {
            out.extend(malformed.next());
        }
        out.push(article);
    }
    out.extend(malformed);
    out
}

/// The keys of `records`.
pub fn keys(records: &[Keyed]) -> impl Iterator<Item = &str> {
    records.iter().filter_map(|(key, _)| key.as_deref())
}

/// A small seeded random number generator (splitmix64): fault tests pick their moments from
/// it and print the seed, so that a failing run can be repeated.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `NEWSFLOW_CHAOS_SEED`, or from the clock; prints the seed.
    pub fn from_env(test: &str) -> Self {
        let seed = std::env::var("NEWSFLOW_CHAOS_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("a clock after 1970")
                    .as_nanos() as u64
            });
        eprintln!("{test}: NEWSFLOW_CHAOS_SEED={seed}");
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `range`.
    pub fn within(&mut self, range: std::ops::Range<u64>) -> u64 {
        range.start + self.next_u64() % (range.end - range.start).max(1)
    }

    /// True with probability one half.
    pub fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }
}

/// A child process that is SIGKILLed and reaped when dropped (unless it exited first): a
/// test that fails or panics midway leaves no `newsflow` running behind it. It derefs to
/// its [`Child`].
pub struct Running(Child);

/// [`Command::spawn`] for a [`Running`] child.
pub trait SpawnRunning {
    /// Spawns the command as a child that dies with the returned value; `what` names it if
    /// it cannot start.
    fn spawn_running(&mut self, what: &str) -> Running;
}

impl SpawnRunning for Command {
    fn spawn_running(&mut self, what: &str) -> Running {
        Running(self.spawn().unwrap_or_else(|e| panic!("start {what}: {e}")))
    }
}

impl std::ops::Deref for Running {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !matches!(self.0.try_wait(), Ok(Some(_))) {
            // A stopped (SIGSTOP) child dies of SIGKILL too.
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The last `count` warnings and errors of a newsflow JSON log file, one a line.
pub fn warnings(path: &std::path::Path, count: usize) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"level\":\"WARN\"") || l.contains("\"level\":\"ERROR\""))
        .collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// Sends signal `name` (`TERM`, `STOP`, `CONT`, ...) to a child process.
pub fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{name} {}", child.id());
}

/// Sends SIGTERM to a child process.
pub fn terminate(child: &Child) {
    signal(child, "TERM");
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
