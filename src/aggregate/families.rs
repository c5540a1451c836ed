//! The events of one fingerprint (class and parties: a family) told apart by place, date
//! and time. A mention joins the family's first event whose place and date it agrees with
//! (a missing place or date agrees with any, dates within `date_tolerance_days`) and that
//! was told within `window_days` of it; else it founds an event of its own: the family's
//! first is keyed by the fingerprint itself, later ones by the fingerprint and their number
//! in the family. The window keeps undated tellings of the same parties months apart (two
//! meetings of France and Germany in different years) from being one event.
//!
//! Memory is bounded by forgetting the events told longest ago ([`Families::forget_oldest`]):
//! a forgotten event's record stays on the topic as it last was, and its family's count
//! of events stays, so that a later mention of it founds a new event under a new id.

use std::collections::VecDeque;

use chrono::{DateTime, NaiveDate, Utc};
use rustc_hash::FxHashMap;

use super::{mention_time, AggregateConfig, AggregatedEvent, Applied, MentionKey};
use crate::hash::fnv1a;
use crate::record::EventRecord;

/// The aggregated events of some partitions' fingerprints, by id.
#[derive(Debug, Default)]
pub struct Families {
    events: FxHashMap<String, Held>,
    /// Each fingerprint's events in memory, in the order they were founded.
    by_fingerprint: FxHashMap<String, Vec<String>>,
    /// How many events each fingerprint (by its hash) has founded, forgotten ones too.
    founded: FxHashMap<u64, u32>,
    /// Event ids by when they were told, oldest first; an entry whose event was told
    /// again since (or forgotten) is stale and skipped.
    told: VecDeque<(u64, String)>,
}

/// An event in memory, and when it was last told (the caller's running count).
#[derive(Debug)]
struct Held {
    event: AggregatedEvent,
    told: u64,
}

impl Families {
    /// Counts `record` into the event of its family it agrees with; returns what became of
    /// it and the event's id. `told` orders the tellings across every [`Families`] of the
    /// caller, for [`Families::forget_oldest`].
    pub fn count(
        &mut self,
        record: &EventRecord,
        seen_at: DateTime<Utc>,
        config: &AggregateConfig,
        told: u64,
    ) -> (Applied, String) {
        let fingerprint = &record.event.fingerprint;
        let family = self.by_fingerprint.entry(fingerprint.clone()).or_default();
        let key = MentionKey::of(record);
        let counted = family
            .iter()
            .find(|id| self.events[*id].event.has_counted(key));
        if let Some(id) = counted {
            return (Applied::AlreadyCounted, id.clone());
        }
        let time = mention_time(record, seen_at);
        let agreeing = family
            .iter()
            .find(|id| self.events[*id].event.agrees_with(record, time, config));
        if let Some(id) = agreeing {
            let id = id.clone();
            let held = self.events.get_mut(&id).expect("a family's ids are held");
            held.told = told;
            let applied = held.event.apply(record, seen_at, config);
            self.note_told(told, &id);
            return (applied, id);
        }
        let founded = self
            .founded
            .entry(fnv1a(fingerprint.as_bytes()))
            .or_default();
        let id = match *founded {
            0 => fingerprint.clone(),
            n => format!("{fingerprint}-{n}"),
        };
        *founded += 1;
        family.push(id.clone());
        let event = AggregatedEvent::new(id.clone(), record, seen_at, config);
        self.hold(event, told);
        (Applied::Counted, id)
    }

    /// Takes back an event read from the output topic; `told` as for [`Families::count`].
    pub fn restore(&mut self, event: AggregatedEvent, told: u64) {
        let fingerprint = &event.fingerprint;
        let number = match event.id.strip_prefix(fingerprint.as_str()) {
            Some(suffix) => suffix
                .strip_prefix('-')
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(0),
            None => 0,
        };
        let founded = self
            .founded
            .entry(fnv1a(fingerprint.as_bytes()))
            .or_default();
        *founded = (*founded).max(number.saturating_add(1));
        let family = self.by_fingerprint.entry(fingerprint.clone()).or_default();
        if !family.contains(&event.id) {
            family.push(event.id.clone());
        }
        self.hold(event, told);
    }

    fn hold(&mut self, event: AggregatedEvent, told: u64) {
        self.note_told(told, &event.id);
        self.events.insert(event.id.clone(), Held { event, told });
    }

    /// Queues the telling, and sweeps the queue of stale entries once they could
    /// outnumber the events.
    fn note_told(&mut self, told: u64, id: &str) {
        self.told.push_back((told, id.to_owned()));
        if self.told.len() > 2 * self.events.len() + 1024 {
            let events = &self.events;
            self.told
                .retain(|(told, id)| events.get(id).is_some_and(|held| held.told == *told));
        }
    }

    /// When the event told longest ago was last told.
    pub fn oldest_told(&mut self) -> Option<u64> {
        while let Some((told, id)) = self.told.front() {
            if self.events.get(id).is_some_and(|held| held.told == *told) {
                return Some(*told);
            }
            self.told.pop_front();
        }
        None
    }

    /// Forgets the event told longest ago; returns its id.
    pub fn forget_oldest(&mut self) -> Option<String> {
        self.oldest_told()?;
        let (_, id) = self.told.pop_front()?;
        self.forget(&id);
        Some(id)
    }

    /// Forgets event `id` (its family still counts it).
    pub fn forget(&mut self, id: &str) {
        let Some(held) = self.events.remove(id) else {
            return;
        };
        let fingerprint = &held.event.fingerprint;
        if let Some(family) = self.by_fingerprint.get_mut(fingerprint) {
            family.retain(|kept| kept != id);
            if family.is_empty() {
                self.by_fingerprint.remove(fingerprint);
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<&AggregatedEvent> {
        self.events.get(id).map(|held| &held.event)
    }

    /// Entries in the queue of tellings, stale ones included.
    #[cfg(test)]
    pub fn queued(&self) -> usize {
        self.told.len()
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
