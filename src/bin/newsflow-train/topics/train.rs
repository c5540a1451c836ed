//! Training: a multinomial logistic regression over each item's TF-IDF word and word-pair
//! features and the mean of its words' embeddings, fitted by stochastic gradient descent
//! in a fixed order from a fixed seed, on one thread, so that the same inputs give the same
//! model byte for byte.

use newsflow::stage::classify::topics::features::{hash_normalised, tf_idf, Article};
use newsflow::stage::classify::topics::model::{Head, Label, ModelParts};
use rustc_hash::FxHashMap;

use super::corpus::{Embeddings, Item, Taxonomy};

/// What the training may vary; `newsflow-train topics --help` lists the defaults.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Settings {
    /// Hash table rows: 2^bits
    #[arg(long, default_value_t = 18)]
    pub bits: u32,
    /// Passes over the training items
    #[arg(long, default_value_t = 12)]
    pub epochs: usize,
    /// The learning rate at the start
    #[arg(long, default_value_t = 0.5)]
    pub learning_rate: f32,
    /// L2 penalty
    #[arg(long, default_value_t = 1e-5)]
    pub l2: f32,
    /// Multiplies the mean embedding (its weight against the word features)
    #[arg(long, default_value_t = 1.0)]
    pub dense_scale: f32,
    /// Rare topics' items count (largest topic / topic)^balance times more
    #[arg(long, default_value_t = 0.5)]
    pub balance: f32,
    /// How much more a BBC development article counts than an open-corpus item (they are
    /// 1 in 80 of the items, and the only long articles)
    #[arg(long, default_value_t = 150.0)]
    pub bbc_weight: f32,
    /// Smoothing of the embedding words' weights a / (a + frequency)
    #[arg(long, default_value_t = 1e-3)]
    pub sif: f32,
    /// Seed of the item order
    #[arg(long, default_value_t = 16)]
    pub seed: u64,
}

/// The embedding words, looked up by token hash.
pub struct Vocabulary<'e> {
    pub embeddings: &'e Embeddings,
    hashes: Vec<u64>,
    index: FxHashMap<u64, usize>,
}

impl<'e> Vocabulary<'e> {
    pub fn new(embeddings: &'e Embeddings) -> Self {
        let hashes: Vec<u64> = embeddings
            .words
            .iter()
            .map(|w| hash_normalised(w))
            .collect();
        let index = hashes.iter().enumerate().map(|(i, &h)| (h, i)).collect();
        Self {
            embeddings,
            hashes,
            index,
        }
    }
}

/// An item's features as the optimiser sees them.
struct Encoded {
    sparse: Vec<(u32, f32)>,
    dense: Vec<f32>,
}

/// What an item should score in one head: its label there, and how much it counts.
struct Target {
    item: usize,
    label: usize,
    weight: f32,
}

/// A second-level topic gets its own label when the training items have this many of it;
/// fewer teach the head nothing it could be trusted with.
const MIN_SUBTOPIC_ITEMS: usize = 100;

/// Trains on `items` and returns the model (with temperature 1: see
/// [`with_temperature`]).
pub fn train(
    items: &[&Item],
    vocabulary: &Vocabulary,
    taxonomy: &Taxonomy,
    settings: &Settings,
    version: &str,
) -> ModelParts {
    let buckets = 1usize << settings.bits;
    let dims = vocabulary.embeddings.dimensions;
    let articles: Vec<Article> = items
        .iter()
        .map(|item| Article::read(&item.title, &item.text, settings.bits))
        .collect();

    // Inverse document frequency by bucket, smoothed as scikit-learn does.
    let mut document_frequency = vec![0u32; buckets];
    for article in &articles {
        for feature in &article.features {
            document_frequency[feature.bucket as usize] += 1;
        }
    }
    let n = articles.len() as f32;
    let idf: Vec<f32> = document_frequency
        .iter()
        .map(|&df| ((1.0 + n) / (1.0 + df as f32)).ln() + 1.0)
        .collect();

    // Frequent words count less in the mean embedding (a / (a + frequency)).
    let mut word_counts = vec![0f64; vocabulary.hashes.len()];
    let mut total = 0f64;
    for article in &articles {
        for (token, _) in article.weighted_tokens() {
            total += 1.0;
            if let Some(&word) = vocabulary.index.get(&token.hash) {
                word_counts[word] += 1.0;
            }
        }
    }
    let a = f64::from(settings.sif);
    let word_weights: Vec<f32> = word_counts
        .iter()
        .map(|&count| (a / (a + count / total.max(1.0))) as f32)
        .collect();

    let means: Vec<Option<Vec<f32>>> = articles
        .iter()
        .map(|article| mean_embedding(article, vocabulary, &word_weights))
        .collect();
    let mut center = vec![0f32; dims];
    let with_words = means.iter().flatten().count().max(1) as f32;
    for mean in means.iter().flatten() {
        center
            .iter_mut()
            .zip(mean)
            .for_each(|(c, m)| *c += m / with_words);
    }

    let encoded: Vec<Encoded> = articles
        .iter()
        .zip(means)
        .map(|(article, mean)| {
            let values = tf_idf(&article.features, |bucket| idf[bucket]);
            let dense = match mean {
                Some(mean) => mean
                    .iter()
                    .zip(&center)
                    .map(|(m, c)| (m - c) * settings.dense_scale)
                    .collect(),
                None => vec![0.0; dims],
            };
            Encoded {
                sparse: article
                    .features
                    .iter()
                    .zip(values)
                    .map(|(f, v)| (f.bucket, v))
                    .collect(),
                dense,
            }
        })
        .collect();

    let top_count = taxonomy.top.len();
    let top = targets(items, top_count, settings, |item| Some(item.top));
    let mut counts = vec![0usize; taxonomy.second.len()];
    items
        .iter()
        .filter_map(|item| item.second)
        .for_each(|s| counts[s] += 1);
    let subtopics: Vec<usize> = (0..counts.len())
        .filter(|&s| counts[s] >= MIN_SUBTOPIC_ITEMS)
        .collect();
    let second = targets(items, subtopics.len(), settings, |item| {
        subtopics.iter().position(|&s| Some(s) == item.second)
    });
    let mut weights = fit(&encoded, &top, buckets, dims, top_count, settings);
    let mut heads = vec![Head {
        first: 0,
        count: top_count,
        temperature: 1.0,
    }];
    if !subtopics.is_empty() {
        let second_weights = fit(&encoded, &second, buckets, dims, subtopics.len(), settings);
        weights = weights.beside(&second_weights, top_count, subtopics.len());
        heads.push(Head {
            first: top_count,
            count: subtopics.len(),
            temperature: 1.0,
        });
    }
    let labels = top_count + subtopics.len();

    // The dense weights folded into each word's scores: the classifier then needs no
    // embeddings, only a score per word and topic.
    let mut word_scores = vec![0f32; vocabulary.hashes.len() * labels];
    for (word, scores) in word_scores.chunks_mut(labels).enumerate() {
        let vector = vocabulary.embeddings.vector(word);
        for (d, (&value, &c)) in vector.iter().zip(&center).enumerate() {
            let centred = (value - c) * settings.dense_scale;
            for (score, &weight) in scores
                .iter_mut()
                .zip(&weights.dense[d * labels..(d + 1) * labels])
            {
                *score += centred * weight;
            }
        }
    }
    ModelParts {
        version: version.to_owned(),
        labels: taxonomy
            .top
            .iter()
            .map(|(qcode, name)| Label {
                qcode: qcode.clone(),
                name: name.clone(),
                parent: None,
            })
            .chain(subtopics.iter().map(|&s| {
                let (qcode, name, parent) = &taxonomy.second[s];
                Label {
                    qcode: qcode.clone(),
                    name: name.clone(),
                    parent: Some(*parent),
                }
            }))
            .collect(),
        heads,
        bits: settings.bits,
        idf,
        bucket_weights: weights.sparse,
        words: vocabulary
            .hashes
            .iter()
            .zip(&word_weights)
            .map(|(&h, &w)| (h, w))
            .collect(),
        word_scores,
        bias: weights.bias,
    }
}

/// `model` with its first head's softmax temperature set.
pub fn with_temperature(mut model: ModelParts, temperature: f32) -> ModelParts {
    model.heads[0].temperature = temperature;
    model
}

/// The weighted mean of an article's word embeddings, as the classifier weighs words
/// (title words [`TITLE_WEIGHT`] times), or none without a known word.
///
/// [`TITLE_WEIGHT`]: newsflow::stage::classify::topics::features::TITLE_WEIGHT
fn mean_embedding(
    article: &Article,
    vocabulary: &Vocabulary,
    word_weights: &[f32],
) -> Option<Vec<f32>> {
    let dims = vocabulary.embeddings.dimensions;
    let mut sum = vec![0f32; dims];
    let mut total = 0.0;
    for (token, weight) in article.weighted_tokens() {
        if let Some(&word) = vocabulary.index.get(&token.hash) {
            let weight = weight * word_weights[word];
            total += weight;
            let vector = vocabulary.embeddings.vector(word);
            sum.iter_mut()
                .zip(vector)
                .for_each(|(s, v)| *s += weight * v);
        }
    }
    (total > 0.0).then(|| sum.into_iter().map(|s| s / total).collect())
}

/// The targets of the items that have a label in a head of `labels` labels. An item
/// counts (largest label / its label)^balance times, so that rare topics are not drowned.
fn targets(
    items: &[&Item],
    labels: usize,
    settings: &Settings,
    label_of: impl Fn(&Item) -> Option<usize>,
) -> Vec<Target> {
    let mut per_label = vec![0f32; labels];
    let labelled: Vec<(usize, usize)> = items
        .iter()
        .enumerate()
        .filter_map(|(index, item)| label_of(item).map(|label| (index, label)))
        .collect();
    labelled
        .iter()
        .for_each(|&(_, label)| per_label[label] += 1.0);
    let largest = per_label.iter().copied().fold(0.0, f32::max);
    labelled
        .into_iter()
        .map(|(item, label)| {
            let corpus_weight = if items[item].corpus == "bbc" {
                settings.bbc_weight
            } else {
                1.0
            };
            Target {
                item,
                label,
                weight: corpus_weight * (largest / per_label[label]).powf(settings.balance),
            }
        })
        .collect()
}

/// The weights of a head: `row * labels + label` for the buckets and the embedding's
/// dimensions, and a bias per label.
struct Weights {
    sparse: Vec<f32>,
    dense: Vec<f32>,
    bias: Vec<f32>,
}

impl Weights {
    /// One table of two heads' weights, `self`'s labels first in each row.
    fn beside(&self, other: &Weights, labels: usize, other_labels: usize) -> Weights {
        let join = |a: &[f32], b: &[f32]| -> Vec<f32> {
            a.chunks(labels)
                .zip(b.chunks(other_labels))
                .flat_map(|(a, b)| a.iter().chain(b).copied())
                .collect()
        };
        Weights {
            sparse: join(&self.sparse, &other.sparse),
            dense: join(&self.dense, &other.dense),
            bias: self.bias.iter().chain(&other.bias).copied().collect(),
        }
    }
}

/// Stochastic gradient descent on the softmax cross-entropy with an L2 penalty, item by
/// item in a seeded shuffled order, at the rate `rate / (1 + rate * l2 * t)` (Bottou's
/// schedule). A rare word moves its weights as little as any other word per occurrence:
/// a per-weight adaptive rate (AdaGrad) gave each name in one headline a full step, and
/// long articles, full of such names, went to the largest topic.
fn fit(
    items: &[Encoded],
    targets: &[Target],
    buckets: usize,
    dims: usize,
    labels: usize,
    settings: &Settings,
) -> Weights {
    let mut weights = Weights {
        sparse: vec![0.0; buckets * labels],
        dense: vec![0.0; dims * labels],
        bias: vec![0.0; labels],
    };
    // The sparse weights are stored divided by `scale`, so that the penalty's decay of
    // every weight is one multiplication.
    let mut scale = 1.0f64;
    let (rate, l2) = (f64::from(settings.learning_rate), f64::from(settings.l2));
    let mut order: Vec<usize> = (0..targets.len()).collect();
    let mut random = settings.seed.max(1);
    let mut scores = vec![0f32; labels];
    let mut t = 0f64;
    for _ in 0..settings.epochs {
        shuffle(&mut order, &mut random);
        for &index in &order {
            let target = &targets[index];
            let item = &items[target.item];
            let eta = rate / (1.0 + rate * l2 * t);
            t += 1.0;
            scores.copy_from_slice(&weights.bias);
            for &(bucket, value) in &item.sparse {
                let row = &weights.sparse[bucket as usize * labels..(bucket as usize + 1) * labels];
                let value = value * scale as f32;
                scores
                    .iter_mut()
                    .zip(row)
                    .for_each(|(s, w)| *s += value * w);
            }
            for (d, &value) in item.dense.iter().enumerate() {
                let row = &weights.dense[d * labels..(d + 1) * labels];
                scores
                    .iter_mut()
                    .zip(row)
                    .for_each(|(s, w)| *s += value * w);
            }
            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let total: f32 = scores
                .iter_mut()
                .map(|s| {
                    *s = (*s - max).exp();
                    *s
                })
                .sum();
            // The gradient of the loss by each label's score, times the rate.
            for (label, s) in scores.iter_mut().enumerate() {
                let gradient =
                    target.weight * (*s / total - f32::from(u8::from(label == target.label)));
                *s = gradient * eta as f32;
            }
            scale *= 1.0 - eta * l2;
            let decay = (1.0 - eta * l2) as f32;
            for &(bucket, value) in &item.sparse {
                let row =
                    &mut weights.sparse[bucket as usize * labels..(bucket as usize + 1) * labels];
                let value = value / scale as f32;
                row.iter_mut()
                    .zip(&scores)
                    .for_each(|(w, g)| *w -= g * value);
            }
            for (d, &value) in item.dense.iter().enumerate() {
                let row = &mut weights.dense[d * labels..(d + 1) * labels];
                row.iter_mut()
                    .zip(&scores)
                    .for_each(|(w, g)| *w = *w * decay - g * value);
            }
            weights
                .bias
                .iter_mut()
                .zip(&scores)
                .for_each(|(b, g)| *b -= g);
            if scale < 1e-6 {
                weights.sparse.iter_mut().for_each(|w| *w *= scale as f32);
                scale = 1.0;
            }
        }
    }
    weights.sparse.iter_mut().for_each(|w| *w *= scale as f32);
    weights
}

/// Fisher-Yates with xorshift64*: the same order from the same seed on every machine.
fn shuffle(order: &mut [usize], state: &mut u64) {
    for i in (1..order.len()).rev() {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        let random = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        order.swap(i, (random % (i as u64 + 1)) as usize);
    }
}
