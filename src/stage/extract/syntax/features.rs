//! What the models see of a word, and how a feature becomes a key.
//!
//! A feature is a template number and up to three values (a word's form, a tag, a
//! distance, ...), hashed into 64 bits. The hashes are this module's own (FNV-1a over the
//! bytes, a splitmix64 finaliser to combine), so a model file stays valid whatever the
//! hash crates in the build do.

use crate::hash::{fnv1a, mix};

/// A feature key: never zero, which marks an empty slot in a weight table.
pub type Key = u64;

/// A word as the models see it, hashed once per sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    /// The lower-case form, digits folded ("1998" and "2003" are one year, "3.5" and "12"
    /// one number).
    pub form: u64,
    /// The last three characters, lower case.
    pub suffix: u64,
    /// The first character, lower case.
    pub prefix: u64,
    /// Upper case, lower case, digits and other characters, runs cut at two ("Xxx", "dd").
    pub shape: u64,
    pub capitalised: bool,
}

/// A word in a stack buffer when it is short: every token of a parsed sentence is folded.
const SHORT: usize = 32;

impl Word {
    pub fn new(text: &str) -> Self {
        let mut buffer = [0u8; SHORT];
        let owned: String;
        let lower: &str = if text.is_ascii() && text.len() <= SHORT {
            let bytes = &mut buffer[..text.len()];
            bytes.copy_from_slice(text.as_bytes());
            bytes.make_ascii_lowercase();
            std::str::from_utf8(bytes).unwrap_or_default()
        } else {
            owned = text.to_lowercase();
            &owned
        };
        let form = if lower.bytes().any(|b| b.is_ascii_digit()) {
            fnv1a(digit_class(lower).as_bytes())
        } else {
            fnv1a(lower.as_bytes())
        };
        let chars = lower.chars().count();
        let suffix_start = lower
            .char_indices()
            .nth(chars.saturating_sub(3))
            .map_or(0, |(i, _)| i);
        let prefix_end = lower.chars().next().map_or(0, char::len_utf8);
        Self {
            form,
            suffix: fnv1a(&lower.as_bytes()[suffix_start..]),
            prefix: fnv1a(&lower.as_bytes()[..prefix_end]),
            shape: shape(text),
            capitalised: text.chars().next().is_some_and(char::is_uppercase),
        }
    }

    /// Stands before the first word and after the last one.
    pub const PADDING: Word = Word {
        form: 1,
        suffix: 1,
        prefix: 1,
        shape: 1,
        capitalised: false,
    };
}

/// "<year>" for 1900-2099, "<number>" for digits with separators, else the word with its
/// digits as zeros ("f-16" → "f-00").
fn digit_class(lower: &str) -> String {
    let year = lower.len() == 4
        && lower.bytes().all(|b| b.is_ascii_digit())
        && (lower.starts_with("19") || lower.starts_with("20"));
    if year {
        return "<year>".to_owned();
    }
    if lower
        .bytes()
        .all(|b| b.is_ascii_digit() || b",.:/-".contains(&b))
    {
        return "<number>".to_owned();
    }
    lower
        .chars()
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect()
}

fn shape(text: &str) -> u64 {
    let mut shape = String::with_capacity(8);
    let mut last = '\0';
    let mut run = 0;
    for c in text.chars() {
        let class = if c.is_uppercase() {
            'X'
        } else if c.is_lowercase() {
            'x'
        } else if c.is_ascii_digit() {
            'd'
        } else {
            c
        };
        run = if class == last { run + 1 } else { 1 };
        last = class;
        if run <= 2 {
            shape.push(class);
        }
        if shape.len() >= 12 {
            break;
        }
    }
    fnv1a(shape.as_bytes())
}

/// The key of template `template` over values `a`, `b` and `c` (zero where unused).
#[inline]
pub fn key(template: u8, a: u64, b: u64, c: u64) -> Key {
    let k = mix(mix(mix(u64::from(template) ^ 0x5851_f42d_4c95_7f2d) ^ a) ^ b.rotate_left(21))
        ^ c.rotate_left(42);
    // Zero marks an empty slot in a weight table.
    mix(k).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_fold_case_digits_and_shape() {
        assert_eq!(Word::new("Troops").form, Word::new("troops").form);
        assert_eq!(Word::new("1998").form, Word::new("2003").form);
        assert_eq!(Word::new("3.5").form, Word::new("12").form);
        assert_ne!(Word::new("1998").form, Word::new("12").form);
        assert_eq!(Word::new("Putin").shape, Word::new("Obama").shape);
        assert_ne!(Word::new("NATO").shape, Word::new("Nato").shape);
        assert_eq!(Word::new("attacked").suffix, Word::new("backed").suffix);
        assert!(Word::new("Élysée").capitalised);
        // A long or non-ASCII word takes the slow path to the same folding.
        let long = "Supercalifragilisticexpialidociously-Long";
        assert_eq!(Word::new(long).form, Word::new(&long.to_lowercase()).form);
    }

    #[test]
    fn keys_depend_on_template_and_every_value() {
        let base = key(1, 2, 3, 4);
        assert_ne!(base, key(2, 2, 3, 4));
        assert_ne!(base, key(1, 3, 3, 4));
        assert_ne!(base, key(1, 2, 4, 4));
        assert_ne!(base, key(1, 2, 3, 5));
        assert_ne!(key(1, 2, 3, 0), key(1, 3, 2, 0));
        assert_ne!(key(0, 0, 0, 0), 0);
    }
}
