//! Events named by a noun: "the North Korea-Russia summit", "a reunion between Xi and
//! Putin", "Israeli air raids on Rafah", "the talks will be held".
//!
//! The parties are the countries and organisations in the noun's modifiers (an
//! organisation such as NATO or the SCO is the event's owner), the phrases after
//! "between", "among" or "with", and the subject of a verb that takes part in the event
//! ("Xi will attend the summit", "rebels launched an offensive"); "against", "on" and "by"
//! give targets and sources. A bare "the summit" or "this meeting" refers back to an
//! earlier event. The noun's tense comes from the verb it depends on, its relative clause
//! ("the summit that was held") or its own adjective ("the upcoming meeting").

use rustc_hash::FxHashSet;

use super::super::syntax::{Rel, Tag};
use super::super::words::{MODIFIER_WORDS, NOUN_LEAD_INS};
use super::actors::Actor;
use super::coding::{push_actor, Hit, Sentence};
use super::triggers::{verb_forms, Form};
use super::Mention;
use crate::geo::MentionKind;
use crate::record::{EntityType, Modality};

/// Nouns that measure out an event ("days of talks", "a wave of attacks").
const MEASURES: &[&str] = &[
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "hours",
    "round",
    "rounds",
    "series",
    "wave",
    "waves",
    "spate",
    "string",
    "campaign",
    "programme",
    "program",
];

/// Verbs whose subject takes part in the event their object names ("hold talks", "launch
/// an offensive", "reiterated its demand").
const TAKING_PART: &[&str] = &[
    "attend",
    "join",
    "participate",
    "hold",
    "have",
    "host",
    "stage",
    "launch",
    "carry",
    "conduct",
    "mount",
    "begin",
    "start",
    "resume",
    "continue",
    "make",
    "open",
    "order",
    "lead",
    "organize",
    "organise",
    "call",
    "declare",
    "announce",
    "take",
    "wage",
    "unleash",
    "step",
    "issue",
    "give",
    "deliver",
    "pay",
    "reiterate",
    "repeat",
    "renew",
    "reaffirm",
    "restate",
    "voice",
    "remain",
    "stay",
    "put",
    "place",
    "keep",
    "complete",
    "finish",
];

/// The verbs whose subject takes part in the event their object names, in every
/// inflection, and "present" ("will be present at the summit").
pub struct TakingPart(FxHashSet<String>);

impl Default for TakingPart {
    fn default() -> Self {
        let verbs = TAKING_PART.iter().flat_map(|lemma| verb_forms(lemma));
        Self(verbs.chain(["present".to_owned()]).collect())
    }
}

impl TakingPart {
    pub fn contains(&self, lower: &str) -> bool {
        self.0.contains(lower)
    }
}

/// Adjectives that make an event planned ("the upcoming meeting", "a reunion is imminent")
/// or past ("the last summit").
const PLANNED_WORDS: &[&str] = &[
    "upcoming",
    "planned",
    "proposed",
    "scheduled",
    "imminent",
    "forthcoming",
    "next",
    "expected",
    "future",
    "coming",
    "likely",
];
const PAST_WORDS: &[&str] = &["last", "previous", "recent", "past", "earlier"];

impl Sentence<'_, '_> {
    /// Where a noun trigger's modifiers start, on the surface: "the [North Korea-Russia]
    /// summit", "the [U.S., Japan and South Korea] summit".
    fn modifier_start(&self, noun: usize) -> usize {
        let doc = self.actors.context.doc;
        let token = |i: usize| &doc.tokens[self.actors.range.start + i];
        let mut start = noun;
        while start > 0 {
            let before = token(start - 1);
            let joins_names = matches!(before.text, "and" | ",")
                && token(start).is_capitalised()
                && start >= 2
                && token(start - 2).is_capitalised();
            let keeps = before.is_capitalised()
                || joins_names
                || before.is(MODIFIER_WORDS)
                || (before.text.contains('-') && before.text.chars().any(char::is_uppercase));
            if !keeps || (start == 1 && !before.is_capitalised()) {
                break;
            }
            start -= 1;
        }
        start.min(noun)
    }

    /// Countries and organisations named among the modifiers of the noun at `noun`.
    fn modifier_parties(&self, noun: usize) -> (Vec<Actor>, Vec<Actor>) {
        let context = self.actors.context;
        let doc = context.doc;
        let start = self.modifier_start(noun);
        let offset = self.actors.range.start;
        let bytes = doc.tokens[offset + start].start()..doc.tokens[offset + noun].start();
        let mut countries: Vec<Actor> = Vec::new();
        if start < noun {
            for m in doc.places_in(bytes.clone()) {
                if !matches!(m.mention.kind, MentionKind::Name | MentionKind::Demonym) {
                    continue;
                }
                push_actor(&mut countries, Actor::country_named(doc, &m.mention));
            }
        }
        let mut owners: Vec<Actor> = Vec::new();
        for i in start..noun {
            if let Some(actor) = self.actors.resolve(i, None) {
                let organisation = self
                    .actors
                    .entity(i)
                    .is_some_and(|e| context.entities[e].kind == EntityType::Organization);
                if organisation
                    && actor.political
                    && actor.sector.is_some_and(|s| s == "IGO" || s == "NGO")
                {
                    push_actor(&mut owners, actor);
                }
            }
        }
        (countries, owners)
    }

    /// The verb a noun depends on, through the words that may stand between ("attend the
    /// two-day SCO summit"), and how.
    fn governing(&self, noun: usize) -> Option<(usize, Rel)> {
        let parse = self.actors.parse;
        let mut at = noun;
        // "have a bilateral meeting separate from ...", parsed with "meeting" as a
        // compound of the word after it: the phrase's head is what the verb governs.
        while parse.rels[at] == Rel::COMPOUND && parse.tags[parse.heads[at]?].is_nominal() {
            at = parse.heads[at]?;
        }
        // "launched ten days of war games", "a new round of talks": the verb governs the
        // measure, and through it the event.
        if parse.rels[at] == Rel::NMOD && self.case_word(at).as_deref() == Some("of") {
            let measure = parse.heads[at]?;
            if MEASURES.contains(&&*self.actors.lower(measure)) {
                at = measure;
            }
        }
        let head = parse.heads[at]?;
        Some((head, parse.rels[at]))
    }

    fn noun_modality(
        &self,
        noun: usize,
        date: Option<(chrono::NaiveDate, Option<chrono::NaiveDate>)>,
    ) -> Modality {
        if self.hedged {
            return Modality::Uncertain;
        }
        let parse = self.actors.parse;
        for c in parse.children(noun) {
            let word = self.actors.lower(c);
            if parse.rels[c] == Rel::AMOD || parse.rels[c] == Rel::COMPOUND {
                if PLANNED_WORDS.contains(&&*word) {
                    return Modality::Planned;
                }
                if PAST_WORDS.contains(&&*word) {
                    return Modality::Occurred;
                }
            }
            if matches!(parse.rels[c], Rel::ACL_RELCL | Rel::ACL) && parse.tags[c] == Tag::VERB {
                return self.clause_modality(c, date);
            }
        }
        let mut at = noun;
        for _ in 0..4 {
            let Some(head) = parse.heads[at] else { break };
            // "A reunion ... is imminent".
            let subject = matches!(parse.rels[at], Rel::NSUBJ | Rel::NSUBJ_PASS);
            if subject && PLANNED_WORDS.contains(&&*self.actors.lower(head)) {
                return Modality::Planned;
            }
            if parse.tags[head] == Tag::VERB || parse.tags[head] == Tag::ADJ {
                return self.clause_modality(head, date);
            }
            at = head;
        }
        self.clause_modality(noun, date)
    }

    /// The mention a noun trigger makes, if any.
    pub fn code_noun(&self, hit: &Hit) -> Option<Mention> {
        let noun = hit.head();
        let parse = self.actors.parse;
        let trigger = self.readings(hit).find(|t| t.form == Form::Noun)?;
        if self.is_coded_elsewhere(noun) {
            return None;
        }
        let place = self.place_of(noun);
        let place_country = place.as_ref().map(|(c, _)| *c);
        let (mut participants, owners) = self.modifier_parties(noun);
        let mut targets: Vec<Actor> = Vec::new();
        let mut sources: Vec<Actor> = Vec::new();
        for c in parse.children(noun) {
            if !matches!(parse.rels[c], Rel::NMOD | Rel::ACL | Rel::NMOD_POSS) {
                continue;
            }
            let found = self.actors_of_phrase(c, place_country);
            match (parse.rels[c], self.case_word(c).as_deref()) {
                (Rel::NMOD, Some("between" | "among" | "with")) => {
                    found
                        .into_iter()
                        .for_each(|a| push_actor(&mut participants, a));
                }
                (Rel::NMOD, Some("against" | "on" | "upon" | "at" | "to")) => {
                    found.into_iter().for_each(|a| push_actor(&mut targets, a));
                }
                (Rel::NMOD, Some("by")) | (Rel::NMOD_POSS, _) => {
                    found.into_iter().for_each(|a| push_actor(&mut sources, a));
                }
                _ => {}
            }
        }
        let mut joins = false;
        if let Some((verb, rel)) = self.governing(noun) {
            let taking_part = &self.actors.context.doc.data.taking_part;
            let takes_part = taking_part.contains(&self.actors.lower(verb));
            let object = matches!(rel, Rel::OBJ)
                || (rel == Rel::OBL
                    && matches!(
                        self.case_word(noun).as_deref(),
                        None | Some("at" | "in" | "on")
                    ));
            if takes_part && object {
                joins = true;
                if let Some(subject) = self.clause_subject(verb) {
                    for actor in self.actors_of_phrase(subject, place_country) {
                        push_actor(&mut sources, actor);
                    }
                }
                // "issued an ultimatum to Ecuador": the verb names whom the event is aimed at.
                for c in parse.children(verb) {
                    let aimed = parse.rels[c] == Rel::OBL
                        && matches!(
                            self.case_word(c).as_deref(),
                            Some("against" | "on" | "upon" | "to")
                        );
                    if aimed {
                        for actor in self.actors_of_phrase(c, place_country) {
                            push_actor(&mut targets, actor);
                        }
                    }
                }
            }
        }
        let symmetric = matches!(trigger.class, "CONSULT" | "AGREE" | "COOPERATE");
        let actors = if symmetric {
            let mut all = participants;
            sources.into_iter().for_each(|a| push_actor(&mut all, a));
            all
        } else {
            let mut all = sources;
            participants
                .into_iter()
                .for_each(|a| push_actor(&mut all, a));
            all
        };
        let determiner = parse
            .children(noun)
            .find(|&c| parse.rels[c] == Rel::DET)
            .map(|c| self.actors.lower(c).into_owned());
        let bare = self.modifier_start(noun) == noun
            || (noun > 0
                && self.actors.context.doc.tokens[self.actors.range.start + noun - 1]
                    .is(NOUN_LEAD_INS));
        // "Putin will also be present at the summit": a party joining an event named before.
        let anaphoric = (actors.is_empty() || joins)
            && owners.is_empty()
            && bare
            && matches!(
                determiner.as_deref(),
                Some("the" | "this" | "that" | "these" | "those")
            );
        let date = self.date_near(noun);
        Some(Mention {
            class: trigger.class,
            cameo: trigger.cameo,
            actors,
            targets,
            owners,
            location: place,
            dates: date,
            modality: self.noun_modality(noun, date),
            anaphoric,
            joins,
            sentence: self.index,
            noun: true,
            from_syntax: true,
        })
    }
}
