//! One input record's work: decode and stages on a worker thread, then the records to
//! produce for it. Workers finish out of order, so the article's version is admitted (and
//! a superseded one's outputs dropped) by the caller, in input order ([`JobOutput::admitted`]).

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use rdkafka::message::{Message, OwnedMessage};
use tokio::sync::oneshot;

use super::envelope::Envelopes;
use super::headers::{self, HeaderPolicy};
use super::input_schemas::InputSchemas;
use super::produce::{Origin, Outgoing};
use super::route_topics::RouteTopics;
use super::stories::StoryKeeper;
use crate::config::OutputFormat;
use crate::record::{pending_embargo, ArticleVersion, EnrichedArticle, EventRecord};
use crate::route::Router;
use crate::stage::{Admission, Enrichment, LatestVersions, Pipeline};
use crate::story::{story_time, Signature};
use crate::telemetry::events::{
    ArticleEmbargoed, ArticleSuperseded, DeadLettered, RecordConsumed, RecordRouted,
};

/// Where an enriched article is published, now or when its embargo ends.
#[derive(Clone)]
pub struct Publication {
    pub output_topic: Arc<str>,
    /// Empty when events are not published on their own.
    pub events_topic: Arc<str>,
    /// Events below this confidence are not published on the events topic.
    pub min_event_confidence: f64,
    /// The further topics an article's routes send it to.
    pub router: Arc<Router>,
    /// Which of those exist: a copy for a missing one is left out.
    pub route_topics: Arc<RouteTopics>,
    /// Which input headers the article and its copies carry on.
    pub headers: Arc<HeaderPolicy>,
    /// What the output topic and the routes' topics carry.
    pub format: OutputFormat,
    /// How the records of each output are wrapped.
    pub envelopes: Arc<Envelopes>,
    /// Whose reference data the routes read (a country's region).
    pub pipeline: Arc<Pipeline>,
}

impl Publication {
    /// What publishes an article: its events (those at least `min_event_confidence` likely
    /// right) on the events topic, unless there is none, then the article on the output
    /// topic, keyed by its id (a dead letter of `original` should the broker refuse it),
    /// then its copies on the topics of the routes it matches, each in its output's
    /// envelope. May wait for the cluster's metadata or the schema registry: call it off
    /// the async runtime.
    pub fn outputs(&self, article: &EnrichedArticle, original: OwnedMessage) -> Vec<Outgoing> {
        let mut outputs = Vec::with_capacity(1 + article.events.len());
        if !self.events_topic.is_empty() {
            let trace = headers::trace_context(&original);
            outputs.extend(
                events_to_publish(article, self.min_event_confidence)
                    .iter()
                    .filter_map(|event| {
                        let out = Outgoing::event(&self.events_topic, event, trace.clone());
                        self.envelopes.event(out, event)
                    }),
            );
        }
        let carried = self.headers.carried(&original);
        let published =
            Outgoing::published(&self.output_topic, article, self.format, original, carried);
        let gazetteer = &self.pipeline.reference().gazetteer;
        let routed: Vec<Outgoing> = self
            .router
            .destinations(article, gazetteer)
            .into_iter()
            .filter(|destination| self.route_topics.exists(&destination.topic))
            .filter_map(|destination| {
                let copy = published.copy_to(&destination.topic);
                let copy = self
                    .envelopes
                    .article(copy, article, destination.envelope)?;
                RecordRouted {
                    route: destination.route,
                }
                .emit();
                Some(copy)
            })
            .collect();
        // Registered at start-up, so never left out.
        outputs.extend(self.envelopes.article(published, article, None));
        outputs.extend(routed);
        outputs
    }
}

/// What every job needs to know besides its record.
#[derive(Clone)]
pub struct Jobs {
    pub pipeline: Arc<Pipeline>,
    pub workers: Arc<rayon::ThreadPool>,
    pub publication: Publication,
    pub dlq_topic: Arc<str>,
    /// Where articles under an embargo still to come wait for the releaser.
    pub embargo_topic: Arc<str>,
    /// The latest version of each article, shared by the workers.
    pub versions: Arc<LatestVersions>,
    pub max_record_bytes: usize,
    /// Whether enriched articles carry `clean.text` besides their paragraphs.
    pub include_text: bool,
    /// The registry framed input records' schema types are asked of, when configured.
    pub input_schemas: Option<Arc<InputSchemas>>,
    /// What gives enriched articles their stories, when a story log is configured.
    pub stories: Option<Arc<StoryKeeper>>,
}

/// What a worker hands back: a record's outputs, or an article still to be given its
/// story (which waits on the story log, off the worker threads).
enum Worked {
    Done(Vec<Outgoing>, Option<Claim>),
    Unstoried(
        Arc<StoryKeeper>,
        Box<EnrichedArticle>,
        Signature,
        OwnedMessage,
    ),
}

impl Jobs {
    /// Hands the record to a worker thread; the future yields its outputs.
    pub fn start(&self, message: OwnedMessage) -> impl Future<Output = JobOutput> {
        let origin = Origin::of(&message);
        RecordConsumed {
            topic: &origin.topic,
        }
        .emit();
        let jobs = self.clone();
        let job_origin = origin.clone();
        let (sender, receiver) = oneshot::channel();
        self.workers.spawn(move || {
            // The receiver is gone only when shutdown gave up waiting; the record will be
            // consumed again.
            match jobs.work(&job_origin, message) {
                Worked::Done(outputs, claim) => {
                    let _ = sender.send((outputs, claim));
                }
                Worked::Unstoried(stories, article, signature, message) => {
                    jobs.give_story(stories, *article, signature, message, sender);
                }
            }
        });
        async move {
            // A worker cannot drop its sender without sending: enrich catches panics.
            let (outputs, claim) = receiver.await.unwrap_or_default();
            JobOutput {
                origin,
                outputs,
                claim,
            }
        }
    }

    /// Waits for the article's story off the worker threads (on a task of its own, so that
    /// articles wait side by side), then has a worker make its outputs and send them.
    fn give_story(
        self,
        stories: Arc<StoryKeeper>,
        mut article: EnrichedArticle,
        signature: Signature,
        message: OwnedMessage,
        sender: oneshot::Sender<(Vec<Outgoing>, Option<Claim>)>,
    ) {
        stories.runtime().clone().spawn(async move {
            let time = story_time(article.published_at);
            article.story = stories.story(&article.id, time, signature).await;
            let workers = Arc::clone(&self.workers);
            workers.spawn(move || {
                let _ = sender.send(self.article_outputs(article, message));
            });
        });
    }

    fn work(&self, origin: &Origin, message: OwnedMessage) -> Worked {
        let value = message.payload().unwrap_or_default();
        let refused = self.input_schemas.as_ref().and_then(|s| s.refusal(value));
        let enriched = match refused {
            Some(refusal) => Err(refusal),
            None => self
                .pipeline
                .enrich_latest(value, self.max_record_bytes, Some(&self.versions)),
        };
        match enriched {
            Ok(Enrichment::Superseded(_)) => Worked::Done(Vec::new(), None),
            Ok(Enrichment::Killed(kill)) => {
                let publication = &self.publication;
                let mut outputs = Vec::with_capacity(3);
                if !publication.events_topic.is_empty() {
                    let trace = headers::trace_context(&message);
                    let marker = Outgoing::kill_marker(&publication.events_topic, &kill, trace);
                    outputs.extend(publication.envelopes.kill_marker(marker, &kill));
                }
                outputs.push(Outgoing::embargo_tombstone(&self.embargo_topic, &kill.id));
                outputs.push(Outgoing::tombstone(
                    &publication.output_topic,
                    &kill,
                    message,
                ));
                Worked::Done(outputs, None)
            }
            Ok(Enrichment::Article(enriched)) => match &self.stories {
                Some(stories) => {
                    let signature = Signature::of(&enriched.clean.paragraphs.join("\n\n"));
                    Worked::Unstoried(Arc::clone(stories), Box::new(enriched), signature, message)
                }
                None => {
                    let (outputs, claim) = self.article_outputs(enriched, message);
                    Worked::Done(outputs, claim)
                }
            },
            Err(rejection) => {
                let letter = rejection.into_dead_letter(origin.dead_letter_source(), value);
                DeadLettered { letter: &letter }.emit();
                let outputs = vec![Outgoing::dead_letter(&self.dlq_topic, &letter, &message)];
                Worked::Done(outputs, None)
            }
        }
    }

    /// An enriched article's outputs: held on the embargo topic while its embargo is to
    /// come, else published.
    fn article_outputs(
        &self,
        mut enriched: EnrichedArticle,
        message: OwnedMessage,
    ) -> (Vec<Outgoing>, Option<Claim>) {
        if !self.include_text {
            enriched.leave_out_text();
        }
        let claim = Claim {
            version: enriched.version(),
            embargoed: pending_embargo(enriched.embargoed, Utc::now()),
            embargo_topic: Arc::clone(&self.embargo_topic),
        };
        if let Some(until) = claim.embargoed {
            // Its events wait with it: the releaser publishes them at `until`.
            let carried = self.publication.headers.carried(&message);
            let held = Outgoing::embargoed(&self.embargo_topic, &enriched, until, message, carried);
            return (vec![held], Some(claim));
        }
        (self.publication.outputs(&enriched, message), Some(claim))
    }
}

/// A record's outputs, not yet checked against the versions admitted before it.
pub struct JobOutput {
    origin: Origin,
    outputs: Vec<Outgoing>,
    claim: Option<Claim>,
}

/// An enriched article's version, and its embargo when still to come.
struct Claim {
    version: ArticleVersion,
    embargoed: Option<DateTime<FixedOffset>>,
    embargo_topic: Arc<str>,
}

impl JobOutput {
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The record's origin and what to produce for it: nothing when a newer version of its
    /// article was admitted before, and a tombstone on the embargo topic besides when this
    /// version, published now, replaces one the releaser may hold. Call it in input order
    /// (per partition), since that is the order the outputs reach their topics in.
    pub fn admitted(mut self, versions: &LatestVersions) -> (Origin, Vec<Outgoing>) {
        let Some(claim) = self.claim else {
            return (self.origin, self.outputs);
        };
        let embargoed = claim.embargoed.is_some();
        match versions.admit(&claim.version, embargoed) {
            Admission::Superseded => {
                ArticleSuperseded {
                    stale: &claim.version,
                }
                .emit();
                return (self.origin, Vec::new());
            }
            Admission::Latest { replaces_embargoed } if replaces_embargoed && !embargoed => {
                let id = &claim.version.id;
                let cancel = Outgoing::embargo_tombstone(&claim.embargo_topic, id);
                self.outputs.insert(0, cancel);
            }
            Admission::Latest { .. } => {}
        }
        if let Some(until) = claim.embargoed {
            ArticleEmbargoed {
                article_id: &claim.version.id,
                until,
            }
            .emit();
        }
        (self.origin, self.outputs)
    }
}

/// The events of an article that go on the events topic: those at least `min_confidence`
/// likely right.
fn events_to_publish(enriched: &EnrichedArticle, min_confidence: f64) -> Vec<EventRecord> {
    let mut records = EventRecord::all_of(enriched);
    records.retain(|record| record.event.confidence >= min_confidence);
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::reference::for_tests;

    #[test]
    fn the_events_topic_gets_only_events_confident_enough() {
        let record = serde_json::json!({
            "id": "a",
            "published_at": "2024-07-01T00:00:00Z",
            "body": "Israeli troops arrested more than 100 Palestinians on Saturday. \
                     China and Russia held a summit in Moscow on May 16.",
        });
        let enriched = Pipeline::standard(for_tests().clone())
            .enrich(record.to_string().as_bytes(), usize::MAX)
            .ok()
            .and_then(Enrichment::into_article)
            .expect("enriched");
        let all = events_to_publish(&enriched, 0.0);
        assert_eq!(all.len(), enriched.events.len());
        assert!(all.len() >= 2, "{:?}", enriched.events);
        let lowest = all.iter().map(|r| r.event.confidence).fold(1.0, f64::min);
        let highest = all.iter().map(|r| r.event.confidence).fold(0.0, f64::max);
        assert!(events_to_publish(&enriched, highest + 0.01).is_empty());
        let some = events_to_publish(&enriched, highest);
        assert!(!some.is_empty());
        assert!(some.iter().all(|r| r.event.confidence >= highest));
        assert_eq!(events_to_publish(&enriched, lowest).len(), all.len());
    }
}
