//! The part-of-speech tagger: Universal POS tags, left to right, each chosen from the word,
//! its neighbours and the two tags before it. Frequent words the treebank always tags one
//! way ("the", "said", "of") take that tag without scoring.

use rustc_hash::FxHashMap;

use super::features::{key, Key, Word};
use super::weights::{ModelError, Reader, Table};
use super::Tag;

const MAGIC: &str = "newsflow-tagger-1";

/// The value of a tag before the first word.
const START: u64 = 100;

pub struct Tagger {
    weights: Table,
    /// Word form → its only tag.
    known: FxHashMap<u64, Tag>,
}

impl Tagger {
    pub fn new(weights: Table, known: &[(u64, Tag)]) -> Self {
        Self {
            weights,
            known: known.iter().copied().collect(),
        }
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let mut input = Reader::new(bytes);
        input.magic(MAGIC)?;
        let weights = Table::read(&mut input, Tag::NAMES.len())?;
        let count = input.u32()? as usize;
        let known: Vec<(u64, Tag)> = (0..count)
            .map(|_| Ok((input.u64()?, Tag(input.u8()?))))
            .collect::<Result<_, ModelError>>()?;
        Ok(Self::new(weights, &known))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.as_bytes().to_vec();
        self.weights.write(&mut out);
        let mut known: Vec<(u64, Tag)> = self.known.iter().map(|(k, t)| (*k, *t)).collect();
        known.sort_unstable();
        out.extend_from_slice(&(known.len() as u32).to_le_bytes());
        for (form, tag) in known {
            out.extend_from_slice(&form.to_le_bytes());
            out.push(tag.0);
        }
        out
    }

    /// The tag of a word that is always tagged one way.
    pub fn known(&self, word: &Word) -> Option<Tag> {
        self.known.get(&word.form).copied()
    }

    pub fn weights(&self) -> &Table {
        &self.weights
    }

    pub fn tag(&self, words: &[Word]) -> Vec<Tag> {
        let mut tags: Vec<Tag> = Vec::with_capacity(words.len());
        let mut keys = Vec::with_capacity(FEATURES);
        for i in 0..words.len() {
            let tag = self.known(&words[i]).unwrap_or_else(|| {
                features(words, i, &tags, &mut keys);
                let mut scores = [0i32; Tag::NAMES.len()];
                self.weights.add_scores(&keys, &mut scores);
                best(&scores)
            });
            tags.push(tag);
        }
        tags
    }
}

/// The class with the highest score, the first on ties.
pub fn best(scores: &[i32]) -> Tag {
    let mut best = 0;
    for (i, &score) in scores.iter().enumerate() {
        if score > scores[best] {
            best = i;
        }
    }
    Tag(best as u8)
}

/// How many features a word has.
pub const FEATURES: usize = 17;

/// The features of word `i`, given the tags before it.
pub fn features(words: &[Word], i: usize, tags: &[Tag], out: &mut Vec<Key>) {
    let word = |offset: isize| {
        let at = i as isize + offset;
        if at < 0 || at >= words.len() as isize {
            Word::PADDING
        } else {
            words[at as usize]
        }
    };
    let tag = |back: usize| {
        i.checked_sub(back)
            .map_or(START, |at| u64::from(tags[at].0) + 1)
    };
    let (w, p1, p2) = (word(0), tag(1), tag(2));
    let (before, after) = (word(-1), word(1));
    out.clear();
    out.extend_from_slice(&[
        key(0, 0, 0, 0),
        key(1, w.form, 0, 0),
        key(2, w.suffix, 0, 0),
        key(3, w.prefix, 0, 0),
        key(4, w.shape, 0, 0),
        key(5, p1, 0, 0),
        key(6, p1, p2, 0),
        key(7, p1, w.form, 0),
        key(8, before.form, 0, 0),
        key(9, before.suffix, 0, 0),
        key(10, word(-2).form, 0, 0),
        key(11, after.form, 0, 0),
        key(12, after.suffix, 0, 0),
        key(13, word(2).form, 0, 0),
        key(14, u64::from(i == 0), u64::from(w.capitalised), w.shape),
        key(15, after.shape, 0, 0),
        key(16, w.suffix, p1, 0),
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_survives_its_file_format_and_tags_by_its_weights() {
        let words: Vec<Word> = ["they", "protest"].iter().map(|w| Word::new(w)).collect();
        let mut keys = Vec::new();
        features(&words, 1, &[Tag::PRON], &mut keys);
        assert_eq!(keys.len(), FEATURES);
        // "protest" after a pronoun: the weight of its form feature picks VERB.
        let mut verb = vec![0i16; Tag::NAMES.len()];
        verb[usize::from(Tag::VERB.0)] = 5;
        let tagger = Tagger::new(
            Table::new(Tag::NAMES.len(), &[(keys[1], verb)]),
            &[(words[0].form, Tag::PRON)],
        );
        let read = Tagger::from_bytes(&tagger.to_bytes()).expect("read");
        assert_eq!(read.tag(&words), vec![Tag::PRON, Tag::VERB]);
        assert!(Tagger::from_bytes(b"newsflow-parser-1").is_err());
    }
}
