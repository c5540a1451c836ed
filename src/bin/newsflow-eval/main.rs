//! `newsflow-eval`: scores the stages on the development data sets (`make eval`).
//!
//! Usage: `newsflow-eval [DATA_DIR] [--seed SEED_DIR] [--treebank DIR] [--own-events DIR]
//! [--only SET,...]`, where DATA_DIR holds `extraction/`, `topics/`, `regions/` and `events/`
//! as JSON Lines (articles and gold labels side by side); the project's own event sentences
//! are in the repository (data/eval/events-own). Each module scores one stage and prints its
//! own table.

mod events;
mod extraction;
mod golden;
mod regions;
mod score;
mod seed;
mod stories;
mod syntax;
mod topics;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::builder::PossibleValuesParser;
use clap::Parser;
use newsflow::stage::{Pipeline, Reference};

type Evaluate = fn(&Pipeline, &Path) -> anyhow::Result<()>;

/// Scores newsflow's stages on the development data sets: precision, recall and F1 per
/// stage, and the golden seed's checks.
#[derive(Parser)]
#[command(name = "newsflow-eval")]
struct Args {
    /// Holds extraction/, topics/, regions/ and events/, each with its articles and gold
    /// labels as JSON Lines (`make eval` passes NEWSFLOW_EVAL_DATA)
    #[arg(env = "NEWSFLOW_EVAL_DATA")]
    data_dir: PathBuf,
    /// The golden seed: the article and what its enrichment must contain
    #[arg(long, default_value = "tests/golden/seed")]
    seed: PathBuf,
    /// A checkout of UD_English-EWT, whose test split the tagger and parser are scored on
    /// (default: ~/.cache/newsflow/corpora/UD_English-EWT, where `make train-syntax` reads)
    #[arg(long)]
    treebank: Option<PathBuf>,
    /// The project's own hand-coded event sentences (articles.jsonl, gold.jsonl)
    #[arg(long, default_value = "data/eval/events-own")]
    own_events: PathBuf,
    /// Only these sets (all by default)
    #[arg(long, value_delimiter = ',',
          value_parser = PossibleValuesParser::new(SETS.map(|(name, _)| name)))]
    only: Vec<String>,
}

/// The sets in the order they are scored; each development set but the project's own
/// events is in DATA_DIR under its name.
const SETS: [(&str, Evaluate); 9] = [
    ("seed", seed::evaluate),
    ("extraction", extraction::evaluate),
    ("regions", regions::evaluate),
    ("topics", topics::evaluate),
    ("events", events::evaluate),
    ("events-own", events::evaluate_own),
    ("events-by-topic", events::evaluate_by_topic),
    ("syntax", syntax::evaluate),
    ("stories", stories::evaluate),
];

fn main() -> ExitCode {
    let Args {
        data_dir,
        seed,
        treebank,
        own_events,
        only,
    } = Args::parse();
    let treebank = treebank.unwrap_or_else(|| {
        std::env::var_os("HOME")
            .map_or_else(PathBuf::new, PathBuf::from)
            .join(".cache/newsflow/corpora/UD_English-EWT")
    });
    let pipeline = Pipeline::standard(Arc::new(Reference::load()));
    let mut failures = 0;
    for (name, evaluate) in SETS {
        if !only.is_empty() && !only.iter().any(|set| set == name) {
            continue;
        }
        let dir = match name {
            "seed" => seed.clone(),
            "syntax" => treebank.clone(),
            "events-own" => own_events.clone(),
            "events-by-topic" => data_dir.join("topics"),
            // Made from the articles of two other sets.
            "stories" => data_dir.clone(),
            _ => data_dir.join(name),
        };
        if let Err(error) = evaluate(&pipeline, &dir) {
            eprintln!("{name}: could not evaluate: {error:#}");
            failures += 1;
        }
    }
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
