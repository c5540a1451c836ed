//! `newsflow ingest` into Apache Kafka, polling a feed served on 127.0.0.1 that gains an
//! item with every request and corrects its first item once: each new item and each
//! update reaches the input topic exactly once, across two SIGKILLs and restarts (one just
//! after a poll was fetched, while its transaction is likely open), and a feed that stops
//! changing is answered with 304s. A sitemap's article pages are fetched for its new
//! entries only, once, however many polls list them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rdkafka::message::Message;
use serde_json::Value;

use crate::support::{
    child_log, free_port, http_get, http_listener, metric, newsflow, reader, serve_http, terminate,
    wait_exit, Broker, Running, SpawnRunning,
};

/// Items the feed ends with; it gains one per request until then.
const ITEMS: usize = 8;
/// The request from which the first item has its corrected title.
const CORRECTED_FROM: usize = 3;

/// The feed as the `served`-th request (from 0) sees it, and its ETag.
fn feed(served: usize) -> (String, String) {
    let generation = served.min(ITEMS - 1);
    let items: String = (0..=generation)
        .map(|i| {
            let title = if i == 0 && generation >= CORRECTED_FROM {
                "Story 0, corrected".to_owned()
            } else {
                format!("Story {i}")
            };
            format!(
                "<item><title>{title}</title><guid>item-{i}</guid>\
                 <pubDate>Mon, 01 Jul 2024 09:0{i}:00 +0100</pubDate>\
                 <description>The text of story {i}.</description></item>"
            )
        })
        .collect();
    let xml = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Wire</title>{items}\
         </channel></rss>"
    );
    (xml, format!("\"g{generation}\""))
}

/// Serves the feed; returns its URL and the count of requests answered with a body.
fn serve() -> (String, Arc<AtomicUsize>) {
    let (listener, base) = http_listener();
    let served = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&served);
    let router = Router::new().route(
        "/feed",
        get(move |headers: HeaderMap| {
            let counter = Arc::clone(&counter);
            async move {
                let (_, current) = feed(counter.load(Ordering::SeqCst));
                let unchanged = headers
                    .get(header::IF_NONE_MATCH)
                    .is_some_and(|tag| tag.as_bytes() == current.as_bytes());
                if unchanged && counter.load(Ordering::SeqCst) >= ITEMS {
                    return StatusCode::NOT_MODIFIED.into_response();
                }
                let (xml, etag) = feed(counter.fetch_add(1, Ordering::SeqCst));
                let response: Response = ([(header::ETAG, etag.as_str())], xml).into_response();
                response
            }
        }),
    );
    serve_http(listener, router);
    (format!("{base}/feed"), served)
}

fn start_ingest(broker: &Broker, url: &str, metrics_port: u16) -> Running {
    newsflow()
        .args(["ingest", "--feed", url, "--brokers", broker.address()])
        .args([
            "--input-topic",
            "ingest.raw",
            "--state-topic",
            "ingest.state",
        ])
        .args(["--transactional-id", "ingest-test", "--interval-secs", "1"])
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
        .stderr(child_log())
        .spawn_running("newsflow ingest")
}

fn wait_served(served: &AtomicUsize, count: usize, timeout: Duration) {
    let started = Instant::now();
    while served.load(Ordering::SeqCst) < count {
        assert!(
            started.elapsed() < timeout,
            "the feed was fetched {} times, not {count}",
            served.load(Ordering::SeqCst)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn every_item_and_update_arrives_once_across_kills() {
    let broker = Broker::shared();
    broker.create_topic("ingest.raw", 3);
    let (url, served) = serve();
    let metrics_port = free_port();
    let timeout = Duration::from_secs(60);

    let mut ingest = start_ingest(broker, &url, metrics_port);
    // The first kill comes after the correction was stored; the second right after a
    // fetch, most likely with that poll's transaction open.
    wait_served(&served, CORRECTED_FROM + 2, timeout);
    ingest.kill().unwrap();
    ingest.wait().unwrap();
    let mut ingest = start_ingest(broker, &url, metrics_port);
    wait_served(&served, CORRECTED_FROM + 4, timeout);
    std::thread::sleep(Duration::from_millis(20));
    ingest.kill().unwrap();
    ingest.wait().unwrap();

    let mut ingest = start_ingest(broker, &url, metrics_port);
    let started = Instant::now();
    let not_modified =
        "newsflow_feed_polls_total{feed=\"".to_owned() + &url + "\",outcome=\"not_modified\"}";
    loop {
        let text = http_get(metrics_port, "/metrics").map(|(_, text)| text);
        if text
            .and_then(|t| metric(&t, &not_modified))
            .is_some_and(|n| n >= 1.0)
        {
            break;
        }
        assert!(started.elapsed() < timeout, "no 304 within {timeout:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    terminate(&ingest);
    assert_eq!(wait_exit(&mut ingest, timeout), Some(0));

    let consumer = reader(broker.address(), "ingest.raw", 3, "read_committed");
    let mut versions: HashMap<String, Vec<Value>> = HashMap::new();
    let reading = Instant::now();
    while reading.elapsed() < Duration::from_secs(5) {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            let key = String::from_utf8_lossy(message.key().unwrap()).into_owned();
            let record: Value = serde_json::from_slice(message.payload().unwrap()).unwrap();
            assert_eq!(record["id"], key);
            versions.entry(key).or_default().push(record);
        }
    }
    let titles = |id: &str| -> Vec<String> {
        versions.get(id).map_or_else(Vec::new, |records| {
            records
                .iter()
                .map(|r| r["title"].as_str().unwrap().to_owned())
                .collect()
        })
    };
    assert_eq!(versions.len(), ITEMS, "{versions:?}");
    assert_eq!(titles("item-0"), ["Story 0", "Story 0, corrected"]);
    assert_eq!(versions["item-0"][1]["version"], "2");
    for i in 1..ITEMS {
        let id = format!("item-{i}");
        assert_eq!(titles(&id), [format!("Story {i}")], "{id}");
    }
    // RFC 2822 with an offset, read as the instant it names.
    assert_eq!(
        versions["item-1"][0]["published_at"],
        "2024-07-01T08:01:00Z"
    );
}

const PAGE: &str = "<html><head><title>Budget passes</title></head><body><nav>Home</nav>\
<article><h1>Budget passes</h1><p>The parliament passed the budget on Monday after a debate \
that lasted two days.</p></article></body></html>";

/// A sitemap of two pages, served with its pages; counts the requests of each page.
fn serve_sitemap() -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (listener, base) = http_listener();
    let sitemap = format!(
        "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
         <url><loc>{base}/a</loc><lastmod>2024-07-01</lastmod></url>\
         <url><loc>{base}/b</loc></url></urlset>"
    );
    let (a, b) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let page = |count: &Arc<AtomicUsize>| {
        let count = Arc::clone(count);
        get(move || {
            count.fetch_add(1, Ordering::SeqCst);
            async { ([(header::CONTENT_TYPE, "text/html")], PAGE) }
        })
    };
    let router = Router::new()
        .route("/sitemap.xml", get(move || async move { sitemap }))
        .route("/a", page(&a))
        .route("/b", page(&b));
    serve_http(listener, router);
    (format!("{base}/sitemap.xml"), a, b)
}

#[test]
fn a_sitemaps_pages_are_fetched_once_for_its_new_entries() {
    let broker = Broker::shared();
    broker.create_topic("ingest-sitemap.raw", 1);
    let (url, a, b) = serve_sitemap();
    let metrics_port = free_port();
    let mut ingest = newsflow()
        .args(["ingest", "--feed", &url, "--brokers", broker.address()])
        .args(["--input-topic", "ingest-sitemap.raw"])
        .args(["--state-topic", "ingest-sitemap.state"])
        .args([
            "--transactional-id",
            "ingest-sitemap-test",
            "--interval-secs",
            "1",
        ])
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
        .stderr(child_log())
        .spawn_running("newsflow ingest");
    let polls = format!("newsflow_feed_polls_total{{feed=\"{url}\",outcome=\"ok\"}}");
    let started = Instant::now();
    while !http_get(metrics_port, "/metrics")
        .and_then(|(_, text)| metric(&text, &polls))
        .is_some_and(|n| n >= 3.0)
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "fewer than 3 polls"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    terminate(&ingest);
    assert_eq!(wait_exit(&mut ingest, Duration::from_secs(30)), Some(0));
    assert_eq!(
        (a.load(Ordering::SeqCst), b.load(Ordering::SeqCst)),
        (1, 1),
        "each page fetched once over three polls"
    );
    let records = broker.consume("ingest-sitemap.raw", 1, 2, Duration::from_secs(10));
    assert_eq!(records.len(), 2);
    for record in records {
        let record: Value = serde_json::from_slice(&record.value).unwrap();
        assert_eq!(record["body"], PAGE);
        assert_eq!(record["content_type"], "text/html");
    }
}
