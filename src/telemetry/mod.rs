//! Metrics, logs and the HTTP endpoints that expose them.
//!
//! Every observable thing that happens is an event struct in [`events`] whose `emit()`
//! writes the log line and updates the metrics together, so the two never drift.

pub mod events;
mod logging;
mod metrics;
mod server;

pub use logging::{init_logging, LogFormat};
pub use metrics::{metrics, Metrics};
pub use server::{serve, Health};
