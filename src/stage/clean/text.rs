//! Plain-text input: text copied out of pages, with the site's furniture still in it.
//! Each line is judged on its own (see [`super::boilerplate`]); the title and breadcrumb
//! lines are recognised from the title, which the feed gives or the text repeats.

use super::boilerplate::{Furniture, Verdict};
use super::normalize::{normalize, word_count};
use super::{Extracted, Removals};

/// The first lines, where a page's header (breadcrumbs, title, counters) sits.
const HEADER_LINES: usize = 12;
/// Words a breadcrumb trail before the title may have.
const BREADCRUMB_MAX_WORDS: usize = 6;
/// Words of article text that must come before a heading such as "Comments" for it to end
/// the article: earlier, it is a counter or label above the article.
const MIN_WORDS_BEFORE_END: usize = 30;
/// The first word of a breadcrumb trail.
const BREADCRUMB_ROOTS: &[&str] = &["home", "homepage", "main", "start"];
const BREADCRUMB_SEPARATORS: &[char] = &['>', '»', '›', '/', '|', '→'];

pub fn extract(body: &str, known_title: Option<&str>, furniture: &Furniture) -> Extracted {
    let mut lines: Vec<String> = body.lines().map(normalize).collect();
    let title = known_title
        .map(normalize)
        .filter(|t| !t.is_empty())
        .or_else(|| find_title(&lines, furniture));
    let mut out = Extracted {
        title,
        ..Extracted::default()
    };
    let mut removed = Removals::default();
    let mut block_open = false;
    let mut seen_content = false;
    for index in 0..lines.len() {
        let line = &lines[index];
        if line.is_empty() {
            block_open = false;
            continue;
        }
        if let Some(section) = out
            .title
            .as_deref()
            .and_then(|t| breadcrumb_before(line, t))
        {
            out.section.get_or_insert(section);
            removed.add(line, "breadcrumb and title");
            continue;
        }
        if out
            .title
            .as_deref()
            .is_some_and(|t| line.eq_ignore_ascii_case(t))
        {
            removed.add(line, "repeated title");
            continue;
        }
        if !seen_content {
            if let Some(section) = breadcrumb_trail(line) {
                out.section.get_or_insert(section);
                removed.add(line, "breadcrumb");
                continue;
            }
        }
        match furniture.judge(line) {
            Verdict::Keep => {
                seen_content = true;
                match out.paragraphs.last_mut() {
                    Some(last) if block_open && is_hard_wrapped(last, line) => {
                        last.push(' ');
                        last.push_str(line);
                    }
                    // Kept lines move into the paragraphs: a long body is not copied.
                    _ => out.paragraphs.push(std::mem::take(&mut lines[index])),
                }
                block_open = true;
            }
            Verdict::Credit(holder) | Verdict::Caption(holder) => {
                add_credit(&mut out.credits, holder);
                removed.add(line, "credit or caption");
                block_open = false;
            }
            // A comment count or "Comments" heading before the article's first paragraphs
            // is page furniture, not the article's end.
            Verdict::EndOfArticle if words_in(&out.paragraphs) >= MIN_WORDS_BEFORE_END => {
                for rest in lines[index..].iter().filter(|l| !l.is_empty()) {
                    removed.add(rest, "after the article");
                }
                break;
            }
            Verdict::EndOfArticle => {
                removed.add(line, "label");
                block_open = false;
            }
            Verdict::Furniture(reason) => {
                removed.add(line, reason);
                block_open = false;
            }
        }
    }
    out.removed = removed.into_vec();
    out
}

/// A title the text states itself: a short line of the header that another header line
/// repeats (alone or at the end of a breadcrumb trail).
fn find_title(lines: &[String], furniture: &Furniture) -> Option<String> {
    let header: Vec<&String> = lines
        .iter()
        .filter(|l| !l.is_empty())
        .take(HEADER_LINES)
        .collect();
    header
        .iter()
        .enumerate()
        .find(|(i, candidate)| {
            let words = candidate.split_whitespace().count();
            (2..=25).contains(&words)
                && !candidate.ends_with('.')
                && furniture.judge(candidate) == Verdict::Keep
                && header.iter().enumerate().any(|(j, other)| {
                    j != *i
                        && (other.eq_ignore_ascii_case(candidate)
                            || other
                                .strip_suffix(candidate.as_str())
                                .is_some_and(|prefix| prefix.ends_with(' ')))
                })
        })
        .map(|(_, title)| (*title).clone())
}

/// "Home World The Title": the section named by the trail before the title.
fn breadcrumb_before(line: &str, title: &str) -> Option<String> {
    let prefix = line.strip_suffix(title)?.trim_end();
    if prefix.is_empty() || prefix.len() == line.len() {
        return None;
    }
    let words = prefix.split_whitespace().count();
    (words <= BREADCRUMB_MAX_WORDS)
        .then(|| last_crumb(prefix))
        .flatten()
}

/// A line that is only a breadcrumb trail: "Home > World > Asia".
fn breadcrumb_trail(line: &str) -> Option<String> {
    let first = line.split(|c: char| !c.is_alphanumeric()).next()?;
    let is_rooted = BREADCRUMB_ROOTS
        .iter()
        .any(|r| first.eq_ignore_ascii_case(r));
    let is_short = line.split_whitespace().count() <= BREADCRUMB_MAX_WORDS + 2;
    // "Home > Sport > Football", or the same copied without its separators: "Home Sport
    // Football", every word capitalised and no sentence punctuation.
    let is_trail = line.contains(BREADCRUMB_SEPARATORS)
        || (line
            .split_whitespace()
            .all(|w| w.chars().next().is_some_and(char::is_uppercase))
            && !line.ends_with(['.', '!', '?', ':', ',']));
    (is_rooted && is_short && is_trail)
        .then(|| last_crumb(line))
        .flatten()
}

fn words_in(paragraphs: &[String]) -> usize {
    paragraphs.iter().map(|p| word_count(p)).sum()
}

/// The last crumb of a trail; without separators, the words after the root.
fn last_crumb(trail: &str) -> Option<String> {
    let trail = trail.trim();
    let crumb = if trail.contains(BREADCRUMB_SEPARATORS) {
        trail.rsplit(BREADCRUMB_SEPARATORS).next()?.trim()
    } else {
        let first = trail.split_whitespace().next()?;
        if BREADCRUMB_ROOTS
            .iter()
            .any(|r| first.eq_ignore_ascii_case(r))
        {
            trail[first.len()..].trim()
        } else {
            trail.trim()
        }
    };
    let is_root = BREADCRUMB_ROOTS
        .iter()
        .any(|r| crumb.eq_ignore_ascii_case(r));
    (!crumb.is_empty() && !is_root).then(|| crumb.to_owned())
}

/// A paragraph broken across lines: the previous line stops mid-sentence and this one
/// goes on in lowercase.
fn is_hard_wrapped(previous: &str, line: &str) -> bool {
    !previous.ends_with(['.', '!', '?', ':', '"', '”', '’', ')'])
        && line.chars().next().is_some_and(char::is_lowercase)
}

/// Adds a credit holder once: "News1 DB" (an archive photo) is the holder "News1" again.
pub fn add_credit(credits: &mut Vec<String>, holder: String) {
    let same_holder = |known: &String| {
        holder == *known
            || holder
                .strip_prefix(known.as_str())
                .is_some_and(|rest| rest.starts_with(' '))
    };
    if !credits.iter().any(same_holder) {
        credits.push(holder);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_the_seed() {
        let seed: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/golden/seed/article.json")).unwrap();
        let out = extract(seed["body"].as_str().unwrap(), None, &Furniture::new());
        assert_eq!(
            out.title.as_deref(),
            Some("The World Watches as Xi Joins Putin in Kazakhstan")
        );
        assert_eq!(out.section.as_deref(), Some("World"));
        assert_eq!(out.credits, ["News1"]);
        assert_eq!(out.paragraphs.len(), 10);
        assert!(out.paragraphs[0].starts_with("A reunion between China’s President"));
        assert!(out.paragraphs[9].ends_with("seems inevitable."));
        let reasons: Vec<&str> = out.removed.iter().map(|r| r.reason.as_str()).collect();
        assert!(reasons.contains(&"breadcrumb and title"));
        assert!(reasons.contains(&"after the article"));
    }

    #[test]
    fn a_comment_count_above_the_article_does_not_end_it() {
        let body = "Home Sport Football\n\nLate goal sends Brazil into the final\n\n12 comments\n\n\
                    Brazil beat Argentina 2-1 in the semi-final on Wednesday night, with a header in the 89th minute sealing their place in the final.\n\n\
                    The coach praised his players' resilience after they came from a goal down at half-time to win.\n\n\
                    Follow us on Instagram";
        let out = extract(
            body,
            Some("Late goal sends Brazil into the final"),
            &Furniture::new(),
        );
        assert_eq!(out.paragraphs.len(), 2, "{:?}", out.paragraphs);
        assert!(out.paragraphs[0].starts_with("Brazil beat Argentina"));
        assert_eq!(out.section.as_deref(), Some("Sport Football"));
    }

    #[test]
    fn keeps_datelines_and_subheadings_and_joins_wrapped_lines() {
        let body = "SEOUL, July 1 —\n\nThe talks went on late into\nthe night, officials said.\n\nWhat comes next\n\nA second round is planned.";
        let out = extract(body, Some("Talks in Seoul"), &Furniture::new());
        assert_eq!(
            out.paragraphs,
            [
                "SEOUL, July 1 —",
                "The talks went on late into the night, officials said.",
                "What comes next",
                "A second round is planned."
            ]
        );
    }

    #[test]
    fn reads_separated_breadcrumb_trails() {
        let body = "Home > News > Asia\n\nStory text that goes on for a while.";
        let out = extract(body, None, &Furniture::new());
        assert_eq!(out.section.as_deref(), Some("Asia"));
        assert_eq!(out.paragraphs, ["Story text that goes on for a while."]);
    }
}
