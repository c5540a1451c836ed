//! Events: who did what to whom, where, when, and whether it happened.
//!
//! Each sentence is searched for trigger words (data/extract/triggers.tsv: "visit" →
//! CONSULT 042, "summit" → CONSULT 040, "accuse" → ACCUSE 112, ...). For each trigger:
//! - **actors**: for a verb, the countries and organisations before it (a leader stands
//!   for the country, "the two leaders" for the last two countries named); for a noun,
//!   its modifiers ("the North Korea-Russia summit", "the NATO meeting"), the parties
//!   after "between"/"among", or the subject of "attend"/"have"/"hold" before it; a
//!   passive ("was attacked by X") turns round; **targets**: what follows a verb;
//! - **place**: "in"/"at" a country or city, or where a visit goes;
//! - **date**: the date expression nearest the trigger, resolved against publication;
//! - **modality**: "if", "not confirmed" → uncertain; the nearer of a future cue ("will",
//!   "is expected to", "scheduled", "upcoming") and a past one ("was", "held") decides
//!   planned or occurred; without either, the date does.
//!
//! Mentions of one event merge: "the summit" and "this meeting" join the latest event of
//! their class (with a matching date when they carry one), "the SCO summit" joins the
//! other mentions of the SCO's summit, and mentions with the same class, parties and
//! compatible date, place and modality join each other.

use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use chrono::NaiveDate;

use super::dates::{self, DateMention};
use super::entities::{known_organisation, Found};
use super::text::Token;
use super::words::*;
use super::Document;
use crate::geo::MentionKind;
use crate::record::{EntityType, Event, EventLocation, Modality};
use crate::stage::clean::fingerprint::fnv1a;

/// One trigger phrase.
#[derive(Debug)]
struct Trigger {
    words: Vec<String>,
    class: &'static str,
    cameo: &'static str,
    noun: bool,
}

/// The trigger phrases, by their first word.
pub struct Lexicon {
    by_first: FxHashMap<String, Vec<Trigger>>,
}

static LEXICON: LazyLock<Lexicon> =
    LazyLock::new(|| Lexicon::parse(include_str!("../../../data/extract/triggers.tsv")));

/// Past forms that do not end in -ed.
const IRREGULAR: &[(&str, &[&str])] = &[
    ("meet", &["met"]),
    ("hold", &["held"]),
    ("seek", &["sought"]),
    ("fight", &["fought"]),
    ("shoot", &["shot"]),
    ("fly", &["flew", "flown"]),
    ("withdraw", &["withdrew", "withdrawn"]),
    ("undertake", &["undertook", "undertaken"]),
    ("forgive", &["forgave", "forgiven"]),
    ("break", &["broke", "broken"]),
    ("go", &["went", "gone"]),
    ("build", &["built"]),
    ("strike", &["struck"]),
    ("freeze", &["froze", "frozen"]),
    ("stand", &["stood"]),
    ("cut", &["cut"]),
    ("put", &["put"]),
    ("shell", &["shelled"]),
    ("pull", &["pulled"]),
    ("step", &["stepped"]),
    ("open", &["opened"]),
    ("rule", &["ruled"]),
    ("lash", &["lashed"]),
    ("send", &["sent"]),
    ("lead", &["led"]),
    ("arise", &["arose"]),
    ("team", &["teamed"]),
    ("back", &["backed"]),
    ("hand", &["handed"]),
    ("mass", &["massed"]),
    ("turn", &["turned"]),
];

/// Verbs that double their last consonant: "ban" → "banned", "banning".
#[rustfmt::skip]
const DOUBLING: &[&str] = &[
    "ban", "commit", "plan", "stop", "cut", "ship", "bar", "drop", "step", "slam", "kidnap",
    "expel", "compel", "control", "occur", "admit", "submit", "regret", "shut", "hit", "put",
];

fn verb_forms(lemma: &str) -> Vec<String> {
    let mut forms = vec![lemma.to_owned()];
    if let Some((_, past)) = IRREGULAR.iter().find(|(l, _)| *l == lemma) {
        forms.extend(past.iter().map(|p| (*p).to_owned()));
    }
    let (stem, last) = lemma.split_at(lemma.len() - 1);
    if DOUBLING.contains(&lemma) {
        forms.push(format!("{lemma}{last}ed"));
        forms.push(format!("{lemma}{last}ing"));
        forms.push(format!("{lemma}s"));
    } else if last == "e" {
        forms.push(format!("{lemma}s"));
        forms.push(format!("{lemma}d"));
        forms.push(if lemma.ends_with("ee") {
            format!("{lemma}ing")
        } else {
            format!("{stem}ing")
        });
    } else if last == "y" && !stem.ends_with(['a', 'e', 'o', 'u']) {
        forms.push(format!("{stem}ies"));
        forms.push(format!("{stem}ied"));
        forms.push(format!("{lemma}ing"));
    } else {
        let sibilant = ["s", "x", "z", "ch", "sh", "o"]
            .iter()
            .any(|e| lemma.ends_with(e));
        forms.push(if sibilant {
            format!("{lemma}es")
        } else {
            format!("{lemma}s")
        });
        forms.push(format!("{lemma}ed"));
        forms.push(format!("{lemma}ing"));
    }
    forms
}

fn noun_forms(noun: &str) -> Vec<String> {
    let plural = if noun.ends_with('y') && !noun.ends_with("ey") {
        format!("{}ies", &noun[..noun.len() - 1])
    } else if ["s", "x", "ch", "sh"].iter().any(|e| noun.ends_with(e)) {
        format!("{noun}es")
    } else {
        format!("{noun}s")
    };
    vec![noun.to_owned(), plural]
}

impl Lexicon {
    pub fn global() -> &'static Lexicon {
        &LEXICON
    }

    /// The words a trigger can start with.
    pub fn first_words(&'static self) -> impl Iterator<Item = &'static str> {
        self.by_first.keys().map(String::as_str)
    }

    fn parse(tsv: &'static str) -> Self {
        let mut by_first: FxHashMap<String, Vec<Trigger>> = FxHashMap::default();
        for line in tsv.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&'static str> = line.split('\t').collect();
            let [phrase, class, cameo, form] = fields[..] else {
                continue;
            };
            let mut words: Vec<&str> = phrase.split(' ').collect();
            // form "c": a cue word that acts like a verb ("must", "unless").
            let head_forms = match form {
                "v" => verb_forms(words[0]),
                "n" => {
                    // The last word of a noun phrase takes the plural.
                    let last = words.pop().unwrap_or_default();
                    for plural in noun_forms(last) {
                        let mut all: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
                        all.push(plural);
                        let first = all[0].clone();
                        by_first.entry(first).or_default().push(Trigger {
                            words: all,
                            class,
                            cameo,
                            noun: true,
                        });
                    }
                    continue;
                }
                _ => vec![words[0].to_owned()],
            };
            for head in head_forms {
                let mut all = vec![head];
                all.extend(words[1..].iter().map(|w| (*w).to_owned()));
                let first = all[0].clone();
                by_first.entry(first).or_default().push(Trigger {
                    words: all,
                    class,
                    cameo,
                    noun: form == "x" && !is_verb_phrase(phrase),
                });
            }
        }
        for triggers in by_first.values_mut() {
            // Longest first; a noun before a verb of the same form ("meeting").
            triggers.sort_by_key(|t| (std::cmp::Reverse(t.words.len()), !t.noun));
        }
        Self { by_first }
    }

    /// The triggers of one sentence, longest match first, not overlapping.
    fn find(&'static self, tokens: &[Token], sentence: Range<usize>) -> Vec<Hit> {
        let mut hits = Vec::new();
        let mut i = sentence.start;
        while i < sentence.end {
            let token = &tokens[i];
            // Capitalised words inside a sentence are names ("March", "Deal").
            if !token.is(TRIGGER_START) || (token.is_capitalised() && i != sentence.start) {
                i += 1;
                continue;
            }
            let lower = token.lower();
            let fits = |t: &&Trigger| {
                t.words.len() <= sentence.end - i
                    && t.words[1..]
                        .iter()
                        .zip(&tokens[i + 1..])
                        .all(|(w, tok)| tok.text.eq_ignore_ascii_case(w))
            };
            let candidates = self.by_first.get(&*lower);
            let longest = candidates.and_then(|c| c.iter().find(fits));
            // "will visit" is a verb, "the visit" a noun.
            let as_verb = i > sentence.start && tokens[i - 1].is(VERB_CUES);
            let found = longest.map(|first| {
                candidates
                    .into_iter()
                    .flatten()
                    .filter(fits)
                    .filter(|t| t.words.len() == first.words.len())
                    .find(|t| t.noun != as_verb)
                    .unwrap_or(first)
            });
            match found {
                Some(trigger) => {
                    hits.push(Hit {
                        tokens: i..i + trigger.words.len(),
                        trigger,
                    });
                    i += trigger.words.len();
                }
                None => i += 1,
            }
        }
        hits
    }
}

fn is_verb_phrase(phrase: &str) -> bool {
    phrase.contains(' ') && !phrase.starts_with("joint") && !phrase.ends_with('s')
}

#[derive(Debug)]
struct Hit {
    tokens: Range<usize>,
    trigger: &'static Trigger,
}

/// A country or organisation named in the text, as an actor code.
#[derive(Debug, Clone)]
struct ActorMention<'e> {
    token: usize,
    /// A country's alpha-3 code or an organisation's acronym, borrowed from the
    /// gazetteer or the entities: a long article has hundreds of thousands of mentions.
    code: &'e str,
    /// The country, for places ("in Kazakhstan").
    country: Option<usize>,
    /// Written as a place ("in Kazakhstan", "at Geneva") rather than as a party.
    as_place: bool,
    /// A city, which stands for its country only as a place.
    city: bool,
    /// A person standing for their country.
    person: bool,
}

fn number_word(word: &str) -> Option<usize> {
    Some(match word {
        "two" | "both" => 2,
        "three" => 3,
        "four" => 4,
        _ => return None,
    })
}

fn lower<'t>(tokens: &[Token<'t>], i: usize) -> Cow<'t, str> {
    tokens.get(i).map_or(Cow::Borrowed(""), Token::lower)
}

/// The code of a person whose country is not known yet.
const UNRESOLVED: &str = "?";

/// The country named inside an organisation's name, unless it is an international one.
fn country_within(doc: &Document, entity: &Found) -> Option<usize> {
    if known_organisation(&entity.text).is_some_and(|k| k.category != "NGO") {
        return None;
    }
    let span = entity.spans.first()?;
    doc.places
        .iter()
        .find(|m| {
            !m.weak
                && span.start <= m.mention.start
                && m.mention.end <= span.end
                && matches!(m.mention.kind, MentionKind::Name | MentionKind::Demonym)
        })
        .map(|m| m.mention.country)
}

/// Gives each person of unknown country the country named nearest in their sentence
/// ("President Yoweri Museveni has banned Ugandan opposition candidates"), or the
/// document's most named country; drops them when there is none.
fn resolve_persons(actors: &mut Vec<ActorMention<'_>>, sentences: &[Range<usize>]) {
    let mut counts: FxHashMap<&str, usize> = FxHashMap::default();
    for m in actors.iter().filter(|m| m.country.is_some()) {
        *counts.entry(m.code).or_default() += 1;
    }
    let main = counts
        .into_iter()
        .max_by_key(|&(code, n)| (n, std::cmp::Reverse(code)))
        .map(|(code, _)| code);
    let resolved: Vec<Option<&str>> = actors
        .iter()
        .map(|m| {
            if m.code != UNRESOLVED {
                return Some(m.code);
            }
            let sentence = sentences.get(sentences.partition_point(|s| s.end <= m.token))?;
            let from = actors.partition_point(|o| o.token < sentence.start);
            let to = actors.partition_point(|o| o.token < sentence.end);
            actors[from..to]
                .iter()
                .filter(|o| o.country.is_some())
                .min_by_key(|o| o.token.abs_diff(m.token))
                .map(|o| o.code)
                .or(main)
        })
        .collect();
    let mut resolved = resolved.into_iter();
    actors.retain_mut(|m| match resolved.next().flatten() {
        Some(code) => {
            m.code = code;
            true
        }
        None => false,
    });
}

/// Every actor mention in the document, in order.
fn actor_mentions<'e>(doc: &Document, entities: &'e [Found]) -> Vec<ActorMention<'e>> {
    let token_at = |byte: usize| doc.tokens.partition_point(|t| t.end() <= byte);
    let as_place = |token: usize| {
        let mut k = token;
        // Skip "the" in "in the United States".
        while k > 0 && lower(&doc.tokens, k - 1) == "the" {
            k -= 1;
        }
        k > 0 && doc.tokens[k - 1].is(PLACE_PREPOSITIONS)
    };
    let spans_of = |kind: EntityType| {
        let mut spans: Vec<Range<usize>> = entities
            .iter()
            .filter(|e| e.kind == kind)
            .flat_map(|e| e.spans.iter().cloned())
            .collect();
        spans.sort_by_key(|s| s.start);
        spans
    };
    let (organisations, persons) = (
        spans_of(EntityType::Organization),
        spans_of(EntityType::Person),
    );
    // Inside a longer name ("Shanghai" in "Shanghai Cooperation Organisation"). Names do
    // not nest deeply, so the few spans starting just before are enough to look at.
    let inside = |span: &Range<usize>, spans: &[Range<usize>]| {
        let after = spans.partition_point(|s| s.start <= span.start);
        spans[after.saturating_sub(3)..after]
            .iter()
            .any(|s| span.end <= s.end && s != span)
    };
    // "North Korea" in "the North Korea-Russia summit" names a party, not a place.
    let ends_a_word = |end: usize| doc.tokens.binary_search_by_key(&end, |t| t.end()).is_ok();
    let countries = doc.gazetteer.countries();
    let mut out = Vec::new();
    for m in &doc.places {
        let span = m.mention.start..m.mention.end;
        let usable = matches!(
            m.mention.kind,
            MentionKind::Name | MentionKind::Demonym | MentionKind::City | MentionKind::Institution
        );
        if !usable || inside(&span, &organisations) || inside(&span, &persons) {
            continue;
        }
        let token = token_at(span.start);
        out.push(ActorMention {
            token,
            code: &countries[m.mention.country].alpha3,
            country: Some(m.mention.country),
            as_place: as_place(token) && ends_a_word(span.end),
            city: m.mention.kind == MentionKind::City,
            person: false,
        });
    }
    for entity in entities {
        let (code, country) = match entity.kind {
            // A person of unknown country is resolved per sentence (`UNRESOLVED`).
            EntityType::Person => match entity.country {
                Some(c) => (countries[c].alpha3.as_str(), None),
                None => (UNRESOLVED, None),
            },
            // "the Nigerian Union of Teachers", "US Congress": the country it belongs to;
            // otherwise the organisation itself ("NATO").
            EntityType::Organization => match (country_within(doc, entity), &entity.acronym) {
                (Some(c), _) => (countries[c].alpha3.as_str(), None),
                (None, Some(acronym)) => (acronym.as_str(), None),
                (None, None) => continue,
            },
            EntityType::Location => continue,
        };
        for span in &entity.spans {
            out.push(ActorMention {
                token: token_at(span.start),
                code,
                country,
                as_place: false,
                city: false,
                person: entity.kind == EntityType::Person,
            });
        }
    }
    out.sort_by_key(|m| m.token);
    resolve_persons(&mut out, &doc.sentences);
    out
}

/// One mention of an event in one sentence.
#[derive(Debug, Clone)]
struct Mention {
    class: &'static str,
    cameo: &'static str,
    /// Parties named as taking part.
    participants: Vec<String>,
    /// Organisations named as the event's owner ("the NATO meeting"), the parties only
    /// when no one else is named.
    named: Vec<String>,
    targets: Vec<String>,
    location: Option<(usize, String)>,
    dates: Option<(NaiveDate, Option<NaiveDate>)>,
    modality: Modality,
    /// "the summit", "this meeting": refers back to an earlier event.
    anaphoric: bool,
    /// Joins the earlier event's parties ("Putin will be present at the summit").
    joins: bool,
    sentence: usize,
    noun: bool,
}

struct Sentence<'d, 'a> {
    doc: &'d Document<'a>,
    index: usize,
    range: Range<usize>,
    /// Where the first trigger starts: the subject is before it.
    first_trigger: usize,
    /// The actors named in earlier sentences, for "the two leaders".
    before: &'d [ActorMention<'d>],
    published: Option<NaiveDate>,
    actors: &'d [ActorMention<'d>],
    dates: Vec<(Range<usize>, DateMention)>,
}

impl Sentence<'_, '_> {
    fn tokens(&self) -> &[Token<'_>] {
        &self.doc.tokens
    }

    /// Whether token `i` is in the sentence and of `class`.
    fn is(&self, i: usize, class: WordClass) -> bool {
        self.range.contains(&i) && self.tokens()[i].is(class)
    }

    fn word(&self, i: usize) -> Cow<'_, str> {
        if self.range.contains(&i) {
            lower(self.tokens(), i)
        } else {
            Cow::Borrowed("")
        }
    }

    fn codes(&self, range: Range<usize>, places_too: bool) -> Vec<String> {
        let mut codes: Vec<String> = Vec::new();
        for m in self.actors {
            if range.contains(&m.token) && (places_too || !m.as_place) {
                push_unique(&mut codes, m.code);
            }
        }
        codes
    }

    /// Where the subject of the sentence's main clause starts: after a leading
    /// subordinate clause ("Despite ..., Russia ...").
    fn subject_start(&self) -> usize {
        if !self.is(self.range.start, SUBORDINATORS) {
            return self.range.start;
        }
        (self.range.start..self.range.end)
            .find(|&i| self.tokens()[i].text == ",")
            .map_or(self.range.start, |comma| comma + 1)
    }

    /// The end of the reported content, before an attribution tail (", a Jordanian
    /// official confirmed.").
    fn content_end(&self) -> usize {
        let tail_start = self.range.end.saturating_sub(14).max(self.range.start);
        for comma in (tail_start..self.range.end).rev() {
            if self.tokens()[comma].text == "," {
                let tail = comma..self.range.end;
                if tail.clone().any(|i| self.is(i, SPEECH_TAIL)) {
                    return comma;
                }
            }
        }
        self.range.end
    }

    /// The actors "the two leaders" or "both countries" stands for: the last ones named
    /// before `at`.
    fn collective(&self, before: &[ActorMention<'_>], range: Range<usize>) -> Vec<String> {
        for i in range.clone() {
            let word = self.word(i);
            let Some(count) = number_word(&word) else {
                continue;
            };
            if !self.is(i + 1, COLLECTIVE_NOUNS) {
                continue;
            }
            let leaders = self.word(i + 1) == "leaders" || self.word(i + 1) == "presidents";
            let mut codes: Vec<String> = Vec::new();
            // The antecedents are near: a bounded look back.
            for m in before
                .iter()
                .rev()
                .take(256)
                .filter(|m| m.token < i && !m.city)
            {
                if leaders && !m.person {
                    continue;
                }
                push_unique(&mut codes, m.code);
                if codes.len() == count {
                    break;
                }
            }
            return codes;
        }
        Vec::new()
    }

    fn negated(&self, at: usize) -> bool {
        (at.saturating_sub(3).max(self.range.start)..at).any(|i| self.is(i, NEGATIONS))
    }

    fn modality(
        &self,
        hit: &Hit,
        dates: Option<(NaiveDate, Option<NaiveDate>)>,
        published: Option<NaiveDate>,
    ) -> Modality {
        let text = self.doc.sentence_text(&self.range);
        let uncertain = self.range.clone().any(|i| self.is(i, UNCERTAIN_SENTENCE))
            || text.contains("not officially confirmed")
            || text.contains("not confirmed")
            || (hit.tokens.start.saturating_sub(4).max(self.range.start)..hit.tokens.start)
                .any(|i| self.is(i, UNCERTAIN_NEAR));
        if uncertain {
            return Modality::Uncertain;
        }
        let at = hit.tokens.start;
        let distance = |class: WordClass| {
            self.range
                .clone()
                .filter(|&i| !hit.tokens.contains(&i) && self.is(i, class))
                .map(|i| i.abs_diff(at))
                .min()
        };
        let own_past = !hit.trigger.noun && is_past_form(&self.word(at));
        // "has met", "had agreed": a perfect is as past as "was".
        let perfect = self
            .range
            .clone()
            .filter(|&i| {
                matches!(&*self.word(i), "has" | "have" | "had")
                    && (i + 1..i + 3).any(|j| is_past_form(&self.word(j)))
            })
            .map(|i| i.abs_diff(at))
            .min();
        let planned = distance(PLANNED);
        let occurred = if own_past {
            Some(0)
        } else {
            [distance(OCCURRED), perfect].into_iter().flatten().min()
        };
        match (planned, occurred) {
            (Some(p), Some(o)) if o < p => Modality::Occurred,
            (Some(_), _) => Modality::Planned,
            (None, Some(_)) => Modality::Occurred,
            (None, None) => match (dates, published) {
                (Some((start, end)), Some(published)) if end.unwrap_or(start) >= published => {
                    Modality::Planned
                }
                _ => Modality::Occurred,
            },
        }
    }

    /// The first country or city the sentence puts something "in" or "at".
    fn place(&self) -> Option<(usize, String)> {
        self.actors
            .iter()
            .filter(|m| m.as_place)
            .find_map(|m| m.country.map(|c| (c, self.place_name(m))))
    }

    /// A place's name as the entities give it ("Washington D.C."), or the country's.
    fn place_name(&self, m: &ActorMention<'_>) -> String {
        let token = &self.tokens()[m.token];
        let country = m
            .country
            .map(|c| self.doc.gazetteer.countries()[c].name.clone());
        if m.city {
            let end = (m.token + 1..self.range.end)
                .take_while(|&i| {
                    self.tokens()[i].text.ends_with('.') && self.tokens()[i].text.len() > 1
                })
                .last()
                .map_or(token.end(), |i| self.tokens()[i].end());
            return self.doc.text[token.start()..end].to_owned();
        }
        country.unwrap_or_else(|| token.text.to_owned())
    }
}

fn is_past_form(word: &str) -> bool {
    (word.ends_with("ed") && word.len() > 4)
        || IRREGULAR.iter().any(|(_, past)| past.contains(&word))
}

fn push_unique(codes: &mut Vec<String>, code: &str) {
    if !codes.iter().any(|c| c == code) {
        codes.push(code.to_owned());
    }
}

/// Where the words that belong to a trigger start: a noun's modifiers and the verb it is
/// the object of ("attend the SCO summit").
fn extent_start(sentence: &Sentence, hit: &Hit) -> usize {
    if !hit.trigger.noun {
        return hit.tokens.start;
    }
    let mut lead = modifier_start(sentence, hit.tokens.start);
    while lead > sentence.range.start && sentence.is(lead - 1, NOUN_LEAD_INS) {
        lead -= 1;
    }
    if lead > sentence.range.start && sentence.is(lead - 1, PARTICIPATION) {
        lead -= 1;
    }
    lead
}

/// Where a noun trigger's modifiers start: "the [North Korea-Russia] summit".
fn modifier_start(sentence: &Sentence, noun: usize) -> usize {
    let mut start = noun;
    while start > sentence.range.start {
        let token = &sentence.tokens()[start - 1];
        // "U.S. and Russian negotiators", "the U.S., Japan and South Korea summit".
        let joins_names = matches!(token.text, "and" | ",")
            && sentence
                .tokens()
                .get(start)
                .is_some_and(Token::is_capitalised)
            && start >= sentence.range.start + 2
            && sentence.tokens()[start - 2].is_capitalised();
        let keeps = token.is_capitalised()
            || joins_names
            || token.is(MODIFIER_WORDS)
            || (token.text.contains('-') && token.text.chars().any(char::is_uppercase));
        if !keeps || (start - 1 == sentence.range.start && !token.is_capitalised()) {
            break;
        }
        start -= 1;
    }
    // A sentence-initial determiner is not a modifier.
    if start == sentence.range.start && !sentence.tokens()[start].is_capitalised() {
        start += 1;
    }
    start.min(noun)
}

fn mention_for(
    sentence: &Sentence,
    hit: &Hit,
    next_trigger: usize,
    date: Option<(NaiveDate, Option<NaiveDate>)>,
) -> Option<Mention> {
    let (first_trigger, before) = (sentence.first_trigger, sentence.before);
    let at = hit.tokens.start;
    // "did not accept" is a rejection; "did not attack" is nothing.
    let (class, cameo) = match (sentence.negated(at), hit.trigger.class) {
        (false, class) => (class, hit.trigger.cameo),
        (true, "AGREE" | "SUPPORT" | "COOPERATE" | "CONSULT" | "AID" | "CONCEDE") => {
            ("REJECT", "120")
        }
        (true, _) => return None,
    };
    let content_end = sentence.content_end().max(hit.tokens.end);
    let subject_range = sentence.subject_start()..first_trigger;
    // Parties first; failing them, places ("forces in Guinea"), then "the two leaders".
    let mut subject = sentence.codes(subject_range.clone(), false);
    if subject.is_empty() {
        subject = sentence.codes(subject_range.clone(), true);
    }
    if subject.is_empty() {
        subject = sentence.collective(before, subject_range.clone());
    }
    // "The Red Cross said US forces must ...": the demand is the speaker's.
    let speaker_demand = hit.trigger.words[0] == "must";
    let saying = subject_range
        .clone()
        .find(|&i| sentence.is(i, SAYING) || sentence.word(i) == "concluded");
    if let (true, Some(saying)) = (speaker_demand, saying) {
        let speaker = [false, true]
            .into_iter()
            .map(|places_too| sentence.codes(subject_range.start..saying, places_too))
            .find(|codes| !codes.is_empty());
        if let Some(speaker) = speaker {
            subject = speaker;
        }
    }
    let after = hit.tokens.end..next_trigger.min(content_end).max(hit.tokens.end);
    let mut participants = Vec::new();
    let mut named = Vec::new();
    let mut targets = Vec::new();
    let mut anaphoric = false;
    let mut joins = false;
    if hit.trigger.noun {
        let start = modifier_start(sentence, at);
        for code in sentence.codes(start..at, true) {
            if code.len() == 3
                && code.chars().all(|c| c.is_ascii_uppercase())
                && sentence.doc.gazetteer.by_alpha3(&code).is_some()
            {
                participants.push(code);
            } else {
                named.push(code);
            }
        }
        // "a reunion between X and Y", "a summit among the U.S., South Korea, and Japan".
        if matches!(
            &*sentence.word(hit.tokens.end),
            "between" | "among" | "with"
        ) {
            for code in sentence.codes(hit.tokens.end..content_end, false) {
                push_unique(&mut participants, &code);
            }
        }
        let determiner = sentence.word(start.saturating_sub(1));
        let mut lead = start;
        while lead > sentence.range.start && sentence.is(lead - 1, NOUN_LEAD_INS) {
            lead -= 1;
        }
        let governed = lead > sentence.range.start && sentence.is(lead - 1, PARTICIPATION);
        anaphoric = participants.is_empty()
            && named.is_empty()
            && start == at
            && matches!(&*determiner, "the" | "this" | "that" | "these" | "those");
        if governed {
            joins = true;
            for code in &subject {
                push_unique(&mut participants, code);
            }
        } else if participants.is_empty() && named.is_empty() && !anaphoric {
            participants = subject.clone();
        }
    } else {
        let passive = at > sentence.range.start
            && matches!(
                &*sentence.word(at - 1),
                "was" | "were" | "been" | "being" | "be" | "is" | "are"
            )
            && sentence.word(at).ends_with("ed");
        let by = passive
            .then(|| (hit.tokens.end..content_end).find(|&i| sentence.word(i) == "by"))
            .flatten();
        match by {
            Some(by) => {
                participants = sentence.codes(by..content_end, false);
                targets = sentence.codes(sentence.subject_start()..at, false);
            }
            None => {
                participants = subject.clone();
                if participants.is_empty() {
                    // "Libya has offered ..." is a subject; failing that, anyone named.
                    participants = sentence.codes(sentence.range.start..at, false);
                }
                targets = sentence.codes(after.clone(), false);
            }
        }
    }
    if participants.is_empty() && named.is_empty() {
        // Nobody in the grammatical places: the first country the sentence names.
        participants = sentence
            .codes(sentence.range.clone(), true)
            .into_iter()
            .take(1)
            .collect();
    }
    targets.retain(|t| !participants.contains(t) && !named.contains(t));

    // A visit goes to its target's country; otherwise the sentence's place.
    let mut location = sentence.place();
    if hit.trigger.cameo == "042" {
        if let Some(m) = sentence
            .actors
            .iter()
            .find(|m| after.contains(&m.token) && m.country.is_some())
        {
            location = m.country.map(|c| (c, sentence.place_name(m)));
        }
    }
    Some(Mention {
        class,
        cameo,
        participants,
        named,
        targets,
        location,
        dates: date,
        modality: sentence.modality(hit, date, sentence.published),
        anaphoric,
        joins,
        sentence: sentence.index,
        noun: hit.trigger.noun,
    })
}

/// Attaches each date to the trigger nearest to it.
fn nearest_dates(
    hits: &[Hit],
    dates: &[(Range<usize>, DateMention)],
) -> Vec<Option<(NaiveDate, Option<NaiveDate>)>> {
    let mut out = vec![None; hits.len()];
    for (range, date) in dates {
        let nearest = hits.iter().enumerate().min_by_key(|(_, h)| {
            if range.start >= h.tokens.end {
                range.start - h.tokens.end
            } else {
                h.tokens.start.saturating_sub(range.end)
            }
        });
        if let Some((i, _)) = nearest {
            out[i].get_or_insert((date.start, date.end));
        }
    }
    out
}

/// An event being assembled from its mentions.
#[derive(Debug, Clone)]
struct Draft {
    mention: Mention,
    sentences: Vec<usize>,
    mentions: usize,
    last_seen: usize,
}

fn overlaps(a: (NaiveDate, Option<NaiveDate>), b: (NaiveDate, Option<NaiveDate>)) -> bool {
    a.0 <= b.1.unwrap_or(b.0) && b.0 <= a.1.unwrap_or(a.0)
}

fn compatible_modality(a: Modality, b: Modality) -> bool {
    a == b || (a != Modality::Occurred && b != Modality::Occurred)
}

impl Draft {
    fn accepts(&self, m: &Mention) -> bool {
        let e = &self.mention;
        if e.class != m.class {
            return false;
        }
        let dates_fit = match (e.dates, m.dates) {
            (Some(a), Some(b)) => overlaps(a, b),
            _ => true,
        };
        if m.anaphoric {
            return match m.dates {
                Some(_) => e.dates.is_some() && dates_fit,
                None => true,
            };
        }
        if !m.named.is_empty() || !e.named.is_empty() {
            return !m.named.is_empty() && m.named.iter().all(|n| e.named.contains(n)) && dates_fit;
        }
        let same_parties = !m.participants.is_empty() && {
            let mut a = e.participants.clone();
            let mut b = m.participants.clone();
            a.sort();
            b.sort();
            a == b
        };
        let places_fit = match (&e.location, &m.location) {
            (Some(a), Some(b)) => a.0 == b.0,
            _ => true,
        };
        same_parties && dates_fit && places_fit && compatible_modality(e.modality, m.modality)
    }

    fn absorb(&mut self, m: Mention) {
        let e = &mut self.mention;
        if m.joins || !m.anaphoric {
            for code in &m.participants {
                push_unique(&mut e.participants, code);
            }
        }
        for code in &m.targets {
            push_unique(&mut e.targets, code);
        }
        if e.location.is_none() {
            e.location = m.location;
        }
        e.dates = match (e.dates, m.dates) {
            (None, d) | (d, None) => d,
            // The narrower date is the more precise one.
            (Some(a), Some(b)) => {
                let span =
                    |d: (NaiveDate, Option<NaiveDate>)| d.1.map_or(0, |end| (end - d.0).num_days());
                Some(if span(b) < span(a) { b } else { a })
            }
        };
        if m.modality == Modality::Uncertain && !m.anaphoric {
            e.modality = Modality::Uncertain;
        }
        if e.cameo.ends_with('0') && !m.cameo.ends_with('0') && m.class == e.class {
            e.cameo = m.cameo;
        }
        self.mentions += 1;
        self.last_seen = m.sentence;
        // Mentions arrive in order: a new sentence is never one seen before the last.
        if self.sentences.last() != Some(&m.sentence) {
            self.sentences.push(m.sentence);
        }
    }
}

/// The most events one article yields: far above any real article, it bounds the merging
/// work on a pathological one.
const MAX_EVENTS: usize = 256;

/// The events of a document, in order of first mention (at most [`MAX_EVENTS`]).
pub fn find(doc: &Document, entities: &[Found], published: Option<NaiveDate>) -> Vec<Event> {
    let lexicon = Lexicon::global();
    let all_actors = actor_mentions(doc, entities);
    let mut drafts: Vec<Draft> = Vec::new();
    for (index, range) in doc.sentences.iter().enumerate() {
        let hits = lexicon.find(&doc.tokens, range.clone());
        if hits.is_empty() {
            continue;
        }
        let start_byte = doc.tokens[range.start].start();
        let text = doc.sentence_text(range);
        let token_at = |byte: usize| doc.tokens.partition_point(|t| t.end() <= byte);
        let first_actor = all_actors.partition_point(|m| m.token < range.start);
        let after_actors = all_actors.partition_point(|m| m.token < range.end);
        // Most sentences name no date: the patterns run only where one may be.
        let may_have_dates = text.bytes().any(|b| b.is_ascii_digit())
            || doc.tokens[range.clone()].iter().any(|t| t.is(DATE_CUES));
        let dates = if may_have_dates {
            dates::find(text, published)
        } else {
            Vec::new()
        };
        let mut sentence = Sentence {
            doc,
            index,
            range: range.clone(),
            first_trigger: range.end,
            before: &all_actors[..first_actor],
            published,
            actors: &all_actors[first_actor..after_actors],
            dates: dates
                .into_iter()
                .map(|d| {
                    let tokens = token_at(start_byte + d.span.start)
                        ..token_at(start_byte + d.span.end - 1) + 1;
                    (tokens, d)
                })
                .collect(),
        };
        let hits = governed_removed(&sentence, hits);
        let dates = nearest_dates(&hits, &sentence.dates);
        sentence.first_trigger = hits.first().map_or(range.end, |h| h.tokens.start);
        let first_trigger = sentence.first_trigger;
        let mut touched: Vec<usize> = Vec::new();
        for (k, hit) in hits.iter().enumerate() {
            let next = hits
                .get(k + 1)
                .map_or(range.end, |h| extent_start(&sentence, h))
                .max(hit.tokens.end);
            let Some(mention) = mention_for(&sentence, hit, next, dates[k]) else {
                continue;
            };
            let intent = stated_intent(&sentence, hit, &mention);
            for mention in std::iter::once(mention).chain(intent) {
                let target = drafts
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| d.accepts(&mention))
                    .max_by_key(|(_, d)| d.last_seen)
                    .map(|(i, _)| i);
                match target {
                    Some(i) => {
                        drafts[i].absorb(mention);
                        touched.push(i);
                    }
                    None if drafts.len() >= MAX_EVENTS => {}
                    None if mention.anaphoric && mention.dates.is_none() => {
                        // "the summit" with nothing before it to refer to: a summit of the
                        // sentence's parties.
                        let mut mention = mention;
                        mention.participants = sentence.codes(range.clone(), false);
                        mention.anaphoric = false;
                        drafts.push(new_draft(mention));
                        touched.push(drafts.len() - 1);
                    }
                    None => {
                        let mut mention = mention;
                        if mention.anaphoric {
                            mention.participants = sentence.codes(
                                sentence.subject_start()..first_trigger.max(hit.tokens.start),
                                false,
                            );
                            mention.anaphoric = false;
                        }
                        drafts.push(new_draft(mention));
                        touched.push(drafts.len() - 1);
                    }
                }
            }
        }
        // Events told in one sentence happen in one place: "a bilateral meeting separate
        // from the SCO summit" is where the summit is.
        // Only between events of one kind: a past summit named beside a planned one
        // did not happen where the planned one will.
        let placed: Vec<(Modality, (usize, String))> = touched
            .iter()
            .filter_map(|&i| {
                let e = &drafts[i].mention;
                e.location.clone().map(|place| (e.modality, place))
            })
            .collect();
        for &i in &touched {
            let e = &mut drafts[i].mention;
            if e.location.is_none() && e.class == "CONSULT" {
                e.location = placed
                    .iter()
                    .find(|(modality, _)| *modality == e.modality)
                    .map(|(_, place)| place.clone());
            }
        }
    }
    drafts.into_iter().map(|d| into_event(doc, d)).collect()
}

/// An action announced rather than done ("Syria says it is willing to withdraw", "they
/// would boycott") is also a statement of intent: AGREE for a cooperative action,
/// THREATEN for a hostile one.
fn stated_intent(sentence: &Sentence, hit: &Hit, mention: &Mention) -> Option<Mention> {
    let at = hit.tokens.start;
    let window = at.saturating_sub(4).max(sentence.range.start)..at;
    let lead_in = at >= sentence.range.start + 2
        && sentence.word(at - 1) == "to"
        && sentence.is(at - 2, INTENT_LEAD_INS);
    let reported_future = window
        .clone()
        .any(|i| matches!(&*sentence.word(i), "will" | "would" | "’ll" | "'ll"))
        && (sentence.range.start..at).any(|i| sentence.is(i, SAYING));
    if !(lead_in || reported_future) || matches!(mention.class, "AGREE" | "THREATEN") {
        return None;
    }
    let (class, cameo) = match mention.class {
        "ASSAULT" | "COERCE" | "SANCTION" | "REJECT" | "MOBILIZE" | "PROTEST" => {
            ("THREATEN", "130")
        }
        _ => ("AGREE", "030"),
    };
    Some(Mention {
        class,
        cameo,
        modality: Modality::Occurred,
        anaphoric: false,
        joins: false,
        ..mention.clone()
    })
}

/// Drops a trigger governed by the one before it: in "agreed to undertake joint
/// exercises" or "refused to meet", the event is the agreeing or the refusing.
fn governed_removed(sentence: &Sentence, hits: Vec<Hit>) -> Vec<Hit> {
    let mut kept: Vec<Hit> = Vec::new();
    for hit in hits {
        let governed = kept.last().is_some_and(|prev| {
            let gap = prev.tokens.end..hit.tokens.start;
            !prev.trigger.noun && gap.len() <= 4 && gap.clone().any(|i| sentence.word(i) == "to")
        });
        if !governed {
            kept.push(hit);
        }
    }
    kept
}

fn new_draft(mention: Mention) -> Draft {
    Draft {
        sentences: vec![mention.sentence],
        last_seen: mention.sentence,
        mentions: 1,
        mention,
    }
}

fn into_event(doc: &Document, draft: Draft) -> Event {
    let m = draft.mention;
    let actors = if m.participants.is_empty() {
        m.named.clone()
    } else {
        m.participants.clone()
    };
    let targets: Vec<String> = m
        .targets
        .into_iter()
        .filter(|t| !actors.contains(t))
        .collect();
    let countries = doc.gazetteer.countries();
    let location = m.location.map(|(country, name)| EventLocation {
        country: Some(countries[country].alpha2.clone()),
        name: Some(name),
    });
    // A meeting in a country none of its parties is from is at a third location.
    let mut cameo = m.cameo.to_owned();
    if cameo == "040" {
        if let Some(place) = location.as_ref().and_then(|l| l.country.as_deref()) {
            let home = actors.iter().any(|a| {
                doc.gazetteer
                    .by_alpha3(a)
                    .is_some_and(|c| c.alpha2 == place)
            });
            // A meeting in a target's country is a visit to it.
            let hosted = targets.iter().any(|t| {
                doc.gazetteer
                    .by_alpha3(t)
                    .is_some_and(|c| c.alpha2 == place)
            });
            if hosted {
                cameo = "042".to_owned();
            } else if !home && !actors.is_empty() {
                cameo = "044".to_owned();
            }
        }
    }
    let date_start = m.dates.map(|d| d.0.to_string());
    let date_end = m.dates.and_then(|d| d.1).map(|d| d.to_string());
    let sentence = doc
        .sentence_text(&doc.sentences[draft.sentences[0]])
        .to_owned();
    let confidence = (0.5
        + if actors.is_empty() { 0.0 } else { 0.2 }
        + if date_start.is_some() { 0.1 } else { 0.0 }
        + if m.noun { 0.0 } else { 0.05 }
        + 0.05 * (draft.mentions.min(3) - 1) as f64)
        .min(0.95);
    let fingerprint = fingerprint(m.class, &actors, location.as_ref(), date_start.as_deref());
    Event {
        plover: m.class.to_owned(),
        cameo,
        actors,
        targets,
        location,
        date_start,
        date_end,
        modality: m.modality,
        sentence,
        confidence: (confidence * 100.0).round() / 100.0,
        fingerprint,
    }
}

/// A stable id from what identifies an event in the world, not in one article: class,
/// parties (sorted), country and first day. Two articles about one meeting share it.
pub fn fingerprint(
    class: &str,
    actors: &[String],
    location: Option<&EventLocation>,
    date_start: Option<&str>,
) -> String {
    let mut sorted: Vec<&str> = actors.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let key = format!(
        "{class}|{}|{}|{}",
        sorted.join(","),
        location.and_then(|l| l.country.as_deref()).unwrap_or(""),
        date_start.unwrap_or("")
    );
    format!("{:016x}", fnv1a(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::super::entities;
    use super::*;

    fn events(text: &str) -> Vec<Event> {
        let doc = Document::new(text);
        let found = entities::find(&doc);
        find(&doc, &found, NaiveDate::from_ymd_opt(2024, 7, 1))
    }

    #[test]
    fn verbs_inflect() {
        assert!(verb_forms("agree").contains(&"agreed".to_owned()));
        assert!(verb_forms("agree").contains(&"agreeing".to_owned()));
        assert!(verb_forms("accuse").contains(&"accusing".to_owned()));
        assert!(verb_forms("deny").contains(&"denied".to_owned()));
        assert!(verb_forms("ban").contains(&"banned".to_owned()));
        assert!(verb_forms("meet").contains(&"met".to_owned()));
    }

    #[test]
    fn a_visit_has_actor_target_place_date_and_modality() {
        let found =
            events("Starting on July 2, Xi Jinping will visit Kazakhstan as a state guest.");
        assert_eq!(found.len(), 1, "{found:?}");
        let visit = &found[0];
        assert_eq!(
            (visit.plover.as_str(), visit.cameo.as_str()),
            ("CONSULT", "042")
        );
        assert_eq!(visit.actors, vec!["CHN"]);
        assert_eq!(visit.targets, vec!["KAZ"]);
        assert_eq!(
            visit.location.as_ref().unwrap().country.as_deref(),
            Some("KZ")
        );
        assert_eq!(visit.date_start.as_deref(), Some("2024-07-02"));
        assert_eq!(visit.modality, Modality::Planned);
    }

    #[test]
    fn a_meeting_in_the_hosts_country_is_a_visit_and_intent_is_agreement() {
        let found = events("Brazil's president met Chinese officials in Beijing on Friday.");
        let meeting = found.iter().find(|e| e.plover == "CONSULT").unwrap();
        assert_eq!(meeting.cameo, "042", "{found:?}");
        let found = events("Syria says it is willing to withdraw its troops from Lebanon.");
        let classes: Vec<&str> = found.iter().map(|e| e.plover.as_str()).collect();
        assert!(
            classes.contains(&"AGREE") && classes.contains(&"RETREAT"),
            "{found:?}"
        );
        let found = events("Syria says it will not accept any more refugees.");
        assert_eq!(found[0].plover, "REJECT", "{found:?}");
    }

    #[test]
    fn a_past_event_does_not_take_the_place_of_a_planned_one() {
        let found = events(
            "Xi Jinping will meet Vladimir Putin in Kazakhstan. The summit will be held a \
             month after the summit that was held on May 16.",
        );
        let past = found
            .iter()
            .find(|e| e.modality == Modality::Occurred)
            .unwrap();
        assert_eq!(past.date_start.as_deref(), Some("2024-05-16"), "{found:?}");
        assert_eq!(past.location, None);
    }

    #[test]
    fn passives_turn_round_and_negations_drop() {
        let found = events("Israel was attacked by Syria on Monday. Jordan did not attack Iraq.");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].plover, "ASSAULT");
        assert_eq!(found[0].actors, vec!["SYR"]);
        assert_eq!(found[0].targets, vec!["ISR"]);
        assert_eq!(found[0].modality, Modality::Occurred);
    }

    #[test]
    fn mentions_of_one_summit_merge_and_uncertainty_sticks() {
        let found = events(
            "A trilateral summit among the U.S., South Korea, and Japan is expected. \
             Although it is not officially confirmed, if a U.S.-South Korea-Japan summit is \
             held at the NATO stage, the three countries are expected to respond.",
        );
        let summits: Vec<&Event> = found.iter().filter(|e| e.plover == "CONSULT").collect();
        assert_eq!(summits.len(), 1, "{found:?}");
        let mut actors = summits[0].actors.clone();
        actors.sort();
        assert_eq!(actors, vec!["JPN", "KOR", "USA"]);
        assert_eq!(summits[0].modality, Modality::Uncertain);
    }

    #[test]
    fn fingerprints_ignore_actor_order_and_wording() {
        let a = events("Russia and China held a summit on May 16.");
        let b = events("China and Russia met on May 16 for a summit.");
        assert_eq!(a[0].fingerprint, b[0].fingerprint, "{a:?} {b:?}");
        assert_eq!(a[0].fingerprint.len(), 16);
    }
}
