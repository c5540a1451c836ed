//! Routes: besides the enriched topic, an enriched article goes to every topic whose route
//! matches it, so that desks read their own streams without another tool after newsflow.
//!
//! A route is a `[[routes]]` table of the config file: a `topic` (a name, or a template with
//! one placeholder such as `news.desk.{region}`) and the conditions of its `when` table, all
//! of which must hold (each one a list of accepted values: any of them will do). Routes are
//! checked against the reference data when newsflow starts: an unknown country, region,
//! topic or event class is a configuration error that names the route, not a route that
//! silently never matches.

mod template;

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
use crate::geo::Gazetteer;
use crate::kafka::OutputEnvelope;
use crate::record::EnrichedArticle;
use crate::stage::classify::topics::TopicModel;
pub use template::Placeholder;
use template::Template;

/// The PLOVER event classes: what a route may name, and the label values of
/// `newsflow_events_total`.
pub const PLOVER_CLASSES: [&str; 16] = [
    "AGREE",
    "CONSULT",
    "SUPPORT",
    "CONCEDE",
    "COOPERATE",
    "AID",
    "RETREAT",
    "DEMAND",
    "ACCUSE",
    "REJECT",
    "THREATEN",
    "PROTEST",
    "SANCTION",
    "MOBILIZE",
    "COERCE",
    "ASSAULT",
];

/// A `[[routes]]` table as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// The route's name in metrics and errors; `routes[N]` when not given.
    #[serde(default)]
    pub name: Option<String>,
    /// The topic, or a template with one placeholder: `{country}`, `{region}`,
    /// `{subregion}`, `{topic}`, `{language}`, `{event}` or `{source}`.
    pub topic: String,
    #[serde(default)]
    pub when: Conditions,
    /// How this route's copies are wrapped, instead of as `[envelope] enriched` says.
    #[serde(default)]
    pub envelope: Option<OutputEnvelope>,
}

/// What an article must have for a route to take it; an empty list accepts anything.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Conditions {
    /// ISO 3166-1 alpha-2 codes: one of the article's countries.
    pub country: Vec<String>,
    /// UN M49 codes of regions or sub-regions ("150" Europe, "155" Western Europe): one of
    /// the article's countries lies in one.
    pub region: Vec<String>,
    /// IPTC Media Topic qcodes: one of the article's topics is one of them or under one
    /// ("medtop:04000000" takes its second-level topics too).
    pub topic: Vec<String>,
    /// That topic's score at least this (without `topic`: any topic's).
    pub min_topic_score: Option<f64>,
    /// ISO 639-1 codes of the article's language.
    pub language: Vec<String>,
    /// PLOVER classes: one of the article's events has one.
    pub event: Vec<String>,
    /// That event's confidence at least this (without `event`: any event's).
    pub min_event_confidence: Option<f64>,
    /// The article's `source`, compared without regard to case.
    pub source: Vec<String>,
}

/// A route checked and ready to match.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    template: Template,
    when: Conditions,
    envelope: Option<OutputEnvelope>,
}

/// Where an article goes besides the enriched topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination<'a> {
    pub route: &'a str,
    pub topic: String,
    /// The route's own envelope, when it has one.
    pub envelope: Option<OutputEnvelope>,
}

/// The checked routes of a configuration.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    /// Checks every route against the reference data; the first fault is an error naming
    /// the route and the setting. `input_topic` may not be a route's topic (newsflow would
    /// consume its own output).
    pub fn new(
        specs: &[RouteSpec],
        gazetteer: &Gazetteer,
        topics: &TopicModel,
        input_topic: &str,
    ) -> Result<Self, ConfigError> {
        let routes = specs
            .iter()
            .enumerate()
            .map(|(index, spec)| {
                let name = spec
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("routes[{index}]"));
                let fault = |problem: String| {
                    ConfigError::Invalid(format!("route {name} (routes[{index}]): {problem}"))
                };
                let template = Template::parse(&spec.topic).map_err(&fault)?;
                if template.could_be(input_topic) {
                    return Err(fault(format!(
                        "topic {:?} can be the input topic {input_topic:?}",
                        spec.topic
                    )));
                }
                check_conditions(&spec.when, gazetteer, topics).map_err(&fault)?;
                Ok(Route {
                    name,
                    template,
                    when: normalised(&spec.when),
                    envelope: spec.envelope,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut names = std::collections::BTreeSet::new();
        if let Some(route) = routes.iter().find(|route| !names.insert(&route.name)) {
            return Err(ConfigError::Invalid(format!(
                "two routes are named {:?}",
                route.name
            )));
        }
        Ok(Self { routes })
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The topics `article` goes to besides the enriched topic, each once, in route order.
    pub fn destinations(
        &self,
        article: &EnrichedArticle,
        gazetteer: &Gazetteer,
    ) -> Vec<Destination<'_>> {
        let mut out: Vec<Destination<'_>> = Vec::new();
        for route in &self.routes {
            let facts = Facts::of(article, gazetteer, &route.when);
            if !facts.all_hold(&route.when) {
                continue;
            }
            for topic in route.template.expand(&facts) {
                if !out.iter().any(|d| d.topic == topic) {
                    out.push(Destination {
                        route: &route.name,
                        topic,
                        envelope: route.envelope,
                    });
                }
            }
        }
        out
    }
}

/// Codes compared as the article writes them: countries upper case, languages, sources
/// and event classes as they come.
fn normalised(when: &Conditions) -> Conditions {
    let upper = |values: &[String]| values.iter().map(|v| v.to_ascii_uppercase()).collect();
    let lower = |values: &[String]| values.iter().map(|v| v.to_lowercase()).collect();
    Conditions {
        country: upper(&when.country),
        event: upper(&when.event),
        language: lower(&when.language),
        source: lower(&when.source),
        ..when.clone()
    }
}

fn check_conditions(
    when: &Conditions,
    gazetteer: &Gazetteer,
    topics: &TopicModel,
) -> Result<(), String> {
    let unknown = |setting: &str, value: &str, what: &str| {
        Err(format!("when.{setting}: {value:?} is not {what}"))
    };
    for code in &when.country {
        if gazetteer.by_alpha2(code).is_none() {
            return unknown("country", code, "an ISO 3166-1 alpha-2 code newsflow knows");
        }
    }
    for code in &when.region {
        let known = gazetteer
            .countries()
            .iter()
            .any(|c| c.region.code == *code || c.subregion.code == *code);
        if !known {
            return unknown("region", code, "a UN M49 region or sub-region code");
        }
    }
    for qcode in &when.topic {
        if !topics.labels().iter().any(|label| label.qcode == *qcode) {
            return unknown(
                "topic",
                qcode,
                "an IPTC Media Topic qcode the topic model has",
            );
        }
    }
    for class in &when.event {
        if !PLOVER_CLASSES.contains(&class.to_ascii_uppercase().as_str()) {
            return unknown("event", class, "a PLOVER event class");
        }
    }
    for language in &when.language {
        if language.len() != 2 || !language.chars().all(|c| c.is_ascii_alphabetic()) {
            return unknown("language", language, "an ISO 639-1 code");
        }
    }
    for (setting, threshold) in [
        ("min_topic_score", when.min_topic_score),
        ("min_event_confidence", when.min_event_confidence),
    ] {
        if threshold.is_some_and(|t| !(0.0..=1.0).contains(&t)) {
            return Err(format!("when.{setting} must be between 0 and 1"));
        }
    }
    Ok(())
}

/// An article's values for each condition, those that satisfy it: what a template's
/// placeholder expands over.
#[derive(Debug, Default)]
struct Facts {
    countries: Vec<String>,
    regions: Vec<String>,
    subregions: Vec<String>,
    topics: Vec<String>,
    languages: Vec<String>,
    events: Vec<String>,
    sources: Vec<String>,
}

impl Facts {
    fn of(article: &EnrichedArticle, gazetteer: &Gazetteer, when: &Conditions) -> Self {
        let accepts =
            |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v == value);
        let mut facts = Self::default();
        for country in &article.regions.countries {
            let Some(info) = gazetteer.by_alpha2(&country.code) else {
                continue;
            };
            let in_region = when.region.is_empty()
                || when
                    .region
                    .iter()
                    .any(|code| *code == info.region.code || *code == info.subregion.code);
            if accepts(&when.country, &country.code) && in_region {
                push_new(&mut facts.countries, country.code.to_ascii_lowercase());
                push_new(&mut facts.regions, info.region.name.clone());
                push_new(&mut facts.subregions, info.subregion.name.clone());
            }
        }
        let min_score = when.min_topic_score.unwrap_or(0.0);
        for topic in article.topics.iter().filter(|t| t.score >= min_score) {
            let under = when.topic.is_empty()
                || when
                    .topic
                    .iter()
                    .any(|q| *q == topic.qcode || topic.parent.as_deref() == Some(q));
            if under {
                push_new(&mut facts.topics, topic.name.clone());
            }
        }
        if let Some(language) = &article.clean.language {
            if accepts(&when.language, language) {
                facts.languages.push(language.clone());
            }
        }
        let min_confidence = when.min_event_confidence.unwrap_or(0.0);
        for event in article
            .events
            .iter()
            .filter(|e| e.confidence >= min_confidence)
        {
            if accepts(&when.event, &event.plover) {
                push_new(&mut facts.events, event.plover.to_ascii_lowercase());
            }
        }
        if let Some(source) = &article.source {
            if accepts(&when.source, &source.to_lowercase()) {
                facts.sources.push(source.clone());
            }
        }
        facts
    }

    /// Whether every condition the route sets found a value.
    fn all_hold(&self, when: &Conditions) -> bool {
        let needed = |set: bool, values: &[String]| !set || !values.is_empty();
        needed(
            !when.country.is_empty() || !when.region.is_empty(),
            &self.countries,
        ) && needed(
            !when.topic.is_empty() || when.min_topic_score.is_some(),
            &self.topics,
        ) && needed(!when.language.is_empty(), &self.languages)
            && needed(
                !when.event.is_empty() || when.min_event_confidence.is_some(),
                &self.events,
            )
            && needed(!when.source.is_empty(), &self.sources)
    }

    fn values(&self, placeholder: Placeholder) -> &[String] {
        match placeholder {
            Placeholder::Country => &self.countries,
            Placeholder::Region => &self.regions,
            Placeholder::Subregion => &self.subregions,
            Placeholder::Topic => &self.topics,
            Placeholder::Language => &self.languages,
            Placeholder::Event => &self.events,
            Placeholder::Source => &self.sources,
        }
    }
}

fn push_new(values: &mut Vec<String>, value: String) {
    if !values.contains(&value) {
        values.push(value);
    }
}

#[cfg(test)]
mod tests;
