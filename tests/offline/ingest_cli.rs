//! `newsflow ingest` against feeds served on 127.0.0.1 by the test: RSS, Atom, ninjs,
//! compressed and redirected feeds become raw articles that `newsflow process` enriches;
//! a missing, broken, endless, huge or slow feed is reported with its reason while the
//! others are still written, and no feed at all is a configuration error.

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use crate::support::newsflow;
use crate::support::schema::{assert_valid, validator};

const RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Wire</title><link>http://127.0.0.1/</link><language>en</language>
<item><title>Parliament passes the budget</title><guid>rss-1</guid>
<link>http://127.0.0.1/rss-1</link><pubDate>Mon, 01 Jul 2024 09:00:00 +0100</pubDate>
<content:encoded><![CDATA[<article><h1>Parliament passes the budget</h1>
<p>The parliament in Berlin passed the budget on Monday by 400 votes to 250, after a
debate that lasted two days.</p><p>The finance minister said the budget would cut the
deficit next year.</p></article>]]></content:encoded></item>
<item><title>Storm closes schools</title><guid>rss-2</guid>
<pubDate>Tue, 2 Jul 2024 18:30 GMT</pubDate>
<description>Schools in the north of the country closed on Tuesday as a storm brought
heavy snow and winds.</description></item>
</channel></rss>"#;

const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id>
<updated>2024-07-01T10:00:00Z</updated>
<entry><title>Central bank holds rates</title><id>urn:atom:1</id>
<updated>2024-07-01T10:00:00+02:00</updated>
<summary>The central bank kept its main interest rate at 4% on Monday.</summary></entry>
</feed>"#;

const NINJS: &str = r#"[{"uri":"urn:ninjs:1","headline":"Election called",
"body_text":"The prime minister called an early election for October.",
"versioncreated":"2024-07-03T07:00:00Z"}]"#;

fn gzipped(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

/// Serves the fixture feeds on 127.0.0.1 from a thread of its own; returns the base URL.
fn serve() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let xml = |body: &'static str| {
        move || async move { ([(header::CONTENT_TYPE, "application/rss+xml")], body) }
    };
    let router = Router::new()
        .route("/rss", get(xml(RSS)))
        .route("/atom", get(xml(ATOM)))
        .route(
            "/ninjs",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], NINJS) }),
        )
        .route(
            "/gzip",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "application/rss+xml"),
                        (header::CONTENT_ENCODING, "gzip"),
                    ],
                    gzipped(ATOM),
                )
            }),
        )
        .route(
            "/moved",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/ninjs")]) }),
        )
        .route(
            "/loop",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop")]) }),
        )
        .route(
            "/missing",
            get(|| async { StatusCode::NOT_FOUND.into_response() }),
        )
        .route("/broken", get(xml("<rss><channel><item><title>cut off")))
        .route(
            "/page",
            get(xml("<html><body><p>Not a feed.</p></body></html>")),
        )
        .route(
            "/polite",
            get(|headers: axum::http::HeaderMap| async move {
                let agent = headers
                    .get(header::USER_AGENT)
                    .and_then(|v| v.to_str().ok());
                if agent.is_some_and(|agent| agent.starts_with("newsflow/")) {
                    (StatusCode::OK, ATOM)
                } else {
                    (StatusCode::FORBIDDEN, "")
                }
            }),
        )
        .route("/huge", get(|| async { "x".repeat(50 << 20) }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                RSS
            }),
        );
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, router).await.unwrap();
            });
    });
    format!("http://{address}")
}

fn ingest(base: &str, paths: &[&str], extra: &[&str]) -> Output {
    let mut command = newsflow();
    command.args(["ingest", "--output", "-"]).args(extra);
    for path in paths {
        command.args(["--feed", &format!("{base}{path}")]);
    }
    command.output().unwrap()
}

/// A record's id: `id`, or a ninjs item's `uri`.
fn id(record: &Value) -> String {
    record
        .get("id")
        .or(record.get("uri"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn records(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn feed_items_become_raw_articles_that_process_enriches() {
    let base = serve();
    let output = ingest(&base, &["/rss", "/atom", "/gzip", "/moved"], &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let records = records(&output);
    let ids: Vec<String> = records.iter().map(id).collect();
    assert_eq!(
        ids,
        ["rss-1", "rss-2", "urn:atom:1", "urn:atom:1", "urn:ninjs:1"]
    );
    assert_eq!(records[0]["published_at"], "2024-07-01T08:00:00Z");
    assert_eq!(records[2]["published_at"], "2024-07-01T08:00:00Z");
    assert_eq!(records[0]["feed"], format!("{base}/rss"));
    let raw_article = validator("raw-article.v1.json");
    for record in &records {
        assert_valid(&raw_article, record, &id(record));
    }

    let mut process = newsflow()
        .args([
            "process",
            "--output",
            "-",
            "--dlq",
            "/dev/null",
            "--threads",
            "1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    process
        .stdin
        .take()
        .unwrap()
        .write_all(&output.stdout)
        .unwrap();
    let enriched = process.wait_with_output().unwrap();
    assert!(enriched.status.success());
    let enriched: Vec<Value> = String::from_utf8(enriched.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(enriched.len(), 5, "every ingested item is enriched");
    let budget = &enriched[0];
    assert_eq!(budget["clean"]["title"], "Parliament passes the budget");
    assert_eq!(budget["published_at"], "2024-07-01T08:00:00Z");
    assert_eq!(budget["regions"]["countries"][0]["code"], "DE");
}

#[test]
fn a_feed_that_cannot_be_read_is_reported_and_the_others_still_written() {
    let base = serve();
    for (path, kind) in [
        ("/missing", "status"),
        ("/broken", "unreadable"),
        ("/page", "unreadable"),
        ("/loop", "redirects"),
        ("/huge", "too_large"),
        ("/slow", "timeout"),
    ] {
        let output = ingest(
            &base,
            &[path, "/atom"],
            &[
                "--timeout-secs",
                "2",
                "--max-response-bytes",
                "1000000",
                "--log-format",
                "json",
            ],
        );
        assert_eq!(output.status.code(), Some(1), "{path}");
        let logs = String::from_utf8_lossy(&output.stderr);
        let reported = logs.lines().any(|line| {
            serde_json::from_str::<Value>(line)
                .is_ok_and(|log| log["kind"] == kind && log["feed"] == format!("{base}{path}"))
        });
        assert!(reported, "{path}: no `{kind}` error logged in\n{logs}");
        let ids: Vec<String> = records(&output).iter().map(id).collect();
        assert_eq!(ids, ["urn:atom:1"], "{path}: the good feed's records");
    }
}

#[test]
fn feeds_of_the_config_file_carry_their_source_language_and_tags() {
    let base = serve();
    let mut config = tempfile::NamedTempFile::new().unwrap();
    write!(
        config,
        "brokers = \"127.0.0.1:9092\"\n\n[[ingest.feeds]]\nurl = \"{base}/polite\"\n\
         source = \"Example Wire\"\nlanguage = \"en\"\ntags = [\"wire\", \"economy\"]\n"
    )
    .unwrap();
    let output = newsflow()
        .args(["ingest", "--output", "-", "--config"])
        .arg(config.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let records = records(&output);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["source"], "Example Wire");
    assert_eq!(records[0]["language"], "en");
    assert_eq!(records[0]["tags"], serde_json::json!(["wire", "economy"]));
}

#[test]
fn no_feed_is_a_configuration_error() {
    let output = newsflow().args(["ingest"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no feed"));
}
