//! End-to-end throughput and latency through a local tansu broker (`make bench`):
//!
//! - the broker's pass-through ceiling: a plain consume-and-produce loop, no enrichment;
//! - saturation: N articles waiting in the input topic, `newsflow run` (release build)
//!   enriches them; articles/s from the first output to the last, and the ratio to the
//!   ceiling;
//! - a fixed offered rate: articles produced at `NEWSFLOW_BENCH_RATE`/s (500 by default) for
//!   `NEWSFLOW_BENCH_SECONDS` (20) after a 2-second warm-up, p50/p99/max latency from
//!   produce to the enriched record being readable;
//! - newsflow's peak resident memory in each run;
//! - with `NEWSFLOW_BENCH_SOAK_SECONDS` set (`make soak`: 600), a long run at
//!   `NEWSFLOW_BENCH_SOAK_RATE` articles/s (1,500 by default: tansu keeps every record in
//!   memory, so a ten-minute run at saturation would need tens of GB) with newsflow's
//!   resident memory sampled every 10 s; the growth after the first minute is reported.
//!
//! Everything runs on loopback; the table is printed and written to
//! bench-results/end-to-end.md.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use support::{articles, free_port, newsflow, produce_with, reader, setting, Broker};

const PARTITIONS: i32 = 4;
/// Seconds at the offered rate before latencies count.
const WARM_UP_SECONDS: u64 = 2;
/// Paced runs produce a slice of their rate every tick.
const TICK: Duration = Duration::from_millis(20);
/// How long a consumer group takes to form before a paced run starts its clock.
const GROUP_FORMING: Duration = Duration::from_secs(8);

/// Records produced per [`TICK`] to offer `rate` articles/s.
fn per_tick(rate: u64) -> usize {
    (rate as usize * TICK.as_millis() as usize / 1000).max(1)
}

fn start_pipeline(broker: &Broker, input: &str, output: &str, group: &str) -> Child {
    start_pipeline_on(broker, input, output, group, free_port())
}

/// [`start_pipeline`] with its metrics served on `metrics_port`.
fn start_pipeline_on(
    broker: &Broker,
    input: &str,
    output: &str,
    group: &str,
    metrics_port: u16,
) -> Child {
    newsflow()
        .args(["run", "--brokers", &broker.address(), "--group-id", group])
        .args(["--input-topic", input, "--output-topic", output])
        .args(["--events-topic", &format!("{output}.events")])
        .args(["--dlq-topic", &format!("{output}.dlq")])
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
        // tansu holds a fetch for the whole fetch.wait.max.ms even when records are there.
        .args([
            "-X",
            "consumer.session.timeout.ms=6000",
            "-X",
            "consumer.fetch.wait.max.ms=10",
        ])
        .env("NEWSFLOW_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start newsflow")
}

fn create_topics(broker: &Broker, names: &[&str]) {
    for name in names {
        broker.create_topic(name, PARTITIONS as u32);
    }
}

/// Peak resident memory of a process, in MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    memory_mib(pid, "VmHWM:")
}

/// Current resident memory of a process, in MiB.
fn rss_mib(pid: u32) -> f64 {
    memory_mib(pid, "VmRSS:")
}

/// A memory figure (`field`, in kB) from /proc/PID/status, in MiB.
fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// The sum of a metric's samples (all label sets) on newsflow's /metrics, or NaN.
fn metric_sum(port: u16, name: &str) -> f64 {
    let Some((_, text)) = support::http_get(port, "/metrics") else {
        return f64::NAN;
    };
    text.lines()
        .filter(|line| line.starts_with(name))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Records in `topic`, read from the start until `expected` are in or none came for 10 s.
/// (Counted by reading: tansu's watermarks can trail the records it serves.)
fn records_in(brokers: &str, topic: &str, expected: usize) -> usize {
    let consumer = reader(brokers, topic, PARTITIONS, "read_uncommitted");
    let mut count = 0;
    let mut last_record = Instant::now();
    while count < expected && last_record.elapsed() < Duration::from_secs(10) {
        if let Some(Ok(_)) = consumer.poll(Duration::from_millis(100)) {
            count += 1;
            last_record = Instant::now();
        }
    }
    count
}

/// The soak: `rate` articles/s for `seconds`, cycling through `input`; newsflow's resident
/// memory every 10 s. Returns the table row.
async fn soak(broker: &Broker, input: &[support::Keyed], rate: u64, seconds: u64) -> String {
    create_topics(
        broker,
        &["soak.in", "soak.out", "soak.out.events", "soak.out.dlq"],
    );
    let metrics_port = free_port();
    let mut pipeline = start_pipeline_on(broker, "soak.in", "soak.out", "bench-soak", metrics_port);
    tokio::time::sleep(GROUP_FORMING).await;
    let producer = broker.producer();
    let per_tick = per_tick(rate);
    let ticks = seconds * 1000 / TICK.as_millis() as u64;
    let mut ticker = tokio::time::interval(TICK);
    let mut records = input.iter().cycle();
    let mut samples = Vec::new();
    // Input not yet read, summed over partitions: a replica that falls behind buffers more.
    let mut lags = Vec::new();
    // Records consumed whose outputs the broker has not acknowledged yet: a broker that
    // slows down holds more of them in newsflow's memory (up to --max-in-flight).
    let mut in_flight = Vec::new();
    let mut produced = 0usize;
    for n in 0..ticks {
        ticker.tick().await;
        for (key, value) in records.by_ref().take(per_tick) {
            let mut record = FutureRecord::to("soak.in").payload(&value[..]);
            if let Some(key) = key {
                record = record.key(key);
            }
            if producer.send_result(record).is_ok() {
                produced += 1;
            }
        }
        if n % (10_000 / TICK.as_millis() as u64) == 0 {
            samples.push(rss_mib(pipeline.id()));
            lags.push(metric_sum(metrics_port, "newsflow_consumer_lag_messages"));
            in_flight.push(metric_sum(metrics_port, "newsflow_in_flight_records"));
        }
    }
    // Every article out before the verdict.
    let _ = producer.flush(Duration::from_secs(30));
    let brokers = broker.address();
    let stored = records_in(&brokers, "soak.in", produced);
    let out = records_in(&brokers, "soak.out", stored);
    samples.push(rss_mib(pipeline.id()));
    let _ = pipeline.kill();
    let _ = pipeline.wait();
    // The first minute fills caches, pools and librdkafka's queues; growth is what comes
    // after it.
    let settled = samples[6.min(samples.len() - 1)];
    let last = samples.last().copied().unwrap_or_default();
    let highest = samples.iter().skip(6).copied().fold(settled, f64::max);
    let by_minute = |samples: &[f64]| -> String {
        samples
            .iter()
            .step_by(6)
            .map(|sample| format!("{sample:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "| newsflow soak at {rate}/s for {seconds} s ({out} of {stored} stored out; {produced} sent; by minute, consumer lag: {}, records in flight: {}) | {rate} | | | | {highest:.0} (at 1 min {settled:.0}, at the end {last:.0}: {:+.1}%; by minute: {}) |",
        by_minute(&lags),
        by_minute(&in_flight),
        100.0 * (highest - settled) / settled,
        by_minute(&samples)
    )
}

/// When each key of `topic` was first read here, and when the broker got it (the record's
/// timestamp, in ms since the epoch).
struct Arrival {
    read_at: Instant,
    stored_ms: i64,
}

/// Reads `count` records of `topic` (or until `timeout`).
fn arrivals(
    brokers: &str,
    topic: &str,
    count: usize,
    timeout: Duration,
) -> HashMap<String, Arrival> {
    let consumer = reader(brokers, topic, PARTITIONS, "read_uncommitted");
    let mut seen = HashMap::with_capacity(count);
    let started = Instant::now();
    while seen.len() < count && started.elapsed() < timeout {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(50)) {
            let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
            let stored_ms = message.timestamp().to_millis().unwrap_or_default();
            seen.entry(key).or_insert_with(|| Arrival {
                read_at: Instant::now(),
                stored_ms,
            });
        }
    }
    seen
}

/// BBC-sized articles from the development data when it is there, else the sample feed.
fn bench_articles(count: usize) -> (Vec<support::Keyed>, &'static str) {
    let dir = std::env::var_os("NEWSFLOW_EVAL_DATA")
        .map_or_else(|| std::path::PathBuf::from("../shared/eval"), Into::into);
    let bbc = dir.join("topics/bbc.articles.jsonl");
    if bbc.exists() {
        (
            support::articles_from(&bbc, count),
            "BBC development articles",
        )
    } else {
        (articles(count), "sample feed articles")
    }
}

/// Copies `count` records from `input` to `output` with a plain consumer and producer.
async fn pass_through(broker: &Broker, input: &str, output: &str, count: usize) -> f64 {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.address())
        .set("group.id", "bench-pass-through")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .create()
        .expect("consumer");
    consumer.subscribe(&[input]).expect("subscribe");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.address())
        .set("linger.ms", "5")
        .set("compression.type", "lz4")
        .create()
        .expect("producer");
    let mut stream = consumer.stream();
    let mut deliveries = futures::stream::FuturesUnordered::new();
    let mut first = None;
    let mut copied = 0;
    while copied < count {
        let message = stream.next().await.expect("stream").expect("message");
        first.get_or_insert_with(Instant::now);
        let record = FutureRecord::to(output)
            .payload(message.payload().unwrap_or_default())
            .key(message.key().unwrap_or_default());
        deliveries.push(
            producer
                .send_result(record)
                .map_err(|(e, _)| e)
                .expect("enqueue"),
        );
        copied += 1;
    }
    while let Some(result) = deliveries.next().await {
        result.expect("delivery").map_err(|(e, _)| e).expect("copy");
    }
    count as f64 / first.expect("started").elapsed().as_secs_f64()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo test --all-targets` runs bench targets too, without `--bench`: only
    // `cargo bench` (`make bench`) should start brokers and pipelines for minutes.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("end_to_end: run with `cargo bench --bench end_to_end` (make bench)");
        return;
    }
    let count = setting("NEWSFLOW_BENCH_ARTICLES", 20_000) as usize;
    let rate = setting("NEWSFLOW_BENCH_RATE", 500);
    let seconds = setting("NEWSFLOW_BENCH_SECONDS", 20);
    let broker = Broker::start();
    let (input, source) = bench_articles(count);
    let mut table = String::new();
    let _ = writeln!(table, "# newsflow end to end through tansu\n");
    let _ = writeln!(
        table,
        "{} cores · {} {source} (~{:.1} KB each)\n",
        std::thread::available_parallelism().map_or(1, usize::from),
        count,
        input.iter().map(|(_, v)| v.len()).sum::<usize>() as f64 / count as f64 / 1000.0
    );
    let _ = writeln!(
        table,
        "| run | articles/s | p50 ms | p99 ms | max ms | peak RSS MiB |"
    );
    let _ = writeln!(table, "|---|---:|---:|---:|---:|---:|");

    // The ceiling: the broker moving the same records without enrichment.
    create_topics(&broker, &["ceiling.in", "ceiling.out"]);
    produce_with(&broker.producer(), "ceiling.in", &input).await;
    let ceiling = pass_through(&broker, "ceiling.in", "ceiling.out", count).await;
    let _ = writeln!(
        table,
        "| broker pass-through (no enrichment) | {ceiling:.0} | | | | |"
    );

    // Saturation: everything waiting, newsflow as fast as it goes.
    create_topics(
        &broker,
        &["sat.in", "sat.out", "sat.out.events", "sat.out.dlq"],
    );
    produce_with(&broker.producer(), "sat.in", &input).await;
    let mut pipeline = start_pipeline(&broker, "sat.in", "sat.out", "bench-saturation");
    let seen = arrivals(
        &broker.address(),
        "sat.out",
        count,
        Duration::from_secs(600),
    );
    let rss = peak_rss_mib(pipeline.id());
    let _ = pipeline.kill();
    let _ = pipeline.wait();
    // From the first output stored to the last, by the broker's timestamps: the group join
    // before the first output is not throughput.
    let first = seen.values().map(|a| a.stored_ms).min().unwrap_or_default();
    let last = seen.values().map(|a| a.stored_ms).max().unwrap_or_default();
    let saturated = if last > first {
        seen.len() as f64 * 1000.0 / (last - first) as f64
    } else {
        0.0
    };
    let _ = writeln!(
        table,
        "| newsflow at saturation ({} of {count} out) | {saturated:.0} ({:.0}% of pass-through) | | | | {rss:.0} |",
        seen.len(),
        100.0 * saturated / ceiling
    );

    // A fixed offered rate: latency from produce to readable enriched record.
    create_topics(
        &broker,
        &["rate.in", "rate.out", "rate.out.events", "rate.out.dlq"],
    );
    // The first records also pay for connections, metadata and producer ids on both
    // sides: they run the pace but are left out of the latencies, as a steady state is
    // what the figures describe.
    let warm_up = (rate * WARM_UP_SECONDS) as usize;
    let offered = (rate * (WARM_UP_SECONDS + seconds)) as usize;
    let (paced, _) = bench_articles(offered);
    let mut pipeline = start_pipeline(&broker, "rate.in", "rate.out", "bench-rate");
    tokio::time::sleep(GROUP_FORMING).await;
    let producer = broker.producer();
    let brokers = broker.address();
    let reading = tokio::task::spawn_blocking(move || {
        arrivals(
            &brokers,
            "rate.out",
            offered,
            Duration::from_secs(WARM_UP_SECONDS + seconds + 120),
        )
    });
    let mut sent = HashMap::with_capacity(offered);
    let per_tick = per_tick(rate);
    let mut ticker = tokio::time::interval(TICK);
    for (index, chunk) in paced.chunks(per_tick).enumerate() {
        ticker.tick().await;
        let now = Instant::now();
        for (key, value) in chunk {
            let key = key.clone().expect("key");
            let record = FutureRecord::to("rate.in").payload(&value[..]).key(&key);
            let _ = producer.send_result(record);
            if index * per_tick >= warm_up {
                sent.insert(key, now);
            }
        }
    }
    let arrived = reading.await.expect("reader");
    let rss = peak_rss_mib(pipeline.id());
    let _ = pipeline.kill();
    let _ = pipeline.wait();
    let mut latencies: Vec<f64> = arrived
        .iter()
        .filter_map(|(key, arrival)| {
            Some(
                arrival
                    .read_at
                    .duration_since(*sent.get(key)?)
                    .as_secs_f64()
                    * 1000.0,
            )
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let _ = writeln!(
        table,
        "| newsflow at {rate}/s offered for {seconds} s after {WARM_UP_SECONDS} s of warm-up ({} of {offered} out) | {rate} | {:.1} | {:.1} | {:.1} | {rss:.0} |",
        arrived.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );

    let soak_seconds = setting("NEWSFLOW_BENCH_SOAK_SECONDS", 0);
    if soak_seconds > 0 {
        let soak_rate = setting("NEWSFLOW_BENCH_SOAK_RATE", 1500);
        let row = soak(&broker, &input, soak_rate, soak_seconds).await;
        let _ = writeln!(table, "{row}");
    }

    print!("{table}");
    std::fs::create_dir_all("bench-results").expect("bench-results");
    std::fs::write("bench-results/end-to-end.md", &table).expect("write results");
}
