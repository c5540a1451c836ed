//! Checks an enriched article against an expectations file (the format of
//! tests/golden/seed/expected.json): the golden tests and `make eval` use it, and so can
//! anyone pinning down how newsflow treats their own articles.

use std::collections::BTreeSet;

use serde_json::Value;

use newsflow::record::{EnrichedArticle, EntityType, Event};

/// One check and whether it held.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The part of the record: clean, regions, topics, entities, quotes or events.
    pub part: &'static str,
    pub name: String,
    pub passed: bool,
    /// What was found, when the check failed.
    pub found: String,
}

struct Checks(Vec<Check>);

impl Checks {
    fn add(
        &mut self,
        part: &'static str,
        name: impl Into<String>,
        passed: bool,
        found: impl FnOnce() -> String,
    ) {
        let found = if passed { String::new() } else { found() };
        self.0.push(Check {
            part,
            name: name.into(),
            passed,
            found,
        });
    }
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Every check `expected` asks for, in file order.
pub fn check(expected: &Value, article: &EnrichedArticle) -> Vec<Check> {
    let mut checks = Checks(Vec::new());
    check_clean(&mut checks, &expected["clean"], article);
    check_regions(&mut checks, &expected["regions"], article);
    check_topics(&mut checks, &expected["topics"], article);
    check_entities(&mut checks, &expected["entities"], article);
    check_quotes(&mut checks, &expected["quotes"], article);
    check_events(&mut checks, &expected["events"], &article.events);
    checks.0
}

fn check_clean(checks: &mut Checks, expected: &Value, article: &EnrichedArticle) {
    let clean = &article.clean;
    for (field, actual) in [("title", &clean.title), ("section", &clean.section)] {
        if let Some(want) = expected[field].as_str() {
            checks.add(
                "clean",
                format!("{field} is {want:?}"),
                actual.as_deref() == Some(want),
                || format!("{actual:?}"),
            );
        }
    }
    if expected["credits"].is_array() {
        let want = strings(&expected["credits"]);
        checks.add(
            "clean",
            format!("credits are {want:?}"),
            clean.credits == want,
            || format!("{:?}", clean.credits),
        );
    }
    if let Some(start) = expected["text_starts_with"].as_str() {
        checks.add(
            "clean",
            format!("text starts with {start:?}"),
            clean.text.starts_with(start),
            || clean.text.chars().take(80).collect(),
        );
    }
    if let Some(end) = expected["text_ends_with"].as_str() {
        checks.add(
            "clean",
            format!("text ends with {end:?}"),
            clean.text.ends_with(end),
            || {
                let chars: Vec<char> = clean.text.chars().collect();
                chars[chars.len().saturating_sub(80)..].iter().collect()
            },
        );
    }
    for banned in strings(&expected["text_must_not_contain"]) {
        checks.add(
            "clean",
            format!("text has no {banned:?}"),
            !clean.text.contains(banned),
            || "present".into(),
        );
    }
    if let Some(count) = expected["paragraphs"].as_u64() {
        checks.add(
            "clean",
            format!("{count} paragraphs"),
            clean.paragraphs.len() as u64 == count,
            || clean.paragraphs.len().to_string(),
        );
    }
}

fn check_regions(checks: &mut Checks, expected: &Value, article: &EnrichedArticle) {
    let codes: Vec<&str> = article
        .regions
        .countries
        .iter()
        .map(|c| c.code.as_str())
        .collect();
    let found = || format!("{codes:?}");
    let must = strings(&expected["countries_must_include"]);
    for code in &must {
        checks.add(
            "regions",
            format!("country {code}"),
            codes.contains(code),
            found,
        );
    }
    if expected["countries_may_include"].is_array() {
        let allowed: BTreeSet<&str> = must
            .iter()
            .copied()
            .chain(strings(&expected["countries_may_include"]))
            .collect();
        let extra: Vec<&&str> = codes.iter().filter(|c| !allowed.contains(**c)).collect();
        checks.add("regions", "no other countries", extra.is_empty(), || {
            format!("{extra:?}")
        });
    }
    let top = strings(&expected["top_two_countries_from"]);
    if !top.is_empty() {
        let passed = codes.len() >= 2 && codes[..2].iter().all(|c| top.contains(c));
        checks.add(
            "regions",
            format!("first two countries from {top:?}"),
            passed,
            found,
        );
    }
    let subregions: Vec<&str> = article
        .regions
        .subregions
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    for name in strings(&expected["un_m49_subregions_must_include"]) {
        checks.add(
            "regions",
            format!("sub-region {name}"),
            subregions.contains(&name),
            || format!("{subregions:?}"),
        );
    }
}

fn check_topics(checks: &mut Checks, expected: &Value, article: &EnrichedArticle) {
    let qcodes: Vec<&str> = article.topics.iter().map(|t| t.qcode.as_str()).collect();
    let found = || format!("{qcodes:?}");
    if let Some(first) = expected["first"].as_str() {
        checks.add(
            "topics",
            format!("first topic {first}"),
            qcodes.first() == Some(&first),
            found,
        );
    }
    for qcode in strings(&expected["must_include"]) {
        checks.add(
            "topics",
            format!("topic {qcode}"),
            qcodes.contains(&qcode),
            found,
        );
    }
    for qcode in strings(&expected["must_not_include"]) {
        checks.add(
            "topics",
            format!("no topic {qcode}"),
            !qcodes.contains(&qcode),
            found,
        );
    }
}

fn check_entities(checks: &mut Checks, expected: &Value, article: &EnrichedArticle) {
    for (key, kind, label) in [
        ("persons", EntityType::Person, "person"),
        ("organizations", EntityType::Organization, "organization"),
        ("locations", EntityType::Location, "location"),
    ] {
        for name in strings(&expected[key]) {
            let passed = article
                .entities
                .iter()
                .any(|e| e.kind == kind && e.text == name);
            checks.add("entities", format!("{label} {name}"), passed, || {
                let same_text: Vec<_> =
                    article.entities.iter().filter(|e| e.text == name).collect();
                format!("{same_text:?}")
            });
        }
    }
}

fn check_quotes(checks: &mut Checks, expected: &Value, article: &EnrichedArticle) {
    for want in expected.as_array().into_iter().flatten() {
        let speaker = want["speaker"].as_str().unwrap_or_default();
        let start = want["starts_with"].as_str().unwrap_or_default();
        let passed = article
            .quotes
            .iter()
            .any(|q| q.speaker.as_deref() == Some(speaker) && q.text.starts_with(start));
        checks.add(
            "quotes",
            format!("quote by {speaker} starting {start:?}"),
            passed,
            || format!("{:?}", article.quotes),
        );
    }
}

/// Whether `event` has everything `want` specifies (fields it leaves out are free).
fn event_matches(want: &Value, event: &Event) -> bool {
    let same_set = |key: &str, actual: &[String]| {
        want[key].is_null()
            || strings(&want[key]).into_iter().collect::<BTreeSet<_>>()
                == actual.iter().map(String::as_str).collect::<BTreeSet<_>>()
    };
    let same_str =
        |key: &str, actual: Option<&str>| want[key].as_str().is_none_or(|w| actual == Some(w));
    let modality = serde_json::to_value(event.modality).unwrap_or_default();
    same_str("plover", Some(&event.plover))
        && same_str("cameo", Some(&event.cameo))
        && same_set("actors", &event.actors)
        && same_set("targets", &event.targets)
        && same_str(
            "location",
            event.location.as_ref().and_then(|l| l.country.as_deref()),
        )
        && same_str("date_start", event.date_start.as_deref())
        && same_str("date_end", event.date_end.as_deref())
        && same_str("modality", modality.as_str())
}

/// Each expected event must match a different extracted event; found by trying every
/// assignment, which is quick for the handful of events in one article.
fn check_events(checks: &mut Checks, expected: &Value, events: &[Event]) {
    let wanted: Vec<&Value> = expected.as_array().into_iter().flatten().collect();
    let candidates: Vec<Vec<usize>> = wanted
        .iter()
        .map(|w| {
            (0..events.len())
                .filter(|&i| event_matches(w, &events[i]))
                .collect()
        })
        .collect();
    let mut best: Vec<Option<usize>> = vec![None; wanted.len()];
    let mut current = vec![None; wanted.len()];
    assign(
        &candidates,
        0,
        &mut vec![false; events.len()],
        &mut current,
        &mut best,
    );
    for (want, assigned) in wanted.iter().zip(&best) {
        let what = want["what"].as_str().unwrap_or("event");
        checks.add("events", what.to_owned(), assigned.is_some(), || {
            let same_class: Vec<String> = events
                .iter()
                .filter(|e| Some(e.plover.as_str()) == want["plover"].as_str())
                .map(|e| {
                    format!(
                        "{} {} {:?}→{:?} {:?} {:?}",
                        e.plover, e.cameo, e.actors, e.targets, e.date_start, e.modality
                    )
                })
                .collect();
            format!("no match among {same_class:?}")
        });
    }
    // One event, told once: events of one family (fingerprint) in the article are told
    // apart by their places or dates, or they would have been joined.
    let country = |e: &Event| e.location.as_ref().and_then(|l| l.country.clone());
    let differ = |a: Option<String>, b: Option<String>| a.is_some() && b.is_some() && a != b;
    let mut told_twice: Vec<&str> = Vec::new();
    for (n, a) in events.iter().enumerate() {
        for b in &events[n + 1..] {
            let apart = differ(country(a), country(b))
                || differ(a.date_start.clone(), b.date_start.clone());
            if a.fingerprint == b.fingerprint && !apart {
                told_twice.push(&a.fingerprint);
            }
        }
    }
    checks.add(
        "events",
        "every event is told once".to_owned(),
        told_twice.is_empty(),
        || {
            format!(
                "events told twice (one fingerprint, places and dates agreeing): {told_twice:?}"
            )
        },
    );
}

fn assign(
    candidates: &[Vec<usize>],
    next: usize,
    used: &mut Vec<bool>,
    current: &mut Vec<Option<usize>>,
    best: &mut Vec<Option<usize>>,
) {
    let matched = |a: &[Option<usize>]| a.iter().filter(|x| x.is_some()).count();
    if next == candidates.len() {
        if matched(current) > matched(best) {
            best.clone_from(current);
        }
        return;
    }
    for &event in &candidates[next] {
        if !used[event] {
            used[event] = true;
            current[next] = Some(event);
            assign(candidates, next + 1, used, current, best);
            current[next] = None;
            used[event] = false;
        }
    }
    assign(candidates, next + 1, used, current, best);
}

#[cfg(test)]
mod tests {
    use super::*;
    use newsflow::record::{Country, EventLocation, Modality};
    use serde_json::json;

    fn event(plover: &str, actors: &[&str], date: Option<&str>) -> Event {
        Event {
            plover: plover.into(),
            cameo: "040".into(),
            actors: actors.iter().map(|a| (*a).to_owned()).collect(),
            targets: vec![],
            actor_details: vec![],
            target_details: vec![],
            location: None,
            date_start: date.map(str::to_owned),
            date_end: None,
            modality: Modality::Planned,
            sentence: String::new(),
            confidence: 0.5,
            fingerprint: format!("{plover}{actors:?}{date:?}"),
        }
    }

    #[test]
    fn one_extracted_event_cannot_satisfy_two_expectations() {
        let expected = json!({"events": [
            {"what": "a", "plover": "CONSULT", "actors": ["CHN", "RUS"], "date_start": "2024-07-03"},
            {"what": "b", "plover": "CONSULT", "actors": ["RUS", "CHN"]}
        ]});
        let mut article = EnrichedArticle {
            events: vec![event("CONSULT", &["CHN", "RUS"], Some("2024-07-03"))],
            ..EnrichedArticle::default()
        };
        let checks = check(&expected, &article);
        let passed: Vec<&str> = checks
            .iter()
            .filter(|c| c.passed)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(passed, ["a", "every event is told once"]);
        article.events.push(event("CONSULT", &["RUS", "CHN"], None));
        assert!(check(&expected, &article).iter().all(|c| c.passed));
    }

    #[test]
    fn an_event_told_twice_fails_and_a_family_told_apart_passes() {
        let expected = json!({"events": []});
        let told = event("CONSULT", &["CHN", "RUS"], None);
        let article = EnrichedArticle {
            events: vec![told.clone(), told],
            ..EnrichedArticle::default()
        };
        let failed: Vec<String> = check(&expected, &article)
            .into_iter()
            .filter(|c| !c.passed)
            .map(|c| c.name)
            .collect();
        assert_eq!(failed, ["every event is told once"]);
        // Two events of one family told apart by their places pass.
        let mut in_paris = event("CONSULT", &["CHN", "RUS"], None);
        in_paris.location = Some(EventLocation {
            country: Some("FR".into()),
            name: None,
        });
        let mut in_berlin = in_paris.clone();
        in_berlin.location = Some(EventLocation {
            country: Some("DE".into()),
            name: None,
        });
        let article = EnrichedArticle {
            events: vec![in_paris, in_berlin],
            ..EnrichedArticle::default()
        };
        assert!(check(&expected, &article).iter().all(|c| c.passed));
    }

    #[test]
    fn region_checks_catch_extra_and_misordered_countries() {
        let expected = json!({"regions": {
            "countries_must_include": ["CN", "RU"],
            "countries_may_include": ["UA"],
            "top_two_countries_from": ["CN", "RU"]
        }});
        let country = |code: &str| Country {
            code: code.into(),
            name: code.into(),
            score: 1.0,
            mentions: 1,
            evidence: vec![],
        };
        let mut article = EnrichedArticle::default();
        article.regions.countries = vec![country("CN"), country("FR"), country("RU")];
        let failed: Vec<String> = check(&expected, &article)
            .into_iter()
            .filter(|c| !c.passed)
            .map(|c| c.name)
            .collect();
        assert_eq!(
            failed,
            vec![
                "no other countries",
                "first two countries from [\"CN\", \"RU\"]"
            ]
        );
    }
}
