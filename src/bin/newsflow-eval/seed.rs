//! The seed article's checks (expected.json), part by part.

use std::collections::BTreeMap;
use std::path::Path;

use crate::golden::check;
use anyhow::Context;
use newsflow::stage::Pipeline;

pub fn evaluate(pipeline: &Pipeline, dir: &Path) -> anyhow::Result<()> {
    let article = std::fs::read(dir.join("article.json")).context("reading the seed article")?;
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("expected.json")).context("reading expected.json")?,
    )?;
    let enriched = pipeline
        .enrich(&article, usize::MAX)
        .map_err(|rejection| anyhow::anyhow!("the seed was rejected: {}", rejection.error))?
        .into_article()
        .context("the seed withdraws its article")?;
    let checks = check(&expected, &enriched);
    let mut per_part: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    println!("== seed ({})", dir.display());
    for c in &checks {
        let entry = per_part.entry(c.part).or_default();
        entry.1 += 1;
        if c.passed {
            entry.0 += 1;
        } else {
            println!("   FAIL {:<9} {} (found {})", c.part, c.name, c.found);
        }
    }
    for (part, (passed, total)) in &per_part {
        println!("   {part:<9} {passed}/{total} checks pass");
    }
    let passed = checks.iter().filter(|c| c.passed).count();
    println!("   all       {passed}/{} checks pass", checks.len());
    Ok(())
}
