//! The enriched article as an IPTC ninjs 2.2 news item (schemas/ninjs-2.2.schema.json), for
//! consumers that read ninjs rather than newsflow's own record.
//!
//! ninjs 2.x admits no property it does not name, so [`to_ninjs`] writes plain ninjs: what
//! has no ninjs property (event details, quotes, country scores) is left out.
//! [`to_ninjs_with_extensions`] adds the events and quotes in full as `nf_events` and
//! `nf_quotes`, valid against newsflow's extension schema (schemas/ninjs-newsflow.v1.json),
//! which its `standard` property names. docs/records.md describes the mapping.

use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde_json::{json, Map, Value};

use super::{parse_timestamp, EnrichedArticle, Entity, EntityType, Event};
use crate::stage::classify::regions::Datelines;

/// The ninjs version written, and the schema that defines it (its `$id`).
pub const NINJS_VERSION: &str = "2.2";
pub const NINJS_SCHEMA_URI: &str = "http://www.iptc.org/std/ninjs/ninjs-schema_2.2.json";
/// newsflow's extension of ninjs 2.2, for documents with `nf_events` and `nf_quotes`.
pub const EXTENSION_SCHEMA_URI: &str = "https://newsflow.invalid/schemas/ninjs-newsflow.v1.json";

/// The `uri` of an article whose id is not a URI: the id, percent-encoded, after this.
pub const ARTICLE_URN_PREFIX: &str = "urn:newsflow:article:";
/// The `uri` of an event: its fingerprint after this, so articles about one event share it.
pub const EVENT_URN_PREFIX: &str = "urn:newsflow:event:";
/// IPTC Media Topics, the vocabulary of `topics[].qcode` (`medtop:11000000`).
const MEDIA_TOPIC_QCODE_PREFIX: &str = "medtop:";
const MEDIA_TOPIC_URI_BASE: &str = "http://cv.iptc.org/newscodes/mediatopic/";
/// ISO 3166-1 alpha-2 as the IPTC catalogue names it (scheme alias `iso3166-1a2`).
const COUNTRY_URI_BASE: &str = "http://cvx.iptc.org/iso3166-1a2/";
/// UN M49 has no URI per region: its codes go in `literal` with this prefix.
const M49_LITERAL_PREFIX: &str = "m49:";
/// Who assigned the subjects, in ninjs `creator`.
const CREATOR: &str = "newsflow";

/// The article as a ninjs 2.2 document, valid against the IPTC schema.
pub fn to_ninjs(article: &EnrichedArticle) -> Value {
    let clean = &article.clean;
    let mut doc = Map::new();
    doc.insert("uri".into(), article_uri(&article.id).into());
    doc.insert("type".into(), "text".into());
    doc.insert(
        "standard".into(),
        json!({ "name": "ninjs", "version": NINJS_VERSION, "schema": NINJS_SCHEMA_URI }),
    );
    if let Some(version) = source_version(article) {
        doc.insert("version".into(), version.into());
    }
    for (field, time) in timestamps(article) {
        doc.insert(field.into(), time.into());
    }
    insert_some(
        &mut doc,
        "embargoed",
        article
            .embargoed
            .map(|until| until.to_rfc3339_opts(SecondsFormat::AutoSi, true).into()),
    );
    insert_some(
        &mut doc,
        "language",
        clean.language.clone().map(Value::from),
    );
    insert_some(
        &mut doc,
        "headlines",
        clean
            .title
            .as_ref()
            .map(|title| json!([{ "role": "main", "value": title }])),
    );
    if !clean.credits.is_empty() {
        doc.insert("by".into(), clean.credits.join(", ").into());
    }
    insert_some(
        &mut doc,
        "located",
        located(&clean.paragraphs).map(Value::from),
    );
    insert_some(
        &mut doc,
        "bodies",
        bodies(&clean.paragraphs, clean.word_count),
    );
    insert_list(&mut doc, "subjects", subjects(article));
    insert_list(&mut doc, "places", places(article));
    insert_list(
        &mut doc,
        "people",
        named(&article.entities, EntityType::Person),
    );
    insert_list(
        &mut doc,
        "organisations",
        named(&article.entities, EntityType::Organization),
    );
    insert_list(
        &mut doc,
        "events",
        article.events.iter().map(event).collect(),
    );
    insert_some(
        &mut doc,
        "infosources",
        article
            .source
            .as_ref()
            .map(|source| json!([{ "name": source }])),
    );
    insert_some(
        &mut doc,
        "altids",
        article
            .url
            .as_ref()
            .map(|url| json!([{ "role": "url", "value": url }])),
    );
    Value::Object(doc)
}

/// [`to_ninjs`] with the events and quotes in full (`nf_events`, `nf_quotes`), valid against
/// newsflow's extension schema, which `standard` then names instead of plain ninjs.
pub fn to_ninjs_with_extensions(article: &EnrichedArticle) -> Value {
    let mut doc = to_ninjs(article);
    if let Value::Object(fields) = &mut doc {
        fields.insert(
            "standard".into(),
            json!({ "name": "ninjs-newsflow", "version": "1", "schema": EXTENSION_SCHEMA_URI }),
        );
        fields.insert("nf_events".into(), json!(article.events));
        fields.insert("nf_quotes".into(), json!(article.quotes));
    }
    doc
}

/// The id when it is already an absolute URI; otherwise a URN that holds it percent-encoded,
/// so the id can always be read back from the `uri`.
pub fn article_uri(id: &str) -> String {
    if is_absolute_uri(id) {
        id.to_owned()
    } else {
        format!("{ARTICLE_URN_PREFIX}{}", percent_encode(id))
    }
}

/// An RFC 3986 absolute URI: a scheme, a colon, then only characters a URI may hold, a
/// percent sign only before two hex digits and at most one `#`. Brackets (IPv6 hosts only)
/// are refused: an id is not a host.
fn is_absolute_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let bytes = rest.as_bytes();
    let chars_ok = bytes.iter().enumerate().all(|(i, &b)| match b {
        b'%' => bytes
            .get(i + 1..i + 3)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)),
        _ => is_unreserved(b) || b"!$&'()*+,;=:@/?#".contains(&b),
    });
    scheme_ok && !rest.is_empty() && chars_ok && rest.matches('#').count() <= 1
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Every byte but the unreserved ones as `%XX`: safe in any part of a URI.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if is_unreserved(b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A ninjs input's `version`, passed through; other inputs have none.
fn source_version(article: &EnrichedArticle) -> Option<String> {
    match article.source_fields.get("version")? {
        Value::String(version) => Some(version.clone()),
        Value::Number(version) => Some(version.to_string()),
        _ => None,
    }
}

/// The ninjs timestamps an input gave (a ninjs item's, passed through in `source_fields`),
/// in RFC 3339; `firstcreated` is otherwise the publication time. `contentcreated` is when
/// the content was made (an old photograph's date), which a publication time does not say.
fn timestamps(article: &EnrichedArticle) -> Vec<(&'static str, String)> {
    let rfc3339 = |time: DateTime<FixedOffset>| time.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    ["firstcreated", "versioncreated", "contentcreated"]
        .into_iter()
        .filter_map(|field| {
            let given = article
                .source_fields
                .get(field)
                .and_then(Value::as_str)
                .and_then(parse_timestamp);
            let time = match field {
                "firstcreated" => given.or(article.published_at),
                _ => given,
            };
            time.map(|t| (field, rfc3339(t)))
        })
        .collect()
}

/// The dateline's place, when the first paragraph opens with one.
fn located(paragraphs: &[String]) -> Option<String> {
    static DATELINES: OnceLock<Datelines> = OnceLock::new();
    let first = paragraphs.first()?;
    DATELINES
        .get_or_init(Datelines::default)
        .place(first)
        .map(str::to_owned)
}

/// The paragraphs as plain text (blank lines between them) and as HTML (one `<p>` each),
/// both in the role `main`; the plain text first, which is what newsflow reads back.
fn bodies(paragraphs: &[String], word_count: usize) -> Option<Value> {
    if paragraphs.is_empty() {
        return None;
    }
    let text = paragraphs.join("\n\n");
    let html: String = paragraphs
        .iter()
        .map(|p| format!("<p>{}</p>", escape_html(p)))
        .collect::<Vec<_>>()
        .join("\n");
    let charcount = text.chars().count();
    Some(json!([
        { "role": "main", "contenttype": "text/plain", "charcount": charcount, "wordcount": word_count, "value": text },
        { "role": "main", "contenttype": "text/html", "charcount": charcount, "wordcount": word_count, "value": html },
    ]))
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// Media Topics, with the model's probability as ninjs `confidence` (0-100).
fn subjects(article: &EnrichedArticle) -> Vec<Value> {
    article
        .topics
        .iter()
        .map(|topic| {
            let mut subject = json!({
                "name": topic.name,
                "literal": topic.qcode,
                "creator": CREATOR,
                "confidence": percent(topic.score),
            });
            if let Some(code) = topic.qcode.strip_prefix(MEDIA_TOPIC_QCODE_PREFIX) {
                subject["uri"] = format!("{MEDIA_TOPIC_URI_BASE}{code}").into();
            }
            subject
        })
        .collect()
}

/// A score in 0..=1 as a whole percentage; out-of-range scores are clamped, not refused.
fn percent(score: f64) -> u8 {
    // Clamped to 0..=100 first, so the cast cannot truncate.
    (score.clamp(0.0, 1.0) * 100.0).round() as u8
}

/// Countries (ISO 3166-1 alpha-2), their UN M49 sub-regions, then the places the entity
/// stage found that are not one of those countries by name.
fn places(article: &EnrichedArticle) -> Vec<Value> {
    let regions = &article.regions;
    let countries = regions.countries.iter().map(|country| {
        json!({
            "name": country.name,
            "literal": country.code,
            "uri": format!("{COUNTRY_URI_BASE}{}", country.code),
        })
    });
    let subregions = regions.subregions.iter().map(|subregion| {
        json!({
            "name": subregion.name,
            "literal": format!("{M49_LITERAL_PREFIX}{}", subregion.code),
        })
    });
    let is_country = |name: &str| {
        regions
            .countries
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(name))
    };
    let locations = named(&article.entities, EntityType::Location)
        .into_iter()
        .filter(|place| !place["name"].as_str().is_some_and(is_country));
    countries.chain(subregions).chain(locations).collect()
}

fn named(entities: &[Entity], kind: EntityType) -> Vec<Value> {
    entities
        .iter()
        .filter(|entity| entity.kind == kind)
        .map(|entity| json!({ "name": entity.text }))
        .collect()
}

/// An event as ninjs can hold one: a name and its fingerprint as identifier.
fn event(event: &Event) -> Value {
    let mut name = format!("{}: {}", event.plover, event.actors.join(", "));
    if !event.targets.is_empty() {
        name = format!("{name} → {}", event.targets.join(", "));
    }
    json!({
        "name": name,
        "literal": event.fingerprint,
        "uri": format!("{EVENT_URN_PREFIX}{}", percent_encode(&event.fingerprint)),
    })
}

fn insert_some(doc: &mut Map<String, Value>, field: &str, value: Option<Value>) {
    if let Some(value) = value {
        doc.insert(field.into(), value);
    }
}

fn insert_list(doc: &mut Map<String, Value>, field: &str, items: Vec<Value>) {
    if !items.is_empty() {
        doc.insert(field.into(), Value::Array(items));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Country, Modality, Quote, Subregion, Topic};

    fn article() -> EnrichedArticle {
        let mut article = EnrichedArticle {
            id: "wire-0001".into(),
            published_at: parse_timestamp("2024-03-04T09:00:00+09:00"),
            source: Some("Newswire".into()),
            ..EnrichedArticle::default()
        };
        article.clean.title = Some("Japan and Australia sign defence pact".into());
        article.clean.paragraphs = vec![
            "TOKYO, March 4 (Newswire) - Japan and Australia signed a pact.".into(),
            "Tariffs <rose> & fell.".into(),
        ];
        article.clean.word_count = 13;
        article.clean.language = Some("en".into());
        article.clean.credits = vec!["Jane Doe".into(), "Newswire".into()];
        article.regions.countries = vec![Country {
            code: "JP".into(),
            name: "Japan".into(),
            score: 0.9,
            mentions: 3,
            evidence: vec![],
        }];
        article.regions.subregions = vec![Subregion {
            name: "Eastern Asia".into(),
            code: "030".into(),
            score: 0.9,
        }];
        article.topics = vec![Topic {
            qcode: "medtop:11000000".into(),
            name: "politics and government".into(),
            score: 0.876,
            parent: None,
            evidence: vec![],
        }];
        article.entities = vec![
            entity("Fumio Kishida", EntityType::Person),
            entity("NATO", EntityType::Organization),
            entity("japan", EntityType::Location),
            entity("Canberra", EntityType::Location),
        ];
        article.quotes = vec![Quote {
            speaker: Some("Kishida".into()),
            text: "A landmark agreement.".into(),
        }];
        article.events = vec![Event {
            plover: "AGREE".into(),
            cameo: "057".into(),
            actors: vec!["JPN".into()],
            targets: vec!["AUS".into()],
            actor_details: vec![],
            target_details: vec![],
            location: None,
            date_start: Some("2024-03-04".into()),
            date_end: None,
            modality: Modality::Occurred,
            sentence: "Japan and Australia signed a pact.".into(),
            confidence: 0.8,
            fingerprint: "00ff00ff00ff00ff".into(),
        }];
        article
    }

    fn entity(text: &str, kind: EntityType) -> Entity {
        Entity {
            text: text.into(),
            kind,
            mentions: 1,
        }
    }

    #[test]
    fn an_id_that_is_not_a_uri_becomes_a_urn_that_keeps_it() {
        assert_eq!(article_uri("wire-0001"), "urn:newsflow:article:wire-0001");
        assert_eq!(
            article_uri("feed item/7 ü"),
            "urn:newsflow:article:feed%20item%2F7%20%C3%BC"
        );
        // A colon alone does not make a URI: the scheme and the rest must be well formed.
        assert_eq!(article_uri("x:"), "urn:newsflow:article:x%3A");
        assert_eq!(article_uri("1:a"), "urn:newsflow:article:1%3Aa");
        assert_eq!(article_uri("C:\\news"), "urn:newsflow:article:C%3A%5Cnews");
        assert_eq!(article_uri("a:100%"), "urn:newsflow:article:a%3A100%25");
    }

    #[test]
    fn an_id_that_is_a_uri_is_the_uri() {
        for id in [
            "https://example.com/news/2024/07/01/xi-putin?ref=rss#top",
            "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
            "tag:example.com,2024:item-7",
        ] {
            assert_eq!(article_uri(id), id);
        }
    }

    #[test]
    fn topics_are_media_topic_subjects_with_their_confidence() {
        let doc = to_ninjs(&article());
        assert_eq!(
            doc["subjects"],
            json!([{
                "name": "politics and government",
                "literal": "medtop:11000000",
                "creator": "newsflow",
                "confidence": 88,
                "uri": "http://cv.iptc.org/newscodes/mediatopic/11000000",
            }])
        );
        assert_eq!(percent(1.7), 100);
        assert_eq!(percent(-0.2), 0);
    }

    #[test]
    fn a_topic_outside_media_topics_keeps_its_qcode_but_gets_no_uri() {
        let mut article = article();
        article.topics[0].qcode = "subj:11000000".into();
        let doc = to_ninjs(&article);
        assert_eq!(doc["subjects"][0]["literal"], "subj:11000000");
        assert!(doc["subjects"][0].get("uri").is_none());
    }

    #[test]
    fn places_are_countries_then_m49_subregions_then_other_named_places() {
        let doc = to_ninjs(&article());
        assert_eq!(
            doc["places"],
            json!([
                { "name": "Japan", "literal": "JP", "uri": "http://cvx.iptc.org/iso3166-1a2/JP" },
                { "name": "Eastern Asia", "literal": "m49:030" },
                { "name": "Canberra" },
            ])
        );
    }

    #[test]
    fn entities_events_credits_and_dateline_map_to_their_ninjs_properties() {
        let doc = to_ninjs(&article());
        assert_eq!(doc["uri"], "urn:newsflow:article:wire-0001");
        assert_eq!(doc["type"], "text");
        assert_eq!(doc["people"], json!([{ "name": "Fumio Kishida" }]));
        assert_eq!(doc["organisations"], json!([{ "name": "NATO" }]));
        assert_eq!(doc["by"], "Jane Doe, Newswire");
        assert_eq!(doc["located"], "TOKYO");
        assert_eq!(doc["infosources"], json!([{ "name": "Newswire" }]));
        assert_eq!(
            doc["events"],
            json!([{
                "name": "AGREE: JPN → AUS",
                "literal": "00ff00ff00ff00ff",
                "uri": "urn:newsflow:event:00ff00ff00ff00ff",
            }])
        );
        assert!(doc.get("nf_events").is_none() && doc.get("nf_quotes").is_none());
    }

    #[test]
    fn the_body_is_plain_text_and_escaped_html() {
        let doc = to_ninjs(&article());
        let bodies = doc["bodies"].as_array().expect("bodies");
        assert_eq!(bodies[0]["contenttype"], "text/plain");
        assert!(bodies[0]["value"]
            .as_str()
            .is_some_and(|v| v.ends_with("pact.\n\nTariffs <rose> & fell.")));
        assert_eq!(bodies[1]["contenttype"], "text/html");
        assert!(bodies[1]["value"]
            .as_str()
            .is_some_and(|v| v.ends_with("pact.</p>\n<p>Tariffs &lt;rose&gt; &amp; fell.</p>")));
        assert_eq!(bodies[0]["wordcount"], 13);
    }

    #[test]
    fn an_article_without_a_title_body_or_time_leaves_those_properties_out() {
        let doc = to_ninjs(&EnrichedArticle {
            id: "bare".into(),
            ..EnrichedArticle::default()
        });
        let keys: Vec<&str> = doc
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["uri", "type", "standard"]);
    }

    #[test]
    fn publication_time_is_firstcreated_and_ninjs_times_pass_through() {
        let doc = to_ninjs(&article());
        assert_eq!(doc["firstcreated"], "2024-03-04T09:00:00+09:00");
        assert!(doc.get("versioncreated").is_none() && doc.get("contentcreated").is_none());

        let mut ninjs_input = article();
        for (field, value) in [
            ("version", json!(3)),
            ("firstcreated", json!("2024-03-01T08:00:00Z")),
            ("versioncreated", json!("Mon, 04 Mar 2024 01:30:00 GMT")),
            ("contentcreated", json!("not a time")),
        ] {
            ninjs_input.source_fields.insert(field.into(), value);
        }
        let doc = to_ninjs(&ninjs_input);
        assert_eq!(doc["version"], "3");
        assert_eq!(doc["firstcreated"], "2024-03-01T08:00:00Z");
        assert_eq!(doc["versioncreated"], "2024-03-04T01:30:00Z");
        assert!(doc.get("contentcreated").is_none());
        assert!(doc.get("embargoed").is_none());

        ninjs_input.embargoed = DateTime::parse_from_rfc3339("2024-03-05T06:00:00Z").ok();
        assert_eq!(to_ninjs(&ninjs_input)["embargoed"], "2024-03-05T06:00:00Z");
    }

    #[test]
    fn the_extended_document_carries_events_and_quotes_in_full() {
        let article = article();
        let doc = to_ninjs_with_extensions(&article);
        assert_eq!(doc["standard"]["schema"], EXTENSION_SCHEMA_URI);
        assert_eq!(doc["nf_events"], json!(article.events));
        assert_eq!(doc["nf_quotes"][0]["speaker"], "Kishida");
        assert_eq!(doc["events"], to_ninjs(&article)["events"]);
    }
}
