//! The project's JSON Schemas, as validators for real outputs.

use jsonschema::{Registry, Validator};
use serde_json::Value;

use super::repo_path;

const SCHEMA_BASE: &str = "https://newsflow.invalid/schemas/";

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
