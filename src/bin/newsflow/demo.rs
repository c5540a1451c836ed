//! `newsflow demo`: the whole Kafka path on an embedded broker (librdkafka's mock cluster,
//! on loopback), over the sample feed, with a readable summary of what came out. Shows the
//! product working in one command, without a Kafka cluster.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use newsflow::config::RunConfig;
use newsflow::kafka::header_value;
use newsflow::record::{header, EnrichedArticle};
use newsflow::stage::{Pipeline, Reference};
use newsflow::telemetry::{serve, Health};

/// The sample feed built into the binary: the seed article and a few dozen others.
pub const SAMPLE_FEED: &str = include_str!("../../../data/sample-feed.jsonl");

const PARTITIONS: i32 = 4;
const DEADLINE: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("embedded broker: {0}")]
    Kafka(#[from] KafkaError),
    #[error("metrics server: {0}")]
    Io(#[from] std::io::Error),
    #[error("pipeline: {0}")]
    Run(#[from] newsflow::kafka::RunError),
    #[error("the pipeline did not finish the feed within {0:?}")]
    Timeout(Duration),
    #[error("the pipeline stopped before the feed was through")]
    Stopped,
}

/// Pushes `feed` (JSON Lines) through `newsflow run` on an embedded broker and returns the
/// printed summary.
pub async fn demo(
    feed: &str,
    metrics_addr: SocketAddr,
    linger: Duration,
) -> Result<String, DemoError> {
    let cluster = MockCluster::new(1)?;
    let brokers = cluster.bootstrap_servers();
    let config = RunConfig {
        brokers: brokers.clone(),
        group_id: "newsflow-demo".into(),
        metrics_addr,
        commit_interval_ms: 200,
        ..RunConfig::default()
    };
    for topic in [
        &config.input_topic,
        &config.output_topic,
        &config.events_topic,
        &config.dlq_topic,
        &config.embargo_topic,
    ] {
        cluster.create_topic(topic, PARTITIONS, 1)?;
    }

    let records: Vec<&str> = feed
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    produce_feed(&brokers, &config.input_topic, &records).await?;

    let shutdown = CancellationToken::new();
    let health = Health::default();
    let (served_at, server) = serve(metrics_addr, health.clone(), shutdown.clone()).await?;
    let started = Instant::now();
    let pipeline = tokio::spawn(newsflow::kafka::run(
        config.clone(),
        Arc::new(Pipeline::standard(Arc::new(Reference::load()))),
        health,
        shutdown.clone(),
    ));
    // The outputs themselves say when the feed is through: every record comes out as an
    // enriched article or a dead letter.
    let reader = output_reader(&brokers, &[&config.output_topic, &config.dlq_topic])?;
    let (mut enriched, mut dead_lettered) = (Vec::new(), Vec::new());
    while enriched.len() + dead_lettered.len() < records.len() {
        if pipeline.is_finished() {
            // It stops early only when it fails.
            return Err(match pipeline.await {
                Ok(Err(error)) => error.into(),
                _ => DemoError::Stopped,
            });
        }
        if started.elapsed() > DEADLINE {
            shutdown.cancel();
            return Err(DemoError::Timeout(DEADLINE));
        }
        match reader.poll(Duration::ZERO) {
            Some(message) => {
                let message = message?.detach();
                if message.topic() == config.dlq_topic {
                    dead_lettered.push(message);
                } else {
                    enriched.push(message);
                }
            }
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    let elapsed = started.elapsed();
    let mut out = String::new();
    let order: HashMap<String, usize> = records
        .iter()
        .enumerate()
        .filter_map(|(i, line)| Some((id_of(line)?, i)))
        .collect();
    let mut articles: Vec<EnrichedArticle> = enriched
        .iter()
        .filter_map(|message| serde_json::from_slice(message.payload()?).ok())
        .collect();
    articles.sort_by_key(|a| order.get(a.id.as_str()).copied().unwrap_or(usize::MAX));
    for (i, article) in articles.iter().enumerate() {
        summarise(&mut out, i + 1, articles.len(), article);
    }
    for message in &dead_lettered {
        summarise_dead_letter(&mut out, message);
    }
    let events: usize = articles.iter().map(|a| a.events.len()).sum();
    let _ = writeln!(
        out,
        "\n{} records in, {} enriched, {} events, {} dead-lettered, through an embedded Kafka broker in {:.2} s.",
        records.len(),
        articles.len(),
        events,
        dead_lettered.len(),
        elapsed.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "Metrics are served at http://{served_at}/metrics (and /healthz, /readyz)."
    );
    if !linger.is_zero() {
        let _ = writeln!(out, "Serving them for {} s more.", linger.as_secs());
    }
    print!("{out}");
    tokio::time::sleep(linger).await;
    shutdown.cancel();
    let _ = pipeline.await;
    let _ = server.await;
    Ok(out)
}

/// The record's id (`uri` for ninjs items), to print the summaries in feed order.
fn id_of(line: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let id = value.get("id").or_else(|| value.get("uri"))?.as_str()?;
    Some(id.to_owned())
}

async fn produce_feed(brokers: &str, topic: &str, records: &[&str]) -> Result<(), KafkaError> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()?;
    let sends = records.iter().map(|record| {
        let producer = &producer;
        async move {
            producer
                .send(
                    FutureRecord::<(), _>::to(topic).payload(*record),
                    Duration::from_secs(10),
                )
                .await
                .map(|_| ())
                .map_err(|(error, _)| error)
        }
    });
    futures::future::try_join_all(sends).await.map(|_| ())
}

/// A consumer of every partition of `topics` from the beginning.
fn output_reader(brokers: &str, topics: &[&str]) -> Result<BaseConsumer, KafkaError> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "newsflow-demo-reader")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut partitions = TopicPartitionList::new();
    for topic in topics {
        for partition in 0..PARTITIONS {
            partitions.add_partition_offset(topic, partition, Offset::Beginning)?;
        }
    }
    consumer.assign(&partitions)?;
    Ok(consumer)
}

fn summarise_dead_letter(out: &mut String, message: &OwnedMessage) {
    let header_value = |name| header_value(message, name).unwrap_or_default();
    let _ = writeln!(
        out,
        "\n[dead letter] partition {} offset {} · {}: {}",
        message.partition(),
        message.offset(),
        header_value(header::REASON),
        header_value(header::ERROR)
    );
}

fn summarise(out: &mut String, n: usize, total: usize, article: &EnrichedArticle) {
    let clean = &article.clean;
    let title = clean.title.as_deref().unwrap_or("(no title)");
    let _ = writeln!(out, "\n[{n}/{total}] {title}");
    let _ = writeln!(
        out,
        "    id {} · {} · {} paragraphs · {} words",
        article.id,
        clean.language.as_deref().unwrap_or("language ?"),
        clean.paragraphs.len(),
        clean.word_count
    );
    let countries: Vec<String> = article
        .regions
        .countries
        .iter()
        .take(6)
        .map(|c| format!("{} {:.2}", c.code, c.score))
        .collect();
    let _ = writeln!(out, "    countries: {}", or_none(&countries.join(", ")));
    let topics: Vec<String> = article
        .topics
        .iter()
        .take(3)
        .map(|t| format!("{} ({:.2})", t.name, t.score))
        .collect();
    let _ = writeln!(out, "    topics:    {}", or_none(&topics.join(", ")));
    for event in article.events.iter().take(4) {
        let _ = writeln!(
            out,
            "    event:     {} {} {} → {} {} {:?}",
            event.plover,
            event.cameo,
            event.actors.join("+"),
            or_none(&event.targets.join("+")),
            event.date_start.as_deref().unwrap_or("(no date)"),
            event.modality
        );
    }
    if article.events.len() > 4 {
        let _ = writeln!(out, "    ... and {} more events", article.events.len() - 4);
    }
}

fn or_none(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}
