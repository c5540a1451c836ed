//! Versions: a newer version of an article supersedes the older, and an older version that
//! arrives late must not overwrite a newer one.
//!
//! An article's version is its `version` field (ninjs writes a string; whole numbers
//! compare as numbers) and then its time (`versioncreated` in ninjs, `published_at` in the
//! raw format: [`super::RawArticle::published_at`]). `crate::stage::LatestVersions` keeps
//! the latest seen per id; an input older than that is [superseded](SupersededLine).

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{InputFormat, SCHEMA_VERSION};
use crate::hash::fnv1a;

/// The field that holds an article's version, in both input formats.
pub const VERSION_FIELD: &str = "version";

/// Which version of which article an input is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleVersion {
    pub id: String,
    pub format: InputFormat,
    /// The `version` field as text, when there is one.
    pub version: Option<String>,
    /// When this version was made: `versioncreated`, else the publication time.
    pub created: Option<DateTime<FixedOffset>>,
}

impl ArticleVersion {
    /// The version of an article whose unknown fields (where `version` passes through) are
    /// `fields`.
    pub fn of(
        id: &str,
        format: InputFormat,
        fields: &Map<String, Value>,
        created: Option<DateTime<FixedOffset>>,
    ) -> Self {
        let version = match fields.get(VERSION_FIELD) {
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Number(number)) => Some(number.to_string()),
            _ => None,
        };
        Self {
            id: id.to_owned(),
            format,
            version,
            created,
        }
    }

    /// What versions are compared by, in a few bytes.
    pub fn key(&self) -> VersionKey {
        VersionKey {
            version: self
                .version
                .as_deref()
                .map(|text| match text.trim().parse() {
                    Ok(number) => Ordinal::Number(number),
                    Err(_) => Ordinal::Label(fnv1a(text.as_bytes())),
                }),
            created_ms: self.created.map(|time| time.timestamp_millis()),
        }
    }
}

/// The part of a version that orders it: 40 bytes or so, so that a million ids fit in
/// tens of megabytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VersionKey {
    version: Option<Ordinal>,
    created_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ordinal {
    Number(u64),
    /// A version that is not a whole number: only equal or not, so the time decides.
    Label(u64),
}

impl VersionKey {
    /// Whether this version is certainly older than `latest`: a lower version number, or
    /// else (no numbers to compare, or equal ones) an earlier time. What cannot be ordered
    /// is not older, so an input is dropped only on evidence.
    pub fn is_older_than(&self, latest: &Self) -> bool {
        if let (Some(Ordinal::Number(this)), Some(Ordinal::Number(that))) =
            (self.version, latest.version)
        {
            if this != that {
                return this < that;
            }
        }
        matches!((self.created_ms, latest.created_ms), (Some(this), Some(that)) if this < that)
    }
}

/// What `newsflow process` writes in place of a superseded article's enriched line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupersededLine {
    pub id: String,
    pub schema_version: u32,
    pub input_format: InputFormat,
    /// Always true: what tells this line from an enriched article.
    pub superseded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versioncreated: Option<DateTime<FixedOffset>>,
}

impl SupersededLine {
    pub fn of(stale: &ArticleVersion) -> Self {
        Self {
            id: stale.id.clone(),
            schema_version: SCHEMA_VERSION,
            input_format: stale.format,
            superseded: true,
            version: stale.version.clone(),
            versioncreated: stale.created,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(version: Option<&str>, created: Option<&str>) -> VersionKey {
        ArticleVersion {
            id: "a".into(),
            format: InputFormat::Ninjs,
            version: version.map(str::to_owned),
            created: created.map(|t| DateTime::parse_from_rfc3339(t).unwrap()),
        }
        .key()
    }

    #[test]
    fn numbers_compare_as_numbers_and_then_times_decide() {
        let (early, late) = (Some("2024-07-01T10:00:00Z"), Some("2024-07-01T11:00:00Z"));
        assert!(key(Some("9"), late).is_older_than(&key(Some("10"), early)));
        assert!(!key(Some("10"), early).is_older_than(&key(Some("9"), late)));
        // Equal numbers, labels and missing versions leave it to the time.
        for (this, that) in [(Some("3"), Some("3")), (Some("b"), Some("a")), (None, None)] {
            assert!(key(this, early).is_older_than(&key(that, late)));
            assert!(!key(this, late).is_older_than(&key(that, early)));
        }
        // Without both times nothing is certain, and an equal version is not older.
        assert!(!key(Some("b"), None).is_older_than(&key(Some("a"), late)));
        assert!(!key(None, early).is_older_than(&key(None, None)));
        assert!(!key(Some("2"), early).is_older_than(&key(Some("2"), early)));
    }

    #[test]
    fn the_version_field_is_read_as_text_or_number() {
        let fields = |json: &str| serde_json::from_str::<Map<String, Value>>(json).unwrap();
        let of = |json| ArticleVersion::of("a", InputFormat::RawArticle, &fields(json), None);
        assert_eq!(of(r#"{"version":"3"}"#).version.as_deref(), Some("3"));
        assert_eq!(of(r#"{"version":4}"#).version.as_deref(), Some("4"));
        assert_eq!(of(r#"{"version":[4]}"#).version, None);
        assert_eq!(of("{}").key(), VersionKey::default());
    }

    #[test]
    fn the_superseded_line_names_the_version_left_out() {
        let stale = ArticleVersion {
            id: "urn:x".into(),
            format: InputFormat::Ninjs,
            version: Some("2".into()),
            created: Some(DateTime::parse_from_rfc3339("2024-07-01T10:00:00Z").unwrap()),
        };
        assert_eq!(
            serde_json::to_value(SupersededLine::of(&stale)).unwrap(),
            serde_json::json!({"id": "urn:x", "schema_version": SCHEMA_VERSION,
                "input_format": "ninjs", "superseded": true, "version": "2",
                "versioncreated": "2024-07-01T10:00:00Z"})
        );
    }
}
