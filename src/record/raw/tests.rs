use super::*;
use crate::record::DeadLetterReason;

const LIMIT: usize = 1 << 20;

#[test]
fn an_unreadable_timestamp_is_unknown_and_passed_through() {
    let a = article(br#"{"id":"x","body":"x","published_at":"1987-03-31T605:12:19Z"}"#);
    assert_eq!(a.published_at, None);
    assert_eq!(a.source_fields["published_at"], "1987-03-31T605:12:19Z");
}

#[test]
fn reads_rss_times_in_both_formats() {
    let a = article(br#"{"id":"x","body":"x","published_at":"Mon, 01 Jul 2024 09:00:00 +0100"}"#);
    assert_eq!(
        a.published_at.unwrap().to_rfc3339(),
        "2024-07-01T09:00:00+01:00"
    );
    assert!(!a.source_fields.contains_key("published_at"));
    let item =
        br#"{"uri":"u","bodies":[{"value":"x"}],"versioncreated":"Mon, 01 Jul 2024 09:00:00 EDT"}"#;
    let a = article(item);
    assert_eq!(
        a.published_at.unwrap().to_utc().to_rfc3339(),
        "2024-07-01T13:00:00+00:00"
    );
    // The ninjs timestamps pass through whether read or not.
    assert_eq!(
        a.source_fields["versioncreated"],
        "Mon, 01 Jul 2024 09:00:00 EDT"
    );
    let item = br#"{"uri":"u","bodies":[{"value":"x"}],"versioncreated":"Mon, 01 Jul 2024 09:00:00 CEST"}"#;
    let a = article(item);
    assert_eq!(a.published_at, None);
    assert_eq!(
        a.source_fields["versioncreated"],
        "Mon, 01 Jul 2024 09:00:00 CEST"
    );
}

/// The article `bytes` decode to.
fn article(bytes: &[u8]) -> RawArticle {
    match decode(bytes, LIMIT) {
        Ok(Input::Article(article)) => article,
        other => panic!("not an article: {other:?}"),
    }
}

fn reason(bytes: &[u8]) -> DeadLetterReason {
    decode(bytes, LIMIT).unwrap_err().reason()
}

#[test]
fn decodes_raw_article_and_keeps_unknown_fields() {
    let a = article(br#"{"id":"a1","body":"Hello.","title":"T","published_at":"2024-07-01T09:00:00+09:00","feed":"wire","tags":[1]}"#);
    assert_eq!(a.id, "a1");
    assert_eq!(a.title.as_deref(), Some("T"));
    assert_eq!(a.content_type, ContentType::Text);
    assert_eq!(
        a.published_at.unwrap().to_rfc3339(),
        "2024-07-01T09:00:00+09:00"
    );
    assert_eq!(a.source_fields.get("feed"), Some(&Value::from("wire")));
    assert!(a.source_fields.contains_key("tags"));
    assert!(!a.source_fields.contains_key("id"));
}

#[test]
fn sniffs_html_when_content_type_is_absent() {
    let a = article(br#"{"id":"a","body":"<html><body><p>Hi</p></body></html>"}"#);
    assert_eq!(a.content_type, ContentType::Html);
    let a = article(br#"{"id":"a","body":"Prices rose 3% < 5% expected."}"#);
    assert_eq!(a.content_type, ContentType::Text);
}

#[test]
fn maps_ninjs_2_items() {
    let item = br#"{"uri":"urn:newsml:example.com:2024:1","versioncreated":"2024-07-01T10:00:00Z",
        "language":"en","headlines":[{"role":"main","value":"Summit opens"}],
        "bodies":[{"role":"main","contenttype":"text/html","value":"<p>Leaders met.</p>"}],
        "subjects":[{"uri":"medtop:11000000"}]}"#;
    let a = article(item);
    assert_eq!(a.format, InputFormat::Ninjs);
    assert_eq!(a.id, "urn:newsml:example.com:2024:1");
    assert_eq!(a.title.as_deref(), Some("Summit opens"));
    assert_eq!(a.body, "<p>Leaders met.</p>");
    assert_eq!(a.content_type, ContentType::Html);
    assert_eq!(a.language.as_deref(), Some("en"));
    assert!(a.published_at.is_some());
    assert!(a.source_fields.contains_key("subjects"));
}

#[test]
fn rejects_each_class_of_bad_record_with_its_reason() {
    assert_eq!(reason(b""), DeadLetterReason::Empty);
    assert_eq!(reason(b" \n"), DeadLetterReason::Empty);
    assert_eq!(reason(b"\xff\xfe{}"), DeadLetterReason::InvalidUtf8);
    assert_eq!(reason(b"{not json"), DeadLetterReason::InvalidJson);
    assert_eq!(reason(b"[1,2]"), DeadLetterReason::SchemaViolation);
    assert_eq!(
        reason(br#"{"body":"x"}"#),
        DeadLetterReason::SchemaViolation
    );
    assert_eq!(reason(br#"{"id":"x"}"#), DeadLetterReason::SchemaViolation);
    assert_eq!(
        reason(br#"{"id":7,"body":"x"}"#),
        DeadLetterReason::SchemaViolation
    );
    assert_eq!(
        reason(br#"{"id":"x","body":"x","published_at":7}"#),
        DeadLetterReason::SchemaViolation
    );
    assert_eq!(
        reason(br#"{"id":"x","body":"x","content_type":"image/png"}"#),
        DeadLetterReason::SchemaViolation
    );
    let big = format!(r#"{{"id":"x","body":"{}"}}"#, "a".repeat(100));
    assert_eq!(
        decode(big.as_bytes(), 50).unwrap_err().reason(),
        DeadLetterReason::TooLarge
    );
}

#[test]
fn ids_must_be_visible_and_free_of_control_characters() {
    for id in [
        r#""a\u0000b""#,
        r#""line\nbreak""#,
        r#""x\u202Egnp.exe""#,
        r#""\u200B\u00AD ""#,
    ] {
        let record = format!(r#"{{"id":{id},"body":"x"}}"#);
        let error = decode(record.as_bytes(), LIMIT).unwrap_err();
        assert_eq!(error.reason(), DeadLetterReason::SchemaViolation, "{id}");
        assert!(error.to_string().contains("`id`"), "{error}");
    }
    let ninjs = r#"{"uri":"urn:\u0007","bodies":[{"value":"x"}]}"#;
    assert!(decode(ninjs.as_bytes(), LIMIT).is_err());
    // Joiners inside a word are writing, not hiding: "می‌خواهم".
    assert!(decode(
        "{\"id\":\"می\u{200C}خواهم\",\"body\":\"x\"}".as_bytes(),
        LIMIT
    )
    .is_ok());
}

#[test]
fn duplicate_keys_are_refused_at_any_depth() {
    for record in [
        r#"{"id":"a","body":"x","id":"b"}"#,
        r#"{"id":"a","body":"x","meta":{"k":1,"k":2}}"#,
        r#"{"id":"a","body":"x","list":[{"k":1,"k":1}]}"#,
    ] {
        let error = decode(record.as_bytes(), LIMIT).unwrap_err();
        assert_eq!(error.reason(), DeadLetterReason::InvalidJson, "{record}");
        assert!(error.to_string().contains("duplicate key"), "{error}");
    }
    let a = article(br#"{"id":"a","body":"x","n":[1,-2,2.5,null,true,{"k":"v"}]}"#);
    assert_eq!(
        a.source_fields["n"],
        serde_json::json!([1, -2, 2.5, null, true, {"k": "v"}])
    );
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let a = article("\u{FEFF}{\"id\":\"a\",\"body\":\"x\"}".as_bytes());
    assert_eq!(a.id, "a");
    assert_eq!(reason("\u{FEFF}".as_bytes()), DeadLetterReason::Empty);
}

#[test]
fn the_format_follows_the_body_fields() {
    // A uri beside an id and no body of either kind: a raw article without its body.
    let error = decode(br#"{"id":"a","uri":"u"}"#, LIMIT).unwrap_err();
    assert_eq!(error.to_string(), "missing required field `body`");
    // A ninjs body makes it ninjs, keyed by its uri; the id passes through.
    let a = article(br#"{"id":"a","uri":"u","body_text":"x"}"#);
    assert_eq!((a.format, a.id.as_str()), (InputFormat::Ninjs, "u"));
    assert_eq!(a.source_fields["id"], "a");
    // A uri alone is a ninjs item without its body.
    let error = decode(br#"{"uri":"u"}"#, LIMIT).unwrap_err();
    assert_eq!(error.to_string(), "missing required field `bodies`");
    // `body` always makes a raw article.
    let a = article(br#"{"id":"a","uri":"u","body":"x","bodies":[]}"#);
    assert_eq!((a.format, a.id.as_str()), (InputFormat::RawArticle, "a"));
}

#[test]
fn error_messages_name_the_field() {
    let err = decode(br#"{"id":"x","body":5}"#, LIMIT).unwrap_err();
    assert_eq!(err.to_string(), "field `body` must be a string");
    let err = decode(br#"{"body":"x"}"#, LIMIT).unwrap_err();
    assert_eq!(err.to_string(), "missing required field `id`");
}
