//! Cross-site request forgery: a page on any other site can make a visitor's browser post a
//! form here (import a location, start a discovery run, save a query), and the portal has no
//! session to tell the visitor from the site. Browsers say where such a request comes from, so
//! a request of an unsafe method is refused with a 403 page when `Sec-Fetch-Site` says
//! `cross-site`, or when `Origin` names another host and port than the request was sent to
//! (`Host`, or `X-Forwarded-Host` from a proxy that rewrites it; a forged form cannot set that
//! header). Requests without these headers (curl, scripts, tests) come from no browser and pass.

use axum::extract::Request;
use axum::http::{HeaderMap, Method, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::PageError;

/// Refuses cross-site requests of unsafe methods; the others go on.
pub(crate) async fn same_origin_only(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && let Err(e) = check(req.headers(), req.uri()) {
        return e.into_response();
    }
    next.run(req).await
}

fn check(headers: &HeaderMap, uri: &Uri) -> Result<(), PageError> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if text("sec-fetch-site").is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
        return Err(refused("a page of another site"));
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return Ok(()) };
    let origin = origin.to_str().unwrap_or_default().trim();
    // HTTP/2 carries the host in the request's authority rather than a `Host` header.
    let host = text(header::HOST.as_str()).or_else(|| uri.authority().map(|a| a.as_str()));
    let forwarded = text("x-forwarded-host").and_then(|h| h.split(',').next()).map(str::trim);
    if [host, forwarded].into_iter().flatten().any(|h| same_origin(origin, h)) {
        Ok(())
    } else {
        Err(refused(&format!("a page of {origin}")))
    }
}

fn refused(from: &str) -> PageError {
    PageError::Forbidden(format!(
        "this form was sent from {from}, not from Portico's own pages, so nothing was done; open the form here and send it again"
    ))
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
fn host_port(s: &str) -> Option<(&str, Option<u16>)> {
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

    #[test]
    fn cross_site_posts_are_refused_and_others_pass() {
        let uri: Uri = "/register".parse().unwrap();
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, v.parse().unwrap());
            }
            h
        };
        assert!(check(&headers(&[("host", "p:1")]), &uri).is_ok(), "no Origin: not a browser");
        assert!(check(&headers(&[("host", "p:1"), ("origin", "http://p:1"), ("sec-fetch-site", "same-origin")]), &uri).is_ok());
        assert!(check(&headers(&[("host", "10.0.0.5:3000"), ("origin", "https://p.example"), ("x-forwarded-host", "p.example")]), &uri).is_ok());
        assert!(check(&headers(&[("host", "p:1"), ("origin", "http://evil")]), &uri).is_err());
        assert!(check(&headers(&[("host", "p:1"), ("sec-fetch-site", "cross-site")]), &uri).is_err());
    }
}
