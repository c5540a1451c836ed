//! `newsflow run --guarantee exactly-once` on Apache Kafka, whose transactions hide what
//! is aborted from `read_committed` readers: every article's outputs are committed in
//! transactions, and such a reader sees each article exactly once.

mod support;

use std::process::{Child, Stdio};
use std::time::Duration;

use support::{
    articles, child_log, free_port, http_get, metric, newsflow, terminate, wait_exit, Broker,
    KeyTally, Topics,
};

const PARTITIONS: i32 = 3;
const ARTICLES: usize = 1500;
/// How long the input takes to arrive when it arrives while the test kills pipelines.
const FEED_TIME: Duration = Duration::from_secs(10);

/// Records per transaction, small enough that the run takes many transactions.
const TRANSACTION_MAX_RECORDS: usize = 100;

/// `newsflow run` in exactly-once mode on `topics`, in a group named after the input topic,
/// with transactional id `transactional_id`.
fn start_pipeline(topics: &Topics, transactional_id: &str, metrics_port: u16) -> Child {
    newsflow()
        .args(["run", "--brokers", Broker::shared().address()])
        .args(["--guarantee", "exactly-once"])
        .args(topics.flags())
        .args(["--group-id", &topics.input])
        .args(["--transactional-id", transactional_id])
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
        .args([
            "--transaction-max-records",
            &TRANSACTION_MAX_RECORDS.to_string(),
        ])
        .args(["-X", "session.timeout.ms=6000"])
        .stdout(Stdio::null())
        .stderr(child_log())
        .spawn()
        .expect("start newsflow")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_article_is_committed_once_through_transactions() {
    let broker = Broker::shared();
    let topics = Topics::create(broker, "committed", PARTITIONS as u32);
    let input = articles(ARTICLES);
    broker.produce(&topics.input, &input).await;

    let metrics_port = free_port();
    let mut pipeline = start_pipeline(&topics, "committed-replica-0", metrics_port);
    let mut reader = KeyTally::new(
        broker.address(),
        &topics.output,
        PARTITIONS,
        "read_committed",
    );
    reader.read_until(ARTICLES, Duration::from_secs(180));
    reader.drain(Duration::from_secs(2));
    let (_, metrics) = http_get(metrics_port, "/metrics").expect("metrics");
    terminate(&pipeline);
    assert_eq!(wait_exit(&mut pipeline, Duration::from_secs(30)), Some(0));

    let missing = reader.missing(input.iter().filter_map(|(key, _)| key.as_deref()));
    assert!(missing.is_empty(), "{} articles lost", missing.len());
    assert_eq!(reader.duplicates(), 0, "articles seen more than once");
    let committed = metric(
        &metrics,
        "newsflow_transactions_total{result=\"committed\"}",
    );
    assert!(
        committed.is_some_and(|n| n >= (ARTICLES / TRANSACTION_MAX_RECORDS) as f64),
        "committed transactions: {committed:?}"
    );
}

/// SIGKILLed mid-stream and restarted with the same transactional id, twice: each restart
/// resumes from the input offsets committed in the last committed transaction (and fences
/// and aborts a transaction the kill left open), so a `read_committed` reader still sees
/// every article exactly once. In at-least-once mode, the articles after the last offset
/// commit come out again after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_and_restarted_pipeline_still_commits_every_article_once() {
    let broker = Broker::shared();
    let topics = Topics::create(broker, "killed", PARTITIONS as u32);
    let input = articles(ARTICLES);
    let feeder = support::feed(broker, &topics.input, input.clone(), FEED_TIME);
    let output = |isolation| KeyTally::new(broker.address(), &topics.output, PARTITIONS, isolation);
    let mut reader = output("read_committed");

    let start = || start_pipeline(&topics, "killed-replica-0", free_port());
    let kills = 2;
    for round in 1..=kills {
        let mut pipeline = start();
        reader.read_until(ARTICLES * round / (kills + 1), Duration::from_secs(180));
        pipeline.kill().expect("SIGKILL");
        let _ = pipeline.wait();
    }
    let mut pipeline = start();
    feeder.await.expect("feeder");
    reader.read_until(ARTICLES, Duration::from_secs(180));
    reader.drain(Duration::from_secs(2));
    terminate(&pipeline);
    assert_eq!(wait_exit(&mut pipeline, Duration::from_secs(30)), Some(0));

    // What the kills left behind in aborted transactions, which only read_uncommitted sees.
    let mut everything = output("read_uncommitted");
    everything.read_until(ARTICLES, Duration::from_secs(30));
    everything.drain(Duration::from_secs(2));
    let missing = reader.missing(input.iter().filter_map(|(key, _)| key.as_deref()));
    eprintln!(
        "{kills} kills: {} distinct articles committed, {} missing, {} duplicates; {} aborted records",
        reader.seen.len(),
        missing.len(),
        reader.duplicates(),
        everything.duplicates()
    );
    assert!(missing.is_empty(), "{} articles lost", missing.len());
    assert_eq!(reader.duplicates(), 0, "articles seen more than once");
}
