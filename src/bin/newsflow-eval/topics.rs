//! Topic classification on the BBC News articles (5 classes mapped to IPTC Media Topics):
//! top-1 accuracy and precision/recall/F1 per gold class, on the articles and on their
//! short form (title and first two sentences), and the reliability of the scores.
//!
//! The shipped model learnt from these articles, so its figures here are development
//! figures; `make train` prints the held-out ones (five-fold cross-validation, and a model
//! trained without any BBC text).

use std::collections::BTreeMap;
use std::path::Path;

use newsflow::record::RawArticle;
use newsflow::stage::classify::topics::first_sentences;
use newsflow::stage::classify::topics::reliability::Reliability;
use newsflow::stage::Pipeline;

use crate::score::{load, ratio, Prf};

pub fn evaluate(pipeline: &Pipeline, dir: &Path) -> anyhow::Result<()> {
    let (articles, gold) = load(dir, "bbc")?;
    let model = &pipeline.reference().topics;
    let mut full = Tally::default();
    let mut short = Tally::default();
    let mut reliability = Reliability::default();
    for article in articles {
        let Some(labels) = gold.get(&article.id) else {
            continue;
        };
        let truth = labels["topics"][0].as_str().unwrap_or_default().to_owned();
        let brief = RawArticle {
            body: first_sentences(&article.body, 2).to_owned(),
            ..article.clone()
        };
        let topics = pipeline.run(article).map(|e| e.topics).unwrap_or_default();
        for topic in topics.iter().filter(|t| t.parent.is_none()) {
            reliability.add(topic.score as f32, topic.qcode == truth);
        }
        full.add(&truth, topics.first().map(|t| t.qcode.as_str()));
        let topics = pipeline.run(brief).map(|e| e.topics).unwrap_or_default();
        short.add(&truth, topics.first().map(|t| t.qcode.as_str()));
    }
    println!(
        "== topics ({}): {} articles, model {} (trained on them: see make train for held-out figures)",
        dir.display(),
        full.total,
        model.version()
    );
    full.print("articles");
    short.print("short form (title and first two sentences)");
    println!("   reliability of the reported top-level topics:");
    print!("{}", reliability.table());
    Ok(())
}

#[derive(Default)]
struct Tally {
    per_class: BTreeMap<String, Prf>,
    correct: usize,
    total: usize,
}

impl Tally {
    fn add(&mut self, truth: &str, predicted: Option<&str>) {
        self.total += 1;
        if predicted == Some(truth) {
            self.correct += 1;
            self.per_class
                .entry(truth.to_owned())
                .or_default()
                .true_positives += 1.0;
            return;
        }
        self.per_class
            .entry(truth.to_owned())
            .or_default()
            .false_negatives += 1.0;
        if let Some(predicted) = predicted {
            self.per_class
                .entry(predicted.to_owned())
                .or_default()
                .false_positives += 1.0;
        }
    }

    fn print(&self, what: &str) {
        println!(
            "   {what}: top-1 accuracy {:.3}",
            ratio(self.correct as f64, self.total as f64)
        );
        for (qcode, prf) in &self.per_class {
            println!("     {qcode:<16} {}", prf.summary());
        }
    }
}
