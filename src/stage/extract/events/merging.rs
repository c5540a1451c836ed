//! Mentions of one event across an article become one event with one fingerprint.
//!
//! "the summit" and "this meeting" join the latest event of their class (with a matching
//! date when they carry one); "the SCO summit" joins the other mentions of the SCO's
//! summit; mentions with the same class and parties and compatible date, place and
//! modality join each other, so that "Xi and Putin will meet", "the two leaders' bilateral
//! meeting" and "the Sino-Russian summit" are one event.

use chrono::NaiveDate;

use super::super::Document;
use super::actors::Actor;
use super::calibration::{Features, ScoredEvent};
use super::coding::push_actor;
use super::Mention;
use crate::hash::fnv1a;
use crate::record::{Event, EventLocation, Modality};

/// An event being assembled from its mentions.
#[derive(Debug, Clone)]
pub struct Draft {
    pub mention: Mention,
    pub sentences: Vec<usize>,
    pub mentions: usize,
    pub last_seen: usize,
}

type Dates = (NaiveDate, Option<NaiveDate>);

fn overlaps(a: Dates, b: Dates) -> bool {
    a.0 <= b.1.unwrap_or(b.0) && b.0 <= a.1.unwrap_or(a.0)
}

fn compatible_modality(a: Modality, b: Modality) -> bool {
    a == b || (a != Modality::Occurred && b != Modality::Occurred)
}

/// The sorted codes of some actors.
pub fn codes(actors: &[Actor]) -> Vec<&str> {
    let mut codes: Vec<&str> = actors.iter().filter_map(|a| a.code.as_deref()).collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

impl Draft {
    pub fn new(mention: Mention) -> Self {
        Self {
            sentences: vec![mention.sentence],
            last_seen: mention.sentence,
            mentions: 1,
            mention,
        }
    }

    pub fn accepts(&self, m: &Mention) -> bool {
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
        if !m.owners.is_empty() || !e.owners.is_empty() {
            let owners = codes(&e.owners);
            return !m.owners.is_empty()
                && codes(&m.owners).iter().all(|o| owners.contains(o))
                && dates_fit;
        }
        let parties = codes(&m.actors);
        let (targets, other_targets) = (codes(&m.targets), codes(&e.targets));
        // Without a source, the same targets make the same event ("100 Palestinians were
        // arrested"); with one, a mention that names no target may still be it.
        let (same_parties, targets_fit) = if parties.is_empty() {
            let same =
                !targets.is_empty() && targets == other_targets && codes(&e.actors).is_empty();
            (same, same)
        } else {
            let fit = targets.is_empty() || other_targets.is_empty() || targets == other_targets;
            (parties == codes(&e.actors), fit)
        };
        let places_fit = match (&e.location, &m.location) {
            (Some(a), Some(b)) => a.0 == b.0,
            _ => true,
        };
        same_parties
            && targets_fit
            && dates_fit
            && places_fit
            && compatible_modality(e.modality, m.modality)
    }

    pub fn absorb(&mut self, m: Mention) {
        let e = &mut self.mention;
        if m.joins || !m.anaphoric {
            for actor in m.actors {
                push_actor(&mut e.actors, actor);
            }
        }
        for target in m.targets {
            push_actor(&mut e.targets, target);
        }
        if e.location.is_none() {
            e.location = m.location;
        }
        e.dates = match (e.dates, m.dates) {
            (None, d) | (d, None) => d,
            // The narrower date is the more precise one.
            (Some(a), Some(b)) => {
                let span = |d: Dates| d.1.map_or(0, |end| (end - d.0).num_days());
                Some(if span(b) < span(a) { b } else { a })
            }
        };
        if m.modality == Modality::Uncertain && !m.anaphoric {
            e.modality = Modality::Uncertain;
        }
        if e.cameo.ends_with('0') && !m.cameo.ends_with('0') && m.class == e.class {
            e.cameo = m.cameo;
        }
        e.from_syntax |= m.from_syntax;
        self.mentions += 1;
        self.last_seen = m.sentence;
        // Mentions arrive in order: a new sentence is never one seen before the last.
        if self.sentences.last() != Some(&m.sentence) {
            self.sentences.push(m.sentence);
        }
    }

    /// Whether the event has a political actor on one side; where country names are teams
    /// (sport, entertainment), one that is more than a name.
    pub fn political(&self, names_are_states: bool) -> bool {
        let e = &self.mention;
        let counts = |a: &Actor| a.political && (names_are_states || !a.by_name);
        // A people or a crowd that protests, or demands ("Albanians are demanding
        // autonomy"), makes a political claim; a demand needs a crowd named in the plural,
        // not a "population" or a "community".
        let crowd_claim = e.actors.iter().any(|a| {
            a.code.is_some()
                && match e.class {
                    "PROTEST" => a.sector.is_some_and(|s| super::actors::CROWDS.contains(&s)),
                    "DEMAND" => a.crowd,
                    _ => false,
                }
        });
        // "Twin bombings struck the cathedral in Jolo": organised armed violence is
        // political where it happens, whether or not anyone is named or claims it.
        let armed_violence = e.noun
            && e.class == "ASSAULT"
            && ARMED_VIOLENCE.contains(&e.cameo)
            && e.location.is_some();
        e.actors
            .iter()
            .chain(&e.targets)
            .chain(&e.owners)
            .any(counts)
            || ((crowd_claim || armed_violence) && names_are_states)
    }
}

/// CAMEO codes of the armed violence a noun names: bombings (183-1833), shelling (194),
/// air and drone strikes (195, 1951), massacres (202).
const ARMED_VIOLENCE: &[&str] = &["183", "1831", "1832", "1833", "194", "195", "1951", "202"];

/// Classes whose parties act together, so that who is named first does not matter.
fn symmetric(class: &str) -> bool {
    matches!(class, "CONSULT" | "AGREE" | "COOPERATE")
}

/// A stable id of the event's family: class, parties and owning organisation, what every
/// telling of the event in the world gives alike. Place and date are left out: one article
/// tells an event with them and another without, and the tellings must meet on one key
/// (`newsflow aggregate` tells the family's events apart by place and date, missing ones
/// agreeing with any).
pub fn fingerprint(
    class: &str,
    actors: &[String],
    targets: &[String],
    owners: &[String],
) -> String {
    let sorted = |codes: &[String]| {
        let mut sorted: Vec<&str> = codes.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        sorted.dedup();
        sorted.join(",")
    };
    let (parties, targets) = if symmetric(class) {
        let all: Vec<String> = actors.iter().chain(targets).cloned().collect();
        (sorted(&all), String::new())
    } else {
        (sorted(actors), sorted(targets))
    };
    let key = format!("{class}|{parties}|{targets}|{}", sorted(owners));
    format!("{:016x}", fnv1a(key.as_bytes()))
}

/// Events the article tells apart that are one in the world: one fingerprint, and places
/// and dates that do not tell them apart ("the summit is planned for July" and, later, "if
/// the summit is held" with no date). The first told stays, uncertain if either is, with the
/// other's date where it has none, and the confidence of the likelier.
pub fn join_same_events(events: Vec<ScoredEvent>) -> Vec<ScoredEvent> {
    let mut joined: Vec<ScoredEvent> = Vec::with_capacity(events.len());
    for ScoredEvent { event, features } in events {
        let same = joined.iter_mut().find(|ScoredEvent { event: e, .. }| {
            e.fingerprint == event.fingerprint
                && agree(&e.date_start, &event.date_start)
                && agree(&country(e), &country(&event))
        });
        match same {
            Some(ScoredEvent {
                event: first,
                features: first_features,
            }) => {
                if first.date_start.is_none() {
                    first.date_start = event.date_start;
                    first.date_end = event.date_end;
                }
                if first.location.is_none() {
                    first.location = event.location;
                }
                if event.modality == Modality::Uncertain {
                    first.modality = Modality::Uncertain;
                }
                if event.confidence > first.confidence {
                    first.confidence = event.confidence;
                    *first_features = features;
                }
            }
            None => joined.push(ScoredEvent { event, features }),
        }
    }
    joined
}

/// Whether two tellings agree on a field: the same value, or one without it.
fn agree<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
    a.is_none() || b.is_none() || a == b
}

fn country(event: &Event) -> Option<String> {
    event.location.as_ref().and_then(|l| l.country.clone())
}

/// The event a draft stands for; `sentence_events` events (itself included) were first told
/// in its first sentence.
pub fn into_event(doc: &Document, draft: Draft, sentence_events: usize) -> ScoredEvent {
    let m = &draft.mention;
    let acting: &[Actor] = if m.actors.iter().any(|a| a.code.is_some()) || m.owners.is_empty() {
        &m.actors
    } else {
        &m.owners
    };
    let actors: Vec<String> = codes(acting).into_iter().map(str::to_owned).collect();
    let targets: Vec<String> = codes(&m.targets)
        .into_iter()
        .filter(|t| !actors.iter().any(|a| a == t))
        .map(str::to_owned)
        .collect();
    let countries = doc.gazetteer.countries();
    let location = m.location.clone().map(|(country, name)| EventLocation {
        country: Some(countries[country].alpha2.clone()),
        name: Some(name),
    });
    // A meeting in a country none of its parties is from is at a third location; one in
    // a target's country is a visit to it.
    let mut cameo = m.cameo.to_owned();
    if cameo == "040" {
        if let Some(place) = location.as_ref().and_then(|l| l.country.as_deref()) {
            let in_country_of = |codes: &[String]| {
                codes.iter().any(|a| {
                    doc.gazetteer
                        .by_alpha3(a)
                        .is_some_and(|c| c.alpha2 == place)
                })
            };
            if in_country_of(&targets) {
                cameo = "042".to_owned();
            } else if !in_country_of(&actors) && !actors.is_empty() {
                cameo = "044".to_owned();
            }
        }
    }
    let date_start = m.dates.map(|d| d.0.to_string());
    let date_end = m.dates.and_then(|d| d.1).map(|d| d.to_string());
    let sentence = doc
        .sentence_text(&doc.sentences[draft.sentences[0]])
        .to_owned();
    let owners: Vec<String> = codes(&m.owners).into_iter().map(str::to_owned).collect();
    let fingerprint = fingerprint(m.class, &actors, &targets, &owners);
    let features = Features::of(&draft, &actors, &targets, sentence_events);
    let event = Event {
        plover: m.class.to_owned(),
        cameo,
        actor_details: acting.iter().map(Actor::detail).collect(),
        target_details: m.targets.iter().map(Actor::detail).collect(),
        confidence: doc.data.calibration.confidence(&features),
        actors,
        targets,
        location,
        date_start,
        date_end,
        modality: m.modality,
        sentence,
        fingerprint,
    };
    ScoredEvent { event, features }
}
