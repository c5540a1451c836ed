//! Word classes: the small closed lists the extractors test words against (titles,
//! organisation heads, future and past cues, ...). Each token carries the set of classes
//! its lower-case form belongs to, looked up once when the text is tokenized, so a test
//! is a bit check rather than a list scan.

use rustc_hash::FxHashMap;

/// A set of word classes, as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WordClass(u32);

impl WordClass {
    pub fn contains(self, other: WordClass) -> bool {
        self.0 & other.0 != 0
    }

    /// These classes and `other`'s when `on`.
    pub(super) fn with(self, other: WordClass, on: bool) -> Self {
        if on {
            Self(self.0 | other.0)
        } else {
            self
        }
    }
}

/// Marks of a token's shape and place, kept in the bits its classes leave free, so that
/// a token stays small: a 10 MB article has two million of them. The lists below take
/// the low bits.
/// Starts with a letter or digit.
pub(super) const WORD: WordClass = WordClass(1 << 28);
/// Starts with an upper-case letter.
pub(super) const CAPITALISED: WordClass = WordClass(1 << 29);
/// Has an upper-case letter, so its lower case is a new string.
pub(super) const HAS_UPPER_CASE: WordClass = WordClass(1 << 30);
/// Opens a paragraph.
pub(super) const PARAGRAPH_START: WordClass = WordClass(1 << 31);
const _: () = assert!(DATE_CUES.0 < WORD.0, "a word list took a shape mark's bit");

/// Words that open a title before a person's name.
pub const TITLES: WordClass = WordClass(1 << 0);
#[rustfmt::skip]
const TITLES_LIST: &[&str] = &[
    "president", "minister", "chancellor", "premier", "king", "queen", "prince", "princess",
    "professor", "prof.", "dr.", "dr", "mr.", "mrs.", "ms.", "mr", "mrs", "ms", "gen.",
    "general", "senator", "sen.", "rep.", "representative", "governor", "gov.", "secretary",
    "ambassador", "chairman", "chairwoman", "chair", "director", "pope", "judge", "justice",
    "mayor", "spokesman", "spokeswoman", "spokesperson", "commander", "colonel", "col.",
    "captain", "capt.", "lieutenant", "lt.", "sheikh", "emir", "sultan", "envoy", "cardinal",
    "bishop", "archbishop", "rabbi", "imam", "sir", "lord", "lady", "dame", "sergeant", "sgt.",
    "admiral", "adm.", "marshal", "ceo", "chief", "executive", "founder", "coach", "manager",
    "rev.", "reverend", "father", "brother", "sister", "minister-president", "vice-president",
    "leader", "dictator", "monarch", "crown", "speaker", "deputy", "economist", "analyst",
    "researcher", "author", "lawmaker", "legislator", "officer", "official", "negotiator",
];

/// Last words of organisation names.
pub const ORGANISATION_HEADS: WordClass = WordClass(1 << 1);
#[rustfmt::skip]
const ORGANISATION_HEADS_LIST: &[&str] = &[
    "organisation", "organization", "university", "ministry", "bank", "council", "party",
    "agency", "union", "association", "federation", "committee", "commission", "corporation",
    "corp.", "inc.", "ltd.", "co.", "company", "group", "institute", "fund", "programme",
    "program", "army", "navy", "forces", "force", "police", "court", "parliament", "assembly",
    "congress", "senate", "office", "department", "foundation", "alliance", "authority",
    "board", "bureau", "centre", "center", "college", "school", "academy", "front", "movement",
    "network", "times", "post", "news", "press", "service", "airlines", "airways", "motors",
    "industries", "holdings", "exchange", "reserve", "league", "society", "church", "club",
    "team", "guard", "cabinet", "government", "administration", "republic", "coalition",
    "brigade", "brigades", "battalion", "museum", "hospital", "agency", "trust", "partners",
    "capital", "securities", "media", "broadcasting", "television", "radio", "journal",
    "herald", "tribune", "gazette", "review", "telegraph", "guardian", "chamber",
];

/// Last words of place names.
pub const LOCATION_HEADS: WordClass = WordClass(1 << 2);
#[rustfmt::skip]
const LOCATION_HEADS_LIST: &[&str] = &[
    "peninsula", "sea", "ocean", "river", "island", "islands", "mountains", "mountain",
    "strait", "straits", "gulf", "bay", "valley", "desert", "province", "region", "lake",
    "coast", "canal", "heights", "plateau", "basin", "county", "district", "city", "square",
    "street", "avenue", "airport", "port", "border", "bank", "strip", "hills", "highlands",
    "archipelago", "delta", "plain", "plains", "territory", "territories", "state",
];

/// Words that may join two capitalised parts of one name ("Hankuk University of Foreign
/// Studies", "Charles de Gaulle"); "of" and "for" only after an organisation or place head.
pub const HEAD_CONNECTORS: WordClass = WordClass(1 << 3);
const HEAD_CONNECTORS_LIST: &[&str] = &["of", "for", "on", "and"];

pub const NAME_PARTICLES: WordClass = WordClass(1 << 4);
#[rustfmt::skip]
const NAME_PARTICLES_LIST: &[&str] = &[
    "de", "du", "des", "la", "le", "von", "van", "der", "den", "bin", "ibn", "al", "el", "da",
    "di", "dos", "das", "y", "ben", "abu",
];

/// Capitalised words that are not names on their own: sentence openers, pronouns,
/// determiners, numbers, months and days.
pub const STOPWORDS: WordClass = WordClass(1 << 5);
#[rustfmt::skip]
const STOPWORDS_LIST: &[&str] = &[
    "the", "a", "an", "this", "that", "these", "those", "it", "its", "he", "she", "they", "we",
    "i", "you", "his", "her", "their", "our", "my", "your", "there", "here", "while", "with",
    "without", "although", "though", "despite", "depending", "due", "on", "at", "in", "into",
    "of", "for", "from", "by", "to", "as", "and", "but", "or", "nor", "so", "yet", "if", "when",
    "where", "whether", "which", "who", "whom", "whose", "what", "why", "how", "after",
    "before", "since", "until", "during", "moreover", "however", "meanwhile", "also",
    "starting", "following", "according", "under", "over", "about", "against", "between",
    "among", "amid", "through", "throughout", "including", "both", "each", "every", "all",
    "some", "many", "most", "more", "other", "another", "such", "no", "not", "one", "two",
    "three", "four", "five", "six", "seven", "eight", "nine", "ten", "first", "second", "third",
    "last", "next", "new", "then", "now", "today", "yesterday", "tomorrow", "monday", "tuesday",
    "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october", "november", "december",
    "jan.", "feb.", "mar.", "apr.", "jun.", "jul.", "aug.", "sep.", "sept.", "oct.", "nov.",
    "dec.", "experts", "officials", "analysts", "sources", "police", "mr", "however", "still",
    "even", "just", "only", "once", "again", "further", "instead", "indeed", "thus",
    "therefore", "nevertheless", "because", "unlike", "like", "please", "read", "see", "photo",
    "video", "image", "update", "breaking", "exclusive", "analysis", "opinion", "editorial",
    "comment", "said", "says", "will", "would", "could", "should", "can", "may", "might",
    "must", "do", "does", "did", "is", "are", "was", "were", "be", "been", "has", "have", "had",
    "let", "yes", "oh", "dear", "democracy", "authoritarianism", "western", "eastern",
    "northern", "southern", "central",
];

pub const SPEECH_VERBS: WordClass = WordClass(1 << 6);
#[rustfmt::skip]
const SPEECH_VERBS_LIST: &[&str] = &[
    "said", "says", "told", "added", "stated", "noted", "explained", "warned", "argued",
    "insisted", "claimed", "announced", "wrote", "asked", "replied", "recalled", "stressed",
    "emphasized", "emphasised", "commented", "declared", "tweeted", "acknowledged",
];

/// Words after which a trigger is a verb.
pub const VERB_CUES: WordClass = WordClass(1 << 7);
#[rustfmt::skip]
const VERB_CUES_LIST: &[&str] = &[
    "will", "would", "to", "shall", "may", "might", "can", "could", "must", "did", "does", "do",
    "not", "n't", "never", "is", "are", "was", "were", "be", "been", "also", "they", "he",
    "she", "we", "it", "who", "which", "and", "has", "have", "had", "jointly", "later",
];

pub const PLACE_PREPOSITIONS: WordClass = WordClass(1 << 8);
const PLACE_PREPOSITIONS_LIST: &[&str] =
    &["in", "at", "near", "from", "outside", "inside", "across"];

pub const SUBORDINATORS: WordClass = WordClass(1 << 9);
#[rustfmt::skip]
const SUBORDINATORS_LIST: &[&str] = &[
    "despite", "although", "though", "while", "if", "when", "after", "before", "as", "since",
    "depending", "with", "due", "following", "amid", "unlike", "because",
];

pub const NEGATIONS: WordClass = WordClass(1 << 10);
const NEGATIONS_LIST: &[&str] = &["not", "n't", "never", "no", "without", "nor"];

pub const UNCERTAIN_SENTENCE: WordClass = WordClass(1 << 11);
#[rustfmt::skip]
const UNCERTAIN_SENTENCE_LIST: &[&str] = &[
    "if", "whether", "unconfirmed", "reportedly", "possible", "possibly", "rumored", "rumoured",
    "allegedly", "unclear",
];

pub const UNCERTAIN_NEAR: WordClass = WordClass(1 << 12);
const UNCERTAIN_NEAR_LIST: &[&str] = &[
    "may",
    "might",
    "could",
    "considering",
    "consider",
    "mulling",
];

pub const PLANNED: WordClass = WordClass(1 << 13);
#[rustfmt::skip]
const PLANNED_LIST: &[&str] = &[
    "will", "’ll", "'ll", "shall", "expected", "scheduled", "plans", "plan", "planned",
    "planning", "upcoming", "set", "going", "imminent", "intends", "intend", "would", "aims",
    "prepares", "preparing", "forthcoming", "proposed", "next",
];

pub const OCCURRED: WordClass = WordClass(1 << 14);
#[rustfmt::skip]
const OCCURRED_LIST: &[&str] = &[
    "was", "were", "did", "held", "last", "earlier", "ago", "yesterday",
];

pub const PARTICIPATION: WordClass = WordClass(1 << 15);
#[rustfmt::skip]
const PARTICIPATION_LIST: &[&str] = &[
    "attend", "attends", "attended", "attending", "present", "join", "joins", "joined",
    "joining", "participate", "participates", "participated", "participating", "part", "have",
    "has", "had", "having", "hold", "holds", "held", "holding", "host", "hosts", "hosted",
    "hosting",
];

/// Words that may stand between a participation verb and its event noun.
pub const NOUN_LEAD_INS: WordClass = WordClass(1 << 16);
#[rustfmt::skip]
const NOUN_LEAD_INS_LIST: &[&str] = &[
    "the", "a", "an", "its", "their", "his", "her", "at", "in", "of", "bilateral", "trilateral",
    "two-day", "three-day", "annual", "emergency", "joint", "upcoming", "first", "second",
    "new", "another", "talks", "summit", "meeting", "formal", "informal", "special",
];

/// Words that may modify an event noun without ending its modifiers.
pub const MODIFIER_WORDS: WordClass = WordClass(1 << 17);
#[rustfmt::skip]
const MODIFIER_WORDS_LIST: &[&str] = &[
    "bilateral", "trilateral", "two-day", "three-day", "annual", "emergency", "joint",
    "upcoming", "military", "(", ")", "’s", "'s", "de", "facto", "-", "peace", "trade",
    "security", "leaders", "ministerial", "formal", "informal", "special", "high-level",
];

pub const SPEECH_TAIL: WordClass = WordClass(1 << 18);
#[rustfmt::skip]
const SPEECH_TAIL_LIST: &[&str] = &[
    "said", "says", "reported", "announced", "confirmed", "told", "according", "stated",
    "quoted", "added",
];

/// Collective references to earlier parties: "the two leaders", "both countries".
pub const COLLECTIVE_NOUNS: WordClass = WordClass(1 << 19);
const COLLECTIVE_NOUNS_LIST: &[&str] = &[
    "leaders",
    "countries",
    "nations",
    "sides",
    "presidents",
    "governments",
    "states",
];

/// Words that state an intent before an action: "is ready to withdraw", "vowed to fight".
pub const INTENT_LEAD_INS: WordClass = WordClass(1 << 20);
const INTENT_LEAD_INS_LIST: &[&str] = &[
    "ready", "willing", "prepared", "offered", "offers", "offer", "intends", "intend", "vowed",
    "vows", "sworn", "swore", "pledged", "promised", "plans", "planned",
];

pub const SAYING: WordClass = WordClass(1 << 21);
const SAYING_LIST: &[&str] = &[
    "said",
    "says",
    "announced",
    "declared",
    "stated",
    "confirmed",
    "told",
    "saying",
];

/// Words that may be part of a date ("July", "Tuesday", "yesterday", "next week").
pub const DATE_CUES: WordClass = WordClass(1 << 22);
#[rustfmt::skip]
const DATE_CUES_LIST: &[&str] = &[
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan.", "feb.", "mar.", "apr.", "jun.", "jul.", "aug.",
    "sep.", "sept.", "oct.", "nov.", "dec.", "monday", "tuesday", "wednesday", "thursday",
    "friday", "saturday", "sunday", "yesterday", "today", "tomorrow", "tonight", "week",
    "month", "year",
];

const CLASSES: &[(WordClass, &[&str])] = &[
    (DATE_CUES, DATE_CUES_LIST),
    (TITLES, TITLES_LIST),
    (ORGANISATION_HEADS, ORGANISATION_HEADS_LIST),
    (LOCATION_HEADS, LOCATION_HEADS_LIST),
    (HEAD_CONNECTORS, HEAD_CONNECTORS_LIST),
    (NAME_PARTICLES, NAME_PARTICLES_LIST),
    (STOPWORDS, STOPWORDS_LIST),
    (SPEECH_VERBS, SPEECH_VERBS_LIST),
    (VERB_CUES, VERB_CUES_LIST),
    (PLACE_PREPOSITIONS, PLACE_PREPOSITIONS_LIST),
    (SUBORDINATORS, SUBORDINATORS_LIST),
    (NEGATIONS, NEGATIONS_LIST),
    (UNCERTAIN_SENTENCE, UNCERTAIN_SENTENCE_LIST),
    (UNCERTAIN_NEAR, UNCERTAIN_NEAR_LIST),
    (PLANNED, PLANNED_LIST),
    (OCCURRED, OCCURRED_LIST),
    (PARTICIPATION, PARTICIPATION_LIST),
    (NOUN_LEAD_INS, NOUN_LEAD_INS_LIST),
    (MODIFIER_WORDS, MODIFIER_WORDS_LIST),
    (SPEECH_TAIL, SPEECH_TAIL_LIST),
    (COLLECTIVE_NOUNS, COLLECTIVE_NOUNS_LIST),
    (INTENT_LEAD_INS, INTENT_LEAD_INS_LIST),
    (SAYING, SAYING_LIST),
];

/// Every word of the lists with the classes it belongs to.
pub struct WordClasses {
    by_word: FxHashMap<&'static str, WordClass>,
    /// The longest word in any class, in bytes: longer words need no lookup.
    longest: usize,
}

impl Default for WordClasses {
    fn default() -> Self {
        let mut by_word: FxHashMap<&'static str, WordClass> = FxHashMap::default();
        for (class, words) in CLASSES {
            for word in *words {
                by_word.entry(word).or_default().0 |= class.0;
            }
        }
        let longest = by_word.keys().map(|w| w.len()).max().unwrap_or(0);
        Self { by_word, longest }
    }
}

impl WordClasses {
    /// The classes a lower-case word belongs to.
    pub fn of(&self, lower: &str) -> WordClass {
        if lower.len() > self.longest {
            return WordClass::default();
        }
        self.by_word.get(lower).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::reference::for_tests;

    #[test]
    fn a_word_may_belong_to_several_classes() {
        let classes = &for_tests().extract.words;
        let will = classes.of("will");
        assert!(will.contains(PLANNED) && will.contains(VERB_CUES));
        assert!(!will.contains(OCCURRED));
        assert_eq!(classes.of("kazakhstan"), WordClass::default());
    }

    #[test]
    fn the_lists_leave_the_shape_marks_free() {
        let marks = WORD.0 | CAPITALISED.0 | HAS_UPPER_CASE.0 | PARAGRAPH_START.0;
        let classes = &for_tests().extract.words;
        assert!(classes.by_word.values().all(|c| c.0 & marks == 0));
    }
}
