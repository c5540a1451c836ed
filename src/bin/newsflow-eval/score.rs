//! Shared scoring helpers: reading data sets and precision/recall/F1.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use newsflow::record::{decode, Input, RawArticle};
use serde_json::Value;

/// Counts for precision, recall and F1.
#[derive(Debug, Default, Clone, Copy)]
pub struct Prf {
    pub true_positives: f64,
    pub false_positives: f64,
    pub false_negatives: f64,
}

impl Prf {
    pub fn precision(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    pub fn recall(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        ratio(2.0 * p * r, p + r)
    }

    /// "P 0.912  R 0.874  F1 0.893"
    pub fn summary(&self) -> String {
        format!(
            "P {:.3}  R {:.3}  F1 {:.3}",
            self.precision(),
            self.recall(),
            self.f1()
        )
    }
}

pub fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator == 0.0 {
        0.0
    } else {
        numerator / denominator
    }
}

/// Reads `DIR/NAME.articles.jsonl` and `DIR/NAME.gold.jsonl`, as [`load_files`] does.
pub fn load(dir: &Path, name: &str) -> anyhow::Result<(Vec<RawArticle>, HashMap<String, Value>)> {
    load_files(
        &dir.join(format!("{name}.articles.jsonl")),
        &dir.join(format!("{name}.gold.jsonl")),
    )
}

/// Reads the articles as decoded articles (skipping undecodable ones) and the gold labels
/// as JSON values keyed by `id`.
pub fn load_files(
    articles_path: &Path,
    gold_path: &Path,
) -> anyhow::Result<(Vec<RawArticle>, HashMap<String, Value>)> {
    let articles_text = std::fs::read_to_string(articles_path)
        .with_context(|| format!("reading {}", articles_path.display()))?;
    // A record the pipeline itself would dead-letter is not scored, and said so.
    let mut articles = Vec::new();
    for (number, line) in articles_text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match decode(line.as_bytes(), usize::MAX) {
            Ok(Input::Article(article)) => articles.push(article),
            Ok(Input::Kill(kill)) => eprintln!(
                "{}:{}: skipped: kills {}",
                articles_path.display(),
                number + 1,
                kill.id
            ),
            Err(error) => eprintln!(
                "{}:{}: skipped: {error}",
                articles_path.display(),
                number + 1
            ),
        }
    }
    let gold_text = std::fs::read_to_string(gold_path)
        .with_context(|| format!("reading {}", gold_path.display()))?;
    let mut gold = HashMap::new();
    for line in gold_text.lines().filter(|line| !line.trim().is_empty()) {
        let value: Value = serde_json::from_str(line)?;
        let id = value["id"]
            .as_str()
            .context("gold line without id")?
            .to_owned();
        gold.insert(id, value);
    }
    Ok((articles, gold))
}
