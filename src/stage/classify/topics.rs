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
    /// The model built into the binary.
    pub fn load() -> Self {
        Self::from_bytes(MODEL_BYTES).expect("the embedded topic model is readable")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, model::ModelError> {
        let model = Model::from_bytes(bytes)?;
        let (heads, labels) = (model.heads.len(), model.labels.len());
        Ok(Self {
            buckets: Buckets::new(&model.idf, &model.bucket_weights, &model.heads, labels),
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
        let mut evidence = Evidence {
            scored: &scored,
            title,
            body,
            candidates: (0..self.heads.len()).map(|_| None).collect(),
        };
        for label in ranked {
            let probability = scored.probabilities[label];
            topics.push(self.topic(label, probability, &mut evidence));
            if let Some((sub, given)) = self.best_subtopic(label, &scored) {
                if given >= MIN_SUBTOPIC_PROBABILITY {
                    topics.push(self.topic(sub, probability * given, &mut evidence));
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

    fn topic(&self, label: usize, probability: f32, evidence: &mut Evidence) -> Topic {
        let info = &self.labels[label];
        Topic {
            qcode: info.qcode.clone(),
            name: info.name.clone(),
            score: (f64::from(probability) * 1000.0).round() / 1000.0,
            parent: info.parent.map(|parent| self.labels[parent].qcode.clone()),
            evidence: self.evidence(label, evidence),
        }
    }

    /// The terms whose features raised `label`'s score most above the other labels' of its
    /// head: what an editor reads to see why.
    fn evidence(&self, label: usize, evidence: &mut Evidence) -> Vec<String> {
        let head = self
            .heads
            .iter()
            .position(|h| (h.first..h.first + h.count).contains(&label))
            .expect("every label is in a head");
        let article = &evidence.scored.article;
        let candidates =
            evidence.candidates[head].get_or_insert_with(|| self.candidates(head, evidence.scored));
        let mut contributions = candidates.contributions(label - self.heads[head].first);
        // Largest first; indices are unique, so the order is total and needs no stable sort.
        let order = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        let mut terms: Vec<String> = Vec::with_capacity(EVIDENCE_TERMS);
        let mut rest = &mut contributions[..];
        // Few terms are shown of many features: each round picks and sorts only the next
        // few in order.
        while terms.len() < EVIDENCE_TERMS && !rest.is_empty() {
            let round = EVIDENCE_TERMS.min(rest.len());
            if round < rest.len() {
                rest.select_nth_unstable_by(round - 1, order);
            }
            let (next, later) = rest.split_at_mut(round);
            next.sort_unstable_by(order);
            for &(_, index) in &*next {
                if terms.len() == EVIDENCE_TERMS {
                    break;
                }
                let term = article.features[index].term;
                let text = article.term_text(term, evidence.title, evidence.body);
                if !terms.contains(&text) {
                    terms.push(text);
                }
            }
            rest = later;
        }
        terms
    }

    /// The features that may be evidence for head `head`'s labels, with their weights over
    /// the head and the mean of those.
    fn candidates(&self, head: usize, scored: &Scored) -> Candidates {
        let mut candidates = Candidates {
            labels: self.heads[head].count,
            features: Vec::new(),
            weights: Vec::new(),
        };
        let features = scored.article.features.iter().zip(&scored.values);
        for (index, (feature, &value)) in features.enumerate() {
            let bucket = feature.bucket as usize;
            if self.buckets.idf(bucket) < MIN_EVIDENCE_IDF {
                continue;
            }
            let weights = self.buckets.weights(bucket);
            candidates.features.push(Candidate {
                index,
                value,
                mean: self.buckets.mean(bucket, head),
                scale: weights.scale(head),
            });
            let multiples = weights.multiples(&self.heads[head]);
            candidates.weights.extend_from_slice(multiples);
        }
        candidates
    }
}

/// The features that may be evidence for one head's labels. Their weights are copied
/// side by side, as each of the article's topics reads them all.
struct Candidates {
    /// The head's label count: a candidate's stride in `weights`.
    labels: usize,
    features: Vec<Candidate>,
    /// Each candidate's [`rows::Weights::multiples`].
    weights: Vec<u8>,
}

impl Candidates {
    /// By how much each candidate raises the head's label at `offset` above the head's
    /// mean, with the candidate's index in the article's features; only those that do.
    fn contributions(&self, offset: usize) -> Vec<(f32, usize)> {
        let weights = self.weights.chunks_exact(self.labels);
        let mut raising = vec![(0.0, 0); self.features.len()];
        let mut count = 0;
        // Without a branch: about half the candidates raise a label, in no order a branch
        // predictor could learn.
        for (candidate, row) in self.features.iter().zip(weights) {
            let weight = f32::from(row[offset] as i8) * candidate.scale;
            let contribution = candidate.value * (weight - candidate.mean);
            raising[count] = (contribution, candidate.index);
            count += usize::from(contribution > 0.0);
        }
        raising.truncate(count);
        raising
    }
}

/// What the evidence of an article's topics is drawn from, with what the topics of one
/// head share worked out once.
struct Evidence<'a> {
    scored: &'a Scored,
    title: &'a str,
    body: &'a str,
    /// By head, once asked for.
    candidates: Vec<Option<Candidates>>,
}

/// A feature that may be shown as evidence.
struct Candidate {
    /// In the article's features.
    index: usize,
    value: f32,
    /// Of the feature's weights over the head's labels.
    mean: f32,
    /// Of the feature's weights in the head.
    scale: f32,
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
