//! The classify stage: which countries an article is about ([`regions`]) and which IPTC
//! Media Topics it covers ([`topics`]). Both read the clean text when the clean stage has
//! produced it, and the input's title and body otherwise.

pub mod regions;
pub mod topics;

use std::sync::LazyLock;

use super::{Article, Stage, StageError};
use crate::folded::{Dictionary, Folded};
use crate::geo::Gazetteer;

/// The country and topic terms in one automaton: an article is scanned once for both.
static DICTIONARY: LazyLock<Dictionary> = LazyLock::new(|| {
    Dictionary::new([
        Gazetteer::global().patterns(),
        topics::Lexicon::global().patterns(),
    ])
});
/// The lists of [`DICTIONARY`].
const COUNTRIES: usize = 0;
const TOPICS: usize = 1;

pub struct Classify {
    topics: &'static topics::Lexicon,
}

impl Classify {
    /// Loads the reference data now rather than on the first article.
    pub fn new() -> Self {
        LazyLock::force(&DICTIONARY);
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
        let (title, body) = (Folded::new(title), Folded::new(body));
        let (title_hits, body_hits) = (DICTIONARY.scan(&title), DICTIONARY.scan(&body));
        let body_matches = gazetteer.matches_in(&body, &body_hits, COUNTRIES);
        let regions = regions::classify(
            gazetteer,
            (
                title.text(),
                gazetteer.matches_in(&title, &title_hits, COUNTRIES),
            ),
            (body.text(), &body_matches),
        );
        let topics = self
            .topics
            .classify_in((&title, &title_hits), (&body, &body_hits), TOPICS);
        article.enriched.regions = regions;
        article.enriched.topics = topics;
        article.body_places = Some(body_matches);
        Ok(())
    }
}
