//! Cross-site request forgery: a page on any other site can make a visitor's browser send a
//! request here (import a location, start a discovery run, save a query), and the portal has no
//! session to tell the visitor from the site. Browsers say where such a request comes from, so
//! a request of an unsafe method is refused (403) when `Sec-Fetch-Site` says `cross-site`, or
//! when `Origin` names another host and port than the request was sent to (`Host`, or
//! `X-Forwarded-Host` from a proxy that rewrites it; a forged form cannot set that header).
//! Requests without these headers (curl, scripts, webhooks, tests) come from no browser and
//! pass. The API refuses with its JSON error; the pages (crate `web`) with a page.

use axum::extract::Request;
use axum::http::{HeaderMap, Method, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Whether a request's method changes nothing (the check applies to the others).
pub fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses cross-site API requests of unsafe methods; the others go on.
pub(crate) async fn same_origin_only(req: Request, next: Next) -> Response {
    if !is_safe(req.method()) && let Some(from) = cross_site(req.headers(), req.uri()) {
        return ApiError::Forbidden(format!("this request was sent by {from}, not by Portico's own pages or a client; nothing was done")).into_response();
    }
    next.run(req).await
}

/// Where a request of an unsafe method comes from when that is another site, as a phrase for
/// the refusal ("a page of https://evil.example"); `None` when it may go on: same origin, or no
/// browser (no `Origin`, no `Sec-Fetch-Site`).
pub fn cross_site(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if text("sec-fetch-site").is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
        return Some("a page of another site".to_owned());
    }
    let origin = headers.get(header::ORIGIN)?;
    let origin = origin.to_str().unwrap_or_default().trim();
    (!names_this_server(headers, uri, origin)).then(|| format!("a page of {origin}"))
}

/// Whether `origin` is the server the request was sent to (`Host`, or `X-Forwarded-Host` from
/// a proxy that rewrites it).
fn names_this_server(headers: &HeaderMap, uri: &Uri, origin: &str) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    // HTTP/2 carries the host in the request's authority rather than a `Host` header.
    let host = text(header::HOST.as_str()).or_else(|| uri.authority().map(|a| a.as_str()));
    let forwarded = text("x-forwarded-host").and_then(|h| h.split(',').next()).map(str::trim);
    [host, forwarded].into_iter().flatten().any(|h| same_origin(origin, h))
}

/// Where a safe request that would run user work (a query, `/query?q=…`, `/query.csv?q=…`)
/// comes from, when that is a page of another site: a link or an `<img>` on any site could
/// otherwise make every visitor's browser run an expensive query. `Sec-Fetch-Site` tells
/// (`cross-site` or `same-site`: only this origin, or the user typing the address, may run
/// it); browsers that do not send it send a `Referer`, which must then be of this host.
/// `None` when it may run: same origin, typed or bookmarked, or no browser at all.
pub fn foreign_page(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    match text("sec-fetch-site").map(str::to_ascii_lowercase).as_deref() {
        Some("cross-site") | Some("same-site") => return Some("a page of another site".to_owned()),
        Some(_) => return None,
        None => {}
    }
    let referer = text(header::REFERER.as_str())?;
    let origin = referer.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
    (!names_this_server(headers, uri, &origin)).then(|| format!("a page of {origin}"))
}

/// Whether `origin` (`scheme://host[:port]`) names the server `host` (`host[:port]`) names; a
/// missing port is the scheme's default on both sides.
fn same_origin(origin: &str, host: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else { return false };
    let default = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return false,
    };
    match (host_port(authority), host_port(host)) {
        (Some((a, pa)), Some((b, pb))) => a.eq_ignore_ascii_case(b) && pa.unwrap_or(default) == pb.unwrap_or(default),
        _ => false,
    }
}

/// `host[:port]` (the host possibly a bracketed IPv6 address) as host and port.
pub(crate) fn host_port(s: &str) -> Option<(&str, Option<u16>)> {
    let (host, rest) = match s.strip_prefix('[') {
        Some(v6) => {
            let end = v6.find(']')?;
            (&s[..end + 2], &v6[end + 1..])
        }
        None => match s.find(':') {
            Some(i) => (&s[..i], &s[i..]),
            None => (s, ""),
        },
    };
    let port = match rest {
        "" => None,
        p => Some(p.strip_prefix(':')?.parse().ok()?),
    };
    (!host.is_empty() && !host.contains(['/', '@', ' '])).then_some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_their_host_with_default_ports() {
        assert!(same_origin("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(same_origin("https://Portal.example.com", "portal.example.com"));
        assert!(same_origin("https://portal.example.com", "portal.example.com:443"));
        assert!(same_origin("http://[::1]:7007", "[::1]:7007"));
        for (origin, host) in [
            ("https://evil.example", "portal.example.com"),
            ("http://127.0.0.1:9999", "127.0.0.1:8080"),
            ("https://portal.example.com", "portal.example.com:80"),
            ("null", "portal.example.com"),
            ("http://portal.example.com.evil.example", "portal.example.com"),
            ("http://user@portal.example.com", "portal.example.com"),
            ("file://", "portal.example.com"),
        ] {
            assert!(!same_origin(origin, host), "{origin} vs {host}");
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn cross_site_posts_are_refused_and_others_pass() {
        let uri: Uri = "/register".parse().unwrap();
        assert!(cross_site(&headers(&[("host", "p:1")]), &uri).is_none(), "no Origin: not a browser");
        assert!(cross_site(&headers(&[("host", "p:1"), ("origin", "http://p:1"), ("sec-fetch-site", "same-origin")]), &uri).is_none());
        assert!(cross_site(&headers(&[("host", "10.0.0.5:3000"), ("origin", "https://p.example"), ("x-forwarded-host", "p.example")]), &uri).is_none());
        assert!(cross_site(&headers(&[("host", "p:1"), ("origin", "http://evil")]), &uri).is_some());
        assert!(cross_site(&headers(&[("host", "p:1"), ("sec-fetch-site", "cross-site")]), &uri).is_some());
    }

    #[test]
    fn queries_run_only_from_this_origin_or_a_typed_address() {
        let uri: Uri = "/query?q=true".parse().unwrap();
        assert!(foreign_page(&headers(&[("host", "p:1")]), &uri).is_none(), "curl");
        assert!(foreign_page(&headers(&[("host", "p:1"), ("sec-fetch-site", "same-origin")]), &uri).is_none());
        assert!(foreign_page(&headers(&[("host", "p:1"), ("sec-fetch-site", "none")]), &uri).is_none(), "typed or bookmarked");
        assert!(foreign_page(&headers(&[("host", "p:1"), ("sec-fetch-site", "cross-site")]), &uri).is_some());
        assert!(foreign_page(&headers(&[("host", "p:1"), ("sec-fetch-site", "same-site")]), &uri).is_some());
        assert!(foreign_page(&headers(&[("host", "p:1"), ("referer", "http://p:1/catalog")]), &uri).is_none());
        assert!(foreign_page(&headers(&[("host", "p:1"), ("referer", "https://evil.example/x")]), &uri).is_some());
    }
}
