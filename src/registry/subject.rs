//! Subject names: under which subject of the registry a record's schema is registered,
//! chosen as Confluent's serializers choose it (`value.subject.name.strategy`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How the subject of a record value's schema is named.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectStrategy {
    /// `<topic>-value`: one schema history per topic (Confluent's default).
    #[default]
    #[serde(alias = "TopicNameStrategy")]
    TopicName,
    /// `<record name>`: one schema history per record type, shared by every topic.
    #[serde(alias = "RecordNameStrategy")]
    RecordName,
    /// `<topic>-<record name>`: one per record type and topic.
    #[serde(alias = "TopicRecordNameStrategy")]
    TopicRecordName,
}

/// Why no subject could be named for a schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    #[error("the schema is not a JSON object")]
    NotAnObject,
    #[error(
        "the schema has neither a `title` nor an `$id`, which name its record under the \
         record-name subject strategies"
    )]
    NoRecordName,
}

impl SubjectStrategy {
    /// The subject of values of `topic` whose JSON Schema is `schema`.
    pub fn subject(self, topic: &str, schema: &str) -> Result<String, SubjectError> {
        Ok(match self {
            Self::TopicName => format!("{topic}-value"),
            Self::RecordName => record_name(schema)?,
            Self::TopicRecordName => format!("{topic}-{}", record_name(schema)?),
        })
    }
}

/// A JSON Schema's record name: its `title` (JSON Schema has no record name of its own, as
/// Avro's `namespace.name`; the title is the schema's name for people), or else its `$id`.
pub fn record_name(schema: &str) -> Result<String, SubjectError> {
    let Ok(Value::Object(schema)) = serde_json::from_str::<Value>(schema) else {
        return Err(SubjectError::NotAnObject);
    };
    ["title", "$id"]
        .iter()
        .filter_map(|key| schema.get(*key)?.as_str())
        .map(str::trim)
        .find(|name| !name.is_empty())
        .map(str::to_owned)
        .ok_or(SubjectError::NoRecordName)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TITLED: &str = r#"{"$id":"https://x.invalid/a.json","title":"Article","type":"object"}"#;

    #[test]
    fn names_subjects_per_strategy() {
        let subject = |strategy: SubjectStrategy, schema| strategy.subject("news.enriched", schema);
        assert_eq!(
            subject(SubjectStrategy::TopicName, "not even JSON").unwrap(),
            "news.enriched-value"
        );
        assert_eq!(
            subject(SubjectStrategy::RecordName, TITLED).unwrap(),
            "Article"
        );
        assert_eq!(
            subject(SubjectStrategy::TopicRecordName, TITLED).unwrap(),
            "news.enriched-Article"
        );
    }

    #[test]
    fn takes_the_id_when_there_is_no_title() {
        assert_eq!(
            record_name(r#"{"$id":"https://x.invalid/a.json","title":" "}"#).unwrap(),
            "https://x.invalid/a.json"
        );
        assert_eq!(
            record_name(r#"{"type":"object"}"#),
            Err(SubjectError::NoRecordName)
        );
        assert_eq!(record_name("[1]"), Err(SubjectError::NotAnObject));
        assert_eq!(record_name("{"), Err(SubjectError::NotAnObject));
    }

    #[test]
    fn reads_kebab_case_and_confluent_class_names() {
        #[derive(Deserialize)]
        struct Holder {
            strategy: SubjectStrategy,
        }
        for (text, strategy) in [
            ("topic-name", SubjectStrategy::TopicName),
            ("TopicRecordNameStrategy", SubjectStrategy::TopicRecordName),
            ("record-name", SubjectStrategy::RecordName),
        ] {
            let holder: Holder = toml::from_str(&format!("strategy = {text:?}")).unwrap();
            assert_eq!(holder.strategy, strategy);
        }
    }
}
