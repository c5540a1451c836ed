//! `newsflow-train confidence`: the event confidence model (data/extract/confidence.tsv),
//! a logistic regression fitted on the gold sentences of the PLOVER development set and
//! of the project's own Wikinews set. An event is right when its class is the sentence's
//! gold class (on a sentence with no event, every event is wrong), as `make eval` judges
//! it.
//!
//! A feature is used when models fitted on each set alone agree on which way it points:
//! one that raises the odds on one set and lowers them on the other is noise the other
//! set would be scored by. Each set then checks a model fitted on the other (their shares
//! of right events differ, PLOVER's sentences all telling an event, so this mostly
//! measures that gap), five folds over both check models fitted on the other four, and
//! the shipped model learns from both.
//!
//! Fitting is Newton's method with an L2 penalty for a fixed number of steps, from zero
//! weights over the sentences in file order: the same inputs give the same file.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use newsflow::record::decode;
use newsflow::stage::classify::Classify;
use newsflow::stage::clean::Clean;
use newsflow::stage::extract::events::calibration::{
    brier_score, expected_calibration_error, right_by_band, Features, Model, FEATURE_NAMES,
};
use newsflow::stage::extract::Extract;
use newsflow::stage::{Article, Reference, Stage};
use serde_json::Value;

#[derive(clap::Args)]
pub struct Args {
    /// The PLOVER development sentences (plover.articles.jsonl, plover.gold.jsonl);
    /// `make train-confidence` passes NEWSFLOW_EVAL_DATA/events
    #[arg(long)]
    plover: PathBuf,
    /// The project's own hand-coded Wikinews sentences (articles.jsonl, gold.jsonl)
    #[arg(long, default_value = "data/eval/events-own")]
    own: PathBuf,
    /// Where to write the shipped model
    #[arg(long, default_value = "data/extract/confidence.tsv")]
    out: PathBuf,
}

/// The L2 penalty on the weights (not the bias): with a few hundred events, it keeps a
/// feature seen a handful of times from taking an extreme weight.
const PENALTY: f64 = 1.0;
/// Newton steps: the fit has converged to many decimals long before.
const STEPS: usize = 50;

/// One event found on a gold sentence: its features and whether it is right.
type Example = (Features, bool);

pub fn run(args: &Args) -> anyhow::Result<()> {
    let plover = examples(
        &args.plover.join("plover.articles.jsonl"),
        &args.plover.join("plover.gold.jsonl"),
    )?;
    let own = examples(
        &args.own.join("articles.jsonl"),
        &args.own.join("gold.jsonl"),
    )?;
    println!(
        "confidence: {} events on the PLOVER sentences, {} on the own set",
        plover.len(),
        own.len()
    );
    let every = [true; FEATURE_NAMES.len()];
    let (on_plover, on_own) = (fit(&plover, &every), fit(&own, &every));
    let used: [bool; FEATURE_NAMES.len()] =
        std::array::from_fn(|i| on_plover.weights[i] * on_own.weights[i] > 0.0);
    for (i, name) in FEATURE_NAMES.iter().enumerate() {
        println!(
            "  {name:<16} {:+.2} on PLOVER, {:+.2} on the own set: {}",
            on_plover.weights[i],
            on_own.weights[i],
            if used[i] { "used" } else { "left out" }
        );
    }
    report(
        "fitted on PLOVER, scored on the own set",
        &fit(&plover, &used),
        &own,
    );
    report(
        "fitted on the own set, scored on PLOVER",
        &fit(&own, &used),
        &plover,
    );
    cross_validate(&plover, &own, &used);
    let both: Vec<Example> = plover.iter().chain(&own).copied().collect();
    let model = fit(&both, &used);
    report("shipped, fitted on both, scored on PLOVER", &model, &plover);
    report(
        "shipped, fitted on both, scored on the own set",
        &model,
        &own,
    );
    let header = format!(
        "# Event confidence: logistic regression weights (`make train-confidence`), fitted on\n\
         # {} events of the PLOVER development sentences and {} of data/eval/events-own.\n",
        plover.len(),
        own.len()
    );
    fs::write(&args.out, header + &model.to_text())
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("{}written to {}", model.to_text(), args.out.display());
    Ok(())
}

/// The events the pipeline finds on gold sentences, each with its features and whether
/// it is of the sentence's gold class.
fn examples(articles: &Path, gold: &Path) -> anyhow::Result<Vec<Example>> {
    let classes: HashMap<String, String> = read_lines(gold)?
        .iter()
        .map(|line| {
            let value: Value = serde_json::from_str(line)?;
            let class = value["event"].as_str().unwrap_or_default().to_owned();
            Ok((value["id"].as_str().unwrap_or_default().to_owned(), class))
        })
        .collect::<anyhow::Result<_>>()
        .with_context(|| format!("reading {}", gold.display()))?;
    let reference = Arc::new(Reference::load());
    let (clean, classify, extract) = (
        Clean::new(),
        Classify::new(&reference),
        Extract::new(&reference),
    );
    let mut examples = Vec::new();
    for line in read_lines(articles)? {
        let decoded = decode(line.as_bytes(), usize::MAX)
            .map_err(|e| anyhow::anyhow!("{}: {e}", articles.display()))?;
        let Some(input) = decoded.into_article() else {
            continue;
        };
        let Some(class) = classes.get(&input.id) else {
            continue;
        };
        // The stages before extract, as the pipeline runs them.
        let mut article = Article::new(input);
        clean.apply(&mut article)?;
        classify.apply(&mut article)?;
        for scored in extract.scored_events(&mut article) {
            examples.push((scored.features, scored.event.plover == *class));
        }
    }
    Ok(examples)
}

fn read_lines(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect())
}

/// Five folds by position in each set: models fitted on four score the fifth.
fn cross_validate(plover: &[Example], own: &[Example], used: &[bool; FEATURE_NAMES.len()]) {
    const FOLDS: usize = 5;
    let (mut plover_scored, mut own_scored) = (Vec::new(), Vec::new());
    for fold in 0..FOLDS {
        let split = |set: &[Example], held_out: bool| -> Vec<Example> {
            set.iter()
                .enumerate()
                .filter(|(i, _)| (i % FOLDS == fold) == held_out)
                .map(|(_, e)| *e)
                .collect()
        };
        let training: Vec<Example> = split(plover, false)
            .into_iter()
            .chain(split(own, false))
            .collect();
        let model = fit(&training, used);
        plover_scored.extend(
            split(plover, true)
                .iter()
                .map(|e| (model.probability(&e.0), e.1)),
        );
        own_scored.extend(
            split(own, true)
                .iter()
                .map(|e| (model.probability(&e.0), e.1)),
        );
    }
    for (heading, scored) in [("PLOVER", plover_scored), ("own set", own_scored)] {
        println!(
            "  five folds over both, held out, {heading}: ECE {:.3}  Brier {:.3}",
            expected_calibration_error(&scored),
            brier_score(&scored)
        );
    }
}

/// The logistic regression over the `used` features that best predicts whether events are
/// right, with the L2 penalty: Newton's method on the penalised log-likelihood.
fn fit(examples: &[Example], used: &[bool; FEATURE_NAMES.len()]) -> Model {
    const N: usize = FEATURE_NAMES.len() + 1;
    // The bias is the last weight, against a constant 1; a feature left out reads 0, so
    // the penalty keeps its weight at 0.
    let inputs: Vec<([f64; N], f64)> = examples
        .iter()
        .map(|(features, right)| {
            let mut x = [1.0; N];
            for i in 0..N - 1 {
                x[i] = if used[i] { features.0[i] } else { 0.0 };
            }
            (x, f64::from(u8::from(*right)))
        })
        .collect();
    let mut w = [0.0; N];
    for _ in 0..STEPS {
        let mut gradient = [0.0; N];
        let mut hessian = [[0.0; N]; N];
        for i in 0..N - 1 {
            gradient[i] = PENALTY * w[i];
            hessian[i][i] = PENALTY;
        }
        for (x, y) in &inputs {
            let p = 1.0 / (1.0 + (-dot(&w, x)).exp());
            for i in 0..N {
                gradient[i] += (p - y) * x[i];
                for j in 0..N {
                    hessian[i][j] += p * (1.0 - p) * x[i] * x[j];
                }
            }
        }
        let step = solve(hessian, gradient);
        for i in 0..N {
            w[i] -= step[i];
        }
    }
    let mut weights = [0.0; FEATURE_NAMES.len()];
    weights.copy_from_slice(&w[..N - 1]);
    Model {
        bias: w[N - 1],
        weights,
    }
}

fn dot<const N: usize>(a: &[f64; N], b: &[f64; N]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting (`a` is positive
/// definite here: the penalty sees to it, even for a feature no event has).
fn solve<const N: usize>(mut a: [[f64; N]; N], mut b: [f64; N]) -> [f64; N] {
    for col in 0..N {
        let pivot = (col..N)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col];
        for row in col + 1..N {
            let factor = a[row][col] / pivot_row[col];
            for (x, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= factor * p;
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = [0.0; N];
    for row in (0..N).rev() {
        let rest: f64 = (row + 1..N).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - rest) / a[row][row];
    }
    x
}

/// How well a model's confidence matches the share right on a set of events: per band,
/// then as the calibration error and the Brier score.
fn report(heading: &str, model: &Model, examples: &[Example]) {
    let scored: Vec<(f64, bool)> = examples
        .iter()
        .map(|(features, right)| (model.probability(features), *right))
        .collect();
    let bands: Vec<String> = right_by_band(&scored)
        .iter()
        .enumerate()
        .filter(|(_, (_, all))| *all > 0)
        .map(|(band, (right, all))| format!("0.{band}: {right}/{all}"))
        .collect();
    println!(
        "  {heading}: ECE {:.3}  Brier {:.3}  right by band {}",
        expected_calibration_error(&scored),
        brier_score(&scored),
        bands.join(", ")
    );
}
