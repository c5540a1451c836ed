//! The events of one fingerprint (class and parties: a family) told apart by place, date
//! and time. A mention joins the family's first event whose place and date it agrees with
//! (a missing place or date agrees with any, dates within `date_tolerance_days`) and that
//! was told within `window_days` of it; else it founds an event of its own: the family's
//! first is keyed by the fingerprint itself, later ones by the fingerprint and their number
//! in the family. The window keeps undated tellings of the same parties months apart (two
//! meetings of France and Germany in different years) from being one event.

use chrono::{DateTime, NaiveDate, Utc};
use rustc_hash::FxHashMap;

use super::{mention_time, AggregateConfig, AggregatedEvent, Applied, MentionKey};
use crate::record::EventRecord;

/// The aggregated events of some partitions' fingerprints, by id.
#[derive(Debug, Default)]
pub struct Families {
    events: FxHashMap<String, AggregatedEvent>,
    /// Each fingerprint's event ids, in the order they were founded.
    by_fingerprint: FxHashMap<String, Vec<String>>,
}

impl Families {
    /// Counts `record` into the event of its family it agrees with; returns what became of
    /// it and the event's id.
    pub fn count(
        &mut self,
        record: &EventRecord,
        seen_at: DateTime<Utc>,
        config: &AggregateConfig,
    ) -> (Applied, String) {
        let fingerprint = &record.event.fingerprint;
        let family = self.by_fingerprint.entry(fingerprint.clone()).or_default();
        let key = MentionKey::of(record);
        let counted = family.iter().find(|id| self.events[*id].has_counted(key));
        if let Some(id) = counted {
            return (Applied::AlreadyCounted, id.clone());
        }
        let time = mention_time(record, seen_at);
        let agreeing = family
            .iter()
            .find(|id| self.events[*id].agrees_with(record, time, config));
        if let Some(id) = agreeing {
            let id = id.clone();
            let applied = self
                .events
                .get_mut(&id)
                .expect("a family's ids are held")
                .apply(record, seen_at, config);
            return (applied, id);
        }
        let id = match family.len() {
            0 => fingerprint.clone(),
            n => format!("{fingerprint}-{n}"),
        };
        family.push(id.clone());
        let event = AggregatedEvent::new(id.clone(), record, seen_at, config);
        self.events.insert(id.clone(), event);
        (Applied::Counted, id)
    }

    /// Takes back an event read from the output topic.
    pub fn restore(&mut self, event: AggregatedEvent) {
        let family = self
            .by_fingerprint
            .entry(event.fingerprint.clone())
            .or_default();
        if !family.contains(&event.id) {
            family.push(event.id.clone());
        }
        self.events.insert(event.id.clone(), event);
    }

    pub fn get(&self, id: &str) -> Option<&AggregatedEvent> {
        self.events.get(id)
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

impl AggregatedEvent {
    /// Whether `record`, told at `time`, agrees with this event's best-supported place and
    /// date, and was told within the window of its other mentions.
    fn agrees_with(
        &self,
        record: &EventRecord,
        time: DateTime<Utc>,
        config: &AggregateConfig,
    ) -> bool {
        let window = chrono::Duration::days(i64::from(config.window_days));
        if time < self.first_seen - window || time > self.last_seen + window {
            return false;
        }
        let tolerance_days = config.date_tolerance_days;
        let event = &record.event;
        let country = |location: Option<&crate::record::EventLocation>| {
            location.and_then(|l| l.country.clone())
        };
        let places_agree = match (
            country(self.location.as_ref()),
            country(event.location.as_ref()),
        ) {
            (Some(ours), Some(theirs)) => ours == theirs,
            _ => true,
        };
        let day = |date: Option<&String>| {
            date.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        };
        let dates_agree = match (
            day(self.date_start.as_ref()),
            day(event.date_start.as_ref()),
        ) {
            (Some(ours), Some(theirs)) => {
                (ours - theirs).num_days().unsigned_abs() <= u64::from(tolerance_days)
            }
            _ => true,
        };
        places_agree && dates_agree
    }
}
