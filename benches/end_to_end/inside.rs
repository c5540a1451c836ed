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

/// Each histogram's sum and count at one moment.
pub struct Reading(Vec<(f64, f64)>);

impl Reading {
    pub fn take(metrics_port: u16) -> Self {
        Self(
            HISTOGRAMS
                .iter()
                .map(|(_, name, labels)| {
                    (
                        metric_sum(metrics_port, &format!("{name}_sum{labels}")),
                        metric_sum(metrics_port, &format!("{name}_count{labels}")),
                    )
                })
                .collect(),
        )
    }

    /// The mean of each histogram observed since `earlier`, in ms, leaving out those not
    /// observed (the transaction steps under at-least-once).
    pub fn means_since(&self, earlier: &Reading) -> String {
        let means: Vec<String> = HISTOGRAMS
            .iter()
            .zip(self.0.iter().zip(&earlier.0))
            .filter_map(
                |((what, _, _), ((sum, count), (sum_before, count_before)))| {
                    let observed = count - count_before;
                    (observed > 0.0)
                        .then(|| format!("{what} {:.0}", (sum - sum_before) * 1000.0 / observed))
                },
            )
            .collect();
        means.join(", ")
    }
}
