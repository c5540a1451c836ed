//! Configuration failures of the real binary: each one exits 2 before anything starts, says
//! which setting or property is at fault, and never prints a secret, whether it came from
//! the file, a variable or a flag. A pipeline that starts logs its secret properties
//! masked.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStringExt;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use crate::support::{free_port, newsflow, terminate, wait_exit, Running, SpawnRunning};

/// The secret every case carries; it must appear in no output.
const SECRET: &str = "Zq9-secret-value";

/// What newsflow was given in one case.
#[derive(Default)]
struct Given {
    args: Vec<String>,
    env: Vec<(String, OsString)>,
    file: Option<String>,
}

fn given(args: &[&str]) -> Given {
    Given {
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        ..Given::default()
    }
}

impl Given {
    fn env(mut self, name: &str, value: impl Into<OsString>) -> Self {
        self.env.push((name.to_owned(), value.into()));
        self
    }

    /// `text` as the TOML file, passed with `--config` right after the command.
    fn file(mut self, text: &str) -> Self {
        self.file = Some(text.to_owned());
        self
    }

    /// Starts newsflow; `run` and `replay-dlq` never reach a broker (the port is free), and
    /// `run` serves its metrics on a free port.
    fn spawn(&self, dir: &tempfile::TempDir) -> Running {
        let mut args = self.args.clone();
        if let Some(text) = &self.file {
            let path = dir.path().join("newsflow.toml");
            std::fs::write(&path, text).unwrap();
            args.splice(1..1, ["--config".into(), path.display().to_string()]);
        }
        let kafka_command = args[0] == "run" || args[0] == "replay-dlq";
        if kafka_command && !args.iter().any(|arg| arg == "--brokers") {
            args.extend(["--brokers".into(), format!("127.0.0.1:{}", free_port())]);
        }
        if args[0] == "run" {
            args.extend(["--metrics-addr".into(), "127.0.0.1:0".into()]);
        }
        let mut command = newsflow();
        // A valid secret property in every case: no failure path may print it either.
        command.env("NEWSFLOW_KAFKA_SASL_PASSWORD", SECRET);
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn_running("newsflow")
    }

    /// Runs newsflow to its end; returns its exit code and everything it printed.
    fn run(&self) -> (Option<i32>, String) {
        let dir = tempfile::tempdir().unwrap();
        let mut child = self.spawn(&dir);
        let code = wait_exit(&mut child, Duration::from_secs(30));
        (code, output_of(&mut child, String::new()))
    }
}

/// `before` and whatever is left on the child's stdout and stderr.
fn output_of(child: &mut Running, mut before: String) -> String {
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_string(&mut before).unwrap();
    }
    if let Some(mut stderr) = child.stderr.take() {
        stderr.read_to_string(&mut before).unwrap();
    }
    before
}

/// Each case: what newsflow was given, and what its error must say.
fn failures() -> Vec<(Given, &'static str)> {
    let not_unicode = {
        let mut bytes = SECRET.as_bytes().to_vec();
        bytes.push(0xff);
        OsString::from_vec(bytes)
    };
    let long_topic = "x".repeat(250);
    vec![
        // The TOML file.
        (
            given(&["run"]).file(&format!("[kafka]\n\"sasl.password\" = {SECRET}\n")),
            "line 2, column 19: string values must be quoted",
        ),
        (
            given(&["run"]).file(&format!("max_in_flight = \"{SECRET}\"\n")),
            "line 1, column 17: wrong type, expected usize",
        ),
        (
            given(&["run"]).file(&format!("[kafka]\n\"sasl.password\" = {}\n", 4815162342u64)),
            "line 2, column 19: wrong type, expected a string",
        ),
        (
            given(&["run"]).file(&format!("brokrs = \"{SECRET}\"\n")),
            "unknown field `brokrs`",
        ),
        // librdkafka properties, from each layer.
        (
            given(&["run", "-X", &format!("sasl.passwrd={SECRET}")]),
            "librdkafka property `sasl.passwrd`: no such property",
        ),
        (
            given(&["run"]).env("NEWSFLOW_KAFKA_SASL_PASSWRD", SECRET),
            "librdkafka property `sasl.passwrd`: no such property",
        ),
        (
            given(&["run"]).file(&format!("[kafka]\n\"sasl.passwrd\" = \"{SECRET}\"\n")),
            "librdkafka property `sasl.passwrd`: no such property",
        ),
        (
            given(&["run", "-X", &format!("producer.sasl.jaas.config={SECRET}")]),
            "librdkafka property `producer.sasl.jaas.config`: Java JAAS configuration is not supported",
        ),
        (
            given(&["run", "-X", &format!("security.protocol={SECRET}")]),
            "librdkafka property `security.protocol`: invalid value",
        ),
        (
            given(&["run", "-X", "security.protocol=SSL"])
                .env("NEWSFLOW_KAFKA_SSL_KEY_PEM", SECRET),
            "librdkafka refuses the consumer's properties: ssl.key.pem",
        ),
        (
            given(&["run", "-X", "sasl.password", SECRET]),
            "unexpected argument '****'",
        ),
        (given(&["run", "-X", SECRET]), "is not KEY=VALUE"),
        (
            given(&["run"]).env("NEWSFLOW_KAFKA_SASL_PASSWORD", not_unicode),
            "NEWSFLOW_KAFKA_SASL_PASSWORD is not valid UTF-8",
        ),
        (
            given(&["replay-dlq", "-X", &format!("sasl.passwrd={SECRET}")]),
            "librdkafka property `sasl.passwrd`: no such property",
        ),
        // Ranges.
        (
            given(&["run", "--max-in-flight", "18446744073709551615"]),
            "max_in_flight must be between 1 and",
        ),
        (
            given(&["run", "--max-in-flight", "0"]),
            "max_in_flight must be between 1 and",
        ),
        (
            given(&["run", "--max-in-flight", SECRET]),
            "invalid value '****' for '--max-in-flight",
        ),
        (
            given(&["run", "--max-in-flight-bytes", "0"]),
            "max_in_flight_bytes must be between 1 and",
        ),
        (
            given(&["run", "--workers", "100000"]),
            "workers must be between 1 and 1024",
        ),
        (
            given(&["run"]).env("NEWSFLOW_WORKERS", "100000"),
            "workers must be between 1 and 1024",
        ),
        (
            given(&["run"]).file("workers = 100000\n"),
            "workers must be between 1 and 1024",
        ),
        (
            given(&["run", "--max-record-bytes", "0"]),
            "max_record_bytes must be between 1 and",
        ),
        (
            given(&["run", "--commit-interval-ms", "0"]),
            "commit_interval_ms must be between 1 and",
        ),
        (
            given(&["run", "--transaction-interval-ms", "0"]),
            "transaction_interval_ms must be between 1 and",
        ),
        (
            given(&["run", "--transaction-max-records", "0"]),
            "transaction_max_records must be between 1 and",
        ),
        (
            given(&["run", "--shutdown-timeout-ms", "18446744073709551615"]),
            "shutdown_timeout_ms must be between 0 and",
        ),
        (
            given(&["run", "--revoke-drain-timeout-ms", "18446744073709551615"]),
            "revoke_drain_timeout_ms must be between 0 and",
        ),
        (
            given(&["process", "--threads", "100000"]),
            "is not in 1..=1024",
        ),
        (given(&["process", "--threads", "0"]), "is not in 1..=1024"),
        // Brokers and topics.
        (
            given(&["replay-dlq", "--brokers", "127.0.0.1:99999"]),
            "brokers: a port is not a number from 1 to 65535",
        ),
        (
            given(&["run", "--brokers", "not a host:port"]),
            "brokers: a host has a character",
        ),
        (
            given(&["run", "--brokers", "not a host"]),
            "brokers: a host has a character",
        ),
        (given(&["run", "--brokers", ":x"]), "brokers: a host is empty"),
        (
            given(&["run", "--brokers", "a:99999"]),
            "brokers: a port is not a number from 1 to 65535",
        ),
        (given(&["run", "--brokers", ""]), "brokers: must be set"),
        (
            given(&["run", "--output-topic", "news enriched"]),
            "output_topic is not a valid topic name",
        ),
        (
            given(&["run", "--input-topic", ""]),
            "input_topic is not a valid topic name: it is empty",
        ),
        (
            given(&["run", "--dlq-topic", ".."]),
            "dlq_topic is not a valid topic name",
        ),
        (
            given(&["run", "--events-topic", &long_topic]),
            "events_topic is not a valid topic name: it is longer than 249",
        ),
        (
            given(&["run", "--input-topic", r"^news\..*"]),
            "the input_topic pattern matches the output_topic",
        ),
        (
            given(&["run", "--input-topic", r"^news\.raw("]),
            "input_topic is not a usable pattern",
        ),
        (
            given(&["run", "--input-topic", "news.dlq"]),
            "the input topic must differ",
        ),
        (
            given(&["replay-dlq", "--to-topic", "news raw"]),
            "to_topic is not a valid topic name",
        ),
        (
            given(&["replay-dlq", "--dlq-topic", ""]),
            "dlq_topic is not a valid topic name",
        ),
    ]
}

#[test]
fn every_configuration_error_exits_2_and_prints_no_secret() {
    for (given, expected) in failures() {
        let (code, output) = given.run();
        let case = given.args.join(" ");
        assert_eq!(code, Some(2), "{case}: exit code; output:\n{output}");
        assert!(
            output.contains(expected),
            "{case}: expected {expected:?} in:\n{output}"
        );
        for secret in [SECRET, "4815162342"] {
            assert!(
                !output.contains(secret),
                "{case}: a secret in the output:\n{output}"
            );
        }
    }
}

/// Secret properties from each layer, prefixed or not, are in the "Pipeline started" line
/// by name with their values masked; an input pattern that matches no output is accepted.
#[test]
fn a_started_pipeline_logs_secret_properties_masked() {
    let given = given(&[
        "run",
        "--input-topic",
        r"^news\.raw\..*",
        "-X",
        &format!("sasl.oauthbearer.config=principal=newsflow {SECRET}"),
        "-X",
        &format!("producer.ssl.key.password={SECRET}"),
    ])
    .env("NEWSFLOW_KAFKA_SSL_KEYSTORE_PASSWORD", SECRET)
    .file(&format!(
        "[kafka]\n\"consumer.ssl.key.pem\" = \"{SECRET}\"\n\"sasl.username\" = \"newsflow\"\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    let mut child = given.spawn(&dir);
    let stderr = child.stderr.take().unwrap();
    let (lines, arrived) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("Pipeline started.") {
                let _ = lines.send(line.clone());
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    let started = arrived.recv_timeout(Duration::from_secs(30));
    terminate(&child);
    let code = wait_exit(&mut child, Duration::from_secs(30));
    let output = output_of(&mut child, reader.join().unwrap());
    let started = started.unwrap_or_else(|_| panic!("no \"Pipeline started\" line:\n{output}"));
    assert_eq!(code, Some(0), "{output}");
    assert!(
        !output.contains(SECRET),
        "a secret in the output:\n{output}"
    );
    for property in [
        "sasl.password",
        "sasl.oauthbearer.config",
        "producer.ssl.key.password",
        "ssl.keystore.password",
        "consumer.ssl.key.pem",
    ] {
        assert!(
            started.contains(&format!(r#"\"{property}\": \"****\""#)),
            "{property} not masked in {started}"
        );
    }
    assert!(
        started.contains(r#"\"sasl.username\": \"newsflow\""#),
        "{started}"
    );
}

/// A `sasl.oauthbearer.config` that librdkafka cannot read: its error, raised by the
/// clients while running, quotes the unread part of the value, which is masked.
#[test]
fn a_client_error_quoting_part_of_a_secret_is_masked() {
    let given = given(&[
        "run",
        "-X",
        "security.protocol=SASL_PLAINTEXT",
        "-X",
        "sasl.mechanism=OAUTHBEARER",
        "-X",
        "enable.sasl.oauthbearer.unsecure.jwt=true",
        "-X",
        &format!("sasl.oauthbearer.config=principal=newsflow bogus={SECRET}"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let mut child = given.spawn(&dir);
    let stderr = child.stderr.take().unwrap();
    let (lines, arrived) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("OAUTHBEARER") {
                let _ = lines.send(());
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    let reported = arrived.recv_timeout(Duration::from_secs(30));
    terminate(&child);
    let code = wait_exit(&mut child, Duration::from_secs(30));
    let output = output_of(&mut child, reader.join().unwrap());
    assert!(reported.is_ok(), "no OAUTHBEARER error reported:\n{output}");
    assert_eq!(code, Some(0), "{output}");
    assert!(
        !output.contains(SECRET) && !output.contains("bogus="),
        "a secret in the output:\n{output}"
    );
}
