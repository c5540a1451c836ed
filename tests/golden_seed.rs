//! Golden test: the seed article (tests/golden/seed) through every stage must satisfy every
//! check of its expected.json.

mod support;

use newsflow::golden::check;
use newsflow::stage::Pipeline;
use support::repo_path;

#[test]
fn seed_article_meets_every_expectation() {
    let article = std::fs::read(repo_path("tests/golden/seed/article.json")).unwrap();
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo_path("tests/golden/seed/expected.json")).unwrap(),
    )
    .unwrap();
    let enriched = Pipeline::standard()
        .enrich(&article, usize::MAX)
        .expect("seed enriched");
    let failed: Vec<String> = check(&expected, &enriched)
        .into_iter()
        .filter(|c| !c.passed)
        .map(|c| format!("{}: {} (found {})", c.part, c.name, c.found))
        .collect();
    assert!(
        failed.is_empty(),
        "{} failed checks:\n{}",
        failed.len(),
        failed.join("\n")
    );
}
