//! Recognising a page's furniture in one line of text: share and subscribe prompts,
//! comment forms, counters, credit lines, short all-caps labels, links and menus.
//!
//! The rules look at the shape of a line (length, case, letters, separators) and at a
//! small set of phrases every news CMS uses, never at one site's wording, and they only
//! fire on short lines, so an article sentence that mentions a comment or a newsletter
//! stays.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// What a line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Part of the article.
    Keep,
    /// Furniture, with the reason.
    Furniture(&'static str),
    /// A photo or copyright credit line naming the holder.
    Credit(String),
    /// A photo caption ending with its credit ("… (Image: Getty)"), naming the holder.
    Caption(String),
    /// A heading that starts the page's after-article part (comments, related stories):
    /// the article is over.
    EndOfArticle,
}

/// Prompts that are furniture in a line of up to [`PROMPT_MAX_WORDS`] words, whatever
/// the punctuation.
const PROMPTS: &[&str] = &[
    "please enter your",
    "leave a reply",
    "leave a comment",
    "post a comment",
    "add a comment",
    "your email address will not",
    "required fields are marked",
    "you must be logged in",
    "exit mobile version",
    "skip to content",
    "skip to main",
    "jump to navigation",
    "back to top",
    "sign up for our",
    "subscribe to our",
    "subscribe now",
    "follow us on",
    "like us on facebook",
    "share this",
    "share on facebook",
    "share on twitter",
    "share via",
    "share it with",
    "share this story",
    "click here to",
    "continue reading",
    "read the full",
    "all rights reserved",
    "we use cookies",
    "this site uses cookies",
    "this website uses cookies",
    "accept cookies",
    "privacy policy",
    "terms of use",
    "terms of service",
    "download the app",
    "get the app",
    "open in app",
    "listen to this article",
    "min read",
    "minute read",
];
const PROMPT_MAX_WORDS: usize = 16;

/// Labels that are furniture in a line of up to [`LABEL_MAX_WORDS`] words that is not a
/// sentence.
const LABELS: &[&str] = &[
    "comment",
    "reply",
    "share",
    "tweet",
    "follow",
    "whatsapp",
    "pinterest",
    "linkedin",
    "subscribe",
    "newsletter",
    "related",
    "read more",
    "read next",
    "see also",
    "more on this",
    "advertisement",
    "sponsored",
    "recommended",
    "most read",
    "most popular",
    "trending",
    "print",
    "e-mail",
    "email",
    "log in",
    "login",
    "sign in",
    "sign up",
    "register",
    "next article",
    "previous article",
    "next story",
    "previous story",
    "view all",
    "load more",
    "show more",
    "photo gallery",
    "watch:",
    "updated:",
    "posted:",
    "published:",
    "tags:",
    "topics:",
];
const LABEL_MAX_WORDS: usize = 5;
/// Words of an all-caps line taken for a label ("ADVERTISEMENT", "NO COMMENTS"); longer
/// ones are the article's own headings.
const SHOUTED_MAX_WORDS: usize = 3;
const COUNTER_MAX_CHARS: usize = 4;
const SEPARATOR_MAX_CHARS: usize = 16;

/// Headings after which a copied page holds comments or other stories.
const END_MARKERS: &[&str] = &[
    "comments",
    "no comments",
    "leave a reply",
    "leave a comment",
    "related articles",
    "related stories",
    "related posts",
    "related news",
    "you may also like",
    "you might also like",
    "more stories",
    "more news",
    "recommended for you",
    "most read",
    "most popular",
    "read next",
];

/// Prefixes of a credit line, lowercase.
const CREDIT_PREFIXES: &[&str] = &[
    "©",
    "(c)",
    "copyright",
    "photo:",
    "photo by",
    "photos:",
    "photos by",
    "photograph:",
    "photograph by",
    "picture:",
    "pictures:",
    "image:",
    "image by",
    "images:",
    "credit:",
    "photo credit:",
];
const CREDIT_MAX_WORDS: usize = 8;

/// Words a byline or a timestamp line may have.
const STAMP_MAX_WORDS: usize = 14;

/// Words that make up a timestamp besides numbers: months, weekdays, clock and zone
/// words, and the labels before them.
const STAMP_WORDS: &[&str] = &[
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "sat",
    "sun",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "am",
    "pm",
    "a.m",
    "p.m",
    "at",
    "on",
    "posted",
    "updated",
    "published",
    "last",
    "modified",
    "gmt",
    "utc",
    "bst",
    "cet",
    "cest",
    "est",
    "edt",
    "cst",
    "cdt",
    "pst",
    "pdt",
    "hst",
    "ist",
    "kst",
    "jst",
];

pub struct Furniture {
    prompts: AhoCorasick,
    labels: AhoCorasick,
}

impl Furniture {
    pub fn new() -> Self {
        Self {
            prompts: phrases(PROMPTS),
            labels: phrases(LABELS),
        }
    }

    /// Judges one normalised, trimmed line.
    pub fn judge(&self, line: &str) -> Verdict {
        // Every rule below is for lines of a few words: counting stops past the longest.
        let words = line.split_whitespace().take(PROMPT_MAX_WORDS + 1).count();
        if words == 0 {
            return Verdict::Furniture("empty");
        }
        if let Some(credit) = credit(line, words) {
            return Verdict::Credit(credit);
        }
        if words <= LABEL_MAX_WORDS && is_end_marker(line) {
            return Verdict::EndOfArticle;
        }
        if is_counter_or_separator(line) {
            return Verdict::Furniture("counter or separator");
        }
        if let Some(holder) = trailing_credit(line) {
            return Verdict::Caption(holder);
        }
        if words <= STAMP_MAX_WORDS && (is_byline(line) || is_timestamp(line)) {
            return Verdict::Furniture("byline or timestamp");
        }
        if words <= PROMPT_MAX_WORDS && self.prompts.is_match(line) {
            return Verdict::Furniture("prompt");
        }
        if words <= LABEL_MAX_WORDS && !is_sentence(line) && self.labels.is_match(line) {
            return Verdict::Furniture("label");
        }
        if is_link_like(line, words) {
            return Verdict::Furniture("link or menu");
        }
        if words <= SHOUTED_MAX_WORDS && is_shouted_label(line) {
            return Verdict::Furniture("all-caps label");
        }
        Verdict::Keep
    }
}

impl Default for Furniture {
    fn default() -> Self {
        Self::new()
    }
}

fn phrases(list: &[&str]) -> AhoCorasick {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .build(list)
        .expect("a fixed list of short phrases always builds")
}

/// The holder named by a credit line ("© News1", "Photo: Reuters/Jane Doe"): the text
/// after the prefix, up to a sentence end or separator, without a leading year.
fn credit(line: &str, words: usize) -> Option<String> {
    if words > CREDIT_MAX_WORDS {
        return None;
    }
    let prefix_len = CREDIT_PREFIXES.iter().find_map(|prefix| {
        let head = line.get(..prefix.len())?;
        head.eq_ignore_ascii_case(prefix).then_some(prefix.len())
    })?;
    let rest = line[prefix_len..].trim_start_matches([' ', ':', '©']);
    let rest = rest
        .split(['|', '.', ';'])
        .next()
        .unwrap_or_default()
        .trim();
    let rest = match rest.split_once(' ') {
        Some((year, holder)) if year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()) => {
            holder
        }
        _ => rest,
    };
    let rest = rest.trim_matches(|c: char| !c.is_alphanumeric());
    (!rest.is_empty()).then(|| rest.to_owned())
}

/// The holder named by a caption's closing credit: "Plague doctor (Image: GETTY)".
fn trailing_credit(line: &str) -> Option<String> {
    let inner = line.strip_suffix(')')?;
    let open = inner.rfind('(')?;
    let inner = &inner[open + 1..];
    let words = inner.split_whitespace().count();
    credit(inner, words).filter(|_| inner.contains(':') || inner.starts_with('©'))
}

/// "By Jane Doe | November 18, 2019": a byline with a date or a separator after it.
fn is_byline(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("By ") else {
        return false;
    };
    rest.starts_with(char::is_uppercase)
        && (rest.contains(['|', '•']) || rest.chars().any(|c| c.is_ascii_digit()))
}

/// "20 Nov, 2019 05:47", "Posted: Fri 6:45 PM, Feb 16, 2018": dates and times alone.
fn is_timestamp(line: &str) -> bool {
    let (mut has_digit, mut has_word) = (false, false);
    let all_stamp_words = line
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '|' | ':' | '-' | '/' | '.'))
        .filter(|w| !w.is_empty())
        .all(|word| {
            if word.bytes().all(|b| b.is_ascii_digit()) {
                has_digit = true;
                return true;
            }
            has_word = true;
            let word = word.trim_end_matches(|c: char| c.is_ascii_digit());
            STAMP_WORDS.iter().any(|s| word.eq_ignore_ascii_case(s))
        });
    has_digit && has_word && all_stamp_words
}

fn is_end_marker(line: &str) -> bool {
    let label = line.trim_end_matches([':', '!', '.', ' ']);
    let label = label.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
    END_MARKERS.iter().any(|m| label.eq_ignore_ascii_case(m))
}

/// A comment or share count ("0", "12"), or a rule of punctuation ("* * *", "|"). Longer
/// numbers ("27,595") stay: they are figures of the article's own lists.
fn is_counter_or_separator(line: &str) -> bool {
    let length = line.chars().count();
    if line.chars().any(char::is_alphabetic) {
        return false;
    }
    if line.chars().any(|c| c.is_ascii_digit()) {
        length <= COUNTER_MAX_CHARS
    } else {
        length <= SEPARATOR_MAX_CHARS
    }
}

/// Ends like a sentence: a full stop, question mark or closing quote.
fn is_sentence(line: &str) -> bool {
    line.ends_with(['.', '?', '"', '”', '’', '»'])
}

/// A bare address, or a line of menu items between separators.
fn is_link_like(line: &str, words: usize) -> bool {
    if words <= 3 && (line.contains("://") || line.starts_with("www.")) {
        return true;
    }
    if words == 1 && line.contains('@') && line.contains('.') {
        return true;
    }
    if !line.contains(['|', '•', '·', '/', '»', '›']) {
        return false;
    }
    let separators: usize = [" | ", " • ", " · ", " / ", " » ", " › "]
        .iter()
        .map(|separator| line.matches(separator).count())
        .sum();
    separators >= 3 && separators * 3 >= words
}

/// "NO COMMENTS", "ADVERTISEMENT": short, all capitals, no digits. A dateline ("SEOUL —",
/// "WASHINGTON,") ends with a dash or comma and stays.
fn is_shouted_label(line: &str) -> bool {
    let letters = line.chars().filter(|c| c.is_alphabetic()).count();
    letters >= 3
        && !line.chars().any(|c| c.is_lowercase() || c.is_ascii_digit())
        && line.chars().filter(|c| c.is_uppercase()).count() == letters
        && !line.ends_with(['-', '—', '–', ',', ':'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_seed_furniture() {
        let furniture = Furniture::new();
        for line in [
            "LEAVE A REPLY",
            "Please enter your comment!",
            "Please enter your name here",
            "Exit mobile version",
            "0",
            "ADVERTISEMENT",
            "Share on Facebook",
            "Home | World | Business | Sport",
        ] {
            assert!(
                matches!(
                    furniture.judge(line),
                    Verdict::Furniture(_) | Verdict::EndOfArticle
                ),
                "{line}"
            );
        }
        assert_eq!(furniture.judge("NO COMMENTS"), Verdict::EndOfArticle);
        for stamp in [
            "20 Nov, 2019 05:47",
            "Posted: Fri 6:45 PM, Feb 16, 2018 |",
            "By HNN Staff | November 18, 2019 at 2:26 PM HST",
        ] {
            assert_eq!(
                furniture.judge(stamp),
                Verdict::Furniture("byline or timestamp"),
                "{stamp}"
            );
        }
        assert_eq!(
            furniture.judge("A 14th century plague doctor (Image: GETTY)"),
            Verdict::Caption("GETTY".into())
        );
        assert_eq!(furniture.judge("12 Comments"), Verdict::EndOfArticle);
    }

    #[test]
    fn extracts_credit_holders() {
        let furniture = Furniture::new();
        assert_eq!(furniture.judge("© News1"), Verdict::Credit("News1".into()));
        assert_eq!(
            furniture.judge("Photo: Reuters/Jane Doe"),
            Verdict::Credit("Reuters/Jane Doe".into())
        );
        assert_eq!(
            furniture.judge("© 2024 News1. All rights reserved."),
            Verdict::Credit("News1".into())
        );
    }

    #[test]
    fn keeps_the_articles_own_short_lines() {
        let furniture = Furniture::new();
        for line in [
            "SEOUL, July 1 —",
            "He declined to comment.",
            "The road to the summit",
            "Experts said the newsletter was read by thousands of subscribers in the region.",
            "NATO summit in Washington",
            "27,595",
            "WORLD OF WARCRAFT II",
        ] {
            assert_eq!(furniture.judge(line), Verdict::Keep, "{line}");
        }
    }
}
