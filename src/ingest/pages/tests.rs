use super::*;

const ROBOTS_TXT: &str = "\
User-agent: *
Disallow: /

User-agent: newsflow
Disallow: /private/
Disallow: /*.pdf$
Allow: /private/press/
";

fn rules(text: &str) -> Robots {
    Robots::from_fetch(Ok(text.as_bytes().to_vec()), "newsflow")
}

#[test]
fn robots_txt_groups_are_matched_by_product_token_with_the_longest_rule_winning() {
    let robots = rules(ROBOTS_TXT);
    assert!(robots.allows("http://127.0.0.1/news/budget"));
    assert!(!robots.allows("http://127.0.0.1/private/notes"));
    assert!(robots.allows("http://127.0.0.1/private/press/release"));
    assert!(!robots.allows("http://127.0.0.1/report.pdf"));
    assert!(robots.allows("http://127.0.0.1/report.pdf?page=2"));
    let other = Robots::from_fetch(Ok(ROBOTS_TXT.as_bytes().to_vec()), "otherbot");
    assert!(!other.allows("http://127.0.0.1/news/budget"), "the * group");
    assert!(rules("").allows("http://127.0.0.1/anything"));
}

#[test]
fn a_missing_robots_txt_allows_all_and_an_unreachable_one_disallows_all() {
    let allows = |fetched| Robots::from_fetch(fetched, "newsflow").allows("http://127.0.0.1/a");
    assert!(allows(Err(FetchError::Status(404))));
    assert!(allows(Err(FetchError::Status(403))));
    assert!(allows(Err(FetchError::Redirects)));
    assert!(!allows(Err(FetchError::Status(503))));
    assert!(!allows(Err(FetchError::Timeout(
        std::time::Duration::from_secs(1)
    ))));
    assert!(!allows(Err(FetchError::Transport("refused".into()))));
}

#[test]
fn only_raw_articles_with_a_short_body_and_a_web_address_want_their_page() {
    let url = "http://127.0.0.1/a";
    let long = format!("<p>{}</p>", "word ".repeat(200));
    let record = |body: &str| serde_json::json!({"id": "a", "body": body, "url": url});
    assert_eq!(wanted_page(&record("Short summary.")), Some(url));
    assert_eq!(wanted_page(&record("")), Some(url));
    assert_eq!(wanted_page(&record(&long)), None);
    // Markup does not make a teaser long.
    let teaser = format!("<p class=\"{}\">Short.</p>", "x".repeat(700));
    assert_eq!(wanted_page(&record(&teaser)), Some(url));
    let ninjs = serde_json::json!({"uri": "a", "body_text": "Short.", "url": url});
    assert_eq!(wanted_page(&ninjs), None);
    let no_web = serde_json::json!({"id": "a", "body": "", "url": "ftp://127.0.0.1/a"});
    assert_eq!(wanted_page(&no_web), None);
}

#[test]
fn pages_are_decoded_by_their_charset_and_must_be_html() {
    let latin1 = b"<p>Caf\xe9</p>";
    assert_eq!(
        html(latin1, Some("text/html; charset=\"ISO-8859-1\"")).unwrap(),
        "<p>Café</p>"
    );
    assert_eq!(
        html("<p>Café</p>".as_bytes(), Some("text/html")).unwrap(),
        "<p>Café</p>"
    );
    assert_eq!(html(b"<p/>", Some("TEXT/HTML")).unwrap(), "<p/>");
    let error = html(b"%PDF-1.4", Some("application/pdf")).unwrap_err();
    assert_eq!(error.kind(), "not_html");
}

#[test]
fn a_page_without_a_charset_header_is_decoded_by_its_meta_and_sniffed_when_untyped() {
    let page = b"<html><head><meta charset=\"windows-1252\"></head><body>Caf\xe9</body></html>";
    let text = html(page, Some("text/html")).unwrap();
    assert!(text.ends_with("<body>Caf\u{e9}</body></html>"), "{text}");
    let http_equiv =
        b"<html><meta http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-8859-1\"><p>\xe9t\xe9</p>";
    assert!(html(http_equiv, None)
        .unwrap()
        .ends_with("<p>\u{e9}t\u{e9}</p>"));
    // Served as bytes of no named kind: HTML only when it looks like it.
    assert!(html(page, Some("application/octet-stream")).is_ok());
    let error = html(b"PK\x03\x04 zip", Some("application/octet-stream")).unwrap_err();
    assert_eq!(error.kind(), "not_html");
    assert!(html(b"Just words.", None).is_err());
}

#[test]
fn the_robots_agent_is_the_user_agent_product() {
    assert_eq!(product_token("newsflow/0.1.0 (feed ingest)"), "newsflow");
    assert_eq!(product_token("Example-Bot/2"), "Example-Bot");
    assert_eq!(product_token("/odd"), "newsflow");
}
