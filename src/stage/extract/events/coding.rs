//! Who did what to whom in one sentence, read from its parse.
//!
//! For a verb, the source is its subject (a passive's agent, the subject of the verb it
//! depends on for "agreed to undertake" or "Jordan and Britain ... and signed"), the
//! target its object or an oblique ("against", "on", "with", "to", "from"); coordinated
//! subjects are several actors. A pronoun takes the subject of the clause that reports it
//! ("Syria says it is willing"). A verb that governs another ("threatened to strike",
//! "refused to deploy", "demanded that the US cancel") codes the governing act with the
//! governed one's target; "plans to", "wants to" and a future tense make an action an
//! intent (AGREE for a cooperative one, THREATEN for a hostile one), except meetings and
//! visits, which stay planned CONSULT. A negated action is no event, or a rejection for a
//! cooperative one ("did not accept").

use std::ops::Range;

use chrono::NaiveDate;

use super::super::dates::DateMention;
use super::super::syntax::{Rel, Tag};
use super::actors::{Actor, SentenceActors};
use super::triggers::{Form, Trigger};
use super::Mention;
use crate::record::Modality;

mod scope;

/// One trigger phrase found in a sentence, by sentence-relative token positions, with
/// the lexicon's readings of it ("protest" the verb and the noun).
#[derive(Debug, Clone)]
pub struct Hit<'d> {
    pub tokens: Range<usize>,
    pub triggers: Vec<&'d Trigger>,
}

impl Hit<'_> {
    pub fn head(&self) -> usize {
        self.tokens.start + self.triggers[0].head()
    }
}

/// Classes whose intent is cooperative; the others are hostile.
const COOPERATIVE: &[&str] = &[
    "AGREE",
    "CONSULT",
    "SUPPORT",
    "COOPERATE",
    "AID",
    "CONCEDE",
    "RETREAT",
];

/// A negated trigger of these classes is a rejection ("did not accept").
const NEGATED_IS_REJECTION: &[&str] = &["AGREE", "SUPPORT", "COOPERATE", "AID", "CONCEDE"];

/// Verbs that report what someone said ("the ministry said Iran must ...").
const SPEECH: &[&str] = &[
    "said",
    "says",
    "say",
    "declared",
    "declares",
    "announced",
    "announces",
    "concluded",
    "insisted",
    "insists",
    "stated",
    "states",
    "told",
    "added",
    "warned",
    "argued",
];

/// The words that make an action planned when they govern it ("is expected to attend").
const PLANNING: &[&str] = &[
    "expected",
    "scheduled",
    "set",
    "going",
    "due",
    "planned",
    "about",
    "slated",
    "poised",
];

/// One sentence being coded.
pub struct Sentence<'a, 'd> {
    pub actors: SentenceActors<'a, 'd>,
    pub index: usize,
    pub published: Option<NaiveDate>,
    /// Date expressions by sentence-relative token range.
    pub dates: Vec<(Range<usize>, DateMention)>,
    pub hits: Vec<Hit<'d>>,
    /// The first actor of the sentence before, for a pronoun with nothing to refer to here.
    pub previous: Option<Actor>,
    /// "not officially confirmed", "reportedly": every event of the sentence is uncertain.
    pub hedged: bool,
}

impl<'d> Sentence<'_, 'd> {
    fn parse(&self) -> &super::super::syntax::Parse {
        self.actors.parse
    }

    fn lower(&self, i: usize) -> std::borrow::Cow<'_, str> {
        self.actors.lower(i)
    }

    fn head_of(&self, i: usize) -> Option<usize> {
        self.parse().heads[i]
    }

    fn rel(&self, i: usize) -> Rel {
        self.parse().rels[i]
    }

    fn children_with(&self, head: usize, rels: &[Rel]) -> Vec<usize> {
        self.parse()
            .children(head)
            .filter(|&c| rels.contains(&self.rel(c)))
            .collect()
    }

    /// The word of the preposition that marks `noun` ("against" of "against Iran").
    pub(super) fn case_word(&self, noun: usize) -> Option<String> {
        self.parse()
            .children(noun)
            .find(|&c| self.rel(c) == Rel::CASE && c < noun)
            .map(|c| self.lower(c).into_owned())
    }

    /// The hit whose head is token `i`.
    fn hit_at(&self, i: usize) -> Option<&Hit<'d>> {
        self.hits.iter().find(|h| h.head() == i)
    }

    /// The readings of a hit that fit the tag its head was given, in lexicon order.
    pub(super) fn readings<'h>(&self, hit: &'h Hit<'d>) -> impl Iterator<Item = &'d Trigger> + 'h {
        let tag = self.parse().tags[hit.head()];
        let noun_only = hit.triggers.iter().all(|t| t.form == Form::Noun);
        // "began a protest" with "protest" tagged an adjective: a word that is a verb's
        // subject or object is a noun, whatever its tag.
        let argument = matches!(
            self.rel(hit.head()),
            Rel::OBJ | Rel::NSUBJ | Rel::NSUBJ_PASS
        );
        hit.triggers.iter().copied().filter(move |t| match t.form {
            Form::Verb | Form::Governor => tag == Tag::VERB,
            Form::Adjective => matches!(tag, Tag::ADJ | Tag::VERB),
            // The tagger takes some nouns after names for verbs ("the SCO summit on July
            // 3"): a word the lexicon knows only as a noun is one.
            Form::Noun => {
                tag.is_nominal() || (tag == Tag::VERB && noun_only) || (tag == Tag::ADJ && argument)
            }
        })
    }

    fn negated(&self, i: usize) -> bool {
        self.parse().children(i).any(|c| {
            matches!(self.rel(c), Rel::ADVMOD | Rel::DET | Rel::AUX)
                && matches!(&*self.lower(c), "not" | "n't" | "never" | "no")
        })
    }

    /// Auxiliaries and governing words that say when or whether `i` happens.
    fn own_modality(&self, i: usize) -> Option<Modality> {
        let parse = self.parse();
        let mut planned = false;
        for c in parse.children(i) {
            let word = self.lower(c);
            match self.rel(c) {
                Rel::AUX | Rel::AUX_PASS => match &*word {
                    "will" | "would" | "shall" | "'ll" | "’ll" | "wo" => planned = true,
                    "may" | "might" | "could" => return Some(Modality::Uncertain),
                    _ => {}
                },
                Rel::MARK if matches!(&*word, "if" | "whether") => {
                    return Some(Modality::Uncertain)
                }
                Rel::ADVMOD
                    if matches!(&*word, "reportedly" | "allegedly" | "possibly" | "perhaps") =>
                {
                    return Some(Modality::Uncertain)
                }
                _ => {}
            }
        }
        if planned {
            return Some(Modality::Planned);
        }
        // "will visit Kazakhstan and attend the summit": a coordinated verb shares the
        // first one's auxiliaries.
        if self.rel(i) == Rel::CONJ && self.parse().tags[i] == Tag::VERB {
            return self.own_modality(self.head_of(i)?);
        }
        // "is expected to attend", "are scheduled to have".
        if matches!(self.rel(i), Rel::XCOMP) {
            let governor = self.head_of(i)?;
            if PLANNING.contains(&&*self.lower(governor)) {
                return Some(self.own_modality(governor).unwrap_or(Modality::Planned));
            }
            return self.own_modality(governor);
        }
        None
    }

    /// The modality of the action at `i`, with `date` for an action without tense cues.
    pub(super) fn clause_modality(
        &self,
        i: usize,
        date: Option<(NaiveDate, Option<NaiveDate>)>,
    ) -> Modality {
        if self.hedged {
            return Modality::Uncertain;
        }
        if let Some(m) = self.own_modality(i) {
            return m;
        }
        let past = self.parse().tags[i] == Tag::VERB && is_past_form(&self.lower(i));
        match (date, self.published) {
            (Some((start, end)), Some(published)) if !past && end.unwrap_or(start) >= published => {
                Modality::Planned
            }
            _ => Modality::Occurred,
        }
    }

    /// The subject of the clause at `i` and whether it is the agent of a passive, following
    /// the clauses it depends on when it has none of its own.
    pub(super) fn clause_subject(&self, i: usize) -> Option<usize> {
        let mut at = i;
        for _ in 0..4 {
            if let Some(s) = self.parse().child(at, Rel::NSUBJ) {
                return Some(s);
            }
            if let Some(patient) = self.parse().child(at, Rel::NSUBJ_PASS) {
                // A passive acts through its agent; one it governs ("are scheduled to
                // have") is done by its subject.
                return if at == i {
                    self.agent(at)
                } else {
                    Some(patient)
                };
            }
            let head = self.head_of(at)?;
            match self.rel(at) {
                // "urged Iraq to allow": the object of the governing verb acts.
                Rel::XCOMP => {
                    if let Some(object) = self.parse().child(head, Rel::OBJ) {
                        return Some(object);
                    }
                }
                Rel::CONJ | Rel::ADVCL => {}
                // "militants who attacked", "troops firing on protesters".
                Rel::ACL_RELCL | Rel::ACL => return Some(head),
                _ => return None,
            }
            at = head;
        }
        None
    }

    /// The agent of a passive: "by" the attackers.
    fn agent(&self, i: usize) -> Option<usize> {
        self.parse().children(i).find(|&c| {
            self.rel(c) == Rel::OBL_AGENT
                || (self.rel(c) == Rel::OBL && self.case_word(c).as_deref() == Some("by"))
        })
    }

    /// Who the clause at `i` acts on: its object, its passive subject, or an oblique that
    /// the class reads as a target.
    fn targets(&self, i: usize, class: &str) -> Vec<usize> {
        let parse = self.parse();
        let mut out = Vec::new();
        if let Some(patient) = parse.child(i, Rel::NSUBJ_PASS) {
            out.push(patient);
        }
        out.extend(self.children_with(i, &[Rel::OBJ, Rel::IOBJ]));
        // "arrested more than 100 Palestinians", parsed as "more" the object and "than
        // 100" an oblique: the count is the object.
        let comparative = out
            .iter()
            .any(|&o| matches!(&*self.lower(o), "more" | "fewer" | "less" | "over"));
        for c in self.children_with(i, &[Rel::OBL]) {
            let case = self.case_word(c);
            let wanted = match case.as_deref() {
                Some("than") => comparative,
                Some("against" | "on" | "upon" | "at" | "over" | "toward" | "towards") => true,
                Some("with") => true,
                Some("to") => matches!(
                    class,
                    "AID" | "SUPPORT" | "CONSULT" | "AGREE" | "COOPERATE" | "DEMAND"
                ),
                Some("from") => matches!(class, "RETREAT" | "SANCTION"),
                _ => false,
            };
            if wanted {
                out.push(c);
            }
        }
        out
    }

    /// The actor a token stands for, a pronoun resolved to the subject of the clause that
    /// reports it or to the sentence before.
    fn actor(&self, token: usize, place: Option<usize>) -> Option<Actor> {
        if self.parse().tags[token] == Tag::PRON {
            if !matches!(&*self.lower(token), "it" | "they" | "he" | "she" | "we") {
                return None;
            }
            let mut at = token;
            for _ in 0..4 {
                at = self.head_of(at)?;
                if let Some(s) = self.parse().child(at, Rel::NSUBJ) {
                    if s != token && self.parse().tags[s] != Tag::PRON {
                        return self.actors.resolve(s, place);
                    }
                }
            }
            return self.previous.clone();
        }
        self.actors.resolve(token, place)
    }

    /// Every actor of the phrase at `token` and the phrases coordinated with it.
    pub(super) fn actors_of_phrase(&self, token: usize, place: Option<usize>) -> Vec<Actor> {
        self.actors_of(&[token], place)
    }

    /// Every actor of some phrases and the phrases coordinated with them.
    pub(super) fn actors_of(&self, tokens: &[usize], place: Option<usize>) -> Vec<Actor> {
        let mut out: Vec<Actor> = Vec::new();
        for &t in tokens {
            // "the two leaders", "both countries".
            let collective = (0..t).rev().take(2).find_map(|k| {
                let codes = self.actors.collective(k);
                (!codes.is_empty() && k + 1 == t).then_some(codes)
            });
            if let Some(codes) = collective {
                for code in codes {
                    push_actor(
                        &mut out,
                        Actor {
                            code: Some(code),
                            sector: Some("GOV"),
                            words: self.actors.text(t).to_owned(),
                            political: true,
                            crowd: false,
                            by_name: false,
                        },
                    );
                }
                continue;
            }
            for c in self.actors.conjuncts(t) {
                // "more than 100 Palestinians", "a group of soldiers": the quantity's noun
                // (a "group" alone is a company).
                let actor = self
                    .quantified(c)
                    .and_then(|n| self.actor(n, place))
                    .or_else(|| self.actor(c, place));
                if let Some(actor) = actor {
                    push_actor(&mut out, actor);
                }
            }
        }
        out
    }

    /// The noun a quantity stands before ("100" in "more than 100 Palestinians"), for a
    /// head that is a number or a quantifier rather than who is counted.
    fn quantified(&self, head: usize) -> Option<usize> {
        let parse = self.parse();
        if parse.tags[head].is_nominal()
            && !matches!(
                &*self.lower(head),
                "dozens" | "hundreds" | "thousands" | "scores" | "number" | "group"
            )
        {
            return None;
        }
        let mut frontier = vec![head];
        for _ in 0..2 {
            let mut next = Vec::new();
            for at in frontier {
                for c in parse.children(at) {
                    if parse.tags[c].is_nominal()
                        && matches!(self.rel(c), Rel::NMOD | Rel::OBL | Rel::OBJ | Rel::COMPOUND)
                    {
                        return Some(c);
                    }
                    next.push(c);
                }
            }
            frontier = next;
        }
        None
    }

    /// The country of the place the clause at `i` happens in ("in Baghdad", "near the
    /// town of Samarra"), looking up to the clauses it depends on.
    pub fn place_of(&self, i: usize) -> Option<(usize, String)> {
        let mut at = i;
        for _ in 0..3 {
            for c in self.children_with(at, &[Rel::OBL, Rel::NMOD]) {
                if !matches!(
                    self.case_word(c).as_deref(),
                    Some("in" | "at" | "near" | "outside" | "inside" | "across" | "into")
                ) {
                    continue;
                }
                let found = self
                    .actors
                    .phrase(c)
                    .into_iter()
                    .find_map(|t| self.actors.place_name(t));
                if found.is_some() {
                    return found;
                }
            }
            at = self.head_of(at)?;
        }
        None
    }

    /// The date expression nearest to token `i`.
    pub(super) fn date_near(&self, i: usize) -> Option<(NaiveDate, Option<NaiveDate>)> {
        let mut best: Option<(usize, (NaiveDate, Option<NaiveDate>))> = None;
        for (range, date) in &self.dates {
            let distance = if range.start > i {
                range.start - i
            } else {
                i.saturating_sub(range.end)
            };
            // Only the trigger nearest a date may take it.
            let nearest_hit = self.hits.iter().map(|h| h.head()).min_by_key(|&h| {
                if range.start > h {
                    range.start - h
                } else {
                    h.saturating_sub(range.end)
                }
            }) == Some(i);
            if nearest_hit && best.is_none_or(|(d, _)| distance < d) {
                best = Some((distance, (date.start, date.end)));
            }
        }
        best.map(|(_, d)| d)
    }

    /// The mention a verb, governor or adjective trigger makes, if any: the first reading
    /// that fits its tag and finds what it needs.
    pub fn code_clause(&self, hit: &Hit) -> Option<Mention> {
        let at = hit.head();
        if self.is_coded_elsewhere(at) {
            return None;
        }
        self.readings(hit)
            .filter(|t| t.form != Form::Noun)
            .find_map(|trigger| self.code_reading(at, trigger))
    }

    fn code_reading(&self, at: usize, trigger: &Trigger) -> Option<Mention> {
        let place = self.place_of(at);
        let place_country = place.as_ref().map(|(c, _)| *c);
        let date = self.date_near(at);
        let mut modality = self.clause_modality(at, date);
        let mut negated = self.negated(at);
        let content = match trigger.form {
            Form::Governor | Form::Adjective => self.content(at, trigger),
            _ => None,
        };
        let (mut class, mut cameo) = (trigger.class, trigger.cameo);
        let source_token = self.clause_subject(at);
        let mut target_tokens = self.targets(at, class);
        match (content, trigger.class) {
            (Some(_), "NEGATE") => return None,
            (None, "INTENT" | "NEGATE") => return None,
            (Some((inner, inner_trigger)), _) => {
                negated |= self.negated(inner);
                let inner_class = inner_trigger.class;
                let hostile = !COOPERATIVE.contains(&inner_class);
                if trigger.class == "INTENT" {
                    modality = Modality::Planned;
                    if inner_class == "CONSULT" {
                        (class, cameo) = (inner_class, inner_trigger.cameo);
                    } else {
                        (class, cameo) = intent(hostile);
                    }
                } else if trigger.class == "AGREE" && hostile {
                    // "vowed to fight", "ready to strike".
                    (class, cameo) = ("THREATEN", "130");
                }
                // The one urged, ordered or refused is the content's own subject or target.
                let inner_subject = self
                    .clause_subject(inner)
                    .filter(|&s| Some(s) != source_token);
                if target_tokens.is_empty() {
                    target_tokens = match (class, inner_subject) {
                        ("DEMAND" | "COERCE", Some(s)) => vec![s],
                        _ => self.targets(inner, inner_class),
                    };
                }
            }
            (None, _) => {
                if trigger.form == Form::Governor && self.governs_a_question(at) {
                    return None;
                }
                if trigger.needs_any_object() && target_tokens.is_empty() {
                    return None;
                }
                if !trigger.objects.is_empty() && !trigger.needs_any_object() {
                    let object = self
                        .parse()
                        .child(at, Rel::OBJ)
                        .map(|o| self.object_words(o));
                    if !object.is_some_and(|o| trigger.takes_object(&o)) {
                        return None;
                    }
                }
                if trigger.form == Form::Verb && modality == Modality::Planned && class != "CONSULT"
                {
                    // "Israel will evacuate": an announced action is an intent.
                    (class, cameo) = intent(!COOPERATIVE.contains(&class));
                }
            }
        }
        if self.conditional(at) {
            (class, cameo) = ("THREATEN", "130");
        }
        if negated {
            if NEGATED_IS_REJECTION.contains(&class) {
                (class, cameo) = ("REJECT", "120");
            } else {
                return None;
            }
        }
        let actors = self.actors_of(source_token.as_slice(), place_country);
        let mut targets = self.actors_of(&target_tokens, place_country);
        targets.retain(|t| !actors.iter().any(|a| a.code == t.code && a.code.is_some()));
        let mut location = place;
        if cameo == "042" {
            // A visit goes to its target's country.
            if let Some((country, name)) = target_tokens
                .iter()
                .find_map(|&t| self.actors.place_name(t))
            {
                location = Some((country, name));
            }
        }
        Some(Mention {
            class,
            cameo,
            actors,
            targets,
            owners: Vec::new(),
            location,
            dates: date,
            modality,
            anaphoric: false,
            joins: false,
            sentence: self.index,
            noun: false,
            from_syntax: source_token.is_some(),
        })
    }

    /// "The administration declared that China must drop barriers": what someone says
    /// another must do is a demand (DEMAND 100) of the speaker on the one who must.
    pub fn code_demands(&self) -> Vec<Mention> {
        let parse = self.parse();
        let mut out = Vec::new();
        for must in 0..parse.tags.len() {
            if self.lower(must) != "must" || self.rel(must) != Rel::AUX {
                continue;
            }
            let Some(action) = self.head_of(must) else {
                continue;
            };
            let Some(speech) = self.head_of(action) else {
                continue;
            };
            let reported = matches!(self.rel(action), Rel::CCOMP | Rel::PARATAXIS)
                && SPEECH.contains(&&*self.lower(speech));
            if !reported || self.negated(action) {
                continue;
            }
            let place = self.place_of(action).map(|(c, _)| c);
            let actors = self.actors_of(self.clause_subject(speech).as_slice(), place);
            let mut targets =
                self.actors_of(self.parse().child(action, Rel::NSUBJ).as_slice(), place);
            targets.retain(|t| !actors.iter().any(|a| a.code == t.code && a.code.is_some()));
            out.push(Mention {
                class: "DEMAND",
                cameo: "100",
                actors,
                targets,
                owners: Vec::new(),
                location: self.place_of(action),
                dates: self.date_near(speech),
                modality: if self.hedged {
                    Modality::Uncertain
                } else {
                    Modality::Occurred
                },
                anaphoric: false,
                joins: false,
                sentence: self.index,
                noun: false,
                from_syntax: true,
            });
        }
        out
    }

    /// The lower-case words of an object phrase ("new economic sanctions").
    fn object_words(&self, object: usize) -> String {
        let phrase = self.actors.phrase(object);
        phrase
            .iter()
            .map(|&t| self.lower(t).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// AGREE 030 (intend to cooperate) or THREATEN 130.
fn intent(hostile: bool) -> (&'static str, &'static str) {
    if hostile {
        ("THREATEN", "130")
    } else {
        ("AGREE", "030")
    }
}

pub fn push_actor(actors: &mut Vec<Actor>, actor: Actor) {
    let same = actors
        .iter()
        .any(|a| a.code == actor.code && a.sector == actor.sector);
    if !same {
        actors.push(actor);
    }
}

/// Past forms: "-ed", or an irregular past the trigger lexicon knows.
pub fn is_past_form(word: &str) -> bool {
    (word.ends_with("ed") && word.len() > 4)
        || matches!(
            word,
            "met"
                | "held"
                | "fought"
                | "shot"
                | "struck"
                | "sent"
                | "took"
                | "gave"
                | "led"
                | "withdrew"
                | "broke"
                | "went"
                | "stood"
                | "overran"
                | "retook"
                | "sought"
        )
}
