//! Headers through `newsflow run` on Apache Kafka: the trace context reaches the enriched
//! record, its events and the dead letter; other input headers pass to the enriched record
//! as the policy says (a CloudEvent's `ce_*` attributes do not) and all of them to the dead
//! letter; every JSON output says its content type and schema version.

use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;

use crate::support::{
    free_port, pipeline_command, terminate, wait_exit, Broker, Record, SpawnRunning, Topics,
};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn input_headers() -> OwnedHeaders {
    [
        ("traceparent", TRACEPARENT),
        ("x-tenant", "desk-7"),
        ("ce_id", "event-1"),
    ]
    .into_iter()
    .fold(OwnedHeaders::new(), |headers, (key, value)| {
        headers.insert(Header {
            key,
            value: Some(value),
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_context_and_headers_reach_the_outputs_and_the_dead_letter() {
    let broker = Broker::shared();
    let topics = Topics::create(broker, "headers", 1);
    let producer = broker.producer();
    let good = br#"{"id":"h-1","body":"China and Russia held a summit in Moscow on May 16. Israeli troops arrested more than 100 Palestinians on Saturday."}"#;
    for (key, value) in [
        ("h-1", &good[..]),
        ("h-bad", &b"{\"id\": \"h-bad\", body"[..]),
    ] {
        let record = FutureRecord::to(&topics.input)
            .key(key)
            .payload(value)
            .headers(input_headers());
        producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(error, _)| error)
            .unwrap();
    }
    let mut pipeline =
        pipeline_command(broker.address(), &topics, free_port()).spawn_running("newsflow run");
    let timeout = Duration::from_secs(60);
    let enriched = broker.consume(&topics.output, 1, 1, timeout);
    let events = broker.consume(&topics.events, 1, 1, timeout);
    let dead = broker.consume(&topics.dlq, 1, 1, timeout);
    terminate(&pipeline);
    assert_eq!(wait_exit(&mut pipeline, timeout), Some(0));

    let json = |record: &Record| {
        assert_eq!(record.header("content-type"), Some("application/json"));
        let version = newsflow::record::SCHEMA_VERSION.to_string();
        assert_eq!(
            record.header("newsflow.schema.version"),
            Some(version.as_str())
        );
        assert_eq!(record.header("traceparent"), Some(TRACEPARENT));
    };
    let enriched = &enriched[0];
    json(enriched);
    assert_eq!(enriched.header("x-tenant"), Some("desk-7"));
    assert_eq!(
        enriched.header("ce_id"),
        None,
        "a CloudEvent's id is not the article's"
    );
    assert!(!events.is_empty());
    for event in &events {
        json(event);
        assert_eq!(
            event.header("x-tenant"),
            None,
            "events carry the trace context only"
        );
    }
    let dead = &dead[0];
    assert_eq!(dead.header("newsflow.reason"), Some("invalid_json"));
    for (name, value) in [
        ("traceparent", TRACEPARENT),
        ("x-tenant", "desk-7"),
        ("ce_id", "event-1"),
    ] {
        assert_eq!(dead.header(name), Some(value), "{name} on the dead letter");
    }
}
