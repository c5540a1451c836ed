use chrono::{DateTime, FixedOffset, Utc};

use super::*;
use crate::record::{Event, SCHEMA_VERSION};

fn at(time: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(time).unwrap()
}

fn now() -> DateTime<Utc> {
    at("2024-07-10T00:00:00Z").with_timezone(&Utc)
}

fn mention(article: &str, source: &str, date: Option<&str>, confidence: f64) -> EventRecord {
    EventRecord {
        schema_version: SCHEMA_VERSION,
        article_id: article.into(),
        published_at: Some(at("2024-07-02T09:00:00+02:00")),
        url: None,
        source: Some(source.into()),
        event: Event {
            plover: "CONSULT".into(),
            cameo: "040".into(),
            actors: vec!["FRA".into(), "DEU".into()],
            targets: vec![],
            actor_details: vec![],
            target_details: vec![],
            location: None,
            date_start: date.map(Into::into),
            date_end: None,
            modality: Modality::Occurred,
            sentence: format!("The ministers met ({article})."),
            confidence,
            fingerprint: "00ff00ff00ff00ff".into(),
        },
    }
}

#[test]
fn mentions_from_more_articles_and_sources_raise_the_counts_and_the_confidence() {
    let config = AggregateConfig::default();
    let mut event =
        AggregatedEvent::new("e".into(), &mention("a1", "AFP", None, 0.6), now(), &config);
    assert_eq!(
        (event.num_mentions, event.num_articles, event.num_sources),
        (1, 1, 1)
    );
    assert_eq!(event.confidence, 0.6);
    assert_eq!(
        event.apply(&mention("a2", "AFP", None, 0.7), now(), &config),
        Applied::Counted
    );
    assert_eq!(event.num_sources, 1);
    assert_eq!(event.confidence, 0.7, "one source at its likeliest");
    event.apply(&mention("a3", "Reuters", None, 0.5), now(), &config);
    assert_eq!(
        (event.num_mentions, event.num_articles, event.num_sources),
        (3, 3, 2)
    );
    assert_eq!(event.confidence, 0.85, "1 - 0.3 × 0.5");
    assert_eq!(event.article_ids, ["a1", "a2", "a3"]);
    assert_eq!(event.sources[0].articles, 2);
    assert_eq!(event.first_seen, at("2024-07-02T07:00:00Z"));
}

#[test]
fn a_mention_delivered_again_counts_once_even_after_a_restart() {
    let config = AggregateConfig::default();
    let first = mention("a1", "AFP", Some("2024-07-01"), 0.6);
    let mut event = AggregatedEvent::new("e".into(), &first, now(), &config);
    assert_eq!(event.apply(&first, now(), &config), Applied::AlreadyCounted);
    event.apply(&mention("a2", "AFP", None, 0.6), now(), &config);
    // What a restarted aggregator reads back from the compacted topic.
    let stored = serde_json::to_string(&event).unwrap();
    let mut restored: AggregatedEvent = serde_json::from_str(&stored).unwrap();
    assert_eq!(restored, event);
    assert_eq!(
        restored.apply(&first, now(), &config),
        Applied::AlreadyCounted
    );
    assert_eq!((restored.num_mentions, restored.num_articles), (2, 2));
}

#[test]
fn an_article_telling_the_event_twice_is_two_mentions_of_one_article() {
    let config = AggregateConfig::default();
    let mut event =
        AggregatedEvent::new("e".into(), &mention("a1", "AFP", None, 0.6), now(), &config);
    let mut again = mention("a1", "AFP", None, 0.6);
    again.event.sentence = "They met again on Friday.".into();
    assert_eq!(event.apply(&again, now(), &config), Applied::Counted);
    assert_eq!((event.num_mentions, event.num_articles), (2, 1));
    assert_eq!(event.sources[0].articles, 1);
}

#[test]
fn the_best_supported_date_wins_and_mentions_without_one_do_not_vote() {
    let config = AggregateConfig::default();
    let mut event = AggregatedEvent::new(
        "e".into(),
        &mention("a1", "A", Some("2024-07-01"), 0.6),
        now(),
        &config,
    );
    for (article, date) in [
        ("a2", Some("2024-07-02")),
        ("a3", None),
        ("a4", None),
        ("a5", Some("2024-07-02")),
    ] {
        event.apply(&mention(article, "B", date, 0.6), now(), &config);
    }
    assert_eq!(event.date_start.as_deref(), Some("2024-07-02"));
    assert_eq!(event.support.dates.len(), 2);
    assert_eq!(event.support.dates[1].mentions, 2);
}

#[test]
fn beyond_the_tracked_mentions_counting_goes_on_but_is_no_longer_exact() {
    let config = AggregateConfig {
        max_mentions_tracked: 2,
        ..AggregateConfig::default()
    };
    let mut event =
        AggregatedEvent::new("e".into(), &mention("a1", "A", None, 0.6), now(), &config);
    event.apply(&mention("a2", "A", None, 0.6), now(), &config);
    assert!(event.counts_exact);
    event.apply(&mention("a3", "A", None, 0.6), now(), &config);
    assert!(!event.counts_exact);
    assert_eq!((event.num_mentions, event.counted.len()), (3, 2));
}

#[test]
fn a_mention_without_a_source_is_told_by_its_host() {
    let mut record = mention("a1", "", None, 0.6);
    record.url = Some("https://www.example.org/news/1".into());
    assert_eq!(source_of(&record), "example.org");
    record.url = None;
    assert_eq!(source_of(&record), "unknown");
}

#[test]
fn mention_keys_read_back_and_refuse_what_is_not_one() {
    let key = MentionKey::of(&mention("a1", "A", None, 0.6));
    assert_eq!(MentionKey::try_from(String::from(key)), Ok(key));
    assert!(MentionKey::try_from("xyz".to_owned()).is_err());
}

#[test]
fn the_aggregate_table_is_read_and_checked() {
    let config: crate::config::RunConfig = toml::from_str(
        "events_topic = \"wire.events\"\n[aggregate]\noutput_topic = \"wire.events.agg\"\n",
    )
    .unwrap();
    assert_eq!(config.aggregate.output_topic, "wire.events.agg");
    assert_eq!(config.aggregate.group_id, "newsflow-aggregate");
    assert!(config.aggregate.validate(&config.events_topic).is_ok());
    assert!(config.aggregate.validate("wire.events.agg").is_err());
    assert!(config.aggregate.validate("").is_err());
}

fn placed(article: &str, country: Option<&str>, date: Option<&str>) -> EventRecord {
    let mut record = mention(article, "AFP", date, 0.6);
    record.event.location = country.map(|c| crate::record::EventLocation {
        country: Some(c.into()),
        name: None,
    });
    record
}

#[test]
fn a_family_tells_its_events_apart_by_place_and_date_and_missing_ones_agree() {
    let config = AggregateConfig::default();
    let mut families = Families::default();
    let count =
        |families: &mut Families, record: &EventRecord| families.count(record, now(), &config, 0);
    let (_, paris) = count(&mut families, &placed("a1", Some("FR"), Some("2024-07-01")));
    assert_eq!(
        paris, "00ff00ff00ff00ff",
        "the family's first is keyed by the fingerprint"
    );
    // No place, no date: the first event.
    assert_eq!(count(&mut families, &placed("a2", None, None)).1, paris);
    // Two days later is within the tolerance.
    assert_eq!(
        count(&mut families, &placed("a3", None, Some("2024-07-03"))).1,
        paris
    );
    // Another country, or a week later: another event of the family.
    let (_, berlin) = count(&mut families, &placed("a4", Some("DE"), None));
    assert_eq!(berlin, "00ff00ff00ff00ff-1");
    let (_, later) = count(&mut families, &placed("a5", Some("FR"), Some("2024-07-09")));
    assert_eq!(later, "00ff00ff00ff00ff-2");
    // A redelivery finds the event it was counted in, whatever it agrees with now.
    assert_eq!(
        count(&mut families, &placed("a4", Some("DE"), None)),
        (Applied::AlreadyCounted, berlin.clone())
    );
    assert_eq!(families.get(&paris).unwrap().num_articles, 3);
    assert_eq!(families.len(), 3);

    // Read back, in any order and some forgotten, the family goes on numbering where it was.
    let mut restored = Families::default();
    for id in [&later, &berlin] {
        let stored = serde_json::to_string(families.get(id).unwrap()).unwrap();
        restored.restore(serde_json::from_str(&stored).unwrap(), 0);
    }
    let (_, rome) = restored.count(&placed("a6", Some("IT"), None), now(), &config, 0);
    assert_eq!(rome, "00ff00ff00ff00ff-3");
}

#[test]
fn undated_tellings_months_apart_are_two_events() {
    let config = AggregateConfig::default();
    let mut families = Families::default();
    let first = placed("a1", None, None);
    let mut months_later = placed("a2", None, None);
    months_later.published_at = Some(at("2024-11-02T09:00:00Z"));
    let mut days_later = placed("a3", None, None);
    days_later.published_at = Some(at("2024-07-06T09:00:00Z"));
    let (_, summer) = families.count(&first, now(), &config, 0);
    assert_eq!(families.count(&days_later, now(), &config, 0).1, summer);
    assert_ne!(families.count(&months_later, now(), &config, 0).1, summer);
}

#[test]
fn the_events_told_longest_ago_are_forgotten_first_and_their_ids_are_not_reused() {
    let config = AggregateConfig::default();
    let mut families = Families::default();
    let mut told = 0;
    let mut count = |families: &mut Families, record: &EventRecord| {
        told += 1;
        families.count(record, now(), &config, told)
    };
    let (_, paris) = count(&mut families, &placed("a1", Some("FR"), None));
    let (_, berlin) = count(&mut families, &placed("a2", Some("DE"), None));
    let mut other = placed("a3", None, None);
    other.event.fingerprint = "1111111111111111".into();
    let (_, other_id) = count(&mut families, &other);
    // Paris told again: Berlin is now the one told longest ago.
    count(&mut families, &placed("a4", Some("FR"), None));
    assert_eq!(families.oldest_told(), Some(2));
    assert_eq!(families.forget_oldest(), Some(berlin.clone()));
    assert_eq!(families.forget_oldest(), Some(other_id));
    assert_eq!(families.len(), 1);
    assert!(families.get(&berlin).is_none());
    // Berlin told again founds a new event: its old record is not overwritten.
    let (applied, berlin_again) = count(&mut families, &placed("a5", Some("DE"), None));
    assert_eq!(applied, Applied::Counted);
    assert_eq!(berlin_again, "00ff00ff00ff00ff-2");
    assert_eq!(families.get(&berlin_again).unwrap().num_mentions, 1);
    assert_eq!(families.get(&paris).unwrap().num_mentions, 2);
}

#[test]
fn the_queue_of_tellings_stays_bounded_when_one_event_is_told_again_and_again() {
    let config = AggregateConfig::default();
    let mut families = Families::default();
    for told in 0..10_000u64 {
        families.count(
            &placed(&format!("a{told}"), None, None),
            now(),
            &config,
            told,
        );
    }
    assert_eq!(families.len(), 1);
    assert!(families.queued() <= 2 + 1024, "{}", families.queued());
    assert_eq!(families.oldest_told(), Some(9_999));
}
