use super::*;

const NEWS_SITEMAP: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url>
    <loc>http://127.0.0.1/news/budget?id=1&amp;page=2</loc>
    <lastmod>2024-07-01T12:00:00+00:00</lastmod>
    <news:news>
      <news:publication><news:name>Example Times</news:name><news:language>en-GB</news:language></news:publication>
      <news:publication_date>2024-07-01T09:00:00+01:00</news:publication_date>
      <news:title><![CDATA[Parliament passes the budget]]></news:title>
      <news:keywords>budget, parliament ,</news:keywords>
    </news:news>
    <image:image><image:loc>http://127.0.0.1/img.jpg</image:loc><image:title>A photo</image:title></image:image>
  </url>
  <url><loc> http://127.0.0.1/news/plain </loc><lastmod>2024-07-02</lastmod></url>
  <url><lastmod>2024-07-03</lastmod></url>
</urlset>"#;

fn spec() -> FeedSpec {
    FeedSpec {
        tags: vec!["web".into()],
        ..FeedSpec::new("http://127.0.0.1/sitemap.xml")
    }
}

#[test]
fn a_news_sitemap_gives_its_headlines_dates_and_publication() {
    let Sitemap::Urls(urls) = parse(NEWS_SITEMAP.as_bytes()).unwrap() else {
        panic!("not read as a urlset");
    };
    assert_eq!(urls.len(), 2, "the entry without <loc> is left out");
    let news = urls[0].news.as_ref().unwrap();
    assert_eq!(urls[0].loc, "http://127.0.0.1/news/budget?id=1&page=2");
    assert_eq!(news.title.as_deref(), Some("Parliament passes the budget"));
    assert_eq!(news.publication_name.as_deref(), Some("Example Times"));
    assert_eq!(news.keywords, ["budget", "parliament"]);
    assert_eq!(urls[1].loc, "http://127.0.0.1/news/plain");
    assert_eq!(urls[1].news, None);

    let records: Vec<Value> = urls.into_iter().map(|url| record(url, &spec())).collect();
    let budget = &records[0];
    assert_eq!(budget["id"], "http://127.0.0.1/news/budget?id=1&page=2");
    assert_eq!(budget["url"], budget["id"]);
    assert_eq!(budget["title"], "Parliament passes the budget");
    assert_eq!(
        budget["published_at"], "2024-07-01T08:00:00Z",
        "the publication date, not lastmod, in UTC"
    );
    assert_eq!(budget["language"], "en");
    assert_eq!(budget["source"], "Example Times");
    assert_eq!(
        budget["categories"],
        serde_json::json!(["budget", "parliament"])
    );
    assert_eq!(budget["tags"], serde_json::json!(["web"]));
    assert_eq!(budget["body"], "");
    assert_eq!(records[1]["published_at"], "2024-07-02T00:00:00Z");
    assert!(records[1].get("title").is_none());
}

#[test]
fn a_sitemap_index_lists_its_children() {
    let index = r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
        <sitemap><loc>http://127.0.0.1/a.xml</loc><lastmod>2024-07-01</lastmod></sitemap>
        <sitemap><loc>http://127.0.0.1/b.xml</loc></sitemap>
        <sitemap><loc>  </loc></sitemap></sitemapindex>"#;
    assert_eq!(
        parse(index.as_bytes()).unwrap(),
        Sitemap::Index(vec![
            "http://127.0.0.1/a.xml".into(),
            "http://127.0.0.1/b.xml".into()
        ])
    );
}

#[test]
fn sitemaps_are_detected_and_other_documents_refused() {
    let auto = spec();
    assert!(applies(&auto, NEWS_SITEMAP.as_bytes()));
    assert!(applies(&auto, b"<sitemapindex/>"));
    assert!(!applies(&auto, b"<rss version=\"2.0\"><channel/></rss>"));
    assert!(!applies(&auto, b"{\"uri\": \"x\"}"));
    let hinted = |format| FeedSpec { format, ..spec() };
    assert!(applies(&hinted(FeedFormat::Sitemap), b"<rss/>"));
    assert!(!applies(&hinted(FeedFormat::Rss), NEWS_SITEMAP.as_bytes()));
    assert_eq!(parse(b"<urlset/>").unwrap(), Sitemap::Urls(Vec::new()));
    for document in [
        "<rss version=\"2.0\"><channel/></rss>",
        "<urlset><url><loc>http://127.0.0.1/cut",
        "",
        "<urlset><url></urlset>",
    ] {
        assert!(parse(document.as_bytes()).is_err(), "{document:?} was read");
    }
}

#[test]
fn sitemap_dates_are_read_as_w3c_datetime_and_written_in_utc() {
    for (written, read) in [
        ("2024-07-01T09:00+01:00", "2024-07-01T08:00:00Z"),
        ("2024-07-01T09:00Z", "2024-07-01T09:00:00Z"),
        ("2024-07-01T09:00:30.5-04:00", "2024-07-01T13:00:30.500Z"),
        ("2024-07-01", "2024-07-01T00:00:00Z"),
        // Unreadable dates go on as written, for the pipeline to keep in source_fields.
        ("2024-07", "2024-07"),
        ("yesterday", "yesterday"),
        ("2024-07-01T09:0é+01:00", "2024-07-01T09:0é+01:00"),
    ] {
        assert_eq!(w3c_datetime(written), read, "{written}");
    }
}
