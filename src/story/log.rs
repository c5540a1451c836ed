//! The story log: every article's signature, in the order the replicas' decisions follow.
//! One Kafka partition holds it; each replica reads it whole into its own [`StoryIndex`]
//! and so takes the same decision for every article as every other replica.
//!
//! A record is binary (about 230 bytes and the id): a format version, the writing
//! replica's incarnation, the article's time, its signature, then its id. A tick, one
//! byte, moves the log's time on when no article does ([`super::settle`]).
//!
//! [`StoryIndex`]: super::StoryIndex

use chrono::{DateTime, Utc};

use super::signature::{Signature, BINS};

const FORMAT: u8 = 1;
/// A tick's only byte.
pub const TICK: [u8; 1] = [0x7f];
/// Format, incarnation, time, occupied bins, shingles, minima, key count.
const HEADER: usize = 1 + 8 + 8 + 8 + 2 + BINS + 1;

/// One article on the story log.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    /// When it was published (or seen), in whole seconds.
    pub time: DateTime<Utc>,
    /// Which replica, in which run, wrote it: that replica waits for its decision.
    pub incarnation: u64,
    pub signature: Signature,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EntryError {
    #[error("story log record of {len} bytes is too short")]
    Truncated { len: usize },
    #[error("story log record of format {0}, not {FORMAT}")]
    Format(u8),
    #[error("story log record with a time out of range")]
    Time,
    #[error("story log record with an id that is not UTF-8")]
    Id,
}

/// A record of the story log.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Entry(Entry),
    Tick,
}

impl Record {
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryError> {
        match bytes {
            b if b == TICK => Ok(Self::Tick),
            b => Entry::decode(b).map(Self::Entry),
        }
    }
}

impl Entry {
    pub fn encode(&self) -> Vec<u8> {
        let signature = &self.signature;
        let mut bytes = Vec::with_capacity(HEADER + 4 * signature.keys.len() + self.id.len());
        bytes.push(FORMAT);
        bytes.extend(self.incarnation.to_be_bytes());
        bytes.extend(self.time.timestamp().to_be_bytes());
        bytes.extend(signature.occupied.to_be_bytes());
        bytes.extend(signature.shingles.to_be_bytes());
        bytes.extend(signature.minima);
        let keys = &signature.keys[..signature.keys.len().min(usize::from(u8::MAX))];
        bytes.push(keys.len() as u8);
        for key in keys {
            bytes.extend(key.to_be_bytes());
        }
        bytes.extend(self.id.as_bytes());
        bytes
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, EntryError> {
        let truncated = EntryError::Truncated { len: bytes.len() };
        if bytes.len() < HEADER {
            return Err(truncated);
        }
        if bytes[0] != FORMAT {
            return Err(EntryError::Format(bytes[0]));
        }
        let u64_at = |at: usize| u64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let incarnation = u64_at(1);
        let time = DateTime::from_timestamp(u64_at(9) as i64, 0).ok_or(EntryError::Time)?;
        let occupied = u64_at(17);
        let shingles = u16::from_be_bytes([bytes[25], bytes[26]]);
        let minima: [u8; BINS] = bytes[27..27 + BINS].try_into().expect("BINS bytes");
        let count = usize::from(bytes[HEADER - 1]);
        let keys_end = HEADER + 4 * count;
        let keys_bytes = bytes.get(HEADER..keys_end).ok_or(truncated)?;
        let keys = keys_bytes
            .chunks_exact(4)
            .map(|k| u32::from_be_bytes(k.try_into().expect("4 bytes")))
            .collect();
        let id = std::str::from_utf8(&bytes[keys_end..]).map_err(|_| EntryError::Id)?;
        Ok(Self {
            id: id.to_owned(),
            time,
            incarnation,
            signature: Signature {
                minima,
                occupied,
                shingles,
                keys,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_as_written() {
        let entry = Entry {
            id: "wire-1 é".into(),
            time: DateTime::from_timestamp(1_719_824_400, 0).unwrap(),
            incarnation: 0xdead_beef,
            signature: Signature::of(super::super::tests::SAME_SUBJECT_TEXT),
        };
        let bytes = entry.encode();
        assert_eq!(Entry::decode(&bytes), Ok(entry.clone()));
        assert_eq!(
            Entry::decode(&bytes[..10]),
            Err(EntryError::Truncated { len: 10 })
        );
        let mut other = bytes.clone();
        other[0] = 9;
        assert_eq!(Entry::decode(&other), Err(EntryError::Format(9)));
        assert_eq!(Record::decode(&bytes), Ok(Record::Entry(entry)));
        assert_eq!(Record::decode(&TICK), Ok(Record::Tick));
    }
}
