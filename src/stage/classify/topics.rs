//! IPTC Media Topics from a trained linear model (`data/topics/model.bin`, built by
//! `make train`): word and word-pair features with TF-IDF weights, plus the mean of the
//! words' embeddings distilled from a sentence encoder, scored for every topic and turned
//! into calibrated probabilities. Topics at or above [`MIN_PROBABILITY`] are reported,
//! best first, each with the terms that raised it most; a second-level topic follows its
//! top-level one when the model is sure enough of it.

pub mod features;
pub mod model;
pub mod reliability;
pub mod rows;

use std::sync::LazyLock;

use crate::record::Topic;
use features::{tf_idf, Article};
use model::{Head, Label, Model};
use rows::{Buckets, Words};

const MODEL_BYTES: &[u8] = include_bytes!("../../../data/topics/model.bin");

/// A topic is reported from this calibrated probability on; below it for every topic,
/// the article gets none.
pub const MIN_PROBABILITY: f32 = 0.25;
/// A second-level topic is reported when it is this likely given its top-level topic.
pub const MIN_SUBTOPIC_PROBABILITY: f32 = 0.5;
/// At most this many top-level topics are reported.
const MAX_TOPICS: usize = 4;
/// Terms shown as a topic's evidence.
const EVIDENCE_TERMS: usize = 5;
/// A term is shown as evidence only if fewer than 1 in 20 training items have it
/// (inverse document frequency `ln 20 + 1`): "the" or "it is" may tip a score, but tell an
/// editor nothing.
const MIN_EVIDENCE_IDF: f32 = 4.0;

/// [`Model`] laid out for reading an article fast.
pub struct TopicModel {
    version: String,
    labels: Vec<Label>,
    heads: Vec<Head>,
    bits: u32,
    buckets: Buckets,
    words: Words,
    bias: Vec<f32>,
}

/// How many features or tokens ahead their rows are fetched: enough to cover a miss to
/// memory, few enough that the rows are still in the cache when read.
const PREFETCH_DISTANCE: usize = 16;

static GLOBAL: LazyLock<TopicModel> = LazyLock::new(|| {
    TopicModel::from_bytes(MODEL_BYTES).expect("the embedded topic model is readable")
});

/// An article's scores, before and after the softmax of each head.
pub struct Scored {
    article: Article,
    values: Vec<f32>,
    /// By label: the raw scores (the bias, the features, the words).
    pub scores: Vec<f32>,
    /// By label: each head's calibrated softmax.
    pub probabilities: Vec<f32>,
}

impl TopicModel {
    /// The model built into the binary, loaded once on first use.
    pub fn global() -> &'static TopicModel {
        &GLOBAL
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, model::ModelError> {
        let model = Model::from_bytes(bytes)?;
        let (heads, labels) = (model.heads.len(), model.labels.len());
        Ok(Self {
            buckets: Buckets::new(&model.idf, &model.bucket_weights, heads, labels),
            words: Words::new(&model.words, &model.word_scores, heads, labels),
            version: model.version,
            labels: model.labels,
            heads: model.heads,
            bits: model.bits,
            bias: model.bias,
        })
    }

    /// The model's version, recorded in every enriched article.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The labels, each head's one after another.
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// The softmaxes over the labels: the top-level topics, then the second-level ones.
    pub fn heads(&self) -> &[Head] {
        &self.heads
    }

    /// The top-level head's labels and probabilities, in label order.
    pub fn top_level(&self, scored: &Scored) -> Vec<(&str, f32)> {
        let head = self.heads[0];
        (head.first..head.first + head.count)
            .map(|label| {
                (
                    self.labels[label].qcode.as_str(),
                    scored.probabilities[label],
                )
            })
            .collect()
    }

    /// Every label's score and probability for an article.
    pub fn score(&self, title: &str, body: &str) -> Scored {
        let labels = self.labels.len();
        let article = Article::read(title, body, self.bits);
        // Reading the frequencies brings each feature's row into the cache for the sums.
        let mut ahead = article.features.iter().skip(PREFETCH_DISTANCE);
        let values = tf_idf(&article.features, |bucket| {
            if let Some(next) = ahead.next() {
                self.buckets.prefetch(next.bucket as usize);
            }
            self.buckets.idf(bucket)
        });
        let mut scores = vec![0f32; labels];
        for (feature, &value) in article.features.iter().zip(&values) {
            let weights = self.buckets.weights(feature.bucket as usize);
            weights.add_to(value, &self.heads, &mut scores);
        }
        let (words, total_weight) = self.word_sums(&article);
        for ((score, word), bias) in scores.iter_mut().zip(&words).zip(&self.bias) {
            *score += bias + word / total_weight.max(f32::EPSILON);
        }
        let mut probabilities = vec![0.0; labels];
        for head in &self.heads {
            softmax(head, &scores, &mut probabilities);
        }
        Scored {
            article,
            values,
            scores,
            probabilities,
        }
    }

    /// The mean of the words' embeddings, through the dense weights, before dividing: the
    /// words' scores summed with their weights, and the sum of the weights.
    fn word_sums(&self, article: &Article) -> (Vec<f32>, f32) {
        let mut sums = vec![0f32; self.labels.len()];
        let mut total_weight = 0.0;
        let mut ahead = article.weighted_tokens().skip(PREFETCH_DISTANCE);
        for (token, weight) in article.weighted_tokens() {
            if let Some((next, _)) = ahead.next() {
                self.words.prefetch(next.hash);
            }
            if let Some((word_weight, scores)) = self.words.get(token.hash) {
                let weight = weight * word_weight;
                total_weight += weight;
                scores.add_to(weight, &self.heads, &mut sums);
            }
        }
        (sums, total_weight)
    }

    /// The topics of an article, best first.
    pub fn classify(&self, title: &str, body: &str) -> Vec<Topic> {
        // Without a word the scores are the biases and the numbers' features: the
        // training data's mix of topics and its sports results, not anything the
        // article says.
        let has_word = |text: &str| text.chars().any(char::is_alphabetic);
        if !has_word(title) && !has_word(body) {
            return Vec::new();
        }
        let scored = self.score(title, body);
        let top = self.heads[0];
        let mut ranked: Vec<usize> = (top.first..top.first + top.count)
            .filter(|&label| scored.probabilities[label] >= MIN_PROBABILITY)
            .collect();
        ranked.sort_by(|&a, &b| {
            scored.probabilities[b]
                .total_cmp(&scored.probabilities[a])
                .then(a.cmp(&b))
        });
        ranked.truncate(MAX_TOPICS);
        let mut topics = Vec::new();
        for label in ranked {
            let probability = scored.probabilities[label];
            topics.push(self.topic(label, probability, &scored, title, body));
            if let Some((sub, given)) = self.best_subtopic(label, &scored) {
                if given >= MIN_SUBTOPIC_PROBABILITY {
                    topics.push(self.topic(sub, probability * given, &scored, title, body));
                }
            }
        }
        topics
    }

    /// The most likely second-level topic under `parent`, and its probability given the
    /// parent: the second-level head's probabilities of `parent`'s children, renormalised.
    fn best_subtopic(&self, parent: usize, scored: &Scored) -> Option<(usize, f32)> {
        let head = *self.heads.get(1)?;
        let children = (head.first..head.first + head.count)
            .filter(|&label| self.labels[label].parent == Some(parent));
        let total: f32 = children.clone().map(|l| scored.probabilities[l]).sum();
        let best = children.max_by(|&a, &b| {
            scored.probabilities[a]
                .total_cmp(&scored.probabilities[b])
                .then(b.cmp(&a))
        })?;
        (total > 0.0).then(|| (best, scored.probabilities[best] / total))
    }

    fn topic(
        &self,
        label: usize,
        probability: f32,
        scored: &Scored,
        title: &str,
        body: &str,
    ) -> Topic {
        let info = &self.labels[label];
        Topic {
            qcode: info.qcode.clone(),
            name: info.name.clone(),
            score: (f64::from(probability) * 1000.0).round() / 1000.0,
            parent: info.parent.map(|parent| self.labels[parent].qcode.clone()),
            evidence: self.evidence(label, scored, title, body),
        }
    }

    /// The terms whose features raised `label`'s score most above the other labels' of its
    /// head: what an editor reads to see why.
    fn evidence(&self, label: usize, scored: &Scored, title: &str, body: &str) -> Vec<String> {
        let head_index = self
            .heads
            .iter()
            .position(|h| (h.first..h.first + h.count).contains(&label))
            .expect("every label is in a head");
        let head = self.heads[head_index];
        let mut contributions: Vec<(f32, usize)> = scored
            .article
            .features
            .iter()
            .zip(&scored.values)
            .enumerate()
            .filter(|(_, (feature, _))| {
                self.buckets.idf(feature.bucket as usize) >= MIN_EVIDENCE_IDF
            })
            .map(|(index, (feature, &value))| {
                let weights = self.buckets.weights(feature.bucket as usize);
                let columns = head.first..head.first + head.count;
                let mean =
                    columns.map(|l| weights.weight(l, head_index)).sum::<f32>() / head.count as f32;
                (value * (weights.weight(label, head_index) - mean), index)
            })
            .filter(|(contribution, _)| *contribution > 0.0)
            .collect();
        contributions.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut terms: Vec<String> = Vec::with_capacity(EVIDENCE_TERMS);
        for (_, index) in contributions {
            let term = scored.article.features[index].term;
            let text = scored.article.term_text(term, title, body);
            if !terms.contains(&text) {
                terms.push(text);
            }
            if terms.len() == EVIDENCE_TERMS {
                break;
            }
        }
        terms
    }
}

/// The first `count` sentences of `text` (a sentence ends at `.`, `!` or `?` before a
/// space or the end): the title and the first two make the short form of an article that
/// the model is measured on, the shape of a wire brief.
pub fn first_sentences(text: &str, count: usize) -> &str {
    let bytes = text.as_bytes();
    let mut seen = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let next = bytes.get(at + 1);
        if matches!(byte, b'.' | b'!' | b'?') && next.is_none_or(u8::is_ascii_whitespace) {
            seen += 1;
            if seen == count {
                return &text[..=at];
            }
        }
    }
    text
}

/// `head`'s probabilities from its scores, divided by its temperature.
fn softmax(head: &Head, scores: &[f32], out: &mut [f32]) {
    let range = head.first..head.first + head.count;
    let max = scores[range.clone()]
        .iter()
        .fold(f32::NEG_INFINITY, |m, &s| m.max(s));
    let mut total = 0.0;
    for label in range.clone() {
        out[label] = ((scores[label] - max) / head.temperature).exp();
        total += out[label];
    }
    for label in range {
        out[label] /= total;
    }
}

#[cfg(test)]
mod tests;
