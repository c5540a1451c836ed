//! The model's tables as the classifier reads them. The file keeps a bucket's inverse
//! document frequency, its scales and its weights in three places, and a word's index, its
//! weight and its scores in three more: a feature or a word would cost three or four cache
//! misses. Here each row holds all it needs in whole cache lines, built once at load time,
//! and the rows of the next features and words can be fetched ahead.

use crate::hash::mix;

use super::model::{Head, Table};

/// The cache line size of the machines the pipeline runs on.
const LINE: usize = 64;

/// Rows of `row_bytes` bytes, each starting on a cache line.
#[derive(Debug, Clone)]
struct Lines {
    bytes: Vec<u8>,
    /// Where the first line starts in `bytes`.
    start: usize,
    /// Row to row: `row_bytes` rounded up to whole lines.
    stride: usize,
}

impl Lines {
    fn new(rows: usize, row_bytes: usize) -> Self {
        let stride = row_bytes.div_ceil(LINE).max(1) * LINE;
        let bytes = vec![0u8; rows * stride + LINE];
        // Without an offset to the next line (never on ordinary targets), rows straddle
        // lines: slower, not wrong.
        let start = Some(bytes.as_ptr().align_offset(LINE)).filter(|&at| at < LINE);
        Self {
            bytes,
            start: start.unwrap_or(0),
            stride,
        }
    }

    fn row(&self, row: usize) -> &[u8] {
        let at = self.start + row * self.stride;
        &self.bytes[at..at + self.stride]
    }

    fn row_mut(&mut self, row: usize) -> &mut [u8] {
        let at = self.start + row * self.stride;
        &mut self.bytes[at..at + self.stride]
    }

    /// Asks for row `row`'s first line ahead of its use; a no-op where unsupported.
    fn prefetch(&self, row: usize) {
        #[cfg(target_arch = "x86_64")]
        if let Some(first) = self.bytes.get(self.start + row * self.stride) {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            // SAFETY: a prefetch only hints the cache; it reads nothing the program sees
            // and cannot fault, and the pointer is into `bytes` besides.
            unsafe { _mm_prefetch::<_MM_HINT_T0>((first as *const u8).cast()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = row;
    }
}

fn f32_at(bytes: &[u8], at: usize) -> f32 {
    f32::from_ne_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn put_f32(bytes: &mut [u8], at: usize, value: f32) {
    bytes[at..at + 4].copy_from_slice(&value.to_ne_bytes());
}

/// One row of a table's weights: a scale per head, and `i8` multiples of them per label.
#[derive(Debug, Clone, Copy)]
pub struct Weights<'a> {
    scales: &'a [u8],
    values: &'a [u8],
}

impl Weights<'_> {
    /// Bytes of a row's weights with `heads` heads and `labels` labels.
    fn size(heads: usize, labels: usize) -> usize {
        4 * heads + labels
    }

    fn read(bytes: &[u8], heads: usize, labels: usize) -> Weights<'_> {
        let (scales, values) = bytes[..Self::size(heads, labels)].split_at(4 * heads);
        Weights { scales, values }
    }

    /// Copies `table`'s row `row` into `out`, laid out as [`Weights::read`] reads it.
    fn write(table: &Table, row: usize, heads: usize, labels: usize, out: &mut [u8]) {
        for head in 0..heads {
            put_f32(out, 4 * head, table.scales[row * heads + head]);
        }
        let values = &table.values[row * labels..(row + 1) * labels];
        for (byte, &value) in out[4 * heads..4 * heads + labels].iter_mut().zip(values) {
            *byte = value as u8;
        }
    }

    /// The scale of the head at `head`: its weights are multiples of it.
    pub fn scale(&self, head: usize) -> f32 {
        f32_at(self.scales, 4 * head)
    }

    /// The weights of `head`'s labels as stored: `i8` multiples of its scale.
    pub fn multiples(&self, head: &Head) -> &[u8] {
        &self.values[head.first..head.first + head.count]
    }

    /// Adds `factor` times the weights to `sums` (one per label).
    pub fn add_to(&self, factor: f32, heads: &[Head], sums: &mut [f32]) {
        for (index, head) in heads.iter().enumerate() {
            let scaled = factor * self.scale(index);
            let range = head.first..head.first + head.count;
            for (sum, &weight) in sums[range.clone()].iter_mut().zip(&self.values[range]) {
                *sum += scaled * f32::from(weight as i8);
            }
        }
    }

    /// The mean of the weights of `head`, the head at `index`, summed in label order.
    fn mean(&self, head: &Head, index: usize) -> f32 {
        let scale = self.scale(index);
        let values = &self.values[head.first..head.first + head.count];
        let sum: f32 = values.iter().map(|&v| f32::from(v as i8) * scale).sum();
        sum / head.count as f32
    }
}

/// Each hash bucket's inverse document frequency, the mean of its weights in each head,
/// and its weights.
#[derive(Debug, Clone)]
pub struct Buckets {
    lines: Lines,
    heads: usize,
    labels: usize,
}

impl Buckets {
    /// Row layout: the inverse document frequency, a mean per head, then the [`Weights`].
    /// The means are the model's, worked out here once rather than for every article whose
    /// topics show their evidence; they fit in the line the row takes anyway.
    pub fn new(idf: &[f32], weights: &Table, heads: &[Head], labels: usize) -> Self {
        let means = 4 * heads.len();
        let mut lines = Lines::new(idf.len(), 4 + means + Weights::size(heads.len(), labels));
        for (bucket, &value) in idf.iter().enumerate() {
            let row = lines.row_mut(bucket);
            put_f32(row, 0, value);
            let (header, row_weights) = row.split_at_mut(4 + means);
            Weights::write(weights, bucket, heads.len(), labels, row_weights);
            let row_weights = Weights::read(row_weights, heads.len(), labels);
            for (index, head) in heads.iter().enumerate() {
                put_f32(header, 4 + 4 * index, row_weights.mean(head, index));
            }
        }
        Self {
            lines,
            heads: heads.len(),
            labels,
        }
    }

    pub fn idf(&self, bucket: usize) -> f32 {
        f32_at(self.lines.row(bucket), 0)
    }

    /// The mean of the bucket's weights in the head at `head` (`Weights::mean`).
    pub fn mean(&self, bucket: usize, head: usize) -> f32 {
        f32_at(self.lines.row(bucket), 4 + 4 * head)
    }

    pub fn weights(&self, bucket: usize) -> Weights<'_> {
        let row = self.lines.row(bucket);
        Weights::read(&row[4 + 4 * self.heads..], self.heads, self.labels)
    }

    pub fn prefetch(&self, bucket: usize) {
        self.lines.prefetch(bucket);
    }
}

/// The embedding words by token hash, each with its weight in the mean and its scores:
/// an open-addressing table whose slots hold the rows themselves.
#[derive(Debug, Clone)]
pub struct Words {
    lines: Lines,
    /// Slot count minus one (a power of two minus one).
    mask: usize,
    heads: usize,
    labels: usize,
}

/// Slot layout: whether it is taken (`u32`), the word's weight (`f32`), its token hash
/// (`u64`), then its [`Weights`].
const WORD_HEADER: usize = 16;

impl Words {
    /// `words` (token hash and weight) with their rows of `scores`; of two words with one
    /// hash, the later is kept.
    pub fn new(words: &[(u64, f32)], scores: &Table, heads: usize, labels: usize) -> Self {
        // At most half full: a lookup, found or not, mostly reads one slot.
        let slots = (2 * words.len()).next_power_of_two();
        let mut table = Self {
            lines: Lines::new(slots, WORD_HEADER + Weights::size(heads, labels)),
            mask: slots - 1,
            heads,
            labels,
        };
        for (word, &(hash, weight)) in words.iter().enumerate() {
            let slot = table.slot(hash);
            let row = table.lines.row_mut(slot);
            row[..4].copy_from_slice(&1u32.to_ne_bytes());
            put_f32(row, 4, weight);
            row[8..16].copy_from_slice(&hash.to_ne_bytes());
            Weights::write(scores, word, heads, labels, &mut row[WORD_HEADER..]);
        }
        table
    }

    /// The slot of `hash`: its own, or the empty one where it would go.
    fn slot(&self, hash: u64) -> usize {
        let mut slot = self.home(hash);
        loop {
            let row = self.lines.row(slot);
            let taken = row[..4] != [0; 4];
            if !taken || u64::from_ne_bytes(row[8..16].try_into().expect("8 bytes")) == hash {
                return slot;
            }
            slot = (slot + 1) & self.mask;
        }
    }

    fn home(&self, hash: u64) -> usize {
        mix(hash) as usize & self.mask
    }

    /// The weight and scores of the word with token hash `hash`.
    pub fn get(&self, hash: u64) -> Option<(f32, Weights<'_>)> {
        let row = self.lines.row(self.slot(hash));
        (row[..4] != [0; 4]).then(|| {
            (
                f32_at(row, 4),
                Weights::read(&row[WORD_HEADER..], self.heads, self.labels),
            )
        })
    }

    pub fn prefetch(&self, hash: u64) {
        self.lines.prefetch(self.home(hash));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADS: [Head; 2] = [
        Head {
            first: 0,
            count: 2,
            temperature: 1.0,
        },
        Head {
            first: 2,
            count: 1,
            temperature: 1.0,
        },
    ];

    /// Three rows of three labels in two heads.
    fn table() -> Table {
        Table {
            scales: vec![0.5, 2.0, 0.25, 1.0, 1.0, 4.0],
            values: vec![1, -2, 3, 127, -127, 0, -1, 0, 1],
        }
    }

    #[test]
    fn bucket_rows_hold_the_frequency_and_the_scaled_weights() {
        let buckets = Buckets::new(&[1.5, 2.5, 3.5], &table(), &HEADS, 3);
        assert_eq!(buckets.idf(1), 2.5);
        assert_eq!([buckets.mean(0, 0), buckets.mean(0, 1)], [-0.25, 6.0]);
        let weights = buckets.weights(1);
        assert_eq!([weights.scale(0), weights.scale(1)], [0.25, 1.0]);
        assert_eq!(weights.multiples(&HEADS[0]), [127, -127i8 as u8]);
        assert_eq!(weights.multiples(&HEADS[1]), [0]);
        let mut sums = [0.0; 3];
        buckets.weights(0).add_to(2.0, &HEADS, &mut sums);
        buckets.weights(2).add_to(1.0, &HEADS, &mut sums);
        assert_eq!(sums, [0.0, -2.0, 16.0]);
        buckets.prefetch(2);
    }

    #[test]
    fn words_are_found_by_hash_and_a_later_duplicate_wins() {
        let words = Words::new(&[(7, 0.5), (9, 1.0), (7, 2.0)], &table(), 2, 3);
        let (weight, scores) = words.get(7).unwrap();
        assert_eq!(
            (weight, scores.multiples(&HEADS[0])),
            (2.0, &[-1i8 as u8, 0][..])
        );
        let (weight, scores) = words.get(9).unwrap();
        assert_eq!(
            (weight, scores.multiples(&HEADS[0])),
            (1.0, &[127, -127i8 as u8][..])
        );
        assert!(words.get(8).is_none());
        words.prefetch(8);
        assert!(Words::new(&[], &table(), 2, 3).get(7).is_none());
    }
}
