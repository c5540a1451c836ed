//! `newsflow-train topics`: the IPTC Media Topics classifier, trained on the open corpora
//! and the BBC development articles, measured on what each model has not seen:
//!
//! - cross-corpus: trained without any BBC text, scored on the BBC articles and on their
//!   short form (title and first two sentences, the shape of a wire brief);
//! - five-fold cross-validation: trained on the open corpora and four fifths of each, scored
//!   on the fifth left out; its held-out scores fit the softmax temperature, and the
//!   reliability table shows how well the scores are calibrated;
//! - the shipped model learns from everything, with that temperature.

mod corpus;
mod report;
mod train;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use newsflow::stage::classify::topics::features::hash_bytes;
use newsflow::stage::classify::topics::model::ModelParts;
use newsflow::stage::classify::topics::TopicModel;
use rayon::prelude::*;

use corpus::{short_form, Embeddings, Item, Taxonomy};
use report::{fit_temperature, predict, reliability_table, top1, Prediction};
use train::{train, with_temperature, Settings, Vocabulary};

#[derive(clap::Args)]
pub struct Args {
    /// The labelled open corpora (scripts/fetch-corpora.sh writes them)
    #[arg(long, env = "NEWSFLOW_TOPIC_CORPORA", default_value_os_t = default_corpora())]
    corpora: PathBuf,
    /// The BBC development set (bbc.articles.jsonl, bbc.gold.jsonl); `make train-topics`
    /// passes NEWSFLOW_EVAL_DATA/topics
    #[arg(long)]
    bbc: PathBuf,
    /// The IPTC Media Topics code list
    #[arg(long, default_value = "data/topics/iptc-media-topics.tsv")]
    taxonomy: PathBuf,
    /// The distilled word embeddings
    #[arg(long, default_value = "data/topics/embeddings.bin")]
    embeddings: PathBuf,
    /// Where to write the shipped model
    #[arg(long, default_value = "data/topics/model.bin")]
    out: PathBuf,
    /// Only the cross-corpus check, no model written (for trying settings)
    #[arg(long)]
    quick: bool,
    /// Also write the model trained without BBC text here (to look at its mistakes)
    #[arg(long)]
    cross_out: Option<PathBuf>,
    #[command(flatten)]
    settings: Settings,
}

fn default_corpora() -> PathBuf {
    let cache = std::env::var_os("NEWSFLOW_CORPORA").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/newsflow/corpora")
        },
        PathBuf::from,
    );
    cache.join("topics.jsonl")
}

const FOLDS: usize = 5;

pub fn run(args: &Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let taxonomy = Taxonomy::read(&args.taxonomy)?;
    let open = corpus::open_corpora(&args.corpora, &taxonomy)?;
    let bbc = corpus::bbc(&args.bbc, &taxonomy)?;
    let bbc_short: Vec<Item> = bbc.iter().map(short_form).collect();
    let embeddings = Embeddings::read(&args.embeddings)?;
    let vocabulary = Vocabulary::new(&embeddings);
    let settings = &args.settings;
    println!(
        "topics: {} open-corpus items, {} BBC development articles, {} embedding words; {settings:?}",
        open.len(),
        bbc.len(),
        embeddings.words.len()
    );
    let fit = |items: Vec<&Item>, out: Option<&PathBuf>| -> anyhow::Result<TopicModel> {
        let bytes = train(&items, &vocabulary, &taxonomy, settings, "").to_bytes();
        if let Some(out) = out {
            std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
        }
        Ok(TopicModel::from_bytes(&bytes)?)
    };

    // Fold 0..FOLDS: cross-validation; FOLDS: trained without BBC.
    let runs: Vec<anyhow::Result<Run>> = (0..=FOLDS)
        .into_par_iter()
        .filter(|&fold| !args.quick || fold == FOLDS)
        .map(|fold| {
            let held = |index: usize| fold < FOLDS && index % FOLDS == fold;
            let training: Vec<&Item> = open
                .iter()
                .enumerate()
                .filter(|(i, _)| !held(*i))
                .chain(
                    bbc.iter()
                        .enumerate()
                        .filter(|(i, _)| fold < FOLDS && !held(*i)),
                )
                .map(|(_, item)| item)
                .collect();
            let model = fit(training, args.cross_out.as_ref().filter(|_| fold == FOLDS))?;
            let pick = |items: &[Item]| -> Vec<Item> {
                items
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| fold == FOLDS || held(*i))
                    .map(|(_, item)| item.clone())
                    .collect()
            };
            Ok(Run {
                articles: predict(&model, &pick(&bbc)),
                short: predict(&model, &pick(&bbc_short)),
                open: if fold < FOLDS {
                    predict(&model, &pick(&open))
                } else {
                    Vec::new()
                },
                subtopics: if fold < FOLDS {
                    subtopics_found(&model, &pick(&open), &taxonomy)
                } else {
                    (0, 0)
                },
            })
        })
        .collect();
    let mut runs = runs.into_iter().collect::<anyhow::Result<Vec<Run>>>()?;
    let cross = runs.pop().context("the cross-corpus run")?;
    println!(
        "cross-corpus (trained without BBC): BBC articles top-1 {:.3}, short form top-1 {:.3}",
        top1(&cross.articles),
        top1(&cross.short)
    );
    print_confusions(&cross.articles, &taxonomy);
    if args.quick {
        return Ok(());
    }

    let joined = |pick: fn(&Run) -> &Vec<Prediction>| -> Vec<Prediction> {
        runs.iter()
            .flat_map(|run| pick(run).iter().cloned())
            .collect()
    };
    let (articles, short, open_held) = (
        joined(|r| &r.articles),
        joined(|r| &r.short),
        joined(|r| &r.open),
    );
    println!(
        "{FOLDS}-fold cross-validation: BBC articles top-1 {:.3}, short form {:.3}, open corpora {:.3}",
        top1(&articles),
        top1(&short),
        top1(&open_held)
    );
    let (found, total) = runs.iter().fold((0, 0), |(f, t), run| {
        (f + run.subtopics.0, t + run.subtopics.1)
    });
    println!(
        "second level, held-out open-corpus items that have one: {found} of {total} reported ({:.3})",
        found as f64 / total.max(1) as f64
    );
    let calibration: Vec<Prediction> = articles.iter().chain(&open_held).cloned().collect();
    let temperature = fit_temperature(&calibration);
    println!("softmax temperature fitted on the held-out scores: {temperature:.2}");
    println!(
        "reliability, held-out BBC articles:\n{}",
        reliability_table(&articles, temperature)
    );
    println!(
        "reliability, held-out open-corpus items:\n{}",
        reliability_table(&open_held, temperature)
    );

    let everything: Vec<&Item> = open.iter().chain(&bbc).collect();
    let parts = with_temperature(
        train(&everything, &vocabulary, &taxonomy, settings, ""),
        temperature,
    );
    let bytes = versioned(parts);
    std::fs::write(&args.out, &bytes).with_context(|| format!("writing {}", args.out.display()))?;
    let model = TopicModel::from_bytes(&bytes)?;
    println!(
        "wrote {} ({:.1} MB, version {}) in {:.0} s",
        args.out.display(),
        bytes.len() as f64 / 1e6,
        model.version(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One model's held-out predictions.
struct Run {
    articles: Vec<Prediction>,
    short: Vec<Prediction>,
    open: Vec<Prediction>,
    /// Held-out items whose second-level topic the model reported, and items that have one.
    subtopics: (usize, usize),
}

/// How many of the `items` that have a second-level topic get it reported, of how many.
fn subtopics_found(model: &TopicModel, items: &[Item], taxonomy: &Taxonomy) -> (usize, usize) {
    let with_second: Vec<(&Item, &str)> = items
        .iter()
        .filter_map(|item| Some((item, taxonomy.second[item.second?].0.as_str())))
        .collect();
    let found = with_second
        .iter()
        .filter(|(item, qcode)| {
            let topics = model.classify(&item.title, &item.text);
            topics.iter().any(|topic| topic.qcode == *qcode)
        })
        .count();
    (found, with_second.len())
}

/// The model's bytes with its version: a hash of everything else in them, so that a
/// retrained model that differs in one weight has another version.
fn versioned(mut parts: ModelParts) -> Vec<u8> {
    let content = parts.to_bytes();
    let digest = hash_bytes(&content);
    parts.version = format!("iptc-linear-{digest:016x}");
    parts.to_bytes()
}

/// The most frequent mistakes: gold topic → predicted topic.
fn print_confusions(predictions: &[Prediction], taxonomy: &Taxonomy) {
    let mut counts: std::collections::BTreeMap<(usize, usize), usize> = Default::default();
    for prediction in predictions {
        let best = prediction
            .scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(label, _)| label);
        if best != prediction.gold {
            *counts.entry((prediction.gold, best)).or_default() += 1;
        }
    }
    let mut mistakes: Vec<_> = counts.into_iter().collect();
    mistakes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for ((gold, predicted), count) in mistakes.into_iter().take(6) {
        println!(
            "   {count:>4} {} read as {}",
            taxonomy.top[gold].1, taxonomy.top[predicted].1
        );
    }
}
