//! The extract stage: entities, quotes and events (who did what to whom, where, when,
//! and whether it happened) from the clean text.

pub mod dates;
pub mod entities;
pub mod events;
pub mod organisations;
pub mod people;
pub mod quotes;
pub mod syntax;
pub mod text;
pub mod words;

use std::ops::Range;
use std::sync::Arc;

use super::{Article, Reference, Stage, StageError};
use crate::geo::{Gazetteer, Match, MentionKind};
use crate::record::{Entity, Quote};
use entities::Found;
use events::agents::Agents;
use events::calibration::{self, ScoredEvent};
use events::nouns::TakingPart;
use events::triggers::Lexicon;
use organisations::Organisations;
use people::People;
use syntax::Syntax;
use text::Token;
use words::WordClasses;

/// The clean text cut into what every extractor needs.
pub struct Document<'a> {
    pub text: &'a str,
    pub tokens: Vec<Token<'a>>,
    /// Sentences as token ranges, in order; none crosses a paragraph.
    pub sentences: Vec<Range<usize>>,
    /// Country mentions: all but the gazetteer's weak terms, except weak country names
    /// ("Jordan", "Chad"), which in running text are mostly the country.
    pub places: Vec<Match>,
    pub gazetteer: &'a Gazetteer,
    pub data: &'a ExtractData,
}

impl<'a> Document<'a> {
    pub fn new(text: &'a str, reference: &'a Reference) -> Self {
        Self::with_places(text, reference.gazetteer.matches(text), reference)
    }

    /// A document whose gazetteer matches are already known.
    pub fn with_places(text: &'a str, places: Vec<Match>, reference: &'a Reference) -> Self {
        let tokens = text::tokenize(text, &reference.extract.words);
        let sentences = text::sentences(&tokens);
        let places = places
            .into_iter()
            .filter(|m| !m.weak || m.mention.kind == MentionKind::Name)
            // A name written in lower case is another word ("a reunion", "chad").
            .filter(|m| {
                text[m.mention.start..]
                    .chars()
                    .next()
                    .is_some_and(|c| !c.is_lowercase())
            })
            .collect();
        Self {
            text,
            tokens,
            sentences,
            places,
            gazetteer: &reference.gazetteer,
            data: &reference.extract,
        }
    }

    /// The places that start within `bytes`, found by binary search (they are in order).
    pub fn places_in(&self, bytes: Range<usize>) -> &[Match] {
        let from = self
            .places
            .partition_point(|m| m.mention.start < bytes.start);
        let to = self.places.partition_point(|m| m.mention.start < bytes.end);
        &self.places[from..to.max(from)]
    }

    /// The text of a sentence.
    pub fn sentence_text(&self, sentence: &Range<usize>) -> &'a str {
        &self.text[self.tokens[sentence.start].start()..self.tokens[sentence.end - 1].end()]
    }
}

/// What the extract stage reads besides the gazetteer: the dictionaries and models of
/// data/extract/ and data/syntax/, and the tables it builds from the word lists in its code.
/// Every extractor reaches them through the [`Document`].
pub struct ExtractData {
    /// The word classes every token is given.
    pub words: WordClasses,
    pub syntax: Syntax,
    /// Trigger phrases of events.
    pub lexicon: Lexicon,
    /// The words that give an actor's sector, and the capitals that act for their state.
    pub agents: Agents,
    /// Political persons by full name.
    pub people: People,
    /// International organisations by name and acronym.
    pub organisations: Organisations,
    /// The verbs that take part in the event their object names ("hold talks").
    pub taking_part: TakingPart,
    /// Date expressions.
    pub dates: dates::Patterns,
    /// The event confidence model.
    pub calibration: calibration::Model,
}

impl ExtractData {
    pub fn load() -> Self {
        Self {
            words: WordClasses::default(),
            syntax: Syntax::load(),
            lexicon: Lexicon::load(),
            agents: Agents::load(),
            people: People::load(),
            organisations: Organisations::load(),
            taking_part: TakingPart::default(),
            dates: dates::Patterns::default(),
            calibration: calibration::Model::load(),
        }
    }
}

pub struct Extract {
    /// The gazetteer and the [`ExtractData`].
    reference: Arc<Reference>,
}

impl Extract {
    pub fn new(reference: &Arc<Reference>) -> Self {
        Self {
            reference: Arc::clone(reference),
        }
    }
}

impl Stage for Extract {
    fn name(&self) -> &'static str {
        "extract"
    }

    fn apply(&self, article: &mut Article) -> Result<(), StageError> {
        let (found, quotes, events) = self.extract(article);
        article.enriched.quotes = quotes;
        article.enriched.events = events.into_iter().map(|scored| scored.event).collect();
        article.enriched.entities = found
            .into_iter()
            .map(|f| Entity {
                mentions: f.spans.len() as u32,
                text: f.text,
                kind: f.kind,
            })
            .collect();
        Ok(())
    }
}

impl Extract {
    /// The events of an article that clean and classify have been through, as the stage
    /// finds them, each with the features its confidence came from (`make
    /// train-confidence` fits the confidence model on them).
    pub fn scored_events(&self, article: &mut Article) -> Vec<ScoredEvent> {
        self.extract(article).2
    }

    /// What the stage finds in an article: entities, quotes and events.
    fn extract(&self, article: &mut Article) -> (Vec<Found>, Vec<Quote>, Vec<ScoredEvent>) {
        let places = article.body_places.take();
        let published = article.enriched.published_at.map(|at| at.date_naive());
        let text = if article.enriched.clean.text.is_empty() {
            &article.input.body
        } else {
            &article.enriched.clean.text
        };
        let doc = match places {
            Some(places) => Document::with_places(text, places, &self.reference),
            None => Document::new(text, &self.reference),
        };
        let found = entities::find(&doc);
        let quotes = quotes::find(&doc, &found);
        // In sport and entertainment a country's name is a team, not a state.
        let leisure = article
            .enriched
            .topics
            .first()
            .is_some_and(|t| matches!(t.qcode.as_str(), "medtop:15000000" | "medtop:01000000"));
        let events = events::find_scored(&doc, &found, published, !leisure);
        (found, quotes, events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RawArticle;
    use crate::stage::reference::for_tests;

    fn extract(body: String) -> crate::record::EnrichedArticle {
        let mut article = Article::new(RawArticle::text("hostile", body));
        Extract::new(for_tests())
            .apply(&mut article)
            .expect("extract accepts any text");
        article.enriched
    }

    #[test]
    fn survives_run_on_and_repetitive_text() {
        // No sentence ends, names and triggers everywhere, unclosed quotes: each once
        // made the work grow with the square of the length.
        let words = [
            "Paris",
            "President Xi Jinping",
            "NATO",
            "attack",
            "the summit",
            "will",
        ];
        let run_on: String = (0..60_000)
            .map(|i| words[i % words.len()])
            .collect::<Vec<_>>()
            .join(" ");
        let out = extract(format!("{run_on} “unclosed «quote „marks"));
        assert!(out.events.len() <= 256);
        assert!(!out.entities.is_empty());
        let repeated = "Xi met Putin in Moscow on May 16. ".repeat(5_000);
        let out = extract(repeated);
        assert_eq!(out.events.len(), 1, "one meeting told 5,000 times");
    }
}
