//! A real Prometheus (Debian's package, installed by scripts/install-prometheus.sh) scrapes a
//! running newsflow on loopback, loads the project's alert rules, and answers a query with
//! the value newsflow counted. Every metric the Grafana dashboard charts is on /metrics.

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

/// `newsflow_*` and `process_*` metric names used in the dashboard's queries.
fn dashboard_metrics() -> BTreeSet<String> {
    let text =
        std::fs::read_to_string(repo_path("deploy/grafana/newsflow.json")).expect("dashboard");
    let dashboard: Value = serde_json::from_str(&text).expect("dashboard JSON");
    let mut names = BTreeSet::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
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
    let charted = dashboard_metrics();
    assert!(
        charted.len() >= 10,
        "the dashboard charts too little: {charted:?}"
    );
    // Statistics-based series (lag, brokers) appear with librdkafka's first report.
    let started = Instant::now();
    let (enriched, absent) = loop {
        let text = http_get(metrics_port, "/metrics").map_or_else(String::new, |(_, body)| body);
        let enriched = metric(&text, "newsflow_articles_enriched_total");
        let exposed: BTreeSet<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split(['{', ' ']).next())
            .collect();
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
