//! Named entities: persons, organisations and locations, with their mentions merged.
//!
//! Candidates are runs of capitalised words inside one sentence ("Hankuk University of
//! Foreign Studies" joins over "of" because "University" heads an organisation name). A
//! run becomes an entity only on evidence: a title before it ("President Xi Jinping"), a
//! head word ("... Organisation", "... Peninsula"), an acronym defined beside it ("(SCO)"),
//! the gazetteer (countries, cities, leaders), a speech verb ("Hwang said"), or the shape
//! of a personal name. Later short mentions ("Xi", "Putin", "NATO") merge into the full
//! entity they stand for.

use rustc_hash::{FxHashMap, FxHashSet};
use std::ops::Range;

use super::text::Token;
use super::words::*;
use super::Document;
use crate::geo::MentionKind;
use crate::record::EntityType;

/// Endings of abstract nouns and adjectives, which personal names rarely have.
#[rustfmt::skip]
const ABSTRACT_ENDINGS: &[&str] = &[
    "ism", "ity", "tion", "sion", "ment", "ness", "ence", "ance", "ful", "ive", "ous", "ic",
    "ical", "ship", "hood", "ary", "ing", "ies", "ists", "ers", "ions",
];

/// Acronyms that name no organisation.
#[rustfmt::skip]
const NOT_ORGANISATIONS: &[&str] = &[
    "TV", "CEO", "AM", "PM", "OK", "GMT", "UTC", "GDP", "AI", "PC", "DJ", "ID", "FAQ", "USD",
    "EUR", "PhD", "MP", "MPS", "BC", "AD", "II", "III", "IV", "VI", "DB", "CFO", "COO", "CTO",
    "RSS", "PDF", "HTML", "URL", "VS", "US", "UK", "EST", "PST", "SUV",
];

/// One entity with every place it is mentioned.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub text: String,
    pub kind: EntityType,
    /// Byte spans of its mentions in the document text.
    pub spans: Vec<Range<usize>>,
    /// The acronym an organisation goes by ("NATO"), used as its actor code.
    pub acronym: Option<String>,
    /// The country a person speaks for, from the gazetteer or the title ("Russian
    /// President Vladimir Putin"): an index into the gazetteer's countries.
    pub country: Option<usize>,
    /// The title a person was first named with, lower case ("president"), or "leader" for
    /// a head of state the gazetteer knows: what office they act in.
    pub title: Option<String>,
}

#[derive(Default)]
struct Registry {
    found: Vec<Found>,
    by_key: FxHashMap<String, usize>,
}

impl Registry {
    fn add(&mut self, text: &str, kind: EntityType, span: Range<usize>) -> usize {
        let key = text.to_lowercase();
        if let Some(&i) = self.by_key.get(&key) {
            self.found[i].spans.push(span);
            return i;
        }
        self.found.push(Found {
            text: text.to_owned(),
            kind,
            spans: vec![span],
            acronym: None,
            country: None,
            title: None,
        });
        let i = self.found.len() - 1;
        self.by_key.insert(key, i);
        i
    }

    fn alias(&mut self, alias: &str, i: usize) {
        self.by_key.entry(alias.to_lowercase()).or_insert(i);
    }
}

fn is_name_word(token: &Token) -> bool {
    token.is_word() && token.is_capitalised()
}

/// The capitalised runs of one sentence, as token ranges.
fn runs(tokens: &[Token], sentence: Range<usize>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = sentence.start;
    while i < sentence.end {
        if !is_name_word(&tokens[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        while let Some(next) = tokens.get(end).filter(|_| end < sentence.end) {
            if is_name_word(next) {
                end += 1;
                continue;
            }
            // "University of (the) Philippines", "Charles de Gaulle".
            let particle = next.is(NAME_PARTICLES);
            let after_head = next.is(HEAD_CONNECTORS)
                && (tokens[end - 1].is(ORGANISATION_HEADS)
                    || tokens[end - 1].is(LOCATION_HEADS)
                    || (next.text == "of" && tokens[end - 1].is_acronym()));
            let mut skip = 1;
            if after_head && tokens.get(end + 1).is_some_and(|t| t.text == "the") {
                skip = 2;
            }
            let continues = (particle || after_head)
                && end + skip < sentence.end
                && is_name_word(&tokens[end + skip]);
            if continues {
                end += skip + 1;
            } else {
                break;
            }
        }
        out.push(start..end);
        i = end;
    }
    out
}

/// What a run says about itself.
struct Candidate {
    tokens: Range<usize>,
    /// The title before the name ("President"), if any.
    title: Option<usize>,
}

/// Drops openers and titles from the front of a run ("While China", "Russian President
/// Vladimir Putin" → "Vladimir Putin"), noting whether a title preceded the name.
fn trim(doc: &Document, run: Range<usize>) -> Option<Candidate> {
    let tokens = &doc.tokens;
    let mut start = run.start;
    let mut title = None;
    // A title anywhere in the run: the name is what follows the last one.
    if let Some(k) = (run.start..run.end)
        .rev()
        .find(|&k| tokens[k].is(TITLES) && k + 1 < run.end)
    {
        let has_org_head = (k + 1..run.end).any(|j| tokens[j].is(ORGANISATION_HEADS));
        if !has_org_head {
            start = k + 1;
            title = Some(k);
        }
    }
    while start < run.end && tokens[start].is(STOPWORDS) {
        start += 1;
    }
    (start < run.end).then_some(Candidate {
        tokens: start..run.end,
        title,
    })
}

fn span_of(tokens: &[Token], range: &Range<usize>) -> Range<usize> {
    tokens[range.start].start()..tokens[range.end - 1].end()
}

/// The acronym in parentheses right after a run, if its letters fit the run's initials:
/// "Shanghai Cooperation Organisation (SCO)".
fn defined_acronym<'a>(tokens: &[Token<'a>], run: &Range<usize>) -> Option<&'a str> {
    let open = tokens.get(run.end)?;
    let acronym = tokens.get(run.end + 1)?;
    let close = tokens.get(run.end + 2)?;
    if open.text != "(" || close.text != ")" || !acronym.is_acronym() {
        return None;
    }
    let initials: String = tokens[run.clone()]
        .iter()
        .filter(|t| t.is_capitalised())
        .filter_map(|t| t.text.chars().next())
        .collect();
    let letters: String = acronym.text.chars().filter(|c| c.is_alphabetic()).collect();
    let first_letters_match = initials.starts_with(letters.chars().next()?);
    (first_letters_match && letters.len() <= initials.len() + 1).then_some(acronym.text)
}

fn looks_like_personal_name(doc: &Document, range: &Range<usize>) -> bool {
    let words = &doc.tokens[range.clone()];
    (2..=4).contains(&words.len())
        && words.iter().all(|t| {
            let lower = t.lower();
            t.text
                .chars()
                .all(|c| c.is_alphabetic() || "-'’.".contains(c))
                && !t.is_acronym()
                && !t.is(STOPWORDS)
                && !ABSTRACT_ENDINGS.iter().any(|e| lower.ends_with(e))
        })
        && doc
            .places_in(words[0].start()..words[words.len() - 1].end())
            .is_empty()
}

/// A speech verb right before or after the run ("Hwang said", "said Hwang").
fn beside_speech_verb(tokens: &[Token], range: &Range<usize>) -> bool {
    let after = tokens.get(range.end).is_some_and(|t| t.is(SPEECH_VERBS));
    let before = range.start > 0 && tokens[range.start - 1].is(SPEECH_VERBS);
    after || before
}

/// The gazetteer country a span exactly is, with how it matched.
/// A weak name ("Korean Peninsula", "Jordan") keeps its own wording as an entity.
fn place_at(doc: &Document, span: &Range<usize>) -> Option<(usize, MentionKind)> {
    doc.places_in(span.start..span.start + 1)
        .iter()
        .find(|m| m.mention.end == span.end)
        .map(|m| match (m.weak, m.mention.kind) {
            (true, MentionKind::Name) => (m.mention.country, MentionKind::City),
            _ => (m.mention.country, m.mention.kind),
        })
}

/// The country named right before a title ("Russian President", "China’s President").
fn country_before(doc: &Document, token: usize) -> Option<usize> {
    let from = token.saturating_sub(4);
    let start = doc.tokens[from].start();
    let end = doc.tokens[token].start();
    doc.places_in(start..end)
        .iter()
        .rev()
        .find(|m| m.mention.end <= end)
        .filter(|m| matches!(m.mention.kind, MentionKind::Name | MentionKind::Demonym))
        .map(|m| m.mention.country)
}

/// Every entity of the document, most mentioned first.
pub fn find(doc: &Document) -> Vec<Found> {
    let tokens = &doc.tokens;
    let mut registry = Registry::default();
    let mut claimed: Vec<Range<usize>> = Vec::new();
    let mut singles: Vec<Range<usize>> = Vec::new();

    for sentence in &doc.sentences {
        for run in runs(tokens, sentence.clone()) {
            let Some(candidate) = trim(doc, run.clone()) else {
                continue;
            };
            let range = candidate.tokens;
            let title = candidate.title.map(|k| tokens[k].lower().into_owned());
            // "(SCO)" right after the name it abbreviates is its definition, not a mention.
            let definition = range.start > 0
                && tokens[range.start - 1].text == "("
                && tokens.get(range.end).is_some_and(|t| t.text == ")")
                && tokens[range.start].is_acronym();
            if definition {
                continue;
            }
            let span = span_of(tokens, &range);
            let text = &doc.text[span.clone()];
            let last = &tokens[range.end - 1];
            let acronym = defined_acronym(tokens, &range);
            let place = place_at(doc, &span);
            let known = doc.data.organisations.named(text);
            let headed = last.is(ORGANISATION_HEADS)
                || (range.start..range.end - 1)
                    .any(|k| tokens[k].is(ORGANISATION_HEADS) && tokens[k + 1].is(HEAD_CONNECTORS));
            let kind = if let Some((_, MentionKind::Leader)) = place {
                Some(EntityType::Person)
            } else if known.is_some()
                || headed && candidate.title.is_none()
                || matches!(place, Some((_, MentionKind::Institution)))
            {
                Some(EntityType::Organization)
            } else if matches!(place, Some((_, MentionKind::Name | MentionKind::City)))
                || (range.len() > 1 && last.is(LOCATION_HEADS))
            {
                Some(EntityType::Location)
            } else if acronym.is_some() {
                Some(EntityType::Organization)
            } else if range.len() == 1 {
                singles.push(range.clone());
                None
            } else if candidate.title.is_some()
                || (looks_like_personal_name(doc, &range)
                    && (beside_speech_verb(tokens, &range) || range.len() >= 2))
            {
                Some(EntityType::Person)
            } else {
                city_with_state(doc, &range)
            };
            let Some(kind) = kind else { continue };
            let name = match (kind, place, known) {
                (EntityType::Location, Some((country, MentionKind::Name)), _) => {
                    doc.gazetteer.countries()[country].name.clone()
                }
                (EntityType::Organization, _, Some(known)) if known.name.len() > 3 => {
                    known.name.clone()
                }
                _ => text.to_owned(),
            };
            let i = registry.add(&name, kind, span.clone());
            claimed.push(span);
            if kind == EntityType::Person {
                let leader = matches!(place, Some((_, MentionKind::Leader)));
                let found = &mut registry.found[i];
                // A person the reference data knows, for one named with neither country
                // nor title ("Levy Mwanawasa"), when the article names their country too:
                // a common name ("John Williams") is someone else in a story elsewhere.
                // Looked up only when something is missing.
                let known = (found.country.is_none() || found.title.is_none())
                    .then(|| doc.data.people.known(text))
                    .flatten()
                    .and_then(|p| {
                        let country = doc.gazetteer.index_of_alpha3(p.country)?;
                        doc.places
                            .iter()
                            .any(|m| m.mention.country == country)
                            .then_some((country, p.title))
                    });
                if found.country.is_none() {
                    found.country = match place {
                        Some((country, MentionKind::Leader)) => Some(country),
                        _ => country_before(doc, range.start).or(known.map(|(c, _)| c)),
                    };
                }
                if found.title.is_none() {
                    found.title = title
                        .or_else(|| leader.then(|| "leader".to_owned()))
                        .or_else(|| known.map(|(_, t)| t.to_owned()));
                }
                // Any part of the name may stand for the person later: "Xi", "Putin",
                // "Lula" for "Luiz Inacio Lula da Silva".
                for (k, part) in tokens[range.clone()].iter().enumerate() {
                    let edge = k == 0 || k + 1 == range.len();
                    if edge || (part.text.chars().count() > 2 && !part.is(NAME_PARTICLES)) {
                        registry.alias(part.text, i);
                    }
                }
            }
            let acronym = acronym
                .map(str::to_owned)
                .or_else(|| known.map(|k| k.acronym.clone()));
            if let Some(acronym) = acronym {
                if kind == EntityType::Organization {
                    registry.alias(&acronym, i);
                    registry.found[i].acronym.get_or_insert(acronym);
                }
            }
        }
    }

    // Short mentions: a person's family or given name, an organisation's acronym, a
    // known organisation, a country or city.
    for range in singles {
        let token = &tokens[range.start];
        let span = token.start()..token.end();
        if covered(&claimed, &span) {
            continue;
        }
        if let Some(&i) = registry.by_key.get(&*token.lower()) {
            registry.found[i].spans.push(span);
        } else if let Some((country, kind)) = place_at(doc, &span) {
            match kind {
                MentionKind::Name => {
                    let name = doc.gazetteer.countries()[country].name.clone();
                    registry.add(&name, EntityType::Location, span);
                }
                MentionKind::City => {
                    registry.add(token.text, EntityType::Location, span);
                }
                MentionKind::Leader => {
                    let i = registry.add(token.text, EntityType::Person, span);
                    registry.found[i].country = Some(country);
                    registry.found[i]
                        .title
                        .get_or_insert_with(|| "leader".to_owned());
                }
                MentionKind::Institution => {
                    registry.add(token.text, EntityType::Organization, span);
                }
                _ => {}
            }
        } else if token.is_acronym()
            && !NOT_ORGANISATIONS.contains(&token.text.replace('.', "").as_str())
            // "DOHA" in a dateline is a city.
            && doc.gazetteer.lookup(token.text).is_none()
        {
            let known = doc.data.organisations.named(token.text);
            let name = known.map_or(token.text, |k| k.name.as_str());
            let i = registry.add(name, EntityType::Organization, span);
            registry.found[i].acronym.get_or_insert_with(|| {
                known.map_or_else(|| token.text.replace('.', ""), |k| k.acronym.clone())
            });
            registry.alias(token.text, i);
        }
    }

    // Countries and cities written inside other words ("North Korea-Russia") still count.
    let mentioned: FxHashSet<usize> = registry
        .found
        .iter()
        .flat_map(|f| f.spans.iter().map(|s| s.start))
        .collect();
    for m in &doc.places {
        let span = m.mention.start..m.mention.end;
        let inside = covered(&claimed, &span) || mentioned.contains(&span.start);
        if inside || m.mention.kind != MentionKind::Name {
            continue;
        }
        let name = doc.gazetteer.countries()[m.mention.country].name.clone();
        registry.add(&name, EntityType::Location, span);
    }

    let mut found = registry.found;
    for entity in &mut found {
        entity.spans.sort_by_key(|s| s.start);
        entity.spans.dedup();
    }
    found.sort_by_key(|f| (std::cmp::Reverse(f.spans.len()), f.spans[0].start));
    found
}

/// Whether `span` lies inside one of `spans` (in order of start, not overlapping).
fn covered(spans: &[Range<usize>], span: &Range<usize>) -> bool {
    let after = spans.partition_point(|c| c.start <= span.start);
    after > 0 && spans[after - 1].end >= span.end
}

/// "Washington D.C.", "Portland, Ore.": a city followed by its state's abbreviation.
fn city_with_state(doc: &Document, range: &Range<usize>) -> Option<EntityType> {
    let first = &doc.tokens[range.start];
    let rest_abbreviated = doc.tokens[range.start + 1..range.end]
        .iter()
        .all(|t| t.text.ends_with('.'));
    let city = doc
        .places_in(first.start()..first.start() + 1)
        .iter()
        .any(|m| matches!(m.mention.kind, MentionKind::City));
    (city && rest_abbreviated).then_some(EntityType::Location)
}

#[cfg(test)]
mod tests {
    use super::super::Document;
    use super::*;
    use crate::stage::reference::for_tests;

    fn entities(text: &str) -> Vec<(String, EntityType, usize)> {
        let doc = Document::new(text, for_tests());
        find(&doc)
            .into_iter()
            .map(|f| (f.text, f.kind, f.spans.len()))
            .collect()
    }

    fn has(found: &[(String, EntityType, usize)], text: &str, kind: EntityType) -> bool {
        found.iter().any(|(t, k, _)| t == text && *k == kind)
    }

    #[test]
    fn titles_heads_and_acronyms_type_entities() {
        let found = entities(
            "China’s President Xi Jinping met Russian President Vladimir Putin at the \
             Shanghai Cooperation Organisation (SCO) summit. Xi said the SCO matters. \
             Professor Hwang Jae Ho of Hankuk University of Foreign Studies said so. \
             Tension on the Korean Peninsula grew before the meeting in Washington D.C. on Friday.",
        );
        assert!(has(&found, "Xi Jinping", EntityType::Person), "{found:?}");
        assert!(has(&found, "Vladimir Putin", EntityType::Person));
        assert!(has(&found, "Hwang Jae Ho", EntityType::Person));
        assert!(has(
            &found,
            "Shanghai Cooperation Organisation",
            EntityType::Organization
        ));
        assert!(
            has(
                &found,
                "Hankuk University of Foreign Studies",
                EntityType::Organization
            ),
            "{found:?}"
        );
        assert!(has(&found, "Korean Peninsula", EntityType::Location));
        assert!(has(&found, "Washington D.C.", EntityType::Location));
        let xi = found.iter().find(|(t, ..)| t == "Xi Jinping").unwrap();
        assert_eq!(xi.2, 2, "Xi merges into Xi Jinping");
        let sco = found
            .iter()
            .find(|(t, ..)| t.starts_with("Shanghai"))
            .unwrap();
        assert_eq!(sco.2, 2, "SCO merges into its full name");
    }

    #[test]
    fn headline_case_and_furniture_are_not_entities() {
        let found =
            entities("While China waits, Experts say Democracy vs. Authoritarianism is old.");
        assert!(!found
            .iter()
            .any(|(t, ..)| t.contains("While") || t.contains("Democracy")));
        assert!(has(&found, "China", EntityType::Location));
    }

    #[test]
    fn middle_names_merge_and_dateline_cities_are_not_organisations() {
        let found = entities(
            "DOHA, Nov 27 - Brazilian President Luiz Inacio Lula da Silva arrived. Lula spoke.",
        );
        let lula = found
            .iter()
            .find(|(t, ..)| t == "Luiz Inacio Lula da Silva");
        assert_eq!(lula.map(|l| l.2), Some(2), "{found:?}");
        assert!(!found
            .iter()
            .any(|(t, k, _)| t == "DOHA" && *k == EntityType::Organization));
    }

    #[test]
    fn a_country_name_in_lower_case_is_another_word() {
        let found = entities("A reunion between the two leaders is near.");
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_leader_speaks_for_the_country_in_their_title() {
        let doc = Document::new(
            "Lebanon's new President Elias Hrawi spoke. Hrawi left.",
            for_tests(),
        );
        let found = find(&doc);
        let hrawi = found.iter().find(|f| f.text == "Elias Hrawi").unwrap();
        assert_eq!(hrawi.spans.len(), 2);
        let country = hrawi
            .country
            .map(|c| doc.gazetteer.countries()[c].alpha3.clone());
        assert_eq!(country.as_deref(), Some("LBN"));
    }
}
