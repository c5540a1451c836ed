//! `newsflow ingest` into Kafka: every feed polled on its interval until shutdown, with
//! conditional requests (a feed that has not changed costs a 304), backoff on failures,
//! and its new and updated items stored with their seen-item state in one transaction
//! ([`FeedSink`]), so that a restart sends nothing twice and misses nothing.

use std::time::Duration;

use futures::future::try_join_all;
use rustc_hash::FxHashSet;
use serde_json::Value;
use tokio::sync::{Mutex, Semaphore};
use tokio_util::sync::CancellationToken;

use super::fetch::{Fetched, Validators};
use super::pages::{PageCounts, Pages};
use super::schedule::Schedule;
use super::seen::{ItemStatus, SeenItems};
use super::{read, FeedSpec, FetchError, Fetcher, IngestConfig, IngestError};
use crate::config::RunConfig;
use crate::hash::fnv1a;
use crate::kafka::{FeedSink, RunError, StoreError};
use crate::telemetry::feed_events::{unix_now, FeedPolled, ItemCounts};
use crate::telemetry::{metrics, Health};

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("cannot start the HTTP client: {0}")]
    Http(#[from] FetchError),
    #[error(transparent)]
    Kafka(#[from] RunError),
}

/// What every feed's poller shares.
struct Shared {
    config: IngestConfig,
    fetcher: Fetcher,
    sink: FeedSink,
    /// Held from classifying a poll's items until they are stored: polls store one at a
    /// time, and an item two feeds carry is sent once.
    seen: Mutex<SeenItems>,
    /// Feeds being fetched at the same time, at most `concurrency`.
    fetching: Semaphore,
}

/// Polls every feed of `config.ingest` until `shutdown` fires, or until Kafka fails beyond
/// recovery (another ingest with the same transactional id took over).
pub async fn follow(
    config: &RunConfig,
    health: Health,
    shutdown: CancellationToken,
) -> Result<(), FollowError> {
    let ingest = &config.ingest;
    let fetcher = Fetcher::new(
        &ingest.user_agent,
        Duration::from_secs(ingest.timeout_secs),
        ingest.max_response_bytes,
    )?;
    // Before Kafka's start-up, which can take a while: the feeds are on /metrics, and
    // their silence counts, while the brokers are still away.
    let started = unix_now();
    let interval = |spec: &FeedSpec| spec.interval_secs.unwrap_or(ingest.interval_secs);
    for spec in &ingest.feeds {
        metrics()
            .feed
            .register_feed(spec.name(), interval(spec), started);
    }
    let (sink, seen) = FeedSink::start(config, health).await?;
    let shared = Shared {
        config: ingest.clone(),
        fetcher,
        sink,
        seen: Mutex::new(seen),
        fetching: Semaphore::new(ingest.concurrency.max(1)),
    };
    let pollers = ingest.feeds.iter().map(|spec| {
        let schedule = Schedule::new(
            Duration::from_secs(interval(spec)),
            Duration::from_secs(ingest.max_backoff_secs),
            fnv1a(spec.url.as_bytes()),
        );
        poll_until_shutdown(&shared, spec, schedule, &shutdown)
    });
    try_join_all(pollers).await?;
    Ok(())
}

async fn poll_until_shutdown(
    shared: &Shared,
    spec: &FeedSpec,
    mut schedule: Schedule,
    shutdown: &CancellationToken,
) -> Result<(), FollowError> {
    let mut validators = Validators::default();
    loop {
        let fetched = tokio::select! {
            fetched = fetch(shared, spec, &validators) => fetched,
            () = shutdown.cancelled() => return Ok(()),
        };
        let failure = match fetched {
            Ok(Fetched::NotModified) => {
                FeedPolled::NotModified { feed: spec.name() }.emit();
                None
            }
            Ok(Fetched::Changed {
                body,
                validators: next,
            }) => match store(shared, spec, &body).await {
                Ok(()) => {
                    validators = next;
                    None
                }
                Err(Failure::Fatal(error)) => return Err(error.into()),
                Err(failure) => Some(failure),
            },
            Err(error) => Some(Failure::Fetch(error)),
        };
        let wait = match failure {
            None => schedule.succeeded(),
            Some(failure) => {
                let retry_in = schedule.failed();
                FeedPolled::Failed {
                    feed: spec.name(),
                    kind: failure.kind(),
                    error: &failure.to_string(),
                    retry_in,
                }
                .emit();
                retry_in
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown.cancelled() => return Ok(()),
        }
    }
}

async fn fetch(
    shared: &Shared,
    spec: &FeedSpec,
    validators: &Validators,
) -> Result<Fetched, FetchError> {
    let _permit = shared.fetching.acquire().await;
    shared.fetcher.get_if_changed(&spec.url, validators).await
}

/// Why a poll stored nothing.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Fetch(FetchError),
    #[error(transparent)]
    Read(IngestError),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Fatal(RunError),
}

impl Failure {
    fn kind(&self) -> &'static str {
        match self {
            Self::Fetch(error) => error.kind(),
            Self::Read(error) => error.kind(),
            Self::Store(_) | Self::Fatal(_) => "kafka",
        }
    }
}

/// Sends the feed's new and updated items, with their state, and counts what it found.
/// The pages of those items (not of the unchanged ones) are fetched outside the state's
/// lock, which is then taken again to store them: an item another feed stored meanwhile
/// is left out.
async fn store(shared: &Shared, spec: &FeedSpec, document: &[u8]) -> Result<(), Failure> {
    let (polled, wants_pages) = read(&shared.fetcher, spec, document)
        .await
        .map_err(Failure::Read)?;
    let mut counts = ItemCounts::default();
    let mut outgoing = Vec::new();
    {
        let seen = shared.seen.lock().await;
        // A feed that lists an item twice sends it once.
        let mut this_poll = FxHashSet::default();
        for record in polled.records {
            let (status, item) = seen.classify(record, spec.name());
            let item = item.filter(|item| this_poll.insert(item.id.clone()));
            match (status, &item) {
                (ItemStatus::New, Some(_)) => counts.new += 1,
                (ItemStatus::Updated, Some(_)) => counts.updated += 1,
                _ => counts.unchanged += 1,
            }
            outgoing.extend(item);
        }
    }
    let pages = if wants_pages {
        let mut records: Vec<Value> = outgoing.iter_mut().map(|item| item.record.take()).collect();
        let pages = Pages::new(&shared.fetcher, &shared.config)
            .complete(&mut records, spec)
            .await;
        for (item, record) in outgoing.iter_mut().zip(records) {
            item.record = record;
        }
        pages
    } else {
        PageCounts::default()
    };
    let mut seen = shared.seen.lock().await;
    outgoing.retain(|item| !seen.is_stored(item));
    match shared.sink.store(&outgoing).await {
        Ok(()) => seen.remember(&outgoing),
        Err(StoreError::Fatal(error)) => return Err(Failure::Fatal(error)),
        Err(error) => return Err(Failure::Store(error)),
    }
    FeedPolled::Read {
        feed: spec.name(),
        items: counts,
        without_id: polled.without_id,
        bytes: polled.bytes,
        pages,
    }
    .emit();
    Ok(())
}
