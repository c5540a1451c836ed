//! The classify stage: which countries an article is about ([`regions`]) and which IPTC
//! Media Topics it covers ([`topics`]). Both read the clean text when the clean stage has
//! produced it, and the input's title and body otherwise. Countries come from one
//! Aho-Corasick pass over the folded text, topics from a trained model.

pub mod regions;
pub mod topics;

use std::sync::Arc;

use super::{Article, Reference, Stage, StageError};

pub struct Classify {
    /// The gazetteer and the topic model.
    reference: Arc<Reference>,
    datelines: regions::Datelines,
}

impl Classify {
    pub fn new(reference: &Arc<Reference>) -> Self {
        Self {
            reference: Arc::clone(reference),
            datelines: regions::Datelines::default(),
        }
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
        let Reference {
            gazetteer, topics, ..
        } = &*self.reference;
        let body_matches = gazetteer.matches(body);
        let regions = regions::classify(
            gazetteer,
            &self.datelines,
            (title, gazetteer.matches(title)),
            (body, &body_matches),
        );
        article.enriched.regions = regions;
        article.enriched.topics = topics.classify(title, body);
        article.enriched.models.topics = topics.version().to_owned();
        article.body_places = Some(body_matches);
        Ok(())
    }
}
