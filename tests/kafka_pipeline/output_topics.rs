//! Output topics that do not exist, on Apache Kafka without topic auto-creation (as
//! scripts/kafka.sh configures it): start-up fails with exit code 2 naming them, or creates
//! them when `--create-topics` is given, and records then flow.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{
    articles, free_port, http_get, metric, pipeline_command, terminate, wait_exit, wait_ready,
    Broker, SpawnRunning, Topics,
};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;

#[test]
fn a_missing_events_topic_fails_start_up_with_exit_code_2_naming_it() {
    let broker = Broker::shared();
    let topics = Topics::new("missing-events");
    for topic in [&topics.input, &topics.output, &topics.dlq, &topics.embargo] {
        broker.create_topic(topic, 1);
    }
    let mut child = pipeline_command(broker.address(), &topics, free_port())
        .stderr(Stdio::piped())
        .spawn_running("newsflow");
    let code = wait_exit(&mut child, Duration::from_secs(60));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "output topics missing on the cluster: {}",
            topics.events
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(&topics.output), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn create_topics_creates_the_missing_outputs_and_records_flow() {
    const COUNT: usize = 20;
    let broker = Broker::shared();
    let topics = Topics::new("created-outputs");
    broker.create_topic(&topics.input, 1);
    let input = articles(COUNT);
    broker.produce(&topics.input, &input).await;
    let metrics_port = free_port();
    let mut child = pipeline_command(broker.address(), &topics, metrics_port)
        .args(["--create-topics", "--topic-partitions", "2"])
        .spawn_running("newsflow");
    // Ready once the topics are created and the input is assigned.
    wait_ready(metrics_port, Duration::from_secs(120));
    let output = broker.consume(&topics.output, 2, COUNT, Duration::from_secs(120));
    terminate(&child);
    assert_eq!(wait_exit(&mut child, Duration::from_secs(30)), Some(0));
    assert_eq!(output.len(), COUNT);
    let events = broker.consume(&topics.events, 2, 1, Duration::from_secs(30));
    assert!(
        !events.is_empty(),
        "no event reached the created events topic"
    );
}

/// The events topic deleted while the pipeline runs: the replica turns not ready and says
/// which topic in `newsflow_output_topic_missing`, instead of stalling without a word.
#[tokio::test(flavor = "multi_thread")]
async fn an_output_topic_deleted_while_running_makes_the_replica_not_ready() {
    let broker = Broker::shared();
    let topics = Topics::create(broker, "deleted-events", 1);
    let metrics_port = free_port();
    let mut child =
        pipeline_command(broker.address(), &topics, metrics_port).spawn_running("newsflow");
    wait_ready(metrics_port, Duration::from_secs(120));
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", broker.address())
        .create()
        .expect("admin client");
    let deleted = admin
        .delete_topics(&[&topics.events], &AdminOptions::new())
        .await
        .expect("delete topics");
    assert!(deleted.iter().all(Result::is_ok), "{deleted:?}");
    broker.produce(&topics.input, &articles(20)).await;
    let series = format!(
        "newsflow_output_topic_missing{{topic=\"{}\"}}",
        topics.events
    );
    let started = Instant::now();
    let missing = loop {
        let readiness = http_get(metrics_port, "/readyz");
        let metrics = http_get(metrics_port, "/metrics").map(|(_, text)| text);
        let flagged = metrics.as_deref().and_then(|text| metric(text, &series));
        if readiness.is_some_and(|(status, _)| status == 503) && flagged == Some(1.0) {
            break true;
        }
        if started.elapsed() > Duration::from_secs(150) {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    terminate(&child);
    let _ = wait_exit(&mut child, Duration::from_secs(30));
    assert!(missing, "not marked missing and not ready within 150 s");
}
