//! Tests on librdkafka's mock cluster, hosted by the test and reached by the child over
//! loopback, for faults a real broker process cannot stage: a broker outage in the middle of
//! a run, and the byte budget of records in flight.

#[path = "../support/mod.rs"]
mod support;

mod broker_outage;
mod in_flight_budget;
