//! The commands, as the binary runs them: runtime, signals, files and the metrics server
//! around the library's parts. Errors here are for people, so they are `anyhow` chains.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::cli::{DemoArgs, ProcessArgs};
use newsflow::batch::{check_distinct, open_input, BatchSettings, Output};
use newsflow::config::RunConfig;
use newsflow::ingest::{FollowError, IngestConfig};
use newsflow::kafka::ReplayOptions;
use newsflow::stage::{Pipeline, Reference};
use newsflow::telemetry::{serve, summarize_suppressed, summarize_suppressed_periodically, Health};

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// `newsflow run`: until SIGTERM or SIGINT, then drain, commit and return.
pub fn run(config: RunConfig) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let result = with_telemetry(config.metrics_addr, |health, shutdown| async move {
            tokio::spawn(crate::memory::release_periodically(shutdown.clone()));
            tokio::spawn(summarize_suppressed_periodically(shutdown.clone()));
            let pipeline = Arc::new(Pipeline::standard(Arc::new(Reference::load())));
            newsflow::kafka::run(config, pipeline, health, shutdown).await
        })
        .await?;
        summarize_suppressed();
        result.context("running the pipeline")
    })
}

/// Runs `work` beside the /metrics, /healthz and /readyz server on `metrics_addr` and the
/// signal handler (which fires its shutdown token), then stops the server.
async fn with_telemetry<T, Work>(
    metrics_addr: std::net::SocketAddr,
    work: impl FnOnce(Health, CancellationToken) -> Work,
) -> anyhow::Result<T>
where
    Work: std::future::Future<Output = T>,
{
    let shutdown = CancellationToken::new();
    let health = Health::default();
    let (metrics_at, server) = serve(metrics_addr, health.clone(), shutdown.clone())
        .await
        .with_context(|| format!("serving metrics on {metrics_addr}"))?;
    info!(address = %metrics_at, "Serving /metrics, /healthz and /readyz.");
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let result = work(health, shutdown.clone()).await;
    shutdown.cancel();
    let _ = server.await;
    Ok(result)
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => info!("SIGINT received; stopping."),
        () = terminate => info!("SIGTERM received; stopping."),
        () = shutdown.cancelled() => {}
    }
    shutdown.cancel();
}

/// `newsflow process`: JSON Lines in, enriched JSON Lines out, dead letters to `dlq`. Two
/// of its paths on one file fail it with a [`newsflow::batch::FileError`] that is a usage
/// error.
pub fn process(args: ProcessArgs, dlq: &Path) -> anyhow::Result<()> {
    check_distinct(&[
        ("input", args.input.as_path()),
        ("output", &args.output),
        ("dlq", dlq),
    ])?;
    let input = open_input(&args.input)?;
    let mut output = Output::open(&args.output)?;
    let mut dead_letters = Output::open(dlq)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let started = Instant::now();
    let summary = newsflow::batch::process(
        &Pipeline::standard(Arc::new(Reference::load())),
        input,
        &args.input.display().to_string(),
        &mut output,
        &mut dead_letters,
        &BatchSettings {
            threads,
            max_record_bytes: args.max_record_bytes,
            include_text: args.include_text,
            max_versions_tracked: args.max_versions_tracked,
        },
    )
    .context("processing")?;
    output.finish()?;
    dead_letters.finish()?;
    let seconds = started.elapsed().as_secs_f64();
    summarize_suppressed();
    info!(
        lines = summary.lines,
        enriched = summary.enriched,
        killed = summary.killed,
        superseded = summary.superseded,
        embargoed = summary.embargoed,
        story_duplicates = summary.story_duplicates,
        dead_letters = summary.dead_letters,
        seconds,
        articles_per_second = (summary.lines as f64 / seconds.max(1e-9)).round(),
        "Processing done."
    );
    Ok(())
}

/// `newsflow ingest`: each feed fetched once, its items written to `output` as raw
/// articles. A feed that fails is logged with its reason and the others go on; the output
/// keeps what the others gave, and the command then fails.
pub fn ingest(config: &IngestConfig, output: &Path) -> anyhow::Result<()> {
    let mut out = Output::open(output)?;
    let polled = runtime()?
        .block_on(newsflow::ingest::poll_once(config))
        .context("starting the HTTP client")?;
    let mut failed = 0;
    for (feed, result) in polled {
        match result {
            Ok(polled) => {
                for record in &polled.records {
                    serde_json::to_writer(&mut out, record)?;
                    out.write_all(b"\n")?;
                }
                info!(
                    feed = feed.url,
                    records = polled.records.len(),
                    without_id = polled.without_id,
                    bytes = polled.bytes,
                    pages_fetched = polled.pages.fetched,
                    pages_disallowed = polled.pages.disallowed,
                    pages_failed = polled.pages.failed,
                    pages_over_limit = polled.pages.over_limit,
                    "Feed read."
                );
            }
            Err(error) => {
                failed += 1;
                warn!(feed = feed.url, kind = error.kind(), error = %error, "Feed not read.");
            }
        }
    }
    out.finish()?;
    if failed > 0 {
        anyhow::bail!("{failed} of {} feeds could not be read", config.feeds.len());
    }
    Ok(())
}

/// `newsflow ingest` into Kafka: polls the feeds until SIGTERM or SIGINT.
pub fn follow_feeds(config: &RunConfig) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        info!(
            brokers = %config.brokers,
            input_topic = %config.input_topic,
            state_topic = %config.ingest.state_topic,
            feeds = config.ingest.feeds.len(),
            "Ingest starting."
        );
        let result = with_telemetry(config.metrics_addr, |health, shutdown| {
            newsflow::ingest::follow(config, health, shutdown)
        })
        .await?;
        match result {
            Ok(()) => {
                info!("Ingest stopped.");
                Ok(())
            }
            // Kept as a RunError, so that a configuration fault exits with code 2.
            Err(FollowError::Kafka(error)) => {
                Err(anyhow::Error::new(error).context("ingesting feeds"))
            }
            Err(error) => Err(anyhow::Error::new(error)),
        }
    })
}

/// `newsflow aggregate`: folds the events topic until SIGTERM or SIGINT.
pub fn aggregate(config: &RunConfig) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        info!(
            brokers = %config.brokers,
            events_topic = %config.events_topic,
            output_topic = %config.aggregate.output_topic,
            group_id = %config.aggregate.group_id,
            "Aggregate starting."
        );
        with_telemetry(config.metrics_addr, |health, shutdown| {
            newsflow::kafka::aggregate(config, health, shutdown)
        })
        .await?
        .context("aggregating events")?;
        info!("Aggregate stopped.");
        Ok(())
    })
}

/// `newsflow replay-dlq`: prints what was replayed as one JSON line. The replay blocks in
/// librdkafka throughout and needs no async runtime: it runs on this thread.
pub fn replay_dlq(config: &RunConfig, options: &ReplayOptions) -> anyhow::Result<()> {
    let summary = newsflow::kafka::replay(config, options).context("replaying dead letters")?;
    println!(
        "{}",
        serde_json::json!({
            "replayed": summary.replayed,
            "filtered": summary.filtered,
            "without_value": summary.without_value,
            "without_target": summary.without_target,
        })
    );
    Ok(())
}

/// `newsflow demo`: the sample feed through an embedded broker.
pub fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let feed = match &args.feed {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => crate::demo::SAMPLE_FEED.to_owned(),
    };
    runtime()?
        .block_on(crate::demo::demo(
            &feed,
            args.metrics_addr,
            Duration::from_secs(args.linger_secs),
        ))
        .context("running the demo")?;
    Ok(())
}
