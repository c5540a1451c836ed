//! A broker outage in the middle of a run, on librdkafka's mock cluster (hosted by this
//! test, reached by the child over loopback; it can take its broker down and up, which a
//! real broker process cannot without losing its in-memory data). The pipeline must report
//! not-ready during the outage, resume by itself afterwards, lose nothing, and keep its
//! memory flat.
//!
//! `make chaos` runs it with a five-minute outage (NEWSFLOW_OUTAGE_SECS=300).

use std::time::{Duration, Instant};

use crate::support::{
    articles, free_port, http_get, produce_with, run_command, setting, KeyTally, Running,
    SpawnRunning,
};
use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::FutureProducer;

const PARTITIONS: i32 = 4;
const ARTICLES: usize = 1000;
const BROKER: i32 = 1;

fn start_pipeline(brokers: &str, metrics_port: u16) -> Running {
    run_command(brokers, metrics_port)
        .args(["--group-id", "outage"])
        .args(["--commit-interval-ms", "200", "--max-in-flight", "100"])
        .args(["-X", "statistics.interval.ms=1000"])
        .spawn_running("newsflow")
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn ready(port: u16) -> Option<bool> {
    http_get(port, "/readyz").map(|(status, _)| status == 200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_rides_out_a_broker_outage() {
    let outage = Duration::from_secs(setting("NEWSFLOW_OUTAGE_SECS", 12));
    let cluster = MockCluster::new(1).expect("mock cluster");
    let brokers = cluster.bootstrap_servers();
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
    let ids: Vec<String> = input.iter().filter_map(|(key, _)| key.clone()).collect();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .expect("producer");
    produce_with(&producer, "news.raw", &input[..ARTICLES / 2]).await;

    let metrics_port = free_port();
    let mut pipeline = start_pipeline(&brokers, metrics_port);
    let mut tally = KeyTally::new(&brokers, "news.enriched", PARTITIONS, "read_uncommitted");
    tally.read_until(ARTICLES / 4, Duration::from_secs(120));
    assert!(
        tally.seen.len() >= ARTICLES / 4,
        "too little came out before the outage"
    );
    let rss_before = rss_kib(pipeline.id());

    cluster.broker_down(BROKER).expect("broker down");
    let down_since = Instant::now();
    let mut reported_not_ready = false;
    let mut rss_peak = rss_before;
    while down_since.elapsed() < outage {
        reported_not_ready |= ready(metrics_port) == Some(false);
        rss_peak = rss_peak.max(rss_kib(pipeline.id()));
        assert!(
            pipeline.try_wait().expect("child status").is_none(),
            "the pipeline exited during the outage"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    cluster.broker_up(BROKER).expect("broker up");

    produce_with(&producer, "news.raw", &input[ARTICLES / 2..]).await;
    tally.read_until(ARTICLES, Duration::from_secs(180));
    let mut ready_again = false;
    for _ in 0..60 {
        if ready(metrics_port) == Some(true) {
            ready_again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let rss_after = rss_kib(pipeline.id());
    crate::support::terminate(&pipeline);
    assert_eq!(
        crate::support::wait_exit(&mut pipeline, Duration::from_secs(30)),
        Some(0)
    );

    let missing = tally.missing(ids.iter().map(String::as_str));
    eprintln!(
        "outage of {outage:?}: {} missing, {} duplicates; RSS {rss_before} KiB before, peak {rss_peak} KiB during, {rss_after} KiB after",
        missing.len(),
        tally.duplicates()
    );
    assert!(missing.is_empty(), "{} articles lost", missing.len());
    assert!(
        reported_not_ready,
        "/readyz never said not ready during the outage"
    );
    assert!(ready_again, "/readyz did not recover after the outage");
    // Flat: no growth beyond allocator noise while nothing could be delivered.
    assert!(
        rss_peak < rss_before + 64 * 1024,
        "memory grew during the outage: {rss_before} KiB → {rss_peak} KiB"
    );
}
