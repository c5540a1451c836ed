//! Text normalisation shared by both input kinds: HTML entities, invisible characters,
//! whitespace runs and Unicode NFC. Typographic quotes and dashes are kept as written.

use std::borrow::Cow;

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// Appends `raw` to `out`: entities decoded, soft hyphens and zero-width characters
/// dropped, every whitespace run turned into one space (none at the start of `out`).
/// Returns the number of characters appended.
pub fn push_collapsed(out: &mut String, raw: &str) -> usize {
    let mut appended = 0;
    let mut rest = raw;
    while !rest.is_empty() {
        // Plain ASCII runs, nearly all of a page's text, are copied whole.
        let plain = rest
            .bytes()
            .position(|b| b >= 0x80 || b == b'&' || b.is_ascii_whitespace())
            .unwrap_or(rest.len());
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
        if is_invisible(decoded) {
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

/// The number of whitespace-separated words, counted bytewise when the text is ASCII (as
/// most is): several times faster than `split_whitespace` on long texts.
pub fn word_count(text: &str) -> usize {
    if !text.is_ascii() {
        return text.split_whitespace().count();
    }
    // As `char::is_whitespace`, which also counts the vertical tab.
    let space = |b: &u8| b.is_ascii_whitespace() || *b == 0x0b;
    let bytes = text.as_bytes();
    let previous = std::iter::once(&b' ').chain(bytes);
    bytes
        .iter()
        .zip(previous)
        .filter(|(byte, before)| !space(byte) && space(before))
        .count()
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

/// Soft hyphens, zero-width spaces and joiners, word joiners and byte-order marks: they
/// change no word but split shingles and tokens.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
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
        // Windows-1252 code points that pages send as numeric references.
        match code {
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
    fn collapses_whitespace_and_composes() {
        assert_eq!(normalize("  one \t two\n\nthree  "), "one two three");
        assert_eq!(normalize("cafe\u{0301}"), "café");
        assert_eq!(normalize("“quoted” ‘text’"), "“quoted” ‘text’");
    }
}
