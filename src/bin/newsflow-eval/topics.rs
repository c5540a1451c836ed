//! Topic classification on the BBC News articles (5 classes mapped to IPTC Media Topics):
//! top-1 accuracy, and precision/recall/F1 per gold class.

use std::collections::BTreeMap;
use std::path::Path;

use newsflow::stage::Pipeline;

use crate::score::{load, ratio, Prf};

pub fn evaluate(pipeline: &Pipeline, dir: &Path) -> anyhow::Result<()> {
    let (articles, gold) = load(dir, "bbc")?;
    let mut per_class: BTreeMap<String, Prf> = BTreeMap::new();
    let (mut correct, mut total) = (0usize, 0usize);
    for article in articles {
        let Some(labels) = gold.get(&article.id) else {
            continue;
        };
        let truth = labels["topics"][0].as_str().unwrap_or_default().to_owned();
        let predicted = pipeline
            .run(article)
            .ok()
            .and_then(|enriched| enriched.topics.first().map(|t| t.qcode.clone()))
            .unwrap_or_default();
        total += 1;
        if predicted == truth {
            correct += 1;
            per_class.entry(truth).or_default().true_positives += 1.0;
        } else {
            per_class.entry(truth).or_default().false_negatives += 1.0;
            if !predicted.is_empty() {
                per_class.entry(predicted).or_default().false_positives += 1.0;
            }
        }
    }
    println!("== topics ({}): {total} articles", dir.display());
    println!(
        "   top-1 accuracy {:.3}",
        ratio(correct as f64, total as f64)
    );
    for (qcode, prf) in &per_class {
        println!("   {qcode:<16} {}", prf.summary());
    }
    Ok(())
}
