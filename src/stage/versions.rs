//! The latest version seen of each article, so that a late older version is left out
//! instead of overwriting a newer one ([`crate::record::ArticleVersion`]).
//!
//! Shared by the workers of a run (and of `newsflow process`) behind one lock, held for a
//! hash-map lookup per article: nothing next to the stages' milliseconds. Bounded by two
//! generations of at most `capacity / 2` ids each: when the current one fills, it becomes
//! the previous one and the previous one is dropped, so an id is forgotten only after
//! `capacity / 2` other ids were seen since it last was (an approximate LRU without a
//! list to maintain). An entry is an id's 64-bit hash and a [`VersionKey`], about 50
//! bytes with the map's own overhead: about 50 MB per million ids.
//!
//! The map lives in memory: after a restart, or when a rebalance hands a partition to
//! another replica, it starts empty for those ids (see docs/records.md, Versions).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::hash::{fnv1a, mix};
use crate::record::{ArticleVersion, VersionKey};

pub struct LatestVersions {
    generation_size: usize,
    generations: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    current: HashMap<u64, Latest>,
    previous: HashMap<u64, Latest>,
}

/// An article's latest version admitted, and whether it went under an embargo.
#[derive(Clone, Copy)]
struct Latest {
    key: VersionKey,
    embargoed: bool,
}

impl Generations {
    fn latest(&self, id: u64) -> Option<&Latest> {
        self.current.get(&id).or_else(|| self.previous.get(&id))
    }
}

/// What admitting a version found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A newer version was admitted before: this one is left out.
    Superseded,
    /// This is the article's latest version. `replaces_embargoed`: the version it replaces
    /// was under an embargo when admitted, so the releaser may still hold it.
    Latest { replaces_embargoed: bool },
}

impl LatestVersions {
    /// Remembers at most `capacity` ids (at least two).
    pub fn new(capacity: usize) -> Self {
        Self {
            generation_size: (capacity / 2).max(1),
            generations: Mutex::default(),
        }
    }

    /// Whether a newer version of the article was already admitted: a read that leaves
    /// the map as it is, to spare the stages an input that will be left out anyway.
    pub fn is_stale(&self, version: &ArticleVersion) -> bool {
        let key = version.key();
        self.lock()
            .latest(id_hash(&version.id))
            .is_some_and(|latest| key.is_older_than(&latest.key))
    }

    /// Admits `version` (`embargoed` when it goes under an embargo) as the article's
    /// latest, unless a newer one was admitted before. Call it in input order.
    pub fn admit(&self, version: &ArticleVersion, embargoed: bool) -> Admission {
        let (id, key) = (id_hash(&version.id), version.key());
        let mut generations = self.lock();
        let replaced = generations.latest(id).copied();
        if replaced.is_some_and(|latest| key.is_older_than(&latest.key)) {
            return Admission::Superseded;
        }
        if generations.current.len() >= self.generation_size
            && !generations.current.contains_key(&id)
        {
            generations.previous = std::mem::take(&mut generations.current);
        }
        generations.current.insert(id, Latest { key, embargoed });
        Admission::Latest {
            replaces_embargoed: replaced.is_some_and(|latest| latest.embargoed),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        // The map holds no invariant a panic could break halfway.
        self.generations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Ids are kept as 64-bit hashes: with a million ids the odds that two share one are about
/// one in 30 million, and a shared hash can only make a version look stale or current when
/// it is not, never lose a newer one silently (the superseded input is logged and counted).
fn id_hash(id: &str) -> u64 {
    mix(fnv1a(id.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::InputFormat;

    /// Admits a version under no embargo; whether it is the latest.
    fn admits(latest: &LatestVersions, version: &ArticleVersion) -> bool {
        latest.admit(version, false) != Admission::Superseded
    }

    fn version(id: &str, number: u32) -> ArticleVersion {
        ArticleVersion {
            id: id.into(),
            format: InputFormat::Ninjs,
            version: Some(number.to_string()),
            created: None,
        }
    }

    #[test]
    fn a_late_older_version_is_superseded_and_equal_ones_are_not() {
        let latest = LatestVersions::new(100);
        assert!(admits(&latest, &version("a", 2)));
        assert!(latest.is_stale(&version("a", 1)));
        assert!(!admits(&latest, &version("a", 1)));
        // The same version again (a record read twice) is enriched again.
        assert!(!latest.is_stale(&version("a", 2)));
        assert!(admits(&latest, &version("a", 2)));
        assert!(admits(&latest, &version("a", 3)));
        assert!(!admits(&latest, &version("a", 2)));
        assert!(admits(&latest, &version("b", 1)), "ids are apart");
    }

    #[test]
    fn a_version_that_replaces_an_embargoed_one_says_so() {
        let latest = LatestVersions::new(100);
        let replaces = |embargoed| Admission::Latest {
            replaces_embargoed: embargoed,
        };
        assert_eq!(latest.admit(&version("a", 1), true), replaces(false));
        assert_eq!(latest.admit(&version("a", 0), false), Admission::Superseded);
        assert_eq!(latest.admit(&version("a", 2), false), replaces(true));
        assert_eq!(latest.admit(&version("a", 3), false), replaces(false));
    }

    #[test]
    fn memory_is_bounded_and_recent_ids_are_kept() {
        let latest = LatestVersions::new(4);
        assert!(admits(&latest, &version("a", 5)));
        assert!(admits(&latest, &version("b", 5)));
        // "a" seen again stays current; "c" turns the generation over.
        assert!(admits(&latest, &version("c", 5)));
        assert!(
            !admits(&latest, &version("a", 4)),
            "still in the previous generation"
        );
        for id in ["d", "e", "f", "g"] {
            assert!(admits(&latest, &version(id, 1)));
        }
        let generations = latest.lock();
        assert!(generations.current.len() + generations.previous.len() <= 4);
        drop(generations);
        assert!(
            admits(&latest, &version("b", 1)),
            "forgotten after 4 other ids"
        );
    }
}
