//! `newsflow process`: the stages over JSON Lines through the real binary.

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::schema::{assert_valid, validator};
use crate::support::{newsflow, repo_path};
use serde_json::Value;

/// Runs `newsflow process` with `args`, feeding `stdin`.
fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = newsflow()
        .arg("process")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `newsflow process` with `args`, feeding `stdin`; returns stdout and stderr.
fn process(args: &[&str], stdin: &[u8]) -> (String, String) {
    let output = run(args, stdin);
    assert!(output.status.success(), "exit status {:?}", output.status);
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// The seed article's enriched record on stdout, with `extra` flags.
fn enrich_seed(extra: &[&str]) -> String {
    let seed = repo_path("tests/golden/seed/article.json");
    let args = ["--input", seed.to_str().unwrap()];
    let to_stdout = ["--output", "-", "--dlq", "/dev/null"];
    process(&[&args[..], &to_stdout, extra].concat(), b"").0
}

#[test]
fn seed_gives_one_record_with_every_documented_path() {
    let stdout = enrich_seed(&[]);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1);
    let record: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(record["id"], "seed-xi-putin-kazakhstan");
    assert_eq!(record["schema_version"], ::newsflow::record::SCHEMA_VERSION);
    assert_eq!(record["published_at"], "2024-07-01T09:00:00+09:00");
    for pointer in [
        "/clean/title",
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
        "/events/0/actor_details",
        "/events/0/target_details",
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
    assert!(
        record["clean"].get("text").is_none(),
        "clean.text is left out unless asked for"
    );
    let text = record["clean"]["paragraphs"].to_string();
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
    let ids: Vec<Value> = json_lines(&stdout)
        .iter()
        .map(|v| v["id"].clone())
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
    let letters = json_lines(&std::fs::read_to_string(&dlq).unwrap());
    assert_eq!(letters.len(), 2);
    assert_eq!(letters[0]["reason"], "invalid_json");
    assert_eq!(letters[0]["source"]["line"], 2);
    assert_eq!(letters[0]["record"], "not json");
    assert_eq!(letters[1]["reason"], "schema_violation");
    assert_eq!(letters[1]["error"], "missing required field `id`");
}

/// A canceled or withheld input writes a kill line where its enriched line would be, in
/// input order, and says so in the log; nothing of it is enriched.
#[test]
fn a_withdrawn_article_becomes_a_kill_line_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let dlq = dir.path().join("dlq.jsonl");
    let input = concat!(
        r#"{"id":"a","body":"First article."}"#,
        "\n",
        r#"{"uri":"urn:newsml:example.com:2024:7","pubstatus":"canceled","versioncreated":"Mon, 01 Jul 2024 09:00:00 +0100"}"#,
        "\n",
        r#"{"id":"c","body":"Withheld for now.","pubstatus":"withheld"}"#,
        "\n",
        r#"{"id":"d","body":"Still usable.","pubstatus":"usable"}"#,
        "\n",
    );
    let to_stdout = ["--input", "-", "--output", "-", "--dlq", path_str(&dlq)];
    let (stdout, stderr) = process(&to_stdout, input.as_bytes());
    let lines = json_lines(&stdout);
    let ids: Vec<&str> = lines.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a", "urn:newsml:example.com:2024:7", "c", "d"]);
    let schema = validator("enriched-article.v1.json");
    for line in &lines {
        assert_valid(&schema, line, &format!("line {line}"));
    }
    assert_eq!(
        lines[1],
        serde_json::json!({"id": "urn:newsml:example.com:2024:7", "killed": true,
            "pubstatus": "canceled", "input_format": "ninjs",
            "schema_version": ::newsflow::record::SCHEMA_VERSION})
    );
    assert_eq!(
        (&lines[2]["killed"], &lines[2]["pubstatus"]),
        (&Value::Bool(true), &Value::from("withheld"))
    );
    assert!(lines[2].get("clean").is_none());
    assert!(lines[3].get("killed").is_none());
    assert_eq!(lines[3]["source_fields"]["pubstatus"], "usable");
    assert!(std::fs::read_to_string(&dlq).unwrap().is_empty());
    assert_eq!(stderr.matches("Article killed.").count(), 2, "{stderr}");
    assert!(stderr.contains("\"killed\":2"), "{stderr}");
}

/// An embargoed article is written with its `embargoed` time (a file publishes nothing),
/// counted and logged; a version older than one before it in the input becomes a
/// superseded line in its place, logged and counted, and is not enriched; a newer one is.
#[test]
fn embargoes_are_written_and_late_older_versions_become_superseded_lines() {
    let dir = tempfile::tempdir().unwrap();
    let dlq = dir.path().join("dlq.jsonl");
    let item = |version: &str, created: &str| {
        serde_json::json!({"uri": "urn:newsml:example.com:2024:8", "version": version,
            "versioncreated": created, "bodies": [{"value": "Leaders met in Moscow."}]})
        .to_string()
    };
    let input = [
        item("2", "2024-07-01T10:00:00Z"),
        r#"{"id":"e","body":"Results at noon.","embargoed":"2100-01-01T12:00:00Z"}"#.to_owned(),
        r#"{"id":"p","body":"Embargo passed.","embargoed":"2001-01-01T12:00:00Z"}"#.to_owned(),
        item("1", "2024-07-01T11:00:00Z"),
        item("3", "2024-07-01T09:00:00Z"),
    ]
    .join("\n");
    let to_stdout = ["--input", "-", "--output", "-", "--dlq", path_str(&dlq)];
    let (stdout, stderr) = process(&to_stdout, input.as_bytes());
    let lines = json_lines(&stdout);
    let schema = validator("enriched-article.v1.json");
    for line in &lines {
        assert_valid(&schema, line, &format!("line {line}"));
    }
    let ids: Vec<&str> = lines.iter().map(|v| v["id"].as_str().unwrap()).collect();
    let id = "urn:newsml:example.com:2024:8";
    assert_eq!(ids, [id, "e", "p", id, id]);
    assert_eq!(lines[1]["embargoed"], "2100-01-01T12:00:00Z");
    assert_eq!(lines[2]["embargoed"], "2001-01-01T12:00:00Z");
    assert_eq!(
        lines[3],
        serde_json::json!({"id": id, "superseded": true, "version": "1",
            "versioncreated": "2024-07-01T11:00:00Z", "input_format": "ninjs",
            "schema_version": ::newsflow::record::SCHEMA_VERSION})
    );
    assert!(
        lines[4].get("clean").is_some(),
        "version 3 is newer by number"
    );
    assert!(std::fs::read_to_string(&dlq).unwrap().is_empty());
    assert_eq!(stderr.matches("Article superseded").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("Article embargoed.").count(), 1, "{stderr}");
    assert!(stderr.contains("\"superseded\":1"), "{stderr}");
    assert!(stderr.contains("\"embargoed\":1"), "{stderr}");
}

/// stderr carries the JSON log lines: dead letters never go there, so that no reader has
/// to tell the two apart.
#[test]
fn dead_letters_go_beside_the_output_file_and_never_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("enriched.jsonl");
    let (stdout, stderr) = process(
        &["--output", path_str(&output)],
        b"[1,2,3]\n{\"id\":\"a\",\"body\":\"First article.\"}\n",
    );
    assert!(stdout.is_empty());
    assert!(!stderr.contains("[1,2,3]"), "{stderr}");
    let letters =
        json_lines(&std::fs::read_to_string(dir.path().join("enriched.dlq.jsonl")).unwrap());
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["reason"], "schema_violation");
    assert_eq!(
        json_lines(&std::fs::read_to_string(&output).unwrap()).len(),
        1
    );
}

#[test]
fn output_on_stdout_without_dlq_is_refused_with_exit_2() {
    let output = run(&[], b"[1,2,3]\n");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--dlq is required when --output is stdout"),
        "{stderr}"
    );
    assert!(!stderr.contains("[1,2,3]"), "{stderr}");
}

/// Each line of `text` as JSON.
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn file_names(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn two_paths_on_one_file_are_refused_with_exit_2_and_the_input_kept() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let original = b"{\"id\":\"a\",\"body\":\"First article.\"}\n".repeat(100);
    std::fs::write(&input, &original).unwrap();
    let symlink = dir.path().join("symlink.jsonl");
    std::os::unix::fs::symlink(&input, &symlink).unwrap();
    let hard_link = dir.path().join("hard-link.jsonl");
    std::fs::hard_link(&input, &hard_link).unwrap();
    let (input, symlink, hard_link) = (path_str(&input), path_str(&symlink), path_str(&hard_link));
    let new = dir.path().join("new.jsonl");
    let new = path_str(&new);
    let cases: [&[&str]; 6] = [
        &["--input", input, "--output", input],
        &["--input", input, "--output", "-", "--dlq", input],
        &["--input", input, "--output", symlink],
        &["--input", symlink, "--output", "-", "--dlq", hard_link],
        &["--input", input, "--output", hard_link],
        &["--input", input, "--output", new, "--dlq", new],
    ];
    for args in cases {
        let output = run(args, b"");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("name the same file"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert_eq!(std::fs::read(input).unwrap(), original, "{args:?}");
        assert_eq!(
            file_names(dir.path()),
            ["hard-link.jsonl", "in.jsonl", "symlink.jsonl"],
            "{args:?}"
        );
    }
}

#[test]
fn a_failed_run_creates_no_output_and_leaves_an_old_one_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    // A directory opens but cannot be read: the run fails after its outputs were opened.
    let input = dir.path().join("a-directory");
    std::fs::create_dir(&input).unwrap();
    let output = dir.path().join("out.jsonl");
    let dlq = dir.path().join("dlq.jsonl");
    std::fs::write(&dlq, "previous dead letters\n").unwrap();
    let result = run(
        &[
            "--input",
            path_str(&input),
            "--output",
            path_str(&output),
            "--dlq",
            path_str(&dlq),
        ],
        b"",
    );
    assert_eq!(result.status.code(), Some(1));
    assert_eq!(file_names(dir.path()), ["a-directory", "dlq.jsonl"]);
    assert_eq!(
        std::fs::read_to_string(&dlq).unwrap(),
        "previous dead letters\n"
    );
}

#[test]
fn a_killed_run_leaves_no_output_under_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.jsonl");
    let mut child = newsflow()
        .args(["process", "--input", "-", "--output", path_str(&output)])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Input keeps coming (stdin stays open), so the run is still going when it is killed.
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(&b"{\"id\":\"a\",\"body\":\"First article.\"}\n".repeat(2000))
        .unwrap();
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while file_names(dir.path()).is_empty() {
        assert!(Instant::now() < deadline, "newsflow created no file");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!output.exists(), "a partial output under the final name");
    let names = file_names(dir.path());
    assert!(
        names.iter().all(|name| name.ends_with(".partial")),
        "{names:?}"
    );
}

#[test]
fn a_line_over_the_limit_is_dead_lettered_whole_and_valid() {
    let dir = tempfile::tempdir().unwrap();
    let dlq = dir.path().join("dlq.jsonl");
    let text_line = format!(
        "{{\"id\":\"big\",\"body\":\"{}\"}}",
        "Quotes \\\"here\\\", a tab\\t, a euro € and ü. ".repeat(100_000)
    );
    let mut binary_line = text_line.clone().into_bytes();
    binary_line[3_000_000] = 0xff;
    let mut input = text_line.as_bytes().to_vec();
    input.extend_from_slice(b"\r\n{\"id\":\"a\",\"body\":\"First article.\"}\n");
    input.extend_from_slice(&binary_line);
    input.push(b'\n');
    let (stdout, _) = process(
        &[
            "--output",
            "-",
            "--dlq",
            path_str(&dlq),
            "--max-record-bytes",
            "1000",
        ],
        &input,
    );
    let ids: Vec<Value> = json_lines(&stdout)
        .iter()
        .map(|v| v["id"].clone())
        .collect();
    assert_eq!(ids, ["a"]);
    let letters = json_lines(&std::fs::read_to_string(&dlq).unwrap());
    assert_eq!(letters.len(), 2);
    let validator = validator("dead-letter.v1.json");
    for (letter, line) in letters.iter().zip([1, 3]) {
        assert_eq!(letter["reason"], "too_large");
        assert_eq!(letter["source"]["line"], line);
        assert_valid(&validator, letter, &format!("line {line}"));
    }
    assert!(
        letters[0]["record"] == text_line.as_str(),
        "text record differs"
    );
    let decoded = data_encoding::BASE64
        .decode(letters[1]["record_base64"].as_str().unwrap().as_bytes())
        .unwrap();
    assert!(decoded == binary_line, "binary record differs");
}

#[test]
fn include_text_adds_the_paragraphs_joined() {
    let stdout = enrich_seed(&["--include-text"]);
    let record: Value = serde_json::from_str(stdout.trim_end()).unwrap();
    let paragraphs: Vec<&str> = record["clean"]["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(paragraphs.len() > 1);
    assert_eq!(record["clean"]["text"], paragraphs.join("\n\n"));
    assert!(enrich_seed(&[]).len() < stdout.len());
}
