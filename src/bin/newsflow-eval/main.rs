//! `newsflow-eval`: scores the stages on the development data sets (`make eval`).
//!
//! Usage: `newsflow-eval [DATA_DIR] [--seed SEED_DIR]`, where DATA_DIR holds
//! `extraction/`, `topics/`, `regions/` and `events/` as JSON Lines (articles and gold
//! labels side by side). Each module scores one stage and prints its own table.

mod events;
mod extraction;
mod regions;
mod score;
mod seed;
mod topics;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use newsflow::stage::Pipeline;

type Evaluate = fn(&Pipeline, &Path) -> anyhow::Result<()>;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut data_dir = PathBuf::from("../shared/eval");
    let mut seed_dir = PathBuf::from("tests/golden/seed");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seed" => seed_dir = args.next().map(PathBuf::from).unwrap_or(seed_dir),
            other => data_dir = PathBuf::from(other),
        }
    }
    let pipeline = Pipeline::standard();
    let sets: [(&str, PathBuf, Evaluate); 5] = [
        ("seed", seed_dir, seed::evaluate),
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
