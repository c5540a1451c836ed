//! When a feed is polled next: its interval after a success, and after failures an
//! exponential backoff with jitter, so that a feed that is down is not hammered and feeds
//! that failed together do not retry together.

use std::time::Duration;

use crate::hash::mix;

#[derive(Debug, Clone)]
pub struct Schedule {
    interval: Duration,
    max_backoff: Duration,
    /// Failures since the last success.
    failures: u32,
    /// Feeds the jitter, different per feed.
    seed: u64,
}

impl Schedule {
    pub fn new(interval: Duration, max_backoff: Duration, seed: u64) -> Self {
        Self {
            interval,
            max_backoff: max_backoff.max(interval),
            failures: 0,
            seed,
        }
    }

    /// The wait before the next poll, after a poll that succeeded.
    pub fn succeeded(&mut self) -> Duration {
        self.failures = 0;
        self.interval
    }

    /// The wait before the next poll, after a poll that failed: the interval doubled for
    /// each failure in a row (at most `max_backoff`), then a random 50–100% of that.
    pub fn failed(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let doubled = self
            .interval
            .saturating_mul(1 << (self.failures - 1).min(20))
            .min(self.max_backoff);
        self.seed = mix(self.seed.wrapping_add(u64::from(self.failures)));
        let fraction = 0.5 + (self.seed >> 11) as f64 / (1u64 << 53) as f64 / 2.0;
        doubled.mul_f64(fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_exponentially_with_jitter_up_to_the_cap() {
        let mut schedule = Schedule::new(Duration::from_secs(60), Duration::from_secs(600), 1);
        let waits: Vec<Duration> = (0..6).map(|_| schedule.failed()).collect();
        for (n, wait) in waits.iter().enumerate() {
            let full = Duration::from_secs(60 * (1 << n)).min(Duration::from_secs(600));
            assert!(*wait >= full / 2 && *wait <= full, "{n}: {wait:?}");
        }
        assert_eq!(schedule.succeeded(), Duration::from_secs(60));
        assert!(schedule.failed() <= Duration::from_secs(60));
    }

    #[test]
    fn two_feeds_failing_together_retry_apart() {
        let mut a = Schedule::new(Duration::from_secs(60), Duration::from_secs(600), 1);
        let mut b = Schedule::new(Duration::from_secs(60), Duration::from_secs(600), 2);
        assert_ne!(a.failed(), b.failed());
    }
}
