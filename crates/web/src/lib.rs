//! Portico's web portal: server-rendered HTML pages over the catalog (home, catalog tables,
//! entity pages with history and a relation graph, search, a graph explorer, and a form to
//! register locations), served by the same binary as the API.
//!
//! Pages are rendered with minijinja from templates compiled into the binary; the little
//! JavaScript there is (theme switch, instant search, auto-submitting filters) and the
//! stylesheet are embedded too, so `cargo run` needs no Node build. Charts and graphs are SVG
//! drawn on the server; every node of a graph is a link, so the pages work without JavaScript.
//! Every filter lives in the URL, so any view can be shared.
//!
//! The trade-off: every interaction is a request, which is fine because every page answers from
//! the in-memory read model and the search index in milliseconds.
//!
//! [`router`] serves the pages and falls back to the API router of [`portico_server`] for
//! everything else (`/api/…`, health and metrics), so one listener serves both. Bad input
//! (unknown filters, pages past the end, malformed references) gets a friendly HTML error page
//! with the right status; no input leads to a 500. Forms posted from another site are refused
//! ([`csrf`]).

mod assets;
mod csrf;
mod definition;
mod error;
mod links;
mod markdown;
mod pages;
mod params;
mod permissions;
mod svg;
mod templates;
mod view;

use axum::Router;
use axum::extract::Request;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use portico_server::AppState;
use portico_server::auth::gate::{Gate, gate};
use tower::ServiceExt as _;
use tower_http::trace::TraceLayer;

pub use error::PageError;

/// The pages, with the API (and its own error shape) behind them.
pub fn router(state: AppState) -> Router {
    let api = portico_server::router(state.clone());
    let pages = Router::new()
        .route("/", get(pages::home::page))
        .route("/catalog", get(pages::catalog::page))
        .route("/catalog/{namespace}/{kind}/{name}", get(pages::entity::page))
        .route("/catalog/{namespace}/{kind}/{name}/history", get(pages::history::page))
        .route("/catalog/{namespace}/{kind}/{name}/docs", get(pages::docs::page))
        .route("/catalog/{namespace}/{kind}/{name}/refresh", axum::routing::post(pages::entity_actions::refresh))
        .route("/catalog/{namespace}/{kind}/{name}/unregister", get(pages::entity_actions::confirm).post(pages::entity_actions::unregister))
        .route("/discovery", get(pages::discovery::page))
        .route("/discovery/{source}/run", axum::routing::post(pages::discovery::run_now))
        .route("/drift", get(pages::discovery::drift_page))
        .route("/catalog/{namespace}/{kind}/{name}/graph.svg", get(pages::graph::entity_svg))
        .route("/search", get(pages::search::page))
        .route("/graph", get(pages::graph::explorer))
        .route("/graph.svg", get(pages::graph::explorer_svg))
        .route("/register", get(pages::register::form).post(pages::register::submit))
        .route("/query", get(pages::query::page))
        .route("/query.csv", get(pages::query::csv))
        .route("/query/graph.svg", get(pages::query::graph_svg))
        .route("/query/save", axum::routing::post(pages::query::save))
        .route("/dashboards", get(pages::dashboards::page))
        .route("/scorecards", get(pages::scorecards::list))
        .route("/dora", get(pages::dora::page))
        .route("/initiatives", get(pages::initiatives::list))
        .route("/initiatives/{namespace}/{name}", get(pages::initiatives::one))
        .route("/scorecards/{namespace}/{name}", get(pages::scorecards::one))
        .route("/create", get(pages::create::list))
        .route("/create/{namespace}/{name}", get(pages::create::form).post(pages::create::submit))
        .route("/create/approvals", get(pages::approvals::inbox))
        .route("/create/approvals/{id}", axum::routing::post(pages::approvals::decide))
        .route("/create/runs/{id}", get(pages::create::run))
        .route("/create/runs/{id}/cancel", axum::routing::post(pages::create::cancel))
        .route("/create/runs/{id}/rollback", axum::routing::post(pages::create::rollback))
        .route("/audit", get(pages::audit::page))
        .route("/audit.csv", get(pages::audit::csv))
        .route("/me", get(pages::me::page))
        .route("/catalog/{namespace}/{kind}/{name}/star", axum::routing::post(pages::me::star))
        .route("/login", get(pages::sign_in::page))
        .route("/auth/sign-in", get(pages::sign_in::start))
        .route("/auth/callback", get(pages::sign_in::callback))
        .route("/logout", axum::routing::post(pages::sign_in::logout))
        .route("/static/{file}", get(assets::serve))
        .with_state(state.clone())
        .method_not_allowed_fallback(|| async { PageError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(state.clone(), templates::with_viewer))
        .layer(middleware::from_fn_with_state(Gate { state: state.clone(), table: permissions::pages, refuse: permissions::refuse, unlisted: permissions::unlisted, sign_in: true }, gate))
        .layer(middleware::from_fn_with_state(state, templates::while_loading))
        .layer(middleware::from_fn(csrf::same_origin_only))
        .layer(middleware::from_fn(portico_server::telemetry::track))
        .layer(TraceLayer::new_for_http());
    pages.fallback(move |req: Request| {
        let api = api.clone();
        async move {
            if serves_api(req.uri().path()) {
                api.oneshot(req).await.into_response()
            } else {
                PageError::NotFound(format!("there is no page at {}", req.uri().path())).into_response()
            }
        }
    })
}

/// Paths the API answers (with JSON errors); everything else is a page.
fn serves_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/api" || matches!(path, "/healthz" | "/readyz" | "/metrics")
}
