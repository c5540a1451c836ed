//! Actors: who a noun phrase stands for, as CAMEO codes it, a country and a sector.
//!
//! The phrase is the noun and its modifiers in the parse ("Israeli riot police",
//! "Lebanon's new President Elias Hrawi", "security forces in Guinea"). Its country comes
//! from a country's name, a demonym, a possessive, an institution ("the Kremlin"), a
//! leader, a capital that acts ("Beijing warned"), or an organisation's own name; its
//! sector from the agents dictionary (data/extract/agents.tsv: "troops" MIL, "police" COP,
//! "protesters" OPP, ...). International organisations (data/extract/organisations.tsv)
//! are their own code. An agent without a country in its phrase takes the country of the
//! clause's place, of the dateline, or the one the article is most about.
//!
//! Only political actors make events: states, their governments, forces, courts and
//! parliaments, opposition, rebels and armed groups, parties, and international and
//! non-governmental organisations. A company, a newspaper, a club or a storm is not one.

use rustc_hash::FxHashMap;
use std::ops::Range;

use super::super::entities::Found;
use super::super::syntax::{Parse, Rel, Tag};
use super::super::Document;
use super::agents::Agents;
use crate::geo::{Mention, MentionKind};
use crate::record::{ActorDetail, EntityType};

/// Sectors that make an actor political.
const POLITICAL: &[&str] = &[
    "GOV", "MIL", "COP", "JUD", "LEG", "OPP", "REB", "UAF", "SPY", "PTY", "IGO", "NGO",
];

/// Whether an agent word's sector can make an event political: a political sector, or a
/// crowd that may protest or demand.
pub fn may_act_as(sector: &str) -> bool {
    POLITICAL.contains(&sector) || CROWDS.contains(&sector)
}

/// Sectors whose crowds act politically when they protest ("students demonstrated").
pub const CROWDS: &[&str] = &["OPP", "CVL", "EDU", "LAB", "REF", "REL", "HLH"];

/// Whether a place mention can act for its state: a leader, an institution, a capital,
/// or (outside sport and entertainment, where it is a team) the country's name. Other
/// cities, companies and currencies are only places.
pub fn may_act(doc: &Document, mention: &Mention, names_are_states: bool) -> bool {
    match mention.kind {
        MentionKind::Leader | MentionKind::Institution => true,
        MentionKind::Name | MentionKind::Demonym => names_are_states,
        MentionKind::City => doc
            .data
            .agents
            .is_capital(&doc.text[mention.start..mention.end]),
        _ => false,
    }
}

/// Who a phrase stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    /// ISO 3166-1 alpha-3 code or organisation acronym.
    pub code: Option<String>,
    pub sector: Option<&'static str>,
    /// The phrase as written.
    pub words: String,
    pub political: bool,
    /// A crowd named in the plural ("Albanians", "protesters", "residents").
    pub crowd: bool,
    /// Political only as a state's name (a country, a capital): in sport and entertainment
    /// that is a team, not a state.
    pub by_name: bool,
}

impl Actor {
    /// The country a place mention names, as a state acting.
    pub fn country_named(doc: &Document, mention: &Mention) -> Self {
        Self {
            code: Some(doc.gazetteer.countries()[mention.country].alpha3.clone()),
            sector: None,
            words: doc.text[mention.start..mention.end].to_owned(),
            political: true,
            crowd: false,
            by_name: true,
        }
    }

    pub fn detail(&self) -> ActorDetail {
        ActorDetail {
            code: self.code.clone(),
            sector: self.sector.map(str::to_owned),
            words: self.words.clone(),
        }
    }
}

/// What the document as a whole says about actors.
pub struct DocumentActors<'d> {
    pub doc: &'d Document<'d>,
    pub entities: &'d [Found],
    /// Person and organisation mentions, (byte span, entity), by start.
    mentions: Vec<(Range<usize>, usize)>,
    /// The country named first in a wire dateline ("SEOUL, July 1 -").
    dateline: Option<usize>,
    /// The country the article names most, when it names one clearly most.
    main: Option<usize>,
}

impl<'d> DocumentActors<'d> {
    pub fn new(doc: &'d Document<'d>, entities: &'d [Found]) -> Self {
        let mut mentions: Vec<(Range<usize>, usize)> = entities
            .iter()
            .enumerate()
            .filter(|(_, e)| e.kind != EntityType::Location)
            .flat_map(|(i, e)| e.spans.iter().map(move |s| (s.clone(), i)))
            .collect();
        mentions.sort_by_key(|(s, _)| s.start);
        let dateline = doc
            .places
            .first()
            .filter(|m| m.mention.start < 40)
            .filter(|m| {
                let word = &doc.text[m.mention.start..m.mention.end];
                word.len() > 2
                    && word.chars().all(|c| !c.is_lowercase())
                    && doc.text[m.mention.end..]
                        .trim_start()
                        .starts_with([',', '(', '-', '—'])
            })
            .map(|m| m.mention.country);
        let mut counts: FxHashMap<usize, usize> = FxHashMap::default();
        for m in &doc.places {
            *counts.entry(m.mention.country).or_default() += 1;
        }
        let total: usize = counts.values().sum();
        let main = counts
            .into_iter()
            .max_by_key(|&(country, n)| (n, std::cmp::Reverse(country)))
            .filter(|&(_, n)| n >= 2 && n * 5 >= total * 2)
            .map(|(country, _)| country);
        Self {
            doc,
            entities,
            mentions,
            dateline,
            main,
        }
    }

    /// Whether a known organisation, or a person with a political title, is named within
    /// `bytes`. Any other person is no candidate: one acts politically only through a
    /// title (an agent word), as a known leader (a place mention) or as a political person
    /// the reference data knows (who is given the title of their office).
    pub fn names_actor_in(&self, bytes: Range<usize>) -> bool {
        let from = self
            .mentions
            .partition_point(|(s, _)| s.start < bytes.start);
        self.mentions[from..]
            .iter()
            .take_while(|(s, _)| s.start < bytes.end)
            .any(|&(_, e)| {
                let entity = &self.entities[e];
                match entity.kind {
                    // An organisation the reference data does not know has no sector of
                    // its own to act through: political only by the words around it.
                    EntityType::Organization => self.doc.data.organisations.of(entity).is_some(),
                    EntityType::Person => entity
                        .title
                        .as_deref()
                        .and_then(|title| self.doc.data.agents.sector_of(title))
                        .is_some_and(|sector| POLITICAL.contains(&sector)),
                    _ => false,
                }
            })
    }

    /// The country an agent with none of its own belongs to, failing the clause's place.
    pub fn default_country(&self) -> Option<usize> {
        self.dateline.or(self.main)
    }

    fn alpha3(&self, country: usize) -> String {
        self.doc.gazetteer.countries()[country].alpha3.clone()
    }
}

/// What the gazetteer and the entities say about each token of one sentence.
pub struct SentenceActors<'a, 'd> {
    pub context: &'a DocumentActors<'d>,
    /// The sentence's token range in the document.
    pub range: Range<usize>,
    pub parse: &'a Parse,
    places: Vec<Option<(usize, MentionKind, Range<usize>)>>,
    entities: Vec<Option<usize>>,
}

/// Relations that keep a word inside the noun phrase of its head.
const PHRASE: &[Rel] = &[
    Rel::COMPOUND,
    Rel::AMOD,
    Rel::NMOD_POSS,
    Rel::FLAT,
    Rel::DET,
    Rel::NUMMOD,
    Rel::NMOD,
    Rel::APPOS,
    Rel::CASE,
    Rel::FIXED,
];

impl<'a, 'd> SentenceActors<'a, 'd> {
    pub fn new(context: &'a DocumentActors<'d>, range: Range<usize>, parse: &'a Parse) -> Self {
        let doc = context.doc;
        let tokens = &doc.tokens[range.clone()];
        let bytes = tokens[0].start()..tokens[tokens.len() - 1].end();
        let token_at = |byte: usize| range.start + tokens.partition_point(|t| t.end() <= byte);
        let mut places = vec![None; range.len()];
        for m in doc.places_in(bytes.clone()) {
            let span = m.mention.start..m.mention.end;
            for t in token_at(span.start)..token_at(span.end.saturating_sub(1)) + 1 {
                if range.contains(&t) {
                    places[t - range.start] =
                        Some((m.mention.country, m.mention.kind, span.clone()));
                }
            }
        }
        let mut entities = vec![None; range.len()];
        let from = context
            .mentions
            .partition_point(|(s, _)| s.start < bytes.start);
        for (span, entity) in context.mentions[from..]
            .iter()
            .take_while(|(s, _)| s.start < bytes.end)
        {
            for t in token_at(span.start)..token_at(span.end.saturating_sub(1)) + 1 {
                if range.contains(&t) {
                    entities[t - range.start] = Some(*entity);
                }
            }
        }
        Self {
            context,
            range,
            parse,
            places,
            entities,
        }
    }

    fn agents(&self) -> &'d Agents {
        &self.context.doc.data.agents
    }

    /// The lower-case word of sentence token `i`.
    pub fn lower(&self, i: usize) -> std::borrow::Cow<'d, str> {
        self.context.doc.tokens[self.range.start + i].lower()
    }

    pub fn text(&self, i: usize) -> &'d str {
        self.context.doc.tokens[self.range.start + i].text
    }

    /// The country and kind of place that token `i` is part of.
    pub fn place(&self, i: usize) -> Option<(usize, MentionKind)> {
        self.places[i].as_ref().map(|(c, k, _)| (*c, *k))
    }

    /// The person or organisation that token `i` is part of, as an index into the entities.
    pub fn entity(&self, i: usize) -> Option<usize> {
        self.entities[i]
    }

    /// The place a token names, with its name as written ("Washington D.C.").
    pub fn place_name(&self, i: usize) -> Option<(usize, String)> {
        let (country, kind, span) = self.places[i].as_ref()?;
        let name = match kind {
            MentionKind::City => self.context.doc.text[span.clone()].to_owned(),
            _ => self.context.doc.gazetteer.countries()[*country]
                .name
                .clone(),
        };
        Some((*country, name))
    }

    /// Whether the sentence names anyone who could act: a place, a person or organisation,
    /// or an agent word.
    pub fn any_candidate(&self) -> bool {
        self.places.iter().any(Option::is_some)
            || self.entities.iter().any(Option::is_some)
            || (0..self.range.len()).any(|i| self.agents().sector_of(&self.lower(i)).is_some())
    }

    /// The tokens of the noun phrase headed by `head`, in order.
    pub fn phrase(&self, head: usize) -> Vec<usize> {
        let mut tokens = vec![head];
        let mut frontier = vec![(head, 0)];
        while let Some((at, depth)) = frontier.pop() {
            if depth >= 3 {
                continue;
            }
            for child in self.parse.children(at) {
                if PHRASE.contains(&self.parse.rels[child]) {
                    tokens.push(child);
                    frontier.push((child, depth + 1));
                }
            }
        }
        tokens.sort_unstable();
        tokens
    }

    /// `head` and the nouns coordinated with it ("Jordan and Britain").
    pub fn conjuncts(&self, head: usize) -> Vec<usize> {
        let mut all = vec![head];
        let mut i = 0;
        while i < all.len() {
            let at = all[i];
            all.extend(self.parse.children(at).filter(|&c| {
                self.parse.rels[c] == Rel::CONJ
                    && (self.parse.tags[c].is_nominal() || self.parse.tags[c] == Tag::PRON)
            }));
            i += 1;
        }
        all
    }

    /// The agent sector a phrase's words give, the head's own first.
    fn sector(&self, head: usize, phrase: &[usize]) -> Option<&'static str> {
        let two_word = |i: usize| {
            phrase
                .iter()
                .rev()
                .find(|&&p| p + 1 == i)
                .and_then(|&p| self.agents().sector_of_pair(&self.lower(p), &self.lower(i)))
        };
        two_word(head)
            .or_else(|| self.agents().sector_of(&self.lower(head)))
            .or_else(|| {
                // A title or modifier: "President", "military" in "military sources".
                phrase
                    .iter()
                    .rev()
                    .filter(|&&i| i != head)
                    .find_map(|&i| two_word(i).or_else(|| self.agents().sector_of(&self.lower(i))))
            })
    }

    /// Who the phrase headed by `head` stands for; `place` is the country of the clause's
    /// place, for an agent without one of its own.
    pub fn resolve(&self, head: usize, place: Option<usize>) -> Option<Actor> {
        let context = self.context;
        let phrase = self.phrase(head);
        let words = {
            let (first, last) = (phrase[0], phrase[phrase.len() - 1]);
            let doc = context.doc;
            let start = doc.tokens[self.range.start + first].start();
            let end = doc.tokens[self.range.start + last].end();
            doc.text[start..end].to_owned()
        };
        let person = self.entities[head]
            .map(|e| &context.entities[e])
            .filter(|e| e.kind == EntityType::Person);
        // A person's title when the phrase has none: "Xi" was "President Xi Jinping".
        let mut sector = self.sector(head, &phrase).or_else(|| {
            let title = person.and_then(|p| p.title.as_deref())?;
            self.agents().sector_of(title)
        });
        if matches!(sector, Some("SPT" | "ENT")) {
            return None;
        }
        // An organisation: its own code, or the country in its name.
        let organisation = phrase
            .iter()
            .filter_map(|&i| self.entities[i])
            .map(|e| &context.entities[e])
            .find(|e| e.kind == EntityType::Organization);
        if let Some(org) = organisation {
            let known = context.doc.data.organisations.of(org);
            if let Some(known) = known {
                let category = if known.category == "NGO" {
                    "NGO"
                } else {
                    "IGO"
                };
                return Some(Actor {
                    code: Some(known.acronym.clone()),
                    sector: Some(sector.unwrap_or(category)),
                    words,
                    political: true,
                    crowd: false,
                    by_name: false,
                });
            }
        }
        // The country: the head's own place, else the phrase's nearest to the head. A
        // leader's short name ("Xi", "Castro") is too ambiguous to match in running text,
        // but as an actor it is the leader.
        let head_place = self.place(head).or_else(|| {
            let leader = self.parse.tags[head] == Tag::PROPN && person.is_none();
            leader
                .then(|| context.doc.gazetteer.lookup(self.text(head)))
                .flatten()
                .filter(|(_, kind)| *kind == MentionKind::Leader)
        });
        let country_place = phrase
            .iter()
            .filter_map(|&i| self.place(i).map(|p| (i, p)))
            .filter(|(_, (_, kind))| {
                matches!(
                    kind,
                    MentionKind::Name
                        | MentionKind::Demonym
                        | MentionKind::Institution
                        | MentionKind::Leader
                        | MentionKind::City
                )
            })
            .min_by_key(|(i, _)| i.abs_diff(head))
            .map(|(_, p)| p);
        let capital = head_place.is_some_and(|(_, kind)| kind == MentionKind::City)
            && self.agents().is_capital(self.text(head));
        let mut by_name = false;
        match head_place {
            Some((_, MentionKind::Name)) if sector.is_none() => by_name = true,
            Some((_, MentionKind::City)) if capital && sector.is_none() => {
                by_name = true;
                sector = Some("GOV");
            }
            Some((_, MentionKind::Institution | MentionKind::Leader)) if sector.is_none() => {
                sector = Some("GOV");
            }
            _ => {}
        }
        // "Algerians blocked roads", "Iraqi Kurds demonstrated": a people named by its
        // country is its civilians.
        let people = self.parse.tags[head].is_nominal() && self.lower(head).ends_with('s');
        if sector.is_none()
            && people
            && country_place.is_some_and(|(_, kind)| kind == MentionKind::Demonym)
        {
            sector = Some("CVL");
        }
        // A city that does not act for its state is a place, not an actor.
        if head_place.is_some_and(|(_, kind)| kind == MentionKind::City) && !capital {
            return None;
        }
        let country = country_place
            .map(|(c, _)| c)
            .or_else(|| person.and_then(|p| p.country))
            .or_else(|| sector.and(place.or_else(|| context.default_country())));
        if country.is_none() && sector.is_none() {
            return None;
        }
        // A person acts politically through a political title, or as a known leader.
        let political = match sector {
            Some(sector) => POLITICAL.contains(&sector),
            None => by_name && person.is_none(),
        };
        Some(Actor {
            code: country.map(|c| context.alpha3(c)),
            sector,
            words,
            political,
            crowd: people && sector.is_some_and(|s| CROWDS.contains(&s)),
            by_name,
        })
    }

    /// The people "the two leaders" or "both countries" stands for: the last persons (for
    /// leaders) or countries named before the sentence.
    pub fn collective(&self, at: usize) -> Vec<String> {
        let count = match &*self.lower(at) {
            "two" | "both" => 2,
            "three" => 3,
            "four" => 4,
            _ => return Vec::new(),
        };
        let noun = self.lower(at + 1);
        if !matches!(
            &*noun,
            "leaders" | "countries" | "nations" | "sides" | "presidents" | "governments" | "states"
        ) || at + 1 >= self.range.len()
        {
            return Vec::new();
        }
        let leaders = noun == "leaders" || noun == "presidents";
        let context = self.context;
        let doc = context.doc;
        let before = doc.tokens[self.range.start].start();
        let mut codes: Vec<String> = Vec::new();
        // The antecedents are near: a bounded look back over mentions in text order.
        let persons = context.mentions
            [..context.mentions.partition_point(|(s, _)| s.start < before)]
            .iter()
            .rev()
            .take(64)
            .filter_map(|(_, e)| {
                context.entities[*e]
                    .country
                    .filter(|_| context.entities[*e].kind == EntityType::Person)
            });
        let places = doc.places[..doc.places.partition_point(|m| m.mention.start < before)]
            .iter()
            .rev()
            .take(64)
            .filter(|m| matches!(m.mention.kind, MentionKind::Name | MentionKind::Demonym))
            .map(|m| m.mention.country);
        let countries: Vec<usize> = if leaders {
            persons.collect()
        } else {
            places.collect()
        };
        for country in countries {
            let code = context.alpha3(country);
            if !codes.contains(&code) {
                codes.push(code);
            }
            if codes.len() == count {
                break;
            }
        }
        codes
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::entities;
    use super::*;
    use crate::stage::reference::for_tests;

    fn actor_of(text: &str, head_word: &str) -> Option<Actor> {
        let doc = Document::new(text, for_tests());
        let found = entities::find(&doc);
        let context = DocumentActors::new(&doc, &found);
        let range = doc.sentences[0].clone();
        let words: Vec<&str> = doc.tokens[range.clone()].iter().map(|t| t.text).collect();
        let parse = doc.data.syntax.parse(&words);
        let sentence = SentenceActors::new(&context, range, &parse);
        let head = words.iter().position(|w| *w == head_word).unwrap();
        sentence.resolve(head, None)
    }

    #[test]
    fn agents_take_the_country_and_sector_of_their_phrase() {
        let troops = actor_of("Israeli troops arrested 100 Palestinians.", "troops").unwrap();
        assert_eq!(troops.code.as_deref(), Some("ISR"));
        assert_eq!(troops.sector, Some("MIL"));
        assert!(troops.political);
        let police = actor_of("Lebanon's police detained him.", "police").unwrap();
        assert_eq!(
            (police.code.as_deref(), police.sector),
            (Some("LBN"), Some("COP"))
        );
        let un = actor_of("The United Nations will provide food aid.", "Nations").unwrap();
        assert_eq!((un.code.as_deref(), un.sector), (Some("UN"), Some("IGO")));
    }

    #[test]
    fn capitals_act_for_states_and_clubs_do_not_act() {
        let beirut = actor_of("Beirut rejected the appeal.", "Beirut").unwrap();
        assert_eq!(
            (beirut.code.as_deref(), beirut.sector),
            (Some("LBN"), Some("GOV"))
        );
        assert!(beirut.by_name);
        assert!(actor_of("The club rejected the offer.", "club").is_none());
        let company = actor_of("The company launched a chip.", "company").unwrap();
        assert!(!company.political);
    }
}
