//! Events: who did what to whom, where, when, and whether it happened, coded the way
//! TABARI and PETRARCH code them, from each sentence's structure.
//!
//! A sentence is parsed ([`parsing`], [`super::syntax`]) only when it has a trigger
//! ([`triggers`]) and someone who could act in it (a place, a person, an organisation or
//! an agent word); most sentences have neither and cost nothing. Then, per trigger:
//! - [`coding`]: a verb's subject acts on its object or oblique, governed actions
//!   ("threatened to strike") and intents ("will", "plans to") are coded as what they are,
//!   and negated actions, conditions ("if", "unless") and what a demand or a rejection is
//!   about are dropped;
//! - [`nouns`]: an event noun's parties come from its modifiers, "between" and the verb
//!   that takes part in it ("attend the summit");
//! - [`actors`]: each phrase becomes a country and a sector, and only events with a
//!   political actor on one side are kept: a club, a company or an earthquake does not make
//!   one, and in sport and entertainment a country's name is a team;
//! - [`merging`]: mentions of one event join, and each event gets one fingerprint.
//!
//! The place is where the clause says the event happens ("in Baghdad") or where a visit
//! goes; the date is the date expression nearest the trigger, resolved against
//! publication; the modality comes from auxiliaries ("will", "could"), governing words ("is
//! expected to"), "if", hedges ("not officially confirmed"), and, without them, the date.

pub mod actors;
pub mod agents;
pub mod calibration;
pub mod coding;
pub mod merging;
pub mod nouns;
pub mod parsing;
pub mod triggers;

use std::ops::Range;

use chrono::NaiveDate;

use super::dates;
use super::entities::Found;
use super::words::DATE_CUES;
use super::Document;
use crate::geo::MentionKind;
use crate::record::{Event, Modality};
use actors::{Actor, DocumentActors, SentenceActors};
use calibration::ScoredEvent;
use coding::{push_actor, Hit, Sentence};
use merging::Draft;

/// One mention of an event in one sentence.
#[derive(Debug, Clone)]
pub struct Mention {
    pub class: &'static str,
    pub cameo: &'static str,
    /// Who acts: the source, or every party of a meeting or an agreement.
    pub actors: Vec<Actor>,
    pub targets: Vec<Actor>,
    /// Organisations named as the event's owner ("the NATO meeting", "the SCO summit"):
    /// the parties only when no one else is named.
    pub owners: Vec<Actor>,
    pub location: Option<(usize, String)>,
    pub dates: Option<(NaiveDate, Option<NaiveDate>)>,
    pub modality: Modality,
    /// "the summit", "this meeting": refers back to an earlier event.
    pub anaphoric: bool,
    /// Joins the earlier event's parties ("Putin will be present at the summit").
    pub joins: bool,
    pub sentence: usize,
    pub noun: bool,
    /// The source is a subject or an agent in the parse.
    pub from_syntax: bool,
}

/// The most events one article yields: far above any real article, it bounds the merging
/// work on a pathological one.
const MAX_EVENTS: usize = 256;

/// The triggers of one sentence, longest match first, not overlapping, by
/// sentence-relative token positions.
fn find_hits<'d>(doc: &Document<'d>, sentence: Range<usize>) -> Vec<Hit<'d>> {
    let lexicon = &doc.data.lexicon;
    let tokens = &doc.tokens[sentence.clone()];
    let mut hits = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        // Capitalised words inside a sentence are names ("March", "Deal").
        if !token.is_word() || (token.is_capitalised() && i != 0) {
            i += 1;
            continue;
        }
        let candidates = lexicon.starting_with(&token.lower());
        let fits = |words: &[String]| {
            words.len() <= tokens.len() - i
                && words[1..]
                    .iter()
                    .zip(&tokens[i + 1..])
                    .all(|(w, t)| t.text.eq_ignore_ascii_case(w))
        };
        let Some(longest) = candidates.iter().find(|t| fits(&t.words)) else {
            i += 1;
            continue;
        };
        let triggers: Vec<_> = candidates
            .iter()
            .filter(|t| t.words == longest.words)
            .collect();
        hits.push(Hit {
            tokens: i..i + longest.words.len(),
            triggers,
        });
        i += longest.words.len();
    }
    hits
}

/// Whether a hit can make an event, as far as the words tell before parsing: a governor
/// alone ("plans", "wants") makes none, nor a trigger that needs a particular object ("cut
/// ties", "close the border") with none of them after it. Most sentences the lexicon
/// matches fail this and are not parsed.
fn may_code(doc: &Document, sentence: &Range<usize>, hit: &Hit) -> bool {
    let after = || {
        doc.tokens[sentence.start + hit.tokens.end..sentence.end]
            .iter()
            .map(|t| t.lower())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut rest: Option<String> = None;
    hit.triggers.iter().any(|t| {
        !t.only_governs()
            && (t.objects.is_empty()
                || t.needs_any_object()
                || t.takes_object(rest.get_or_insert_with(after)))
    })
}

/// Whether anyone who could act politically is named in the sentence.
fn has_candidate(
    context: &DocumentActors,
    sentence: &Range<usize>,
    previous: Option<&Actor>,
    names_are_states: bool,
) -> bool {
    let doc = context.doc;
    let agents = &doc.data.agents;
    let tokens = &doc.tokens[sentence.clone()];
    let bytes = tokens[0].start()..tokens[tokens.len() - 1].end();
    doc.places_in(bytes.clone())
        .iter()
        .any(|m| actors::may_act(doc, &m.mention, names_are_states))
        || context.names_actor_in(bytes)
        || tokens.iter().any(|t| {
            let word = t.lower();
            // A pronoun may stand for the actor of an earlier sentence.
            (previous.is_some() && matches!(&*word, "it" | "they" | "he" | "she" | "we"))
                || agents.sector_of(&word).is_some_and(actors::may_act_as)
        })
        // "a terror network", "rebel groups".
        || tokens.windows(2).any(|pair| {
            agents.sector_of_pair(&pair[0].lower(), &pair[1].lower())
                .is_some_and(actors::may_act_as)
        })
}

/// Hedges that make every event of the sentence uncertain.
fn hedged(text: &str) -> bool {
    [
        "not officially confirmed",
        "not confirmed",
        "unconfirmed",
        "reportedly",
        "allegedly",
    ]
    .iter()
    .any(|hedge| text.contains(hedge))
}

/// The date expressions of a sentence, by sentence-relative token range.
fn sentence_dates(
    doc: &Document,
    range: &Range<usize>,
    published: Option<NaiveDate>,
) -> Vec<(Range<usize>, dates::DateMention)> {
    let text = doc.sentence_text(range);
    // Most sentences name no date: the patterns run only where one may be.
    let may_have_dates = text.bytes().any(|b| b.is_ascii_digit())
        || doc.tokens[range.clone()].iter().any(|t| t.is(DATE_CUES));
    if !may_have_dates {
        return Vec::new();
    }
    let start_byte = doc.tokens[range.start].start();
    let token_at = |byte: usize| doc.tokens.partition_point(|t| t.end() <= byte) - range.start;
    dates::find(&doc.data.dates, text, published)
        .into_iter()
        .map(|d| {
            let tokens =
                token_at(start_byte + d.span.start)..token_at(start_byte + d.span.end - 1) + 1;
            (tokens, d)
        })
        .collect()
}

/// The countries a sentence names before token `end` (or anywhere, when it names none
/// there): the parties of an event it refers to without naming them.
fn sentence_parties(sentence: &Sentence, end: usize) -> Vec<Actor> {
    let doc = sentence.actors.context.doc;
    let offset = sentence.actors.range.start;
    let mut parties = Vec::new();
    for before in [end, sentence.actors.range.len()] {
        let last = doc.tokens[offset + before.max(1) - 1].end();
        for m in doc.places_in(doc.tokens[offset].start()..last) {
            if matches!(m.mention.kind, MentionKind::Name | MentionKind::Demonym) {
                push_actor(&mut parties, Actor::country_named(doc, &m.mention));
            }
        }
        if !parties.is_empty() {
            break;
        }
    }
    parties
}

/// The events of a document, in order of first mention (at most `MAX_EVENTS`).
/// `names_are_states` is false in sport and entertainment, where a country's name alone
/// is a team and makes no political actor.
pub fn find(
    doc: &Document,
    entities: &[Found],
    published: Option<NaiveDate>,
    names_are_states: bool,
) -> Vec<Event> {
    find_scored(doc, entities, published, names_are_states)
        .into_iter()
        .map(|scored| scored.event)
        .collect()
}

/// The events of a document as [`find`] gives them, each with the features its confidence
/// came from (what `make train-confidence` fits the confidence model on).
pub fn find_scored(
    doc: &Document,
    entities: &[Found],
    published: Option<NaiveDate>,
    names_are_states: bool,
) -> Vec<ScoredEvent> {
    let context = DocumentActors::new(doc, entities);
    let mut drafts: Vec<Draft> = Vec::new();
    let mut previous: Option<Actor> = None;
    for (index, range) in doc.sentences.iter().enumerate() {
        let hits = find_hits(doc, range.clone());
        let demands = doc.tokens[range.clone()].iter().any(|t| t.text == "must");
        if !(demands || hits.iter().any(|hit| may_code(doc, range, hit)))
            || !has_candidate(&context, range, previous.as_ref(), names_are_states)
        {
            continue;
        }
        let words: Vec<&str> = doc.tokens[range.clone()].iter().map(|t| t.text).collect();
        let parse = parsing::parse(&doc.data.syntax, &words);
        let sentence = Sentence {
            actors: SentenceActors::new(&context, range.clone(), &parse),
            index,
            published,
            dates: sentence_dates(doc, range, published),
            hits,
            previous: previous.clone(),
            hedged: hedged(doc.sentence_text(range)),
        };
        let first_trigger = sentence.hits.first().map_or(range.len(), Hit::head);
        let mut touched: Vec<usize> = Vec::new();
        let mentions: Vec<Mention> = sentence
            .hits
            .iter()
            .filter_map(|hit| {
                sentence
                    .code_clause(hit)
                    .or_else(|| sentence.code_noun(hit))
            })
            .chain(if demands {
                sentence.code_demands()
            } else {
                Vec::new()
            })
            .collect();
        for mut mention in mentions {
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
                None => {
                    if mention.anaphoric && mention.actors.is_empty() {
                        // "the summit" with nothing before it to refer to: a summit of the
                        // sentence's parties.
                        let end = if mention.dates.is_some() {
                            first_trigger
                        } else {
                            range.len()
                        };
                        mention.actors = sentence_parties(&sentence, end);
                    }
                    mention.anaphoric = false;
                    drafts.push(Draft::new(mention));
                    touched.push(drafts.len() - 1);
                }
            }
        }
        // Events told in one sentence happen in one place: "a bilateral meeting separate
        // from the SCO summit" is where the summit is. Only between events of one kind: a
        // past summit named beside a planned one did not happen where the planned one will.
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
        if let Some(actor) = touched
            .iter()
            .flat_map(|&i| drafts[i].mention.actors.iter())
            .find(|a| a.code.is_some() && a.political)
        {
            previous = Some(actor.clone());
        }
    }
    drafts.retain(|d| d.political(names_are_states));
    let first_sentences: Vec<usize> = drafts.iter().map(|d| d.sentences[0]).collect();
    let told_with = |sentence: usize| first_sentences.iter().filter(|&&s| s == sentence).count();
    merging::join_same_events(
        drafts
            .into_iter()
            .map(|d| {
                let sentence_events = told_with(d.sentences[0]);
                merging::into_event(doc, d, sentence_events)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests;
