//! Held-out scores: top-1 accuracy, the softmax temperature that calibrates the scores,
//! and the reliability table that shows whether it does.

use newsflow::stage::classify::topics::reliability::Reliability;
use newsflow::stage::classify::topics::TopicModel;

use super::corpus::Item;

/// A held-out item's top-level scores (before the temperature) and its gold topic.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub scores: Vec<f32>,
    pub gold: usize,
}

/// The model's raw top-level scores for each item.
pub fn predict(model: &TopicModel, items: &[Item]) -> Vec<Prediction> {
    let head = model.heads()[0];
    items
        .iter()
        .map(|item| {
            let scored = model.score(&item.title, &item.text);
            Prediction {
                scores: scored.scores[head.first..head.first + head.count].to_vec(),
                gold: item.top,
            }
        })
        .collect()
}

fn probabilities(scores: &[f32], temperature: f32) -> Vec<f32> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = scores
        .iter()
        .map(|s| ((s - max) / temperature).exp())
        .collect();
    let total: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / total).collect()
}

fn best(scores: &[f32]) -> usize {
    let mut best = 0;
    for (label, score) in scores.iter().enumerate() {
        if *score > scores[best] {
            best = label;
        }
    }
    best
}

/// Share of predictions whose best topic is the gold one.
pub fn top1(predictions: &[Prediction]) -> f64 {
    let correct = predictions
        .iter()
        .filter(|p| best(&p.scores) == p.gold)
        .count();
    correct as f64 / predictions.len().max(1) as f64
}

/// The temperature (0.05 to 5, by 0.05) with the least negative log-likelihood.
pub fn fit_temperature(predictions: &[Prediction]) -> f32 {
    let loss = |temperature: f32| -> f64 {
        predictions
            .iter()
            .map(|p| -f64::from(probabilities(&p.scores, temperature)[p.gold].max(1e-12)).ln())
            .sum()
    };
    (1..=100)
        .map(|step| step as f32 * 0.05)
        .min_by(|&a, &b| loss(a).total_cmp(&loss(b)))
        .expect("temperatures")
}

/// The reliability of the scores the classifier would report with `temperature`.
pub fn reliability_table(predictions: &[Prediction], temperature: f32) -> String {
    let mut reliability = Reliability::default();
    for prediction in predictions {
        for (label, p) in probabilities(&prediction.scores, temperature)
            .into_iter()
            .enumerate()
        {
            reliability.add(p, label == prediction.gold);
        }
    }
    reliability.table()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temperature_softens_overconfident_scores() {
        // Always sure, right three times in four: a temperature above 1 fits better.
        let predictions: Vec<Prediction> = (0..4)
            .map(|i| Prediction {
                scores: vec![10.0, 0.0],
                gold: usize::from(i == 0),
            })
            .collect();
        assert!(fit_temperature(&predictions) > 1.0);
        assert_eq!(top1(&predictions), 0.75);
        let table = reliability_table(&predictions, 1.0);
        assert!(
            table.contains("   0.95-1.00         4       1.000  0.750"),
            "{table}"
        );
    }
}
