use chrono::{DateTime, Duration, Utc};

use super::*;

pub(super) const SAME_SUBJECT_TEXT: &str = SAME_SUBJECT;

const STORY: &str = "Finance ministers from the euro zone agreed on Monday to release a \
    further 8.7 billion euros of loans to Greece after Athens passed a package of spending \
    cuts through parliament. The money will let Greece repay bonds that fall due in August, \
    officials in Brussels said. Protesters gathered outside the parliament building in \
    Athens as the vote took place, and police used tear gas to disperse a crowd of several \
    thousand. The International Monetary Fund is expected to decide on its share of the \
    loans later this month.";
const SAME_SUBJECT: &str = "Greek unions called a general strike for Thursday against the \
    spending cuts, the third this year. Schools, hospitals and ferries will close, and \
    flights are expected to be cancelled as air traffic controllers join the walkout. The \
    government says the cuts are the price of the loans that keep the country solvent, \
    while the opposition wants new elections before any more measures are passed.";

fn at(hours: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-07-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::hours(hours)
}

fn rewrite(text: &str) -> String {
    let sentences: Vec<&str> = text.split(". ").collect();
    let mut kept = vec![sentences[2], sentences[0], sentences[1]];
    kept.push("Our correspondent said reaction in the markets was muted");
    kept.join(". ")
        .replace("agreed on Monday", "agreed late on Monday")
}

#[test]
fn copies_join_the_first_articles_story_and_another_story_on_the_subject_does_not() {
    let mut index = StoryIndex::new(StoryConfig::default());
    let first = index.assign("wire-1", &Signature::of(STORY), at(0));
    assert_eq!(first.cluster_id, cluster_id("wire-1"));
    assert_eq!(first.duplicate_of, None);
    assert_eq!(first.first_seen, at(0));

    let copy = index.assign("paper-7", &Signature::of(&rewrite(STORY)), at(2));
    assert_eq!(copy.cluster_id, first.cluster_id);
    assert_eq!(copy.duplicate_of.as_deref(), Some("wire-1"));
    assert_eq!(copy.first_seen, at(0));
    assert!(copy.similarity.unwrap() > 0.5, "{copy:?}");

    let other = index.assign("wire-2", &Signature::of(SAME_SUBJECT), at(3));
    assert_eq!(other.cluster_id, cluster_id("wire-2"));
    assert_eq!(other.duplicate_of, None);
    let kept = index.len();
    assert_eq!(kept, 2 + usize::from(copy.similarity.unwrap() < 0.9));
    let verbatim = index.assign("paper-8", &Signature::of(STORY), at(4));
    assert_eq!(verbatim.duplicate_of.as_deref(), Some("wire-1"));
    assert_eq!(
        index.len(),
        kept,
        "a verbatim copy adds nothing to the index"
    );
}

#[test]
fn an_article_seen_again_gets_the_same_story() {
    let mut index = StoryIndex::new(StoryConfig::default());
    let first = index.assign("wire-1", &Signature::of(STORY), at(0));
    assert_eq!(index.assign("wire-1", &Signature::of(STORY), at(5)), first);
    assert_eq!(index.len(), 1);
}

#[test]
fn stories_leave_after_the_window_and_when_the_index_is_full() {
    let config = StoryConfig {
        window_secs: 24 * 3600,
        ..StoryConfig::default()
    };
    let mut index = StoryIndex::new(config.clone());
    index.assign("wire-1", &Signature::of(STORY), at(0));
    let late = index.assign("paper-7", &Signature::of(&rewrite(STORY)), at(25));
    assert_eq!(late.duplicate_of, None, "the first left the window");

    let mut index = StoryIndex::new(StoryConfig {
        max_stories: 1,
        ..config
    });
    index.assign("wire-1", &Signature::of(STORY), at(0));
    index.assign("wire-2", &Signature::of(SAME_SUBJECT), at(1));
    assert_eq!(index.len(), 1);
    let copy = index.assign("paper-7", &Signature::of(&rewrite(STORY)), at(2));
    assert_eq!(copy.duplicate_of, None, "the oldest left to make room");
}

#[test]
fn text_without_shingles_founds_a_story_of_its_own_and_is_not_kept() {
    let mut index = StoryIndex::new(StoryConfig::default());
    let story = index.assign("empty", &Signature::of(""), at(0));
    assert_eq!(story.cluster_id, cluster_id("empty"));
    assert!(index.is_empty());
}

#[test]
fn a_story_counts_its_articles_while_its_first_is_in_the_window() {
    let local = "In Thessaloniki, the northern port city, shopkeepers on Tsimiski Street said \
        trade had fallen by a third since the spring, and the city council voted to delay the \
        rise in water charges that it had approved in March. The mayor told reporters that the \
        council would ask the ministry for an exemption for families with young children and \
        for pensioners living alone in the old town.";
    let sentences: Vec<&str> = STORY.split(". ").collect();
    let regional = format!("{}. {local}", sentences[..3].join(". "));
    let bands = |index: &StoryIndex| -> Vec<(&str, u64)> {
        index.sizes().bands().filter(|(_, n)| *n > 0).collect()
    };
    let config = StoryConfig {
        window_secs: 24 * 3600,
        ..StoryConfig::default()
    };
    let mut index = StoryIndex::new(config);
    index.assign("wire-1", &Signature::of(STORY), at(0));
    index.assign("wire-2", &Signature::of(SAME_SUBJECT), at(1));
    assert_eq!(bands(&index), [("1", 2)]);
    let version = index.assign("regional-1", &Signature::of(&regional), at(2));
    assert_eq!(version.duplicate_of.as_deref(), Some("wire-1"));
    assert_eq!(
        index.len(),
        3,
        "the regional version adds its own paragraphs"
    );
    // Only the regional version holds this one's text: the story grows through it.
    let local_copy = index.assign("regional-2", &Signature::of(local), at(3));
    assert_eq!(local_copy.duplicate_of.as_deref(), Some("wire-1"));
    index.assign("wire-1", &Signature::of(STORY), at(4));
    assert_eq!(
        bands(&index),
        [("1", 1), ("3-5", 1)],
        "redelivery adds none"
    );

    let next_day = index.assign("wire-3", &Signature::of(SAME_SUBJECT), at(26));
    assert_eq!(next_day.duplicate_of, None);
    assert_eq!(
        bands(&index),
        [("1", 1)],
        "the first stories left the window"
    );
}
