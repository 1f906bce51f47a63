//! Startup in one place: bind the listener (port 0 picks a free port, as tests do), then
//! serve until ctrl-c or SIGTERM, letting requests in flight finish.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

use crate::AppState;

/// A bound, not yet running, server.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    router: Router,
    state: AppState,
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
        Ok(Self { listener, addr, router, state })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://host:port` to reach the server (loopback when bound to all interfaces).
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
        tracing::info!(url = %self.url(), "serving");
        let upkeep = tokio::spawn(crate::telemetry::upkeep(self.state.metrics.clone()));
        let result = axum::serve(self.listener, self.router).with_graceful_shutdown(signal).await;
        upkeep.abort();
        tracing::info!("stopped");
        result
    }
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
