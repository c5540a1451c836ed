//! The ninjs output (newsflow::record::to_ninjs) of real enriched articles, the sample feed's
//! and the seed's, is valid IPTC ninjs 2.2 against the IPTC schema shipped in schemas/; with
//! the nf_ extensions it is valid against newsflow's extension schema, and only there.

use crate::schemas::enriched_inputs;
use crate::support::schema::{assert_valid, validator};
use newsflow::record::{decode, to_ninjs, to_ninjs_with_extensions, Input};
use serde_json::Value;

#[test]
fn sample_articles_are_valid_ninjs() {
    let ninjs = validator("ninjs-2.2.schema.json");
    let docs: Vec<Value> = enriched_inputs().iter().map(to_ninjs).collect();
    for doc in &docs {
        assert_valid(&ninjs, doc, &format!("ninjs {}", doc["uri"]));
    }
    assert!(
        docs.iter()
            .any(|d| d["uri"] == "urn:newsflow:article:seed-xi-putin-kazakhstan"),
        "the seed is missing"
    );
    // The inputs exercise every mapped property, so the schema checked each of them.
    for property in [
        "headlines",
        "bodies",
        "language",
        "firstcreated",
        "subjects",
        "places",
        "people",
        "organisations",
        "events",
        "by",
        "located",
        "infosources",
    ] {
        assert!(
            docs.iter().any(|d| d.get(property).is_some()),
            "no sample article has {property}"
        );
    }
}

#[test]
fn extended_documents_are_valid_against_the_extension_schema_only() {
    let ninjs = validator("ninjs-2.2.schema.json");
    let extension = validator("ninjs-newsflow.v1.json");
    let articles = enriched_inputs();
    for article in &articles {
        let doc = to_ninjs_with_extensions(article);
        assert_valid(&extension, &doc, &format!("extended ninjs {}", article.id));
        // ninjs 2.x admits no property it does not name: the extension is needed.
        assert!(!ninjs.is_valid(&doc), "plain ninjs accepted nf_ properties");
    }
    assert!(articles
        .iter()
        .any(|a| !a.events.is_empty() && !a.quotes.is_empty()));

    let mut unknown = to_ninjs(&articles[0]);
    unknown["nf_unknown"] = Value::Bool(true);
    assert!(
        !extension.is_valid(&unknown),
        "the extension admits any property"
    );
}

#[test]
fn newsflow_reads_its_ninjs_output_back_as_the_same_article() {
    for article in enriched_inputs() {
        let bytes = serde_json::to_vec(&to_ninjs(&article)).expect("serialise");
        let Ok(Input::Article(raw)) = decode(&bytes, usize::MAX) else {
            panic!("{} does not decode", article.id);
        };
        assert_eq!(raw.title, article.clean.title, "{}", article.id);
        assert_eq!(
            raw.body,
            article.clean.paragraphs.join("\n\n"),
            "{}",
            article.id
        );
        assert_eq!(raw.language, article.clean.language, "{}", article.id);
    }
}
