//! Words and sentences: the units the extractors work on.
//!
//! A token is a word (letters and digits, with inner apostrophes, hyphens and dots, and
//! the final dot of an abbreviation such as "U.S." or "Prof."), a number ("2,000",
//! "3:29") or one punctuation mark.
//! Sentences end at ".", "!" or "?" before a capitalised word, never inside an
//! abbreviation ("Washington D.C. on July 9", "Prof. Kim"), and never cross a paragraph.

use std::borrow::Cow;
use std::ops::Range;

use super::words::{WordClass, WordClasses, CAPITALISED, HAS_UPPER_CASE, PARAGRAPH_START, WORD};
use crate::folded::ascii_lower;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    pub text: &'a str,
    /// Byte offset into the document text, which is far below 4 GiB (records are capped).
    start: u32,
    /// The word classes of its lower-case form, and the marks of its shape and place.
    classes: WordClass,
}

impl<'a> Token<'a> {
    /// Byte offset of the token in the document text.
    pub fn start(&self) -> usize {
        self.start as usize
    }

    /// Byte offset after the token.
    pub fn end(&self) -> usize {
        self.start as usize + self.text.len()
    }

    pub fn is_word(&self) -> bool {
        self.classes.contains(WORD)
    }

    /// Starts with an upper-case letter ("Putin", "NATO", "U.S.").
    pub fn is_capitalised(&self) -> bool {
        self.classes.contains(CAPITALISED)
    }

    /// Opens a paragraph.
    pub fn starts_paragraph(&self) -> bool {
        self.classes.contains(PARAGRAPH_START)
    }

    /// Only upper-case letters (and dots): "NATO", "U.N.".
    pub fn is_acronym(&self) -> bool {
        if !self.is_capitalised() {
            return false;
        }
        let letters = self.text.chars().filter(|c| c.is_alphabetic()).count();
        letters >= 2
            && self
                .text
                .chars()
                .all(|c| c.is_uppercase() || c == '.' || c == '&')
    }

    /// `text` in lower case (most words need no copy).
    pub fn lower(&self) -> Cow<'a, str> {
        if self.classes.contains(HAS_UPPER_CASE) {
            Cow::Owned(self.text.to_lowercase())
        } else {
            Cow::Borrowed(self.text)
        }
    }

    /// Whether the word belongs to a class of [`super::words`].
    pub fn is(&self, class: WordClass) -> bool {
        self.classes.contains(class)
    }
}

/// Abbreviations whose final dot never ends a sentence (titles, months, company forms).
#[rustfmt::skip]
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "gen", "lt", "col", "capt", "sgt", "maj", "adm", "rev",
    "st", "sen", "rep", "gov", "pres", "jr", "sr", "inc", "corp", "ltd", "co", "no", "vs",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mt",
    "ft", "ave", "approx", "dept", "univ", "est", "fig", "e.g", "i.e", "etc", "cf",
];

/// Words that open a sentence after a dotted abbreviation: "... the U.S. The talks".
#[rustfmt::skip]
const SENTENCE_OPENERS: &[&str] = &[
    "the", "a", "an", "it", "he", "she", "they", "we", "i", "this", "that", "these", "those",
    "but", "and", "in", "on", "at", "after", "before", "however", "meanwhile", "there",
];

/// Splits `text` (shorter than 4 GiB) into tokens, each with its word classes.
pub fn tokenize<'a>(text: &'a str, word_classes: &WordClasses) -> Vec<Token<'a>> {
    assert!(u32::try_from(text.len()).is_ok(), "text over 4 GiB");
    // About one token per five bytes of news text.
    let mut tokens = Vec::with_capacity(text.len() / 5);
    let bytes = text.as_bytes();
    let mut paragraph_start = true;
    let mut start = 0;
    while let Some(c) = text[start..].chars().next() {
        if c.is_whitespace() {
            if c == '\n' && bytes.get(start + 1) == Some(&b'\n') {
                paragraph_start = true;
            }
            start += c.len_utf8();
            continue;
        }
        let mut end = start + c.len_utf8();
        if c.is_alphanumeric() {
            loop {
                // ASCII letters and digits, most of any word, in one step.
                end += bytes[end..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric())
                    .count();
                let Some(n) = text[end..].chars().next() else {
                    break;
                };
                let after = text[end + n.len_utf8()..].chars().next();
                let joins = matches!(n, '.' | '-' | '\'' | '’' | '&' | '‑')
                    && after.is_some_and(char::is_alphanumeric)
                    && !is_possessive(&text[end..]);
                // "2,000" and "3:29" are one number.
                let digits = matches!(n, ',' | ':')
                    && bytes[end - 1].is_ascii_digit()
                    && after.is_some_and(|c| c.is_ascii_digit());
                let joins = joins || digits;
                if !(n.is_alphanumeric() || joins) {
                    break;
                }
                end += n.len_utf8();
            }
            if text[end..].starts_with('.') && keeps_final_dot(&text[start..end]) {
                end += 1;
            }
        } else if is_possessive(&text[start..]) {
            // "China’s": the possessive is a token of its own.
            end = start + c.len_utf8() + 1;
        }
        let word = &text[start..end];
        let has_upper_case = if word.is_ascii() {
            word.bytes().any(|b| b.is_ascii_uppercase())
        } else {
            word.chars().any(char::is_uppercase)
        };
        let classes = classes_of_word(word_classes, word, has_upper_case)
            .with(HAS_UPPER_CASE, has_upper_case)
            .with(WORD, c.is_alphanumeric())
            .with(CAPITALISED, c.is_uppercase())
            .with(PARAGRAPH_START, paragraph_start);
        tokens.push(Token {
            text: word,
            start: start as u32,
            classes,
        });
        paragraph_start = false;
        start = end;
    }
    tokens
}

/// The word classes of a word in any letter case. Every token is looked up, so a short
/// ASCII word is lower-cased on the stack rather than into a new string.
fn classes_of_word(classes: &WordClasses, word: &str, has_upper_case: bool) -> WordClass {
    if !has_upper_case {
        return classes.of(word);
    }
    let mut buffer = [0u8; 24];
    match ascii_lower(word, &mut buffer) {
        Some(lower) => classes.of(lower),
        None => classes.of(&word.to_lowercase()),
    }
}

fn is_possessive(rest: &str) -> bool {
    let mut it = rest.chars();
    matches!(it.next(), Some('\'' | '’'))
        && matches!(it.next(), Some('s'))
        && !it.next().is_some_and(char::is_alphanumeric)
}

/// "U.S" + "." and "Prof" + ".": the dot belongs to the word.
fn keeps_final_dot(word: &str) -> bool {
    let dotted = word.contains('.') && word.split('.').all(|part| part.chars().count() <= 2);
    let initial = word.chars().count() == 1 && word.chars().all(char::is_uppercase);
    dotted || initial || ABBREVIATIONS.iter().any(|a| a.eq_ignore_ascii_case(word))
}

/// The longest sentence, in tokens: a run-on text (a list, a scrape without punctuation)
/// is cut here so that the work per sentence stays bounded.
pub const MAX_SENTENCE_TOKENS: usize = 160;

/// Sentences as ranges of token indices.
pub fn sentences(tokens: &[Token]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < tokens.len() {
        if i > start && (tokens[i].starts_paragraph() || i - start >= MAX_SENTENCE_TOKENS) {
            out.push(start..i);
            start = i;
        }
        let token = &tokens[i];
        let mut end = i + 1;
        let closes = match token.text {
            "." | "!" | "?" => true,
            text if text.ends_with('.') && text.len() > 2 => {
                // A dotted abbreviation ends a sentence only before a sentence opener.
                tokens.get(i + 1).is_some_and(|next| {
                    next.is_capitalised() && SENTENCE_OPENERS.contains(&&*next.lower())
                })
            }
            _ => false,
        };
        if closes {
            while tokens
                .get(end)
                .is_some_and(|t| matches!(t.text, "”" | "\"" | "’" | "'" | ")" | "»"))
                && !tokens[end].starts_paragraph()
            {
                end += 1;
            }
            let next_opens = tokens.get(end).is_none_or(|next| {
                next.starts_paragraph()
                    || next.is_capitalised()
                    || next.text.chars().next().is_some_and(|c| c.is_ascii_digit())
                    || matches!(next.text, "“" | "\"" | "‘" | "(" | "«")
            });
            if next_opens {
                out.push(start..end);
                start = end;
            }
        }
        i = end;
    }
    if start < tokens.len() {
        out.push(start..tokens.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::reference::for_tests;

    fn tokenize(text: &str) -> Vec<Token<'_>> {
        super::tokenize(text, &for_tests().extract.words)
    }

    fn split(text: &str) -> Vec<String> {
        let tokens = tokenize(text);
        sentences(&tokens)
            .into_iter()
            .map(|r| text[tokens[r.start].start()..tokens[r.end - 1].end()].to_owned())
            .collect()
    }

    #[test]
    fn abbreviations_do_not_end_sentences() {
        assert_eq!(
            split("The NATO meeting in Washington D.C. on July 9 matters. Prof. Kim spoke to the U.S. envoy. It rained."),
            vec![
                "The NATO meeting in Washington D.C. on July 9 matters.",
                "Prof. Kim spoke to the U.S. envoy.",
                "It rained."
            ]
        );
    }

    #[test]
    fn a_dotted_abbreviation_ends_a_sentence_before_an_opener() {
        assert_eq!(
            split("Xi targeted the U.S. The talks end."),
            vec!["Xi targeted the U.S.", "The talks end."]
        );
    }

    #[test]
    fn quotes_stay_with_their_sentence_and_paragraphs_split() {
        assert_eq!(
            split("He said, “It works.” Then left\n\nNew paragraph here"),
            vec!["He said, “It works.”", "Then left", "New paragraph here"]
        );
    }

    #[test]
    fn run_on_text_is_cut_into_bounded_sentences() {
        let text = "word ".repeat(1000);
        let tokens = tokenize(&text);
        let all = sentences(&tokens);
        assert!(all.iter().all(|s| s.len() <= MAX_SENTENCE_TOKENS));
        assert_eq!(all.iter().map(|s| s.len()).sum::<usize>(), 1000);
    }

    #[test]
    fn a_token_stays_small() {
        // Two million of them in a 10 MB article: at 48 bytes they were the largest part
        // of an article's memory.
        assert!(std::mem::size_of::<Token>() <= 24);
        let tokens = tokenize("A\n\nBé c");
        let spans: Vec<(usize, usize, bool)> = tokens
            .iter()
            .map(|t| (t.start(), t.end(), t.starts_paragraph()))
            .collect();
        assert_eq!(spans, [(0, 1, true), (3, 6, true), (7, 8, false)]);
        assert!(tokens[1].is_capitalised() && tokens[1].is_word());
        assert_eq!(tokens[1].lower(), "bé");
    }

    #[test]
    fn possessives_and_compounds_tokenize() {
        let tokens: Vec<&str> = tokenize("China’s North Korea-Russia summit, U.S.-led")
            .iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(
            tokens,
            vec![
                "China",
                "’s",
                "North",
                "Korea-Russia",
                "summit",
                ",",
                "U.S.",
                "-",
                "led"
            ]
        );
    }

    #[test]
    fn numbers_keep_their_separators() {
        let tokens: Vec<&str> = tokenize("Some 2,000 officers left at 3:29, then 4, 5.")
            .iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(
            tokens,
            vec![
                "Some", "2,000", "officers", "left", "at", "3:29", ",", "then", "4", ",", "5", "."
            ]
        );
    }
}
