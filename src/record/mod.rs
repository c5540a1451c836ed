//! Records on the wire: raw articles in; enriched articles, events and dead letters out.
//! Each has a JSON Schema in `schemas/`.

mod dates;
mod dead_letter;
mod embargo;
mod enriched;
mod envelope;
mod event_record;
mod kill;
mod ninjs_out;
mod raw;
mod version;

pub use dates::{parse_timestamp, PLAUSIBLE_YEARS};
pub use dead_letter::{header, DeadLetter, DeadLetterReason, DeadLetterSource};
pub use embargo::{pending_embargo, EMBARGO_FIELD};
pub use enriched::{
    ActorDetail, Clean, Country, EnrichedArticle, Entity, EntityType, Event, EventLocation,
    Modality, Quote, Regions, Removal, Subregion, Topic, SCHEMA_VERSION,
};
pub use event_record::EventRecord;
pub use kill::{Kill, KillLine, KillMarker, PubStatus, STATUS_FIELD};
pub use ninjs_out::{
    article_uri, to_ninjs, to_ninjs_with_extensions, ARTICLE_URN_PREFIX, EVENT_URN_PREFIX,
    EXTENSION_SCHEMA_URI, NINJS_SCHEMA_URI, NINJS_VERSION,
};
pub use raw::{decode, floor_char_boundary, is_invisible, ContentType, InputFormat, RawArticle};
pub use version::{ArticleVersion, SupersededLine, VersionKey, VERSION_FIELD};

use crate::registry::FrameError;

/// A decoded input record: an article to enrich, or a kill that withdraws one.
// Nearly every record is an article: boxing it would cost an allocation on the common path
// to save bytes on the rare kill.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Article(RawArticle),
    Kill(Kill),
}

impl Input {
    /// The article, for tools that read articles only.
    pub fn into_article(self) -> Option<RawArticle> {
        match self {
            Self::Article(article) => Some(article),
            Self::Kill(_) => None,
        }
    }
}

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
    #[error("record is {0}")]
    Framed(crate::registry::FrameError),
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
            Self::Framed(FrameError::NotJson { .. } | FrameError::NotJsonSchema { .. }) => {
                DeadLetterReason::UnsupportedEncoding
            }
            Self::Framed(FrameError::EmptyPayload { .. }) => DeadLetterReason::Empty,
            Self::Framed(_) => DeadLetterReason::InvalidJson,
            Self::NotAnObject { .. } | Self::MissingField { .. } | Self::InvalidField { .. } => {
                DeadLetterReason::SchemaViolation
            }
        }
    }
}
