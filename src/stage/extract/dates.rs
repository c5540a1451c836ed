//! Dates in running text, resolved against the publication date: "on July 9", "July 3
//! and 4", "16 May 2024", "last May", "at the end of June", "on Tuesday", "yesterday".
//! A date without a year takes the year that puts it nearest the publication date; one
//! that needs the publication date and has none is left out.

use std::ops::Range;

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use regex::Regex;

use crate::record::PLAUSIBLE_YEARS;

/// A date expression and the days it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateMention {
    /// Byte offsets into the searched text.
    pub span: Range<usize>,
    pub start: NaiveDate,
    /// The last day, for a range ("July 3 and 4", "at the end of June").
    pub end: Option<NaiveDate>,
}

const MONTH: &str = r"(January|February|March|April|May|June|July|August|September|October|November|December|Jan\.|Feb\.|Mar\.|Apr\.|Jun\.|Jul\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.)";

/// The date expressions, compiled.
pub struct Patterns {
    month_day: Regex,
    day_month: Regex,
    month_part: Regex,
    iso: Regex,
    weekday: Regex,
    relative_day: Regex,
    relative_period: Regex,
    year: Regex,
}

impl Default for Patterns {
    fn default() -> Self {
        // ASCII word boundaries and digits: the date words are ASCII, and Unicode boundaries
        // would keep the regex engine off its fast DFA.
        let build = |pattern: String| {
            let ascii = pattern.replace(r"\b", r"(?-u:\b)").replace(r"\d", "[0-9]");
            Regex::new(&ascii).expect("date pattern")
        };
        Patterns {
            month_day: build(format!(
                r"\b{MONTH} (\d{{1,2}})(?:st|nd|rd|th)?(?:\s*(?:and|to|through|-|–)\s*(\d{{1,2}})(?:st|nd|rd|th)?)?(?:,? (\d{{4}}))?\b"
            )),
            day_month: build(format!(
                r"\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s*(?:-|–|to|and)\s*(\d{{1,2}})(?:st|nd|rd|th)?)? (?:of )?{MONTH}(?:,? (\d{{4}}))?"
            )),
            month_part: build(format!(
                r"(?i:\b(last|next|this|early|mid-?|late|the end of|end of|the beginning of|beginning of|the start of|start of|the middle of|middle of)\s+)?\b{MONTH}(?: (\d{{4}}))?\b"
            )),
            iso: build(r"\b(\d{4})-(\d{2})-(\d{2})\b".to_owned()),
            weekday: build(
                r"(?i:\b(last|next|this)\s+)?\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
                    .to_owned(),
            ),
            relative_day: build(r"\b(?i:(yesterday|today|tomorrow|tonight))\b".to_owned()),
            relative_period: build(r"\b(?i:(last|next|this|past|coming))\s+(week|month|year)\b".to_owned()),
            year: build(r"\b(?:in|since|by|during|of) ((?:19|20)\d{2})\b".to_owned()),
        }
    }
}

fn month_number(name: &str) -> Option<u32> {
    let prefix: String = name.chars().take(3).collect();
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    months
        .iter()
        .position(|m| *m == prefix)
        .map(|i| i as u32 + 1)
}

fn last_day(year: i32, month: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, 1)?
        .checked_add_months(Months::new(1))?
        .pred_opt()
}

/// The year that puts `month`/`day` nearest `published`.
fn nearest_year(published: NaiveDate, month: u32, day: u32) -> Option<i32> {
    (published.year() - 1..=published.year() + 1)
        .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day).map(|d| (y, d)))
        .min_by_key(|(_, d)| (*d - published).num_days().abs())
        .map(|(y, _)| y)
}

/// Every date in `text`, in order, not overlapping.
pub fn find(patterns: &Patterns, text: &str, published: Option<NaiveDate>) -> Vec<DateMention> {
    let p = patterns;
    let mut found: Vec<DateMention> = Vec::new();
    let mut add = |mention: Option<DateMention>| {
        if let Some(m) = mention.filter(plausible) {
            if !found
                .iter()
                .any(|f| f.span.start < m.span.end && m.span.start < f.span.end)
            {
                found.push(m);
            }
        }
    };
    for c in p.iso.captures_iter(text) {
        add((|| {
            let date = NaiveDate::from_ymd_opt(
                c[1].parse().ok()?,
                c[2].parse().ok()?,
                c[3].parse().ok()?,
            )?;
            Some(mention(c.get(0)?.range(), date, None))
        })());
    }
    for c in p.month_day.captures_iter(text) {
        add((|| {
            let month = month_number(&c[1])?;
            let day: u32 = c[2].parse().ok()?;
            let year = match c.get(4) {
                Some(y) => y.as_str().parse().ok()?,
                None => nearest_year(published?, month, day)?,
            };
            let start = NaiveDate::from_ymd_opt(year, month, day)?;
            let end = match c.get(3) {
                Some(d) => Some(NaiveDate::from_ymd_opt(
                    year,
                    month,
                    d.as_str().parse().ok()?,
                )?),
                None => None,
            };
            Some(mention(c.get(0)?.range(), start, end))
        })());
    }
    for c in p.day_month.captures_iter(text) {
        add((|| {
            let month = month_number(&c[3])?;
            let day: u32 = c[1].parse().ok()?;
            let year = match c.get(4) {
                Some(y) => y.as_str().parse().ok()?,
                None => nearest_year(published?, month, day)?,
            };
            let start = NaiveDate::from_ymd_opt(year, month, day)?;
            let end = match c.get(2) {
                Some(d) => Some(NaiveDate::from_ymd_opt(
                    year,
                    month,
                    d.as_str().parse().ok()?,
                )?),
                None => None,
            };
            Some(mention(c.get(0)?.range(), start, end))
        })());
    }
    for c in p.month_part.captures_iter(text) {
        add((|| {
            let month = month_number(&c[2])?;
            // "May" alone is too often the verb; it needs a qualifier or a year.
            let qualifier = c.get(1).map(|q| q.as_str().to_lowercase());
            if &c[2] == "May" && qualifier.is_none() && c.get(3).is_none() {
                return None;
            }
            let year = match (c.get(3), published) {
                (Some(y), _) => y.as_str().parse().ok()?,
                (None, Some(p)) => match qualifier.as_deref() {
                    Some("last") if month >= p.month() => p.year() - 1,
                    Some("last") => p.year(),
                    Some("next") if month <= p.month() => p.year() + 1,
                    Some("next") => p.year(),
                    _ => nearest_year(p, month, 15)?,
                },
                (None, None) => return None,
            };
            let last = last_day(year, month)?;
            let (from, to) = match qualifier.as_deref() {
                Some(
                    "early" | "the beginning of" | "beginning of" | "the start of" | "start of",
                ) => (1, 10),
                Some("mid" | "mid-" | "the middle of" | "middle of") => (11, 20),
                Some("late" | "the end of" | "end of") => (21, last.day()),
                _ => (1, last.day()),
            };
            Some(mention(
                c.get(0)?.range(),
                NaiveDate::from_ymd_opt(year, month, from)?,
                NaiveDate::from_ymd_opt(year, month, to),
            ))
        })());
    }
    let Some(published) = published else {
        return sorted(found, text, p);
    };
    for c in p.weekday.captures_iter(text) {
        add((|| {
            let weekday: Weekday = c[2].parse().ok()?;
            let next = c
                .get(1)
                .is_some_and(|q| q.as_str().eq_ignore_ascii_case("next"));
            let back = (7 + published.weekday().num_days_from_monday()
                - weekday.num_days_from_monday())
                % 7;
            let date = if next {
                published.checked_add_days(Days::new(u64::from((7 - back) % 7).max(1)))?
            } else {
                published.checked_sub_days(Days::new(u64::from(back)))?
            };
            Some(mention(c.get(0)?.range(), date, None))
        })());
    }
    for c in p.relative_day.captures_iter(text) {
        add((|| {
            let date = match c[1].to_lowercase().as_str() {
                "yesterday" => published.pred_opt()?,
                "tomorrow" => published.succ_opt()?,
                _ => published,
            };
            Some(mention(c.get(0)?.range(), date, None))
        })());
    }
    for c in p.relative_period.captures_iter(text) {
        add((|| {
            let direction = c[1].to_lowercase();
            let (start, end) = match c[2].to_lowercase().as_str() {
                "week" => {
                    let monday = published.checked_sub_days(Days::new(u64::from(
                        published.weekday().num_days_from_monday(),
                    )))?;
                    let start = match direction.as_str() {
                        "last" | "past" => monday.checked_sub_days(Days::new(7))?,
                        "next" | "coming" => monday.checked_add_days(Days::new(7))?,
                        _ => monday,
                    };
                    (start, start.checked_add_days(Days::new(6))?)
                }
                "month" => {
                    let first = published.with_day(1)?;
                    let start = match direction.as_str() {
                        "last" | "past" => first.checked_sub_months(Months::new(1))?,
                        "next" | "coming" => first.checked_add_months(Months::new(1))?,
                        _ => first,
                    };
                    (start, last_day(start.year(), start.month())?)
                }
                _ => {
                    let year = match direction.as_str() {
                        "last" | "past" => published.year() - 1,
                        "next" | "coming" => published.year() + 1,
                        _ => published.year(),
                    };
                    (
                        NaiveDate::from_ymd_opt(year, 1, 1)?,
                        NaiveDate::from_ymd_opt(year, 12, 31)?,
                    )
                }
            };
            Some(mention(c.get(0)?.range(), start, Some(end)))
        })());
    }
    sorted(found, text, p)
}

/// Adds bare years ("in 1988"), which only fill what nothing more precise covers.
fn sorted(mut found: Vec<DateMention>, text: &str, p: &Patterns) -> Vec<DateMention> {
    for c in p.year.captures_iter(text) {
        let Some(year) = c.get(1) else { continue };
        let overlaps = found
            .iter()
            .any(|f| f.span.start < year.end() && year.start() < f.span.end);
        let Ok(y) = year.as_str().parse() else {
            continue;
        };
        if let (false, Some(start), Some(end)) = (
            overlaps,
            NaiveDate::from_ymd_opt(y, 1, 1),
            NaiveDate::from_ymd_opt(y, 12, 31),
        ) {
            found.push(mention(year.range(), start, Some(end)));
        }
    }
    found.sort_by_key(|m| m.span.start);
    found
}

/// Whether every day of a mention falls in [`PLAUSIBLE_YEARS`]: "next week" from a
/// publication time in 9999 would be in year 10000.
fn plausible(m: &DateMention) -> bool {
    let fits = |date: NaiveDate| PLAUSIBLE_YEARS.contains(&date.year());
    fits(m.start) && m.end.is_none_or(fits)
}

fn mention(span: Range<usize>, start: NaiveDate, end: Option<NaiveDate>) -> DateMention {
    DateMention {
        span,
        start,
        end: end.filter(|&e| e > start),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::reference::for_tests;

    fn find(text: &str, published: Option<NaiveDate>) -> Vec<DateMention> {
        super::find(&for_tests().extract.dates, text, published)
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn dates(text: &str) -> Vec<(String, String, Option<String>)> {
        find(text, Some(day(2024, 7, 1)))
            .into_iter()
            .map(|m| {
                (
                    text[m.span].to_owned(),
                    m.start.to_string(),
                    m.end.map(|e| e.to_string()),
                )
            })
            .collect()
    }

    #[test]
    fn seed_dates_resolve_against_publication() {
        let found = dates(
            "Starting on July 2, the summit on July 3 and 4, held on May 16, on June 19, \
             last May, at the end of June, and on July 9.",
        );
        let starts: Vec<(&str, &str, Option<&str>)> = found
            .iter()
            .map(|(t, s, e)| (t.as_str(), s.as_str(), e.as_deref()))
            .collect();
        assert_eq!(
            starts,
            vec![
                ("July 2", "2024-07-02", None),
                ("July 3 and 4", "2024-07-03", Some("2024-07-04")),
                ("May 16", "2024-05-16", None),
                ("June 19", "2024-06-19", None),
                ("last May", "2024-05-01", Some("2024-05-31")),
                ("the end of June", "2024-06-21", Some("2024-06-30")),
                ("July 9", "2024-07-09", None),
            ]
        );
    }

    #[test]
    fn other_forms() {
        let found = dates("On Tuesday, 16 May 2023, yesterday, next week, in 1988, 2024-02-29.");
        let starts: Vec<&str> = found.iter().map(|(_, s, _)| s.as_str()).collect();
        // 1 July 2024 is a Monday: the last Tuesday is 25 June.
        assert_eq!(
            starts,
            vec![
                "2024-06-25",
                "2023-05-16",
                "2024-06-30",
                "2024-07-08",
                "1988-01-01",
                "2024-02-29"
            ]
        );
    }

    #[test]
    fn the_verb_may_is_no_date_and_no_publication_date_means_no_relative_dates() {
        assert!(dates("They may meet.").is_empty());
        assert!(find("on Tuesday and July 4", None).is_empty());
        assert_eq!(find("on July 4, 2020", None).len(), 1);
    }

    #[test]
    fn dates_outside_the_plausible_years_are_left_out() {
        let end_of_time = Some(day(9999, 12, 28));
        assert!(find("next week, on January 3 and next year", end_of_time).is_empty());
        assert!(find("on 0001-01-01 and 2500-01-01", None).is_empty());
        assert_eq!(find("on 2024-07-01", end_of_time).len(), 1);
    }
}
