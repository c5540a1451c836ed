//! `newsflow ingest` against feeds served on 127.0.0.1 by the test: RSS, Atom, ninjs,
//! compressed and redirected feeds become raw articles that `newsflow process` enriches;
//! a missing, broken, endless, huge or slow feed is reported with its reason while the
//! others are still written, and no feed at all is a configuration error. Sitemaps and
//! feeds of teasers have their article pages fetched, as robots.txt allows.

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use crate::support::schema::{assert_valid, validator};
use crate::support::{http_listener, newsflow, serve_http};

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

/// The site the sitemaps and teaser feeds point into: one article page, a private area
/// robots.txt closes, and addresses that 404.
const ROBOTS_TXT: &str = "User-agent: *\nDisallow: /private/\n";

const ARTICLE_PAGE: &str = "<!doctype html><html><head><title>Budget | Wire</title></head>\
<body><nav><a href=\"/\">Home</a></nav><article><h1>Parliament passes the budget</h1>\
<p>The parliament in Berlin passed the budget on Monday by 400 votes to 250.</p></article>\
</body></html>";

const NEWS_SITEMAP: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>BASE/articles/budget</loc><news:news>
  <news:publication><news:name>Wire</news:name><news:language>de</news:language></news:publication>
  <news:publication_date>2024-07-01T09:00+01:00</news:publication_date>
  <news:title>Parliament passes the budget</news:title></news:news></url>
<url><loc>BASE/articles/gone</loc><lastmod>2024-07-02</lastmod></url>
<url><loc>BASE/private/draft</loc></url>
</urlset>"#;

const SITEMAP_INDEX: &str = r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>BASE/sitemap.xml</loc></sitemap><sitemap><loc>BASE/missing</loc></sitemap>
</sitemapindex>"#;

const TEASERS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Teasers</title><link>BASE/</link>
<item><guid>t-1</guid><link>BASE/articles/budget</link><description>The budget passed.</description></item>
<item><guid>t-2</guid><link>BASE/private/memo</link><description>A memo leaked.</description></item>
<item><guid>t-3</guid><link>BASE/articles/gone</link><description>A story was pulled.</description></item>
</channel></rss>"#;

fn gzipped(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

/// Serves the fixture feeds on 127.0.0.1 from a thread of its own; returns the base URL.
fn serve() -> String {
    let (listener, base) = http_listener();
    // The documents that link into the site name it by its address.
    let linked = |document: &str| -> &'static str { document.replace("BASE", &base).leak() };
    let (news_sitemap, sitemap_index, teasers) =
        (linked(NEWS_SITEMAP), linked(SITEMAP_INDEX), linked(TEASERS));
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
        .route("/robots.txt", get(|| async { ROBOTS_TXT }))
        .route(
            "/articles/budget",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    ARTICLE_PAGE,
                )
            }),
        )
        .route("/sitemap.xml", get(xml(news_sitemap)))
        .route("/sitemap-index.xml", get(xml(sitemap_index)))
        .route("/teasers", get(xml(teasers)))
        .route("/huge", get(|| async { "x".repeat(50 << 20) }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                RSS
            }),
        );
    serve_http(listener, router);
    base
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

/// The records of an ingest that must have succeeded (its logs shown when it did not).
fn records_of_success(output: &Output) -> Vec<Value> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    records(output)
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
    let records = records_of_success(&output);
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
    let records = records_of_success(&output);
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

/// Runs `newsflow ingest --output -` on a config file with the `[ingest]` table's
/// `settings` and the feeds `feeds` (TOML tables' bodies).
fn ingest_config(settings: &str, feeds: &[String]) -> Output {
    ingest_config_with(&["--output", "-"], settings, feeds)
}

fn ingest_config_with(args: &[&str], settings: &str, feeds: &[String]) -> Output {
    let mut config = tempfile::NamedTempFile::new().unwrap();
    writeln!(config, "[ingest]\n{settings}").unwrap();
    for feed in feeds {
        writeln!(config, "[[ingest.feeds]]\n{feed}").unwrap();
    }
    newsflow()
        .args(["ingest", "--log-format", "json"])
        .args(args)
        .arg("--config")
        .arg(config.path())
        .output()
        .unwrap()
}

/// The JSON log lines that say `key` is `value` for `page`.
fn logged(output: &Output, page: &str, key: &str, value: &str) -> bool {
    String::from_utf8_lossy(&output.stderr).lines().any(|line| {
        serde_json::from_str::<Value>(line)
            .is_ok_and(|log| log["page"] == page && log[key] == value)
    })
}

#[test]
fn teasers_get_their_pages_unless_robots_txt_disallows_or_the_page_fails() {
    let base = serve();
    let output = ingest_config(
        "",
        &[format!("url = \"{base}/teasers\"\nfetch_pages = true")],
    );
    let records = records_of_success(&output);
    let ids: Vec<String> = records.iter().map(id).collect();
    assert_eq!(
        ids,
        ["t-1", "t-2", "t-3"],
        "no item is dropped for its page"
    );
    assert_eq!(records[0]["body"], ARTICLE_PAGE);
    assert_eq!(records[0]["content_type"], "text/html");
    assert_eq!(records[1]["body"], "A memo leaked.");
    assert_eq!(records[2]["body"], "A story was pulled.");
    assert!(logged(
        &output,
        &format!("{base}/private/memo"),
        "reason",
        "robots_txt"
    ));
    assert!(logged(
        &output,
        &format!("{base}/articles/gone"),
        "kind",
        "status"
    ));
    let raw_article = validator("raw-article.v1.json");
    for record in &records {
        assert_valid(&raw_article, record, &id(record));
    }

    let capped = ingest_config(
        "max_pages_per_feed = 1",
        &[format!("url = \"{base}/teasers\"\nfetch_pages = true")],
    );
    let bodies: Vec<Value> = self::records(&capped)
        .iter()
        .map(|record| record["body"].clone())
        .collect();
    assert_eq!(
        bodies,
        [ARTICLE_PAGE, "A memo leaked.", "A story was pulled."]
    );
    assert!(
        !logged(&capped, &format!("{base}/articles/gone"), "kind", "status"),
        "past the limit no page is tried"
    );
}

#[test]
fn sitemap_entries_become_raw_articles_with_their_pages() {
    let base = serve();
    // Detected by itself, and declared and read through an index whose other child is
    // missing.
    for (path, format) in [("/sitemap.xml", "auto"), ("/sitemap-index.xml", "sitemap")] {
        let output = ingest_config(
            "",
            &[format!("url = \"{base}{path}\"\nformat = \"{format}\"")],
        );
        let records = records_of_success(&output);
        let ids: Vec<String> = records.iter().map(id).collect();
        let [budget, gone, draft] = ["/articles/budget", "/articles/gone", "/private/draft"]
            .map(|page| format!("{base}{page}"));
        assert_eq!(ids, [budget.clone(), gone.clone(), draft.clone()], "{path}");
        assert_eq!(records[0]["title"], "Parliament passes the budget");
        assert_eq!(records[0]["published_at"], "2024-07-01T08:00:00Z");
        assert_eq!(records[0]["language"], "de");
        assert_eq!(records[0]["source"], "Wire");
        assert_eq!(records[0]["body"], ARTICLE_PAGE);
        assert_eq!(records[1]["published_at"], "2024-07-02T00:00:00Z");
        assert_eq!(
            records[1]["body"], "",
            "a failed page leaves the entry as it was"
        );
        assert!(logged(&output, &gone, "kind", "status"));
        assert!(logged(&output, &draft, "reason", "robots_txt"));
        let raw_article = validator("raw-article.v1.json");
        for record in &records {
            assert_valid(&raw_article, record, &id(record));
        }
    }
    // An unknown format is a configuration error.
    let output = ingest_config("", &[format!("url = \"{base}/rss\"\nformat = \"html\"")]);
    assert_eq!(output.status.code(), Some(2));
}

/// RFC 9309: a robots.txt that answers 5xx closes the whole host for the run.
#[test]
fn a_host_whose_robots_txt_fails_with_a_server_error_has_no_page_fetched() {
    let (listener, base) = http_listener();
    let feed: &'static str = TEASERS.replace("BASE", &base).leak();
    let page_requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = page_requests.clone();
    let router = Router::new()
        .route("/teasers", get(move || async move { feed }))
        .route(
            "/robots.txt",
            get(|| async { StatusCode::SERVICE_UNAVAILABLE.into_response() }),
        )
        .fallback(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { ARTICLE_PAGE }
        });
    serve_http(listener, router);
    let output = ingest_config(
        "",
        &[format!("url = \"{base}/teasers\"\nfetch_pages = true")],
    );
    let bodies: Vec<Value> = records_of_success(&output)
        .iter()
        .map(|record| record["body"].clone())
        .collect();
    assert_eq!(
        bodies,
        [
            "The budget passed.",
            "A memo leaked.",
            "A story was pulled."
        ]
    );
    assert!(logged(
        &output,
        &format!("{base}/articles/budget"),
        "reason",
        "robots_txt"
    ));
    assert_eq!(page_requests.load(std::sync::atomic::Ordering::SeqCst), 0);
}
