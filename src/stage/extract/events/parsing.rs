//! The parse event coding reads: the parser's, with wire copy's time words set aside.
//!
//! Wire copy puts a time word between the subject and the verb ("Denmark today accepted
//! the plan", "the president yesterday resigned"), a shape the treebank hardly has: the
//! parser takes "Denmark today" for one noun phrase and the verb loses its subject. Such
//! words are left out of what the parser sees and hang afterwards from the verb as a
//! time oblique. Dates are read from the text, so nothing of them is lost.

use super::super::syntax::{Parse, Rel, Syntax, Tag};

const TIME_WORDS: &[&str] = &["today", "yesterday", "tonight", "tomorrow"];

/// The parse of a sentence's words.
pub fn parse(words: &[&str]) -> Parse {
    let starts_with = |i: usize, lower: bool| {
        words[i]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() && (!lower || c.is_lowercase()))
    };
    let (aside, kept): (Vec<usize>, Vec<usize>) = (0..words.len()).partition(|&i| {
        i > 0
            && i + 1 < words.len()
            && TIME_WORDS.iter().any(|t| words[i].eq_ignore_ascii_case(t))
            && starts_with(i - 1, false)
            && starts_with(i + 1, true)
    });
    if aside.is_empty() {
        return Syntax::global().parse(words);
    }
    let inner = Syntax::global().parse(&kept.iter().map(|&i| words[i]).collect::<Vec<_>>());
    let mut parse = Parse {
        tags: vec![Tag::NOUN; words.len()],
        heads: vec![None; words.len()],
        rels: vec![Rel::OBL; words.len()],
    };
    for (k, &i) in kept.iter().enumerate() {
        parse.tags[i] = inner.tags[k];
        parse.heads[i] = inner.heads[k].map(|h| kept[h]);
        parse.rels[i] = inner.rels[k];
    }
    for i in aside {
        // The verb after it ("today accepted"), the verb of an auxiliary after it ("today
        // has agreed"), or else whatever the word before it hangs from.
        let next = i + 1;
        parse.heads[i] = match (parse.tags[next], parse.rels[next]) {
            (Tag::VERB, _) => Some(next),
            (Tag::AUX, Rel::AUX | Rel::AUX_PASS) => parse.heads[next],
            _ => parse.heads[i - 1].or(Some(i - 1)),
        };
    }
    parse
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_word_after_the_subject_leaves_it_the_subject() {
        let words = ["Denmark", "today", "accepted", "the", "plan", "."];
        let parse = parse(&words);
        assert_eq!(
            (parse.heads[0], parse.rels[0]),
            (Some(2), Rel::NSUBJ),
            "{parse:?}"
        );
        assert_eq!(
            (parse.heads[1], parse.rels[1]),
            (Some(2), Rel::OBL),
            "{parse:?}"
        );
        assert_eq!(parse.heads[2], None, "{parse:?}");
        let plain = ["Denmark", "accepted", "the", "plan", "today", "."];
        assert_eq!(super::parse(&plain), Syntax::global().parse(&plain));
    }
}
