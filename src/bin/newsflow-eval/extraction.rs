//! Article extraction on the article-extraction-benchmark pages: 4-gram shingle precision,
//! recall and F1 of `clean.text` against the gold article body, averaged over pages as the
//! benchmark does.

use std::collections::HashMap;
use std::path::Path;

use newsflow::stage::Pipeline;

use crate::score::{load, ratio};

const SHINGLE: usize = 4;

pub fn evaluate(pipeline: &Pipeline, dir: &Path) -> anyhow::Result<()> {
    let (articles, gold) = load(dir, "aeb")?;
    let (mut precision, mut recall, mut scored) = (0.0, 0.0, 0usize);
    for article in articles {
        let Some(truth) = gold
            .get(&article.id)
            .and_then(|g| g["article_body"].as_str())
        else {
            continue;
        };
        let predicted = pipeline
            .run(article)
            .map(|enriched| enriched.clean.text)
            .unwrap_or_default();
        let (p, r) = shingle_overlap(&predicted, truth);
        precision += p;
        recall += r;
        scored += 1;
    }
    let n = scored.max(1) as f64;
    let (precision, recall) = (precision / n, recall / n);
    println!("== extraction ({}): {scored} pages", dir.display());
    println!(
        "   shingles  P {precision:.3}  R {recall:.3}  F1 {:.3}",
        ratio(2.0 * precision * recall, precision + recall)
    );
    Ok(())
}

/// Precision and recall of the predicted text's word 4-gram multiset against the truth's.
/// An empty prediction of an empty truth is perfect; of a non-empty one, worthless.
pub fn shingle_overlap(predicted: &str, truth: &str) -> (f64, f64) {
    let predicted = shingles(predicted);
    let truth = shingles(truth);
    let predicted_total: usize = predicted.values().sum();
    let truth_total: usize = truth.values().sum();
    if predicted_total == 0 && truth_total == 0 {
        return (1.0, 1.0);
    }
    let common: usize = predicted
        .iter()
        .map(|(shingle, count)| truth.get(shingle).map_or(0, |t| (*t).min(*count)))
        .sum();
    (
        ratio(common as f64, predicted_total as f64),
        ratio(common as f64, truth_total as f64),
    )
}

fn shingles(text: &str) -> HashMap<Vec<&str>, usize> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut counts = HashMap::new();
    for window in words.windows(SHINGLE.min(words.len().max(1))) {
        *counts.entry(window.to_vec()).or_default() += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::shingle_overlap;

    #[test]
    fn identical_texts_score_one_and_extra_text_lowers_precision() {
        let truth = "one two three four five six";
        assert_eq!(shingle_overlap(truth, truth), (1.0, 1.0));
        let (p, r) = shingle_overlap("menu home one two three four five six", truth);
        assert_eq!(r, 1.0);
        assert!(p < 1.0 && p > 0.5);
        assert_eq!(shingle_overlap("", truth), (0.0, 0.0));
    }
}
