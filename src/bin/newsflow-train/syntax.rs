//! `newsflow-train syntax`: the tagger and the parser from Universal Dependencies English
//! EWT (CC BY-SA 4.0), read from a checkout of UD_English-EWT (by default
//! ~/.cache/newsflow/corpora/UD_English-EWT): the train split to learn from, the dev split
//! to report on. The test split is left to `make eval`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use newsflow::stage::extract::syntax::score::Scores;
use newsflow::stage::extract::syntax::train::{train_parser, train_tagger, Settings};
use newsflow::stage::extract::syntax::treebank::{read, read_split, Treebank};
use newsflow::stage::extract::syntax::Syntax;

#[derive(clap::Args)]
pub struct Args {
    /// A checkout of UD_English-EWT
    #[arg(long)]
    treebank: PathBuf,
    /// Where tagger.bin and parser.bin are written
    #[arg(long, default_value = "data/syntax")]
    out: PathBuf,
    /// Passes over the training sentences for the tagger
    #[arg(long, default_value_t = Settings::default().tagger_epochs)]
    tagger_epochs: usize,
    /// Passes over the training sentences for the parser
    #[arg(long, default_value_t = Settings::default().parser_epochs)]
    parser_epochs: usize,
    /// Features updated fewer times than this in training are left out of the models
    #[arg(long, default_value_t = Settings::default().min_updates)]
    min_updates: u32,
}

fn split(args: &Args, name: &str) -> anyhow::Result<Treebank> {
    let text = read_split(&args.treebank, "en_ewt", name)
        .with_context(|| format!("reading the {name} split from {}", args.treebank.display()))?;
    let bank = read(&text);
    println!(
        "{name}: {} sentences ({} left out: the tokens cut a treebank word)",
        bank.trees.len(),
        bank.skipped
    );
    Ok(bank)
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let settings = Settings {
        tagger_epochs: args.tagger_epochs,
        parser_epochs: args.parser_epochs,
        min_updates: args.min_updates,
        ..Settings::default()
    };
    let train = split(args, "train")?;
    let dev = split(args, "dev")?;
    let started = Instant::now();
    let tagger = train_tagger(&train.trees, &settings);
    println!("tagger trained in {:.0?}", started.elapsed());
    let started = Instant::now();
    let parser = train_parser(&train.trees, &settings);
    println!("parser trained in {:.0?}", started.elapsed());
    std::fs::create_dir_all(&args.out)?;
    for (name, bytes) in [
        ("tagger.bin", tagger.to_bytes()),
        ("parser.bin", parser.to_bytes()),
    ] {
        let path = args.out.join(name);
        std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        println!("{}: {} bytes", path.display(), bytes.len());
    }
    let syntax = Syntax::new(tagger, parser);
    let mut scores = Scores::default();
    for tree in &dev.trees {
        scores.add(tree, &syntax.parse(&tree.words));
    }
    println!(
        "dev: UPOS {:.3}  UAS {:.3}  LAS {:.3} ({} tokens)",
        scores.upos(),
        scores.uas(),
        scores.las(),
        scores.tokens
    );
    Ok(())
}
