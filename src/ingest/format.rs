//! The `format` hint of a feed: which kind of document its address serves. `auto` detects
//! it; any other value makes a document of another kind an error, so that a publisher who
//! swaps the feed for something else is noticed instead of read as whatever it became.

use std::fmt;

use feed_rs::model::FeedType;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedFormat {
    /// Detected from the document: ninjs, a sitemap, or whatever `feed-rs` reads.
    #[default]
    Auto,
    /// RSS 0.9x, 1.0 or 2.0.
    Rss,
    Atom,
    JsonFeed,
    /// IPTC ninjs items.
    Ninjs,
    /// An XML sitemap (Google News extension included) or a sitemap index.
    Sitemap,
}

impl FeedFormat {
    /// Whether `feed-rs`'s reading of a document agrees with the hint (ninjs and sitemaps
    /// are never read by `feed-rs`).
    pub fn accepts(self, found: &FeedType) -> bool {
        match self {
            Self::Auto => true,
            Self::Rss => matches!(found, FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2),
            Self::Atom => *found == FeedType::Atom,
            Self::JsonFeed => *found == FeedType::JSON,
            Self::Ninjs | Self::Sitemap => false,
        }
    }

    /// The name of the kind `feed-rs` found, in the words of the hint.
    pub fn name_of(found: &FeedType) -> &'static str {
        match found {
            FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2 => "rss",
            FeedType::Atom => "atom",
            FeedType::JSON => "json_feed",
        }
    }
}

impl fmt::Display for FeedFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Rss => "rss",
            Self::Atom => "atom",
            Self::JsonFeed => "json_feed",
            Self::Ninjs => "ninjs",
            Self::Sitemap => "sitemap",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Spec {
        #[serde(default)]
        format: FeedFormat,
    }

    #[test]
    fn the_hint_is_read_from_its_snake_case_name_and_unknown_names_are_refused() {
        let read = |text: &str| toml::from_str::<Spec>(text).map(|spec| spec.format);
        assert_eq!(read("").unwrap(), FeedFormat::Auto);
        assert_eq!(
            read("format = \"json_feed\"").unwrap(),
            FeedFormat::JsonFeed
        );
        assert_eq!(read("format = \"sitemap\"").unwrap(), FeedFormat::Sitemap);
        assert!(read("format = \"RSS\"").is_err());
        assert!(read("format = \"html\"").is_err());
        for format in [FeedFormat::Rss, FeedFormat::Ninjs, FeedFormat::JsonFeed] {
            assert_eq!(read(&format!("format = \"{format}\"")).unwrap(), format);
        }
    }

    #[test]
    fn a_hint_accepts_only_its_own_kind() {
        assert!(FeedFormat::Rss.accepts(&FeedType::RSS1));
        assert!(!FeedFormat::Rss.accepts(&FeedType::Atom));
        assert!(FeedFormat::Atom.accepts(&FeedType::Atom));
        assert!(!FeedFormat::JsonFeed.accepts(&FeedType::RSS2));
        assert!(FeedFormat::Auto.accepts(&FeedType::JSON));
        assert!(!FeedFormat::Sitemap.accepts(&FeedType::RSS2));
    }
}
