//! A 64-bit SimHash of the article's text: copies of one article (a syndicated wire story,
//! a re-scraped page) get fingerprints a few bits apart, so they can be found by Hamming
//! distance.

use crate::hash::{fnv, mix, FNV_OFFSET};

/// Words per shingle: three keeps word order in the hash without making one edited word
/// change too many features.
const SHINGLE: usize = 3;

/// The SimHash of the text's lowercased word 3-grams, as 16 hex digits.
pub fn simhash(text: &str) -> String {
    let words = word_hashes(text);
    // Texts shorter than a shingle are one feature; an empty text has none.
    let width = SHINGLE.min(words.len()).max(1);
    let features = words
        .windows(width)
        .map(|shingle| mix(shingle.iter().fold(0u64, |acc, w| acc.rotate_left(17) ^ w)));
    format!("{:016x}", majority_bits(features))
}

/// Bit `i` of the result is set when bit `i` is set in more than half of the features.
/// The per-bit counts are kept eight to a word, one byte each, by adding a table entry per
/// feature byte: eight additions per feature instead of sixty-four.
fn majority_bits(features: impl Iterator<Item = u64>) -> u64 {
    let mut ones = [0u32; 64];
    let mut lanes = [0u64; 8];
    let mut pending = 0u32;
    let mut total = 0u32;
    let flush = |lanes: &mut [u64; 8], ones: &mut [u32; 64]| {
        for (byte, lane) in lanes.iter_mut().enumerate() {
            for (bit, count) in lane.to_le_bytes().into_iter().enumerate() {
                ones[byte * 8 + bit] += u32::from(count);
            }
            *lane = 0;
        }
    };
    for feature in features {
        for (byte, lane) in lanes.iter_mut().enumerate() {
            *lane += SPREAD[usize::from(feature.to_le_bytes()[byte])];
        }
        total += 1;
        pending += 1;
        // A byte lane holds at most 255 before it would carry into its neighbour.
        if pending == 255 {
            flush(&mut lanes, &mut ones);
            pending = 0;
        }
    }
    flush(&mut lanes, &mut ones);
    ones.iter()
        .enumerate()
        .filter(|(_, count)| 2 * **count > total)
        .fold(0u64, |acc, (bit, _)| acc | 1 << bit)
}

/// Byte `b` spread over the eight bytes of a word: byte `i` is bit `i` of `b`.
const SPREAD: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let mut bit = 0;
        while bit < 8 {
            table[b] |= ((b as u64 >> bit) & 1) << (bit * 8);
            bit += 1;
        }
        b += 1;
    }
    table
};

/// The hash of each word (a run of letters and digits), lowercased so case does not
/// change the fingerprint. ASCII, most of any text, is split and lowercased bytewise; only
/// other characters are decoded.
pub(crate) fn word_hashes(text: &str) -> Vec<u64> {
    // About one word per six bytes of news text.
    let mut hashes = Vec::with_capacity(text.len() / 6);
    let mut hash = FNV_OFFSET;
    let mut in_word = false;
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        // ASCII needs no decoding; any other character is decoded once.
        let decoded = (!byte.is_ascii()).then(|| text[i..].chars().next().unwrap_or_default());
        let letters = decoded.map_or(byte.is_ascii_alphanumeric(), char::is_alphanumeric);
        if !letters {
            if in_word {
                hashes.push(hash);
                hash = FNV_OFFSET;
                in_word = false;
            }
        } else if let Some(c) = decoded {
            let mut buffer = [0u8; 4];
            for lower in c.to_lowercase() {
                hash = lower.encode_utf8(&mut buffer).bytes().fold(hash, fnv);
            }
            in_word = true;
        } else {
            hash = fnv(hash, byte.to_ascii_lowercase());
            in_word = true;
        }
        i += decoded.map_or(1, char::len_utf8);
    }
    if in_word {
        hashes.push(hash);
    }
    hashes
}

#[cfg(test)]
mod tests {
    use super::{majority_bits, simhash};

    fn distance(a: &str, b: &str) -> u32 {
        let (a, b) = (
            u64::from_str_radix(a, 16).unwrap(),
            u64::from_str_radix(b, 16).unwrap(),
        );
        (a ^ b).count_ones()
    }

    #[test]
    fn near_copies_are_close_and_other_texts_far() {
        let text = "Xi Jinping will visit Kazakhstan as a state guest and attend the \
                    Shanghai Cooperation Organisation summit, where Putin will also be present \
                    and the two leaders are scheduled to hold a bilateral meeting.";
        let edited = text.replace("state guest", "state visitor");
        let other = "Quarterly profits at the media group jumped by three quarters to \
                     more than a billion dollars in the three months to December.";
        assert_eq!(simhash(text).len(), 16);
        assert_eq!(simhash(text), simhash(&text.to_uppercase()));
        assert_eq!(
            simhash("Zürich Straße café"),
            simhash("ZÜRICH straße CAFÉ"),
            "Unicode case folds too"
        );
        assert!(distance(&simhash(text), &simhash(&edited)) <= 12);
        assert!(distance(&simhash(text), &simhash(other)) > 16);
        assert_eq!(simhash(""), "0000000000000000");
    }

    #[test]
    fn fingerprints_stay_the_same_across_versions() {
        // Stored fingerprints are compared with new ones: these values must not change.
        assert_eq!(
            simhash("Xi Jinping will visit Kazakhstan."),
            "8654b95b20a8cd0b"
        );
        assert_eq!(
            simhash("Profits rose to £600m (€700m) at Zürich’s café chain."),
            "b866a1e099500609"
        );
    }

    #[test]
    fn majority_bits_agrees_with_counting_each_bit() {
        // Enough features to overflow a byte lane several times over.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let features: Vec<u64> = (0..2000)
            .map(|_| {
                state = crate::hash::mix(state.wrapping_add(0x9e37_79b9_7f4a_7c15));
                // Skew the bits so the majorities are not all coin flips.
                state | (state >> 7) & 0xff00_ff00_ff00_ff00
            })
            .collect();
        for n in [0, 1, 2, 254, 255, 256, 511, 2000] {
            let slice = &features[..n];
            let expected = (0..64).fold(0u64, |acc, bit| {
                let ones = slice.iter().filter(|f| *f >> bit & 1 == 1).count();
                if 2 * ones > n {
                    acc | 1 << bit
                } else {
                    acc
                }
            });
            assert_eq!(
                majority_bits(slice.iter().copied()),
                expected,
                "{n} features"
            );
        }
    }
}
