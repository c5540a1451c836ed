//! `newsflow run --output-format ninjs` through Apache Kafka: every article of the sample
//! feed comes out on the enriched topic as an IPTC ninjs 2.2 document, valid against the
//! IPTC schema, keyed by its article id.

use std::time::Duration;

use serde_json::Value;

use crate::support::schema::{assert_valid, validator};
use crate::support::{
    articles, free_port, pipeline_command, terminate, wait_exit, Broker, SpawnRunning, Topics,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_enriched_topic_carries_valid_ninjs_when_asked() {
    let broker = Broker::shared();
    let topics = Topics::create(broker, "ninjs-output", 1);
    let input = articles(30);
    broker.produce(&topics.input, &input).await;
    let mut pipeline = pipeline_command(broker.address(), &topics, free_port())
        .args(["--output-format", "ninjs"])
        .spawn_running("newsflow run");
    let timeout = Duration::from_secs(60);
    let out = broker.consume(&topics.output, 1, input.len(), timeout);
    terminate(&pipeline);
    assert_eq!(wait_exit(&mut pipeline, timeout), Some(0));
    assert_eq!(out.len(), input.len());
    let ninjs = validator("ninjs-2.2.schema.json");
    for record in &out {
        let key = String::from_utf8(record.key.clone().unwrap()).unwrap();
        let document: Value = serde_json::from_slice(&record.value).unwrap();
        assert_valid(&ninjs, &document, &key);
        assert!(
            document["uri"].as_str().unwrap().ends_with(&key),
            "{key}: {}",
            document["uri"]
        );
    }
}
