//! Per-stage and whole-chain throughput on the development data sets (`make bench`).
//!
//! Data comes from `NEWSFLOW_EVAL_DATA` (set by the Makefile): BBC articles (plain
//! text, ~2 KB) and the extraction pages (HTML, ~180 KB). Each stage is measured alone, on
//! articles already through the stages before it, so the numbers add up to the chain.
//! Throughput is reported per article; every benchmark runs on one thread (one core).

mod eval_data;

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use newsflow::record::{decode, RawArticle};
use newsflow::stage::classify::Classify;
use newsflow::stage::clean::Clean;
use newsflow::stage::extract::Extract;
use newsflow::stage::{Article, Enrichment, Pipeline, Reference, Stage};

/// The articles of a data set, or none (with a note) where the data is not there.
fn data_set(relative: &str) -> Vec<RawArticle> {
    let Some(dir) = eval_data::eval_data_dir() else {
        return Vec::new();
    };
    let path = dir.join(relative);
    match std::fs::read_to_string(&path) {
        Ok(text) => text
            .lines()
            .filter_map(|line| decode(line.as_bytes(), usize::MAX).ok()?.into_article())
            .collect(),
        Err(error) => {
            eprintln!("skipping {}: {error}", path.display());
            Vec::new()
        }
    }
}

/// The articles after `stages`, ready for the next one.
fn prepared(articles: &[RawArticle], stages: &[&dyn Stage]) -> Vec<Article> {
    articles
        .iter()
        .map(|raw| {
            let mut article = Article::new(raw.clone());
            for stage in stages {
                stage.apply(&mut article).expect("stage");
            }
            article
        })
        .collect()
}

fn bench_stage(c: &mut Criterion, name: &str, stage: &dyn Stage, articles: &[Article]) {
    if articles.is_empty() {
        return;
    }
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(articles.len() as u64));
    group.sample_size(10);
    group.bench_function("all articles", |b| {
        b.iter_batched(
            || articles.to_vec(),
            |mut batch| {
                for article in &mut batch {
                    stage.apply(article).expect("stage");
                }
                batch
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn stages(c: &mut Criterion) {
    let reference = Arc::new(Reference::load());
    let (clean, classify, extract) = (
        Clean::new(),
        Classify::new(&reference),
        Extract::new(&reference),
    );
    let bbc = data_set("topics/bbc.articles.jsonl");
    let pages = data_set("extraction/aeb.articles.jsonl");

    bench_stage(c, "clean/text (bbc)", &clean, &prepared(&bbc, &[]));
    bench_stage(c, "clean/html (aeb)", &clean, &prepared(&pages, &[]));
    bench_stage(c, "classify (bbc)", &classify, &prepared(&bbc, &[&clean]));
    bench_stage(
        c,
        "extract (bbc)",
        &extract,
        &prepared(&bbc, &[&clean, &classify]),
    );

    if bbc.is_empty() {
        return;
    }
    let pipeline = Pipeline::standard(reference);
    let mut group = c.benchmark_group("chain (bbc)");
    group.throughput(Throughput::Elements(bbc.len() as u64));
    group.sample_size(10);
    group.bench_function("decode+clean+classify+extract+encode", |b| {
        let lines: Vec<Vec<u8>> = bbc
            .iter()
            .map(|a| {
                serde_json::to_vec(
                    &serde_json::json!({"id": a.id, "title": a.title, "body": a.body}),
                )
                .unwrap()
            })
            .collect();
        b.iter(|| {
            for line in &lines {
                let enriched = pipeline
                    .enrich(line, usize::MAX)
                    .ok()
                    .and_then(Enrichment::into_article)
                    .expect("enriched");
                std::hint::black_box(serde_json::to_vec(&enriched).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
