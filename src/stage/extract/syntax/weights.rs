//! Weight tables: a row of class weights per feature key, looked up by open addressing,
//! and the little-endian file format they are stored in.
//!
//! A table on file is its class count, its row count, the keys in ascending order and the
//! rows as 16-bit integers (the averaged perceptron weights, scaled so the largest is near
//! the top of the range): a model is a few megabytes, and scores are integer sums.

/// A model file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("the model file ends too early")]
    Truncated,
    #[error("the model file does not start with {expected:?}")]
    Magic { expected: &'static str },
    #[error("the model has {found} classes where {expected} were expected")]
    Classes { expected: usize, found: usize },
}

/// Feature key → one weight per class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    classes: usize,
    /// The keys in the order they were added, for writing the table out.
    keys: Vec<u64>,
    /// Slots of the open-addressing index, each the high half of a key (never 0, which
    /// marks an empty slot) as two 16-bit cells and then the key's weights: a lookup reads
    /// one place in memory, not an index and then a row. The slot a key starts from is
    /// given by its low bits, so a half and a slot together tell keys apart.
    cells: Vec<i16>,
}

/// The part of a key a slot keeps.
fn fingerprint(key: u64) -> u32 {
    ((key >> 32) as u32).max(1)
}

impl Table {
    /// A table of `rows` (key, one weight per class), keys distinct and non-zero.
    pub fn new(classes: usize, rows: &[(u64, Vec<i16>)]) -> Self {
        let capacity = (rows.len() * 2).next_power_of_two().max(16);
        let mut table = Self {
            classes,
            keys: Vec::with_capacity(rows.len()),
            cells: vec![0; capacity * (2 + classes)],
        };
        for (key, weights) in rows {
            debug_assert_eq!(weights.len(), classes);
            table.insert(*key, weights);
            table.keys.push(*key);
        }
        table
    }

    fn stride(&self) -> usize {
        2 + self.classes
    }

    fn mask(&self) -> usize {
        self.cells.len() / self.stride() - 1
    }

    /// The fingerprint stored at the slot starting at cell `at`.
    #[inline]
    fn stored(&self, at: usize) -> u32 {
        u32::from(self.cells[at] as u16) | (u32::from(self.cells[at + 1] as u16) << 16)
    }

    fn insert(&mut self, key: u64, weights: &[i16]) {
        let (mask, stride) = (self.mask(), self.stride());
        let mut slot = (key as usize) & mask;
        while self.stored(slot * stride) != 0 {
            slot = (slot + 1) & mask;
        }
        let at = slot * stride;
        let wanted = fingerprint(key);
        self.cells[at] = wanted as u16 as i16;
        self.cells[at + 1] = (wanted >> 16) as u16 as i16;
        self.cells[at + 2..at + stride].copy_from_slice(weights);
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    pub fn rows(&self) -> usize {
        self.keys.len()
    }

    /// The weights of `key`, if the model knows it.
    #[inline]
    pub fn row(&self, key: u64) -> Option<&[i16]> {
        let (mask, stride) = (self.mask(), self.stride());
        let mut slot = (key as usize) & mask;
        let wanted = fingerprint(key);
        loop {
            let at = slot * stride;
            match self.stored(at) {
                k if k == wanted => return Some(&self.cells[at + 2..at + stride]),
                0 => return None,
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    /// Adds the weights of every key to `scores` (one per class).
    ///
    /// The tables are larger than the caches, so nearly every key is a miss: the first
    /// slot of every key is read before any is resolved, so that the reads overlap
    /// rather than wait for each other in turn.
    pub fn add_scores(&self, keys: &[u64], scores: &mut [i32]) {
        const BATCH: usize = 64;
        let (mask, stride) = (self.mask(), self.stride());
        for batch in keys.chunks(BATCH) {
            let mut first = [0u32; BATCH];
            for (stored, &key) in first.iter_mut().zip(batch) {
                *stored = self.stored(((key as usize) & mask) * stride);
            }
            for (&stored, &key) in first.iter().zip(batch) {
                let row = if stored == fingerprint(key) {
                    let at = ((key as usize) & mask) * stride;
                    Some(&self.cells[at + 2..at + stride])
                } else if stored == 0 {
                    None
                } else {
                    self.row(key)
                };
                if let Some(row) = row {
                    for (score, &weight) in scores.iter_mut().zip(row) {
                        *score += i32::from(weight);
                    }
                }
            }
        }
    }

    /// Appends the table in its file format.
    pub fn write(&self, out: &mut Vec<u8>) {
        let mut keys = self.keys.clone();
        keys.sort_unstable();
        out.extend_from_slice(&(self.classes as u16).to_le_bytes());
        out.extend_from_slice(&(keys.len() as u32).to_le_bytes());
        for key in &keys {
            out.extend_from_slice(&key.to_le_bytes());
        }
        for &key in &keys {
            for weight in self.row(key).unwrap_or_default() {
                out.extend_from_slice(&weight.to_le_bytes());
            }
        }
    }

    /// Reads a table written by [`Table::write`] with `classes` classes.
    pub fn read(input: &mut Reader, classes: usize) -> Result<Self, ModelError> {
        let found = usize::from(input.u16()?);
        if found != classes {
            return Err(ModelError::Classes {
                expected: classes,
                found,
            });
        }
        let count = input.u32()? as usize;
        let keys: Vec<u64> = (0..count).map(|_| input.u64()).collect::<Result<_, _>>()?;
        let mut rows = Vec::with_capacity(count);
        for key in keys {
            let weights = (0..classes)
                .map(|_| input.i16())
                .collect::<Result<_, _>>()?;
            rows.push((key, weights));
        }
        Ok(Self::new(classes, &rows))
    }
}

/// Reads the little-endian numbers of a model file in order.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// Checks and skips the file's magic bytes.
    pub fn magic(&mut self, expected: &'static str) -> Result<(), ModelError> {
        match self.take(expected.len()) {
            Ok(found) if found == expected.as_bytes() => Ok(()),
            _ => Err(ModelError::Magic { expected }),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        if self.bytes.len() < n {
            return Err(ModelError::Truncated);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ModelError> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    pub fn u8(&mut self) -> Result<u8, ModelError> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16, ModelError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub fn i16(&mut self) -> Result<i16, ModelError> {
        Ok(i16::from_le_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, ModelError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, ModelError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
}

/// Scales averaged weights to 16-bit integers: the largest magnitude maps near the top
/// of the range, so that the ranking of classes is kept.
pub fn quantise(rows: Vec<(u64, Vec<f64>)>) -> Vec<(u64, Vec<i16>)> {
    let largest = rows
        .iter()
        .flat_map(|(_, w)| w.iter())
        .fold(0.0f64, |m, w| m.max(w.abs()));
    let scale = if largest > 0.0 {
        32_000.0 / largest
    } else {
        1.0
    };
    rows.into_iter()
        .map(|(key, weights)| {
            let weights = weights
                .into_iter()
                .map(|w| (w * scale).round() as i16)
                .collect();
            (key, weights)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::features::key;
    use super::*;

    #[test]
    fn a_table_survives_its_file_format() {
        // Keys are hashes: their high and low halves are both spread.
        let [a, b, c, absent] = [1, 2, 3, 4].map(|t| key(t, 0, 0, 0));
        let rows = vec![(a, vec![1, -2, 3]), (b, vec![4, 5, -6]), (c, vec![0, 0, 9])];
        let table = Table::new(3, &rows);
        assert_eq!(table.row(b), Some(&[4, 5, -6][..]));
        assert_eq!(table.row(absent), None);
        let mut scores = [0; 3];
        table.add_scores(&[a, c, absent], &mut scores);
        assert_eq!(scores, [1, -2, 12]);
        let mut bytes = Vec::new();
        table.write(&mut bytes);
        let read = Table::read(&mut Reader::new(&bytes), 3).expect("read");
        assert_eq!(read.rows(), 3);
        assert_eq!(read.row(a), Some(&[1, -2, 3][..]));
        assert_eq!(
            Table::read(&mut Reader::new(&bytes), 4),
            Err(ModelError::Classes {
                expected: 4,
                found: 3
            })
        );
        assert_eq!(
            Table::read(&mut Reader::new(&bytes[..bytes.len() - 1]), 3),
            Err(ModelError::Truncated)
        );
    }

    #[test]
    fn quantising_keeps_the_order_of_weights() {
        let rows = quantise(vec![(1, vec![0.5, -2.0, 0.25]), (2, vec![1.0, 0.0, -0.1])]);
        assert_eq!(rows[0].1, vec![8000, -32000, 4000]);
        assert_eq!(rows[1].1, vec![16000, 0, -1600]);
    }
}
