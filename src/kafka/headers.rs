//! Which headers of an input record its enriched record carries on. Trace context
//! (`traceparent`, `tracestate`) always does, so that a trace runs through newsflow; the
//! rest as the allow and deny lists say (`*` at the end of a name matches any ending).
//! By default everything passes but headers that would say something false of the new
//! record: a CloudEvent's `ce_*` attributes (the enriched record is another event), its
//! `content-type`, and newsflow's own `newsflow.*` headers, which newsflow sets itself.

use serde::{Deserialize, Serialize};

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
    pub fn carried<'a>(
        &'a self,
        input: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
    ) -> Vec<(String, Option<Vec<u8>>)> {
        input
            .into_iter()
            .filter(|(name, _)| self.passes(name))
            .map(|(name, value)| (name.to_owned(), value.map(<[u8]>::to_vec)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
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
        let input = [
            ("x-tenant", Some(&b"desk-1"[..])),
            ("user", Some(&b"u"[..])),
            ("traceparent", Some(&b"00-ab-cd-01"[..])),
            ("x-empty", None),
        ];
        assert_eq!(
            policy.carried(input),
            [
                ("x-tenant".to_owned(), Some(b"desk-1".to_vec())),
                ("traceparent".to_owned(), Some(b"00-ab-cd-01".to_vec())),
                ("x-empty".to_owned(), None),
            ]
        );
    }
}
