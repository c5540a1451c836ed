//! What stories report: each article's story, or why it has none.

use tracing::warn;

use super::metrics;
use crate::story::sizes::StorySizes;
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

/// How large the stories in an index's window are now.
pub struct StoriesMeasured<'a> {
    pub sizes: &'a StorySizes,
}

impl StoriesMeasured<'_> {
    pub fn emit(&self) {
        let gauge = &metrics().stories_in_window;
        for (band, stories) in self.sizes.bands() {
            gauge
                .with_label_values(&[band])
                .set(i64::try_from(stories).unwrap_or(i64::MAX));
        }
    }
}
