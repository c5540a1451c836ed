//! The three-node Apache Kafka cluster that failover tests run on (`Broker::cluster` in
//! tests/support): a killed partition leader is replaced by another node, every record
//! acknowledged before and after survives, and the killed node restarts on its own ports
//! and data and catches up.

mod support;

use std::time::Duration;

use support::{articles, Broker};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_and_its_node_restarts_and_catches_up() {
    let cluster = Broker::cluster(3);
    let topic = "failover";
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
}
