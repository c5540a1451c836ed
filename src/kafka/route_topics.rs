//! Which route topics exist. A templated route names its topic only when an article comes
//! (`news.region.{subregion}`), and a record for a topic the cluster does not have would
//! wait for ever on a cluster that does not create topics, holding back its input's
//! offsets. So each topic is looked up once (again after a minute when missing), and a
//! route's copy for a missing one is left out and counted instead. On a cluster that
//! creates topics on demand, the lookup creates it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::producer::FutureProducer;
use rdkafka::producer::Producer as _;

use super::context::ProducerContext;
use crate::telemetry::events::RouteTopicMissing;

/// How long a lookup may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a topic found missing is taken for missing before it is looked up again.
const RECHECK_MISSING: Duration = Duration::from_secs(60);

pub struct RouteTopics {
    producer: FutureProducer<ProducerContext>,
    /// Whether each topic existed, and when that was learnt.
    known: Mutex<HashMap<String, (bool, Instant)>>,
}

impl RouteTopics {
    pub fn new(producer: FutureProducer<ProducerContext>) -> Self {
        Self {
            producer,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `topic` exists, from the cache or the cluster. Blocks on a lookup: call it
    /// from a worker thread.
    pub fn exists(&self, topic: &str) -> bool {
        let cached = self
            .known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(topic)
            .copied();
        match cached {
            Some((true, _)) => return true,
            Some((false, at)) if at.elapsed() < RECHECK_MISSING => return false,
            _ => {}
        }
        let exists =
            self.producer
                .client()
                .fetch_metadata(Some(topic), LOOKUP_TIMEOUT)
                .is_ok_and(|metadata| {
                    metadata.topics().iter().any(|t| {
                        t.name() == topic && t.error().is_none() && !t.partitions().is_empty()
                    })
                });
        if !exists {
            RouteTopicMissing { topic }.emit();
        }
        self.known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(topic.to_owned(), (exists, Instant::now()));
        exists
    }
}
