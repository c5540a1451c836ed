//! The classify stage: which countries an article is about ([`regions`]) and which IPTC
//! Media Topics it covers ([`topics`]). Both read the clean text when the clean stage has
//! produced it, and the input's title and body otherwise.

pub mod regions;
pub mod topics;

use super::{Article, Stage, StageError};
use crate::folded::Folded;
use crate::geo::Gazetteer;

pub struct Classify {
    topics: &'static topics::Lexicon,
}

impl Classify {
    /// Loads the reference data now rather than on the first article.
    pub fn new() -> Self {
        Gazetteer::global();
        Self {
            topics: topics::Lexicon::global(),
        }
    }
}

impl Default for Classify {
    fn default() -> Self {
        Self::new()
    }
}

impl Stage for Classify {
    fn name(&self) -> &'static str {
        "classify"
    }

    fn apply(&self, article: &mut Article) -> Result<(), StageError> {
        let clean = &article.enriched.clean;
        let title = clean
            .title
            .as_deref()
            .filter(|t| !t.is_empty())
            .or(article.input.title.as_deref())
            .unwrap_or_default();
        let body = if clean.text.is_empty() {
            article.input.body.as_str()
        } else {
            clean.text.as_str()
        };
        let gazetteer = Gazetteer::global();
        // Both dictionaries match over the folded body.
        let folded_body = Folded::new(body);
        let body_matches = gazetteer.matches_folded(&folded_body);
        let regions = regions::classify(gazetteer, title, body, &body_matches);
        let topics = self
            .topics
            .classify_folded(&Folded::new(title), &folded_body);
        article.enriched.regions = regions;
        article.enriched.topics = topics;
        article.body_places = Some(body_matches);
        Ok(())
    }
}
