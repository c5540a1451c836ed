//! Text normalisation shared by both input kinds: HTML entities, invisible characters,
//! whitespace runs and Unicode NFC. Typographic quotes and dashes are kept as written.

use std::borrow::Cow;

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use crate::record::is_invisible;

/// Appends `raw` to `out`: entities decoded, soft hyphens and zero-width characters
/// dropped, every whitespace run turned into one space (none at the start of `out`).
/// Returns the number of characters appended.
pub fn push_collapsed(out: &mut String, raw: &str) -> usize {
    let mut appended = 0;
    let mut rest = raw;
    while !rest.is_empty() {
        let plain = plain_run(rest.as_bytes());
        if plain > 0 {
            out.push_str(&rest[..plain]);
            appended += plain;
            rest = &rest[plain..];
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        let mut consumed = c.len_utf8();
        let decoded = if c == '&' {
            match decode_entity(rest) {
                Some((value, length)) => {
                    consumed = length;
                    value
                }
                None => c,
            }
        } else {
            c
        };
        rest = &rest[consumed..];
        if is_dropped(decoded) {
            continue;
        }
        if decoded.is_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
                appended += 1;
            }
            continue;
        }
        out.push(decoded);
        appended += 1;
    }
    appended
}

/// The length of the ASCII run at the start of `bytes` that [`push_collapsed`] copies
/// whole, nearly all of a page's text: no entity, and no whitespace but single spaces
/// between two other characters.
fn plain_run(bytes: &[u8]) -> usize {
    const CHUNK: usize = 16;
    // Whole chunks first, with tests the compiler vectorises: nothing that may need work
    // (control characters, '&', non-ASCII) and no space beside another.
    let mut end = 0;
    if bytes.first() != Some(&b' ') {
        while let Some(window) = bytes.get(end..=end + CHUNK) {
            let needs_work = window[..CHUNK].iter().fold(false, |any, &b| {
                any | !(0x20..0x7f).contains(&b) | (b == b'&')
            });
            let doubled = window
                .iter()
                .zip(&window[1..])
                .fold(false, |any, (&a, &b)| any | (a == b' ' && b == b' '));
            if needs_work
                || doubled
                || (window[CHUNK - 1] == b' ' && !window[CHUNK].is_ascii_graphic())
            {
                break;
            }
            end += CHUNK;
        }
    }
    while let Some(&byte) = bytes.get(end) {
        let plain = match byte {
            b' ' => {
                end > 0
                    && bytes
                        .get(end + 1)
                        .is_some_and(|next| next.is_ascii_graphic())
            }
            b'&' => false,
            // Control characters take the slow path, which drops them.
            _ => byte.is_ascii_graphic(),
        };
        if !plain {
            break;
        }
        end += 1;
    }
    end
}

/// The number of whitespace-separated words, as `split_whitespace` counts them, several
/// times faster on news text: blocks of ASCII are counted bytewise (a loop the compiler
/// vectorises), and elsewhere only the lead bytes of the few non-ASCII whitespace
/// characters (U+0085, U+00A0, U+1680, U+2000 to U+205F, U+3000) are decoded.
pub fn word_count(text: &str) -> usize {
    const BLOCK: usize = 64;
    // As `char::is_whitespace`: tab, line feed, vertical tab, form feed, carriage return.
    let ascii_space = |b: u8| b == b' ' || (b'\t'..=b'\r').contains(&b);
    let bytes = text.as_bytes();
    let mut words = 0;
    let mut after_space = true;
    let mut i = 0;
    while i < bytes.len() {
        let block = &bytes[i..bytes.len().min(i + BLOCK)];
        if block.is_ascii() {
            words += usize::from(after_space && !ascii_space(block[0]))
                + block
                    .iter()
                    .zip(&block[1..])
                    .filter(|&(&before, &b)| ascii_space(before) && !ascii_space(b))
                    .count();
            after_space = ascii_space(block[block.len() - 1]);
            i += block.len();
            continue;
        }
        // Character by character to the end of the block (or of the character across it).
        let end = i + block.len();
        while i < end {
            let (space, width) = match bytes[i] {
                b if b < 0x80 => (ascii_space(b), 1),
                0xC2 | 0xE1 | 0xE2 | 0xE3 => {
                    let c = text[i..].chars().next().unwrap_or_default();
                    (c.is_whitespace(), c.len_utf8())
                }
                // Any other byte is in a character that is not whitespace.
                _ => (false, 1),
            };
            words += usize::from(after_space && !space);
            after_space = space;
            i += width;
        }
    }
    words
}

/// One line or paragraph, normalised: see [`push_collapsed`], then trimmed and NFC.
pub fn normalize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    push_collapsed(&mut out, raw);
    let trimmed_len = out.trim_end().len();
    out.truncate(trimmed_len);
    into_nfc(out)
}

/// The NFC form, without copying text that is already in it (nearly all of it).
pub fn into_nfc(text: String) -> String {
    match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => text,
        _ => text.nfc().collect(),
    }
}

/// The text of an attribute value: entities decoded, whitespace collapsed.
pub fn attribute(raw: &str) -> Cow<'_, str> {
    if raw.contains(['&', '\n', '\t', '\r']) || raw.contains("  ") {
        Cow::Owned(normalize(raw))
    } else {
        Cow::Borrowed(raw.trim())
    }
}

/// Characters dropped from text: the invisible ones (they change no word but split
/// shingles and tokens, and bidi overrides can make text read other than it is stored),
/// and control characters other than whitespace (a NUL or an escape byte is no part of an
/// article, and breaks consumers downstream).
fn is_dropped(c: char) -> bool {
    is_invisible(c) || (c.is_control() && !c.is_whitespace())
}

/// Decodes the character reference at the start of `s` (which starts with `&`): its
/// value and its length in bytes. Unknown names are left as text.
fn decode_entity(s: &str) -> Option<(char, usize)> {
    let bytes = s.as_bytes();
    let end = bytes.iter().take(12).position(|&b| b == b';')?;
    let name = &s[1..end];
    let value = if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        // Windows-1252 code points that pages send as numeric references; NUL becomes
        // the replacement character, as HTML5 parsers make it.
        match code {
            0 => char::REPLACEMENT_CHARACTER,
            0x91 => '‘',
            0x92 => '’',
            0x93 => '“',
            0x94 => '”',
            0x96 => '–',
            0x97 => '—',
            _ => char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER),
        }
    } else {
        named_entity(name)?
    };
    Some((value, end + 1))
}

fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "nbsp" => '\u{00A0}',
        "shy" => '\u{00AD}',
        "zwj" => '\u{200D}',
        "zwnj" => '\u{200C}',
        "ndash" => '–',
        "mdash" => '—',
        "lsquo" => '‘',
        "rsquo" => '’',
        "sbquo" => '‚',
        "ldquo" => '“',
        "rdquo" => '”',
        "bdquo" => '„',
        "laquo" => '«',
        "raquo" => '»',
        "lsaquo" => '‹',
        "rsaquo" => '›',
        "hellip" => '…',
        "bull" => '•',
        "middot" => '·',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "deg" => '°',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "cent" => '¢',
        "sect" => '§',
        "para" => '¶',
        "times" => '×',
        "divide" => '÷',
        "plusmn" => '±',
        "frac12" => '½',
        "frac14" => '¼',
        "frac34" => '¾',
        "prime" => '′',
        "Prime" => '″',
        "thinsp" => '\u{2009}',
        "ensp" => '\u{2002}',
        "emsp" => '\u{2003}',
        "eacute" => 'é',
        "egrave" => 'è',
        "aacute" => 'á',
        "agrave" => 'à',
        "iacute" => 'í',
        "oacute" => 'ó',
        "uacute" => 'ú',
        "ntilde" => 'ñ',
        "ccedil" => 'ç',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "szlig" => 'ß',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_words_as_split_whitespace_does() {
        for text in [
            "",
            " ",
            "one",
            "  two  words ",
            "tab\tand\nnew\r\nline\x0bvertical\x0cfeed",
            "non-ASCII\u{a0}space café ends",
            "\u{85}next\u{2003}em\u{3000}ideographic\u{1680}ogham\u{202f}narrow ¥€ 終わり",
            &"ascii words for a whole block, then “quoted”\u{a0}text ".repeat(5),
            &format!("{}\u{2003}{}", "x".repeat(63), " y".repeat(40)),
        ] {
            assert_eq!(
                word_count(text),
                text.split_whitespace().count(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn decodes_entities_and_drops_invisible_characters() {
        assert_eq!(
            normalize("Tom&amp;Jerry&#8217;s co\u{00AD}op&nbsp;&#x2014; zero\u{200B}width"),
            "Tom&Jerry’s coop — zerowidth"
        );
        assert_eq!(normalize("a &unknown; b & c"), "a &unknown; b & c");
        assert_eq!(normalize("&#99999999;"), "\u{FFFD}");
    }

    #[test]
    fn control_and_bidi_characters_never_reach_the_text() {
        assert_eq!(normalize("a&#0;b"), "a\u{FFFD}b");
        assert_eq!(
            normalize("nul\u{0}byte esc\u{1b}[31m del\u{7f} c1\u{9b}"),
            "nulbyte esc[31m del c1"
        );
        assert_eq!(normalize("&#1;&#x7F;x&#x202E;y\u{202E}z\u{2066}w"), "xyzw");
        assert_eq!(normalize("tab\there\u{85}next"), "tab here next");
    }

    #[test]
    fn collapses_whitespace_and_composes() {
        assert_eq!(normalize("  one \t two\n\nthree  "), "one two three");
        assert_eq!(normalize("cafe\u{0301}"), "café");
        assert_eq!(normalize("“quoted” ‘text’"), "“quoted” ‘text’");
    }

    #[test]
    fn whitespace_runs_become_one_space_wherever_they_are() {
        // Each whitespace run, one space; none at the start; a trailing one kept.
        let reference = |raw: &str| {
            let mut out = String::new();
            for c in raw.chars() {
                if !c.is_whitespace() {
                    out.push(c);
                } else if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            out
        };
        for raw in [
            " a b",
            "a  b",
            "a \tb",
            "a b ",
            "a \u{a0}b",
            "a\u{a0} b",
            "é b c",
            "a b\n",
            "one two three four",
            "x \u{2003} y",
            "a sentence long enough to fill chunks,  then\ttabs and  doubles  ",
            "sixteen bytes ok then a space at the edge: abcdefghijklmn \u{a0}x",
            "abcdefghijklmno  p",
            "abcdefghijklmn \n",
        ] {
            let mut out = String::new();
            push_collapsed(&mut out, raw);
            assert_eq!(out, reference(raw), "{raw:?}");
        }
        let mut out = String::from("kept ");
        push_collapsed(&mut out, " after a space");
        assert_eq!(out, "kept after a space");
    }
}
