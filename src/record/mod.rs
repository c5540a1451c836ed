//! Records on the wire: raw articles in; enriched articles, events and dead letters out.
//! Each has a JSON Schema in `schemas/`.

mod dates;
mod dead_letter;
mod enriched;
mod event_record;
mod raw;

pub use dates::{parse_timestamp, PLAUSIBLE_YEARS};
pub use dead_letter::{header, DeadLetter, DeadLetterReason, DeadLetterSource};
pub use enriched::{
    ActorDetail, Clean, Country, EnrichedArticle, Entity, EntityType, Event, EventLocation,
    Modality, Quote, Regions, Removal, Subregion, Topic, SCHEMA_VERSION,
};
pub use event_record::EventRecord;
pub use raw::{decode, floor_char_boundary, is_invisible, ContentType, InputFormat, RawArticle};

/// Why a record could not be decoded into a [`RawArticle`]. Always poison: the same bytes
/// will fail the same way, so the record goes to the dead-letter topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("record is {size} bytes, over the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("record is empty")]
    Empty,
    #[error("record is not valid UTF-8 (invalid byte at {position})")]
    InvalidUtf8 { position: usize },
    #[error("record is not valid JSON: {detail}")]
    InvalidJson { detail: String },
    #[error("record is a JSON {found}, not an object")]
    NotAnObject { found: &'static str },
    #[error("missing required field `{field}`")]
    MissingField { field: &'static str },
    #[error("field `{field}` must be {expected}")]
    InvalidField {
        field: &'static str,
        expected: &'static str,
    },
}

impl DecodeError {
    pub(crate) fn invalid(field: &'static str, expected: &'static str) -> Self {
        Self::InvalidField { field, expected }
    }

    pub fn reason(&self) -> DeadLetterReason {
        match self {
            Self::TooLarge { .. } => DeadLetterReason::TooLarge,
            Self::Empty => DeadLetterReason::Empty,
            Self::InvalidUtf8 { .. } => DeadLetterReason::InvalidUtf8,
            Self::InvalidJson { .. } => DeadLetterReason::InvalidJson,
            Self::NotAnObject { .. } | Self::MissingField { .. } | Self::InvalidField { .. } => {
                DeadLetterReason::SchemaViolation
            }
        }
    }
}
