//! The JSON Schemas in schemas/ describe what newsflow really reads and writes: real
//! inputs (the sample feed, the seed) validate as raw articles, and the records the
//! pipeline makes from them validate as enriched articles, events and dead letters.
//! Where the decoder rejects a record, the raw-article schema rejects it too.

use std::sync::{Arc, OnceLock};

use crate::support::repo_path;
use crate::support::schema::{assert_valid, validator};
use newsflow::batch::{process, BatchSettings};
use newsflow::record::{
    decode, ArticleVersion, EnrichedArticle, EventRecord, InputFormat, Kill, KillLine, KillMarker,
    PubStatus, SupersededLine,
};
use newsflow::stage::{Enrichment, Pipeline, Reference};
use serde_json::{json, Value};

/// The good records of the sample feed (it also holds two broken ones, for the demo's
/// dead-letter path), and the seed.
fn inputs() -> Vec<String> {
    let feed = std::fs::read_to_string(repo_path("data/sample-feed.jsonl")).expect("feed");
    let seed = std::fs::read_to_string(repo_path("tests/golden/seed/article.json")).expect("seed");
    let inputs: Vec<String> = feed
        .lines()
        .filter(|l| decode(l.as_bytes(), usize::MAX).is_ok())
        .map(str::to_owned)
        .chain([seed])
        .collect();
    assert!(inputs.len() >= 15, "the sample feed lost its records");
    inputs
}

/// The standard pipeline, its reference data loaded once for the binary's tests.
fn pipeline() -> &'static Pipeline {
    static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| Pipeline::standard(Arc::new(Reference::load())))
}

/// The sample feed's good records and the seed, through the standard pipeline.
pub fn enriched_inputs() -> Vec<EnrichedArticle> {
    let pipeline = pipeline();
    inputs()
        .iter()
        .map(|line| {
            pipeline
                .enrich(line.as_bytes(), usize::MAX)
                .ok()
                .and_then(Enrichment::into_article)
                .expect("enriched")
        })
        .collect()
}

#[test]
fn every_schema_file_is_a_valid_schema() {
    for name in [
        "raw-article.v1.json",
        "enriched-article.v1.json",
        "event.v1.json",
        "event-aggregate.v1.json",
        "dead-letter.v1.json",
        "ninjs-2.2.schema.json",
        "ninjs-newsflow.v1.json",
    ] {
        validator(name);
    }
}

#[test]
fn sample_inputs_are_valid_raw_articles() {
    let raw = validator("raw-article.v1.json");
    for line in inputs() {
        let value: Value = serde_json::from_str(&line).expect("input JSON");
        assert_valid(&raw, &value, &format!("input {}", &value["id"]));
    }
}

#[test]
fn enriched_articles_match_their_schema() {
    let enriched = validator("enriched-article.v1.json");
    for article in enriched_inputs() {
        let value = serde_json::to_value(&article).expect("serialise");
        assert_valid(&enriched, &value, &format!("enriched {}", article.id));
    }
}

#[test]
fn dates_from_a_publication_time_at_the_end_of_the_calendar_match_the_schema() {
    let record = json!({
        "id": "far-future",
        "published_at": "9999-12-28T00:00:00Z",
        "body": "President Xi Jinping and President Vladimir Putin will meet in Moscow next \
                 week, the Kremlin said. They met on Tuesday and on January 3.",
    });
    let article = pipeline()
        .enrich(record.to_string().as_bytes(), usize::MAX)
        .ok()
        .and_then(Enrichment::into_article)
        .expect("enriched");
    assert!(!article.events.is_empty(), "the meeting is an event");
    let value = serde_json::to_value(&article).expect("serialise");
    assert_valid(
        &validator("enriched-article.v1.json"),
        &value,
        "far-future article",
    );
    for event in EventRecord::all_of(&article) {
        let value = serde_json::to_value(&event).expect("serialise");
        assert_valid(&validator("event.v1.json"), &value, "far-future event");
    }
}

#[test]
fn event_records_match_their_schema() {
    let schema = validator("event.v1.json");
    let records: Vec<EventRecord> = enriched_inputs()
        .iter()
        .flat_map(EventRecord::all_of)
        .collect();
    assert!(!records.is_empty(), "the inputs report events");
    assert!(
        records
            .iter()
            .any(|r| r.event.actor_details.iter().any(|a| a.sector.is_some())),
        "some event names its actor's sector"
    );
    for record in &records {
        let value = serde_json::to_value(record).expect("serialise");
        assert_valid(&schema, &value, &format!("event of {}", record.article_id));
    }
}

#[test]
fn kill_lines_and_kill_markers_match_their_schemas() {
    let kill = Kill {
        id: "urn:newsml:example.com:2024:9".to_owned(),
        status: PubStatus::Canceled,
        format: InputFormat::Ninjs,
    };
    let line = serde_json::to_value(KillLine::of(&kill)).unwrap();
    assert_valid(&validator("enriched-article.v1.json"), &line, "kill line");
    let marker = serde_json::to_value(KillMarker::of(&kill)).unwrap();
    assert_valid(&validator("event.v1.json"), &marker, "kill marker");
    // Without `killed`, neither passes for what it is not.
    let mut line = line;
    line.as_object_mut().unwrap().remove("killed");
    assert!(!validator("enriched-article.v1.json").is_valid(&line));
}

#[test]
fn superseded_lines_and_embargoed_articles_match_their_schema() {
    let stale = ArticleVersion {
        id: "urn:newsml:example.com:2024:9".to_owned(),
        format: InputFormat::Ninjs,
        version: Some("2".to_owned()),
        created: chrono::DateTime::parse_from_rfc3339("2024-07-01T10:00:00Z").ok(),
    };
    let enriched = validator("enriched-article.v1.json");
    let line = serde_json::to_value(SupersededLine::of(&stale)).unwrap();
    assert_valid(&enriched, &line, "superseded line");
    let mut line = line;
    line.as_object_mut().unwrap().remove("superseded");
    assert!(!enriched.is_valid(&line), "an article without its parts");

    let record = json!({
        "id": "embargoed-1",
        "body": "China and Russia held a summit in Moscow on May 16.",
        "published_at": "2024-07-01T09:00:00Z",
        "embargoed": "2100-01-01T06:00:00+01:00",
    });
    let article = pipeline()
        .enrich(record.to_string().as_bytes(), usize::MAX)
        .ok()
        .and_then(Enrichment::into_article)
        .expect("enriched");
    let value = serde_json::to_value(&article).unwrap();
    assert_eq!(value["embargoed"], "2100-01-01T06:00:00+01:00");
    assert_valid(&enriched, &value, "embargoed article");
}

#[test]
fn dead_letters_match_their_schema() {
    let input: &[u8] =
        b"{\"id\":\"a\",\"body\":42}\nnot json\n\xff\xfe\n{\"id\":\"ok\",\"body\":\"fine\"}\n";
    let (mut enriched, mut dead) = (Vec::new(), Vec::new());
    let summary = process(
        pipeline(),
        input,
        "in.jsonl",
        &mut enriched,
        &mut dead,
        &BatchSettings {
            threads: 1,
            max_record_bytes: 1 << 20,
            include_text: false,
            max_versions_tracked: 1000,
        },
    )
    .expect("process");
    assert_eq!(summary.dead_letters, 3);
    let schema = validator("dead-letter.v1.json");
    let letters: Vec<Value> = String::from_utf8(dead)
        .expect("dead letters are UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("dead-letter JSON"))
        .collect();
    assert_eq!(letters.len(), 3);
    for letter in &letters {
        assert_valid(&schema, letter, &format!("dead letter {letter}"));
    }
    assert!(letters[2]["record_base64"].is_string());
}

#[test]
fn the_raw_schema_rejects_what_the_decoder_rejects() {
    let raw = validator("raw-article.v1.json");
    let cases = [
        json!({"body": "no id"}),
        json!({"id": "x"}),
        json!({"id": "", "body": "empty id"}),
        json!({"id": "x", "body": 42}),
        json!({"id": "x", "body": "b", "title": 7}),
        json!({"id": "x", "body": "b", "content_type": "application/pdf"}),
        json!({"id": "x", "body": "b", "pubstatus": "killed"}),
        json!({"pubstatus": "canceled", "bodies": [{"value": "ninjs without its uri"}]}),
        json!({"id": "x\u{7}", "pubstatus": "withheld"}),
        json!({"id": "x", "body": "b", "embargoed": 1_900_000_000}),
        json!(["not", "an", "object"]),
        json!({"uri": "urn:x", "bodies": []}),
        json!({"id": "a\u{0}b", "body": "control character in the id"}),
        json!({"id": "x\u{202E}fdp.exe", "body": "bidi override in the id"}),
        json!({"id": "\u{200B}\u{FEFF} ", "body": "nothing visible in the id"}),
        json!({"uri": "urn:\u{7}", "body_text": "control character in the uri"}),
    ];
    for case in cases {
        let bytes = serde_json::to_vec(&case).unwrap();
        assert!(
            decode(&bytes, usize::MAX).is_err(),
            "decoder accepts {case}"
        );
        assert!(!raw.is_valid(&case), "schema accepts {case}");
    }
    let accepted = [
        json!({"id": "x", "body": "b", "extra": {"kept": true}}),
        json!({"id": "x", "body": "<p>b</p>", "content_type": "text/html; charset=utf-8", "published_at": null}),
        json!({"uri": "urn:x", "headlines": [{"value": "T"}], "bodies": [{"role": "main", "contenttype": "text/plain", "value": "b"}]}),
        json!({"id": "می\u{200C}خواهم", "body": "a joiner inside a word"}),
        json!({"id": "a", "uri": "u", "body_text": "ninjs keyed by its uri"}),
        json!({"id": "x", "body": "b", "pubstatus": "usable"}),
        json!({"id": "x", "pubstatus": "canceled"}),
        json!({"uri": "urn:x", "pubstatus": "withheld", "versioncreated": "2024-07-01T10:00:00Z"}),
        json!({"id": "x", "body": "b", "embargoed": "2100-01-01T00:00:00Z", "version": 3}),
        json!({"uri": "urn:x", "bodies": [{"value": "b"}], "embargoed": null, "version": "2"}),
    ];
    for case in accepted {
        let bytes = serde_json::to_vec(&case).unwrap();
        assert!(decode(&bytes, usize::MAX).is_ok(), "decoder rejects {case}");
        assert_valid(&raw, &case, "accepted case");
    }
}
