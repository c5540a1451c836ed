//! `newsflow-eval`: scores the stages on the development data sets (`make eval`).
//!
//! Usage: `newsflow-eval [DATA_DIR] [--seed SEED_DIR] [--only SET,...]`, where DATA_DIR
//! holds `extraction/`, `topics/`, `regions/` and `events/` as JSON Lines (articles and
//! gold labels side by side). Each module scores one stage and prints its own table.

mod events;
mod extraction;
mod regions;
mod score;
mod seed;
mod topics;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use newsflow::stage::Pipeline;

type Evaluate = fn(&Pipeline, &Path) -> anyhow::Result<()>;

/// Scores newsflow's stages on the development data sets: precision, recall and F1 per
/// stage, and the golden seed's checks.
#[derive(Parser)]
#[command(name = "newsflow-eval")]
struct Args {
    /// Holds extraction/, topics/, regions/ and events/, each with its articles and gold
    /// labels as JSON Lines
    #[arg(default_value = "../shared/eval")]
    data_dir: PathBuf,
    /// The golden seed: the article and what its enrichment must contain
    #[arg(long, default_value = "tests/golden/seed")]
    seed: PathBuf,
    /// Only these sets (all by default)
    #[arg(long, value_delimiter = ',', value_parser = SETS)]
    only: Vec<String>,
}

const SETS: [&str; 5] = ["seed", "extraction", "regions", "topics", "events"];

fn main() -> ExitCode {
    let Args {
        data_dir,
        seed,
        only,
    } = Args::parse();
    let pipeline = Pipeline::standard();
    let sets: [(&str, PathBuf, Evaluate); 5] = [
        ("seed", seed, seed::evaluate),
        (
            "extraction",
            data_dir.join("extraction"),
            extraction::evaluate,
        ),
        ("regions", data_dir.join("regions"), regions::evaluate),
        ("topics", data_dir.join("topics"), topics::evaluate),
        ("events", data_dir.join("events"), events::evaluate),
    ];
    let mut failures = 0;
    for (name, dir, evaluate) in sets {
        if !only.is_empty() && !only.iter().any(|set| set == name) {
            continue;
        }
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
