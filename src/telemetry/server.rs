//! HTTP endpoints: `/metrics` (Prometheus text), `/healthz` (alive), `/readyz` (able to
//! consume and produce: a broker is reachable).
//!
//! Whatever reaches the port must not be able to hold the server: a connection that does
//! not send a request in time, or whose request is not answered and written in time, is
//! closed, and a bounded number of connections is served at once (see [`Limits`]).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use hyper::server::conn::http1;
use hyper::service::{service_fn, Service as _};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::metrics;

/// What readiness depends on, updated by the Kafka side. Owning partitions is not part of
/// it: a replica beyond the partition count, or one waiting for a rebalance, is healthy and
/// takes partitions as soon as the group gives it some; failing its probe would only block
/// node drains under the PodDisruptionBudget. `newsflow_assigned_partitions` says how many
/// it owns.
#[derive(Debug, Clone, Default)]
pub struct Health {
    broker_reachable: Arc<AtomicBool>,
}

impl Health {
    /// Returns whether this changed it.
    pub fn set_broker_reachable(&self, reachable: bool) -> bool {
        self.broker_reachable.swap(reachable, Ordering::Relaxed) != reachable
    }

    /// `Ok` when ready, else why not.
    pub fn readiness(&self) -> Result<(), &'static str> {
        if self.broker_reachable.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err("broker not reachable")
        }
    }
}

/// What one client may hold of the server.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// From when the server waits for a request (on a new connection, or on a kept-alive
    /// one after its last response) to the request's last header byte. hyper runs one
    /// timer for both, so this is the header-read timeout and the idle timeout.
    head_timeout: Duration,
    /// From a request's head to its response written, handler included; the connection is
    /// dropped when it runs out (a client that stops reading cannot hold it).
    request_timeout: Duration,
    /// Connections served at once. Beyond it the server stops accepting, so new ones wait
    /// in the kernel's listen backlog (a probe waits instead of failing) until one closes,
    /// at the latest after one of the timeouts above.
    max_connections: usize,
}

impl Limits {
    /// A scrape or a probe sends its request at once and is answered in milliseconds;
    /// Prometheus gives up on a scrape after 10 s by default. Closing idle connections
    /// after 10 s, before the next scrape (every 15 s or more), means a scrape never races
    /// the server closing its connection. Prometheus and a probe or two need a few
    /// connections: 64 leaves room for more and bounds what a flood of them costs.
    const SERVER: Self = Self {
        head_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(10),
        max_connections: 64,
    };
}

/// At shutdown, how long requests being answered have to finish before their connections
/// are dropped; the pipeline's drain runs meanwhile.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Binds `addr` and serves the endpoints until `shutdown` fires; returns the bound address
/// (useful with port 0).
pub async fn serve(
    addr: SocketAddr,
    health: Health,
    shutdown: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(serve_connections(
        listener,
        endpoints(health),
        Limits::SERVER,
        shutdown,
    ));
    Ok((bound, task))
}

fn endpoints(health: Health) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readiness))
        .with_state(health)
}

/// Accepts connections while fewer than `limits.max_connections` are open; at shutdown,
/// stops accepting and gives the open ones [`SHUTDOWN_GRACE`] to finish.
async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some(_) = connections.join_next() => {}
            accepted = listener.accept(), if connections.len() < limits.max_connections => {
                match accepted {
                    Ok((stream, _)) => {
                        connections.spawn(serve_connection(
                            stream,
                            app.clone(),
                            limits,
                            shutdown.clone(),
                        ));
                    }
                    Err(error) => accept_failed(&error).await,
                }
            }
        }
    }
    drop(listener);
    let drained = async { while connections.join_next().await.is_some() {} };
    // Dropping the set aborts the connections still open after the grace.
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, drained).await;
}

/// A connection reset before it was accepted is the client's business; anything else (out
/// of file descriptors) would fail again at once, so the loop waits a little.
async fn accept_failed(error: &std::io::Error) {
    use std::io::ErrorKind;
    if !matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    ) {
        tracing::error!(%error, "Metrics server cannot accept connections.");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Serves one connection's requests until it closes, fails, overruns a limit, or is shut
/// down (after the request it is answering).
async fn serve_connection(
    stream: TcpStream,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
) {
    // Each request sets the deadline of the exchange it starts. The deadline stays after the
    // response: a kept-alive connection whose next request has not started by then is
    // closed too, about when the head timeout would close it.
    let (deadline, mut deadline_changed) = watch::channel(None::<Instant>);
    let app = TowerToHyperService::new(app);
    let service = service_fn(move |request| {
        deadline.send_replace(Some(Instant::now() + limits.request_timeout));
        app.call(request)
    });
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.head_timeout);
    let connection = http.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let mut shutting_down = false;
    loop {
        let deadline = *deadline_changed.borrow_and_update();
        tokio::select! {
            // Served, closed by the client, or failed (a head timeout, a bad request): the
            // client got its answer or nothing more can be sent to it.
            _ = connection.as_mut() => return,
            () = shutdown.cancelled(), if !shutting_down => {
                shutting_down = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = deadline_changed.changed() => {}
            () = expires(deadline) => return,
        }
    }
}

async fn expires(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
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

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// Far longer than any limit a test sets: how long a test waits for the server.
    const PATIENCE: Duration = Duration::from_secs(10);

    const LONG: Duration = Duration::from_secs(600);

    struct Server {
        addr: SocketAddr,
        shutdown: CancellationToken,
        task: tokio::task::JoinHandle<()>,
    }

    /// The endpoints, plus `/stall`, which never answers.
    async fn start(limits: Limits) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = endpoints(Health::default()).route("/stall", get(std::future::pending::<()>));
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve_connections(listener, app, limits, shutdown.clone()));
        Server {
            addr,
            shutdown,
            task,
        }
    }

    fn limits(head_timeout: Duration, request_timeout: Duration) -> Limits {
        Limits {
            head_timeout,
            request_timeout,
            max_connections: 64,
        }
    }

    fn request(path: &str, connection: &str) -> String {
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: {connection}\r\n\r\n")
    }

    /// Sends a request on a connection of its own and reads the response to its end.
    async fn fetch(addr: SocketAddr, path: &str) -> String {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(request(path, "close").as_bytes())
            .await
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    /// Whether the server closes `stream` within [`PATIENCE`], discarding what it sends
    /// before.
    async fn closed_by_server(stream: &mut TcpStream) -> bool {
        let drained = async {
            let mut buffer = [0; 4096];
            // A reset counts as closed.
            while stream.read(&mut buffer).await.unwrap_or(0) > 0 {}
        };
        tokio::time::timeout(PATIENCE, drained).await.is_ok()
    }

    #[test]
    fn ready_once_a_broker_is_reachable_whether_or_not_it_owns_partitions() {
        let health = Health::default();
        assert_eq!(health.readiness(), Err("broker not reachable"));
        health.set_broker_reachable(true);
        // Nothing about partitions was ever set: a replica beyond the partition count.
        assert_eq!(health.readiness(), Ok(()));
        health.set_broker_reachable(false);
        assert_eq!(health.readiness(), Err("broker not reachable"));
    }

    #[tokio::test]
    async fn endpoints_answer() {
        let server = start(Limits::SERVER).await;
        let metrics = fetch(server.addr, "/metrics").await;
        assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
        assert!(metrics.contains("newsflow_build_info"));
        assert!(fetch(server.addr, "/healthz")
            .await
            .ends_with("\r\n\r\nok\n"));
        let readiness = fetch(server.addr, "/readyz").await;
        assert!(readiness.starts_with("HTTP/1.1 503"), "{readiness}");
    }

    #[tokio::test]
    async fn a_connection_sending_half_a_request_head_is_closed_after_the_head_timeout() {
        let server = start(limits(Duration::from_millis(200), LONG)).await;
        let mut slow = TcpStream::connect(server.addr).await.unwrap();
        slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await
            .unwrap();
        assert!(closed_by_server(&mut slow).await);
        // A connection that sends nothing at all is closed the same way.
        let mut silent = TcpStream::connect(server.addr).await.unwrap();
        assert!(closed_by_server(&mut silent).await);
    }

    #[tokio::test]
    async fn an_idle_kept_alive_connection_is_closed() {
        let server = start(limits(Duration::from_millis(200), LONG)).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(request("/healthz", "keep-alive").as_bytes())
            .await
            .unwrap();
        let mut response = Vec::new();
        while !response.ends_with(b"\r\n\r\nok\n") {
            let mut buffer = [0; 1024];
            let read = stream.read(&mut buffer).await.unwrap();
            assert!(read > 0, "closed before the response");
            response.extend_from_slice(&buffer[..read]);
        }
        assert!(response.starts_with(b"HTTP/1.1 200"));
        assert!(closed_by_server(&mut stream).await);
    }

    #[tokio::test]
    async fn a_request_not_answered_in_time_loses_its_connection() {
        let server = start(limits(LONG, Duration::from_millis(200))).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(request("/stall", "keep-alive").as_bytes())
            .await
            .unwrap();
        assert!(closed_by_server(&mut stream).await);
    }

    #[tokio::test]
    async fn connections_beyond_the_cap_wait_until_others_close() {
        let server = start(Limits {
            max_connections: 2,
            ..limits(LONG, LONG)
        })
        .await;
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut stream = TcpStream::connect(server.addr).await.unwrap();
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\n")
                .await
                .unwrap();
            held.push(stream);
        }
        // Accepted in order: the cap is reached before this one.
        let health = tokio::spawn(fetch(server.addr, "/healthz"));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!health.is_finished(), "answered beyond the cap");
        drop(held);
        let response = tokio::time::timeout(PATIENCE, health)
            .await
            .expect("served once the held connections closed")
            .unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }

    #[tokio::test]
    async fn shutdown_does_not_wait_for_connections_that_hold_on() {
        let server = start(limits(LONG, LONG)).await;
        let mut half_head = TcpStream::connect(server.addr).await.unwrap();
        half_head
            .write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .unwrap();
        let mut stalled = TcpStream::connect(server.addr).await.unwrap();
        stalled
            .write_all(request("/stall", "keep-alive").as_bytes())
            .await
            .unwrap();
        let _idle = TcpStream::connect(server.addr).await.unwrap();
        // The server has accepted them all once it answers a fourth.
        assert!(fetch(server.addr, "/healthz")
            .await
            .starts_with("HTTP/1.1 200"));
        server.shutdown.cancel();
        tokio::time::timeout(PATIENCE, server.task)
            .await
            .expect("the server stopped within the grace")
            .unwrap();
        assert!(closed_by_server(&mut half_head).await);
        assert!(closed_by_server(&mut stalled).await);
    }
}
