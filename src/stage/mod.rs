//! The enrichment stages: clean → classify → extract.
//!
//! Stages are plain synchronous functions over an owned [`Article`], with no I/O in them,
//! so the same code runs under Kafka (`newsflow run`), over files (`newsflow process`) and
//! in benchmarks. The reference data they read is loaded once, as a [`Reference`], and
//! handed to each stage when the pipeline is built.

pub mod classify;
pub mod clean;
pub mod extract;
pub mod reference;
mod versions;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use crate::geo::Match;
use crate::record::{
    decode, ArticleVersion, DeadLetter, DeadLetterReason, DeadLetterSource, EnrichedArticle, Input,
    Kill, RawArticle, SCHEMA_VERSION,
};
use crate::telemetry::events::{ArticleEnriched, ArticleKilled, ArticleSuperseded, StageCompleted};
pub use reference::Reference;
pub use versions::{Admission, LatestVersions};

/// An article on its way through the stages: the decoded input and the enrichment so far.
#[derive(Debug, Clone)]
pub struct Article {
    pub input: RawArticle,
    pub enriched: EnrichedArticle,
    /// The gazetteer's matches in the text the stages read (the clean text, or the input
    /// body without one): found by classify, reused by extract.
    pub body_places: Option<Vec<Match>>,
}

impl Article {
    pub fn new(input: RawArticle) -> Self {
        let enriched = EnrichedArticle {
            id: input.id.clone(),
            schema_version: SCHEMA_VERSION,
            published_at: input.published_at,
            embargoed: input.embargoed,
            url: input.url.clone(),
            source: input.source.clone(),
            input_format: Some(input.format),
            ..EnrichedArticle::default()
        };
        Self {
            input,
            enriched,
            body_places: None,
        }
    }

    /// The finished record, with the input's unknown fields passed through.
    pub fn into_enriched(self) -> EnrichedArticle {
        let mut enriched = self.enriched;
        enriched.source_fields = self.input.source_fields;
        enriched
    }
}

/// One step of enrichment.
pub trait Stage: Send + Sync {
    /// A short fixed name, used as a metric label.
    fn name(&self) -> &'static str;

    fn apply(&self, article: &mut Article) -> Result<(), StageError>;
}

/// A stage could not enrich an article. The same input fails the same way, so the record
/// is poison: it goes to the dead-letter topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StageError {
    #[error("stage `{stage}` rejected the article: {reason}")]
    Rejected { stage: &'static str, reason: String },
    #[error("stage `{stage}` failed unexpectedly: {message}")]
    Panicked {
        stage: &'static str,
        message: String,
    },
}

/// The stages in order, and the reference data they were built with.
pub struct Pipeline {
    stages: Vec<Box<dyn Stage>>,
    reference: Arc<Reference>,
}

impl Pipeline {
    pub fn new(reference: Arc<Reference>, stages: Vec<Box<dyn Stage>>) -> Self {
        Self { stages, reference }
    }

    /// clean → classify → extract.
    pub fn standard(reference: Arc<Reference>) -> Self {
        let stages: Vec<Box<dyn Stage>> = vec![
            Box::new(clean::Clean::new()),
            Box::new(classify::Classify::new(&reference)),
            Box::new(extract::Extract::new(&reference)),
        ];
        Self::new(reference, stages)
    }

    /// The reference data the stages read.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// Runs every stage over one article, timing each. A panic inside a stage is caught
    /// and reported as a [`StageError`], so bad input can never take the process down.
    pub fn run(&self, input: RawArticle) -> Result<EnrichedArticle, StageError> {
        let mut article = Article::new(input);
        for stage in &self.stages {
            let started = Instant::now();
            let outcome = catch_unwind(AssertUnwindSafe(|| stage.apply(&mut article)));
            StageCompleted {
                stage: stage.name(),
                duration: started.elapsed(),
            }
            .emit();
            match outcome {
                Ok(result) => result?,
                Err(panic) => {
                    return Err(StageError::Panicked {
                        stage: stage.name(),
                        message: panic_message(panic.as_ref()),
                    })
                }
            }
        }
        Ok(article.into_enriched())
    }
}

/// Why a record was not enriched: what its dead letter will say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: DeadLetterReason,
    pub error: String,
    pub article_id: Option<String>,
}

impl Rejection {
    pub fn into_dead_letter(self, source: DeadLetterSource, original: &[u8]) -> DeadLetter {
        let letter = DeadLetter::new(self.reason, self.error, source, original);
        match self.article_id {
            Some(id) => letter.with_article_id(id),
            None => letter,
        }
    }
}

impl From<crate::record::DecodeError> for Rejection {
    fn from(error: crate::record::DecodeError) -> Self {
        Self {
            reason: error.reason(),
            error: error.to_string(),
            article_id: None,
        }
    }
}

/// What became of a record the stages accepted.
// Nearly every record is an article: boxing it would cost an allocation on the common path
// to save bytes on the rare kill.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Enrichment {
    Article(EnrichedArticle),
    /// The input withdrew its article: nothing to enrich, and earlier outputs to retract.
    Killed(Kill),
    /// A newer version of the article was seen before: this one is left out.
    Superseded(ArticleVersion),
}

impl Enrichment {
    /// The enriched article, for callers that feed articles only.
    pub fn into_article(self) -> Option<EnrichedArticle> {
        match self {
            Self::Article(article) => Some(article),
            Self::Killed(_) | Self::Superseded(_) => None,
        }
    }
}

impl Pipeline {
    /// Decodes one record and runs the stages over it: the whole job for one input record,
    /// whatever it came from.
    pub fn enrich(&self, bytes: &[u8], max_record_bytes: usize) -> Result<Enrichment, Rejection> {
        self.enrich_latest(bytes, max_record_bytes, None)
    }

    /// [`Pipeline::enrich`], leaving out an article older than the latest version of it in
    /// `versions` without running the stages. This only reads `versions`: the caller admits
    /// the enriched article in input order ([`LatestVersions::admit`]), since records run
    /// on the workers out of order.
    pub fn enrich_latest(
        &self,
        bytes: &[u8],
        max_record_bytes: usize,
        versions: Option<&LatestVersions>,
    ) -> Result<Enrichment, Rejection> {
        let input = decode(bytes, max_record_bytes).map_err(Rejection::from)?;
        let input = match input {
            Input::Article(article) => article,
            Input::Kill(kill) => {
                ArticleKilled { kill: &kill }.emit();
                return Ok(Enrichment::Killed(kill));
            }
        };
        if let Some(versions) = versions {
            let version = input.version();
            if versions.is_stale(&version) {
                ArticleSuperseded { stale: &version }.emit();
                return Ok(Enrichment::Superseded(version));
            }
        }
        let id = input.id.clone();
        match self.run(input) {
            Ok(enriched) => {
                ArticleEnriched {
                    article: &enriched,
                    gazetteer: &self.reference.gazetteer,
                }
                .emit();
                Ok(Enrichment::Article(enriched))
            }
            Err(error) => Err(Rejection {
                reason: DeadLetterReason::StageFailed,
                error: error.to_string(),
                article_id: Some(id),
            }),
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic without message".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reference::for_tests;

    fn pipeline(stages: Vec<Box<dyn Stage>>) -> Pipeline {
        Pipeline::new(Arc::clone(for_tests()), stages)
    }

    struct Exploding;
    impl Stage for Exploding {
        fn name(&self) -> &'static str {
            "exploding"
        }
        fn apply(&self, _: &mut Article) -> Result<(), StageError> {
            panic!("boom")
        }
    }

    struct Rejecting;
    impl Stage for Rejecting {
        fn name(&self) -> &'static str {
            "rejecting"
        }
        fn apply(&self, _: &mut Article) -> Result<(), StageError> {
            Err(StageError::Rejected {
                stage: "rejecting",
                reason: "no".into(),
            })
        }
    }

    #[test]
    fn a_panicking_stage_becomes_an_error() {
        let pipeline = pipeline(vec![Box::new(Exploding)]);
        let err = pipeline.run(RawArticle::text("a", "b")).unwrap_err();
        assert_eq!(
            err,
            StageError::Panicked {
                stage: "exploding",
                message: "boom".into()
            }
        );
    }

    #[test]
    fn a_rejection_stops_the_pipeline() {
        let pipeline = pipeline(vec![Box::new(Rejecting), Box::new(Exploding)]);
        let err = pipeline.run(RawArticle::text("a", "b")).unwrap_err();
        assert!(matches!(err, StageError::Rejected { .. }));
    }

    #[test]
    fn enrich_turns_bad_bytes_and_stage_failures_into_rejections() {
        let pipeline = pipeline(vec![Box::new(Rejecting)]);
        let rejection = pipeline.enrich(b"{", 100).unwrap_err();
        assert_eq!(rejection.reason, DeadLetterReason::InvalidJson);
        assert_eq!(rejection.article_id, None);
        let rejection = pipeline
            .enrich(br#"{"id":"a7","body":"x"}"#, 100)
            .unwrap_err();
        assert_eq!(rejection.reason, DeadLetterReason::StageFailed);
        assert_eq!(rejection.article_id.as_deref(), Some("a7"));
        assert!(rejection.error.contains("rejecting"));
    }

    #[test]
    fn a_kill_skips_the_stages() {
        let pipeline = pipeline(vec![Box::new(Exploding)]);
        let outcome = pipeline.enrich(br#"{"id":"a7","pubstatus":"withheld"}"#, 100);
        let Ok(Enrichment::Killed(kill)) = outcome else {
            panic!("not killed: {outcome:?}")
        };
        assert_eq!(kill.id, "a7");
    }

    #[test]
    fn unknown_input_fields_pass_through() {
        let mut input = RawArticle::text("a", "b");
        input.source_fields.insert("feed".into(), "wire".into());
        let out = pipeline(vec![]).run(input).unwrap();
        assert_eq!(out.id, "a");
        assert_eq!(out.schema_version, SCHEMA_VERSION);
        assert_eq!(out.source_fields["feed"], "wire");
    }
}
