//! Errors in the TOML file, reported without the file's text.

use super::ConfigError;

/// The error for a config file that does not parse or does not fit [`super::RunConfig`]:
/// where it is and what is wrong, never the text there, which may hold a secret (an
/// unquoted password, or a password under a key that wants a number).
pub fn parse_error(path: String, text: &str, error: &toml::de::Error) -> ConfigError {
    ConfigError::Parse {
        path,
        place: place_in(text, error.span()),
        problem: without_values(error.message()),
    }
}

/// "line L, column C" of the byte offset where a TOML error starts.
fn place_in(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(start) = span.map(|span| span.start.min(text.len())) else {
        return "at an unknown place".into();
    };
    let before = text.get(..start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    format!("line {line}, column {column}")
}

/// A TOML or serde error message without the value it quotes. The parser's own messages
/// are fixed sentences ("string values must be quoted"); serde's quote what they rejected
/// ("invalid type: string \"...\", expected usize"), so only what was expected is kept.
fn without_values(message: &str) -> String {
    const QUOTING: [(&str, &str); 3] = [
        ("invalid type:", "wrong type"),
        ("invalid value:", "invalid value"),
        ("unknown variant", "unknown value"),
    ];
    for (prefix, said) in QUOTING {
        if message.starts_with(prefix) {
            // What was expected comes from newsflow's types; the last ", expected " is
            // theirs even when the rejected value contains the same words.
            return match message.rsplit_once(", expected ") {
                Some((_, expected)) => format!("{said}, expected {expected}"),
                None => said.to_owned(),
            };
        }
    }
    message.to_owned()
}

#[cfg(test)]
mod tests {
    use crate::config::RunConfig;

    const SECRET: &str = "Zq9-secret-value";

    /// A TOML error names the line and column, never the text there: an unquoted password,
    /// a password where a number belongs, or a number where a string belongs.
    #[test]
    fn file_errors_never_quote_the_file() {
        for (text, place, problem) in [
            (
                format!("[kafka]\n\"sasl.password\" = {SECRET}\n"),
                "line 2, column 19",
                "string values must be quoted",
            ),
            (
                format!("max_in_flight = \"{SECRET}, expected usize\"\n"),
                "line 1, column 17",
                "wrong type, expected usize",
            ),
            (
                "[kafka]\n\"sasl.password\" = 4815162342\n".to_owned(),
                "line 2, column 19",
                "wrong type, expected a string",
            ),
            (
                format!("guarantee = \"{SECRET}\"\n"),
                "line 1, column 13",
                "unknown value, expected `at-least-once` or `exactly-once`",
            ),
            (
                format!("workers = -1 # {SECRET}\n"),
                "line 1, column 11",
                "invalid value, expected usize",
            ),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("newsflow.toml");
            std::fs::write(&path, &text).unwrap();
            let message = RunConfig::load(Some(&path)).unwrap_err().to_string();
            assert!(!message.contains(SECRET), "{message}");
            assert!(!message.contains("4815162342"), "{message}");
            assert!(message.contains(place), "{message}");
            assert!(message.contains(problem), "{message}");
        }
    }
}
