//! Event coding on gold sentences (the PLOVER set and the project's own Wikinews set): is
//! the sentence's event class among the events found, and are its source actors among
//! theirs; on a sentence with no event, any event found is a false alarm. Confidence is
//! checked against the share of events of the gold class, per band and as a calibration
//! error and Brier score. The gold codes
//! international organisations by type ("IGO"), so an organisation's acronym is compared by
//! its category.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use newsflow::record::{Event, RawArticle};
use newsflow::stage::extract::events::calibration::{
    brier_score, expected_calibration_error, right_by_band,
};
use newsflow::stage::extract::organisations::Organisations;
use newsflow::stage::Pipeline;
use serde_json::Value;

use crate::score::{load, load_files, ratio, Prf};

/// The code as the gold writes it: countries as they are, organisations by category.
fn gold_form<'a>(organisations: &'a Organisations, code: &'a str) -> &'a str {
    organisations
        .named(code)
        .map_or(code, |o| o.category.as_str())
}

/// The extracted event that best fits the gold class: the one with most gold actors.
fn best_match<'e>(
    organisations: &Organisations,
    events: &'e [Event],
    class: &str,
    gold_actors: &[&str],
) -> Option<&'e Event> {
    events.iter().filter(|e| e.plover == class).max_by_key(|e| {
        gold_actors
            .iter()
            .filter(|g| e.actors.iter().any(|a| gold_form(organisations, a) == **g))
            .count()
    })
}

/// The PLOVER gold sentences, each with one event.
pub fn evaluate(pipeline: &Pipeline, dir: &Path) -> anyhow::Result<()> {
    let (articles, gold) = load(dir, "plover")?;
    score_sentences(pipeline, articles, &gold).print(&format!("events ({})", dir.display()));
    Ok(())
}

/// The project's own hand-coded Wikinews sentences (data/eval/events-own), where a
/// sentence may have no event ("NONE") and any event found there is a false alarm.
pub fn evaluate_own(pipeline: &Pipeline, dir: &Path) -> anyhow::Result<()> {
    let (articles, gold) = load_files(&dir.join("articles.jsonl"), &dir.join("gold.jsonl"))?;
    score_sentences(pipeline, articles, &gold).print(&format!("events-own ({})", dir.display()));
    Ok(())
}

/// The gold class of a sentence with no political event.
const NO_EVENT: &str = "NONE";

/// What the coder got right and wrong on gold sentences of one event (or none) each.
#[derive(Default)]
struct SentenceScores {
    sentences: usize,
    classes: Prf,
    actors: Prf,
    /// Class → (sentences whose class was found, sentences).
    per_class: BTreeMap<String, (usize, usize)>,
    /// Gold source actors of the sentences whose class was found: (found, all).
    matched_actors: (usize, usize),
    /// Every event's (confidence, whether it is of the gold class).
    scored: Vec<(f64, bool)>,
    /// Sentences without an event: (those given one anyway, all).
    false_alarms: (usize, usize),
}

fn score_sentences(
    pipeline: &Pipeline,
    articles: Vec<RawArticle>,
    gold: &HashMap<String, Value>,
) -> SentenceScores {
    let organisations = &pipeline.reference().extract.organisations;
    let mut scores = SentenceScores::default();
    for article in articles {
        let Some(truth) = gold.get(&article.id) else {
            continue;
        };
        scores.sentences += 1;
        let events = pipeline
            .run(article)
            .map(|enriched| enriched.events)
            .unwrap_or_default();
        let class = truth["event"].as_str().unwrap_or_default();
        for event in &events {
            scores
                .scored
                .push((event.confidence, event.plover == class));
        }
        scores.classes.false_positives +=
            events.iter().filter(|e| e.plover != class).count() as f64;
        if class == NO_EVENT {
            scores.false_alarms.0 += usize::from(!events.is_empty());
            scores.false_alarms.1 += 1;
            continue;
        }
        let gold_actors: Vec<&str> = truth["source"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        let matched = best_match(organisations, &events, class, &gold_actors);
        let tally = scores.per_class.entry(class.to_owned()).or_default();
        tally.1 += 1;
        if matched.is_some() {
            scores.classes.true_positives += 1.0;
            tally.0 += 1;
        } else {
            scores.classes.false_negatives += 1.0;
        }
        let found: Vec<&str> = matched
            .map(|e| {
                e.actors
                    .iter()
                    .map(|a| gold_form(organisations, a))
                    .collect()
            })
            .unwrap_or_default();
        for actor in &gold_actors {
            if matched.is_some() {
                scores.matched_actors.1 += 1;
                scores.matched_actors.0 += usize::from(found.contains(actor));
            }
            if found.contains(actor) {
                scores.actors.true_positives += 1.0;
            } else {
                scores.actors.false_negatives += 1.0;
            }
        }
        scores.actors.false_positives +=
            found.iter().filter(|f| !gold_actors.contains(f)).count() as f64;
    }
    scores
}

impl SentenceScores {
    fn print(&self, heading: &str) {
        println!("== {heading}: {} sentences", self.sentences);
        println!("   PLOVER class  {}", self.classes.summary());
        println!("   actors        {}", self.actors.summary());
        println!(
            "   actor accuracy (events of the gold class)  {:.3} ({}/{})",
            ratio(self.matched_actors.0 as f64, self.matched_actors.1 as f64),
            self.matched_actors.0,
            self.matched_actors.1
        );
        let recall: Vec<String> = self
            .per_class
            .iter()
            .map(|(class, (hit, all))| format!("{class} {hit}/{all}"))
            .collect();
        println!("   class recall  {}", recall.join(", "));
        let bands: Vec<String> = right_by_band(&self.scored)
            .iter()
            .enumerate()
            .filter(|(_, (_, all))| *all > 0)
            .map(|(band, (right, all))| {
                format!(
                    "{:.1}-{:.1} {right}/{all}",
                    band as f64 / 10.0,
                    (band + 1) as f64 / 10.0
                )
            })
            .collect();
        println!("   right by confidence  {}", bands.join(", "));
        println!(
            "   calibration  ECE {:.3} (10 bands, weighted)  Brier {:.3}  ({} events)",
            expected_calibration_error(&self.scored),
            brier_score(&self.scored),
            self.scored.len()
        );
        let (alarms, quiet) = self.false_alarms;
        if quiet > 0 {
            println!(
                "   no-event sentences given an event  {alarms}/{quiet} ({:.1}%)",
                100.0 * ratio(alarms as f64, quiet as f64)
            );
        }
    }
}

/// Events on the BBC development articles, per gold label: sport and entertainment have
/// no political events, so any event there is a false alarm; the other labels show how
/// much the coder finds where events may be.
pub fn evaluate_by_topic(pipeline: &Pipeline, dir: &Path) -> anyhow::Result<()> {
    let (articles, gold) = load(dir, "bbc")?;
    // label → (articles, articles with an event, events, events per class)
    let mut per_label: BTreeMap<String, (usize, usize, usize, BTreeMap<String, usize>)> =
        BTreeMap::new();
    for article in articles {
        let Some(label) = gold.get(&article.id).and_then(|g| g["label"].as_str()) else {
            continue;
        };
        let events = pipeline
            .run(article)
            .map(|enriched| enriched.events)
            .unwrap_or_default();
        let tally = per_label.entry(label.to_owned()).or_default();
        tally.0 += 1;
        tally.1 += usize::from(!events.is_empty());
        tally.2 += events.len();
        for event in &events {
            *tally.3.entry(event.plover.clone()).or_default() += 1;
        }
    }
    println!("== events by topic ({}): BBC articles", dir.display());
    for (label, (articles, with_event, events, classes)) in &per_label {
        let classes: Vec<String> = classes.iter().map(|(c, n)| format!("{c} {n}")).collect();
        println!(
            "   {label:<13} {with_event:>3}/{articles:<3} ({:>5.1}%) with an event, {:.2} events/article  {}",
            100.0 * ratio(*with_event as f64, *articles as f64),
            ratio(*events as f64, *articles as f64),
            classes.join(", ")
        );
    }
    let leisure: Vec<_> = ["sport", "entertainment"]
        .iter()
        .filter_map(|label| per_label.get(*label))
        .collect();
    let (articles, with_event) = leisure.iter().fold((0, 0), |(a, w), t| (a + t.0, w + t.1));
    println!(
        "   sport and entertainment: {with_event}/{articles} ({:.1}%) with an event",
        100.0 * ratio(with_event as f64, articles as f64)
    );
    Ok(())
}
