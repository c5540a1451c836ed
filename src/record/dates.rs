//! Reading the publication times feeds write: RFC 3339 (ninjs, JSON feeds), RFC 2822 (RSS
//! `pubDate`, e-mail) and the near-misses of both that feeds produce.
//!
//! A time is read only when its instant is certain: a zone name RFC 2822 does not define
//! ("CEST", "IST" — the latter means three different offsets) makes the time unreadable
//! rather than silently hours off. A time without any zone is UTC.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime};

/// The years a news date can fall in. A publication time outside them is a placeholder
/// or a typo ("9999-12-31"), and dates resolved against it would be nonsense, some of
/// them not even four-digit years.
pub const PLAUSIBLE_YEARS: std::ops::RangeInclusive<i32> = 1800..=2199;

/// Zone names written after an ISO date and time ("2024-07-01 09:00:00 UTC"), all UTC.
const UTC_NAMES: [&str; 3] = ["UTC", "GMT", "Z"];

const LONG_MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// A publication time in any of the forms [`crate::record`] documents; `None` when it
/// cannot be read or falls outside [`PLAUSIBLE_YEARS`].
pub fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    parse_iso(s)
        .or_else(|| parse_rfc2822(s))
        .filter(|t| PLAUSIBLE_YEARS.contains(&t.year()))
}

/// RFC 3339, and ISO 8601 as feeds write it: a space for `T`, an offset after a space or
/// without its colon, a UTC zone name, no offset at all (UTC), or a bare date (midnight UTC).
fn parse_iso(s: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t);
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, format) {
            return Some(t);
        }
    }
    let without_zone = UTC_NAMES
        .iter()
        .find_map(|name| s.strip_suffix(name))
        .map_or(s, str::trim_end);
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(without_zone, format) {
            return Some(t.and_utc().fixed_offset());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().fixed_offset())
}

/// RFC 2822 (optional weekday and seconds, one- or two-digit day, numeric offsets, `UT`,
/// `GMT`, `Z` and the US zones), and, failing that, the same with the near-misses of feeds
/// mended: a full weekday or month name, a weekday that disagrees with the date (the date
/// wins: it is the part feeds get right), an offset written with a colon.
fn parse_rfc2822(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc2822(s)
        .or_else(|_| DateTime::parse_from_rfc2822(&mend_rfc2822(s)))
        .ok()
}

fn mend_rfc2822(s: &str) -> String {
    // Everything before the comma is the weekday, whatever its spelling.
    let date = match s.split_once(',') {
        Some((weekday, rest)) if weekday.trim().chars().all(char::is_alphabetic) => rest,
        _ => s,
    };
    let mut words: Vec<String> = date
        .split_whitespace()
        .map(|word| {
            let lower = word.to_ascii_lowercase();
            if LONG_MONTHS.contains(&lower.as_str()) {
                lower[..3].to_owned()
            } else {
                word.to_owned()
            }
        })
        .collect();
    if let Some(zone) = words.last_mut() {
        if is_offset_with_colon(zone) {
            zone.remove(3);
        }
    }
    words.join(" ")
}

/// `+01:00` or `-05:30`.
fn is_offset_with_colon(word: &str) -> bool {
    let bytes = word.as_bytes();
    bytes.len() == 6
        && matches!(bytes[0], b'+' | b'-')
        && bytes[3] == b':'
        && [1, 2, 4, 5].iter().all(|&i| bytes[i].is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The instant read from `s`, in UTC, as RFC 3339.
    fn utc(s: &str) -> Option<String> {
        parse_timestamp(s).map(|t| t.to_utc().to_rfc3339())
    }

    #[test]
    fn reads_rfc_2822_as_rss_feeds_write_it() {
        for (written, instant) in [
            (
                "Mon, 01 Jul 2024 09:00:00 +0100",
                "2024-07-01T08:00:00+00:00",
            ),
            (
                "Mon, 01 Jul 2024 09:00:00 -0430",
                "2024-07-01T13:30:00+00:00",
            ),
            ("Mon, 01 Jul 2024 09:00:00 GMT", "2024-07-01T09:00:00+00:00"),
            ("Mon, 01 Jul 2024 09:00:00 UT", "2024-07-01T09:00:00+00:00"),
            ("Mon, 01 Jul 2024 09:00:00 Z", "2024-07-01T09:00:00+00:00"),
            ("Mon, 01 Jul 2024 09:00:00 EST", "2024-07-01T14:00:00+00:00"),
            ("Mon, 01 Jul 2024 09:00:00 EDT", "2024-07-01T13:00:00+00:00"),
            ("Mon, 01 Jul 2024 09:00:00 CST", "2024-07-01T15:00:00+00:00"),
            ("Mon, 01 Jul 2024 09:00:00 CDT", "2024-07-01T14:00:00+00:00"),
            ("Mon, 01 Jul 2024 09:00:00 MST", "2024-07-01T16:00:00+00:00"),
            ("Mon, 01 Jul 2024 09:00:00 MDT", "2024-07-01T15:00:00+00:00"),
            ("Mon, 01 Jul 2024 09:00:00 PST", "2024-07-01T17:00:00+00:00"),
            ("Mon, 01 Jul 2024 09:00:00 PDT", "2024-07-01T16:00:00+00:00"),
            ("Mon, 01 Jul 2024 09:00 +0000", "2024-07-01T09:00:00+00:00"),
            ("01 Jul 2024 09:00:00 +0000", "2024-07-01T09:00:00+00:00"),
            (
                "Mon, 1 Jul 2024 09:00:00 +0000",
                "2024-07-01T09:00:00+00:00",
            ),
            ("1 Jul 2024 09:05 GMT", "2024-07-01T09:05:00+00:00"),
            (
                "Tue, 31 Dec 2024 23:30:00 -0100",
                "2025-01-01T00:30:00+00:00",
            ),
        ] {
            assert_eq!(utc(written).as_deref(), Some(instant), "{written}");
        }
    }

    #[test]
    fn keeps_the_offset_written() {
        let t = parse_timestamp("Mon, 01 Jul 2024 09:00:00 +0100").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-07-01T09:00:00+01:00");
    }

    #[test]
    fn mends_the_near_misses_of_rfc_2822() {
        for (written, instant) in [
            (
                "Monday, 01 July 2024 09:00:00 GMT",
                "2024-07-01T09:00:00+00:00",
            ),
            (
                "Mon, 01 Jul 2024 09:00:00 +01:00",
                "2024-07-01T08:00:00+00:00",
            ),
            // 1 July 2024 was a Monday; the date is believed.
            (
                "Tue, 01 Jul 2024 09:00:00 +0000",
                "2024-07-01T09:00:00+00:00",
            ),
            ("mon, 01 jul 2024 09:00:00 gmt", "2024-07-01T09:00:00+00:00"),
        ] {
            assert_eq!(utc(written).as_deref(), Some(instant), "{written}");
        }
    }

    #[test]
    fn reads_rfc_3339_and_iso_as_feeds_write_it() {
        for (written, instant) in [
            ("2024-07-01T09:00:00+01:00", "2024-07-01T08:00:00+00:00"),
            ("2024-07-01T09:00:00.123Z", "2024-07-01T09:00:00.123+00:00"),
            ("2024-07-01 09:00:00+01:00", "2024-07-01T08:00:00+00:00"),
            ("2024-07-01 09:00:00 +0100", "2024-07-01T08:00:00+00:00"),
            ("2024-07-01T09:00:00+0100", "2024-07-01T08:00:00+00:00"),
            ("2024-07-01 09:00:00 UTC", "2024-07-01T09:00:00+00:00"),
            ("2024-07-01 09:00:00 GMT", "2024-07-01T09:00:00+00:00"),
            // Without a zone: UTC.
            ("2024-07-01 09:00:00", "2024-07-01T09:00:00+00:00"),
            ("2024-07-01T09:00:00", "2024-07-01T09:00:00+00:00"),
            ("2024-07-01", "2024-07-01T00:00:00+00:00"),
            (" 2024-07-01T09:00:00Z\n", "2024-07-01T09:00:00+00:00"),
        ] {
            assert_eq!(utc(written).as_deref(), Some(instant), "{written}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_place_in_time() {
        for written in [
            "July 1",
            "yesterday",
            "",
            "1987-03-31T605:12:19Z",
            // Zones RFC 2822 does not define: an instant hours off is worse than none.
            "Mon, 01 Jul 2024 09:00:00 CEST",
            "Mon, 01 Jul 2024 09:00:00 IST",
            "Mon, 32 Jul 2024 09:00:00 +0000",
            "Mon, 01 Jul 2024 25:00:00 +0000",
            "9999-12-31T23:59:59Z",
            "0001-01-01",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            assert_eq!(utc(written), None, "{written}");
        }
    }
}
