//! `newsflow run` on one Apache Kafka node on loopback, shared by these tests, each with
//! topics and a group of its own: articles enriched and malformed records dead-lettered,
//! kills retracted, embargoes held until their time and late older versions dropped, output
//! topics that do not exist, feeds ingested into the input topic across kills, headers
//! carried through, ninjs output, the README's routing examples, and records framed for a
//! schema registry and CloudEvents, in and out; and the events topic aggregated per event.

#[path = "../support/mod.rs"]
mod support;

mod aggregate;
mod embargo;
mod enrichment;
mod headers;
mod ingest;
mod ninjs_output;
mod output_topics;
mod registry;
// Shared with the offline tests of the registry client, which use all of it.
#[allow(dead_code)]
#[path = "../offline/registry/server.rs"]
mod registry_server;
mod routing;
mod stories;
