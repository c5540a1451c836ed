//! The clean stage: the article alone, out of a scraped page or out of text copied from
//! one with the site's furniture still in it.
//!
//! - `html`: a one-pass tokenizer and light element tree, block scoring picks the article
//! - `text`: line-level furniture removal for plain text
//! - `boilerplate`: judging one line or short block (prompts, labels, credits, counters)
//! - `normalize`: entities, invisible characters, whitespace, Unicode NFC
//! - `fingerprint`: 64-bit SimHash of the cleaned text
//! - `language`: ISO 639-1 code of the text

mod boilerplate;
pub(crate) mod fingerprint;
mod html;
mod language;
mod normalize;
mod text;

use super::{Article, Stage, StageError};
use crate::record::{self as record, ContentType, Removal};

use boilerplate::Furniture;
use language::Languages;

/// Entries kept in `clean.removed`, and characters kept of each: enough to debug a site,
/// bounded on any page.
const MAX_REMOVALS: usize = 200;
const MAX_REMOVAL_CHARS: usize = 160;

pub struct Clean {
    furniture: Furniture,
    hints: html::Hints,
    languages: Languages,
}

impl Clean {
    pub fn new() -> Self {
        Self {
            furniture: Furniture::new(),
            hints: html::Hints::new(),
            languages: Languages::new(),
        }
    }
}

impl Default for Clean {
    fn default() -> Self {
        Self::new()
    }
}

impl Stage for Clean {
    fn name(&self) -> &'static str {
        "clean"
    }

    fn apply(&self, article: &mut Article) -> Result<(), StageError> {
        let input = &article.input;
        let extracted = match input.content_type {
            ContentType::Html => html::extract(&input.body, &self.hints, &self.furniture),
            ContentType::Text => {
                text::extract(&input.body, input.title.as_deref(), &self.furniture)
            }
        };
        let text = extracted.paragraphs.join("\n\n");
        let declared_language = input.language.as_deref().or(extracted.language.as_deref());
        article.enriched.clean = record::Clean {
            title: input
                .title
                .as_deref()
                .map(normalize::normalize)
                .filter(|t| !t.is_empty())
                .or(extracted.title),
            section: input.section.clone().or(extracted.section),
            date: extracted.date,
            credits: extracted.credits,
            language: self.languages.identify(&text, declared_language),
            word_count: normalize::word_count(&text),
            fingerprint: fingerprint::simhash(&text),
            removed: extracted.removed,
            paragraphs: extracted.paragraphs,
            text,
        };
        Ok(())
    }
}

/// What an extractor found in one input.
#[derive(Debug, Default)]
struct Extracted {
    title: Option<String>,
    section: Option<String>,
    /// Publication date as the page states it.
    date: Option<String>,
    credits: Vec<String>,
    paragraphs: Vec<String>,
    /// The language the page declares (`<html lang>`), a fallback for identification.
    language: Option<String>,
    removed: Vec<Removal>,
}

/// The removal log, bounded in entries and length.
#[derive(Default)]
struct Removals(Vec<Removal>);

impl Removals {
    fn add(&mut self, text: &str, reason: &str) {
        if self.0.len() >= MAX_REMOVALS {
            return;
        }
        self.0.push(Removal {
            text: text.chars().take(MAX_REMOVAL_CHARS).collect(),
            reason: reason.to_owned(),
        });
    }

    fn into_vec(self) -> Vec<Removal> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{decode, Input, RawArticle};

    fn clean(raw: RawArticle) -> record::Clean {
        let mut article = Article::new(raw);
        Clean::new().apply(&mut article).unwrap();
        article.enriched.clean
    }

    #[test]
    fn fills_every_field_for_the_seed() {
        let raw = decode(
            include_bytes!("../../../tests/golden/seed/article.json"),
            usize::MAX,
        )
        .ok()
        .and_then(Input::into_article)
        .unwrap();
        let out = clean(raw);
        assert_eq!(
            out.title.as_deref(),
            Some("The World Watches as Xi Joins Putin in Kazakhstan")
        );
        assert_eq!(out.section.as_deref(), Some("World"));
        assert_eq!(out.credits, ["News1"]);
        assert_eq!(out.language.as_deref(), Some("en"));
        assert_eq!(out.paragraphs.len(), 10);
        assert_eq!(out.text, out.paragraphs.join("\n\n"));
        assert_eq!(out.word_count, out.text.split_whitespace().count());
        assert_eq!(out.fingerprint.len(), 16);
        for banned in ["Home World", "NO COMMENTS", "LEAVE A REPLY", "© News1"] {
            assert!(!out.text.contains(banned), "{banned}");
        }
    }

    #[test]
    fn survives_hostile_text() {
        let line = "Quarterly profits at the media group rose sharply, the firm said. ";
        let big = format!("{}\n\n", line.repeat(20)).repeat(8_000);
        assert!(big.len() > 10_000_000);
        let out = clean(RawArticle::text("big", big));
        assert_eq!(out.paragraphs.len(), 8_000);
        let one_line = clean(RawArticle::text("line", "x ".repeat(5_000_000)));
        assert_eq!(one_line.paragraphs.len(), 1);
        let garbage: String = (0..1_000_000u32)
            .map(|i| char::from_u32(i.wrapping_mul(2_654_435_761) % 0x3000).unwrap_or('\n'))
            .collect();
        let out = clean(RawArticle::text("garbage", garbage));
        assert!(out.removed.len() <= MAX_REMOVALS);
    }

    #[test]
    fn cleans_an_html_page() {
        let page = "<html lang=\"de\"><head><title>Ein Titel | Zeitung</title>\
            <meta property=\"article:published_time\" content=\"2024-07-01T09:00:00Z\">\
            <meta property=\"article:section\" content=\"Politik\"></head><body>\
            <nav><a href=\"/\">Start</a> <a href=\"/p\">Politik</a></nav>\
            <article><h1>Ein Titel</h1>\
            <p>Die Regierung hat am Montag ein neues Gesetz beschlossen, das die Steuern senkt.</p>\
            <p>Der Bundestag wird in der kommenden Woche darüber beraten, sagte ein Sprecher.</p>\
            <div class=\"share-bar\"><a href=\"#\">Teilen</a></div></article>\
            <footer>Impressum</footer></body></html>";
        let mut raw = RawArticle::text("p", page);
        raw.content_type = ContentType::Html;
        let out = clean(raw);
        assert_eq!(out.title.as_deref(), Some("Ein Titel"));
        assert_eq!(out.section.as_deref(), Some("Politik"));
        assert_eq!(out.date.as_deref(), Some("2024-07-01T09:00:00+00:00"));
        assert_eq!(out.language.as_deref(), Some("de"));
        assert_eq!(out.paragraphs.len(), 2);
        assert!(!out.text.contains("Teilen") && !out.text.contains("Impressum"));
    }
}
