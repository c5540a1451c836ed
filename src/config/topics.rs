//! Topic names and input topic patterns.
//!
//! librdkafka reads a subscription that starts with `^` as a regular expression over every
//! topic in the cluster, so a pattern input could take in newsflow's own outputs and
//! dead-letter them again forever. A pattern is accepted only if it matches none of them,
//! and it is matched here exactly as librdkafka will match it: with the C library's POSIX
//! extended regular expressions (`regcomp`), not Rust's `regex`, whose syntax differs
//! (`\d` is a digit there and a plain `d` in POSIX, so `^news.\dlq` would pass a check in
//! Rust and still subscribe to `news.dlq`).

/// Kafka's limit on a topic name's length.
pub const MAX_TOPIC_LENGTH: usize = 249;

/// Why `name` cannot be a Kafka topic, if it cannot (Kafka's own rules: 1 to 249 of
/// `[a-zA-Z0-9._-]`, and not `.` or `..`).
pub fn topic_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    if name.len() > MAX_TOPIC_LENGTH {
        return Some(format!("it is longer than {MAX_TOPIC_LENGTH} characters"));
    }
    if name == "." || name == ".." {
        return Some("`.` and `..` are not topic names".into());
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Some("a topic name has only the characters a-z, A-Z, 0-9, `.`, `_` and `-`".into());
    }
    None
}

/// Whether `input` is a pattern (librdkafka's `^` prefix) rather than a topic name.
pub fn is_pattern(input: &str) -> bool {
    input.starts_with('^')
}

/// For each of `topics`, whether the pattern matches it as librdkafka's subscription
/// would; an error when the pattern does not compile.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn pattern_matches(pattern: &str, topics: &[&str]) -> Result<Vec<bool>, String> {
    posix::Regex::new(pattern).map(|regex| topics.iter().map(|t| regex.is_match(t)).collect())
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn pattern_matches(_pattern: &str, _topics: &[&str]) -> Result<Vec<bool>, String> {
    Err("this build cannot check topic patterns (only Linux with glibc can); name the topic".into())
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod posix {
    use std::ffi::CString;
    use std::mem::MaybeUninit;

    /// A compiled POSIX extended regular expression, with the flags librdkafka uses.
    pub struct Regex(libc::regex_t);

    impl Regex {
        pub fn new(pattern: &str) -> Result<Self, String> {
            let pattern = CString::new(pattern).map_err(|_| "it contains a NUL character")?;
            let mut compiled = MaybeUninit::<libc::regex_t>::uninit();
            // SAFETY: regcomp initialises `compiled` when it returns 0, and reads only the
            // NUL-terminated pattern.
            let code = unsafe {
                libc::regcomp(
                    compiled.as_mut_ptr(),
                    pattern.as_ptr(),
                    libc::REG_EXTENDED | libc::REG_NOSUB,
                )
            };
            if code != 0 {
                return Err("it is not a valid POSIX extended regular expression".into());
            }
            // SAFETY: regcomp succeeded, so the value is initialised.
            Ok(Self(unsafe { compiled.assume_init() }))
        }

        /// Whether the expression matches anywhere in `text` (topic names hold no NUL).
        pub fn is_match(&self, text: &str) -> bool {
            let Ok(text) = CString::new(text) else {
                return false;
            };
            // SAFETY: the expression is compiled, the text NUL-terminated, and with no
            // match slots requested regexec writes nothing.
            unsafe { libc::regexec(&self.0, text.as_ptr(), 0, std::ptr::null_mut(), 0) == 0 }
        }
    }

    impl Drop for Regex {
        fn drop(&mut self) {
            // SAFETY: the expression was compiled by regcomp and is freed once.
            unsafe { libc::regfree(&mut self.0) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka_rules() {
        for good in ["news.raw", "a", "A-b_c.9", &"x".repeat(249)] {
            assert_eq!(topic_name_problem(good), None, "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "news raw",
            "news/raw",
            "news.raw\n",
            "nouvelles.brutes-é",
            "^news",
            &"x".repeat(250),
        ] {
            assert!(topic_name_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn patterns_match_as_librdkafka_matches_them() {
        let topics = ["news.enriched", "news.events", "news.dlq"];
        assert_eq!(
            pattern_matches(r"^news\..*", &topics).unwrap(),
            [true, true, true]
        );
        assert_eq!(
            pattern_matches(r"^news\.raw\..*", &topics).unwrap(),
            [false, false, false]
        );
        // POSIX has no `\d`: it is a plain `d`, so this pattern reaches the dead letters.
        assert_eq!(
            pattern_matches(r"^news.\dlq", &topics).unwrap(),
            [false, false, true]
        );
        // Unanchored at the end, as librdkafka matches.
        assert_eq!(
            pattern_matches("^news.e", &topics).unwrap(),
            [true, true, false]
        );
        assert!(pattern_matches(r"^news\.raw(", &topics).is_err());
        assert!(pattern_matches("^news[", &topics).is_err());
    }
}
