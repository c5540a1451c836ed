//! At-least-once under faults, on Apache Kafka (one broker shared by these tests, each with
//! its own topics and group): the pipeline SIGKILLed mid-stream and restarted, and two
//! replicas in one group with one of them killed. Every input id must come out; duplicates
//! are allowed (at-least-once), counted and reported.
//!
//! Sizes are small enough for `make test`; `make chaos` runs the same tests at full size
//! (NEWSFLOW_CHAOS_ARTICLES=20000, NEWSFLOW_CHAOS_KILLS=3).

mod support;

use std::time::Duration;

use support::{
    articles, free_port, http_get, metric, pipeline_command, setting, Broker, KeyTally, Running,
    SpawnRunning, Topics,
};

const PARTITIONS: i32 = 4;

/// `newsflow run` on `topics`, in a group named after the input topic.
fn start_pipeline(broker: &Broker, topics: &Topics, metrics_port: u16) -> Running {
    pipeline_command(broker.address(), topics, metrics_port)
        .args(["--commit-interval-ms", "200", "--max-in-flight", "200"])
        .spawn_running("newsflow")
}

/// Topics named `name` on the shared broker, and the ids of `count` articles that a
/// background task feeds to the input topic over 10 s, so that faults land while input
/// still flows.
fn topics_with_input(
    name: &str,
    count: usize,
) -> (Topics, Vec<String>, tokio::task::JoinHandle<()>) {
    let broker = Broker::shared();
    let topics = Topics::create(broker, name, PARTITIONS as u32);
    let input = articles(count);
    let ids = input.iter().filter_map(|(key, _)| key.clone()).collect();
    let feeder = support::feed(broker, &topics.input, input, Duration::from_secs(10));
    (topics, ids, feeder)
}

fn kill(mut child: Running) {
    child.kill().expect("SIGKILL");
    let _ = child.wait();
}

fn output_tally(topics: &Topics) -> KeyTally {
    KeyTally::new(
        Broker::shared().address(),
        &topics.output,
        PARTITIONS,
        "read_uncommitted",
    )
}

/// Reads the output until every article came out (or a timeout), then stops the pipeline
/// with SIGTERM, which must drain and exit 0.
fn read_all_then_stop(tally: &mut KeyTally, count: usize, mut pipeline: Running) {
    tally.read_until(count, Duration::from_secs(300));
    tally.drain(Duration::from_secs(1));
    support::terminate(&pipeline);
    assert_eq!(
        support::wait_exit(&mut pipeline, Duration::from_secs(30)),
        Some(0)
    );
}

fn assert_nothing_lost(tally: &KeyTally, ids: &[String], what: &str) {
    let missing = tally.missing(ids.iter().map(String::as_str));
    eprintln!(
        "{what}: {} articles in, {} distinct out, {} missing, {} duplicates",
        ids.len(),
        tally.seen.len(),
        missing.len(),
        tally.duplicates()
    );
    assert!(
        missing.is_empty(),
        "{what}: {} articles lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_and_restarted_pipeline_loses_nothing() {
    let count = setting("NEWSFLOW_CHAOS_ARTICLES", 3000) as usize;
    let kills = setting("NEWSFLOW_CHAOS_KILLS", 2) as usize;
    let (topics, ids, feeder) = topics_with_input("restarts", count);
    let broker = Broker::shared();
    let mut tally = output_tally(&topics);
    for round in 1..=kills {
        let pipeline = start_pipeline(broker, &topics, free_port());
        // Kill once a further share of the articles is out: mid-stream, with records in flight.
        tally.read_until(count * round / (kills + 1), Duration::from_secs(300));
        kill(pipeline);
    }
    let last = start_pipeline(broker, &topics, free_port());
    feeder.await.expect("feeder");
    read_all_then_stop(&mut tally, count, last);
    assert_nothing_lost(&tally, &ids, &format!("{kills} kills"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_the_input_and_survive_one_dying() {
    let count = setting("NEWSFLOW_CHAOS_ARTICLES", 3000) as usize;
    let (topics, ids, feeder) = topics_with_input("replicas", count);
    let broker = Broker::shared();
    let mut tally = output_tally(&topics);
    let (port_a, port_b) = (free_port(), free_port());
    let replica_a = start_pipeline(broker, &topics, port_a);
    let replica_b = start_pipeline(broker, &topics, port_b);
    tally.read_until(count / 2, Duration::from_secs(300));
    // Both joined by now (a group forms in seconds) and share the partitions.
    let series = format!(
        "newsflow_articles_consumed_total{{topic=\"{}\"}}",
        topics.input
    );
    let consumed = |port| {
        http_get(port, "/metrics")
            .and_then(|(_, text)| metric(&text, &series))
            .unwrap_or(0.0)
    };
    let (by_a, by_b) = (consumed(port_a), consumed(port_b));
    assert!(
        by_a > 0.0 && by_b > 0.0,
        "both replicas must take part: {by_a} and {by_b} consumed"
    );
    kill(replica_a);
    feeder.await.expect("feeder");
    read_all_then_stop(&mut tally, count, replica_b);
    assert_nothing_lost(&tally, &ids, "one of two replicas killed");
}
