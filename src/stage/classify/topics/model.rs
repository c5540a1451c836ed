//! The topic model's file (`data/topics/model.bin`, written by `newsflow-train topics`):
//! a linear classifier over hashed word and word-pair features and word embeddings.
//!
//! Layout, little-endian: the magic `NFTOPIC1`; the version (a string); the labels (count,
//! then qcode, name and parent index or `u32::MAX` for each: the heads' labels one after
//! another); the heads (count, then first label, label count and softmax temperature
//! each); the hash bits; the inverse document frequency of each bucket (`f32`); the
//! weights of each bucket for every label; the embedding
//! vocabulary (count, then each word's token hash and weight); the words' scores for
//! every label (the word's embedding already multiplied by the dense weights); the biases
//! (`f32`). Strings are a `u32` length and UTF-8 bytes. A table of weights is stored row
//! by row, each row as one `f32` scale per head and then its weights as `i8` multiples of
//! their head's scale: one scale per row keeps the many small weights that a long article
//! adds up, which a scale for the whole table would round to zero.

use thiserror::Error;

pub const MAGIC: &[u8; 8] = b"NFTOPIC1";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("not a topic model file (no NFTOPIC1 magic)")]
    Magic,
    #[error("topic model file ends early, reading {0}")]
    Truncated(&'static str),
    #[error("topic model file is inconsistent: {0}")]
    Inconsistent(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// IPTC Media Topic qcode, e.g. "medtop:11000000".
    pub qcode: String,
    pub name: String,
    /// Index of the parent label (a second-level topic's top-level topic).
    pub parent: Option<usize>,
}

/// A softmax over some of the labels: the top-level topics, or the second-level ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Head {
    pub first: usize,
    pub count: usize,
    /// Divides the scores before the softmax (fitted on held-out data, so that a
    /// probability of 0.8 is right about 80% of the time).
    pub temperature: f32,
}

/// Everything in the file, as the trainer produces it and the classifier reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelParts {
    pub version: String,
    pub labels: Vec<Label>,
    pub heads: Vec<Head>,
    pub bits: u32,
    /// By bucket.
    pub idf: Vec<f32>,
    /// `bucket * labels + label`.
    pub bucket_weights: Vec<f32>,
    /// The token hash of each embedding word, and how much it counts in the mean.
    pub words: Vec<(u64, f32)>,
    /// `word * labels + label`.
    pub word_scores: Vec<f32>,
    pub bias: Vec<f32>,
}

/// A table of `i8` weights, `row * labels + label`, with a scale per row and head.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// `row * heads + head`.
    pub scales: Vec<f32>,
    pub values: Vec<i8>,
}

/// The file as read: [`ModelParts`] with the weights still quantised (the classifier lays
/// them out anew, in [`super::rows`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub version: String,
    pub labels: Vec<Label>,
    pub heads: Vec<Head>,
    pub bits: u32,
    pub idf: Vec<f32>,
    pub bucket_weights: Table,
    pub words: Vec<(u64, f32)>,
    pub word_scores: Table,
    pub bias: Vec<f32>,
}

impl ModelParts {
    /// The file's bytes. Weights are quantised to `i8` with a scale per row and head.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Writer(Vec::new());
        out.0.extend_from_slice(MAGIC);
        out.string(&self.version);
        out.u32(self.labels.len());
        for label in &self.labels {
            out.string(&label.qcode);
            out.string(&label.name);
            out.u32(label.parent.unwrap_or(u32::MAX as usize));
        }
        out.u32(self.heads.len());
        for head in &self.heads {
            out.u32(head.first);
            out.u32(head.count);
            out.f32(head.temperature);
        }
        out.u32(self.bits as usize);
        self.idf.iter().for_each(|&v| out.f32(v));
        out.quantised(&self.bucket_weights, self.labels.len(), &self.heads);
        out.u32(self.words.len());
        for &(hash, weight) in &self.words {
            out.0.extend_from_slice(&hash.to_le_bytes());
            out.f32(weight);
        }
        out.quantised(&self.word_scores, self.labels.len(), &self.heads);
        self.bias.iter().for_each(|&v| out.f32(v));
        out.0
    }
}

impl Model {
    /// Reads [`ModelParts::to_bytes`]'s output.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let mut input = Reader(bytes);
        if input.take(MAGIC.len(), "magic")? != MAGIC {
            return Err(ModelError::Magic);
        }
        let version = input.string("version")?;
        let label_count = input.u32("labels")?;
        let mut labels = Vec::with_capacity(label_count.min(4096));
        for _ in 0..label_count {
            let qcode = input.string("label")?;
            let name = input.string("label")?;
            let parent = input.u32("label")?;
            labels.push(Label {
                qcode,
                name,
                parent: (parent != u32::MAX as usize).then_some(parent),
            });
        }
        if labels
            .iter()
            .any(|l| l.parent.is_some_and(|p| p >= labels.len()))
        {
            return Err(ModelError::Inconsistent("a parent label out of range"));
        }
        let head_count = input.u32("heads")?;
        let mut heads = Vec::new();
        for _ in 0..head_count.min(16) {
            heads.push(Head {
                first: input.u32("head")?,
                count: input.u32("head")?,
                temperature: input.f32("head")?,
            });
        }
        if heads.len() != head_count
            || heads
                .iter()
                .any(|h| h.count == 0 || h.first + h.count > labels.len())
        {
            return Err(ModelError::Inconsistent("heads outside the labels"));
        }
        let bits = input.u32("bits")? as u32;
        if !(1..=24).contains(&bits) {
            return Err(ModelError::Inconsistent("hash bits out of range"));
        }
        let buckets = 1usize << bits;
        let idf = input.f32s(buckets, "idf")?;
        let bucket_weights = input.quantised(buckets, labels.len(), &heads, "bucket weights")?;
        let word_count = input.u32("words")?;
        let mut words = Vec::with_capacity(word_count.min(1 << 20));
        for _ in 0..word_count {
            let hash = u64::from_le_bytes(input.take(8, "words")?.try_into().expect("8 bytes"));
            words.push((hash, input.f32("words")?));
        }
        let word_scores = input.quantised(word_count, labels.len(), &heads, "word scores")?;
        let bias = input.f32s(labels.len(), "bias")?;
        if !input.0.is_empty() {
            return Err(ModelError::Inconsistent("bytes after the biases"));
        }
        Ok(Self {
            version,
            labels,
            heads,
            bits,
            idf,
            bucket_weights,
            words,
            word_scores,
            bias,
        })
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn u32(&mut self, value: usize) {
        let value = u32::try_from(value).expect("model sizes fit in u32");
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    fn f32(&mut self, value: f32) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    fn string(&mut self, value: &str) {
        self.u32(value.len());
        self.0.extend_from_slice(value.as_bytes());
    }

    /// `rows * labels` values, row by row: each head's scale (`f32`, the largest
    /// magnitude over 127), then the row's weights as `i8`.
    fn quantised(&mut self, values: &[f32], labels: usize, heads: &[Head]) {
        for row in values.chunks(labels) {
            let scales: Vec<f32> = heads
                .iter()
                .map(|head| {
                    let columns = &row[head.first..head.first + head.count];
                    let largest = columns.iter().fold(0.0f32, |max, v| max.max(v.abs()));
                    if largest > 0.0 {
                        largest / 127.0
                    } else {
                        1.0
                    }
                })
                .collect();
            scales.iter().for_each(|&s| self.f32(s));
            for (head, scale) in heads.iter().zip(&scales) {
                for &value in &row[head.first..head.first + head.count] {
                    self.0
                        .push((value / scale).round().clamp(-127.0, 127.0) as i8 as u8);
                }
            }
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, count: usize, what: &'static str) -> Result<&'a [u8], ModelError> {
        if self.0.len() < count {
            return Err(ModelError::Truncated(what));
        }
        let (taken, rest) = self.0.split_at(count);
        self.0 = rest;
        Ok(taken)
    }

    fn u32(&mut self, what: &'static str) -> Result<usize, ModelError> {
        let bytes = self.take(4, what)?;
        Ok(u32::from_le_bytes(bytes.try_into().expect("4 bytes")) as usize)
    }

    fn f32(&mut self, what: &'static str) -> Result<f32, ModelError> {
        let bytes = self.take(4, what)?;
        Ok(f32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    }

    fn f32s(&mut self, count: usize, what: &'static str) -> Result<Vec<f32>, ModelError> {
        let bytes = self.take(
            count.checked_mul(4).ok_or(ModelError::Truncated(what))?,
            what,
        )?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect())
    }

    fn string(&mut self, what: &'static str) -> Result<String, ModelError> {
        let length = self.u32(what)?;
        let bytes = self.take(length, what)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| ModelError::Inconsistent("a string not UTF-8"))
    }

    fn quantised(
        &mut self,
        rows: usize,
        labels: usize,
        heads: &[Head],
        what: &'static str,
    ) -> Result<Table, ModelError> {
        let row_bytes = 4 * heads.len() + labels;
        let size = rows
            .checked_mul(row_bytes)
            .ok_or(ModelError::Truncated(what))?;
        let bytes = self.take(size, what)?;
        let mut table = Table {
            scales: Vec::with_capacity(rows * heads.len()),
            values: Vec::with_capacity(rows * labels),
        };
        for row in bytes.chunks_exact(row_bytes) {
            let (scales, values) = row.split_at(4 * heads.len());
            table.scales.extend(
                scales
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))),
            );
            table.values.extend(values.iter().map(|&b| b as i8));
        }
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts() -> ModelParts {
        ModelParts {
            version: "test".into(),
            labels: vec![
                Label {
                    qcode: "medtop:11000000".into(),
                    name: "politics and government".into(),
                    parent: None,
                },
                Label {
                    qcode: "medtop:15000000".into(),
                    name: "sport".into(),
                    parent: None,
                },
                Label {
                    qcode: "medtop:20000574".into(),
                    name: "election".into(),
                    parent: Some(0),
                },
            ],
            heads: vec![
                Head {
                    first: 0,
                    count: 2,
                    temperature: 1.5,
                },
                Head {
                    first: 2,
                    count: 1,
                    temperature: 1.0,
                },
            ],
            bits: 2,
            idf: vec![1.0, 2.0, 3.0, 4.0],
            bucket_weights: (0..12).map(|v| v as f32 - 6.0).collect(),
            words: vec![(42, 0.5)],
            word_scores: vec![2.0, -2.0, 0.25],
            bias: vec![0.1, -0.1, 0.0],
        }
    }

    #[test]
    fn a_model_reads_back_as_written_within_its_quantisation() {
        let written = parts();
        let read = Model::from_bytes(&written.to_bytes()).unwrap();
        assert_eq!(read.labels, written.labels);
        assert_eq!(read.heads, written.heads);
        assert_eq!(
            (read.idf, read.words, read.bias),
            (written.idf, written.words, written.bias)
        );
        // Each row and head has its own step: row 0's first head holds -6 and -5.
        let table = &read.bucket_weights;
        assert_eq!(table.scales[0], 6.0 / 127.0);
        for (at, written) in written.bucket_weights.iter().enumerate() {
            let (row, label) = (at / 3, at % 3);
            let head = usize::from(label == 2);
            let step = table.scales[row * 2 + head];
            let read = f32::from(table.values[at]) * step;
            assert!(
                (read - written).abs() <= step / 2.0 + 1e-6,
                "{read} {written}"
            );
        }
        assert_eq!(read.word_scores.values, [127, -127, 127]);
        assert_eq!(read.word_scores.scales, [2.0 / 127.0, 0.25 / 127.0]);
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_panic() {
        let bytes = parts().to_bytes();
        assert_eq!(Model::from_bytes(b"NOTMODEL"), Err(ModelError::Magic));
        for cut in [0, 8, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(Model::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Model::from_bytes(&longer).is_err());
    }
}
