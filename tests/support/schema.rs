//! The project's JSON Schemas, as validators for real outputs.

use jsonschema::{Registry, Validator};
use serde_json::{json, Value};

use super::repo_path;

const SCHEMA_BASE: &str = "https://newsflow.invalid/schemas/";
/// The id of the IPTC ninjs schema (schemas/ninjs-2.2.schema.json), which newsflow's
/// extension refers to.
const NINJS_ID: &str = "http://www.iptc.org/std/ninjs/ninjs-schema_2.2.json";
/// The GeoJSON schema that ninjs places refer to. newsflow writes no GeoJSON and ships no
/// GeoJSON schema, so the reference resolves to a schema that refuses any: a place with
/// `geojson` fails validation instead of going unchecked.
const GEOJSON_ID: &str = "https://geojson.org/schema/GeoJSON.json";

pub fn schema(name: &str) -> Value {
    let path = repo_path(&format!("schemas/{name}"));
    serde_json::from_slice(&std::fs::read(&path).expect("schema file")).expect("schema JSON")
}

/// A validator for `name`, with the other schema files resolvable by their ids.
pub fn validator(name: &str) -> Validator {
    let registry = Registry::new()
        .add(
            format!("{SCHEMA_BASE}enriched-article.v1.json"),
            schema("enriched-article.v1.json"),
        )
        .expect("schema id")
        .add(NINJS_ID, schema("ninjs-2.2.schema.json"))
        .expect("schema id")
        .add(
            GEOJSON_ID,
            json!({ "$schema": "https://json-schema.org/draft/2020-12/schema", "not": {} }),
        )
        .expect("schema id")
        .prepare()
        .expect("registry");
    jsonschema::options()
        .with_registry(&registry)
        .should_validate_formats(true)
        .build(&schema(name))
        .unwrap_or_else(|e| panic!("{name} is not a valid schema: {e}"))
}

pub fn assert_valid(validator: &Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}:\n{}", errors.join("\n"));
}
