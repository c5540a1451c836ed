//! Kills: an input that withdraws an article (`pubstatus` "canceled" or "withheld", in
//! ninjs and in the raw-article format alike) instead of publishing one.
//!
//! A killed article is not enriched. On Kafka it becomes a tombstone keyed by its id on the
//! output topic, so compaction drops the enriched record, and a [`KillMarker`] on the
//! events topic. Its events are keyed by fingerprints other articles share, so no tombstone
//! can reach them; the marker, which compaction keeps, lets a consumer drop every event
//! whose `article_id` it names. In files, a [`KillLine`] takes the enriched line's place.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{DecodeError, InputFormat, SCHEMA_VERSION};

/// The field that says whether an input may be published, in both input formats.
pub const STATUS_FIELD: &str = "pubstatus";

/// Why an article is withdrawn, as ninjs names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PubStatus {
    /// Withdrawn for good.
    Canceled,
    /// Withdrawn for now (legal or editorial reasons); a later version may publish it.
    Withheld,
}

impl PubStatus {
    pub const ALL: [Self; 2] = [Self::Canceled, Self::Withheld];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Canceled => "canceled",
            Self::Withheld => "withheld",
        }
    }
}

/// A decoded input that withdraws the article `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kill {
    pub id: String,
    pub status: PubStatus,
    pub format: InputFormat,
}

/// Whether `fields` withdraw their article: `pubstatus` "canceled" or "withheld". Absent,
/// null or "usable" publish it (the field then passes through); any other value is refused,
/// since publishing a withdrawn article and withdrawing a published one both do harm.
pub(super) fn kill_status(fields: &Map<String, Value>) -> Result<Option<PubStatus>, DecodeError> {
    let expected = "\"usable\", \"canceled\", \"withheld\" or null";
    match fields.get(STATUS_FIELD) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(status)) if status == "usable" => Ok(None),
        Some(Value::String(status)) => PubStatus::ALL
            .into_iter()
            .find(|known| known.as_str() == status)
            .map(Some)
            .ok_or_else(|| DecodeError::invalid(STATUS_FIELD, expected)),
        Some(_) => Err(DecodeError::invalid(STATUS_FIELD, expected)),
    }
}

/// What `newsflow process` writes in place of a killed article's enriched line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillLine {
    pub id: String,
    pub schema_version: u32,
    pub input_format: InputFormat,
    /// Always true: what tells this line from an enriched article.
    pub killed: bool,
    pub pubstatus: PubStatus,
}

impl KillLine {
    pub fn of(kill: &Kill) -> Self {
        Self {
            id: kill.id.clone(),
            schema_version: SCHEMA_VERSION,
            input_format: kill.format,
            killed: true,
            pubstatus: kill.status,
        }
    }
}

/// What goes on the events topic for a killed article, keyed by the article id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillMarker {
    pub article_id: String,
    pub schema_version: u32,
    /// Always true: what tells this record from an event.
    pub killed: bool,
    pub pubstatus: PubStatus,
}

impl KillMarker {
    pub fn of(kill: &Kill) -> Self {
        Self {
            article_id: kill.id.clone(),
            schema_version: SCHEMA_VERSION,
            killed: true,
            pubstatus: kill.status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{decode, DeadLetterReason, Input};

    const LIMIT: usize = 1 << 20;

    fn kill(bytes: &[u8]) -> Kill {
        match decode(bytes, LIMIT) {
            Ok(Input::Kill(kill)) => kill,
            other => panic!("not a kill: {other:?}"),
        }
    }

    fn status(json: &str) -> Result<Option<PubStatus>, DecodeError> {
        match serde_json::from_str(json).unwrap() {
            Value::Object(fields) => kill_status(&fields),
            _ => unreachable!("tests pass objects"),
        }
    }

    #[test]
    fn only_canceled_and_withheld_kill() {
        assert_eq!(status(r#"{}"#), Ok(None));
        assert_eq!(status(r#"{"pubstatus":null}"#), Ok(None));
        assert_eq!(status(r#"{"pubstatus":"usable"}"#), Ok(None));
        assert_eq!(
            status(r#"{"pubstatus":"canceled"}"#),
            Ok(Some(PubStatus::Canceled))
        );
        assert_eq!(
            status(r#"{"pubstatus":"withheld"}"#),
            Ok(Some(PubStatus::Withheld))
        );
        for refused in [r#""cancelled""#, r#""Canceled""#, "true", "1"] {
            let error = status(&format!(r#"{{"pubstatus":{refused}}}"#)).unwrap_err();
            assert!(error.to_string().contains("`pubstatus`"), "{error}");
        }
    }

    #[test]
    fn the_kill_shapes_say_killed_and_why() {
        let kill = Kill {
            id: "urn:x".into(),
            status: PubStatus::Withheld,
            format: InputFormat::Ninjs,
        };
        assert_eq!(
            serde_json::to_value(KillLine::of(&kill)).unwrap(),
            serde_json::json!({"id": "urn:x", "schema_version": SCHEMA_VERSION,
                "input_format": "ninjs", "killed": true, "pubstatus": "withheld"})
        );
        assert_eq!(
            serde_json::to_value(KillMarker::of(&kill)).unwrap(),
            serde_json::json!({"article_id": "urn:x", "schema_version": SCHEMA_VERSION,
                "killed": true, "pubstatus": "withheld"})
        );
    }

    #[test]
    fn a_canceled_or_withheld_input_is_a_kill_that_needs_only_its_id() {
        let item =
            br#"{"uri":"urn:x:1","pubstatus":"canceled","versioncreated":"2024-07-01T10:00:00Z"}"#;
        assert_eq!(
            kill(item),
            Kill {
                id: "urn:x:1".into(),
                status: PubStatus::Canceled,
                format: InputFormat::Ninjs
            }
        );
        let item = br#"{"uri":"urn:x:2","pubstatus":"withheld","bodies":[{"value":"x"}]}"#;
        assert_eq!(kill(item).status, PubStatus::Withheld);
        let raw = kill(br#"{"id":"a1","pubstatus":"canceled"}"#);
        assert_eq!(
            (raw.id.as_str(), raw.format),
            ("a1", InputFormat::RawArticle)
        );
        // "usable" publishes, and passes through like any field.
        let Ok(Input::Article(a)) =
            decode(br#"{"id":"a1","body":"x","pubstatus":"usable"}"#, LIMIT)
        else {
            panic!("not an article")
        };
        assert_eq!(a.source_fields["pubstatus"], "usable");
        // A kill still needs a readable id; an unknown status is refused.
        for bad in [
            &br#"{"pubstatus":"canceled","bodies":[{"value":"x"}]}"#[..],
            br#"{"id":"a\u0000","pubstatus":"canceled"}"#,
            br#"{"id":"a","body":"x","pubstatus":"killed"}"#,
        ] {
            assert_eq!(
                decode(bad, LIMIT).unwrap_err().reason(),
                DeadLetterReason::SchemaViolation
            );
        }
    }
}
