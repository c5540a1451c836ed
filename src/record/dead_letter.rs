//! Dead letters: records that could not be enriched, kept with the reason.
//!
//! On Kafka the dead letter is the original key and value, unchanged, with the reason and
//! origin in headers (see [`DeadLetter::headers`]). In batch mode it is one JSON line
//! (schemas/dead-letter.v1.json) carrying the original record as text, or as base64 when
//! the bytes are not UTF-8.

use serde::Serialize;

/// Header names newsflow sets: on dead letters, embargoed articles and every JSON output.
pub mod header {
    pub const REASON: &str = "newsflow.reason";
    pub const ERROR: &str = "newsflow.error";
    pub const SOURCE_TOPIC: &str = "newsflow.source.topic";
    pub const SOURCE_PARTITION: &str = "newsflow.source.partition";
    pub const SOURCE_OFFSET: &str = "newsflow.source.offset";
    /// Set when the broker refused the original value as too large and the dead letter
    /// carries only its headers; the original stays in the source topic at its offset.
    pub const VALUE_DROPPED: &str = "newsflow.value.dropped";
    /// On the embargo topic: the time (RFC 3339) before which the article may not be
    /// published, also in its `embargoed` field.
    pub const EMBARGOED_UNTIL: &str = "newsflow.embargoed.until";
    /// On every JSON output: the version of its schema (`schemas/`).
    pub const SCHEMA_VERSION: &str = "newsflow.schema.version";
}

/// The fixed set of dead-letter reasons, used as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterReason {
    TooLarge,
    Empty,
    InvalidUtf8,
    InvalidJson,
    /// Framed for a schema registry with a payload newsflow does not decode (Avro,
    /// Protobuf).
    UnsupportedEncoding,
    SchemaViolation,
    StageFailed,
    /// The broker refused the enriched record for good (not for size: authorization, a
    /// policy, an invalid topic).
    ProduceRefused,
}

impl DeadLetterReason {
    pub const ALL: [Self; 8] = [
        Self::TooLarge,
        Self::Empty,
        Self::InvalidUtf8,
        Self::InvalidJson,
        Self::UnsupportedEncoding,
        Self::SchemaViolation,
        Self::StageFailed,
        Self::ProduceRefused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Empty => "empty",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::InvalidJson => "invalid_json",
            Self::UnsupportedEncoding => "unsupported_encoding",
            Self::SchemaViolation => "schema_violation",
            Self::StageFailed => "stage_failed",
            Self::ProduceRefused => "produce_refused",
        }
    }
}

/// Where a dead record came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum DeadLetterSource {
    Kafka {
        topic: String,
        partition: i32,
        offset: i64,
    },
    File {
        file: String,
        line: u64,
    },
}

/// A record that could not be enriched.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub reason: DeadLetterReason,
    pub error: String,
    pub source: DeadLetterSource,
    /// The article id, when decoding got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub article_id: Option<String>,
    /// The original record, when it is valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// The original record, base64-encoded, when it is not valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_base64: Option<String>,
}

impl DeadLetter {
    pub fn new(
        reason: DeadLetterReason,
        error: impl Into<String>,
        source: DeadLetterSource,
        original: &[u8],
    ) -> Self {
        let (record, record_base64) = match std::str::from_utf8(original) {
            Ok(text) => (Some(text.to_owned()), None),
            Err(_) => (None, Some(data_encoding::BASE64.encode(original))),
        };
        Self {
            reason,
            error: error.into(),
            source,
            article_id: None,
            record,
            record_base64,
        }
    }

    pub fn with_article_id(mut self, id: impl Into<String>) -> Self {
        self.article_id = Some(id.into());
        self
    }

    /// Headers for the Kafka form of this dead letter, beside the original key and value.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            (header::REASON, self.reason.as_str().to_owned()),
            (header::ERROR, self.error.clone()),
        ];
        if let DeadLetterSource::Kafka {
            topic,
            partition,
            offset,
        } = &self.source
        {
            headers.push((header::SOURCE_TOPIC, topic.clone()));
            headers.push((header::SOURCE_PARTITION, partition.to_string()));
            headers.push((header::SOURCE_OFFSET, offset.to_string()));
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_invalid_utf8_as_base64() {
        let source = DeadLetterSource::File {
            file: "in.jsonl".into(),
            line: 3,
        };
        let dl = DeadLetter::new(DeadLetterReason::InvalidUtf8, "bad", source, b"\xff\x00");
        assert_eq!(dl.record, None);
        assert_eq!(dl.record_base64.as_deref(), Some("/wA="));
        let json = serde_json::to_value(&dl).unwrap();
        assert_eq!(json["reason"], "invalid_utf8");
        assert_eq!(json["source"]["line"], 3);
    }

    #[test]
    fn kafka_headers_carry_reason_and_origin() {
        let source = DeadLetterSource::Kafka {
            topic: "news.raw".into(),
            partition: 2,
            offset: 41,
        };
        let dl = DeadLetter::new(DeadLetterReason::InvalidJson, "oops", source, b"{");
        let headers = dl.headers();
        assert!(headers.contains(&(header::REASON, "invalid_json".to_owned())));
        assert!(headers.contains(&(header::SOURCE_OFFSET, "41".to_owned())));
    }
}
