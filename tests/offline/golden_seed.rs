//! Golden test: the seed article (tests/golden/seed) through every stage must satisfy every
//! check of its expected.json, as `newsflow-eval --only seed` (part of `make eval`) scores it.

use std::process::Command;

use crate::support::repo_path;

#[test]
fn seed_article_meets_every_expectation() {
    let output = Command::new(env!("CARGO_BIN_EXE_newsflow-eval"))
        .args(["--only", "seed", "--seed"])
        .arg(repo_path("tests/golden/seed"))
        // The seed needs none of the development sets.
        .arg(std::env::temp_dir())
        .output()
        .expect("run newsflow-eval");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "newsflow-eval failed:\n{report}");
    let all = report
        .lines()
        .find_map(|line| line.trim().strip_prefix("all"))
        .unwrap_or_else(|| panic!("no overall line in:\n{report}"));
    let counts = all.split_whitespace().next().unwrap_or_default();
    let (passed, total) = counts.split_once('/').expect("passed/total");
    assert!(
        passed == total && total != "0" && !report.contains("FAIL"),
        "failed checks:\n{report}"
    );
}
