//! The article's language as an ISO 639-1 code.
//!
//! Function words settle the common Latin-script languages of news cheaply; whatlang's
//! trigram model, several times slower, decides the rest.

use rustc_hash::FxHashMap;

use crate::folded::ascii_lower;
use crate::record::floor_char_boundary;

/// Bytes of text given to identification: a couple of paragraphs settle the language,
/// and identification costs grow with the text.
const SAMPLE_BYTES: usize = 1024;

/// Frequent function words of each language. A word may sit in two lists: only a clear
/// lead counts.
const FUNCTION_WORDS: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "the", "and", "of", "to", "is", "that", "was", "for", "with", "have", "it", "on", "be",
            "are", "by", "from", "has", "said", "this", "will", "were", "which", "its", "at",
        ],
    ),
    (
        "de",
        &[
            "der", "die", "und", "das", "ist", "nicht", "mit", "sich", "auf", "dem", "den", "ein",
            "eine", "zu", "von",
        ],
    ),
    (
        "fr",
        &[
            "le", "les", "et", "des", "est", "une", "du", "dans", "pour", "qui", "la", "au", "sur",
            "pas", "par",
        ],
    ),
    (
        "es",
        &[
            "el", "los", "y", "las", "del", "por", "una", "con", "para", "es", "la", "que", "se",
            "al", "como",
        ],
    ),
    (
        "it",
        &[
            "il", "di", "che", "è", "della", "per", "gli", "con", "non", "sono", "la", "del", "un",
            "nel", "alla",
        ],
    ),
    (
        "pt",
        &[
            "o", "os", "do", "da", "não", "uma", "em", "dos", "com", "das", "que", "no", "na",
            "se", "ao",
        ],
    ),
    (
        "nl",
        &[
            "het", "een", "van", "en", "niet", "zijn", "op", "voor", "met", "ook", "de", "dat",
            "te", "aan", "er",
        ],
    ),
];

/// Bytes of the longest function word: longer words are not looked up.
const LONGEST_FUNCTION_WORD: usize = 5;
/// Words read for the function-word count.
const FUNCTION_SAMPLE_WORDS: usize = 120;

/// The function words of each language, by word: what identifies the common languages.
pub struct Languages {
    /// Each function word with the languages (bits, in the order of [`FUNCTION_WORDS`]) it
    /// belongs to.
    by_word: FxHashMap<&'static str, u8>,
}

impl Languages {
    pub fn new() -> Self {
        let mut by_word: FxHashMap<&'static str, u8> = FxHashMap::default();
        for (i, (_, words)) in FUNCTION_WORDS.iter().enumerate() {
            for word in *words {
                *by_word.entry(word).or_default() |= 1 << i;
            }
        }
        Self { by_word }
    }

    /// The identified language of `text`, or the declared one (a feed field, `<html lang>`)
    /// where identification is unsure.
    pub fn identify(&self, text: &str, declared: Option<&str>) -> Option<String> {
        let sample = &text[..floor_char_boundary(text, SAMPLE_BYTES)];
        self.by_function_words(text)
            .or_else(|| {
                whatlang::detect(sample)
                    .filter(whatlang::Info::is_reliable)
                    .and_then(|info| iso_639_1(info.lang().code()))
            })
            .map(str::to_owned)
            .or_else(|| declared.and_then(primary_subtag))
    }

    /// A language whose function words make a good share of the first words and clearly
    /// outnumber every other language's.
    fn by_function_words(&self, text: &str) -> Option<&'static str> {
        let mut counts = [0usize; FUNCTION_WORDS.len()];
        let mut words = 0;
        let mut buffer = [0u8; LONGEST_FUNCTION_WORD];
        for word in text.split_whitespace().take(FUNCTION_SAMPLE_WORDS) {
            words += 1;
            let word = word.trim_matches(|c: char| !c.is_alphabetic());
            if word.len() > LONGEST_FUNCTION_WORD {
                continue;
            }
            let owned;
            let lower = match ascii_lower(word, &mut buffer) {
                Some(lower) => lower,
                None => {
                    owned = word.to_lowercase();
                    owned.as_str()
                }
            };
            let languages = self.by_word.get(lower).copied().unwrap_or(0);
            for (i, count) in counts.iter_mut().enumerate() {
                if languages & (1 << i) != 0 {
                    *count += 1;
                }
            }
        }
        let mut ranked: Vec<(usize, &str)> = counts
            .iter()
            .zip(FUNCTION_WORDS)
            .map(|(count, (code, _))| (*count, *code))
            .collect();
        ranked.sort_unstable_by_key(|&(count, _)| std::cmp::Reverse(count));
        let (best, code) = ranked[0];
        let runner_up = ranked[1].0;
        (words >= 30 && best * 6 >= words && best >= runner_up * 4).then_some(code)
    }
}

/// "en-US" → "en"; anything that is not a two-letter code is dropped.
fn primary_subtag(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?;
    (primary.len() == 2 && primary.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| primary.to_ascii_lowercase())
}

/// The two-letter code of each language whatlang knows (by its ISO 639-3 code).
fn iso_639_1(code: &str) -> Option<&'static str> {
    Some(match code {
        "epo" => "eo",
        "eng" => "en",
        "rus" => "ru",
        "cmn" => "zh",
        "spa" => "es",
        "por" => "pt",
        "ita" => "it",
        "ben" => "bn",
        "fra" => "fr",
        "deu" => "de",
        "ukr" => "uk",
        "kat" => "ka",
        "ara" => "ar",
        "hin" => "hi",
        "jpn" => "ja",
        "heb" => "he",
        "yid" => "yi",
        "pol" => "pl",
        "amh" => "am",
        "jav" => "jv",
        "kor" => "ko",
        "nob" => "nb",
        "dan" => "da",
        "swe" => "sv",
        "fin" => "fi",
        "tur" => "tr",
        "nld" => "nl",
        "hun" => "hu",
        "ces" => "cs",
        "ell" => "el",
        "bul" => "bg",
        "bel" => "be",
        "mar" => "mr",
        "kan" => "kn",
        "ron" => "ro",
        "slv" => "sl",
        "hrv" => "hr",
        "srp" => "sr",
        "mkd" => "mk",
        "lit" => "lt",
        "lav" => "lv",
        "est" => "et",
        "tam" => "ta",
        "vie" => "vi",
        "urd" => "ur",
        "tha" => "th",
        "guj" => "gu",
        "uzb" => "uz",
        "pan" => "pa",
        "aze" => "az",
        "ind" => "id",
        "tel" => "te",
        "pes" => "fa",
        "mal" => "ml",
        "ori" => "or",
        "mya" => "my",
        "nep" => "ne",
        "sin" => "si",
        "khm" => "km",
        "tuk" => "tk",
        "aka" => "ak",
        "zul" => "zu",
        "sna" => "sn",
        "afr" => "af",
        "lat" => "la",
        "slk" => "sk",
        "cat" => "ca",
        "tgl" => "tl",
        "hye" => "hy",
        "cym" => "cy",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifies_or_falls_back_to_the_declared_language() {
        let english = "The two leaders are scheduled to have a bilateral meeting separate \
                       from the two-day summit, and the world is watching closely.";
        let languages = Languages::new();
        let identify = |text, declared| languages.identify(text, declared);
        assert_eq!(identify(english, None).as_deref(), Some("en"));
        let german = "Die Regierung hat am Montag ein neues Gesetz beschlossen, das die \
                      Steuern senkt. Der Bundestag wird in der kommenden Woche darüber \
                      beraten, sagte ein Sprecher, und die Opposition ist nicht einverstanden \
                      mit dem Plan, der sich auf die Mitte der Gesellschaft richtet.";
        assert_eq!(languages.by_function_words(german), Some("de"));
        assert_eq!(identify(german, None).as_deref(), Some("de"));
        assert_eq!(
            languages.by_function_words(english),
            None,
            "too few words to count"
        );
        let mut words = FUNCTION_WORDS.iter().flat_map(|(_, words)| words.iter());
        assert!(words.all(|w| w.len() <= LONGEST_FUNCTION_WORD));
        assert_eq!(identify("", Some("de-DE")).as_deref(), Some("de"));
        assert_eq!(identify("", Some("klingon")), None);
    }
}
