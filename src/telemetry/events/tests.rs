//! Tests of the events: what they log and count.

use std::io;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::*;
use crate::record::DeadLetterReason;

/// Appends what the subscriber writes to a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The JSON lines `emit` logs on this thread, at every level.
fn logged(emit: impl FnOnce()) -> Vec<Value> {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_max_level(Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, emit);
    let bytes = captured.0.lock().unwrap().clone();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn client_error_count(code: &str) -> u64 {
    metrics().client_errors.with_label_values(&[code]).get()
}

#[test]
fn topics_are_counted_under_their_top_level_code() {
    assert_eq!(top_level_qcode("medtop:11000000"), "medtop:11000000");
    assert_eq!(top_level_qcode("medtop:11003000"), "medtop:11000000");
    assert_eq!(top_level_qcode("medtop:20000621"), "medtop:20000621");
}

#[test]
fn dead_letters_are_logged_with_their_origin_as_fields() {
    let from_kafka = DeadLetter::new(
        DeadLetterReason::StageFailed,
        "no text left",
        DeadLetterSource::Kafka {
            topic: "news.raw".into(),
            partition: 2,
            offset: 41,
        },
        b"{}",
    )
    .with_article_id("a-17");
    let from_file = DeadLetter::new(
        DeadLetterReason::Empty,
        "empty record",
        DeadLetterSource::File {
            file: "in.jsonl".into(),
            line: 7,
        },
        b"",
    );
    let lines = logged(|| {
        DeadLettered {
            letter: &from_kafka,
        }
        .emit();
        DeadLettered { letter: &from_file }.emit();
    });
    // The level depends on what other tests dead-lettered within the window; the fields
    // do not.
    let kafka = &lines[0];
    assert_eq!(kafka["message"], "Record dead-lettered.");
    assert_eq!(kafka["reason"], "stage_failed");
    assert_eq!(kafka["error"], "no text left");
    assert_eq!(kafka["article_id"], "a-17");
    assert_eq!(kafka["topic"], "news.raw");
    assert_eq!(kafka["partition"], 2);
    assert_eq!(kafka["offset"], 41);
    assert_eq!(kafka.get("file"), None);
    assert_eq!(kafka.get("source"), None);
    let file = &lines[1];
    assert_eq!(file["reason"], "empty");
    assert_eq!(file["file"], "in.jsonl");
    assert_eq!(file["line"], 7);
    assert_eq!(file.get("topic"), None);
    assert_eq!(file.get("article_id"), None);
}

#[test]
fn repeated_dead_letters_log_one_warning_per_reason_and_window() {
    let letter = DeadLetter::new(
        DeadLetterReason::InvalidUtf8,
        "not UTF-8",
        DeadLetterSource::File {
            file: "in.jsonl".into(),
            line: 1,
        },
        b"\xff",
    );
    let lines = logged(|| (0..100).for_each(|_| DeadLettered { letter: &letter }.emit()));
    let dead_letters: Vec<_> = lines
        .iter()
        .filter(|line| line["message"] == "Record dead-lettered.")
        .collect();
    assert_eq!(
        dead_letters.len(),
        100,
        "every one is still logged at debug"
    );
    let warnings = dead_letters
        .iter()
        .filter(|line| line["level"] == "WARN")
        .count();
    // None when another test dead-lettered for this reason within the window.
    assert!(warnings <= 1, "{warnings} warnings");
}

#[test]
fn one_outage_reported_by_every_client_logs_once_and_its_end_once() {
    // No other test reports client errors: the limiter starts fresh for this code.
    let code = "AllBrokersDown";
    let before = client_error_count(code);
    let report = |error: &str, reason: Option<&str>| {
        ClientError {
            code,
            error,
            reason,
        }
        .emit();
    };
    let lines = logged(|| {
        let global = "Global error: AllBrokersDown (Local: All broker connections are down)";
        report(global, Some("1/1 brokers are down"));
        report(global, Some("1/1 brokers are down"));
        report(
            "Message consumption error: AllBrokersDown (Local: All broker connections are down)",
            None,
        );
        BrokerReachabilityChanged { reachable: true }.emit();
        BrokerReachabilityChanged { reachable: false }.emit();
        report(global, Some("1/1 brokers are down"));
    });
    let summary: Vec<_> = lines
        .iter()
        .map(|line| {
            let level = line["level"].as_str().unwrap();
            let message = line["message"].as_str().unwrap();
            (level, message)
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("ERROR", "Kafka client error."),
            ("DEBUG", "Kafka client error."),
            ("DEBUG", "Kafka client error."),
            (
                "ERROR",
                "Repeated log lines suppressed (logged at debug level)."
            ),
            ("INFO", "Broker reachable."),
            ("WARN", "No broker reachable."),
            ("ERROR", "Kafka client error."),
        ]
    );
    assert_eq!(lines[0]["code"], code);
    assert_eq!(lines[0]["reason"], "1/1 brokers are down");
    assert_eq!(lines[3]["event"], "Kafka client error.");
    assert_eq!(lines[3]["kind"], code);
    assert_eq!(lines[3]["suppressed"], 2);
    assert_eq!(
        client_error_count(code) - before,
        4,
        "every report is counted"
    );
}

#[test]
fn a_released_partition_leaves_no_lag_series_behind() {
    // A topic of its own: the metrics are process-wide and other tests run alongside.
    let topic = "lag.released";
    let series = |partition: &str| {
        format!("newsflow_consumer_lag_messages{{partition=\"{partition}\",topic=\"{topic}\"}}")
    };
    for partition in [0, 1] {
        PartitionLag {
            topic,
            partition,
            lag: 7,
        }
        .emit();
    }
    let before = metrics().render();
    assert!(before.contains(&format!("{} 7", series("0"))), "{before}");
    assert!(before.contains(&format!("{} 7", series("1"))), "{before}");

    PartitionReleased {
        topic,
        partition: 0,
    }
    .emit();
    // Releasing twice (or a partition never reported) is harmless.
    PartitionReleased {
        topic,
        partition: 0,
    }
    .emit();
    let after = metrics().render();
    assert!(!after.contains(&series("0")), "{after}");
    assert!(after.contains(&format!("{} 7", series("1"))), "{after}");
}
