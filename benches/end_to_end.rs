//! End-to-end throughput and latency through a local Apache Kafka broker (`make bench`;
//! scripts/kafka.sh, with the JVM settings of Kafka's own scripts):
//!
//! - the broker's pass-through ceiling: a plain consume-and-produce loop, no enrichment;
//! - saturation: N articles (`NEWSFLOW_BENCH_ARTICLES`, 60,000) waiting in the input
//!   topic, `newsflow run` (release build) enriches them; articles/s from the first output
//!   to the last, and the ratio to the ceiling;
//! - the Kafka tax: newsflow's CPU per article in that run over its CPU per article in
//!   `newsflow process` on the same articles (and the broker's CPU on its own);
//! - fixed offered rates: articles produced at each of `NEWSFLOW_BENCH_RATES`/s (500 and
//!   2,000 by default) for `NEWSFLOW_BENCH_SECONDS` (20) after a 2-second warm-up,
//!   p50/p99/max latency from produce to the enriched record being readable, and
//!   newsflow's own means of where the time went (input timestamp to outputs stored and,
//!   under exactly-once, each step of a transaction);
//! - newsflow's peak resident memory in each run;
//! - with `NEWSFLOW_BENCH_SOAK_SECONDS` set (`make soak`: 600), two long runs with
//!   newsflow's resident memory sampled every 10 s, and its growth after the first minute
//!   reported: one at saturation on librdkafka's mock broker, which keeps only the newest
//!   records of each partition (ten minutes at full speed would write over 10 GB to
//!   Kafka's disk), then one through Kafka at `NEWSFLOW_BENCH_SOAK_RATE` articles/s (1,500
//!   by default; 0 leaves it out).
//!
//! `NEWSFLOW_BENCH_PROPERTIES` adds librdkafka properties to every `newsflow run`
//! (`"producer.linger.ms=5 producer.compression.type=none"`). Everything runs on loopback; the table is printed and written to
//! bench-results/end-to-end.md.

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "end_to_end/soak.rs"]
mod soak;

#[path = "end_to_end/inside.rs"]
mod inside;

mod eval_data;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use inside::Reading;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use support::{articles, free_port, newsflow, produce_with, reader, setting, Broker, Topics};

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

/// `newsflow run` on `topics` of `brokers`, in a group named after the input topic, with
/// its metrics served on `metrics_port`.
fn start_pipeline(brokers: &str, topics: &Topics, metrics_port: u16) -> Child {
    newsflow()
        .args(["run", "--brokers", brokers, "--group-id", &topics.input])
        .args(topics.flags())
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
        .args(["-X", "consumer.session.timeout.ms=6000"])
        .args(extra_properties())
        .env("NEWSFLOW_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start newsflow")
}

/// `-X` flags for every `newsflow run` of the bench, from `NEWSFLOW_BENCH_PROPERTIES`
/// (space-separated `name=value` librdkafka properties), to compare settings.
fn extra_properties() -> Vec<String> {
    std::env::var("NEWSFLOW_BENCH_PROPERTIES")
        .unwrap_or_default()
        .split_whitespace()
        .flat_map(|property| ["-X".to_owned(), property.to_owned()])
        .collect()
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

/// CPU time a process has used so far (user and system), in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    stat_cpu_seconds(&format!("/proc/{pid}/stat"))
}

/// CPU seconds a process's live threads have used so far, summed by kind of thread: its
/// name without the digits that number threads of one kind ("newsflow-stage-",
/// "rdk:broker"), so that the stages' share and the Kafka clients' can be told apart.
fn cpu_seconds_by_thread(pid: u32) -> BTreeMap<String, f64> {
    let mut by_kind = BTreeMap::new();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten();
    for task in tasks.flatten() {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let kind: String = name
            .trim()
            .chars()
            .filter(|c| !c.is_ascii_digit())
            .collect();
        *by_kind.entry(kind).or_default() += stat_cpu_seconds(&path.join("stat").to_string_lossy());
    }
    by_kind
}

/// The user and system CPU seconds in a `/proc/.../stat` file.
fn stat_cpu_seconds(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces;
    // utime and stime are the 14th and 15th fields, in ticks of 1/100 s (USER_HZ).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU `seconds` spread over `records`, in µs each.
fn cpu_us_per(seconds: f64, records: usize) -> f64 {
    seconds * 1e6 / records as f64
}

/// The sum of a metric's samples (all label sets) on newsflow's /metrics, or NaN.
fn metric_sum(port: u16, name: &str) -> f64 {
    let Some((_, text)) = support::http_get(port, "/metrics") else {
        return f64::NAN;
    };
    text.lines()
        .filter(|line| line.starts_with(name))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .fold(0.0, |sum, value| sum + value)
}

/// Records in `topic` (its high watermarks summed: no transactions write there), once
/// `expected` are in or none came for 10 s.
fn records_in(brokers: &str, topic: &str, expected: usize) -> usize {
    let consumer = reader(brokers, topic, PARTITIONS, "read_uncommitted");
    let count = || -> usize {
        (0..PARTITIONS)
            .filter_map(|p| {
                consumer
                    .fetch_watermarks(topic, p, Duration::from_secs(10))
                    .ok()
            })
            .map(|(_, high)| high as usize)
            .sum()
    };
    let (mut last, mut since) = (count(), Instant::now());
    while last < expected && since.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(200));
        let now = count();
        if now > last {
            (last, since) = (now, Instant::now());
        }
    }
    last
}

/// A record for `topic` with its key, if it has one.
fn keyed<'a>(
    topic: &'a str,
    key: &'a Option<String>,
    value: &'a [u8],
) -> FutureRecord<'a, str, [u8]> {
    let record = FutureRecord::to(topic).payload(value);
    match key {
        Some(key) => record.key(key.as_str()),
        None => record,
    }
}

/// When each key of `topic` was first read here, and when the broker got it (the record's
/// timestamp, in ms since the epoch).
struct Arrival {
    read_at: Instant,
    stored_ms: i64,
}

/// Reads `count` records of `topic` (or until `timeout`), as a downstream reader would
/// under either guarantee: an exactly-once pipeline's record counts once its transaction
/// committed.
fn arrivals(
    brokers: &str,
    topic: &str,
    count: usize,
    timeout: Duration,
) -> HashMap<String, Arrival> {
    let consumer = reader(brokers, topic, PARTITIONS, "read_committed");
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
    let bbc = eval_data::eval_data_dir().map(|dir| dir.join("topics/bbc.articles.jsonl"));
    match bbc {
        Some(bbc) if bbc.exists() => (
            support::articles_from(&bbc, count),
            "BBC development articles",
        ),
        _ => (articles(count), "sample feed articles"),
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

/// `rate` articles/s offered for `seconds` after a warm-up: latency from produce to the
/// enriched record being readable. Returns the table row, and a row of newsflow's own
/// means of where the time went.
async fn paced(broker: &Broker, rate: u64, seconds: u64) -> (String, String) {
    let topics = Topics::create(broker, &format!("rate{rate}"), PARTITIONS as u32);
    // The first records also pay for connections, metadata and producer ids on both
    // sides: they run the pace but are left out of the latencies, as a steady state is
    // what the figures describe.
    let warm_up = (rate * WARM_UP_SECONDS) as usize;
    let offered = (rate * (WARM_UP_SECONDS + seconds)) as usize;
    let (paced, _) = bench_articles(offered);
    let metrics_port = free_port();
    let mut pipeline = start_pipeline(broker.address(), &topics, metrics_port);
    tokio::time::sleep(GROUP_FORMING).await;
    let producer = broker.producer();
    let brokers = broker.address().to_owned();
    let output = topics.output.clone();
    let reading = tokio::task::spawn_blocking(move || {
        arrivals(
            &brokers,
            &output,
            offered,
            Duration::from_secs(WARM_UP_SECONDS + seconds + 120),
        )
    });
    let mut sent = HashMap::with_capacity(offered);
    let per_tick = per_tick(rate);
    let mut ticker = tokio::time::interval(TICK);
    let mut warm = None;
    for (index, chunk) in paced.chunks(per_tick).enumerate() {
        ticker.tick().await;
        let now = Instant::now();
        if warm.is_none() && index * per_tick >= warm_up {
            warm = Some(Reading::take(metrics_port));
        }
        for (key, value) in chunk {
            let key = key.clone().expect("key");
            let record = FutureRecord::to(&topics.input)
                .payload(&value[..])
                .key(&key);
            let _ = producer.send_result(record);
            if index * per_tick >= warm_up {
                sent.insert(key, now);
            }
        }
    }
    let arrived = reading.await.expect("reader");
    let inside = warm.map(|warm| Reading::take(metrics_port).means_since(&warm));
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
    let row = format!(
        "| newsflow at {rate}/s offered for {seconds} s after {WARM_UP_SECONDS} s of warm-up ({} of {offered} out) | {rate} | {:.1} | {:.1} | {:.1} | {rss:.0} |",
        arrived.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    let inside = format!(
        "| newsflow's own means at {rate}/s, ms: {} | | | | | |",
        inside.unwrap_or_default()
    );
    (row, inside)
}

/// The offered rates of the paced runs: `NEWSFLOW_BENCH_RATES`, comma-separated (500 and
/// 2,000 articles/s by default; empty for none).
fn rates() -> Vec<u64> {
    std::env::var("NEWSFLOW_BENCH_RATES")
        .unwrap_or_else(|_| "500,2000".into())
        .split(',')
        .filter(|rate| !rate.trim().is_empty())
        .map(|rate| rate.trim().parse().expect("NEWSFLOW_BENCH_RATES: numbers"))
        .collect()
}

/// CPU per article of `newsflow process` over `input` (start-up included, as in `run`'s
/// figure), in µs: the stages' own cost, without Kafka.
fn process_cpu_us(input: &[support::Keyed]) -> f64 {
    let dir = std::env::temp_dir().join(format!("newsflow-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("articles.jsonl");
    let mut lines = Vec::new();
    for (_, value) in input {
        lines.extend_from_slice(value);
        lines.push(b'\n');
    }
    std::fs::write(&path, lines).expect("write articles");
    let child = newsflow()
        .args([
            "process",
            "--output",
            "/dev/null",
            "--dlq",
            "/dev/null",
            "--input",
        ])
        .arg(&path)
        .env("NEWSFLOW_LOG", "warn")
        .spawn()
        .expect("start newsflow process");
    let seconds = cpu_seconds_at_exit(child);
    let _ = std::fs::remove_dir_all(&dir);
    cpu_us_per(seconds, input.len())
}

/// Waits for `child` and returns the CPU time it used (user and system), in seconds.
fn cpu_seconds_at_exit(child: Child) -> f64 {
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our own unreaped child, and both pointers are to live locals.
    let reaped = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert!(
        reaped > 0 && status == 0,
        "newsflow process failed ({status})"
    );
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
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
    // 60,000 articles keep each saturated run several seconds long: over 20,000 (two
    // seconds) the start weighed, and back-to-back runs ranged from 7,000 to 9,600/s.
    let count = setting("NEWSFLOW_BENCH_ARTICLES", 60_000) as usize;
    let rates = rates();
    let seconds = setting("NEWSFLOW_BENCH_SECONDS", 20);
    let broker = Broker::for_benchmarks();
    let broker_pid = broker.pid(1).expect("the broker runs");
    let (input, source) = bench_articles(count);
    let mut table = String::new();
    let _ = writeln!(table, "# newsflow end to end through Apache Kafka\n");
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
    for topic in ["ceiling.in", "ceiling.out"] {
        broker.create_topic(topic, PARTITIONS as u32);
    }
    produce_with(&broker.producer(), "ceiling.in", &input).await;
    let broker_cpu_before = cpu_seconds(broker_pid);
    let ceiling = pass_through(&broker, "ceiling.in", "ceiling.out", count).await;
    let broker_cpu = cpu_us_per(cpu_seconds(broker_pid) - broker_cpu_before, count);
    let _ = writeln!(
        table,
        "| broker pass-through (no enrichment; broker CPU per record {broker_cpu:.0} µs) | {ceiling:.0} | | | | |"
    );

    // Saturation: everything waiting, newsflow as fast as it goes.
    let topics = Topics::create(&broker, "saturation", PARTITIONS as u32);
    produce_with(&broker.producer(), &topics.input, &input).await;
    let broker_cpu_before = cpu_seconds(broker_pid);
    let mut pipeline = start_pipeline(broker.address(), &topics, free_port());
    let seen = arrivals(
        broker.address(),
        &topics.output,
        count,
        Duration::from_secs(600),
    );
    // Start-up included: where the two cores go.
    let newsflow_cpu = cpu_us_per(cpu_seconds(pipeline.id()), count);
    let by_thread = cpu_seconds_by_thread(pipeline.id());
    let broker_cpu = cpu_us_per(cpu_seconds(broker_pid) - broker_cpu_before, count);
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
        "| newsflow at saturation ({} of {count} out; CPU per article: newsflow {newsflow_cpu:.0} µs, broker {broker_cpu:.0} µs) | {saturated:.0} ({:.0}% of pass-through) | | | | {rss:.0} |",
        seen.len(),
        100.0 * saturated / ceiling
    );
    // The Kafka tax: what consuming, producing and committing add to the stages' own work.
    let offline_cpu = process_cpu_us(&input);
    let _ = writeln!(
        table,
        "| `newsflow process` on the same {count} articles (CPU per article {offline_cpu:.0} µs): Kafka tax {:.2} (`run` over `process`) | | | | | |",
        newsflow_cpu / offline_cpu
    );
    let mut shares: Vec<(String, f64)> = by_thread.into_iter().collect();
    shares.sort_by(|a, b| b.1.total_cmp(&a.1));
    let shares: Vec<String> = shares
        .iter()
        .filter(|(_, seconds)| *seconds > 0.0)
        .map(|(kind, seconds)| format!("{kind} {:.0}", cpu_us_per(*seconds, count)))
        .collect();
    let _ = writeln!(
        table,
        "| newsflow's CPU per article at saturation by thread, µs: {} | | | | | |",
        shares.join(", ")
    );

    // Fixed offered rates: latency from produce to readable enriched record.
    for rate in rates {
        let (row, inside) = paced(&broker, rate, seconds).await;
        let _ = writeln!(table, "{row}\n{inside}");
    }

    let soak_seconds = setting("NEWSFLOW_BENCH_SOAK_SECONDS", 0);
    if soak_seconds > 0 {
        let row = soak::saturation_soak(&input, soak_seconds).await;
        let _ = writeln!(table, "{row}");
        let soak_rate = setting("NEWSFLOW_BENCH_SOAK_RATE", 1500);
        if soak_rate > 0 {
            let row = soak::soak(&broker, &input, soak_rate, soak_seconds).await;
            let _ = writeln!(table, "{row}");
        }
    }

    print!("{table}");
    std::fs::create_dir_all("bench-results").expect("bench-results");
    std::fs::write("bench-results/end-to-end.md", &table).expect("write results");
}
