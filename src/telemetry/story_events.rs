//! What stories report: each article's story, or why it has none.

use tracing::warn;

use super::metrics;
use crate::story::Story;

/// An article was given its story.
pub struct StoryAssigned<'a> {
    pub story: &'a Story,
}

impl StoryAssigned<'_> {
    pub fn emit(&self) {
        let metrics = metrics();
        match self.story.similarity {
            Some(similarity) => {
                metrics.stories.with_label_values(&["joined"]).inc();
                metrics.story_similarity.observe(similarity);
            }
            None => metrics.stories.with_label_values(&["founded"]).inc(),
        }
    }
}

/// An article is published without a story: the story log could not be written or read.
pub struct StoryUnassigned<'a> {
    pub article_id: &'a str,
    pub error: &'a str,
}

impl StoryUnassigned<'_> {
    pub fn emit(&self) {
        metrics().stories.with_label_values(&["unassigned"]).inc();
        warn!(
            article_id = self.article_id,
            error = self.error,
            "Article published without its story."
        );
    }
}
