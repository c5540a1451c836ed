//! Which feed items have been sent, and in which version: the item's id (its GUID, link or
//! ninjs `uri`) and a hash of the record made from it. A poll sends an item the state does
//! not have (new) or whose hash differs (updated, as the next version), and nothing else.
//!
//! The state lives in a compacted Kafka topic keyed by item id ([`SeenEntry`] values), so
//! that a restarted or replacing ingest reads it back instead of sending everything again.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hash::{fnv1a, mix};

/// The seen-item state's record for one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenEntry {
    /// The hash of the item's record as last sent, 16 hex digits.
    pub hash: String,
    /// How many versions of the item have been sent; the record of version n > 1 carries
    /// `"version": "n"` (unless the item has a version of its own, as ninjs items do).
    pub version: u32,
    /// The feed the item was last read from.
    pub feed: String,
    /// When it was last sent, RFC 3339.
    pub sent_at: String,
}

/// What a poll found an item to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    New,
    Updated,
    Unchanged,
}

/// An item to send: its id (the record key), the record, and the state entry that goes
/// with it in the same transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub id: String,
    /// The content hash, as `entry.hash` writes it in hex.
    pub hash: u64,
    pub record: Value,
    pub entry: SeenEntry,
}

#[derive(Debug, Default)]
pub struct SeenItems {
    entries: FxHashMap<String, (u64, u32)>,
}

impl SeenItems {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Takes in one record of the state topic: `None` for a tombstone (the item forgotten).
    /// A value that is not a [`SeenEntry`] is ignored: the item is then sent again, which is
    /// better than never.
    pub fn load(&mut self, id: &str, value: Option<&[u8]>) {
        let entry = value.and_then(|bytes| serde_json::from_slice::<SeenEntry>(bytes).ok());
        match entry.and_then(|e| Some((u64::from_str_radix(&e.hash, 16).ok()?, e.version))) {
            Some(seen) => {
                self.entries.insert(id.to_owned(), seen);
            }
            None => {
                self.entries.remove(id);
            }
        }
    }

    /// What `record` (an item of `feed`) is against the state, and, when it is to be sent,
    /// the record with its version and the state entry to store with it. The state itself
    /// changes only through [`Self::remember`], once the records are stored.
    pub fn classify(&self, record: Value, feed: &str) -> (ItemStatus, Option<Outgoing>) {
        let Some(id) = item_id(&record) else {
            return (ItemStatus::Unchanged, None);
        };
        let hash = content_hash(&record);
        let (status, version) = match self.entries.get(&id) {
            None => (ItemStatus::New, 1),
            Some(&(seen, _)) if seen == hash => return (ItemStatus::Unchanged, None),
            Some(&(_, version)) => (ItemStatus::Updated, version + 1),
        };
        let mut record = record;
        if version > 1 {
            if let Value::Object(fields) = &mut record {
                fields
                    .entry("version")
                    .or_insert_with(|| version.to_string().into());
            }
        }
        let entry = SeenEntry {
            hash: format!("{hash:016x}"),
            version,
            feed: feed.to_owned(),
            sent_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        (
            status,
            Some(Outgoing {
                id,
                hash,
                record,
                entry,
            }),
        )
    }

    /// Whether `item`, in this version, is stored already (by another feed's poll since it
    /// was classified).
    pub fn is_stored(&self, item: &Outgoing) -> bool {
        self.entries
            .get(&item.id)
            .is_some_and(|&(seen, _)| seen == item.hash)
    }

    /// Records that `sent` is stored.
    pub fn remember(&mut self, sent: &[Outgoing]) {
        for item in sent {
            self.entries
                .insert(item.id.clone(), (item.hash, item.entry.version));
        }
    }
}

/// The id a record is keyed by: a raw article's `id`, a ninjs item's `uri`.
pub fn item_id(record: &Value) -> Option<String> {
    ["id", "uri"]
        .into_iter()
        .find_map(|field| record.get(field)?.as_str())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

/// A hash of the record as the feed gave it (before any version of ours is added): any
/// change to the item's title, text, links or dates makes a new version.
fn content_hash(record: &Value) -> u64 {
    mix(fnv1a(record.to_string().as_bytes()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn item(title: &str) -> Value {
        json!({"id": "https://example.org/a", "title": title, "body": "Text."})
    }

    #[test]
    fn an_item_is_new_then_unchanged_then_updated_with_a_version() {
        let mut seen = SeenItems::default();
        let (status, first) = seen.classify(item("One"), "feed");
        assert_eq!(status, ItemStatus::New);
        let first = first.unwrap();
        assert_eq!(first.entry.version, 1);
        assert!(first.record.get("version").is_none());
        // Not stored yet: still new.
        assert_eq!(seen.classify(item("One"), "feed").0, ItemStatus::New);
        seen.remember(&[first]);
        assert_eq!(
            seen.classify(item("One"), "feed"),
            (ItemStatus::Unchanged, None)
        );
        let (status, second) = seen.classify(item("One, corrected"), "feed");
        assert_eq!(status, ItemStatus::Updated);
        let second = second.unwrap();
        assert_eq!(second.entry.version, 2);
        assert_eq!(second.record["version"], "2");
    }

    #[test]
    fn the_state_reads_back_from_its_records() {
        let seen = SeenItems::default();
        let (_, sent) = seen.classify(item("One"), "feed");
        let sent = sent.unwrap();
        let mut restarted = SeenItems::default();
        restarted.load(&sent.id, Some(&serde_json::to_vec(&sent.entry).unwrap()));
        assert_eq!(restarted.len(), 1);
        assert_eq!(
            restarted.classify(item("One"), "feed").0,
            ItemStatus::Unchanged
        );
        restarted.load(&sent.id, None);
        assert!(restarted.is_empty());
        restarted.load(&sent.id, Some(b"not json"));
        assert_eq!(restarted.classify(item("One"), "feed").0, ItemStatus::New);
    }

    #[test]
    fn ninjs_items_keep_their_own_version_and_are_keyed_by_uri() {
        let mut seen = SeenItems::default();
        let ninjs =
            |headline: &str| json!({"uri": "urn:x:1", "version": "7", "headline": headline});
        let (_, sent) = seen.classify(ninjs("A"), "feed");
        seen.remember(&[sent.unwrap()]);
        let (_, sent) = seen.classify(ninjs("B"), "feed");
        let sent = sent.unwrap();
        assert_eq!(sent.id, "urn:x:1");
        assert_eq!(sent.record["version"], "7");
        assert_eq!(seen.classify(json!({"title": "no id"}), "feed").1, None);
    }
}
