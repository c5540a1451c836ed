use super::*;

const SECRET: &str = "Zq9-secret-value";

fn write_config(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newsflow.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
    pairs
        .iter()
        .map(|(name, value)| (name.into(), value.into()))
        .collect()
}

#[test]
fn file_overrides_defaults_and_rejects_unknown_keys() {
    let (_dir, path) = write_config(
        "brokers = \"10.0.0.1:9092\"\ngroup_id = \"g\"\n[kafka]\n\"security.protocol\" = \"SASL_SSL\"\n",
    );
    let config = RunConfig::load(Some(&path)).unwrap();
    assert_eq!(config.brokers, "10.0.0.1:9092");
    assert_eq!(config.group_id, "g");
    assert_eq!(config.input_topic, "news.raw");
    assert_eq!(config.kafka["security.protocol"], "SASL_SSL");

    std::fs::write(&path, "brokrs = \"x\"\n").unwrap();
    let err = RunConfig::load(Some(&path)).unwrap_err();
    assert!(err.to_string().contains("unknown field `brokrs`"), "{err}");
}

#[test]
fn min_event_confidence_comes_from_the_file_and_is_a_probability() {
    let (_dir, path) = write_config("min_event_confidence = 0.6\n");
    let config = RunConfig::load(Some(&path)).unwrap();
    assert_eq!(config.min_event_confidence, 0.6);
    config.validate().unwrap();
    for wrong in [-0.1, 1.5, f64::NAN] {
        let config = RunConfig {
            min_event_confidence: wrong,
            ..RunConfig::default()
        };
        let err = config.validate().unwrap_err();
        assert!(err.to_string().contains("min_event_confidence"), "{err}");
    }
}

#[test]
fn kafka_properties_come_from_env_then_flags() {
    let mut config = RunConfig::default();
    let env = env(&[
        ("NEWSFLOW_KAFKA_SASL_MECHANISM", "PLAIN"),
        ("NEWSFLOW_KAFKA_LINGER_MS", "5"),
        ("HOME", "/root"),
    ]);
    config
        .apply_kafka_overrides(env, ["linger.ms=20", "sasl.password=s3cret"])
        .unwrap();
    assert_eq!(config.kafka["sasl.mechanism"], "PLAIN");
    assert_eq!(config.kafka["linger.ms"], "20");
    assert_eq!(config.kafka.len(), 3);
    assert_eq!(config.kafka_for_log()["sasl.password"], "****");
}

#[test]
fn malformed_kafka_overrides_are_errors_that_quote_nothing() {
    let mut config = RunConfig::default();
    let err = config
        .apply_kafka_overrides(vec![], ["linger.ms=5", SECRET])
        .unwrap_err()
        .to_string();
    assert!(err.contains("number 2"), "{err}");
    assert!(!err.contains(SECRET), "{err}");

    // std::env::vars() would panic here, quoting the value.
    use std::os::unix::ffi::OsStringExt;
    let mut value = SECRET.as_bytes().to_vec();
    value.push(0xff);
    let env = vec![(
        OsString::from("NEWSFLOW_KAFKA_SASL_PASSWORD"),
        OsString::from_vec(value),
    )];
    let err = config
        .apply_kafka_overrides(env, [] as [&str; 0])
        .unwrap_err()
        .to_string();
    assert!(err.contains("NEWSFLOW_KAFKA_SASL_PASSWORD"), "{err}");
    assert!(!err.contains(SECRET), "{err}");
    // Other variables are none of newsflow's business, UTF-8 or not.
    let env = vec![(OsString::from("OTHER"), OsString::from_vec(vec![0xff]))];
    config.apply_kafka_overrides(env, [] as [&str; 0]).unwrap();
}

#[test]
fn the_example_config_file_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/newsflow.example.toml");
    let config = RunConfig::load(Some(&path)).unwrap();
    config.validate().unwrap();
    assert_eq!(config.kafka["session.timeout.ms"], "10000");
}

#[test]
fn validation_rejects_a_loop_back_into_the_input() {
    assert!(with(|c| c.output_topic = "news.raw".into())
        .validate()
        .is_err());
    assert!(RunConfig::default().validate().is_ok());
}

fn invalid(config: RunConfig) -> String {
    config.validate().unwrap_err().to_string()
}

/// What a case expects in the error, and how it changes the default configuration.
type Case = (&'static str, fn(&mut RunConfig));

/// A default configuration changed by `change`.
fn with(change: impl FnOnce(&mut RunConfig)) -> RunConfig {
    let mut config = RunConfig::default();
    change(&mut config);
    config
}

#[test]
fn every_numeric_setting_is_range_checked() {
    let cases: [Case; 11] = [
        ("max_in_flight", |c| c.max_in_flight = 0),
        ("max_in_flight", |c| c.max_in_flight = usize::MAX),
        ("max_in_flight_bytes", |c| c.max_in_flight_bytes = 0),
        ("max_in_flight_bytes", |c| c.max_in_flight_bytes = 1 << 33),
        ("workers", |c| c.workers = 100_000),
        ("max_record_bytes", |c| c.max_record_bytes = 0),
        ("transaction_max_records", |c| c.transaction_max_records = 0),
        ("commit_interval_ms", |c| c.commit_interval_ms = 0),
        ("transaction_interval_ms", |c| c.transaction_interval_ms = 0),
        ("shutdown_timeout_ms", |c| c.shutdown_timeout_ms = u64::MAX),
        ("revoke_drain_timeout_ms", |c| {
            c.revoke_drain_timeout_ms = u64::MAX;
        }),
    ];
    for (setting, change) in cases {
        let message = invalid(with(change));
        assert!(
            message.contains(&format!("{setting} must be between")),
            "{message}"
        );
    }
    with(|c| {
        c.workers = 1024;
        c.max_in_flight_bytes = 1;
        c.shutdown_timeout_ms = 0;
        c.revoke_drain_timeout_ms = 0;
    })
    .validate()
    .unwrap();
}

#[test]
fn brokers_must_be_host_and_port_lists() {
    for good in [
        "127.0.0.1:9092",
        "kafka-1:9093, kafka-2:9093,",
        "kafka-1",
        "SASL_SSL://kafka-1:9093",
        "[::1]:9092",
        "[::1]",
    ] {
        assert_eq!(brokers_problem(good), None, "{good}");
    }
    for (bad, problem) in [
        ("", "must be set"),
        (" , ", "must be set"),
        ("127.0.0.1:99999", "a port"),
        ("127.0.0.1:0", "a port"),
        ("kafka-1:http", "a port"),
        (":9092", "a host"),
        ("http://kafka-1:9092", "a protocol"),
        ("[::1:9092", "`]`"),
        ("not a host", "a host has a character"),
        ("kafka/1:9092", "a host has a character"),
    ] {
        assert!(
            brokers_problem(bad).is_some_and(|said| said.contains(problem)),
            "{bad}: {:?}",
            brokers_problem(bad)
        );
    }
}

#[test]
fn topics_must_be_legal_names_and_names_must_be_set() {
    let cases: [Case; 8] = [
        ("output_topic is not a valid", |c| {
            c.output_topic = "news enriched".into();
        }),
        ("dlq_topic is not a valid", |c| c.dlq_topic.clear()),
        ("events_topic is not a valid", |c| {
            c.events_topic = "..".into()
        }),
        ("input_topic is not a valid", |c| {
            c.input_topic = "a/b".into()
        }),
        ("output_topic is not a valid", |c| {
            c.output_topic = "x".repeat(250)
        }),
        ("brokers", |c| c.brokers = " ".into()),
        ("group_id", |c| c.group_id.clear()),
        ("transactional_id", |c| {
            c.transactional_id = Some(String::new())
        }),
    ];
    for (expected, change) in cases {
        let message = invalid(with(change));
        assert!(message.contains(expected), "{message}");
    }
    with(|c| c.events_topic.clear()).validate().unwrap();
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn an_input_pattern_must_compile_and_match_no_output() {
    let with_input = |input: &str| with(|c| c.input_topic = input.into());
    // The pattern that consumed newsflow's own dead letters forever.
    let message = invalid(with_input(r"^news\..*"));
    assert!(message.contains("matches the output_topic"), "{message}");
    let message = invalid(with_input(r"^news\.(raw|dlq)$"));
    assert!(message.contains("matches the dlq_topic"), "{message}");
    let message = invalid(with_input(r"^news\.raw("));
    assert!(message.contains("not a usable pattern"), "{message}");
    with_input(r"^news\.raw\..*").validate().unwrap();
    // With no events topic, a pattern may match the name it would have had.
    with(|c| {
        c.input_topic = r"^news\.(raw|events)$".into();
        c.events_topic.clear();
    })
    .validate()
    .unwrap();
}
