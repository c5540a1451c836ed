use super::*;
use crate::record::{decode, ContentType, Input, InputFormat};

fn spec() -> FeedSpec {
    FeedSpec {
        source: Some("Example Wire".into()),
        tags: vec!["wire".into()],
        ..FeedSpec::new("http://127.0.0.1/feed")
    }
}

const RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Example</title><link>http://127.0.0.1/</link><language>en-GB</language>
<item>
  <title>Parliament passes the budget</title>
  <link>http://127.0.0.1/news/budget</link>
  <guid isPermaLink="false">budget-2024</guid>
  <pubDate>Mon, 01 Jul 2024 09:00:00 +0100</pubDate>
  <dc:creator>Jane Smith</dc:creator>
  <category>Politics</category>
  <description>The budget passed.</description>
  <content:encoded><![CDATA[<p>The budget passed by 300 votes to 200.</p>]]></content:encoded>
</item>
<item>
  <title>Only a summary</title>
  <link>http://127.0.0.1/news/summary</link>
  <pubDate>Tue, 2 Jul 2024 18:30 GMT</pubDate>
  <description>Short text.</description>
</item>
<item><description>Neither link nor title nor guid.</description></item>
</channel></rss>"#;

#[test]
fn rss_items_become_raw_articles_with_their_offset_read() {
    let (records, without_id) = records(RSS.as_bytes(), &spec()).unwrap();
    assert_eq!((records.len(), without_id), (2, 1));
    let first = &records[0];
    assert_eq!(first["id"], "budget-2024");
    assert_eq!(first["title"], "Parliament passes the budget");
    assert_eq!(first["url"], "http://127.0.0.1/news/budget");
    assert_eq!(first["content_type"], "text/html");
    assert_eq!(
        first["body"],
        "<p>The budget passed by 300 votes to 200.</p>"
    );
    // 09:00 at +01:00 is 08:00 UTC.
    assert_eq!(first["published_at"], "2024-07-01T08:00:00Z");
    assert_eq!(first["authors"], serde_json::json!(["Jane Smith"]));
    assert_eq!(first["categories"], serde_json::json!(["Politics"]));
    assert_eq!(first["language"], "en");
    assert_eq!(first["source"], "Example Wire");
    assert_eq!(first["tags"], serde_json::json!(["wire"]));
    // Without a guid the link is the id; a summary is the body.
    assert_eq!(records[1]["id"], "http://127.0.0.1/news/summary");
    assert_eq!(records[1]["body"], "Short text.");
    assert_eq!(records[1]["published_at"], "2024-07-02T18:30:00Z");

    let article = decode(first.to_string().as_bytes(), usize::MAX)
        .ok()
        .and_then(Input::into_article)
        .unwrap();
    assert_eq!(article.content_type, ContentType::Html);
    assert_eq!(
        article.published_at.unwrap().to_rfc3339(),
        "2024-07-01T08:00:00+00:00"
    );
}

#[test]
fn atom_entries_use_their_content_and_escaped_titles_lose_their_markup() {
    let atom = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr">
  <title>Exemple</title><id>urn:feed</id><updated>2024-07-01T10:00:00+02:00</updated>
  <entry>
    <title type="html">Le &lt;em&gt;budget&lt;/em&gt; adopté</title>
    <id>urn:article:1</id>
    <link href="http://127.0.0.1/fr/1"/>
    <updated>2024-07-01T10:00:00+02:00</updated>
    <author><name>Marie Curie</name></author>
    <summary>Résumé.</summary>
    <content type="html">&lt;p&gt;Le texte entier.&lt;/p&gt;</content>
  </entry>
</feed>"#;
    let (records, _) = records(atom.as_bytes(), &spec()).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["id"], "urn:article:1");
    assert_eq!(records[0]["title"], "Le budget adopté");
    assert_eq!(records[0]["body"], "<p>Le texte entier.</p>");
    assert_eq!(records[0]["published_at"], "2024-07-01T08:00:00Z");
    assert_eq!(records[0]["language"], "fr");
}

#[test]
fn json_feed_items_are_read() {
    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J",
        "items":[{"id":"j1","url":"http://127.0.0.1/j1","title":"Storm closes schools",
        "content_text":"Schools closed on Monday.","date_published":"2024-07-01T09:00:00-04:00"}]}"#;
    let (records, _) = records(json.as_bytes(), &spec()).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["id"], "j1");
    assert_eq!(records[0]["body"], "Schools closed on Monday.");
    assert_eq!(records[0]["content_type"], "text/plain");
    assert_eq!(records[0]["published_at"], "2024-07-01T13:00:00Z");
}

#[test]
fn ninjs_items_pass_through_with_the_feed_fields_added() {
    let list = r#"{"items":[
        {"uri":"urn:ninjs:1","headline":"One","body_text":"First.","pubstatus":"usable"},
        {"uri":"urn:ninjs:2","headline":"Two","body_text":"Second.","source":"Agency"}]}"#;
    let (records, _) = records(list.as_bytes(), &spec()).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["pubstatus"], "usable");
    assert_eq!(records[0]["source"], "Example Wire");
    assert_eq!(
        records[1]["source"], "Agency",
        "the item's own source stays"
    );
    let article = decode(records[1].to_string().as_bytes(), usize::MAX)
        .ok()
        .and_then(Input::into_article)
        .unwrap();
    assert_eq!(article.format, InputFormat::Ninjs);
    assert_eq!(article.id, "urn:ninjs:2");
}

#[test]
fn documents_that_are_no_feed_are_refused() {
    for document in [
        "<html><body>Not a feed</body></html>",
        "<rss><channel><item><title>cut off",
        "{\"not\": \"a feed\"}",
        "",
        "\u{0}\u{1}binary",
    ] {
        assert!(
            records(document.as_bytes(), &spec()).is_err(),
            "{document:?} was read"
        );
    }
}

#[test]
fn a_format_hint_refuses_a_document_of_another_kind() {
    let hinted = |format| FeedSpec { format, ..spec() };
    assert!(records(RSS.as_bytes(), &hinted(FeedFormat::Rss)).is_ok());
    for format in [FeedFormat::Atom, FeedFormat::JsonFeed, FeedFormat::Ninjs] {
        let error = records(RSS.as_bytes(), &hinted(format)).unwrap_err();
        assert!(
            matches!(error, FeedError::NotTheDeclaredFormat { expected, .. } if expected == format),
            "{format}: {error}"
        );
    }
    let ninjs = r#"[{"uri":"urn:ninjs:1","body_text":"Text."}]"#;
    assert!(records(ninjs.as_bytes(), &hinted(FeedFormat::Ninjs)).is_ok());
    assert!(records(ninjs.as_bytes(), &hinted(FeedFormat::JsonFeed)).is_err());
}

/// Feeds in other encodings than UTF-8 declare it in the XML prolog; the text comes out
/// as UTF-8 all the same.
#[test]
fn a_latin1_feed_is_read_in_its_declared_encoding() {
    let mut document = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\
        <rss version=\"2.0\"><channel><title>M\xe9t\xe9o</title><item><guid>l1</guid>\
        <title>Temp\xeate sur la c\xf4te</title><description>Les \xe9coles ferment.</description>\
        </item></channel></rss>"
        .to_vec();
    let (items, _) = records(&document, &spec()).unwrap();
    assert_eq!(items[0]["title"], "Tempête sur la côte");
    assert_eq!(items[0]["body"], "Les écoles ferment.");
    // The same bytes declared as UTF-8 are not valid UTF-8: refused, never mangled.
    document.splice(30..40, b"UTF-8".iter().copied());
    assert!(records(&document, &spec()).is_err());
}
