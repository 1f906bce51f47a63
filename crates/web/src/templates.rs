//! The template environment: every template compiled into the binary (`include_str!`), built
//! once, auto-escaping on (all templates end in `.html`). Globals carry what the layout needs
//! (version, asset fingerprint); filters format times.

use std::sync::LazyLock;

use axum::response::Html;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, Value};
use serde::Serialize;

use crate::error::PageError;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates![
    "base.html",
    "macros.html",
    "home.html",
    "catalog.html",
    "entity.html",
    "history.html",
    "search.html",
    "search_results.html",
    "graph.html",
    "register.html",
    "error.html",
    "bars.html",
    "lines.html",
    "query.html",
    "dashboards.html",
    "graph.svg",
    "docs.html",
    "discovery.html",
    "drift.html",
    "unregister.html",
    "audit.html",
    "login.html",
    "me.html",
    "scorecards.html",
    "initiatives.html",
    "initiative.html",
    "burndown.html",
    "scorecard.html",
    "dora.html",
    "approvals.html",
    "create.html",
    "create_form.html",
    "create_run.html",
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") || name.ends_with(".svg") { AutoEscape::Html } else { AutoEscape::None }
    });
    for (name, source) in TEMPLATES {
        // A template that does not compile is a bug caught by every page test.
        if let Err(e) = env.add_template(name, source) {
            panic!("template {name} does not compile: {e:#}");
        }
    }
    env.set_formatter(|out, state, value| {
        // Escape as HTML needs (`& < > " '`), leaving `/` readable in URLs and paths.
        if matches!(state.auto_escape(), AutoEscape::Html) && !value.is_safe()
            && let Some(s) = value.as_str()
        {
            return out.write_str(&escape(s)).map_err(minijinja::Error::from);
        }
        minijinja::escape_formatter(out, state, value)
    });
    env.add_global("version", env!("CARGO_PKG_VERSION"));
    env.add_global("asset_version", crate::assets::version());
    env.add_function("loading", || LOADING.try_with(|l| *l).unwrap_or(false));
    env.add_function("viewer", || VIEWER.try_with(|v| v.clone().map(|v| Value::from(Serde(v)))).ok().flatten());
    env.add_filter("datetime", datetime);
    env.add_filter("ago", ago);
    env.add_filter("truncate", |s: String, n: usize| crate::svg::clip(&s, n));
    env
});

tokio::task_local! {
    /// Whether the page being rendered is served while the first read of the catalog's
    /// locations still runs (the layout then says so).
    static LOADING: bool;
}

tokio::task_local! {
    /// The person signed in, for the layout's "Sign out" (none for the guest and for tokens).
    static VIEWER: Option<Viewer>;
}

#[derive(Clone, Serialize)]
struct Viewer {
    subject: String,
    name: String,
    /// Up to two letters for the menu's button: "Ada Lovelace" is AL.
    initials: String,
    /// Approvals waiting for their decision.
    approvals: usize,
}

fn initials(name: &str) -> String {
    let letters: String = name.split(|c: char| c.is_whitespace() || c == '.' || c == '-').filter_map(|w| w.chars().next()).filter(|c| c.is_alphanumeric()).take(2).collect();
    if letters.is_empty() { "?".into() } else { letters.to_uppercase() }
}

/// Middleware (inside the gate, which names the principal): pages rendered for a signed-in
/// person show who it is and a "Sign out" button.
/// The count beside **Create** is what waits for their decision (the approvals inbox).
pub(crate) async fn with_viewer(
    axum::extract::State(state): axum::extract::State<portico_server::AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let page = !req.uri().path().starts_with("/static/");
    let principal = req.extensions().get::<std::sync::Arc<portico_server::auth::Principal>>().filter(|p| page && p.via == "session").cloned();
    let viewer = match principal {
        Some(p) => {
            let name = p.claims.as_deref().and_then(|c| c.get("name")).and_then(|n| n.as_str()).map(str::to_owned);
            let short = p.subject.rsplit('/').next().unwrap_or(&p.subject).to_owned();
            let name = name.unwrap_or(short);
            let approvals = portico_server::approval_inbox(&state, &p).await.map_or(0, |a| a.len());
            Some(Viewer { subject: p.subject.clone(), initials: initials(&name), name, approvals })
        }
        None => None,
    };
    VIEWER.scope(viewer, next.run(req)).await
}

/// Middleware: pages rendered while the server's first read runs show a banner saying so.
pub(crate) async fn while_loading(
    axum::extract::State(state): axum::extract::State<portico_server::AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if state.startup.is_loading() { LOADING.scope(true, next.run(req)).await } else { next.run(req).await }
}

/// Renders `name` with `ctx`.
pub(crate) fn render<S: Serialize>(name: &str, ctx: S) -> Result<Html<String>, PageError> {
    let template = ENV.get_template(name).map_err(|e| PageError::Internal(format!("template {name}: {e:#}")))?;
    template
        .render(Value::from(Serde(ctx)))
        .map(Html)
        .map_err(|e| PageError::Internal(format!("rendering {name}: {e:#}")))
}

/// `s` escaped for HTML text and quoted attributes.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// Milliseconds since the epoch as `2026-11-27 09:00:00 UTC`.
fn datetime(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(|| "-".to_owned(), |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
}

/// Milliseconds since the epoch as a rough age: `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`.
fn ago(ms: i64) -> String {
    let secs = (chrono::Utc::now().timestamp_millis() - ms).max(0) / 1000;
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_compiles() {
        for (name, _) in super::TEMPLATES {
            assert!(super::ENV.get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn values_are_escaped_but_slashes_stay_readable() {
        let html = super::render("error.html", serde_json::json!({"status": 400, "heading": "x", "message": "<b>a/b & \"c\"</b>"})).unwrap().0;
        assert!(html.contains("&lt;b&gt;a/b &amp; &quot;c&quot;&lt;/b&gt;"), "{html}");
    }

    #[test]
    fn a_person_is_shown_by_two_initials() {
        assert_eq!(super::initials("Ada Lovelace"), "AL");
        assert_eq!(super::initials("breanna.davison"), "BD");
        assert_eq!(super::initials("Breanna Davison-Montgomery Smith"), "BD");
        assert_eq!(super::initials("élodie"), "É");
        assert_eq!(super::initials(" "), "?");
    }

    #[test]
    fn times_read_as_dates_and_ages() {
        assert_eq!(super::datetime(0), "1970-01-01 00:00:00 UTC");
        assert!(super::ago(chrono::Utc::now().timestamp_millis() - 120_000).ends_with("min ago"));
    }
}
