//! A reliability table: reported topics grouped by score, with how often a topic reported
//! with that score is right. Calibrated scores are right about as often as they say.

use super::MIN_PROBABILITY;

const BINS: usize = 8;
const WIDTH: f32 = 0.1;

#[derive(Debug, Default, Clone)]
pub struct Reliability {
    /// Per bin: topics, right ones, sum of their scores.
    bins: [(usize, usize, f64); BINS],
}

impl Reliability {
    /// Counts one reported topic (scores below [`MIN_PROBABILITY`] are not reported).
    pub fn add(&mut self, score: f32, right: bool) {
        if score < MIN_PROBABILITY {
            return;
        }
        let bin = (((score - MIN_PROBABILITY) / WIDTH) as usize).min(BINS - 1);
        self.bins[bin].0 += 1;
        self.bins[bin].1 += usize::from(right);
        self.bins[bin].2 += f64::from(score);
    }

    /// One line per score range: how many topics, their mean score, and the share right.
    pub fn table(&self) -> String {
        let mut table = String::from("   score        topics  mean score  right\n");
        for (index, &(count, right, sum)) in self.bins.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let low = f64::from(MIN_PROBABILITY) + f64::from(WIDTH) * index as f64;
            let high = if index == BINS - 1 {
                1.0
            } else {
                low + f64::from(WIDTH)
            };
            table.push_str(&format!(
                "   {low:.2}-{high:.2}  {count:>8}  {:>10.3}  {:>5.3}\n",
                sum / count as f64,
                right as f64 / count as f64
            ));
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_fall_into_their_score_range() {
        let mut reliability = Reliability::default();
        reliability.add(0.99, true);
        reliability.add(0.97, false);
        reliability.add(0.30, false);
        reliability.add(0.10, true);
        let table = reliability.table();
        assert!(
            table.contains("   0.95-1.00         2       0.980  0.500"),
            "{table}"
        );
        assert!(
            table.contains("   0.25-0.35         1       0.300  0.000"),
            "{table}"
        );
        assert_eq!(table.lines().count(), 3, "{table}");
    }
}
