//! The byte budget of records in flight (`max_in_flight_bytes`): the payload bytes of the
//! records consumed and not yet finished stay within it, so that a burst of large records
//! cannot hold `max_in_flight` times the largest record in memory. A record larger than the
//! whole budget still goes through, alone, when nothing else is in flight; it never waits
//! for room that cannot come.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteBudget {
    limit: usize,
}

impl ByteBudget {
    /// A budget of `limit` bytes (validated to be 1 to `u32::MAX`).
    pub fn new(limit: usize) -> Self {
        Self {
            limit: limit.clamp(1, u32::MAX as usize),
        }
    }

    /// Whether a record of `bytes` may join `in_flight` bytes: when both fit in the
    /// budget, or when nothing else is in flight.
    pub fn fits(self, in_flight: usize, bytes: usize) -> bool {
        in_flight == 0 || in_flight.saturating_add(bytes) <= self.limit
    }

    /// A window that admits records one at a time within this budget.
    pub fn window(self) -> ByteWindow {
        ByteWindow {
            budget: self,
            room: Arc::new(Semaphore::new(self.limit)),
        }
    }
}

/// The budget as a semaphore whose permits are bytes, for records that enter and leave
/// flight one by one.
pub struct ByteWindow {
    budget: ByteBudget,
    room: Arc<Semaphore>,
}

impl ByteWindow {
    /// Waits until a record of `bytes` fits (see [`ByteBudget::fits`]); the record is in
    /// flight until the permit is dropped. A record larger than the budget takes all of it,
    /// so it waits until nothing else is in flight and keeps others out meanwhile.
    pub async fn admit(&self, bytes: usize) -> OwnedSemaphorePermit {
        let charge = u32::try_from(bytes.min(self.budget.limit))
            .expect("the budget is at most u32::MAX bytes");
        Arc::clone(&self.room)
            .acquire_many_owned(charge)
            .await
            .expect("the byte window is never closed")
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;

    #[test]
    fn a_record_fits_within_the_budget_or_alone() {
        let budget = ByteBudget::new(100);
        assert!(budget.fits(0, 60));
        assert!(budget.fits(60, 40));
        assert!(!budget.fits(60, 41));
        assert!(budget.fits(0, 1_000), "larger than the budget, alone");
        assert!(!budget.fits(1, 1_000));
        assert!(budget.fits(100, 0), "an empty record takes no room");
        assert!(!budget.fits(usize::MAX, 1), "no overflow");
    }

    /// `now_or_never` polls once: `Some` when the record is admitted at once, `None` when
    /// it would wait.
    #[test]
    fn the_window_waits_while_the_next_record_would_exceed_the_budget() {
        let window = ByteBudget::new(100).window();
        let first = window.admit(60).now_or_never().expect("fits");
        assert!(window.admit(41).now_or_never().is_none(), "60 + 41 > 100");
        let second = window.admit(40).now_or_never().expect("60 + 40 fits");
        drop(first);
        assert!(window.admit(61).now_or_never().is_none(), "40 + 61 > 100");
        drop(second);
        assert!(window.admit(100).now_or_never().is_some());
    }

    #[test]
    fn a_record_larger_than_the_budget_goes_alone_and_never_deadlocks() {
        let window = ByteBudget::new(100).window();
        let small = window.admit(10).now_or_never().expect("fits");
        assert!(
            window.admit(5_000).now_or_never().is_none(),
            "waits for the records in flight"
        );
        drop(small);
        let large = window
            .admit(5_000)
            .now_or_never()
            .expect("admitted once nothing else is in flight");
        assert!(window.admit(1).now_or_never().is_none(), "it goes alone");
        drop(large);
        assert!(window.admit(1).now_or_never().is_some());
    }

    #[tokio::test]
    async fn a_waiting_record_is_admitted_when_room_is_freed() {
        let window = Arc::new(ByteBudget::new(100).window());
        let first = window.admit(80).await;
        let waiting = tokio::spawn({
            let window = Arc::clone(&window);
            async move { window.admit(50).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(first);
        let admitted = tokio::time::timeout(std::time::Duration::from_secs(10), waiting).await;
        assert!(
            admitted.is_ok_and(|joined| joined.is_ok()),
            "admitted once the first record left"
        );
    }
}
