//! Startup in one place: bind the listener (port 0 picks a free port, as tests do), then serve
//! until ctrl-c or SIGTERM.
//!
//! The accept loop is the server's own rather than `axum::serve`, because a few slow or
//! half-open clients must not be able to stall it:
//!
//! - a client has `headerTimeoutSeconds` to send a request's headers (also the longest an
//!   idle keep-alive connection stays open) and `bodyTimeoutSeconds` between two parts of a
//!   body, else its connection is closed;
//! - at most `maxConnections` connections are open at once (by default half the process's
//!   file descriptors); past that, new ones wait in the kernel's backlog instead of failing
//!   every request with "too many open files";
//! - a connection serves at most `maxRequestsPerConnection` requests, then says
//!   `Connection: close`.
//!
//! On shutdown the server stops accepting, cancels every running query (they end at their
//! next step), lets requests in flight finish for a few seconds, and stops.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::AppState;
use crate::guard::ServerConfig;

/// How long requests in flight may finish once the server is stopping.
const DRAIN: Duration = Duration::from_secs(10);

/// A bound, not yet running, server.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    router: Router,
    state: AppState,
    config: ServerConfig,
}

impl Application {
    /// Binds `addr` and builds the router. Nothing is served until [`Self::run_until_stopped`].
    pub async fn build(state: AppState, addr: SocketAddr) -> io::Result<Self> {
        let router = crate::router(state.clone());
        Self::build_with(state, addr, router).await
    }

    /// Like [`Self::build`], serving `router` (which should include [`crate::router`]).
    pub async fn build_with(state: AppState, addr: SocketAddr, router: Router) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        // Policy entities of the catalog join the configured rules, now and as they change.
        crate::auth::policy_entities::follow(&state);
        // Scorecards are scored now and again after every change.
        portico_scorecards::follow(state.scorecards.clone(), &state.catalog);
        // DORA's window moves with time: every entity's metrics are recomputed hourly.
        portico_scorecards::keep_dora_current(state.recorder.clone());
        // Level changes are stored (by one replica at a time) for trends and `asOf`.
        portico_scorecards::keep_history(portico_scorecards::History::new(state.catalog.clone(), state.scorecards.clone()), std::time::Duration::from_secs(30));
        Ok(Self { listener, addr, router, state, config: ServerConfig::default() })
    }

    /// Serves under `config` (timeouts, connection cap, allowed hosts) instead of the defaults.
    pub fn with_config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port` to reach the server from this machine (loopback when bound to all
    /// interfaces).
    pub fn url(&self) -> String {
        let ip = self.addr.ip();
        let host = if ip.is_unspecified() {
            if ip.is_ipv4() { "127.0.0.1".to_owned() } else { "[::1]".to_owned() }
        } else if ip.is_ipv6() {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        format!("http://{host}:{}", self.port())
    }

    /// Serves until ctrl-c or SIGTERM, then finishes the requests in flight.
    pub async fn run_until_stopped(self) -> io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `signal` completes, then finishes the requests in flight.
    pub async fn run_until(self, signal: impl Future<Output = ()> + Send + 'static) -> io::Result<()> {
        let Self { listener, addr, router, state, config } = self;
        tracing::info!(address = %addr, "serving");
        let upkeep = tokio::spawn(crate::telemetry::upkeep(state.metrics.clone()));
        let router = crate::guard::apply(router, &config, addr);
        let graceful = GracefulShutdown::new();
        let connections = Arc::new(Semaphore::new(config.connection_cap()));
        // Checked with the rest of the configuration at start; a mistake here trusts nobody.
        let proxies: Arc<[ipnet::IpNet]> = config.proxies().unwrap_or_default().into();
        let mut signal = std::pin::pin!(signal);
        loop {
            let permit = tokio::select! {
                permit = connections.clone().acquire_owned() => permit.expect("the connection semaphore is never closed"),
                () = &mut signal => break,
            };
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of descriptors or a connection reset before it was accepted: wait
                        // a moment rather than spin.
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut signal => break,
            };
            let _ = stream.set_nodelay(true);
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(config.header_timeout())
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service(router.clone(), config.max_requests_per_connection, config.body_timeout(), peer, proxies.clone()));
            let watched = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(e) = watched.await {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                drop(permit);
            });
        }
        tracing::info!("stopping: cancelling running queries, finishing requests in flight");
        state.catalog.close_queries();
        drop(listener);
        if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
            tracing::warn!("requests still in flight after {} s; stopping anyway", DRAIN.as_secs());
        }
        upkeep.abort();
        tracing::info!("stopped");
        Ok(())
    }
}

/// One connection's service: the router, with the body read under a timeout, the client's
/// address on every request (`ConnectInfo`, for limits per client: the peer's, or the one a
/// trusted proxy forwarded for), and `Connection: close` once
/// the connection has served its share of requests.
fn service(
    router: Router,
    max_requests: u64,
    body_timeout: Duration,
    peer: std::net::SocketAddr,
    proxies: Arc<[ipnet::IpNet]>,
) -> hyper_util::service::TowerToHyperService<impl tower::Service<hyper::Request<hyper::body::Incoming>, Response = axum::response::Response, Error = std::convert::Infallible, Future: Send> + Clone> {
    let served = Arc::new(AtomicU64::new(0));
    let max_requests = max_requests.max(1);
    let svc = tower::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let router = router.clone();
        let proxies = proxies.clone();
        let last = served.fetch_add(1, Ordering::Relaxed) + 1 >= max_requests;
        async move {
            let mut req: Request = req.map(|body| axum::body::Body::new(tower_http::timeout::TimeoutBody::new(body_timeout, body)));
            let client = crate::guard::client_address(peer, req.headers(), &proxies);
            req.extensions_mut().insert(axum::extract::ConnectInfo(client));
            let mut res = router.oneshot(req).await?;
            if last {
                res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok::<_, std::convert::Infallible>(res)
        }
    });
    hyper_util::service::TowerToHyperService::new(svc)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("ctrl-c received, shutting down"),
        () = term => tracing::info!("SIGTERM received, shutting down"),
    }
}
