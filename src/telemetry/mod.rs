//! Metrics, logs and the HTTP endpoints that expose them.
//!
//! Every observable thing that happens is an event struct in [`events`] whose `emit()`
//! writes the log line and updates the metrics together, so the two never drift. Events
//! that can repeat thousands of times a second log through a rate limit (`limiter`).

pub mod aggregate_events;
pub mod events;
pub mod feed_events;
mod limiter;
mod logging;
mod metrics;
mod server;
pub mod story_events;

pub use events::{summarize_suppressed, summarize_suppressed_periodically};
pub use logging::{init_logging, LogFormat};
pub use metrics::{metrics, Metrics};
pub use server::{serve, Health};
