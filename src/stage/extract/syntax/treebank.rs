//! Treebank sentences in CoNLL-U, re-cut into newsflow's tokens.
//!
//! newsflow's tokenizer keeps "search-engine" and "don't" whole where the treebank has
//! "search - engine" and "do n't": a token made of several treebank words takes the tag,
//! head and relation of the one whose head is outside it. A run of punctuation the
//! treebank keeps whole ("--", "...") is one mark per token here, the later ones attached
//! to the first. A sentence where a treebank word is otherwise cut into several tokens (a
//! web address), or whose words cannot be found in its text, is left out and counted.

use std::path::Path;

use super::{Rel, Tag};
use crate::stage::extract::text::tokenize;
use crate::stage::extract::words::WordClasses;

/// A sentence with its analysis, over newsflow's tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    pub words: Vec<String>,
    pub tags: Vec<Tag>,
    pub heads: Vec<Option<usize>>,
    pub rels: Vec<Rel>,
}

/// The sentences of a treebank that newsflow's tokens can carry, and how many could not.
#[derive(Debug, Default)]
pub struct Treebank {
    pub trees: Vec<Tree>,
    pub skipped: usize,
}

/// The CoNLL-U text of one split ("train", "dev", "test") of a UD treebank checkout whose
/// files are named `PREFIX-ud-SPLIT.conllu`: that file, or failing it (a snapshot may lack
/// the large train file) the split's per-document source files, in the order
/// `not-to-release/file-lists/files.SPLIT` lists them.
pub fn read_split(dir: &Path, prefix: &str, split: &str) -> std::io::Result<String> {
    let whole = dir.join(format!("{prefix}-ud-{split}.conllu"));
    if whole.is_file() {
        return std::fs::read_to_string(whole);
    }
    let list = std::fs::read_to_string(
        dir.join("not-to-release/file-lists")
            .join(format!("files.{split}")),
    )?;
    let mut text = String::new();
    for source in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
        text.push_str(&std::fs::read_to_string(
            dir.join("not-to-release/sources").join(source),
        )?);
        if !text.ends_with("\n\n") {
            text.push('\n');
        }
    }
    Ok(text)
}

/// One syntactic word of a CoNLL-U sentence.
#[derive(Debug, Clone)]
struct UdWord {
    /// Byte span of its surface form in the sentence text.
    span: (usize, usize),
    tag: Tag,
    /// 1-based head, 0 for the root.
    head: usize,
    rel: Rel,
}

/// Reads every sentence of a CoNLL-U text.
pub fn read(conllu: &str) -> Treebank {
    // Only the tokens' boundaries matter here, but every token is given its classes.
    let word_classes = WordClasses::default();
    let mut bank = Treebank::default();
    let mut text = None;
    let mut lines: Vec<&str> = Vec::new();
    for line in conllu.lines().chain(std::iter::once("")) {
        if let Some(t) = line.strip_prefix("# text = ") {
            text = Some(t);
        } else if line.trim().is_empty() {
            if !lines.is_empty() {
                match text.and_then(|t| convert(t, &lines, &word_classes)) {
                    Some(tree) => bank.trees.push(tree),
                    None => bank.skipped += 1,
                }
            }
            lines.clear();
            text = None;
        } else if !line.starts_with('#') {
            lines.push(line);
        }
    }
    bank
}

/// The words of one sentence with their spans in `text`, or `None` if a form is not found.
fn words(text: &str, lines: &[&str]) -> Option<Vec<UdWord>> {
    let mut words = Vec::new();
    let mut cursor = 0;
    // The contraction covering words up to an id ("3-4 don't"), and the part of its
    // surface form not yet given to one of its words.
    let mut contraction: Option<(usize, usize, usize)> = None;
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != 10 {
            return None;
        }
        let id = fields[0];
        if id.contains('.') {
            continue; // an empty node of the enhanced graph
        }
        let mut locate = |form: &str| {
            let start = cursor + text[cursor..].find(form)?;
            // Only spaces may be skipped on the way to the form.
            if !text[cursor..start].trim().is_empty() {
                return None;
            }
            cursor = start + form.len();
            Some((start, cursor))
        };
        if let Some((_, last)) = id.split_once('-') {
            let (start, end) = locate(fields[1])?;
            contraction = Some((last.parse().ok()?, start, end));
            continue;
        }
        let number: usize = id.parse().ok()?;
        let span = match &mut contraction {
            // A word of a contraction: its own part of the surface form when the words
            // spell it ("Elena's" is "Elena" and "'s"), else all of it.
            Some((last, start, end)) if number <= *last => {
                let form = fields[1];
                if text[*start..*end].starts_with(form) && *start + form.len() <= *end {
                    *start += form.len();
                    (*start - form.len(), *start)
                } else {
                    (*start, *end)
                }
            }
            _ => locate(fields[1])?,
        };
        words.push(UdWord {
            span,
            tag: Tag::named(fields[3])?,
            head: fields[6].parse().ok()?,
            rel: Rel::of_label(fields[7]),
        });
    }
    Some(words)
}

/// The sentence over newsflow's tokens, or `None` if the tokens cut a treebank word.
fn convert(text: &str, lines: &[&str], word_classes: &WordClasses) -> Option<Tree> {
    let words = words(text, lines)?;
    let tokens = tokenize(text, word_classes);
    // The token of each word, and the tokens after the first of a word they cut ("--" is
    // two tokens here), which must be punctuation.
    let mut token_of = Vec::with_capacity(words.len());
    let mut pieces: Vec<(usize, usize)> = Vec::new();
    for word in &words {
        let (start, end) = word.span;
        let covering: Vec<usize> = (0..tokens.len())
            .filter(|&i| tokens[i].start() < end && tokens[i].end() > start)
            .collect();
        let (&first, rest) = covering.split_first()?;
        let last = rest.last().copied().unwrap_or(first);
        let whole = tokens[first].start() <= start && tokens[last].end() >= end;
        let punctuation = covering.iter().all(|&i| !tokens[i].is_word());
        if !whole || (!rest.is_empty() && !punctuation) {
            return None;
        }
        pieces.extend(rest.iter().map(|&piece| (piece, first)));
        token_of.push(first);
    }
    let mut tree = Tree {
        words: tokens.iter().map(|t| t.text.to_owned()).collect(),
        tags: vec![Tag::PUNCT; tokens.len()],
        heads: vec![None; tokens.len()],
        rels: vec![Rel::DEP; tokens.len()],
    };
    let mut assigned = vec![false; tokens.len()];
    for (w, word) in words.iter().enumerate() {
        let token = token_of[w];
        let head = word.head.checked_sub(1).map(|h| token_of[h]);
        // Of the words of one token, the first whose head is outside it speaks for it.
        if head == Some(token) || assigned[token] {
            continue;
        }
        assigned[token] = true;
        tree.tags[token] = word.tag;
        tree.heads[token] = head;
        tree.rels[token] = if head.is_none() { Rel::ROOT } else { word.rel };
    }
    for (piece, first) in pieces {
        assigned[piece] = true;
        tree.heads[piece] = Some(first);
        tree.rels[piece] = Rel::PUNCT;
    }
    assigned.iter().all(|&a| a).then_some(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENTENCE: &str = "# sent_id = test-1
# text = Google's search-engine wares don't fail.
1-2\tGoogle's\t_\t_\t_\t_\t_\t_\t_\t_
1\tGoogle\tGoogle\tPROPN\tNNP\t_\t6\tnmod:poss\t_\t_
2\t's\t's\tPART\tPOS\t_\t1\tcase\t_\t_
3\tsearch\tsearch\tNOUN\tNN\t_\t5\tcompound\t_\tSpaceAfter=No
4\t-\t-\tPUNCT\tHYPH\t_\t3\tpunct\t_\tSpaceAfter=No
5\tengine\tengine\tNOUN\tNN\t_\t6\tcompound\t_\t_
6\twares\twares\tNOUN\tNNS\t_\t9\tnsubj\t_\t_
7-8\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
7\tdo\tdo\tAUX\tVBP\t_\t9\taux\t_\t_
8\tn't\tnot\tPART\tRB\t_\t9\tadvmod\t_\t_
9\tfail\tfail\tVERB\tVB\t_\t0\troot\t_\tSpaceAfter=No
10\t.\t.\tPUNCT\t.\t_\t9\tpunct\t_\t_

# text = See www.un.org -- now.
1\tSee\tsee\tVERB\tVB\t_\t0\troot\t_\t_
2\twww.un.org\twww.un.org\tX\tADD\t_\t1\tobj\t_\t_
3\t--\t--\tPUNCT\t:\t_\t1\tpunct\t_\t_
4\tnow\tnow\tADV\tRB\t_\t1\tadvmod\t_\tSpaceAfter=No
5\t.\t.\tPUNCT\t.\t_\t1\tpunct\t_\t_

# text = See http://un.org now.
1\tSee\tsee\tVERB\tVB\t_\t0\troot\t_\t_
2\thttp://un.org\thttp://un.org\tX\tADD\t_\t1\tobj\t_\t_
3\tnow\tnow\tADV\tRB\t_\t1\tadvmod\t_\tSpaceAfter=No
4\t.\t.\tPUNCT\t.\t_\t1\tpunct\t_\t_
";

    #[test]
    fn treebank_words_join_into_newsflow_tokens() {
        let bank = read(SENTENCE);
        assert_eq!(bank.skipped, 1, "a web address is several tokens here");
        let tree = &bank.trees[0];
        assert_eq!(
            tree.words,
            vec![
                "Google",
                "'s",
                "search-engine",
                "wares",
                "don't",
                "fail",
                "."
            ]
        );
        assert_eq!(tree.tags[2], Tag::NOUN);
        assert_eq!(tree.heads[2], Some(3));
        assert_eq!(tree.rels[2], Rel::COMPOUND);
        assert_eq!(
            tree.heads,
            vec![Some(3), Some(0), Some(3), Some(5), Some(5), None, Some(5)]
        );
        assert_eq!(tree.tags[4], Tag::AUX);
        assert_eq!(tree.rels[4], Rel::AUX);
        assert_eq!(tree.rels[5], Rel::ROOT);
        assert_eq!(tree.rels[0], Rel::NMOD_POSS);
        let dashes = &bank.trees[1];
        assert_eq!(
            dashes.words,
            vec!["See", "www.un.org", "-", "-", "now", "."]
        );
        assert_eq!(
            dashes.heads,
            vec![None, Some(0), Some(0), Some(2), Some(0), Some(0)]
        );
        assert_eq!(dashes.rels[3], Rel::PUNCT);
    }
}
