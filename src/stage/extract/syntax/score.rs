//! Accuracy of analyses against a treebank: tags right (UPOS accuracy), heads right
//! (unlabelled attachment score) and heads with their relation right (labelled), over
//! every token, punctuation included.

use super::treebank::Tree;
use super::Parse;

#[derive(Debug, Default, Clone, Copy)]
pub struct Scores {
    pub sentences: usize,
    pub tokens: usize,
    tags: usize,
    heads: usize,
    labelled: usize,
}

impl Scores {
    pub fn add(&mut self, gold: &Tree, parse: &Parse) {
        self.sentences += 1;
        for i in 0..gold.words.len() {
            self.tokens += 1;
            self.tags += usize::from(parse.tags[i] == gold.tags[i]);
            if parse.heads[i] == gold.heads[i] {
                self.heads += 1;
                self.labelled += usize::from(parse.rels[i] == gold.rels[i]);
            }
        }
    }

    fn share(&self, count: usize) -> f64 {
        count as f64 / self.tokens.max(1) as f64
    }

    pub fn upos(&self) -> f64 {
        self.share(self.tags)
    }

    pub fn uas(&self) -> f64 {
        self.share(self.heads)
    }

    pub fn las(&self) -> f64 {
        self.share(self.labelled)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Rel, Tag};
    use super::*;

    #[test]
    fn scores_count_tags_heads_and_relations() {
        let gold = Tree {
            words: vec!["They".into(), "left".into()],
            tags: vec![Tag::PRON, Tag::VERB],
            heads: vec![Some(1), None],
            rels: vec![Rel::NSUBJ, Rel::ROOT],
        };
        let parse = Parse {
            tags: vec![Tag::PRON, Tag::NOUN],
            heads: vec![Some(1), None],
            rels: vec![Rel::OBJ, Rel::ROOT],
        };
        let mut scores = Scores::default();
        scores.add(&gold, &parse);
        assert_eq!((scores.upos(), scores.uas(), scores.las()), (0.5, 1.0, 0.5));
    }
}
