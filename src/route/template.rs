//! A route's topic: a name, or a template with one placeholder (`news.desk.{region}`) that
//! becomes one topic per value the article has, written as a legal topic name
//! ("Western Europe" → `western-europe`).

use super::Facts;
use crate::config::check_topic_name;

/// What a placeholder stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// The ISO 3166-1 alpha-2 code, lower case (`fr`).
    Country,
    /// The UN M49 region's name (`europe`).
    Region,
    /// The UN M49 sub-region's name (`western-europe`).
    Subregion,
    /// The IPTC Media Topic's name (`economy-business-and-finance`).
    Topic,
    /// The ISO 639-1 code (`en`).
    Language,
    /// The PLOVER class, lower case (`protest`).
    Event,
    /// The source's name (`example-wire`).
    Source,
}

impl Placeholder {
    const ALL: [(&'static str, Self); 7] = [
        ("country", Self::Country),
        ("region", Self::Region),
        ("subregion", Self::Subregion),
        ("topic", Self::Topic),
        ("language", Self::Language),
        ("event", Self::Event),
        ("source", Self::Source),
    ];
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Template {
    prefix: String,
    /// The placeholder and what follows it.
    rest: Option<(Placeholder, String)>,
}

impl Template {
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        let Some((prefix, after)) = text.split_once('{') else {
            if text.contains('}') {
                return Err(format!("topic {text:?} has a '}}' without its '{{'"));
            }
            check_topic_name("topic", text).map_err(|error| error.to_string())?;
            return Ok(Self {
                prefix: text.to_owned(),
                rest: None,
            });
        };
        let (name, suffix) = after
            .split_once('}')
            .ok_or_else(|| format!("topic {text:?} has a '{{' without its '}}'"))?;
        let placeholder = Placeholder::ALL
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, placeholder)| *placeholder)
            .ok_or_else(|| {
                let known: Vec<String> = Placeholder::ALL
                    .iter()
                    .map(|(n, _)| format!("{{{n}}}"))
                    .collect();
                format!(
                    "topic {text:?}: unknown placeholder {{{name}}}; known: {}",
                    known.join(", ")
                )
            })?;
        if suffix.contains(['{', '}']) {
            return Err(format!("topic {text:?}: at most one placeholder"));
        }
        check_topic_name("topic", &format!("{prefix}x{suffix}"))
            .map_err(|error| error.to_string())?;
        Ok(Self {
            prefix: prefix.to_owned(),
            rest: Some((placeholder, suffix.to_owned())),
        })
    }

    /// Whether some value of the placeholder would make the template `topic`.
    pub(super) fn could_be(&self, topic: &str) -> bool {
        match &self.rest {
            None => self.prefix == topic,
            Some((_, suffix)) => {
                topic.len() > self.prefix.len() + suffix.len()
                    && topic.starts_with(&self.prefix)
                    && topic.ends_with(suffix.as_str())
            }
        }
    }

    /// The topics of an article with these `facts`: the name, or one per value.
    pub(super) fn expand(&self, facts: &Facts) -> Vec<String> {
        match &self.rest {
            None => vec![self.prefix.clone()],
            Some((placeholder, suffix)) => facts
                .values(*placeholder)
                .iter()
                .map(|value| format!("{}{}{suffix}", self.prefix, slug(value)))
                .filter(|topic| check_topic_name("topic", topic).is_ok())
                .collect(),
        }
    }
}

/// `value` in lower-case ASCII letters and digits, other runs as one '-'.
fn slug(value: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::with_capacity(value.len());
    // Accents go: "Côte" is "cote", not "c-te".
    for c in value.nfkd().flat_map(char::to_lowercase) {
        if !c.is_ascii() {
            continue;
        }
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_legal_topic_names() {
        assert_eq!(slug("Western Europe"), "western-europe");
        assert_eq!(
            slug("economy, business and finance"),
            "economy-business-and-finance"
        );
        assert_eq!(slug("Côte d'Ivoire"), "cote-d-ivoire");
        assert_eq!(slug("  AP  "), "ap");
    }

    #[test]
    fn templates_are_checked_when_read() {
        assert!(Template::parse("news.desk.{region}").is_ok());
        assert!(Template::parse("news.wire").is_ok());
        for (bad, says) in [
            ("news.{desk}", "unknown placeholder {desk}"),
            ("news.{region}.{topic}", "at most one placeholder"),
            ("news.{region", "without its '}'"),
            ("news.region}", "without its '{'"),
            ("news desk", "topic"),
        ] {
            let error = Template::parse(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn a_template_knows_which_topics_it_can_make() {
        let template = Template::parse("news.{country}.raw").unwrap();
        assert!(template.could_be("news.fr.raw"));
        assert!(!template.could_be("news..raw"));
        assert!(!template.could_be("news.raw"));
        assert!(Template::parse("news.raw").unwrap().could_be("news.raw"));
    }
}
