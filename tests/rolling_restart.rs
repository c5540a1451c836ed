//! Rolling restarts on Apache Kafka: two replicas in one group share the input, and each in
//! turn is stopped (SIGTERM), started again and waited for, while input keeps arriving.
//! Nothing may be lost; in exactly-once mode nothing may come out twice either, and in
//! at-least-once mode the copies are counted and reported. Each test prints the longest
//! pause in output the restarts caused: with the default eager assignment, every rebalance
//! takes every partition from every replica for a moment; with cooperative-sticky
//! assignment, only the partitions that move.

mod support;

use std::time::Duration;

use support::{
    free_port, now_ms, pipeline_command, terminate, wait_exit, wait_ready, Broker, Guarantee,
    Input, Outputs, Running, SpawnRunning, Topics,
};

const PARTITIONS: i32 = 4;
const ARTICLES: usize = 3000;
/// Input arrives over this long, at a rate the replicas keep up with, so that a pause in
/// output is the restarts' doing and not a backlog.
const FEED_TIME: Duration = Duration::from_secs(30);
const TIMEOUT: Duration = Duration::from_secs(180);
/// Exactly-once batches collect records for this long, ten times the default, so that the
/// rebalances of a restart fall inside a batch being collected (which once committed the
/// records of a partition revoked and assigned again meanwhile twice); it also makes the
/// pauses in output of exactly-once runs about this long, restarts or not.
const TRANSACTION_INTERVAL_MS: &str = "1000";

#[derive(Clone, Copy)]
enum Assignment {
    /// librdkafka's default (range, roundrobin): every rebalance revokes everything.
    Eager,
    /// Incremental: a rebalance revokes only the partitions that move.
    CooperativeSticky,
}

/// One replica of the group: `newsflow run` with its metrics port.
struct Replica {
    child: Running,
    metrics_port: u16,
}

struct Setup {
    topics: Topics,
    guarantee: Guarantee,
    assignment: Assignment,
}

impl Setup {
    /// Replica `replica`, with a transactional id of its own that survives its restart.
    fn start(&self, replica: usize) -> Replica {
        let metrics_port = free_port();
        let mut command = pipeline_command(Broker::shared().address(), &self.topics, metrics_port);
        self.guarantee
            .apply(&mut command, &format!("{}-{replica}", self.topics.input));
        if self.guarantee == Guarantee::ExactlyOnce {
            command.args(["--transaction-interval-ms", TRANSACTION_INTERVAL_MS]);
        }
        if let Assignment::CooperativeSticky = self.assignment {
            command.args([
                "-X",
                "consumer.partition.assignment.strategy=cooperative-sticky",
            ]);
        }
        let child = command.spawn_running("newsflow");
        Replica {
            child,
            metrics_port,
        }
    }

    /// SIGTERM, which must drain and exit 0.
    fn stop(replica: Replica) {
        let mut child = replica.child;
        terminate(&child);
        assert_eq!(wait_exit(&mut child, Duration::from_secs(30)), Some(0));
    }
}

async fn rolling_restart(name: &str, guarantee: Guarantee, assignment: Assignment) {
    let broker = Broker::shared();
    let setup = Setup {
        topics: Topics::create(broker, name, PARTITIONS as u32),
        guarantee,
        assignment,
    };
    let input = Input::new(ARTICLES);
    let mut outputs = Outputs::new(
        broker.address(),
        &setup.topics,
        PARTITIONS,
        guarantee.isolation(),
    );
    let mut replicas: Vec<Replica> = (0..2).map(|r| setup.start(r)).collect();
    for replica in &replicas {
        wait_ready(replica.metrics_port, TIMEOUT);
    }
    let fed_from = now_ms();
    let feeder = input.feed(broker, &setup.topics.input, FEED_TIME);
    outputs.read_until(ARTICLES / 5, 0, TIMEOUT);

    let restarts_from = now_ms();
    for index in 0..replicas.len() {
        Setup::stop(replicas.remove(index));
        let restarted = setup.start(index);
        wait_ready(restarted.metrics_port, TIMEOUT);
        replicas.insert(index, restarted);
    }
    let restarts_to = now_ms();
    feeder.await.expect("feeder");
    let fed_to = now_ms();
    outputs.read_all(&input, TIMEOUT);
    for replica in replicas {
        Setup::stop(replica);
    }

    eprintln!(
        "{name}: restarts took {:.1} s; longest pauses during them {}; before them {}; after them {}",
        (restarts_to - restarts_from) as f64 / 1000.0,
        outputs.pauses(restarts_from, restarts_to),
        outputs.pauses(fed_from + 1000, restarts_from),
        outputs.pauses(restarts_to, fed_to),
    );
    outputs.assert_delivered(&input, guarantee, name);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_eager_rolling_restart_loses_nothing() {
    rolling_restart(
        "rolling-alo-eager",
        Guarantee::AtLeastOnce,
        Assignment::Eager,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_cooperative_rolling_restart_loses_nothing() {
    rolling_restart(
        "rolling-alo-cooperative",
        Guarantee::AtLeastOnce,
        Assignment::CooperativeSticky,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_eager_rolling_restart_commits_everything_once() {
    rolling_restart(
        "rolling-eos-eager",
        Guarantee::ExactlyOnce,
        Assignment::Eager,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_cooperative_rolling_restart_commits_everything_once() {
    rolling_restart(
        "rolling-eos-cooperative",
        Guarantee::ExactlyOnce,
        Assignment::CooperativeSticky,
    )
    .await;
}
