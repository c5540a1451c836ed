//! The parse event coding reads: the parser's, with wire copy's time words set aside.
//!
//! Wire copy puts a time word between the subject and the verb ("Denmark today accepted
//! the plan", "the president yesterday resigned"), a shape the treebank hardly has: the
//! parser takes "Denmark today" for one noun phrase and the verb loses its subject. Such
//! words are left out of what the parser sees and hang afterwards from the verb as a
//! time oblique. Dates are read from the text, so nothing of them is lost.
//!
//! "kidnapped up to 16 advisers" is read as a phrasal "kidnapped up" with "to 16" its
//! oblique, and the verb loses its object: "up to" before a number is left out the same
//! way and hangs from the number.

use super::super::syntax::{Parse, Rel, Syntax, Tag};

const TIME_WORDS: &[&str] = &["today", "yesterday", "tonight", "tomorrow"];

/// The parse of a sentence's words.
pub fn parse(syntax: &Syntax, words: &[&str]) -> Parse {
    let starts_with = |i: usize, lower: bool| {
        words[i]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() && (!lower || c.is_lowercase()))
    };
    let is_time_word = |i: usize| {
        i > 0
            && i + 1 < words.len()
            && TIME_WORDS.iter().any(|t| words[i].eq_ignore_ascii_case(t))
            && starts_with(i - 1, false)
            && starts_with(i + 1, true)
    };
    let up_to_number = |i: usize| {
        i + 2 < words.len()
            && words[i].eq_ignore_ascii_case("up")
            && words[i + 1] == "to"
            && words[i + 2].starts_with(|c: char| c.is_ascii_digit())
    };
    let is_bound = |i: usize| up_to_number(i) || (i > 0 && up_to_number(i - 1));
    let (aside, kept): (Vec<usize>, Vec<usize>) =
        (0..words.len()).partition(|&i| is_time_word(i) || is_bound(i));
    if aside.is_empty() {
        return syntax.parse(words);
    }
    let inner = syntax.parse(&kept.iter().map(|&i| words[i]).collect::<Vec<_>>());
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
        if is_bound(i) {
            let number = if up_to_number(i) { i + 2 } else { i + 1 };
            parse.tags[i] = Tag::ADV;
            (parse.heads[i], parse.rels[i]) = (Some(number), Rel::ADVMOD);
            continue;
        }
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
    use crate::stage::reference::for_tests;

    fn syntax() -> &'static Syntax {
        &for_tests().extract.syntax
    }

    #[test]
    fn a_time_word_after_the_subject_leaves_it_the_subject() {
        let words = ["Denmark", "today", "accepted", "the", "plan", "."];
        let parse = parse(syntax(), &words);
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
        assert_eq!(super::parse(syntax(), &plain), syntax().parse(&plain));
    }

    #[test]
    fn up_to_a_number_leaves_the_verb_its_object() {
        let words = [
            "Rebels",
            "have",
            "kidnapped",
            "up",
            "to",
            "16",
            "Russian",
            "civilian",
            "advisers",
            "from",
            "a",
            "bazaar",
            ".",
        ];
        let parse = parse(syntax(), &words);
        assert_eq!(
            (parse.heads[8], parse.rels[8]),
            (Some(2), Rel::OBJ),
            "{parse:?}"
        );
        assert_eq!(parse.heads[3], Some(5), "{parse:?}");
        assert_eq!(parse.heads[4], Some(5), "{parse:?}");
    }
}
