//! The event coder on sentences written to show each rule, and those it must leave alone.

use super::super::entities;
use super::*;
use crate::stage::reference::for_tests;

fn events(text: &str) -> Vec<Event> {
    let doc = Document::new(text, for_tests());
    let found = entities::find(&doc);
    find(&doc, &found, NaiveDate::from_ymd_opt(2024, 7, 1), true)
}

type Summary = Vec<(String, Vec<String>, Vec<String>)>;

fn summary(events: &[Event]) -> Summary {
    events
        .iter()
        .map(|e| (e.plover.clone(), e.actors.clone(), e.targets.clone()))
        .collect()
}

/// The summary of one event of `class` from `actors` on `targets`.
fn one(class: &str, actors: &[&str], targets: &[&str]) -> Summary {
    let codes = |codes: &[&str]| codes.iter().map(|c| (*c).to_owned()).collect();
    vec![(class.to_owned(), codes(actors), codes(targets))]
}

/// The classes of the events of `text`, in order.
fn classes(text: &str) -> Vec<String> {
    events(text).into_iter().map(|e| e.plover).collect()
}

#[test]
fn an_event_noun_takes_the_parties_of_its_light_verb() {
    assert_eq!(
        summary(&events(
            "Peru has issued an ultimatum to Ecuador to halt attacks across the border."
        )),
        one("THREATEN", &["PER"], &["ECU"])
    );
}

#[test]
fn what_is_demanded_or_rejected_has_not_happened() {
    assert_eq!(
        classes("The French government called for sanctions against Iran."),
        vec!["DEMAND"]
    );
    assert_eq!(
        classes("Israel rejected a UN proposal for a ceasefire in Gaza."),
        vec!["REJECT"]
    );
}

#[test]
fn a_measure_of_an_event_takes_the_verb_that_governs_it() {
    assert_eq!(
        summary(&events("Israel launched a wave of air strikes on Gaza.")),
        one("ASSAULT", &["ISR"], &["PSE"])
    );
}

#[test]
fn obligations_goals_and_allegations_are_not_events_of_their_own() {
    assert_eq!(
        classes("Rwandan rebels said President Kagame must agree to constitutional changes."),
        vec!["DEMAND"]
    );
    assert_eq!(
        classes(
            "Opposition supporters in Kenya staged protests to demand the release of their leader."
        ),
        vec!["PROTEST"]
    );
    assert_eq!(
        classes("Zimbabwe accused the United States of sabotaging the negotiations on Namibia's independence."),
        vec!["ACCUSE"]
    );
}

#[test]
fn a_condition_is_no_event() {
    assert_eq!(
        summary(&events(
            "Talks will begin only if Serbia co-operates fully with the UN tribunal."
        )),
        vec![]
    );
}

#[test]
fn a_lawsuit_between_states_is_an_accusation() {
    assert_eq!(
        summary(&events(
            "Ukraine sued Russia over the downing of the airliner."
        )),
        one("ACCUSE", &["UKR"], &["RUS"])
    );
}

#[test]
fn a_bombing_is_political_violence_where_it_happens_a_quake_is_not() {
    let found =
        events("A car bomb exploded near a market in Baghdad on Tuesday, killing 12 people.");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].plover.as_str(), found[0].cameo.as_str()),
        ("ASSAULT", "1832")
    );
    assert_eq!(
        found[0]
            .location
            .as_ref()
            .and_then(|l| l.country.as_deref()),
        Some("IQ")
    );
    assert_eq!(
        events("An earthquake killed dozens of people in eastern Turkey on Friday."),
        vec![]
    );
}

#[test]
fn a_visit_has_actor_target_place_date_and_modality() {
    let found = events("Starting on July 2, Xi Jinping will visit Kazakhstan as a state guest.");
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
fn subjects_act_on_objects_and_passives_turn_round() {
    let found = events("Israeli troops arrested more than 100 Palestinians on Saturday.");
    assert_eq!(summary(&found), one("COERCE", &["ISR"], &["PSE"]));
    assert_eq!(found[0].actor_details[0].sector.as_deref(), Some("MIL"));
    assert_eq!(found[0].actor_details[0].words, "Israeli troops");
    let found = events("Israel was attacked by Syria on Monday. Jordan did not attack Iraq.");
    assert_eq!(summary(&found), one("ASSAULT", &["SYR"], &["ISR"]));
    assert_eq!(found[0].modality, Modality::Occurred);
}

#[test]
fn reported_speech_codes_the_reported_act_not_the_speaker() {
    let found = events("The ministry said Russian forces shelled Ukrainian positions.");
    assert_eq!(
        summary(&found),
        one("ASSAULT", &["RUS"], &["UKR"]),
        "{found:?}"
    );
}

#[test]
fn intent_is_not_occurrence() {
    let found = events("Iran threatened to strike Israeli bases.");
    assert_eq!(summary(&found), one("THREATEN", &["IRN"], &["ISR"]));
    let found = events("Russia wants to attack Ukraine.");
    assert!(found.iter().all(|e| e.plover != "ASSAULT"), "{found:?}");
    assert_eq!(found[0].plover, "THREATEN");
    assert_eq!(found[0].modality, Modality::Planned);
    let found = events("Syria says it is willing to withdraw its troops from Lebanon.");
    assert_eq!(found[0].plover, "AGREE", "{found:?}");
    assert_eq!(found[0].actors, vec!["SYR"]);
    let found = events("Syria says it will not accept any more refugees.");
    assert_eq!(found[0].plover, "REJECT", "{found:?}");
}

#[test]
fn denials_and_negations_are_no_events() {
    assert!(events("Russia denied shelling the city of Kharkiv.").is_empty());
    assert!(events("The army did not attack the protesters in Cairo.").is_empty());
}

#[test]
fn non_political_actors_make_no_events() {
    for text in [
        "An earthquake killed dozens of people in Turkey on Monday.",
        "Chelsea deny the meeting took place.",
        "The company launched a new chip and rejected the offer.",
        "Gloucester were denied a late try.",
    ] {
        assert!(events(text).is_empty(), "{text}: {:?}", events(text));
    }
    // In sport, a country's name is a team.
    let doc = Document::new(
        "England attacked France from the first minute.",
        for_tests(),
    );
    let found = entities::find(&doc);
    assert!(find(&doc, &found, None, false).is_empty());
}

#[test]
fn what_one_says_another_must_do_is_a_demand_of_the_speaker() {
    let found = events("Germany's foreign minister said Iran must stop enriching uranium.");
    assert_eq!(summary(&found), one("DEMAND", &["DEU"], &["IRN"]));
    assert!(events("The coach said his players must improve.").is_empty());
}

#[test]
fn a_people_that_protests_is_its_country_s_civilians() {
    let found = events("Young Algerians blocked roads leading to the city centre on Sunday.");
    assert_eq!(summary(&found), one("PROTEST", &["DZA"], &[]));
    assert_eq!(found[0].actor_details[0].sector.as_deref(), Some("CVL"));
    // Outside a protest, civilians make no political event.
    assert!(events("Young Algerians met in the city centre on Sunday.").is_empty());
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
fn fingerprints_ignore_actor_order_wording_and_missing_dates() {
    let a = events("Russia and China held a summit on May 16.");
    let b = events("China and Russia met for a summit.");
    assert_eq!(a[0].fingerprint, b[0].fingerprint, "{a:?} {b:?}");
    assert_eq!(a[0].fingerprint.len(), 16);
}

#[test]
fn an_event_noun_tagged_as_an_adjective_still_takes_its_light_verb() {
    // The tagger reads "protest" after "began a" as an adjective; "began" is irregular.
    assert_eq!(
        summary(&events(
            "Algerian workers began a protest against the government."
        )),
        one("PROTEST", &["DZA"], &[])
    );
}

#[test]
fn a_resignation_is_a_retreat() {
    assert_eq!(
        classes("The Haitian prime minister resigned on Monday."),
        vec!["RETREAT"]
    );
}

#[test]
fn a_known_politician_acts_for_a_country_the_article_names() {
    assert_eq!(
        summary(&events(
            "Levy Mwanawasa rejected the plan of the Zambian opposition."
        )),
        one("REJECT", &["ZMB"], &[])
    );
    // A common name is someone else where the country is not in the story.
    assert!(events("John Williams rejected the offer of the club.").is_empty());
}

#[test]
fn confidence_is_the_model_s_probability_of_the_features_of_the_event_kept() {
    // The summit told twice, joined into one event: its confidence must come from the
    // features it is published with, which training reads.
    let text = "Xi and Putin will meet in Astana on July 3. Xi will hold a summit with \
                Putin in Astana. Peru has issued an ultimatum to Ecuador.";
    let doc = Document::new(text, for_tests());
    let found = entities::find(&doc);
    let scored = find_scored(&doc, &found, NaiveDate::from_ymd_opt(2024, 7, 1), true);
    assert!(scored.len() >= 2, "{scored:?}");
    for ScoredEvent { event, features } in &scored {
        assert_eq!(
            event.confidence,
            doc.data.calibration.confidence(features),
            "{event:?}"
        );
        assert!((0.0..=1.0).contains(&event.confidence));
    }
}

#[test]
fn signing_a_formal_agreement_is_support() {
    assert_eq!(
        classes("Libya and Bulgaria signed a treaty of friendship."),
        vec!["SUPPORT"]
    );
}

#[test]
fn a_renewed_demand_and_pressure_are_demands_of_their_subject() {
    for text in [
        "The ILO repeated its demand that Israel ease restrictions.",
        "Iranian authorities pressured the union to cancel the rally.",
    ] {
        let found = events(text);
        assert!(
            found
                .iter()
                .any(|e| e.plover == "DEMAND" && !e.actors.is_empty()),
            "{text}: {:?}",
            summary(&found)
        );
    }
}

#[test]
fn troops_kept_on_alert_are_mobilised() {
    assert_eq!(
        summary(&events(
            "Israeli troops remained on alert in the West Bank."
        )),
        one("MOBILIZE", &["ISR"], &["PSE"])
    );
}

#[test]
fn leaving_ground_is_a_retreat_and_finishing_an_event_takes_part_in_it() {
    for text in [
        "Israel evacuated its settlements in Gaza.",
        "Serbian forces completed their withdrawal from the town.",
    ] {
        assert_eq!(classes(text), vec!["RETREAT"], "{text}");
    }
}

#[test]
fn a_group_of_soldiers_is_soldiers_not_a_company() {
    assert_eq!(
        summary(&events("A group of Syrian soldiers attacked the village.")),
        one("ASSAULT", &["SYR"], &[])
    );
}

#[test]
fn a_people_that_demands_makes_a_political_claim() {
    assert_eq!(
        summary(&events("Serbs demanded autonomy.")),
        one("DEMAND", &["SRB"], &[])
    );
    // A collective in the singular is no crowd.
    assert!(events("The Kenyan population demanded change.").is_empty());
}

#[test]
fn asking_whether_is_a_question_not_a_demand() {
    assert!(
        events("The British government asks whether ID cards could help the police.").is_empty()
    );
    assert_eq!(
        summary(&events(
            "The British government asked the French to help the refugees."
        )),
        one("DEMAND", &["GBR"], &["FRA"])
    );
}

#[test]
fn a_terror_network_is_an_armed_group() {
    assert_eq!(
        classes("The terror network has threatened to deliver devastating blows."),
        ["THREATEN"]
    );
}

#[test]
fn only_who_can_act_politically_makes_a_sentence_worth_parsing() {
    let doc = Document::new(
        "Acme Holdings agreed to buy the shop. The company met its shareholders. \
         The United Nations met the rebels. Residents protested.",
        for_tests(),
    );
    let found = entities::find(&doc);
    let context = DocumentActors::new(&doc, &found);
    let worth: Vec<bool> = doc
        .sentences
        .iter()
        .map(|sentence| has_candidate(&context, sentence, None, true))
        .collect();
    assert_eq!(worth, [false, false, true, true]);
}

#[test]
fn an_abbreviated_rank_is_a_title() {
    assert_eq!(
        summary(&events(
            "Lt. Gen. Prosper Avril resigned in Haiti on Saturday."
        )),
        one("RETREAT", &["HTI"], &[])
    );
}
