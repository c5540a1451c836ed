//! The reference data and models the stages read: the country gazetteer (classify and
//! extract), the topic model (classify), and the extract stage's dictionaries and models.
//! They are loaded once, from the data embedded in the binary, where the pipeline is built,
//! and handed to each stage that reads them: no stage reaches for data of its own, so what
//! a pipeline runs with is decided in one place. The pipeline and its stages share one
//! load behind an `Arc`; the code under a stage borrows from it, at no cost per article.

use super::classify::topics::TopicModel;
use super::extract::ExtractData;
use crate::geo::Gazetteer;

pub struct Reference {
    pub gazetteer: Gazetteer,
    pub topics: TopicModel,
    pub extract: ExtractData,
}

impl Reference {
    /// Reads and indexes everything now rather than on the first article.
    pub fn load() -> Self {
        let gazetteer = Gazetteer::load();
        gazetteer.matches(""); // builds its automaton
        Self {
            gazetteer,
            topics: TopicModel::load(),
            extract: ExtractData::load(),
        }
    }
}

/// The reference data for the tests beside the code, loaded once per test binary.
#[cfg(test)]
pub(crate) fn for_tests() -> &'static std::sync::Arc<Reference> {
    use std::sync::{Arc, OnceLock};
    static SHARED: OnceLock<Arc<Reference>> = OnceLock::new();
    SHARED.get_or_init(|| Arc::new(Reference::load()))
}
