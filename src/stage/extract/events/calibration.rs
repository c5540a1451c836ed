//! How well confidence is calibrated: of the events given 0.7, are seven in ten right?

/// The expected calibration error of (confidence, right) pairs: over ten equal bands of
/// confidence, the gap between the mean confidence and the share right, weighted by the
/// band's share of the pairs.
pub fn expected_calibration_error(scored: &[(f64, bool)]) -> f64 {
    let mut bands = [(0.0, 0.0); 10];
    for &(confidence, right) in scored {
        let band = &mut bands[((confidence * 10.0).floor() as usize).min(9)];
        band.0 += confidence;
        band.1 += f64::from(u8::from(right));
    }
    let total = scored.len().max(1) as f64;
    // A band's gap in means, weighted by its share: its gap in sums over all the pairs.
    bands
        .iter()
        .map(|(confidence, right)| (confidence - right).abs() / total)
        .sum()
}

/// The mean squared gap between confidence and outcome (1 right, 0 wrong).
pub fn brier_score(scored: &[(f64, bool)]) -> f64 {
    let squares: f64 = scored
        .iter()
        .map(|&(confidence, right)| (confidence - f64::from(u8::from(right))).powi(2))
        .sum();
    squares / scored.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_error_is_the_weighted_gap_per_band() {
        // Band 0.7-0.8: confidence 0.7, 7 of 10 right; band 0.9-1.0: 0.9, none of 10.
        let mut scored: Vec<(f64, bool)> = (0..10).map(|i| (0.7, i < 7)).collect();
        scored.extend((0..10).map(|_| (0.9, false)));
        let ece = expected_calibration_error(&scored);
        assert!((ece - 0.45).abs() < 1e-9, "{ece}");
        assert!((brier_score(&[(1.0, true), (0.5, false)]) - 0.125).abs() < 1e-12);
    }
}
