//! What `newsflow aggregate` reports: its records, its batches and its restores.

use tracing::{debug, info, warn};

use super::metrics;

/// An events-topic record was read (`outcome`: one of
/// `metrics::AGGREGATE_OUTCOMES`).
pub struct AggregateRecordRead {
    pub outcome: &'static str,
}

impl AggregateRecordRead {
    pub fn emit(&self) {
        metrics()
            .aggregate
            .records
            .with_label_values(&[self.outcome])
            .inc();
    }
}

/// A batch's changed aggregates were stored and its offsets committed.
pub struct AggregateBatchStored {
    pub records: usize,
    pub updates: usize,
    /// Events let out of memory after the batch.
    pub forgotten: usize,
    pub events_held: usize,
    /// Age of the batch's newest record, in seconds.
    pub lag_seconds: Option<f64>,
}

impl AggregateBatchStored {
    pub fn emit(&self) {
        let metrics = &metrics().aggregate;
        metrics.written.inc_by(self.updates as u64);
        metrics.forgotten.inc_by(self.forgotten as u64);
        metrics
            .events
            .set(i64::try_from(self.events_held).unwrap_or(i64::MAX));
        if let Some(lag) = self.lag_seconds {
            metrics.lag.set(lag);
        }
        debug!(
            records = self.records,
            updates = self.updates,
            forgotten = self.forgotten,
            events_held = self.events_held,
            lag_seconds = self.lag_seconds,
            "Aggregates stored."
        );
    }
}

/// A partition's aggregates were read back from the output topic.
pub struct AggregatesRestored<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub events: usize,
    pub unreadable: usize,
    pub seconds: f64,
}

impl AggregatesRestored<'_> {
    pub fn emit(&self) {
        info!(
            topic = self.topic,
            partition = self.partition,
            events = self.events,
            seconds = self.seconds,
            "Aggregates read back."
        );
        if self.unreadable > 0 {
            warn!(
                topic = self.topic,
                partition = self.partition,
                unreadable = self.unreadable,
                "Records of the aggregates topic that are not aggregated events were left out."
            );
        }
    }
}
