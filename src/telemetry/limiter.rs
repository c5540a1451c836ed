//! Log lines that repeat without limit (a Kafka error librdkafka raises every 50 ms while no
//! broker answers, a dead letter per bad record) are rate-limited per kind: the first
//! occurrence of a kind is logged at its event's level, repeats within [`WINDOW`] go to
//! debug, and how many were held back is logged once the window is over. Metrics count
//! every occurrence either way.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::Level;

/// How long repeats of one kind stay at debug after a line of that kind was logged.
pub const WINDOW: Duration = Duration::from_secs(60);

/// How often the windows that are over are looked at for a summary, so one is logged when
/// the repeats stop rather than at the next occurrence.
const SUMMARY_INTERVAL: Duration = Duration::from_secs(10);

/// Logs an event at a level chosen at run time (tracing's macros take a constant one).
macro_rules! event_at {
    ($level:expr, $($event:tt)+) => {
        match $level {
            tracing::Level::ERROR => tracing::error!($($event)+),
            tracing::Level::WARN => tracing::warn!($($event)+),
            tracing::Level::INFO => tracing::info!($($event)+),
            _ => tracing::debug!($($event)+),
        }
    };
}
pub(crate) use event_at;

/// Repeats of one kind held back over one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    pub kind: String,
    pub count: u64,
    /// From the logged occurrence that opened the window to the summary.
    pub over: Duration,
}

/// What to do with one occurrence of a kind.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Log it at its level, after the summary of the window before it, if that held
    /// anything back.
    Log(Option<Suppressed>),
    /// A repeat within the window: debug only.
    Suppress,
}

/// One window per kind; the caller passes the time, so tests control it.
#[derive(Debug)]
pub struct LogLimiter {
    window: Duration,
    kinds: BTreeMap<String, KindWindow>,
}

#[derive(Debug)]
struct KindWindow {
    opened: Instant,
    suppressed: u64,
}

impl KindWindow {
    fn take(&mut self, kind: &str, now: Instant) -> Option<Suppressed> {
        let count = std::mem::take(&mut self.suppressed);
        (count > 0).then(|| Suppressed {
            kind: kind.to_owned(),
            count,
            over: now.saturating_duration_since(self.opened),
        })
    }

    fn is_over(&self, window: Duration, now: Instant) -> bool {
        now.saturating_duration_since(self.opened) >= window
    }
}

impl LogLimiter {
    pub const fn new(window: Duration) -> Self {
        Self {
            window,
            kinds: BTreeMap::new(),
        }
    }

    /// Decides about one occurrence of `kind` at `now`.
    pub fn check(&mut self, kind: &str, now: Instant) -> Verdict {
        let Some(window) = self.kinds.get_mut(kind) else {
            let opened = KindWindow {
                opened: now,
                suppressed: 0,
            };
            self.kinds.insert(kind.to_owned(), opened);
            return Verdict::Log(None);
        };
        if !window.is_over(self.window, now) {
            window.suppressed += 1;
            return Verdict::Suppress;
        }
        let summary = window.take(kind, now);
        window.opened = now;
        Verdict::Log(summary)
    }

    /// Summaries of the windows over by `now` that held something back; their next
    /// occurrence is logged.
    pub fn take_due(&mut self, now: Instant) -> Vec<Suppressed> {
        let window = self.window;
        self.kinds
            .iter_mut()
            .filter(|(_, kind_window)| kind_window.is_over(window, now))
            .filter_map(|(kind, kind_window)| kind_window.take(kind, now))
            .collect()
    }

    /// Summaries of every window that held something back, over or not, and a fresh start
    /// for every kind: at shutdown, or when the condition behind the repeats has ended.
    pub fn take_all(&mut self, now: Instant) -> Vec<Suppressed> {
        std::mem::take(&mut self.kinds)
            .iter_mut()
            .filter_map(|(kind, kind_window)| kind_window.take(kind, now))
            .collect()
    }
}

/// The limiter of one event, shared by every thread that emits it, with what its summary
/// lines need: the event's message and level.
pub struct SharedLimiter {
    event: &'static str,
    level: Level,
    limiter: Mutex<LogLimiter>,
}

impl SharedLimiter {
    pub const fn new(event: &'static str, level: Level) -> Self {
        Self {
            event,
            level,
            limiter: Mutex::new(LogLimiter::new(WINDOW)),
        }
    }

    /// The level to log this occurrence of `kind` at: the event's own, or debug for a
    /// repeat within the window. Logs the summary of the window before it first.
    pub fn level(&self, kind: &str) -> Level {
        let verdict = self.lock().check(kind, Instant::now());
        match verdict {
            Verdict::Log(summary) => {
                if let Some(summary) = summary {
                    self.log_summary(&summary);
                }
                self.level
            }
            Verdict::Suppress => Level::DEBUG,
        }
    }

    /// Logs the summaries of the windows that are over.
    pub fn summarize_due(&self) {
        let due = self.lock().take_due(Instant::now());
        due.iter().for_each(|summary| self.log_summary(summary));
    }

    /// Logs the summaries of every window and starts afresh.
    pub fn summarize_all(&self) {
        let all = self.lock().take_all(Instant::now());
        all.iter().for_each(|summary| self.log_summary(summary));
    }

    fn lock(&self) -> MutexGuard<'_, LogLimiter> {
        // The limiter's state is valid after any panic: counts only.
        self.limiter.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn log_summary(&self, summary: &Suppressed) {
        event_at!(
            self.level,
            event = self.event,
            kind = summary.kind,
            suppressed = summary.count,
            seconds = summary.over.as_secs_f64(),
            "Repeated log lines suppressed (logged at debug level)."
        );
    }
}

/// Logs the summaries of the `limiters`' windows that are over, every [`SUMMARY_INTERVAL`]
/// until `shutdown`.
pub async fn summarize_periodically(limiters: &[&SharedLimiter], shutdown: CancellationToken) {
    let mut interval = tokio::time::interval(SUMMARY_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = interval.tick() => limiters.iter().for_each(|limiter| limiter.summarize_due()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn limiter() -> (LogLimiter, Instant) {
        (LogLimiter::new(Duration::from_secs(60)), Instant::now())
    }

    fn suppressed(kind: &str, count: u64, seconds: u64) -> Suppressed {
        Suppressed {
            kind: kind.to_owned(),
            count,
            over: Duration::from_secs(seconds),
        }
    }

    #[test]
    fn first_occurrence_of_each_kind_is_logged_and_repeats_are_not() {
        let (mut limiter, start) = limiter();
        assert_eq!(limiter.check("AllBrokersDown", start), Verdict::Log(None));
        assert_eq!(limiter.check("Resolve", start), Verdict::Log(None));
        for second in 1..60 {
            let now = start + second * SECOND;
            assert_eq!(limiter.check("AllBrokersDown", now), Verdict::Suppress);
        }
        assert_eq!(
            limiter.check("Resolve", start + 59 * SECOND),
            Verdict::Suppress
        );
    }

    #[test]
    fn next_occurrence_after_the_window_is_logged_with_the_count_held_back() {
        let (mut limiter, start) = limiter();
        limiter.check("invalid_json", start);
        for _ in 0..1000 {
            limiter.check("invalid_json", start + SECOND);
        }
        let later = start + 61 * SECOND;
        assert_eq!(
            limiter.check("invalid_json", later),
            Verdict::Log(Some(suppressed("invalid_json", 1000, 61)))
        );
        // A new window opened at the logged occurrence.
        assert_eq!(
            limiter.check("invalid_json", later + 59 * SECOND),
            Verdict::Suppress
        );
        assert_eq!(
            limiter.check("invalid_json", later + 60 * SECOND),
            Verdict::Log(Some(suppressed("invalid_json", 1, 60)))
        );
    }

    #[test]
    fn a_window_without_repeats_ends_without_a_summary() {
        let (mut limiter, start) = limiter();
        limiter.check("empty", start);
        assert_eq!(limiter.take_due(start + 120 * SECOND), vec![]);
        assert_eq!(
            limiter.check("empty", start + 120 * SECOND),
            Verdict::Log(None)
        );
    }

    #[test]
    fn summaries_come_due_when_their_window_is_over_even_if_the_repeats_stopped() {
        let (mut limiter, start) = limiter();
        limiter.check("AllBrokersDown", start);
        limiter.check("AllBrokersDown", start + SECOND);
        limiter.check("AllBrokersDown", start + 2 * SECOND);
        limiter.check("Resolve", start + 30 * SECOND);
        limiter.check("Resolve", start + 31 * SECOND);
        assert_eq!(limiter.take_due(start + 59 * SECOND), vec![]);
        assert_eq!(
            limiter.take_due(start + 60 * SECOND),
            vec![suppressed("AllBrokersDown", 2, 60)]
        );
        // Taken once: the count starts again from zero.
        assert_eq!(limiter.take_due(start + 80 * SECOND), vec![]);
        assert_eq!(
            limiter.take_due(start + 90 * SECOND),
            vec![suppressed("Resolve", 1, 60)]
        );
        assert_eq!(
            limiter.check("AllBrokersDown", start + 90 * SECOND),
            Verdict::Log(None)
        );
    }

    #[test]
    fn take_all_reports_open_windows_and_starts_every_kind_afresh() {
        let (mut limiter, start) = limiter();
        limiter.check("AllBrokersDown", start);
        limiter.check("AllBrokersDown", start + SECOND);
        limiter.check("Resolve", start);
        assert_eq!(
            limiter.take_all(start + 5 * SECOND),
            vec![suppressed("AllBrokersDown", 1, 5)]
        );
        // The next occurrence, still within the old window, is a first occurrence again.
        assert_eq!(
            limiter.check("AllBrokersDown", start + 6 * SECOND),
            Verdict::Log(None)
        );
        assert_eq!(limiter.take_all(start + 7 * SECOND), vec![]);
    }

    #[test]
    fn shared_limiter_logs_first_occurrences_at_the_event_level_and_repeats_at_debug() {
        let limiter = SharedLimiter::new("Test event.", Level::WARN);
        assert_eq!(limiter.level("a"), Level::WARN);
        assert_eq!(limiter.level("b"), Level::WARN);
        assert_eq!(limiter.level("a"), Level::DEBUG);
        assert_eq!(limiter.level("b"), Level::DEBUG);
        limiter.summarize_all();
        assert_eq!(limiter.level("a"), Level::WARN);
    }
}
