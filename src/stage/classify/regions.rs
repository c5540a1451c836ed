//! Which countries an article is about: country mentions weighted by kind, position
//! (title, dateline, lead) and frequency, then ranked; passing mentions are dropped.

use std::collections::HashMap;

use regex::Regex;

use crate::geo::{Gazetteer, Match, MentionKind};
use crate::record::{Country, Regions, Subregion};

/// Weight of one mention of each kind, before position.
fn kind_weight(kind: MentionKind) -> f64 {
    match kind {
        MentionKind::Name | MentionKind::Leader => 1.0,
        MentionKind::Demonym => 0.8,
        MentionKind::City | MentionKind::Institution => 0.7,
        MentionKind::Company | MentionKind::Currency => 0.5,
    }
}

/// A weak term ("Georgia", "Senate") counts this much of a plain one.
const WEAK_FACTOR: f64 = 0.3;
/// Position multipliers: a title mention says what the article is about; the lead
/// (the first `LEAD_BYTES` after the dateline) says it almost as clearly.
const TITLE_FACTOR: f64 = 3.0;
const LEAD_FACTOR: f64 = 1.5;
const LEAD_BYTES: usize = 400;
/// The dateline's country is where the story was filed: strong evidence on its own.
const DATELINE_WEIGHT: f64 = 3.0;
/// A country must reach this share of the leading country's score to be kept.
const MIN_SHARE: f64 = 0.12;
/// Evidence spans kept per country.
const MAX_EVIDENCE: usize = 6;

/// Finds a wire dateline at the start of the body: "SEOUL, July 1 (Reuters) -",
/// "PORTLAND, Ore., Feb 26 -", "LONDON -". Group 1 is the city, group 2 the state or
/// country after it.
pub struct Datelines(Regex);

impl Default for Datelines {
    fn default() -> Self {
        let pattern = r"^\s*([A-Z][A-Za-z.'\- ]{0,40}?[A-Za-z.])(?:,\s*([A-Z][A-Za-z.]*(?: [A-Z][A-Za-z.]*)?))?(?:,\s*[A-Za-z]{3,9}\.?\s+\d{1,2})?\s*(?:\([^)]{1,30}\))?\s*(?:--?|–|—)\s";
        Self(Regex::new(pattern).expect("the dateline pattern compiles"))
    }
}

impl Datelines {
    /// Where a wire story was filed, as its dateline writes it ("SEOUL", "PORTLAND, Ore."),
    /// when the body opens with a dateline.
    pub fn place<'a>(&self, body: &'a str) -> Option<&'a str> {
        let captures = self.0.captures(body)?;
        let city = captures.get(1)?;
        let end = captures.get(2).unwrap_or(city).end();
        body.get(city.start()..end)
    }
}

#[derive(Default)]
struct Tally {
    score: f64,
    mentions: u32,
    /// A mention in the title, the dateline or the lead.
    prominent: bool,
    /// A mention that is not weak.
    reliable: bool,
    evidence: Vec<String>,
}

impl Tally {
    fn add(&mut self, weight: f64, prominent: bool, reliable: bool, span: &str) {
        self.score += weight;
        self.mentions += 1;
        self.prominent |= prominent;
        self.reliable |= reliable;
        if self.evidence.len() < MAX_EVIDENCE && !self.evidence.iter().any(|e| e == span) {
            self.evidence.push(span.to_owned());
        }
    }

    /// Whether the country is a subject rather than a single passing mention.
    fn keeps(&self, best: f64) -> bool {
        self.reliable && self.score >= MIN_SHARE * best && (self.prominent || self.mentions > 1)
    }
}

/// The countries of an article from its title and body, given their gazetteer matches
/// (the body's are also the extract stage's).
pub fn classify(
    gazetteer: &Gazetteer,
    datelines: &Datelines,
    (title, title_matches): (&str, Vec<Match>),
    (body, body_matches): (&str, &[Match]),
) -> Regions {
    let mut tallies: HashMap<usize, Tally> = HashMap::new();
    let mut count = |text: &str, matches: Vec<Match>, factor: &dyn Fn(usize) -> f64| {
        for m in matches {
            let mention = m.mention;
            let position = factor(mention.start);
            let weight =
                kind_weight(mention.kind) * position * if m.weak { WEAK_FACTOR } else { 1.0 };
            tallies.entry(mention.country).or_default().add(
                weight,
                position > 1.0,
                !m.weak,
                &text[mention.start..mention.end],
            );
        }
    };

    count(title, title_matches, &|_| TITLE_FACTOR);

    let dateline = datelines.0.captures(body);
    let dateline_end = dateline
        .as_ref()
        .map_or(0, |c| c.get(0).map_or(0, |m| m.end()));
    let lead_end = dateline_end + LEAD_BYTES;
    let in_body: Vec<Match> = body_matches
        .iter()
        .filter(|m| m.mention.start >= dateline_end)
        .copied()
        .collect();
    count(body, in_body, &|start| {
        if start < lead_end {
            LEAD_FACTOR
        } else {
            1.0
        }
    });

    if let Some(captures) = dateline {
        let place = captures
            .get(2)
            .into_iter()
            .chain(captures.get(1))
            .find_map(|m| gazetteer.lookup(m.as_str()).map(|found| (m, found)));
        if let Some((span, (country, _))) = place {
            tallies
                .entry(country)
                .or_default()
                .add(DATELINE_WEIGHT, true, true, span.as_str());
        }
    }

    rank(gazetteer, tallies)
}

fn rank(gazetteer: &Gazetteer, tallies: HashMap<usize, Tally>) -> Regions {
    let best = tallies.values().map(|t| t.score).fold(0.0, f64::max);
    let mut countries: Vec<(usize, Tally)> = tallies
        .into_iter()
        .filter(|(_, tally)| tally.keeps(best))
        .collect();
    countries.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(a.0.cmp(&b.0)));

    let mut subregions: Vec<Subregion> = Vec::new();
    let countries: Vec<Country> = countries
        .into_iter()
        .map(|(index, tally)| {
            let info = &gazetteer.countries()[index];
            let score = round(tally.score / best);
            match subregions
                .iter_mut()
                .find(|s| s.code == info.subregion.code)
            {
                Some(subregion) => subregion.score += score,
                None => subregions.push(Subregion {
                    name: info.subregion.name.clone(),
                    code: info.subregion.code.clone(),
                    score,
                }),
            }
            Country {
                code: info.alpha2.clone(),
                name: info.name.clone(),
                score,
                mentions: tally.mentions,
                evidence: tally.evidence,
            }
        })
        .collect();
    let total: f64 = subregions.iter().map(|s| s.score).sum();
    for subregion in &mut subregions {
        subregion.score = round(subregion.score / total);
    }
    subregions.sort_by(|a, b| b.score.total_cmp(&a.score));
    Regions {
        countries,
        subregions,
    }
}

fn round(score: f64) -> f64 {
    (score * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::reference::for_tests;

    fn classified(title: &str, body: &str) -> Regions {
        let gazetteer = &for_tests().gazetteer;
        classify(
            gazetteer,
            &Datelines::default(),
            (title, gazetteer.matches(title)),
            (body, &gazetteer.matches(body)),
        )
    }

    fn codes(title: &str, body: &str) -> Vec<String> {
        classified(title, body)
            .countries
            .into_iter()
            .map(|c| c.code)
            .collect()
    }

    #[test]
    fn the_dateline_and_title_outrank_a_passing_mention() {
        let body = "SEOUL, July 1 (Reuters) - South Korea's central bank held rates. \
                    The won was steady. Officials in Seoul said exports to Japan rose.";
        assert_eq!(codes("Bank of Korea holds rates", body)[0], "KR");
        let body = "PORTLAND, Ore., Feb 26 - Red Lion Inns said it filed an offering.";
        assert_eq!(codes("RED LION INNS FILES OFFERING", body), ["US"]);
    }

    #[test]
    fn a_datelines_place_is_the_city_and_the_state_or_country_after_it() {
        let datelines = Datelines::default();
        let place = |body| datelines.place(body);
        assert_eq!(
            place("SEOUL, July 1 (Reuters) - Rates held."),
            Some("SEOUL")
        );
        assert_eq!(
            place("PORTLAND, Ore., Feb 26 - Red Lion"),
            Some("PORTLAND, Ore.")
        );
        assert_eq!(place("LONDON - Shares fell."), Some("LONDON"));
        assert_eq!(place("Shares fell in London on Monday."), None);
    }

    #[test]
    fn a_single_passing_mention_late_in_the_text_is_dropped() {
        let lead = "Germany's Bundesbank left rates unchanged, the German central bank said. ";
        let body = format!(
            "{lead}{}A trader in Paris called it expected.",
            "Filler. ".repeat(80)
        );
        assert_eq!(codes("Bundesbank holds rates", &body), ["DE"]);
    }

    #[test]
    fn subregions_follow_the_countries() {
        let regions = classified(
            "Xi visits Kazakhstan",
            "China's Xi Jinping will visit Kazakhstan and meet Putin of Russia.",
        );
        let names: Vec<&str> = regions.subregions.iter().map(|s| s.name.as_str()).collect();
        for name in ["Eastern Asia", "Central Asia", "Eastern Europe"] {
            assert!(names.contains(&name), "{names:?}");
        }
    }

    #[test]
    fn no_country_no_regions() {
        assert_eq!(codes("", ""), Vec::<String>::new());
        assert_eq!(
            codes("Roast turkey recipes", "Stuff the turkey."),
            Vec::<String>::new()
        );
    }
}
