//! Which headers of an input record its enriched record carries on. Trace context
//! (`traceparent`, `tracestate`) always does, so that a trace runs through newsflow; the
//! rest as the allow and deny lists say (`*` at the end of a name matches any ending).
//! By default everything passes but headers that would say something false of the new
//! record: a CloudEvent's `ce_*` attributes (the enriched record is another event), its
//! `content-type`, and newsflow's own `newsflow.*` headers, which newsflow sets itself.

use std::borrow::Cow;

use rdkafka::message::{Headers, Message};
use serde::{Deserialize, Serialize};

use crate::record::{header, SCHEMA_VERSION};

/// A header of a record to produce: its name and its value (`None` for a header without
/// one).
pub type OutHeader = (Cow<'static, str>, Option<Vec<u8>>);

/// Always carried on, whatever the lists say (W3C Trace Context).
pub const TRACE_CONTEXT: [&str; 2] = ["traceparent", "tracestate"];

/// The `[headers]` table of the config file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeaderPolicy {
    /// Input headers carried on to the enriched record (and its routed copies).
    pub allow: Vec<String>,
    /// Of those, the ones left behind.
    pub deny: Vec<String>,
}

impl Default for HeaderPolicy {
    fn default() -> Self {
        Self {
            allow: vec!["*".into()],
            deny: vec!["ce_*".into(), "content-type".into(), "newsflow.*".into()],
        }
    }
}

impl HeaderPolicy {
    /// Whether an input header named `name` is carried on (names compare without regard to
    /// case, as HTTP's do).
    pub fn passes(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        if TRACE_CONTEXT.contains(&name.as_str()) {
            return true;
        }
        let matches = |pattern: &String| {
            let pattern = pattern.to_ascii_lowercase();
            match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == pattern,
            }
        };
        self.allow.iter().any(matches) && !self.deny.iter().any(matches)
    }

    /// The headers of `input` that pass, in their order, with their values as they came
    /// (a header without a value stays without one).
    pub fn carried(&self, input: &impl Message) -> Vec<OutHeader> {
        let Some(headers) = input.headers() else {
            return Vec::new();
        };
        headers
            .iter()
            .filter(|h| self.passes(h.key))
            .map(|h| (Cow::Owned(h.key.to_owned()), h.value.map(<[u8]>::to_vec)))
            .collect()
    }
}

/// The trace context of `input` alone, for the records derived from it that are not its
/// enriched article (events, kill markers, tombstones).
pub fn trace_context(input: &impl Message) -> Vec<OutHeader> {
    HeaderPolicy {
        allow: Vec::new(),
        deny: Vec::new(),
    }
    .carried(input)
}

/// A JSON output's headers: `carried` from its input, then its content type and the
/// version of its schema.
pub fn json_output(mut carried: Vec<OutHeader>) -> Vec<OutHeader> {
    carried.push((
        Cow::Borrowed(CONTENT_TYPE),
        Some(b"application/json".to_vec()),
    ));
    carried.push((
        Cow::Borrowed(header::SCHEMA_VERSION),
        Some(SCHEMA_VERSION.to_string().into_bytes()),
    ));
    carried
}

/// A dead letter's headers: every header of the original record but newsflow's own (the
/// letter sets them anew; `newsflow replay-dlq` gives the others back), then the letter's.
pub fn dead_letter(original: &impl Message, letter: Vec<(&'static str, String)>) -> Vec<OutHeader> {
    let own = HeaderPolicy {
        allow: vec!["*".into()],
        deny: vec!["newsflow.*".into()],
    };
    let mut headers = own.carried(original);
    headers.extend(
        letter
            .into_iter()
            .map(|(name, value)| (Cow::Borrowed(name), Some(value.into_bytes()))),
    );
    headers
}

/// The MIME type header of every JSON output.
pub const CONTENT_TYPE: &str = "content-type";

#[cfg(test)]
mod tests {
    use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
    use rdkafka::Timestamp;

    use super::*;

    #[test]
    fn by_default_all_but_what_newsflow_sets_passes() {
        let policy = HeaderPolicy::default();
        for passes in ["traceparent", "x-request-id", "Correlation-Id"] {
            assert!(policy.passes(passes), "{passes}");
        }
        for stays in ["ce_id", "ce_type", "Content-Type", "newsflow.reason"] {
            assert!(!policy.passes(stays), "{stays}");
        }
    }

    #[test]
    fn trace_context_passes_whatever_the_lists_say() {
        let policy = HeaderPolicy {
            allow: vec!["x-tenant".into()],
            deny: vec!["*".into()],
        };
        assert!(policy.passes("traceparent"));
        assert!(policy.passes("TraceState"));
        assert!(!policy.passes("x-tenant"), "denied after allowed");
        let policy = HeaderPolicy {
            allow: vec!["x-*".into()],
            deny: vec![],
        };
        let input = message(&[
            ("x-tenant", Some(&b"desk-1"[..])),
            ("user", Some(&b"u"[..])),
            ("traceparent", Some(&b"00-ab-cd-01"[..])),
            ("x-empty", None),
        ]);
        let owned = |name: &str, value: Option<&[u8]>| -> OutHeader {
            (Cow::Owned(name.to_owned()), value.map(<[u8]>::to_vec))
        };
        assert_eq!(
            policy.carried(&input),
            [
                owned("x-tenant", Some(b"desk-1")),
                owned("traceparent", Some(b"00-ab-cd-01")),
                owned("x-empty", None),
            ]
        );
        assert_eq!(
            trace_context(&input),
            [owned("traceparent", Some(b"00-ab-cd-01"))]
        );
    }

    #[test]
    fn a_dead_letter_keeps_the_originals_headers_but_newsflows() {
        let input = message(&[
            ("ce_id", Some(&b"e1"[..])),
            ("newsflow.reason", Some(&b"old"[..])),
        ]);
        let headers = dead_letter(&input, vec![(header::REASON, "empty".into())]);
        let names: Vec<&str> = headers.iter().map(|(name, _)| name.as_ref()).collect();
        assert_eq!(names, ["ce_id", "newsflow.reason"]);
        assert_eq!(headers[1].1.as_deref(), Some(&b"empty"[..]));
    }

    fn message(headers: &[(&str, Option<&[u8]>)]) -> OwnedMessage {
        let headers = headers
            .iter()
            .fold(OwnedHeaders::new(), |all, (key, value)| {
                all.insert(Header { key, value: *value })
            });
        OwnedMessage::new(
            Some(b"{}".to_vec()),
            None,
            "news.raw".into(),
            Timestamp::NotAvailable,
            0,
            0,
            Some(headers),
        )
    }
}
