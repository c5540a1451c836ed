//! The classify stage: which countries an article is about ([`regions`]) and which IPTC
//! Media Topics it covers ([`topics`]). Both read the clean text when the clean stage has
//! produced it, and the input's title and body otherwise. Countries come from one
//! Aho-Corasick pass over the folded text, topics from a trained model.

pub mod regions;
pub mod topics;

use super::{Article, Stage, StageError};
use crate::geo::Gazetteer;

pub struct Classify {
    gazetteer: &'static Gazetteer,
    topics: &'static topics::TopicModel,
}

impl Classify {
    /// Loads the reference data and the model now rather than on the first article.
    pub fn new() -> Self {
        let gazetteer = Gazetteer::global();
        gazetteer.matches(""); // builds its automaton
        Self {
            gazetteer,
            topics: topics::TopicModel::global(),
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
        let body_matches = self.gazetteer.matches(body);
        let regions = regions::classify(
            self.gazetteer,
            (title, self.gazetteer.matches(title)),
            (body, &body_matches),
        );
        let topics = self.topics.classify(title, body);
        article.enriched.regions = regions;
        article.enriched.topics = topics;
        article.enriched.models.topics = self.topics.version().to_owned();
        article.body_places = Some(body_matches);
        Ok(())
    }
}
