//! `newsflow run --guarantee exactly-once` on librdkafka's mock cluster (hosted by this test
//! process, reached by the child over loopback; the tansu test broker has no transactions):
//! every article's outputs are committed in transactions, and a `read_committed` reader
//! sees each article exactly once.
//!
//! The mock cluster neither applies offsets sent to a transaction nor hides aborted
//! transactions from readers, so a kill-and-restart scenario cannot be judged on it.

mod support;

use std::process::{Child, Stdio};
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use support::{
    articles, child_log, free_port, http_get, metric, newsflow, terminate, wait_exit, KeyTally,
};

const PARTITIONS: i32 = 3;
const ARTICLES: usize = 1500;

/// Records per transaction, small enough that the run takes many transactions.
const TRANSACTION_MAX_RECORDS: usize = 100;

fn start_pipeline(brokers: &str, metrics_port: u16) -> Child {
    newsflow()
        .args(["run", "--brokers", brokers, "--guarantee", "exactly-once"])
        .args([
            "--group-id",
            "eos-group",
            "--transactional-id",
            "eos-replica-0",
        ])
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
    let cluster = MockCluster::new(1).expect("mock cluster");
    let brokers = cluster.bootstrap_servers();
    for topic in ["news.raw", "news.enriched", "news.events", "news.dlq"] {
        cluster.create_topic(topic, PARTITIONS, 1).expect("topic");
    }
    let input = articles(ARTICLES);
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .expect("producer");
    let sends = input.iter().map(|(key, value)| {
        producer.send(
            FutureRecord::to("news.raw")
                .key(key.as_deref().unwrap_or_default())
                .payload(&value[..]),
            Duration::from_secs(10),
        )
    });
    for result in futures::future::join_all(sends).await {
        result.map_err(|(e, _)| e).expect("produce input");
    }

    let metrics_port = free_port();
    let mut pipeline = start_pipeline(&brokers, metrics_port);
    let mut reader = KeyTally::new(&brokers, "news.enriched", PARTITIONS, "read_committed");
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
