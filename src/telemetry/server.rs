//! HTTP endpoints: `/metrics` (Prometheus text), `/healthz` (alive), `/readyz` (partitions
//! assigned and broker reachable).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::metrics;

/// What readiness depends on, updated by the Kafka side.
#[derive(Debug, Clone, Default)]
pub struct Health {
    inner: Arc<HealthState>,
}

#[derive(Debug, Default)]
struct HealthState {
    broker_reachable: AtomicBool,
    assigned_partitions: AtomicUsize,
}

impl Health {
    /// Returns whether this changed it.
    pub fn set_broker_reachable(&self, reachable: bool) -> bool {
        self.inner
            .broker_reachable
            .swap(reachable, Ordering::Relaxed)
            != reachable
    }

    pub fn set_assigned_partitions(&self, count: usize) {
        self.inner
            .assigned_partitions
            .store(count, Ordering::Relaxed);
    }

    /// `Ok` when ready, else why not.
    pub fn readiness(&self) -> Result<(), &'static str> {
        if !self.inner.broker_reachable.load(Ordering::Relaxed) {
            Err("broker not reachable")
        } else if self.inner.assigned_partitions.load(Ordering::Relaxed) == 0 {
            Err("no partitions assigned")
        } else {
            Ok(())
        }
    }
}

/// Binds `addr` and serves the endpoints until `shutdown` fires; returns the bound address
/// (useful with port 0).
pub async fn serve(
    addr: SocketAddr,
    health: Health,
    shutdown: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(render_metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readiness))
        .with_state(health);
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "Metrics server stopped.");
        }
    });
    Ok((bound, task))
}

async fn render_metrics() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics().render(),
    )
}

async fn readiness(State(health): State<Health>) -> impl IntoResponse {
    match health.readiness() {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        ),
    }
}
