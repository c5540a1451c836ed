//! A real Prometheus (Debian's package, installed by scripts/install-prometheus.sh) scrapes a
//! running newsflow on loopback, loads the project's alert rules, and answers a query with
//! the value newsflow counted. Every metric the Grafana dashboard charts is on /metrics: the
//! pipeline's on `newsflow demo`'s, the feeds' (`newsflow_feed_*`) on `newsflow ingest`'s.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{child_log, free_port, http_get, metric, newsflow, repo_path, wait_for_port};
use serde_json::Value;

/// Records in the sample feed that come out enriched (the rest are deliberately broken).
fn enriched_in_sample_feed() -> f64 {
    let feed = std::fs::read_to_string(repo_path("data/sample-feed.jsonl")).expect("feed");
    feed.lines()
        .filter(|l| {
            newsflow::record::decode(l.as_bytes(), usize::MAX)
                .is_ok_and(|input| input.into_article().is_some())
        })
        .count() as f64
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The demo pipeline, serving /metrics on `port` until it is killed.
fn start_demo(port: u16) -> Killed {
    let child = newsflow()
        .args(["demo", "--metrics-addr", &format!("127.0.0.1:{port}")])
        .args(["--linger-secs", "300"])
        .stdout(Stdio::null())
        .stderr(child_log())
        .spawn()
        .expect("start newsflow demo");
    Killed(child)
}

/// `newsflow ingest` of a feed where nothing listens, into brokers that are not there,
/// serving /metrics on `port` while its Kafka start-up waits for them.
fn start_ingest(port: u16) -> Killed {
    let child = newsflow()
        .args(["ingest", "--metrics-addr", &format!("127.0.0.1:{port}")])
        .args([
            "--feed",
            &format!("http://127.0.0.1:{}/feed.xml", free_port()),
        ])
        .args(["--brokers", &format!("127.0.0.1:{}", free_port())])
        .stdout(Stdio::null())
        .stderr(child_log())
        .spawn()
        .expect("start newsflow ingest");
    Killed(child)
}

/// Only `newsflow ingest` has these.
const FEED_METRICS: &str = "newsflow_feed_";

/// The metric names on a /metrics page.
fn exposed(text: &str) -> BTreeSet<&str> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect()
}

/// `newsflow_*` and `process_*` metric names used in the dashboard's queries, those of
/// collapsed rows included.
fn dashboard_metrics() -> BTreeSet<String> {
    let text =
        std::fs::read_to_string(repo_path("deploy/grafana/newsflow.json")).expect("dashboard");
    let dashboard: Value = serde_json::from_str(&text).expect("dashboard JSON");
    let top = dashboard["panels"].as_array().expect("panels");
    let in_rows = top
        .iter()
        .filter_map(|panel| panel["panels"].as_array())
        .flatten();
    let mut names = BTreeSet::new();
    for panel in top.iter().chain(in_rows) {
        if panel["type"] == "row" {
            continue;
        }
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            for prefix in ["newsflow_", "process_"] {
                let mut rest = expr;
                while let Some(at) = rest.find(prefix) {
                    let name: String = rest[at..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    rest = &rest[at + name.len()..];
                    names.insert(name);
                }
            }
        }
    }
    names
}

#[test]
fn prometheus_scrapes_newsflow_and_the_dashboard_charts_only_real_metrics() {
    let metrics_port = free_port();
    let _demo = start_demo(metrics_port);
    let expected = enriched_in_sample_feed();
    let charted: BTreeSet<String> = dashboard_metrics()
        .into_iter()
        .filter(|name| !name.starts_with(FEED_METRICS))
        .collect();
    assert!(
        charted.len() >= 10,
        "the dashboard charts too little: {charted:?}"
    );
    // Statistics-based series (lag, brokers) appear with librdkafka's first report.
    let started = Instant::now();
    let (enriched, absent) = loop {
        let text = http_get(metrics_port, "/metrics").map_or_else(String::new, |(_, body)| body);
        let enriched = metric(&text, "newsflow_articles_enriched_total");
        let exposed = exposed(&text);
        let absent: Vec<String> = charted
            .iter()
            .filter(|m| !exposed.contains(m.as_str()))
            .cloned()
            .collect();
        if (enriched == Some(expected) && absent.is_empty())
            || started.elapsed() > Duration::from_secs(120)
        {
            break (enriched, absent);
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(enriched, Some(expected), "the demo did not enrich its feed");
    assert!(absent.is_empty(), "charted but not exposed: {absent:?}");

    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: newsflow\n    static_configs:\n      - targets: ['127.0.0.1:{metrics_port}']\n",
            repo_path("deploy/prometheus/alerts.yml").display()
        ),
    )
    .expect("write config");
    let web_port = free_port();
    let _prometheus = Killed(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{web_port}"))
            .stdout(Stdio::null())
            .stderr(child_log())
            .spawn()
            .expect("prometheus must be installed: run scripts/install-prometheus.sh"),
    );
    wait_for_port(web_port, Duration::from_secs(30));

    let started = Instant::now();
    let answer = loop {
        let answer = http_get(
            web_port,
            "/api/v1/query?query=sum(newsflow_articles_enriched_total)",
        )
        .and_then(|(_, body)| serde_json::from_str::<Value>(&body).ok())
        .and_then(|v| {
            v["data"]["result"][0]["value"][1]
                .as_str()?
                .parse::<f64>()
                .ok()
        });
        if answer.is_some() || started.elapsed() > Duration::from_secs(60) {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(answer, Some(expected), "what Prometheus read back");

    let rules = http_get(web_port, "/api/v1/rules")
        .and_then(|(_, body)| serde_json::from_str::<Value>(&body).ok())
        .expect("rules");
    let loaded = rules["data"]["groups"][0]["rules"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(loaded >= 5, "alert rules loaded by Prometheus: {loaded}");
}

#[test]
fn the_dashboards_feed_panels_chart_only_metrics_of_newsflow_ingest() {
    let charted: BTreeSet<String> = dashboard_metrics()
        .into_iter()
        .filter(|name| name.starts_with(FEED_METRICS))
        .collect();
    assert!(
        charted.len() >= 5,
        "the dashboard charts too little of the feeds: {charted:?}"
    );
    let metrics_port = free_port();
    let _ingest = start_ingest(metrics_port);
    // The feed's series appear as soon as ingest knows its feeds, before Kafka answers.
    let started = Instant::now();
    let absent = loop {
        let text = http_get(metrics_port, "/metrics").map_or_else(String::new, |(_, body)| body);
        let exposed = exposed(&text);
        let absent: Vec<&String> = charted
            .iter()
            .filter(|m| !exposed.contains(m.as_str()))
            .collect();
        if absent.is_empty() || started.elapsed() > Duration::from_secs(30) {
            break absent;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(absent.is_empty(), "charted but not exposed: {absent:?}");
}
