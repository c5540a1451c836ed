//! The tagger and the parser on the test split of UD English EWT (the models learn from its
//! train split only): UPOS accuracy, unlabelled and labelled attachment scores over newsflow's
//! own tokens, and speed on one thread.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use newsflow::stage::extract::syntax::features::Word;
use newsflow::stage::extract::syntax::score::Scores;
use newsflow::stage::extract::syntax::treebank::{read, read_split, Tree};
use newsflow::stage::Pipeline;

/// Runs `work` over every tree until a second has passed; the time per pass.
fn time_per_pass(trees: &[Tree], mut work: impl FnMut(&Tree)) -> Duration {
    let started = Instant::now();
    let mut passes = 0u32;
    while passes == 0 || started.elapsed() < Duration::from_secs(1) {
        trees.iter().for_each(&mut work);
        passes += 1;
    }
    started.elapsed() / passes
}

pub fn evaluate(pipeline: &Pipeline, dir: &Path) -> anyhow::Result<()> {
    let text = read_split(dir, "en_ewt", "test").with_context(|| {
        format!(
            "no UD English EWT test split in {} (make train-syntax says where to get it)",
            dir.display()
        )
    })?;
    let bank = read(&text);
    let syntax = &pipeline.reference().extract.syntax;
    let mut scores = Scores::default();
    for tree in &bank.trees {
        scores.add(tree, &syntax.parse(&tree.words));
    }
    let tokens = scores.tokens as f64;
    let sentences = scores.sentences as f64;
    let tagging = time_per_pass(&bank.trees, |tree| {
        let words: Vec<Word> = tree.words.iter().map(|w| Word::new(w)).collect();
        std::hint::black_box(syntax.tagger().tag(&words));
    });
    let parsing = time_per_pass(&bank.trees, |tree| {
        std::hint::black_box(syntax.parse(&tree.words));
    });
    println!(
        "== syntax ({}): UD English EWT test, {} sentences, {} tokens ({} sentences left out: \
         newsflow's tokens cut a treebank word)",
        dir.display(),
        scores.sentences,
        scores.tokens,
        bank.skipped
    );
    println!(
        "   UPOS {:.3}  UAS {:.3}  LAS {:.3}",
        scores.upos(),
        scores.uas(),
        scores.las()
    );
    for (what, time) in [("tagger", tagging), ("tagger+parser", parsing)] {
        println!(
            "   {what:<14} {:>8.0} sentences/s  {:>9.0} tokens/s (one thread)",
            sentences / time.as_secs_f64(),
            tokens / time.as_secs_f64()
        );
    }
    Ok(())
}
