//! The long runs of `make soak`: newsflow's resident memory, consumer lag and records in
//! flight sampled every 10 s, at saturation on librdkafka's mock broker and at a paced
//! rate through Kafka.

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, Producer};

use super::support::{self, free_port, Broker, Topics};
use super::{
    keyed, metric_sum, per_tick, records_in, rss_mib, start_pipeline, GROUP_FORMING, PARTITIONS,
    TICK,
};

/// newsflow's resident memory, consumer lag and records in flight, sampled through a soak.
#[derive(Default)]
struct Samples {
    rss: Vec<f64>,
    /// Input not yet read, summed over partitions: a replica that falls behind buffers more.
    lags: Vec<f64>,
    /// Records consumed whose outputs the broker has not acknowledged yet: a broker that
    /// slows down holds more of them in newsflow's memory (up to --max-in-flight).
    in_flight: Vec<f64>,
}

impl Samples {
    /// Soak loops run on [`TICK`]; they sample on every this many ticks (10 s).
    const EVERY_TICKS: u64 = 10_000 / TICK.as_millis() as u64;

    fn take(&mut self, pid: u32, metrics_port: u16) {
        self.rss.push(rss_mib(pid));
        self.lags
            .push(metric_sum(metrics_port, "newsflow_consumer_lag_messages"));
        self.in_flight
            .push(metric_sum(metrics_port, "newsflow_in_flight_records"));
    }

    /// The table's memory cell: the highest sample after the first minute (which fills
    /// caches, pools and librdkafka's queues), its growth over the sample at one minute,
    /// and the samples by minute; then the lag and in-flight samples by minute.
    fn report(&self, last_rss: f64) -> (String, String) {
        let by_minute = |samples: &[f64]| -> String {
            samples
                .iter()
                .step_by(6)
                .map(|sample| format!("{sample:.0}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let settled = self.rss[6.min(self.rss.len() - 1)];
        let highest = self.rss.iter().skip(6).copied().fold(settled, f64::max);
        let memory = format!(
            "{highest:.0} (at 1 min {settled:.0}, at the end {last_rss:.0}: {:+.1}%; by minute: {})",
            100.0 * (highest - settled) / settled,
            by_minute(&self.rss)
        );
        let queues = format!(
            "by minute, consumer lag: {}, records in flight: {}",
            by_minute(&self.lags),
            by_minute(&self.in_flight)
        );
        (memory, queues)
    }
}

/// The paced soak: `rate` articles/s for `seconds` through Kafka, cycling through `input`.
/// Returns the table row.
pub async fn soak(broker: &Broker, input: &[support::Keyed], rate: u64, seconds: u64) -> String {
    let topics = Topics::create(broker, "soak", PARTITIONS as u32);
    let metrics_port = free_port();
    let mut pipeline = start_pipeline(broker.address(), &topics, metrics_port);
    tokio::time::sleep(GROUP_FORMING).await;
    let producer = broker.producer();
    let per_tick = per_tick(rate);
    let ticks = seconds * 1000 / TICK.as_millis() as u64;
    let mut ticker = tokio::time::interval(TICK);
    let mut records = input.iter().cycle();
    let mut samples = Samples::default();
    let mut produced = 0usize;
    for n in 0..ticks {
        ticker.tick().await;
        for (key, value) in records.by_ref().take(per_tick) {
            if producer
                .send_result(keyed(&topics.input, key, value))
                .is_ok()
            {
                produced += 1;
            }
        }
        if n % Samples::EVERY_TICKS == 0 {
            samples.take(pipeline.id(), metrics_port);
        }
    }
    // Every article out before the verdict.
    let _ = producer.flush(Duration::from_secs(30));
    let stored = records_in(broker.address(), &topics.input, produced);
    let out = records_in(broker.address(), &topics.output, stored);
    let last_rss = rss_mib(pipeline.id());
    let _ = pipeline.kill();
    let _ = pipeline.wait();
    let (memory, queues) = samples.report(last_rss);
    format!(
        "| newsflow soak at {rate}/s for {seconds} s ({out} of {stored} stored out; {produced} sent; {queues}) | {rate} | | | | {memory} |"
    )
}

/// Input the saturation soak keeps waiting for newsflow: more than its prefetch (16 MiB,
/// about 7,000 articles), so it never runs dry, and little enough that the mock broker's
/// retention (the newest 5 MB of each partition, compressed) keeps every record not yet
/// read.
const SATURATION_BACKLOG: usize = 8_000;

/// The saturation soak: newsflow as fast as it goes for `seconds`, its input topped up to
/// [`SATURATION_BACKLOG`] records waiting. It runs on librdkafka's mock cluster, whose
/// partitions keep only their newest records: ten minutes at full speed would write over
/// 10 GB to Kafka's disk. Returns the table row.
pub async fn saturation_soak(input: &[support::Keyed], seconds: u64) -> String {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let topics = Topics::new("flood");
    for name in topics.all() {
        cluster
            .create_topic(name, PARTITIONS, 1)
            .expect("mock topic");
    }
    let brokers = cluster.bootstrap_servers();
    let metrics_port = free_port();
    let mut pipeline = start_pipeline(&brokers, &topics, metrics_port);
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("linger.ms", "5")
        .set("compression.type", "lz4")
        .create()
        .expect("producer");
    let consumed = || metric_sum(metrics_port, "newsflow_articles_consumed_total");
    let out = || {
        [&topics.output, &topics.dlq]
            .iter()
            .map(|t| {
                metric_sum(
                    metrics_port,
                    &format!("newsflow_records_produced_total{{topic=\"{t}\"}}"),
                )
            })
            .sum::<f64>()
    };
    let ticks = seconds * 1000 / TICK.as_millis() as u64;
    let mut ticker = tokio::time::interval(TICK);
    let mut records = input.iter().cycle();
    let mut samples = Samples::default();
    let mut produced = 0usize;
    let started = Instant::now();
    for n in 0..ticks {
        ticker.tick().await;
        // Before newsflow serves its metrics, NaN: nothing read yet.
        let waiting = produced.saturating_sub(consumed() as usize);
        for (key, value) in records
            .by_ref()
            .take(SATURATION_BACKLOG.saturating_sub(waiting))
        {
            if producer
                .send_result(keyed(&topics.input, key, value))
                .is_ok()
            {
                produced += 1;
            }
        }
        if n % Samples::EVERY_TICKS == 0 {
            samples.take(pipeline.id(), metrics_port);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let _ = producer.flush(Duration::from_secs(30));
    // Counted on newsflow's metrics: the mock broker has dropped all but the newest outputs.
    let waiting_since = Instant::now();
    while (out() as usize) < produced && waiting_since.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let done = out() as usize;
    let last_rss = rss_mib(pipeline.id());
    let _ = pipeline.kill();
    let _ = pipeline.wait();
    let (memory, queues) = samples.report(last_rss);
    format!(
        "| newsflow soak at saturation for {seconds} s, librdkafka mock broker ({done} of {produced} sent out; {queues}) | {:.0} | | | | {memory} |",
        done as f64 / elapsed
    )
}
