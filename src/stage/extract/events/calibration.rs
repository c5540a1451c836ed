//! How likely an event is right: a logistic regression over what supports it, fitted by
//! `make train-confidence` on gold sentences (`data/extract/confidence.tsv`), so that of
//! the events given 0.7 about seven in ten are right.
//!
//! The features are computed here, from the draft an event is made of, both when an event
//! is coded and when the model is fitted, so the model learns from exactly what it is
//! later given.

use super::merging::Draft;
use crate::record::{Event, Modality};

/// An event and the features its confidence came from.
#[derive(Debug, Clone)]
pub struct ScoredEvent {
    pub event: Event,
    pub features: Features,
}

/// The features' names, in the order of [`Features`]'s values and of the model file.
pub const FEATURE_NAMES: [&str; 11] = [
    "actors",
    "targets",
    "parsed",
    "explicit_actor",
    "noun",
    "uncertain",
    "planned",
    "repeated",
    "sentence_shared",
    "conflict",
    "material",
];

/// What supports an event, each 0 or 1 except where said.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Features(pub [f64; FEATURE_NAMES.len()]);

/// PLOVER's conflict classes (verbal and material); the others are cooperation.
const CONFLICT: &[&str] = &[
    "ACCUSE", "REJECT", "DEMAND", "THREATEN", "PROTEST", "SANCTION", "MOBILIZE", "COERCE",
    "ASSAULT",
];
/// PLOVER's material classes (acts rather than words).
const MATERIAL: &[&str] = &[
    "COOPERATE",
    "AID",
    "RETREAT",
    "CONCEDE",
    "PROTEST",
    "SANCTION",
    "MOBILIZE",
    "COERCE",
    "ASSAULT",
];

impl Features {
    /// The features of the event a draft makes, with its coded `actors` and `targets` and
    /// `sentence_events`, the number of events first told in its sentence (itself
    /// included): a sentence rarely tells several, so each of them is less likely right.
    pub fn of(
        draft: &Draft,
        actors: &[String],
        targets: &[String],
        sentence_events: usize,
    ) -> Self {
        let m = &draft.mention;
        let flag = |on: bool| if on { 1.0 } else { 0.0 };
        Self([
            flag(!actors.is_empty()),
            flag(!targets.is_empty()),
            flag(m.from_syntax),
            flag(m.actors.iter().any(|a| a.political && !a.by_name)),
            flag(m.noun),
            flag(m.modality == Modality::Uncertain),
            flag(m.modality == Modality::Planned),
            // Further mentions, up to two.
            (draft.mentions.min(3) - 1) as f64,
            flag(sentence_events > 1),
            flag(CONFLICT.contains(&m.class)),
            flag(MATERIAL.contains(&m.class)),
        ])
    }
}

/// A logistic regression: the probability is the logistic function of the bias plus the
/// weighted features.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub bias: f64,
    pub weights: [f64; FEATURE_NAMES.len()],
}

impl Model {
    /// The model built into the binary.
    pub fn load() -> Self {
        Self::parse(include_str!("../../../../data/extract/confidence.tsv"))
            .expect("data/extract/confidence.tsv is a confidence model")
    }

    /// Reads `name<TAB>weight` lines (`bias` and every feature once; `#` starts a comment).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut bias = None;
        let mut weights = [None; FEATURE_NAMES.len()];
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, weight) = line
                .split_once('\t')
                .ok_or_else(|| format!("not `name<TAB>weight`: {line:?}"))?;
            let weight: f64 = weight
                .trim()
                .parse()
                .map_err(|e| format!("weight of {name}: {e}"))?;
            let slot = match FEATURE_NAMES.iter().position(|f| *f == name) {
                Some(i) => &mut weights[i],
                None if name == "bias" => &mut bias,
                None => return Err(format!("unknown feature {name:?}")),
            };
            if slot.replace(weight).is_some() {
                return Err(format!("{name} given twice"));
            }
        }
        let mut complete = [0.0; FEATURE_NAMES.len()];
        for (i, weight) in weights.iter().enumerate() {
            complete[i] = weight.ok_or_else(|| format!("no weight for {}", FEATURE_NAMES[i]))?;
        }
        Ok(Self {
            bias: bias.ok_or("no bias")?,
            weights: complete,
        })
    }

    /// The model as [`Model::parse`] reads it.
    pub fn to_text(&self) -> String {
        let mut text = format!("bias\t{:.4}\n", self.bias);
        for (name, weight) in FEATURE_NAMES.iter().zip(self.weights) {
            text.push_str(&format!("{name}\t{weight:.4}\n"));
        }
        text
    }

    /// How likely an event with these features is right, from 0 to 1.
    pub fn probability(&self, features: &Features) -> f64 {
        let score: f64 = self.bias
            + self
                .weights
                .iter()
                .zip(features.0)
                .map(|(w, x)| w * x)
                .sum::<f64>();
        1.0 / (1.0 + (-score).exp())
    }

    /// The confidence an event is published with: its probability, to two decimals.
    pub fn confidence(&self, features: &Features) -> f64 {
        (self.probability(features) * 100.0).round() / 100.0
    }
}

/// The tenth of [0, 1] a confidence falls in (1.0 in the last).
fn band(confidence: f64) -> usize {
    ((confidence * 10.0).floor() as usize).min(9)
}

/// Of (confidence, right) pairs, per tenth of confidence: (pairs right, pairs).
pub fn right_by_band(scored: &[(f64, bool)]) -> [(usize, usize); 10] {
    let mut bands = [(0, 0); 10];
    for &(confidence, right) in scored {
        let band = &mut bands[band(confidence)];
        band.0 += usize::from(right);
        band.1 += 1;
    }
    bands
}

/// The expected calibration error of (confidence, right) pairs: over ten equal bands of
/// confidence, the gap between the mean confidence and the share right, weighted by the
/// band's share of the pairs.
pub fn expected_calibration_error(scored: &[(f64, bool)]) -> f64 {
    let mut bands = [(0.0, 0.0); 10];
    for &(confidence, right) in scored {
        let band = &mut bands[band(confidence)];
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
    use crate::stage::reference::for_tests;

    fn features(on: &[&str]) -> Features {
        Features(FEATURE_NAMES.map(|name| f64::from(u8::from(on.contains(&name)))))
    }

    #[test]
    fn the_shipped_model_loads_and_trusts_support_over_a_bare_noun() {
        let model = &for_tests().extract.calibration;
        let supported = features(&["actors", "targets", "parsed", "explicit_actor"]);
        let bare_noun = features(&["noun", "uncertain", "sentence_shared"]);
        assert!(
            model.probability(&supported) > model.probability(&bare_noun) + 0.1,
            "{model:?}"
        );
    }

    #[test]
    fn confidence_is_a_probability_whatever_the_features() {
        let model = &for_tests().extract.calibration;
        for bits in 0u32..(1 << FEATURE_NAMES.len()) {
            let mut values = [0.0; FEATURE_NAMES.len()];
            for (i, value) in values.iter_mut().enumerate() {
                *value = f64::from((bits >> i) & 1) * if i == 7 { 2.0 } else { 1.0 };
            }
            let c = model.confidence(&Features(values));
            assert!((0.0..=1.0).contains(&c), "{c} for {values:?}");
        }
    }

    #[test]
    fn a_model_reads_back_what_it_writes_and_rejects_an_incomplete_file() {
        let model = Model {
            bias: -0.5,
            weights: [0.25; FEATURE_NAMES.len()],
        };
        assert_eq!(Model::parse(&model.to_text()), Ok(model));
        assert!(Model::parse("bias\t1.0\nactors\t0.5\n")
            .unwrap_err()
            .contains("no weight"));
        assert!(Model::parse("bias\t1.0\nbias\t2.0\n").is_err());
    }

    #[test]
    fn calibration_error_is_the_weighted_gap_per_band() {
        // Band 0.7-0.8: confidence 0.7, 7 of 10 right; band 0.9-1.0: 0.9, none of 10.
        let mut scored: Vec<(f64, bool)> = (0..10).map(|i| (0.7, i < 7)).collect();
        scored.extend((0..10).map(|_| (0.9, false)));
        let ece = expected_calibration_error(&scored);
        assert!((ece - 0.45).abs() < 1e-9, "{ece}");
        let bands = right_by_band(&scored);
        assert_eq!((bands[7], bands[9]), ((7, 10), (0, 10)));
        assert!((brier_score(&[(1.0, true), (0.5, false)]) - 0.125).abs() < 1e-12);
    }
}
