use std::collections::BTreeMap;

use super::*;
use clap::CommandFactory;

#[test]
fn cli_definition_is_consistent() {
    Cli::command().debug_assert();
}

fn process_args(args: &[&str]) -> ProcessArgs {
    let cli = Cli::try_parse_from(["newsflow", "process"].iter().chain(args)).unwrap();
    let Command::Process(args) = cli.command else {
        panic!("expected process")
    };
    args
}

#[test]
fn dead_letters_go_beside_the_output_file_unless_dlq_is_given() {
    let dlq = |args: &[&str]| process_args(args).dead_letter_path();
    assert_eq!(
        dlq(&["--output", "out/enriched.jsonl"]).unwrap(),
        Path::new("out/enriched.dlq.jsonl")
    );
    assert_eq!(
        dlq(&["--output", "enriched"]).unwrap(),
        Path::new("enriched.dlq.jsonl")
    );
    assert_eq!(
        dlq(&["--output", "enriched.jsonl", "--dlq", "bad.jsonl"]).unwrap(),
        Path::new("bad.jsonl")
    );
    assert_eq!(
        dlq(&["--dlq", "bad.jsonl"]).unwrap(),
        Path::new("bad.jsonl")
    );
    let error = dlq(&[]).unwrap_err().to_string();
    assert!(error.contains("--dlq is required"), "{error}");
}

/// Settings whose default depends on the machine or on other settings, or is "none":
/// the help and the README describe them in words.
const DESCRIBED_DEFAULTS: [&str; 3] = ["workers", "transactional_id", "story_topic"];

/// Each setting's default as the help text or the README writes it.
fn code_defaults() -> BTreeMap<String, String> {
    let serde_json::Value::Object(fields) = serde_json::to_value(RunConfig::default()).unwrap()
    else {
        panic!("RunConfig is a struct")
    };
    fields
        .into_iter()
        .filter(|(key, _)| !DESCRIBED_DEFAULTS.contains(&key.as_str()) && key != "kafka")
        .map(|(key, value)| match value {
            serde_json::Value::String(text) => (key, text),
            other => (key, other.to_string()),
        })
        // The one setting of a table that `run` takes as a flag too.
        .chain([(
            "story.settle_ms".to_owned(),
            RunConfig::default().story.settle_ms.to_string(),
        )])
        .collect()
}

/// The `[default: X]` in the help of each `run` flag named after a setting, and of the
/// `replay-dlq` flags that share one, is the code's default.
#[test]
fn help_texts_state_the_defaults_of_the_code() {
    let defaults = code_defaults();
    let command = Cli::command();
    let mut compared = 0;
    for name in ["run", "replay-dlq"] {
        let subcommand = command.find_subcommand(name).unwrap();
        for arg in subcommand.get_arguments() {
            let key = arg.get_id().as_str();
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            let written = help
                .split_once("[default: ")
                .and_then(|(_, rest)| rest.split_once(']'))
                .map(|(default, _)| default);
            // `replay-dlq` has settings of its own under the same names (its group).
            if DESCRIBED_DEFAULTS.contains(&key) || (name == "replay-dlq" && written.is_none()) {
                continue;
            }
            let setting = key.replacen("story_", "story.", 1);
            if let Some(code) = defaults.get(&setting) {
                assert_eq!(written, Some(code.as_str()), "{name} --{key}: {help}");
                compared += 1;
            }
        }
    }
    // Every setting of `run`, and brokers and dlq_topic of `replay-dlq`.
    assert_eq!(compared, defaults.len() + 2);
}

#[test]
fn the_readme_configuration_table_states_the_defaults_of_the_code() {
    let readme = include_str!("../../../../README.md");
    let section = readme
        .split_once("## Configuration")
        .and_then(|(_, rest)| rest.split_once("\n## "))
        .map(|(section, _)| section)
        .expect("a Configuration section");
    let written: BTreeMap<String, String> = section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let key = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let default = cells.get(4)?.trim_matches('`');
            Some((key.to_owned(), default.to_owned()))
        })
        .filter(|(key, _)| !DESCRIBED_DEFAULTS.contains(&key.as_str()))
        .collect();
    assert_eq!(written, code_defaults());
}

#[test]
fn flags_override_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "group_id = \"from-file\"\ndlq_topic = \"file.dlq\"\n",
    )
    .unwrap();
    let cli = Cli::try_parse_from([
        "newsflow",
        "run",
        "--config",
        path.to_str().unwrap(),
        "--group-id",
        "from-flag",
        "-X",
        "linger.ms=7",
    ])
    .unwrap();
    let Command::Run(args) = cli.command else {
        panic!("expected run")
    };
    let config = args.into_config().unwrap();
    assert_eq!(config.group_id, "from-flag");
    assert_eq!(config.dlq_topic, "file.dlq");
    assert_eq!(config.kafka["linger.ms"], "7");
}

fn usage_error(args: &[&str]) -> String {
    let error = Cli::try_parse_from(args).unwrap_err();
    assert_eq!(error.exit_code(), 2, "{error}");
    usage_error_message(&error)
}

#[test]
fn usage_errors_never_quote_what_was_typed_in_place_of_an_option() {
    const SECRET: &str = "Zq9-secret-value";
    for args in [
        &["newsflow", "run", "-X", "sasl.password", SECRET][..],
        &[
            "newsflow",
            "run",
            "--kafka-property",
            "sasl.password",
            SECRET,
        ],
        &["newsflow", "run", "--max-in-flight", SECRET],
        &["newsflow", "run", "--guarantee", SECRET],
        &["newsflow", "run", "--sasl-password=Zq9-secret-value"],
        &["newsflow", SECRET],
        &["newsflow", "process", "--threads", SECRET],
    ] {
        let message = usage_error(args);
        assert!(!message.contains(SECRET), "{message}");
    }
    let message = usage_error(&["newsflow", "run", "-X", "sasl.password", SECRET]);
    assert!(message.contains("unexpected argument '****'"), "{message}");
    let message = usage_error(&["newsflow", "run", "--brokres", "x"]);
    assert!(message.contains("'--brokres'"), "{message}");
    assert!(message.contains("--brokers"), "{message}");
}

#[test]
fn masking_leaves_longer_words_alone() {
    assert_eq!(
        replace_whole("'0': 0 is not in 1..=1024", "0", "****"),
        "'****': **** is not in 1..=1024"
    );
    assert_eq!(replace_whole("ab a ba a", "a", "*"), "ab * ba *");
}

#[test]
fn process_threads_and_record_size_are_range_checked() {
    for args in [
        &["newsflow", "process", "--threads", "100000"][..],
        &["newsflow", "process", "--threads", "0"],
        &["newsflow", "process", "--max-record-bytes", "0"],
    ] {
        let message = usage_error(args);
        assert!(message.contains("invalid value"), "{message}");
    }
    let cli = Cli::try_parse_from(["newsflow", "process", "--threads", "1024"]).unwrap();
    let Command::Process(args) = cli.command else {
        panic!("expected process")
    };
    assert_eq!(args.threads, Some(1024));
}
