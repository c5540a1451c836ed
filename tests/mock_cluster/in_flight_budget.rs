//! The byte budget of records in flight (`--max-in-flight-bytes`), on librdkafka's mock
//! cluster (hosted by this test, reached by the child over loopback). With a budget smaller
//! than any record, every record goes through alone and none waits forever: at-least-once
//! never has two records in flight, and exactly-once commits each record in a transaction
//! of its own, however long a transaction may collect records.

use std::time::{Duration, Instant};

use crate::support::{
    articles, free_port, http_get, metric, produce_with, run_command, terminate, wait_exit,
    KeyTally, Keyed, Running, SpawnRunning,
};
use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DefaultProducerContext, FutureProducer};

const PARTITIONS: i32 = 2;
const ARTICLES: usize = 30;

type Cluster = MockCluster<'static, DefaultProducerContext>;

/// A mock cluster with the pipeline's topics and `ARTICLES` articles on the input.
async fn cluster_with_input() -> (Cluster, Vec<Keyed>) {
    let cluster = MockCluster::new(1).expect("mock cluster");
    for topic in [
        "news.raw",
        "news.enriched",
        "news.events",
        "news.dlq",
        "news.embargoed",
    ] {
        cluster.create_topic(topic, PARTITIONS, 1).expect("topic");
    }
    let input = articles(ARTICLES);
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()
        .expect("producer");
    produce_with(&producer, "news.raw", &input).await;
    (cluster, input)
}

/// `newsflow run` with a one-byte budget: every article is larger.
fn start_pipeline(brokers: &str, metrics_port: u16, args: &[&str]) -> Running {
    run_command(brokers, metrics_port)
        .args(["--max-in-flight-bytes", "1", "-X", "producer.linger.ms=0"])
        .args(args)
        .spawn_running("newsflow")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_holds_one_record_at_a_time_when_each_exceeds_the_budget() {
    let (cluster, _) = cluster_with_input().await;
    let metrics_port = free_port();
    let mut pipeline = start_pipeline(&cluster.bootstrap_servers(), metrics_port, &[]);
    let enriched = "newsflow_records_produced_total{topic=\"news.enriched\"}";
    let mut most_in_flight = 0.0_f64;
    let mut produced = 0.0;
    let started = Instant::now();
    while produced < ARTICLES as f64 && started.elapsed() < Duration::from_secs(120) {
        if let Some((_, text)) = http_get(metrics_port, "/metrics") {
            let in_flight = metric(&text, "newsflow_in_flight_records").unwrap_or(0.0);
            most_in_flight = most_in_flight.max(in_flight);
            produced = metric(&text, enriched).unwrap_or(0.0);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    terminate(&pipeline);
    assert_eq!(wait_exit(&mut pipeline, Duration::from_secs(30)), Some(0));
    assert_eq!(produced, ARTICLES as f64, "every article enriched");
    assert_eq!(most_in_flight, 1.0, "records in flight at once, at most");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_commits_a_record_larger_than_the_budget_in_a_transaction_of_its_own() {
    let (cluster, input) = cluster_with_input().await;
    let brokers = cluster.bootstrap_servers();
    let metrics_port = free_port();
    // A whole second to collect records: without the budget, a few transactions would
    // take all of them.
    let mut pipeline = start_pipeline(
        &brokers,
        metrics_port,
        &[
            "--guarantee",
            "exactly-once",
            "--transactional-id",
            "budget-replica-0",
            "--transaction-interval-ms",
            "1000",
        ],
    );
    let mut reader = KeyTally::new(&brokers, "news.enriched", PARTITIONS, "read_committed");
    reader.read_until(ARTICLES, Duration::from_secs(120));
    // A transaction is counted once its commit returns, a moment after readers see it.
    let series = "newsflow_transactions_total{result=\"committed\"}";
    let mut committed = None;
    let started = Instant::now();
    while committed < Some(ARTICLES as f64) && started.elapsed() < Duration::from_secs(30) {
        committed = http_get(metrics_port, "/metrics").and_then(|(_, text)| metric(&text, series));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    terminate(&pipeline);
    assert_eq!(wait_exit(&mut pipeline, Duration::from_secs(30)), Some(0));

    let missing = reader.missing(input.iter().filter_map(|(key, _)| key.as_deref()));
    assert!(
        missing.is_empty(),
        "{} articles not committed",
        missing.len()
    );
    assert_eq!(reader.duplicates(), 0, "articles seen more than once");
    assert!(
        committed >= Some(ARTICLES as f64),
        "committed transactions: {committed:?}"
    );
}
