//! The Prometheus metrics newsflow exposes, registered once in one registry.

use std::sync::LazyLock;

use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::record::{DeadLetterReason, PubStatus};
use crate::route::PLOVER_CLASSES;
use crate::telemetry::events::TransactionSteps;

pub struct Metrics {
    registry: Registry,
    pub articles_consumed: IntCounterVec,
    pub articles_enriched: IntCounter,
    pub articles_killed: IntCounterVec,
    pub articles_routed: IntCounterVec,
    pub route_topic_missing: IntCounterVec,
    pub registry_errors: IntCounterVec,
    pub articles_superseded: IntCounter,
    pub articles_embargoed: IntCounter,
    pub articles_released: IntCounter,
    pub embargoed_held: IntGauge,
    pub records_produced: IntCounterVec,
    pub dead_letters: IntCounterVec,
    pub stage_duration: HistogramVec,
    pub in_flight: IntGauge,
    pub producer_queue: IntGauge,
    pub produce_errors: IntCounterVec,
    pub output_topic_missing: IntGaugeVec,
    pub client_errors: IntCounterVec,
    pub commits: IntCounterVec,
    pub transactions: IntCounterVec,
    pub transaction_steps: HistogramVec,
    pub rebalances: IntCounterVec,
    pub assigned_partitions: IntGauge,
    pub consumer_lag: IntGaugeVec,
    pub end_to_end_latency: Histogram,
    pub articles_by_region: IntCounterVec,
    pub articles_by_topic: IntCounterVec,
    pub events: IntCounterVec,
    pub broker_up: IntGaugeVec,
    pub broker_rtt: GaugeVec,
    pub build_info: IntGaugeVec,
    pub feed: FeedMetrics,
    pub aggregate: AggregateMetrics,
    pub stories: IntCounterVec,
    pub story_similarity: Histogram,
    pub stories_in_window: IntGaugeVec,
}

/// What `newsflow aggregate` counts.
pub struct AggregateMetrics {
    pub records: IntCounterVec,
    pub events: IntGauge,
    pub written: IntCounter,
    pub forgotten: IntCounter,
    pub lag: prometheus::Gauge,
}

/// What became of an events-topic record, the label values of
/// `newsflow_aggregate_records_total`.
pub const AGGREGATE_OUTCOMES: [&str; 4] =
    ["counted", "already_counted", "kill_marker", "dead_lettered"];

impl AggregateMetrics {
    fn new(registry: &Registry) -> Self {
        let records = counter_vec(
            registry,
            "newsflow_aggregate_records_total",
            "Events-topic records read by aggregate, by outcome (counted, already_counted: a redelivery or a repeat, kill_marker, dead_lettered).",
            &["outcome"],
        );
        for outcome in AGGREGATE_OUTCOMES {
            records.with_label_values(&[outcome]);
        }
        Self {
            records,
            events: gauge(
                registry,
                "newsflow_aggregate_events",
                "Aggregated events held by this aggregator (those of its partitions).",
            ),
            written: counter(
                registry,
                "newsflow_aggregate_updates_total",
                "Aggregated-event records written (one per event changed in a batch).",
            ),
            forgotten: counter(
                registry,
                "newsflow_aggregate_forgotten_total",
                "Aggregated events let out of memory, told longest ago, to keep at most aggregate.max_events_held (their records stay on the topic).",
            ),
            lag: register(
                registry,
                prometheus::Gauge::new(
                    "newsflow_aggregate_lag_seconds",
                    "Age of the newest events-topic record in the last batch aggregated, when its aggregates were stored.",
                )
                .expect("valid metric"),
            ),
        }
    }
}

/// What `newsflow ingest` counts, per feed (the feed's source name, or its address).
pub struct FeedMetrics {
    pub polls: IntCounterVec,
    pub items: IntCounterVec,
    pub errors: IntCounterVec,
    pub bytes: IntCounterVec,
    pub pages: IntCounterVec,
    pub last_success: IntGaugeVec,
    pub interval: IntGaugeVec,
}

/// The outcomes of a poll, the label values of `newsflow_feed_polls_total`.
pub const POLL_OUTCOMES: [&str; 3] = ["ok", "not_modified", "error"];

/// What became of an item's linked page, the label values of `newsflow_feed_pages_total`.
pub const PAGE_OUTCOMES: [&str; 4] = ["fetched", "disallowed", "failed", "over_limit"];

/// What a poll found an item to be, the label values of `newsflow_feed_items_total`.
pub const ITEM_STATUSES: [&str; 3] = ["new", "updated", "unchanged"];

/// Why a poll failed, the label values of `newsflow_feed_errors_total`: the kinds of
/// [`crate::ingest::FetchError`], a document that is no feed, and items Kafka did not store.
pub const ERROR_KINDS: [&str; 7] = [
    "status",
    "timeout",
    "too_large",
    "redirects",
    "transport",
    "unreadable",
    "kafka",
];

impl FeedMetrics {
    fn new(registry: &Registry) -> Self {
        Self {
            polls: counter_vec(
                registry,
                "newsflow_feed_polls_total",
                "Feed polls, by feed and outcome (ok, not_modified, error).",
                &["feed", "outcome"],
            ),
            items: counter_vec(
                registry,
                "newsflow_feed_items_total",
                "Feed items read, by feed and status (new, updated or unchanged since last seen).",
                &["feed", "status"],
            ),
            errors: counter_vec(
                registry,
                "newsflow_feed_errors_total",
                "Failed feed polls, by feed and kind (status, timeout, too_large, redirects, transport, unreadable, kafka).",
                &["feed", "kind"],
            ),
            bytes: counter_vec(
                registry,
                "newsflow_feed_bytes_total",
                "Feed bytes read (after decompression), by feed.",
                &["feed"],
            ),
            pages: counter_vec(
                registry,
                "newsflow_feed_pages_total",
                "Linked article pages of new and updated items, by feed and outcome (fetched, disallowed by robots.txt, failed, over_limit).",
                &["feed", "outcome"],
            ),
            last_success: gauge_vec(
                registry,
                "newsflow_feed_last_success_timestamp_seconds",
                "When a poll of the feed last succeeded (its items stored, or not modified), or when ingest started if none has yet; seconds since the epoch.",
                &["feed"],
            ),
            interval: gauge_vec(
                registry,
                "newsflow_feed_interval_seconds",
                "The feed's configured polling interval.",
                &["feed"],
            ),
        }
    }

    /// Shows a feed's series at zero before its first poll, and its last success at the
    /// start, so that a feed that never succeeds trips the silence alert too.
    pub fn register_feed(&self, feed: &str, interval_secs: u64, started_at_secs: i64) {
        for outcome in POLL_OUTCOMES {
            self.polls.with_label_values(&[feed, outcome]);
        }
        for status in ITEM_STATUSES {
            self.items.with_label_values(&[feed, status]);
        }
        // At zero from the start, so that a feed's first error counts in rate().
        for kind in ERROR_KINDS {
            self.errors.with_label_values(&[feed, kind]);
        }
        self.bytes.with_label_values(&[feed]);
        for outcome in PAGE_OUTCOMES {
            self.pages.with_label_values(&[feed, outcome]);
        }
        self.last_success
            .with_label_values(&[feed])
            .set(started_at_secs);
        self.interval
            .with_label_values(&[feed])
            .set(i64::try_from(interval_secs).unwrap_or(i64::MAX));
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

fn register<M: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: M) -> M {
    registry
        .register(Box::new(metric.clone()))
        .expect("unique metric");
    metric
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    register(
        registry,
        IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"),
    )
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    register(registry, IntCounter::new(name, help).expect("valid metric"))
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    register(registry, IntGauge::new(name, help).expect("valid metric"))
}

fn gauge_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    register(
        registry,
        IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric"),
    )
}

impl Metrics {
    fn new() -> Self {
        let registry = Registry::new();
        // process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds, ...:
        // what the container runtime sees, without another exporter. Linux only, like the
        // collector.
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("unique metric");
        let articles_enriched = register(
            &registry,
            IntCounter::new(
                "newsflow_articles_enriched_total",
                "Articles that went through every stage.",
            )
            .expect("valid metric"),
        );
        let stage_duration = HistogramVec::new(
            HistogramOpts::new(
                "newsflow_stage_duration_seconds",
                "Time one article spends in a stage.",
            )
            .buckets(vec![
                0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005,
                0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
            &["stage"],
        )
        .expect("valid metric");
        let stage_duration = register(&registry, stage_duration);

        let metrics = Self {
            articles_consumed: counter_vec(
                &registry,
                "newsflow_articles_consumed_total",
                "Records read from the input, by topic (\"-\" for files).",
                &["topic"],
            ),
            articles_enriched,
            articles_killed: counter_vec(
                &registry,
                "newsflow_articles_killed_total",
                "Inputs that withdrew their article instead of publishing it, by pubstatus (canceled or withheld).",
                &["pubstatus"],
            ),
            articles_superseded: counter(
                &registry,
                "newsflow_articles_superseded_total",
                "Inputs left out because a newer version of their article came first.",
            ),
            articles_embargoed: counter(
                &registry,
                "newsflow_articles_embargoed_total",
                "Articles whose embargo was still to come: held on the embargo topic (run) or written with it (process).",
            ),
            articles_released: counter(
                &registry,
                "newsflow_articles_released_total",
                "Embargoed articles published once their time came.",
            ),
            embargoed_held: gauge(
                &registry,
                "newsflow_embargoed_held",
                "Embargoed articles held in memory by this replica, waiting for their time.",
            ),
            articles_routed: counter_vec(
                &registry,
                "newsflow_articles_routed_total",
                "Copies of enriched articles sent to a route's topic, by route.",
                &["route"],
            ),
            route_topic_missing: counter_vec(
                &registry,
                "newsflow_route_topic_missing_total",
                "Lookups that found a route's topic missing (its copies are left out until it exists), by topic.",
                &["topic"],
            ),
            registry_errors: counter_vec(
                &registry,
                "newsflow_registry_errors_total",
                "Schema registry requests that failed (registrations, and lookups of input records' schemas), by kind of error.",
                &["kind"],
            ),
            records_produced: counter_vec(
                &registry,
                "newsflow_records_produced_total",
                "Records acknowledged by the broker, by output topic.",
                &["topic"],
            ),
            dead_letters: counter_vec(
                &registry,
                "newsflow_dead_letters_total",
                "Records sent to the dead-letter output, by reason.",
                &["reason"],
            ),
            stage_duration,
            in_flight: gauge(
                &registry,
                "newsflow_in_flight_records",
                "Records consumed whose outputs are not yet acknowledged.",
            ),
            producer_queue: gauge(
                &registry,
                "newsflow_producer_queue_messages",
                "Records in the producer's queue, not yet sent or acknowledged (librdkafka statistics).",
            ),
            produce_errors: counter_vec(
                &registry,
                "newsflow_produce_errors_total",
                "Failed produce attempts, by output topic.",
                &["topic"],
            ),
            output_topic_missing: gauge_vec(
                &registry,
                "newsflow_output_topic_missing",
                "1 while the cluster says this output topic does not exist (its records wait).",
                &["topic"],
            ),
            client_errors: counter_vec(
                &registry,
                "newsflow_client_errors_total",
                "Errors the Kafka clients reported outside any one record, by librdkafka error code.",
                &["code"],
            ),
            commits: counter_vec(
                &registry,
                "newsflow_commits_total",
                "Offset commits, by result (ok or error).",
                &["result"],
            ),
            transactions: counter_vec(
                &registry,
                "newsflow_transactions_total",
                "Exactly-once transactions, by result (committed or aborted).",
                &["result"],
            ),
            transaction_steps: register(
                &registry,
                HistogramVec::new(
                    HistogramOpts::new(
                        "newsflow_transaction_step_seconds",
                        "Time a committed exactly-once transaction spent in each step, by step (ready, produce, offsets, commit).",
                    )
                    .buckets(vec![
                        0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                        10.0, 30.0,
                    ]),
                    &["step"],
                )
                .expect("valid metric"),
            ),
            rebalances: counter_vec(
                &registry,
                "newsflow_rebalances_total",
                "Consumer-group rebalances, by kind (assigned or revoked).",
                &["kind"],
            ),
            assigned_partitions: gauge(
                &registry,
                "newsflow_assigned_partitions",
                "Input partitions currently assigned to this process.",
            ),
            consumer_lag: gauge_vec(
                &registry,
                "newsflow_consumer_lag_messages",
                "Messages between the high watermark and the consumed position, per partition.",
                &["topic", "partition"],
            ),
            end_to_end_latency: register(
                &registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "newsflow_end_to_end_latency_seconds",
                        "From an input record's Kafka timestamp to the broker's acknowledgement of its outputs.",
                    )
                    .buckets(vec![
                        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                        300.0, 1800.0,
                    ]),
                )
                .expect("valid metric"),
            ),
            articles_by_region: counter_vec(
                &registry,
                "newsflow_articles_by_region_total",
                "Enriched articles by the UN M49 region of their first country (\"none\" without one).",
                &["region"],
            ),
            articles_by_topic: counter_vec(
                &registry,
                "newsflow_articles_by_topic_total",
                "Enriched articles by the top-level IPTC Media Topic of their first topic (\"none\" without one).",
                &["topic"],
            ),
            events: counter_vec(
                &registry,
                "newsflow_events_total",
                "Events extracted, by PLOVER class.",
                &["plover"],
            ),
            broker_up: gauge_vec(
                &registry,
                "newsflow_broker_up",
                "1 while the consumer's connection to the broker is up, from librdkafka statistics.",
                &["broker"],
            ),
            broker_rtt: register(
                &registry,
                GaugeVec::new(
                    Opts::new(
                        "newsflow_broker_rtt_seconds",
                        "Average request round-trip time to the broker over the last statistics window.",
                    ),
                    &["broker"],
                )
                .expect("valid metric"),
            ),
            build_info: gauge_vec(
                &registry,
                "newsflow_build_info",
                "Always 1; the labels say which build is running.",
                &["version"],
            ),
            feed: FeedMetrics::new(&registry),
            aggregate: AggregateMetrics::new(&registry),
            stories: {
                let stories = counter_vec(
                    &registry,
                    "newsflow_stories_total",
                    "Enriched articles by story outcome: founded a story, joined an earlier one, or unassigned (the story log was away).",
                    &["outcome"],
                );
                for outcome in ["founded", "joined", "unassigned"] {
                    stories.with_label_values(&[outcome]);
                }
                stories
            },
            stories_in_window: {
                let stories = gauge_vec(
                    &registry,
                    "newsflow_stories_in_window",
                    "Stories whose first article is in the window, by how many articles they have been given (every replica holds the whole window: take the max, not the sum).",
                    &["size"],
                );
                for band in crate::story::sizes::BANDS {
                    stories.with_label_values(&[band]);
                }
                stories
            },
            story_similarity: register(
                &registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "newsflow_story_similarity",
                        "How much of one text the other contains, for articles that joined a story.",
                    )
                    .buckets(vec![0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99]),
                )
                .expect("valid metric"),
            ),
            registry,
        };
        metrics
            .build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        // Every fixed label value appears from the start, so dashboards and alert rules see
        // zeros rather than gaps.
        for reason in DeadLetterReason::ALL {
            metrics.dead_letters.with_label_values(&[reason.as_str()]);
        }
        for status in PubStatus::ALL {
            metrics
                .articles_killed
                .with_label_values(&[status.as_str()]);
        }
        for result in ["committed", "aborted"] {
            metrics.transactions.with_label_values(&[result]);
        }
        for step in TransactionSteps::NAMES {
            metrics.transaction_steps.with_label_values(&[step]);
        }
        for result in ["ok", "error"] {
            metrics.commits.with_label_values(&[result]);
        }
        for kind in ["assigned", "revoked"] {
            metrics.rebalances.with_label_values(&[kind]);
        }
        for class in PLOVER_CLASSES {
            metrics.events.with_label_values(&[class]);
        }
        metrics
    }

    /// Shows the per-topic output series at zero before anything is produced.
    pub fn register_output_topics<'a>(&self, topics: impl IntoIterator<Item = &'a str>) {
        for topic in topics.into_iter().filter(|t| !t.is_empty()) {
            self.records_produced.with_label_values(&[topic]);
            self.produce_errors.with_label_values(&[topic]);
            self.output_topic_missing.with_label_values(&[topic]);
        }
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding cannot fail on a Vec");
        String::from_utf8(buffer).expect("Prometheus text is UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text_with_newsflow_names() {
        metrics().dead_letters.with_label_values(&["empty"]).inc();
        let text = metrics().render();
        assert!(text.contains("# TYPE newsflow_dead_letters_total counter"));
        assert!(text.contains("newsflow_dead_letters_total{reason=\"invalid_json\"}"));
        assert!(text.contains("newsflow_build_info{version="));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn renders_the_process_metrics() {
        let text = metrics().render();
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_start_time_seconds",
        ] {
            assert!(
                text.contains(&format!("\n{name} ")),
                "{name} missing:\n{text}"
            );
        }
    }
}
