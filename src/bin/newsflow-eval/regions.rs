//! Country detection on the Reuters newswire articles: micro precision, recall and F1 of
//! the predicted countries against the gold places (1987 Reuters place codes, mapped to
//! ISO 3166-1 alpha-2 by `data/geo/reuters-places.tsv`).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use newsflow::stage::Pipeline;

use crate::score::{load, Prf};

const PLACE_CODES: &str = include_str!("../../../data/geo/reuters-places.tsv");

pub fn evaluate(pipeline: &Pipeline, dir: &Path) -> anyhow::Result<()> {
    let places: HashMap<&str, &str> = PLACE_CODES
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('\t'))
        .collect();
    let (articles, gold) = load(dir, "reuters")?;
    let mut prf = Prf::default();
    let mut unmapped: BTreeSet<String> = BTreeSet::new();
    let mut scored = 0usize;
    for article in articles {
        let Some(truth) = gold.get(&article.id) else {
            continue;
        };
        scored += 1;
        let mut expected: BTreeSet<String> = BTreeSet::new();
        for place in truth["places"].as_array().into_iter().flatten() {
            let place = place.as_str().unwrap_or_default();
            match places.get(place) {
                Some(code) => {
                    expected.insert((*code).to_owned());
                }
                None => {
                    unmapped.insert(place.to_owned());
                }
            }
        }
        let predicted: BTreeSet<String> = pipeline
            .run(article)
            .map(|enriched| {
                enriched
                    .regions
                    .countries
                    .into_iter()
                    .map(|c| c.code)
                    .collect()
            })
            .unwrap_or_default();
        prf.true_positives += predicted.intersection(&expected).count() as f64;
        prf.false_positives += predicted.difference(&expected).count() as f64;
        prf.false_negatives += expected.difference(&predicted).count() as f64;
    }
    println!("== regions ({}): {scored} articles", dir.display());
    println!("   countries  {}", prf.summary());
    if !unmapped.is_empty() {
        println!("   place codes without a country: {unmapped:?}");
    }
    Ok(())
}
