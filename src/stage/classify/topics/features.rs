//! What the topic model reads of an article: its normalised tokens, hashed into word and
//! word-pair features, and the tokens found in the word-embedding vocabulary.
//!
//! A token is a run of letters and digits, lower-cased, with every digit written `0`
//! ("2004" and "1987" are one feature, so no year of one corpus counts). The rules are
//! Unicode's, not English's: a model for another language is trained on that language's
//! text with the same code.

use std::ops::Range;

use crate::hash::{fnv, fnv1a, mix, FNV_OFFSET};

/// A token: the hash of its normalised form and where it is in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub hash: u64,
    pub span: Range<usize>,
}

/// How much more a title token counts than a body token: the title says what the
/// article is about in few words.
pub const TITLE_WEIGHT: f32 = 2.0;

/// Which part of the article a token is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Title,
    Body,
}

/// Where a feature first occurs, for showing it as evidence: its first token and whether
/// it is that token alone or with the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    pub part: Part,
    pub token: u32,
    pub pair: bool,
}

/// A hashed feature of an article: its table row, its weighted count, and where it
/// first occurs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feature {
    pub bucket: u32,
    pub count: f32,
    pub term: Term,
}

/// What the model reads of an article.
#[derive(Debug, Default)]
pub struct Article {
    pub title: Vec<Token>,
    pub body: Vec<Token>,
    /// Words and word pairs by bucket (ascending), counted ([`TITLE_WEIGHT`] for the
    /// title's).
    pub features: Vec<Feature>,
}

impl Article {
    pub fn read(title: &str, body: &str, bits: u32) -> Self {
        let mut article = Self::default();
        tokenize(title, &mut article.title);
        tokenize(body, &mut article.body);
        let mut features = Vec::with_capacity(2 * (article.title.len() + article.body.len()));
        for (part, tokens, weight) in [
            (Part::Title, &article.title, TITLE_WEIGHT),
            (Part::Body, &article.body, 1.0),
        ] {
            for (index, token) in tokens.iter().enumerate() {
                let term = |pair| Term {
                    part,
                    token: index as u32,
                    pair,
                };
                features.push(Feature {
                    bucket: bucket(token.hash, bits) as u32,
                    count: weight,
                    term: term(false),
                });
                if let Some(next) = tokens.get(index + 1) {
                    features.push(Feature {
                        bucket: bucket(pair_hash(token.hash, next.hash), bits) as u32,
                        count: weight,
                        term: term(true),
                    });
                }
            }
        }
        // One entry per bucket, at its first occurrence: features were pushed in the order
        // of their terms, which a stable sort keeps within a bucket.
        sort_by_bucket(&mut features, bits);
        features.dedup_by(|later, first| {
            let same = later.bucket == first.bucket;
            if same {
                first.count += later.count;
            }
            same
        });
        article.features = features;
        article
    }

    /// Every token with its weight in the mean of word embeddings.
    pub fn weighted_tokens(&self) -> impl Iterator<Item = (&Token, f32)> {
        let title = self.title.iter().map(|t| (t, TITLE_WEIGHT));
        title.chain(self.body.iter().map(|t| (t, 1.0)))
    }

    /// The words of a term as normalised text ("interest rates").
    pub fn term_text(&self, term: Term, title: &str, body: &str) -> String {
        let (tokens, text) = match term.part {
            Part::Title => (&self.title, title),
            Part::Body => (&self.body, body),
        };
        let first = term.token as usize;
        let last = if term.pair { first + 1 } else { first };
        tokens[first..=last]
            .iter()
            .map(|t| normalise(&text[t.span.clone()]))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Sorts `features` by bucket, stably: a radix sort in two passes over the buckets' `bits`
/// bits, linear in an article's thousands of features where a comparison sort spent
/// n log n.
fn sort_by_bucket(features: &mut [Feature], bits: u32) {
    let digit = bits.div_ceil(2);
    let mask = (1 << digit) - 1;
    let mut counts = vec![0usize; 1 << digit];
    let mut scratch = features.to_vec();
    for pass in 0..2 {
        let (from, to) = if pass == 0 {
            (&features[..], &mut scratch[..])
        } else {
            (&scratch[..], &mut features[..])
        };
        let shift = pass * digit;
        let slot = |f: &Feature| (f.bucket >> shift & mask) as usize;
        counts.fill(0);
        for feature in from {
            counts[slot(feature)] += 1;
        }
        let mut next = 0;
        for count in &mut counts {
            (*count, next) = (next, next + *count);
        }
        for feature in from {
            let at = &mut counts[slot(feature)];
            to[*at] = *feature;
            *at += 1;
        }
    }
}

/// The TF-IDF values of an article's features (`1 + ln count` times the bucket's inverse
/// document frequency), scaled to unit length, in the order of `features`.
/// `idf` gives a bucket's, and is asked in the order of `features`.
pub fn tf_idf(features: &[Feature], mut idf: impl FnMut(usize) -> f32) -> Vec<f32> {
    let mut values: Vec<f32> = features
        .iter()
        .map(|f| (1.0 + f.count.ln()) * idf(f.bucket as usize))
        .collect();
    let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        values.iter_mut().for_each(|v| *v /= norm);
    }
    values
}

/// The tokens of `text` in order, appended to `out`.
pub fn tokenize(text: &str, out: &mut Vec<Token>) {
    let mut start = None;
    let mut hash = FNV_OFFSET;
    for (at, c) in text.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(at);
            hash = hash_char(hash, c);
        } else if let Some(begin) = start.take() {
            out.push(Token {
                hash,
                span: begin..at,
            });
            hash = FNV_OFFSET;
        }
    }
    if let Some(begin) = start {
        out.push(Token {
            hash,
            span: begin..text.len(),
        });
    }
}

/// A token's normalised form, as [`tokenize`] hashes it (for evidence and the trainer's
/// vocabulary).
pub fn normalise(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    for c in token.chars() {
        for lower in normalised_chars(c) {
            out.push(lower);
        }
    }
    out
}

/// The hash of a normalised token as written ([`normalise`]d already).
pub fn hash_normalised(token: &str) -> u64 {
    hash_bytes(token.as_bytes())
}

/// FNV-1a of `bytes`, as tokens are hashed.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    fnv1a(bytes)
}

/// The feature of a word pair: order matters ("bank rate" is not "rate bank").
pub fn pair_hash(first: u64, second: u64) -> u64 {
    mix(first.wrapping_mul(PAIR_FACTOR) ^ second)
}

/// The table row of a feature hash in a table of `1 << bits` rows.
pub fn bucket(hash: u64, bits: u32) -> usize {
    (mix(hash) >> (64 - bits)) as usize
}

const PAIR_FACTOR: u64 = 0x9e37_79b9_7f4a_7c15;

fn normalised_chars(c: char) -> impl Iterator<Item = char> {
    c.to_lowercase()
        .map(|lower| if lower.is_numeric() { '0' } else { lower })
}

/// FNV-1a over the UTF-8 bytes of `c` normalised.
fn hash_char(mut hash: u64, c: char) -> u64 {
    if c.is_ascii() {
        let byte = if c.is_ascii_digit() {
            b'0'
        } else {
            c.to_ascii_lowercase() as u8
        };
        return fnv(hash, byte);
    }
    let mut buffer = [0u8; 4];
    for lower in normalised_chars(c) {
        for &byte in lower.encode_utf8(&mut buffer).as_bytes() {
            hash = fnv(hash, byte);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&str> {
        let mut tokens = Vec::new();
        tokenize(text, &mut tokens);
        tokens.iter().map(|t| &text[t.span.clone()]).collect()
    }

    #[test]
    fn tokens_are_runs_of_letters_and_digits() {
        assert_eq!(
            words("Xi’s “SCO” summit, 2024: café-owners"),
            ["Xi", "s", "SCO", "summit", "2024", "café", "owners"]
        );
        assert!(words(" ,;— ").is_empty());
    }

    #[test]
    fn hashes_are_of_the_normalised_token() {
        let mut tokens = Vec::new();
        tokenize("Élection 2004 ÉLECTION 1987", &mut tokens);
        assert_eq!(tokens[0].hash, tokens[2].hash, "case folded");
        assert_eq!(tokens[1].hash, tokens[3].hash, "digits folded");
        assert_eq!(normalise("Élection"), "élection");
        assert_eq!(normalise("2004"), "0000");
        assert_eq!(tokens[0].hash, hash_normalised("élection"));
        assert_eq!(tokens[1].hash, hash_normalised("0000"));
    }

    #[test]
    fn features_count_title_words_more_and_keep_their_first_place() {
        let article = Article::read("Rates rise", "Bank rates rise again. Rates!", 20);
        let rates = bucket(hash_normalised("rates"), 20) as u32;
        let feature = article.features.iter().find(|f| f.bucket == rates).unwrap();
        assert_eq!(feature.count, TITLE_WEIGHT + 2.0);
        assert_eq!(article.term_text(feature.term, "Rates rise", ""), "rates");
        let pair = bucket(
            pair_hash(hash_normalised("bank"), hash_normalised("rates")),
            20,
        );
        let feature = article
            .features
            .iter()
            .find(|f| f.bucket == pair as u32)
            .unwrap();
        assert_eq!(
            article.term_text(feature.term, "", "Bank rates rise again. Rates!"),
            "bank rates"
        );
        assert!(article
            .features
            .windows(2)
            .all(|w| w[0].bucket < w[1].bucket));
        let values = tf_idf(&article.features, |_| 1.0);
        let norm: f32 = values.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-5);
    }

    #[test]
    fn buckets_sort_stably() {
        let buckets = [0x3_ffff, 5, 0x200, 5, 0, 0x3_ffff, 0x201, 5];
        let mut features: Vec<Feature> = buckets
            .iter()
            .enumerate()
            .map(|(token, &bucket)| Feature {
                bucket,
                count: 1.0,
                term: Term {
                    part: Part::Body,
                    token: token as u32,
                    pair: false,
                },
            })
            .collect();
        let mut expected = features.clone();
        expected.sort_by_key(|f| f.bucket);
        sort_by_bucket(&mut features, 18);
        assert_eq!(features, expected);
    }

    #[test]
    fn pairs_keep_their_order_and_buckets_their_range() {
        let (a, b) = (hash_normalised("bank"), hash_normalised("rate"));
        assert_ne!(pair_hash(a, b), pair_hash(b, a));
        for bits in [8, 18, 20] {
            assert!(bucket(a, bits) < 1 << bits);
        }
    }
}
