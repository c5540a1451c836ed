//! The three-node Apache Kafka cluster (`Broker::cluster` in tests/support) and leader
//! failover under load on it.
//!
//! The cluster itself: a killed partition leader is replaced by another node, every record
//! acknowledged before and after survives, and the killed node restarts on its own ports
//! and data and catches up.
//!
//! Leader failover under load (topics replicated three times, two replicas in sync needed to
//! take a write; newsflow's idempotent producer waits for all of them): the leader of a partition receiving input is SIGKILLed mid-stream while
//! input keeps arriving, and restarted later. In at-least-once mode nothing is lost (copies
//! are counted and reported); in exactly-once mode nothing is lost and nothing comes out
//! twice. Each test prints the longest pause in output the failover caused.
//!
//! The node killed is the group coordinator of the pipeline's group too when that node leads
//! an input partition (with three partitions on three nodes it nearly always does): the
//! offsets of every transaction and every commit go there, the hardest case. It may also be
//! the transaction coordinator, or lead output partitions: whatever it was, the others take
//! over.

mod support;

use std::sync::OnceLock;
use std::time::Duration;

use support::{
    articles, free_port, now_ms, pipeline_command, setting, terminate, wait_exit, wait_ready,
    warnings, Broker, Guarantee, Input, Outputs, SpawnRunning, Topics,
};

const PARTITIONS: i32 = 3;
const TIMEOUT: Duration = Duration::from_secs(180);

/// One cluster for the tests of this binary, which take turns: each kills and restarts a
/// node, and leaves every replica in sync for the next.
fn cluster() -> &'static Broker {
    static CLUSTER: OnceLock<Broker> = OnceLock::new();
    CLUSTER.get_or_init(|| Broker::cluster(3))
}

/// One test at a time on the cluster.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn leader_failover(name: &str, guarantee: Guarantee) {
    let _turn = TURN.lock().await;
    let count = setting("NEWSFLOW_FAILOVER_ARTICLES", 2000) as usize;
    let feed_time = Duration::from_secs(setting("NEWSFLOW_FAILOVER_FEED_SECS", 20));
    let cluster = cluster();
    let topics = Topics::create(cluster, name, PARTITIONS as u32);
    let input = Input::new(count);
    let mut outputs = Outputs::new(
        cluster.address(),
        &topics,
        PARTITIONS,
        guarantee.isolation(),
    );

    let metrics_port = free_port();
    let mut command = pipeline_command(cluster.address(), &topics, metrics_port);
    guarantee.apply(&mut command, &format!("{name}-replica-0"));
    // Its log, to tell why output stopped should it stop (all of it with NEWSFLOW_TEST_LOGS).
    let log = tempfile::NamedTempFile::new().expect("log file");
    command.stderr(log.reopen().expect("log file"));
    let mut pipeline = command.spawn_running("newsflow");
    wait_ready(metrics_port, TIMEOUT);
    let feeder = input.feed(cluster, &topics.input, feed_time);
    outputs.read_until(count / 4, 0, TIMEOUT);

    // The input partition whose leader is killed (every partition receives input): the one
    // the group coordinator leads, if any.
    let leaders: Vec<i32> = (0..PARTITIONS)
        .map(|p| cluster.leader(&topics.input, p).expect("a leader"))
        .collect();
    let coordinator = cluster.group_coordinator(&topics.input);
    let busy = (0..PARTITIONS)
        .find(|&p| Some(leaders[p as usize]) == coordinator)
        .unwrap_or(0);
    let leader = leaders[busy as usize];
    let killed_at = now_ms();
    cluster.kill_node(leader);
    let successor = cluster.leader_other_than(&topics.input, busy, leader);
    // Output goes on without the node: another quarter of the articles comes out.
    let out_before = outputs.articles.len();
    outputs.read_until(out_before + count / 4, 0, TIMEOUT);
    let restarted_at = now_ms();
    cluster.restart_node(leader);
    eprintln!(
        "{name}: node {leader} (leading {}/{busy}; group coordinator: node {coordinator:?}) killed ({} articles out), node {successor} took over, node {leader} restarted {:.1} s later ({} articles out)",
        topics.input,
        out_before,
        (restarted_at - killed_at) as f64 / 1000.0,
        outputs.articles.len()
    );

    feeder.await.expect("feeder");
    let fed_to = now_ms();
    outputs.read_all(&input, TIMEOUT);
    let missing = outputs.articles.len() < count;
    let exited = pipeline.try_wait().expect("newsflow's status");
    if std::env::var_os("NEWSFLOW_TEST_LOGS").is_some() {
        eprintln!(
            "{}",
            std::fs::read_to_string(log.path()).unwrap_or_default()
        );
    }
    if missing || exited.is_some() {
        eprintln!(
            "{name}: newsflow {}; its last warnings and errors:\n{}",
            exited.map_or("still runs".to_owned(), |s| format!(
                "exited by itself: {s}"
            )),
            warnings(log.path(), 20)
        );
    }
    if exited.is_none() {
        terminate(&pipeline);
    }
    let exit = wait_exit(&mut pipeline, Duration::from_secs(30));
    cluster.wait_all_in_sync();

    eprintln!(
        "{name}: longest pauses from the kill to the restart {}; in the 5 s before the kill {}; after the restart {}",
        outputs.pauses(killed_at, restarted_at),
        outputs.pauses(killed_at - 5000, killed_at),
        outputs.pauses(restarted_at, fed_to),
    );
    outputs.assert_delivered(&input, guarantee, name);
    assert_eq!(exit, Some(0), "{name}: newsflow did not drain and exit 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_loses_nothing_when_a_partition_leader_dies() {
    leader_failover("failover-alo", Guarantee::AtLeastOnce).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_loses_and_repeats_nothing_when_a_partition_leader_dies() {
    leader_failover("failover-eos", Guarantee::ExactlyOnce).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_and_its_node_restarts_and_catches_up() {
    let _turn = TURN.lock().await;
    let cluster = cluster();
    let topic = "cluster-nodes";
    cluster.create_topic(topic, 1);
    let records = articles(200);
    cluster.produce(topic, &records[..100]).await;

    let leader = cluster.leader(topic, 0).expect("a leader");
    cluster.kill_node(leader);
    assert_eq!(cluster.pid(leader), None, "node {leader} still runs");
    let successor = cluster.leader_other_than(topic, 0, leader);
    // Two replicas of three in sync are enough to take writes.
    cluster.produce(topic, &records[100..]).await;

    cluster.restart_node(leader);
    assert!(
        cluster.pid(leader).is_some(),
        "node {leader} did not restart"
    );
    cluster.wait_in_sync(topic, 0);
    // The restarted node serves from its former address: it alone holds the partition now.
    cluster.kill_node(successor);
    let remaining: Vec<i32> = cluster.nodes().filter(|&node| node != successor).collect();
    let last = cluster.leader_other_than(topic, 0, successor);
    assert!(remaining.contains(&last), "leader {last} of {remaining:?}");

    let read = cluster.consume(topic, 1, records.len(), Duration::from_secs(60));
    let mut keys: Vec<&[u8]> = read.iter().filter_map(|r| r.key.as_deref()).collect();
    keys.sort();
    let mut expected: Vec<&[u8]> = records
        .iter()
        .filter_map(|(key, _)| key.as_deref().map(str::as_bytes))
        .collect();
    expected.sort();
    assert_eq!(
        keys, expected,
        "records acknowledged before and after the failover"
    );
    // Whole again for the next test.
    cluster.restart_node(successor);
    cluster.wait_in_sync(topic, 0);
}
