//! `newsflow-train`: rebuilds the trained models in `data/` from their corpora
//! (`make train`). One subcommand per model; each prints its held-out scores.

mod confidence;
mod syntax;
mod topics;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "newsflow-train",
    about = "Trains newsflow's models from their corpora"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The event confidence model (data/extract/confidence.tsv)
    Confidence(confidence::Args),
    /// The part-of-speech tagger and dependency parser (data/syntax/tagger.bin, parser.bin)
    Syntax(syntax::Args),
    /// The IPTC Media Topics classifier (data/topics/model.bin)
    Topics(topics::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Confidence(args) => confidence::run(&args),
        Command::Syntax(args) => syntax::run(&args),
        Command::Topics(args) => topics::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("newsflow-train: {error:#}");
            ExitCode::FAILURE
        }
    }
}
