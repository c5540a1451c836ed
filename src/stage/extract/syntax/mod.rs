//! Syntax: a part-of-speech tagger and a dependency parser, both greedy averaged-perceptron
//! models trained in this repository on Universal Dependencies English EWT (`make train`;
//! the model files are in data/syntax/ under CC BY-SA 4.0, like the treebank).
//!
//! - [`features`]: what the models look at, hashed into 64-bit keys;
//! - [`weights`]: the weight tables and the model file format;
//! - [`tagger`]: Universal POS tags, left to right;
//! - [`parser`]: arc-eager transitions (with the dynamic oracle that training follows) and
//!   a label for every arc;
//! - [`treebank`]: CoNLL-U reading, cut into newsflow's own tokens;
//! - [`train`]: the perceptron training behind `newsflow-train syntax`;
//! - [`score`]: tag accuracy and attachment scores.
//!
//! The parse is of newsflow's tokens ([`super::text`]): the treebank is re-cut the same way
//! before training, so what the models learn is what they see.

pub mod features;
pub mod parser;
pub mod score;
pub mod tagger;
pub mod train;
pub mod treebank;
pub mod weights;

use features::Word;
use parser::Parser;
use tagger::Tagger;

/// A Universal POS tag, as its index in [`Tag::NAMES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(pub u8);

impl Tag {
    pub const NAMES: [&'static str; 17] = [
        "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
        "PUNCT", "SCONJ", "SYM", "VERB", "X",
    ];
    pub const ADJ: Tag = Tag(0);
    pub const ADP: Tag = Tag(1);
    pub const ADV: Tag = Tag(2);
    pub const AUX: Tag = Tag(3);
    pub const DET: Tag = Tag(5);
    pub const NOUN: Tag = Tag(7);
    pub const NUM: Tag = Tag(8);
    pub const PART: Tag = Tag(9);
    pub const PRON: Tag = Tag(10);
    pub const PROPN: Tag = Tag(11);
    pub const PUNCT: Tag = Tag(12);
    pub const VERB: Tag = Tag(15);

    pub fn named(name: &str) -> Option<Tag> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Tag(i as u8))
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[usize::from(self.0)]
    }

    /// A noun or a proper noun.
    pub fn is_nominal(self) -> bool {
        matches!(self, Tag::NOUN | Tag::PROPN)
    }
}

/// A dependency relation, as its index in [`Rel::NAMES`]: the universal relations, with the
/// subtypes event coding needs (passive subjects, agents, possessors) and those frequent
/// enough in the treebank to help the parser; the others are folded into their base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rel(pub u8);

impl Rel {
    pub const NAMES: [&'static str; 39] = [
        "root",
        "punct",
        "case",
        "nsubj",
        "det",
        "advmod",
        "obj",
        "amod",
        "obl",
        "conj",
        "compound",
        "mark",
        "nmod",
        "cc",
        "aux",
        "cop",
        "advcl",
        "nmod:poss",
        "xcomp",
        "ccomp",
        "acl:relcl",
        "flat",
        "parataxis",
        "nummod",
        "appos",
        "acl",
        "aux:pass",
        "nsubj:pass",
        "discourse",
        "compound:prt",
        "iobj",
        "list",
        "expl",
        "fixed",
        "obl:agent",
        "csubj",
        "vocative",
        "goeswith",
        "dep",
    ];
    pub const ROOT: Rel = Rel(0);
    pub const PUNCT: Rel = Rel(1);
    pub const CASE: Rel = Rel(2);
    pub const NSUBJ: Rel = Rel(3);
    pub const DET: Rel = Rel(4);
    pub const ADVMOD: Rel = Rel(5);
    pub const OBJ: Rel = Rel(6);
    pub const AMOD: Rel = Rel(7);
    pub const OBL: Rel = Rel(8);
    pub const CONJ: Rel = Rel(9);
    pub const COMPOUND: Rel = Rel(10);
    pub const MARK: Rel = Rel(11);
    pub const NMOD: Rel = Rel(12);
    pub const CC: Rel = Rel(13);
    pub const AUX: Rel = Rel(14);
    pub const COP: Rel = Rel(15);
    pub const ADVCL: Rel = Rel(16);
    pub const NMOD_POSS: Rel = Rel(17);
    pub const XCOMP: Rel = Rel(18);
    pub const CCOMP: Rel = Rel(19);
    pub const ACL_RELCL: Rel = Rel(20);
    pub const FLAT: Rel = Rel(21);
    pub const PARATAXIS: Rel = Rel(22);
    pub const NUMMOD: Rel = Rel(23);
    pub const APPOS: Rel = Rel(24);
    pub const ACL: Rel = Rel(25);
    pub const AUX_PASS: Rel = Rel(26);
    pub const NSUBJ_PASS: Rel = Rel(27);
    pub const COMPOUND_PRT: Rel = Rel(29);
    pub const IOBJ: Rel = Rel(30);
    pub const FIXED: Rel = Rel(33);
    pub const OBL_AGENT: Rel = Rel(34);
    pub const CSUBJ: Rel = Rel(35);
    pub const DEP: Rel = Rel(38);

    /// The relation a treebank label stands for here ("obl:tmod" is an "obl").
    pub fn of_label(label: &str) -> Rel {
        if let Some(i) = Self::NAMES.iter().position(|n| *n == label) {
            return Rel(i as u8);
        }
        let base = label.split(':').next().unwrap_or(label);
        Self::NAMES
            .iter()
            .position(|n| *n == base)
            .map_or(Rel::DEP, |i| Rel(i as u8))
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[usize::from(self.0)]
    }
}

/// The analysis of one sentence: a tag, a head and a relation per token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parse {
    pub tags: Vec<Tag>,
    /// The index of each token's head, `None` for the root.
    pub heads: Vec<Option<usize>>,
    pub rels: Vec<Rel>,
}

impl Parse {
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// The tokens whose head is `head`, in order.
    pub fn children(&self, head: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).filter(move |&i| self.heads[i] == Some(head))
    }

    /// The first child of `head` with relation `rel`.
    pub fn child(&self, head: usize, rel: Rel) -> Option<usize> {
        self.children(head).find(|&i| self.rels[i] == rel)
    }
}

/// The tagger and the parser.
pub struct Syntax {
    tagger: Tagger,
    parser: Parser,
}

impl Syntax {
    /// The models built into the binary.
    pub fn load() -> Self {
        Self {
            tagger: Tagger::from_bytes(include_bytes!("../../../../data/syntax/tagger.bin"))
                .expect("data/syntax/tagger.bin is a tagger model"),
            parser: Parser::from_bytes(include_bytes!("../../../../data/syntax/parser.bin"))
                .expect("data/syntax/parser.bin is a parser model"),
        }
    }

    pub fn new(tagger: Tagger, parser: Parser) -> Self {
        Self { tagger, parser }
    }

    /// Tags and parses one sentence of words, as written.
    pub fn parse<S: AsRef<str>>(&self, words: &[S]) -> Parse {
        let words: Vec<Word> = words.iter().map(|w| Word::new(w.as_ref())).collect();
        let tags = self.tagger.tag(&words);
        let (heads, rels) = self.parser.parse(&words, &tags);
        Parse { tags, heads, rels }
    }

    pub fn tagger(&self) -> &Tagger {
        &self.tagger
    }

    pub fn parser(&self) -> &Parser {
        &self.parser
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::reference::for_tests;

    #[test]
    fn treebank_labels_fold_into_the_relations_kept() {
        assert_eq!(Rel::of_label("nsubj:pass"), Rel::NSUBJ_PASS);
        assert_eq!(Rel::of_label("obl:tmod"), Rel::OBL);
        assert_eq!(Rel::of_label("nmod:poss"), Rel::NMOD_POSS);
        assert_eq!(Rel::of_label("reparandum"), Rel::DEP);
        for (i, name) in Rel::NAMES.iter().enumerate() {
            assert_eq!(Rel::of_label(name), Rel(i as u8));
        }
        assert_eq!(Tag::named("PROPN"), Some(Tag::PROPN));
        assert_eq!(Tag::VERB.name(), "VERB");
        assert_eq!(Rel::OBL_AGENT.name(), "obl:agent");
        assert_eq!(Rel::COMPOUND_PRT.name(), "compound:prt");
    }

    #[test]
    fn the_embedded_models_parse_who_did_what_to_whom() {
        let parse = for_tests().extract.syntax.parse(&[
            "Police",
            "arrested",
            "the",
            "protesters",
            "in",
            "Cairo",
            ".",
        ]);
        assert_eq!(parse.tags[1], Tag::VERB, "{parse:?}");
        assert_eq!(parse.heads[1], None, "{parse:?}");
        assert_eq!(
            (parse.heads[0], parse.rels[0]),
            (Some(1), Rel::NSUBJ),
            "{parse:?}"
        );
        assert_eq!(
            (parse.heads[3], parse.rels[3]),
            (Some(1), Rel::OBJ),
            "{parse:?}"
        );
        assert_eq!(parse.tags[5], Tag::PROPN, "{parse:?}");
    }
}
