//! The JSON Schemas of newsflow's outputs, as registered with a schema registry: each one
//! self-contained, with the schemas it refers to embedded under `$defs` by their `$id`s (a
//! JSON Schema 2020-12 compound document), so a consumer's deserializer validates a record
//! with the registered text alone.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::config::OutputFormat;

/// The schema files, by name, as shipped in `schemas/`.
const FILES: [(&str, &str); 5] = [
    (
        "enriched-article.v1.json",
        include_str!("../../schemas/enriched-article.v1.json"),
    ),
    ("event.v1.json", include_str!("../../schemas/event.v1.json")),
    (
        "event-aggregate.v1.json",
        include_str!("../../schemas/event-aggregate.v1.json"),
    ),
    (
        "ninjs-2.2.schema.json",
        include_str!("../../schemas/ninjs-2.2.schema.json"),
    ),
    (
        "ninjs-newsflow.v1.json",
        include_str!("../../schemas/ninjs-newsflow.v1.json"),
    ),
];

/// The schema of one of newsflow's outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputSchema {
    /// An enriched article (the output topic and the routes' topics, format `json`).
    Enriched,
    /// A record of the events topic: an event or a kill marker.
    Event,
    /// An article as IPTC ninjs 2.2 (format `ninjs`).
    Ninjs,
    /// An article as ninjs 2.2 with newsflow's extensions (format `ninjs-extended`).
    NinjsExtended,
    /// One event across articles (`newsflow aggregate`).
    EventAggregate,
}

impl OutputSchema {
    /// The schema of the articles `format` writes.
    pub fn of_articles(format: OutputFormat) -> Self {
        match format {
            OutputFormat::Json => Self::Enriched,
            OutputFormat::Ninjs => Self::Ninjs,
            OutputFormat::NinjsExtended => Self::NinjsExtended,
        }
    }

    fn file(self) -> &'static str {
        match self {
            Self::Enriched => "enriched-article.v1.json",
            Self::Event => "event.v1.json",
            Self::Ninjs => "ninjs-2.2.schema.json",
            Self::NinjsExtended => "ninjs-newsflow.v1.json",
            Self::EventAggregate => "event-aggregate.v1.json",
        }
    }

    /// The self-contained schema text to register, built once.
    pub fn text(self) -> &'static str {
        static TEXTS: [OnceLock<String>; 5] = [const { OnceLock::new() }; 5];
        let slot = match self {
            Self::Enriched => 0,
            Self::Event => 1,
            Self::Ninjs => 2,
            Self::NinjsExtended => 3,
            Self::EventAggregate => 4,
        };
        TEXTS[slot].get_or_init(|| bundled(self.file()))
    }
}

fn parsed(name: &str) -> Value {
    let (_, text) = FILES
        .iter()
        .find(|(file, _)| *file == name)
        .expect("a shipped schema");
    serde_json::from_str(text).expect("shipped schemas are JSON")
}

/// The `$id` of a schema without its empty fragment (ninjs writes `…json#`).
fn id_of(schema: &Value) -> &str {
    let id = schema["$id"].as_str().expect("shipped schemas have an $id");
    id.trim_end_matches('#')
}

/// The schema `name` with every other shipped schema it refers to, directly or through
/// another, embedded under `$defs`. A reference to a schema newsflow does not ship (ninjs's
/// GeoJSON) is left as it is.
fn bundled(name: &str) -> String {
    let mut root = parsed(name);
    let base = id_of(&root).to_owned();
    let mut embedded: Vec<Value> = Vec::new();
    let mut pending = vec![(base.clone(), root.clone())];
    while let Some((base, schema)) = pending.pop() {
        let mut targets = Vec::new();
        external_refs(&schema, &mut targets);
        for target in targets {
            let absolute = resolve(&base, &target);
            let Some(file) = FILES
                .iter()
                .map(|(file, _)| parsed(file))
                .find(|known| id_of(known) == absolute)
            else {
                continue;
            };
            let known = |schema: &Value| id_of(schema) == absolute;
            if absolute == id_of(&root) || embedded.iter().any(known) {
                continue;
            }
            pending.push((absolute, file.clone()));
            embedded.push(file);
        }
    }
    if !embedded.is_empty() {
        let defs = root
            .as_object_mut()
            .expect("schemas are objects")
            .entry("$defs")
            .or_insert_with(|| Value::Object(Map::new()));
        for schema in embedded {
            let key = format!("embedded:{}", id_of(&schema));
            defs.as_object_mut()
                .expect("$defs is an object")
                .insert(key, schema);
        }
    }
    root.to_string()
}

/// The document parts of the `$ref`s in `schema` that point outside it.
fn external_refs(schema: &Value, found: &mut Vec<String>) {
    match schema {
        Value::Object(fields) => {
            for (key, value) in fields {
                match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => {
                        let document = target.split('#').next().unwrap_or_default();
                        if !document.is_empty() && !found.iter().any(|f| f == document) {
                            found.push(document.to_owned());
                        }
                    }
                    _ => external_refs(value, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| external_refs(item, found)),
        _ => {}
    }
}

/// `target` resolved against the absolute `base`: an absolute address as it is, a file
/// name beside the base's last path segment.
fn resolve(base: &str, target: &str) -> String {
    if target.contains("://") {
        return target.to_owned();
    }
    match base.rsplit_once('/') {
        Some((directory, _)) => format!("{directory}/{target}"),
        None => target.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedded_ids(schema: OutputSchema) -> Vec<String> {
        let bundled: Value = serde_json::from_str(schema.text()).unwrap();
        let mut ids: Vec<String> = bundled["$defs"]
            .as_object()
            .map(|defs| {
                defs.keys()
                    .filter_map(|key| key.strip_prefix("embedded:"))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    }

    #[test]
    fn each_output_schema_embeds_the_shipped_schemas_it_refers_to() {
        assert!(embedded_ids(OutputSchema::Enriched).is_empty());
        assert!(
            embedded_ids(OutputSchema::Ninjs).is_empty(),
            "GeoJSON is not shipped"
        );
        assert_eq!(
            embedded_ids(OutputSchema::Event),
            ["https://newsflow.invalid/schemas/enriched-article.v1.json"]
        );
        assert_eq!(
            embedded_ids(OutputSchema::EventAggregate),
            ["https://newsflow.invalid/schemas/enriched-article.v1.json"]
        );
        assert_eq!(
            embedded_ids(OutputSchema::NinjsExtended),
            [
                "http://www.iptc.org/std/ninjs/ninjs-schema_2.2.json",
                "https://newsflow.invalid/schemas/enriched-article.v1.json",
            ]
        );
    }

    #[test]
    fn a_bundled_schema_validates_without_any_other_schema_at_hand() {
        let schema: Value = serde_json::from_str(OutputSchema::Event.text()).unwrap();
        let validator = jsonschema::validator_for(&schema).expect("a valid schema");
        let event = serde_json::json!({
            "schema_version": 5,
            "article_id": "a1",
            "published_at": null,
            "fingerprint": 7,
        });
        // The event's own fields are checked by the embedded enriched-article schema.
        assert!(!validator.is_valid(&event));
        let kill = serde_json::json!({
            "schema_version": 5, "article_id": "a1", "killed": true, "pubstatus": "canceled",
        });
        assert!(validator.is_valid(&kill));
    }
}
