//! `newsflow process`: the stages over JSON Lines through the real binary.

mod support;

use std::io::Write;
use std::process::Stdio;

use serde_json::Value;
use support::{newsflow, repo_path};

/// Runs `newsflow process` with `args`, feeding `stdin`; returns stdout and stderr.
fn process(args: &[&str], stdin: &[u8]) -> (String, String) {
    let mut child = newsflow()
        .arg("process")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "exit status {:?}", output.status);
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn seed_gives_one_record_with_every_documented_path() {
    let seed = repo_path("tests/golden/seed/article.json");
    let (stdout, _) = process(&["--input", seed.to_str().unwrap(), "--output", "-"], b"");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1);
    let record: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(record["id"], "seed-xi-putin-kazakhstan");
    assert_eq!(record["schema_version"], 1);
    assert_eq!(record["published_at"], "2024-07-01T09:00:00+09:00");
    for pointer in [
        "/clean/title",
        "/clean/text",
        "/clean/paragraphs",
        "/clean/section",
        "/clean/credits",
        "/clean/language",
        "/regions/countries",
        "/regions/subregions",
        "/topics",
        "/entities",
        "/quotes",
        "/events",
    ] {
        assert!(record.pointer(pointer).is_some(), "missing {pointer}");
    }
    for pointer in [
        "/clean/paragraphs",
        "/clean/credits",
        "/regions/countries",
        "/topics",
        "/events",
    ] {
        assert!(
            record.pointer(pointer).unwrap().is_array(),
            "{pointer} is not an array"
        );
    }
    let text = record["clean"]["text"].as_str().unwrap();
    assert!(
        !text.contains("LEAVE A REPLY"),
        "boilerplate left in the text"
    );
    let first_country = &record["regions"]["countries"][0];
    for key in ["code", "name", "score", "mentions"] {
        assert!(first_country.get(key).is_some(), "country without {key}");
    }
    let first_event = &record["events"][0];
    for key in [
        "plover",
        "cameo",
        "actors",
        "targets",
        "location",
        "date_start",
        "date_end",
        "modality",
        "sentence",
        "confidence",
    ] {
        assert!(first_event.get(key).is_some(), "event without {key}");
    }
}

#[test]
fn bad_lines_go_to_the_dead_letter_file_and_the_rest_continue_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let dlq = dir.path().join("dlq.jsonl");
    let input = b"{\"id\":\"a\",\"body\":\"First article.\"}\nnot json\n{\"id\":\"b\",\"body\":\"Second.\"}\n{\"body\":\"no id\"}\n{\"id\":\"c\",\"body\":\"Third.\"}\n";
    let (stdout, _) = process(
        &[
            "--input",
            "-",
            "--output",
            "-",
            "--dlq",
            dlq.to_str().unwrap(),
        ],
        input,
    );
    let ids: Vec<String> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
    let letters: Vec<Value> = std::fs::read_to_string(&dlq)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(letters.len(), 2);
    assert_eq!(letters[0]["reason"], "invalid_json");
    assert_eq!(letters[0]["source"]["line"], 2);
    assert_eq!(letters[0]["record"], "not json");
    assert_eq!(letters[1]["reason"], "schema_violation");
    assert_eq!(letters[1]["error"], "missing required field `id`");
}

#[test]
fn dead_letters_default_to_stderr() {
    let (stdout, stderr) = process(&[], b"[1,2,3]\n");
    assert!(stdout.is_empty());
    let letter = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("reason").is_some())
        .expect("a dead-letter line on stderr");
    assert_eq!(letter["reason"], "schema_violation");
}
