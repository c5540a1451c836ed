//! Apache Kafka for the tests: a node or a cluster on loopback, run by scripts/kafka.sh, with
//! its topics made by rdkafka's admin client and the pipeline's topics named per test.

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::message::{Headers, Message};
use rdkafka::metadata::{Metadata, MetadataPartition};
use rdkafka::producer::FutureProducer;

use super::{produce_with, reader, repo_path, Keyed, Record};

/// Apache Kafka in KRaft mode on 127.0.0.1, run by scripts/kafka.sh in a temporary
/// directory: one node, or a cluster whose nodes can be killed and restarted. Node ids are
/// 1 to the node count. Dropping it kills its JVMs; when the test process dies without
/// dropping it (a shared broker, an abort, a kill), the script's watchdog does it within a
/// second.
pub struct Broker {
    dir: tempfile::TempDir,
    bootstrap: String,
    nodes: usize,
}

/// How long a broker operation (a topic created, a leader elected) may take on a loaded
/// machine.
const BROKER_TIMEOUT: Duration = Duration::from_secs(60);

impl Broker {
    /// One node shared by every test of this test binary: a JVM takes seconds to start, so
    /// tests share it, each with topics and a group of its own ([`Topics`]).
    pub fn shared() -> &'static Broker {
        static SHARED: OnceLock<Broker> = OnceLock::new();
        SHARED.get_or_init(Broker::start)
    }

    /// A node of one's own.
    pub fn start() -> Self {
        Self::cluster(1)
    }

    /// `nodes` nodes, each a controller and a broker. Topics get min(`nodes`, 3) replicas
    /// and, replicated, need 2 of them in sync to take a write.
    pub fn cluster(nodes: usize) -> Self {
        Self::launch(nodes, &[])
    }

    /// A node with the JVM settings Kafka's own scripts use (1 GiB heap, G1, the optimising
    /// compiler) instead of the quick-starting ones: for throughput figures.
    pub fn for_benchmarks() -> Self {
        Self::launch(
            1,
            &[
                ("KAFKA_HEAP_OPTS", "-Xms1g -Xmx1g"),
                (
                    "KAFKA_JVM_PERFORMANCE_OPTS",
                    "-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35",
                ),
            ],
        )
    }

    fn launch(nodes: usize, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("newsflow-kafka-")
            .tempdir()
            .expect("temporary directory");
        let output = kafka_script()
            .arg("start")
            .arg(dir.path())
            .args(["--nodes", &nodes.to_string()])
            .args(["--owner", &std::process::id().to_string()])
            .envs(env.iter().copied())
            .output()
            .expect("run scripts/kafka.sh");
        assert!(
            output.status.success(),
            "scripts/kafka.sh could not start Kafka (Java 17 and Maven are needed):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let bootstrap = String::from_utf8(output.stdout)
            .expect("bootstrap address")
            .trim()
            .to_owned();
        let broker = Self {
            dir,
            bootstrap,
            nodes,
        };
        broker.wait_for(
            |metadata| metadata.brokers().len() == nodes,
            "every node to serve",
        );
        broker
    }

    /// The bootstrap address: every node's.
    pub fn address(&self) -> &str {
        &self.bootstrap
    }

    /// The node ids.
    pub fn nodes(&self) -> std::ops::RangeInclusive<i32> {
        1..=self.nodes as i32
    }

    /// The process id of node `node` while it runs (its JVM, known by its command line: a
    /// killed one may linger a moment as a zombie).
    pub fn pid(&self, node: i32) -> Option<u32> {
        // As the script names it.
        let node_dir = self
            .dir
            .path()
            .canonicalize()
            .ok()?
            .join(format!("node-{node}"));
        let pid: u32 = std::fs::read_to_string(node_dir.join("pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let command_line = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let config = node_dir.join("server.properties");
        let config = config.to_str()?.as_bytes();
        command_line
            .split(|&byte| byte == 0)
            .any(|arg| arg.ends_with(config))
            .then_some(pid)
    }

    /// Creates `name` with `partitions` partitions, replicated as [`Broker::cluster`]
    /// says, and waits until every partition has a leader.
    pub fn create_topic(&self, name: &str, partitions: u32) {
        let replicas = self.nodes.min(3) as i32;
        let topic = NewTopic::new(name, partitions as i32, TopicReplication::Fixed(replicas));
        let options = AdminOptions::new().operation_timeout(Some(BROKER_TIMEOUT));
        let results = futures::executor::block_on(self.admin().create_topics([&topic], &options))
            .expect("create topics");
        for result in results {
            result.unwrap_or_else(|(topic, code)| panic!("creating topic {topic} failed: {code}"));
        }
        self.wait_for(
            |metadata| {
                metadata.topics().iter().any(|t| {
                    t.name() == name
                        && t.partitions().len() == partitions as usize
                        && t.partitions().iter().all(|p| p.leader() >= 0)
                })
            },
            &format!("every partition of {name} to have a leader"),
        );
    }

    /// The node leading `partition` of `topic` as the cluster's metadata says now (it still
    /// names a killed leader until the controller fences that node), if any.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<i32> {
        let metadata = self.metadata(&self.admin())?;
        let leader = partition_metadata(&metadata, topic, partition)?.leader();
        (leader >= 0).then_some(leader)
    }

    /// The node coordinating consumer group `group` now: the leader of its partition of
    /// `__consumer_offsets` (the absolute value of the group id's Java string hash modulo
    /// the partition count), once that topic exists.
    pub fn group_coordinator(&self, group: &str) -> Option<i32> {
        let metadata = self.metadata(&self.admin())?;
        let offsets = metadata
            .topics()
            .iter()
            .find(|t| t.name() == "__consumer_offsets")?;
        let hash = group.encode_utf16().fold(0i32, |hash, unit| {
            hash.wrapping_mul(31).wrapping_add(unit.into())
        });
        let partition = (hash & 0x7fff_ffff) % offsets.partitions().len() as i32;
        let leader = partition_metadata(&metadata, "__consumer_offsets", partition)?.leader();
        (leader >= 0).then_some(leader)
    }

    /// Waits until a node other than `node` leads `partition` of `topic`, and returns it:
    /// after `node` was killed, the new leader.
    pub fn leader_other_than(&self, topic: &str, partition: i32, node: i32) -> i32 {
        let mut leader = None;
        self.wait_for(
            |metadata| {
                leader = partition_metadata(metadata, topic, partition)
                    .map(|p| p.leader())
                    .filter(|&id| id >= 0 && id != node);
                leader.is_some()
            },
            &format!("a leader of {topic}/{partition} other than node {node}"),
        );
        leader.expect("a leader")
    }

    /// Waits until every node is an in-sync replica of `partition` of `topic` (one killed
    /// and restarted has caught up), for a topic replicated on every node.
    pub fn wait_in_sync(&self, topic: &str, partition: i32) {
        self.wait_for(
            |metadata| {
                partition_metadata(metadata, topic, partition)
                    .is_some_and(|p| p.isr().len() == self.nodes)
            },
            &format!("every node in sync on {topic}/{partition}"),
        );
    }

    /// Waits until every partition of every topic (the cluster's own too) has all its
    /// replicas in sync: after a node was killed and restarted, the cluster is whole again.
    pub fn wait_all_in_sync(&self) {
        self.wait_for(
            |metadata| {
                metadata.topics().iter().all(|topic| {
                    topic
                        .partitions()
                        .iter()
                        .all(|p| p.isr().len() == p.replicas().len())
                })
            },
            "every replica of every partition in sync",
        );
    }

    /// SIGKILLs node `node` (its JVM's whole process group) and waits until it is gone.
    pub fn kill_node(&self, node: i32) {
        self.script(&["kill", &node.to_string()]);
    }

    /// Starts node `node` again after [`Broker::kill_node`], on its own log directory and
    /// ports, and waits until it serves. Kafka takes it back once the controller has fenced
    /// its former self (`broker.session.timeout.ms`, 5 s here).
    pub fn restart_node(&self, node: i32) {
        self.script(&["restart", &node.to_string()]);
    }

    /// Runs `scripts/kafka.sh COMMAND DIR ARGS...`, which must succeed.
    fn script(&self, args: &[&str]) {
        let (command, rest) = args.split_first().expect("a command");
        let output = kafka_script()
            .arg(command)
            .arg(self.dir.path())
            .args(rest)
            .output()
            .expect("run scripts/kafka.sh");
        assert!(
            output.status.success(),
            "scripts/kafka.sh {}:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn admin(&self) -> AdminClient<DefaultClientContext> {
        ClientConfig::new()
            .set("bootstrap.servers", self.address())
            .create()
            .expect("admin client")
    }

    /// The cluster's metadata as `admin` gets it from any node that answers.
    fn metadata(&self, admin: &AdminClient<DefaultClientContext>) -> Option<Metadata> {
        admin
            .inner()
            .fetch_metadata(None, Duration::from_secs(5))
            .ok()
    }

    /// Polls the cluster's metadata until `done` says so, or fails naming `what`.
    fn wait_for(&self, mut done: impl FnMut(&Metadata) -> bool, what: &str) {
        let admin = self.admin();
        let started = Instant::now();
        while !self.metadata(&admin).is_some_and(|m| done(&m)) {
            assert!(
                started.elapsed() < BROKER_TIMEOUT,
                "waited {BROKER_TIMEOUT:?} for {what}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn producer(&self) -> FutureProducer {
        ClientConfig::new()
            .set("bootstrap.servers", self.address())
            .set("linger.ms", "5")
            // Input fed while a leader fails over is retried; idempotence keeps the retries
            // from storing a record twice, which would look like a duplicate downstream.
            .set("enable.idempotence", "true")
            .create()
            .expect("producer")
    }

    /// Produces every value (with its key) and waits for all acknowledgements.
    pub async fn produce(&self, topic: &str, records: &[Keyed]) {
        produce_with(&self.producer(), topic, records).await;
    }

    /// Reads `topic` from the beginning until `expected` records arrived or `timeout`
    /// passed; returns what arrived.
    pub fn consume(
        &self,
        topic: &str,
        partitions: i32,
        expected: usize,
        timeout: Duration,
    ) -> Vec<Record> {
        let consumer = reader(self.address(), topic, partitions, "read_uncommitted");
        let mut out = Vec::new();
        let started = Instant::now();
        while out.len() < expected && started.elapsed() < timeout {
            // Errors such as a node down are transient here: the reader retries.
            if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
                let headers = message
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|header| {
                                let value = header
                                    .value
                                    .map(|v| String::from_utf8_lossy(v).into_owned());
                                (header.key.to_owned(), value.unwrap_or_default())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(Record {
                    key: message.key().map(<[u8]>::to_vec),
                    value: message.payload().unwrap_or_default().to_vec(),
                    headers,
                });
            }
        }
        out
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // SIGKILL, not a clean stop: its data goes with its directory anyway.
        let _ = kafka_script()
            .arg("kill")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .status();
    }
}

fn kafka_script() -> Command {
    Command::new(repo_path("scripts/kafka.sh"))
}

fn partition_metadata<'a>(
    metadata: &'a Metadata,
    topic: &str,
    partition: i32,
) -> Option<&'a MetadataPartition> {
    let topic = metadata.topics().iter().find(|t| t.name() == topic)?;
    topic.partitions().iter().find(|p| p.id() == partition)
}

/// A pipeline's five topics, named after a test so that tests sharing a broker keep apart:
/// `NAME.raw`, `NAME.enriched`, `NAME.events`, `NAME.dlq` and `NAME.embargoed`.
pub struct Topics {
    pub input: String,
    pub output: String,
    pub events: String,
    pub dlq: String,
    pub embargo: String,
}

impl Topics {
    pub fn new(name: &str) -> Self {
        Self {
            input: format!("{name}.raw"),
            output: format!("{name}.enriched"),
            events: format!("{name}.events"),
            dlq: format!("{name}.dlq"),
            embargo: format!("{name}.embargoed"),
        }
    }

    /// [`Topics::new`], each topic created on `broker` with `partitions` partitions.
    pub fn create(broker: &Broker, name: &str, partitions: u32) -> Self {
        let topics = Self::new(name);
        for topic in topics.all() {
            broker.create_topic(topic, partitions);
        }
        topics
    }

    pub fn all(&self) -> [&str; 5] {
        [
            &self.input,
            &self.output,
            &self.events,
            &self.dlq,
            &self.embargo,
        ]
    }

    /// The flags of `newsflow run` that name them.
    pub fn flags(&self) -> [&str; 10] {
        [
            "--input-topic",
            &self.input,
            "--output-topic",
            &self.output,
            "--events-topic",
            &self.events,
            "--dlq-topic",
            &self.dlq,
            "--embargo-topic",
            &self.embargo,
        ]
    }
}
