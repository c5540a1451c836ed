//! Where a paced run's records spend their time inside newsflow, from its own histograms:
//! means between two readings of /metrics, so that the warm-up is left out.

use super::metric_sum;

/// The histograms read: what the time is, the metric, and its label selector.
const HISTOGRAMS: [(&str, &str, &str); 5] = [
    (
        "input timestamp to outputs stored",
        "newsflow_end_to_end_latency_seconds",
        "",
    ),
    (
        "transaction ready",
        "newsflow_transaction_step_seconds",
        "{step=\"ready\"}",
    ),
    (
        "produce",
        "newsflow_transaction_step_seconds",
        "{step=\"produce\"}",
    ),
    (
        "offsets",
        "newsflow_transaction_step_seconds",
        "{step=\"offsets\"}",
    ),
    (
        "commit",
        "newsflow_transaction_step_seconds",
        "{step=\"commit\"}",
    ),
];

/// Each histogram's sum and count at one moment, and how many records' outputs were
/// stored within 250 ms of their input's timestamp.
pub struct Reading {
    sums_and_counts: Vec<(f64, f64)>,
    within_250ms: f64,
}

impl Reading {
    pub fn take(metrics_port: u16) -> Self {
        let sums_and_counts = HISTOGRAMS
            .iter()
            .map(|(_, name, labels)| {
                (
                    metric_sum(metrics_port, &format!("{name}_sum{labels}")),
                    metric_sum(metrics_port, &format!("{name}_count{labels}")),
                )
            })
            .collect();
        let within_250ms = metric_sum(
            metrics_port,
            "newsflow_end_to_end_latency_seconds_bucket{le=\"0.25\"}",
        );
        Self {
            sums_and_counts,
            within_250ms,
        }
    }

    /// The mean of each histogram observed since `earlier`, in ms, leaving out those not
    /// observed (the transaction steps under at-least-once), and the share of records
    /// whose outputs were stored more than 250 ms after their input's timestamp.
    pub fn means_since(&self, earlier: &Reading) -> String {
        let pairs = self.sums_and_counts.iter().zip(&earlier.sums_and_counts);
        let mut means: Vec<String> = HISTOGRAMS
            .iter()
            .zip(pairs)
            .filter_map(
                |((what, _, _), ((sum, count), (sum_before, count_before)))| {
                    let observed = count - count_before;
                    let mean = (sum - sum_before) * 1000.0 / observed;
                    (observed > 0.0).then(|| format!("{what} {mean:.0}"))
                },
            )
            .collect();
        // The first histogram is the end-to-end latency.
        let stored = self.sums_and_counts[0].1 - earlier.sums_and_counts[0].1;
        if stored > 0.0 {
            let late = stored - (self.within_250ms - earlier.within_250ms);
            means.push(format!(
                "outputs stored over 250 ms after input {:.1}%",
                100.0 * late / stored
            ));
        }
        means.join(", ")
    }
}
