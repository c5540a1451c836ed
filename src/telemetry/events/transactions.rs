//! Exactly-once transactions: how each ended and how long its steps took.

use std::time::Duration;

use tracing::{debug, warn};

use crate::telemetry::metrics;

/// An exactly-once transaction was committed, or aborted (its batch is read again).
pub enum TransactionEnded<'a> {
    Committed {
        records: usize,
        steps: TransactionSteps,
    },
    Aborted {
        records: usize,
        error: &'a str,
    },
}

impl TransactionEnded<'_> {
    pub fn emit(&self) {
        match self {
            Self::Committed { records, steps } => {
                let [ready, produce, offsets, commit] = steps.in_order().map(|d| d.as_millis());
                debug!(
                    records,
                    ready_ms = ready as u64,
                    produce_ms = produce as u64,
                    offsets_ms = offsets as u64,
                    commit_ms = commit as u64,
                    "Transaction committed."
                );
                let observed = &metrics().transaction_steps;
                for (name, took) in TransactionSteps::NAMES.iter().zip(steps.in_order()) {
                    observed
                        .with_label_values(&[name])
                        .observe(took.as_secs_f64());
                }
                metrics()
                    .transactions
                    .with_label_values(&["committed"])
                    .inc();
            }
            Self::Aborted { records, error } => {
                warn!(
                    records,
                    error, "Transaction aborted; its batch will be read again."
                );
                metrics().transactions.with_label_values(&["aborted"]).inc();
            }
        }
    }
}

/// How long a committed transaction spent in each step, one after another.
#[derive(Clone, Copy, Debug, Default)]
pub struct TransactionSteps {
    /// From its batch's read to the outputs of all its records: enriching them, their
    /// stories' settling, and the transactions before it.
    pub ready: Duration,
    /// Beginning the transaction and handing every output to the producer.
    pub produce: Duration,
    /// Adding the batch's input offsets to the transaction.
    pub offsets: Duration,
    /// Committing: the outputs' delivery, then the coordinator's commit.
    pub commit: Duration,
}

impl TransactionSteps {
    /// The steps' names, in the order they come (`newsflow_transaction_step_seconds{step}`).
    pub const NAMES: [&'static str; 4] = ["ready", "produce", "offsets", "commit"];

    fn in_order(&self) -> [Duration; 4] {
        [self.ready, self.produce, self.offsets, self.commit]
    }
}
