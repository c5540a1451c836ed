//! Direct quotes and who said them.
//!
//! A quote is the text between quotation marks (to the end of its paragraph when the
//! closing mark is missing, as in a quote that runs on). Its speaker is the person named
//! in the attribution before it ("Professor Hwang Jae Ho ... said, “...”") or after it
//! ("“...,” said Hwang" / "“...,” Hwang said"), resolved to the entity's full name; a
//! pronoun ("he said") takes the last person named before the quote.

use std::ops::Range;

use super::entities::Found;
use super::Document;
use crate::record::{EntityType, Quote};

#[rustfmt::skip]
const ATTRIBUTION_VERBS: &[&str] = &[
    "said", "says", "told", "added", "stated", "noted", "explained", "warned", "argued",
    "insisted", "claimed", "announced", "wrote", "asked", "replied", "recalled", "stressed",
    "emphasized", "emphasised", "commented", "declared", "tweeted", "according", "saying",
    "continued", "admitted", "acknowledged", "urged", "predicted",
];

/// Scare quotes and titles are short; a quote without a speaker must read as a sentence.
const MIN_WORDS: usize = 4;
const MIN_WORDS_WITHOUT_SPEAKER: usize = 8;
/// How far around a quote its attribution may be, in bytes.
const ATTRIBUTION_WINDOW: usize = 240;

/// (opening, closing) quotation marks.
const MARKS: &[(char, char)] = &[('“', '”'), ('"', '"'), ('«', '»'), ('„', '“')];

pub fn find(doc: &Document, entities: &[Found]) -> Vec<Quote> {
    let mentions = Mentions::of(entities);
    let mut quotes = Vec::new();
    let mut offset = 0;
    for paragraph in doc.text.split("\n\n") {
        for (open, inner, close) in quoted_spans(paragraph) {
            let inner = offset + inner.start..offset + inner.end;
            let text = doc.text[inner.clone()].trim();
            let words = text.split_whitespace().count();
            if words < MIN_WORDS {
                continue;
            }
            let before = offset + paragraph_floor(paragraph, open)..offset + open;
            let after_end =
                floor_boundary(paragraph, (close + ATTRIBUTION_WINDOW).min(paragraph.len()));
            let after = offset + close..offset + after_end;
            let speaker = speaker(doc, &mentions, before, after, inner.start);
            if speaker.is_none() && words < MIN_WORDS_WITHOUT_SPEAKER {
                continue;
            }
            quotes.push(Quote {
                speaker,
                text: text.trim_end_matches([',', ' ']).to_owned(),
            });
        }
        offset += paragraph.len() + 2;
    }
    quotes
}

/// Every mention of a person or organisation, in text order, so that the names in an
/// attribution window are found by binary search: a body of many quotes and many names
/// costs the sum of the two, not their product.
struct Mentions<'e> {
    /// (span, entity) of persons and organisations, by start.
    named: Vec<(Range<usize>, &'e Found)>,
    /// Person mentions by end: each mention's end, with the person of the latest-starting
    /// mention among those ending at or before it.
    persons_by_end: Vec<(usize, &'e Found)>,
}

impl<'e> Mentions<'e> {
    fn of(entities: &'e [Found]) -> Self {
        let mut named: Vec<(Range<usize>, &Found)> = entities
            .iter()
            .filter(|e| e.kind != EntityType::Location)
            .flat_map(|e| e.spans.iter().map(move |s| (s.clone(), e)))
            .collect();
        named.sort_by_key(|(span, _)| span.start);
        let mut persons: Vec<&(Range<usize>, &Found)> = named
            .iter()
            .filter(|(_, e)| e.kind == EntityType::Person)
            .collect();
        persons.sort_by_key(|(span, _)| span.end);
        let mut latest: Option<(usize, &Found)> = None;
        let persons_by_end = persons
            .into_iter()
            .map(|(span, e)| {
                if latest.is_none_or(|(start, _)| span.start >= start) {
                    latest = Some((span.start, e));
                }
                (span.end, latest.map_or(*e, |(_, e)| e))
            })
            .collect();
        Self {
            named,
            persons_by_end,
        }
    }

    /// The speakers that may be named in `window`: persons first, then organisations,
    /// each in text order.
    fn within(&self, window: &Range<usize>) -> Vec<&'e Found> {
        let from = self.named.partition_point(|(s, _)| s.start < window.start);
        let mut inside: Vec<(usize, &Found)> = self.named[from..]
            .iter()
            .take_while(|(s, _)| s.start < window.end)
            .filter(|(s, _)| s.end <= window.end)
            .map(|(s, e)| (s.start, *e))
            .collect();
        inside.sort_by_key(|&(at, e)| (e.kind != EntityType::Person, at));
        inside.into_iter().map(|(_, e)| e).collect()
    }

    /// The person whose mention ending at or before `at` starts last.
    fn last_person_before(&self, at: usize) -> Option<String> {
        let count = self.persons_by_end.partition_point(|&(end, _)| end <= at);
        count
            .checked_sub(1)
            .map(|last| self.persons_by_end[last].1.text.clone())
    }
}

/// Where the attribution before a quote may start: the window, not before the paragraph.
fn paragraph_floor(paragraph: &str, open: usize) -> usize {
    let mut floor = open.saturating_sub(ATTRIBUTION_WINDOW);
    while !paragraph.is_char_boundary(floor) {
        floor += 1;
    }
    floor
}

/// The last character boundary at or before `at`.
fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// (opening mark offset, inner span, offset after the closing mark) within a paragraph,
/// in one pass over it.
fn quoted_spans(paragraph: &str) -> Vec<(usize, Range<usize>, usize)> {
    let mut out = Vec::new();
    let mut position = 0;
    while let Some((open_at, open, close)) = next_opening_mark(paragraph, position) {
        let inner_start = open_at + open.len_utf8();
        let (inner_end, after) = match paragraph[inner_start..].find(close) {
            Some(end) => (inner_start + end, inner_start + end + close.len_utf8()),
            None => (paragraph.len(), paragraph.len()),
        };
        out.push((open_at, inner_start..inner_end, after));
        position = after.max(inner_start);
    }
    out
}

/// The first bytes of the opening [`MARKS`].
const MARK_LEADS: [u8; 3] = [b'"', 0xE2, 0xC2];

/// The first opening mark at or after byte `from`, with its closing mark. Only bytes that
/// can start a mark are looked at, so the text between quotes is not decoded.
fn next_opening_mark(paragraph: &str, from: usize) -> Option<(usize, char, char)> {
    let bytes = paragraph.as_bytes();
    let [a, b, c] = MARK_LEADS;
    let mut at = from;
    while let Some(found) = memchr::memchr3(a, b, c, bytes.get(at..)?) {
        let i = at + found;
        // An ASCII byte or a lead byte: always a character boundary.
        let mark = paragraph[i..].chars().next()?;
        if let Some(&(open, close)) = MARKS.iter().find(|(open, _)| *open == mark) {
            return Some((i, open, close));
        }
        at = i + 1;
    }
    None
}

fn has_attribution_verb(text: &str) -> bool {
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| (4..=12).contains(&w.len()))
        .any(|w| ATTRIBUTION_VERBS.iter().any(|v| v.eq_ignore_ascii_case(w)))
}

fn speaker(
    doc: &Document,
    mentions: &Mentions,
    before: Range<usize>,
    after: Range<usize>,
    quote_start: usize,
) -> Option<String> {
    // After the quote: "..., said Hwang." up to the end of that sentence.
    let after_text = &doc.text[after.clone()];
    let sentence_end = after_text
        .char_indices()
        .find(|(_, c)| matches!(c, '.' | '!' | '?' | '“' | '"'))
        .map_or(after.end, |(i, c)| after.start + i + c.len_utf8());
    let after = after.start..sentence_end;
    if has_attribution_verb(&doc.text[after.clone()]) {
        if let Some(e) = mentions.within(&after).first() {
            return Some(e.text.clone());
        }
        if mentions_pronoun(&doc.text[after]) {
            return mentions.last_person_before(quote_start);
        }
    }
    // Before it: "Professor Hwang ... said, “...". The attribution is the last clause.
    let before_text = &doc.text[before.clone()];
    let clause_start = before_text
        .char_indices()
        .rfind(|(_, c)| matches!(c, '.' | '!' | '?' | '”'))
        .map_or(before.start, |(i, c)| before.start + i + c.len_utf8());
    let before = clause_start..before.end;
    if has_attribution_verb(&doc.text[before.clone()]) {
        // Persons come first among the names within.
        if let Some(e) = mentions.within(&before).first() {
            return Some(e.text.clone());
        }
        if mentions_pronoun(&doc.text[before]) {
            return mentions.last_person_before(quote_start);
        }
    }
    None
}

fn mentions_pronoun(text: &str) -> bool {
    text.split(|c: char| !c.is_alphabetic())
        .any(|w| matches!(w, "he" | "she" | "He" | "She"))
}

#[cfg(test)]
mod tests {
    use super::super::{entities, Document};
    use super::*;
    use crate::stage::reference::for_tests;

    #[test]
    fn every_opening_mark_starts_with_a_searched_byte() {
        for (open, _) in MARKS {
            let mut buffer = [0u8; 4];
            assert!(MARK_LEADS.contains(&open.encode_utf8(&mut buffer).as_bytes()[0]));
        }
    }

    fn quotes(text: &str) -> Vec<Quote> {
        let doc = Document::new(text, for_tests());
        let found = entities::find(&doc);
        find(&doc, &found)
    }

    #[test]
    fn speaker_before_the_quote_resolves_to_the_full_name() {
        let found = quotes(
            "Professor Hwang Jae Ho of Hankuk University of Foreign Studies said, “China \
             prioritizes protecting its national interests. It will try not to.”",
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].speaker.as_deref(), Some("Hwang Jae Ho"));
        assert!(found[0].text.starts_with("China prioritizes protecting"));
        assert!(found[0].text.ends_with("It will try not to."));
    }

    #[test]
    fn speaker_after_the_quote_and_pronouns() {
        let found = quotes(
            "Foreign Minister Sergei Lavrov arrived. “We will not accept these terms at all,” \
             Lavrov said. “Nothing has changed since the last round,” he added.",
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found
            .iter()
            .all(|q| q.speaker.as_deref() == Some("Sergei Lavrov")));
    }

    #[test]
    fn windows_never_cut_a_character() {
        let long = "“Это очень длинная цитата без закрывающей кавычки и много слов подряд";
        let text = format!(
            "{long} — сказал он. «Ещё одна цитата тут, и слова, и слова» {}",
            "э".repeat(200)
        );
        quotes(&text);
        quotes("He said “one two three four five” ”and” “more words here now” done");
    }

    #[test]
    fn scare_quotes_are_not_quotes() {
        let found = quotes("They built the “North Korea-China-Russia Triangle” image.");
        assert!(found.is_empty(), "{found:?}");
    }
}
