//! What every response and every request passes, pages and API alike:
//!
//! - **Host check.** A page on `attacker.example` whose name is re-pointed at 127.0.0.1 (DNS
//!   rebinding) reaches a server on this machine as its "own origin", past the cross-site
//!   checks. Such a request carries the attacker's name in `Host`, so a `Host` must be an IP
//!   address (rebinding needs a name), `localhost`, the host of `server.publicUrl`, or one of
//!   `server.allowedHosts`; others are refused (403).
//! - **The client's address.** Behind a load balancer every connection comes from the balancer:
//!   with `server.trustedProxies`, a connection from one of them is taken to be from the address
//!   `X-Forwarded-For` names last that is not itself a trusted proxy (so a client cannot claim an
//!   address by sending the header itself). Rate limits and the audit log see that address.
//! - **Safe headers.** `Content-Security-Policy` (scripts only from this server, no framing, no
//!   plugins, forms only to this server), `X-Frame-Options: DENY`, `X-Content-Type-Options:
//!   nosniff` and `Referrer-Policy: same-origin` on every response, so no other site can frame
//!   a page (clickjacking the Register button), run script in it, or read its URLs.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::ApiError;

/// `server:` in `portico.yaml`: where to listen and how to treat clients.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    /// The address users reach Portico by (`https://portico.example.com`): its host is allowed
    /// in `Host` headers.
    pub public_url: Option<String>,
    /// Other host names Portico may be reached by (IP addresses and `localhost` always are).
    pub allowed_hosts: Vec<String>,
    /// Time a client has to send a request's headers; also the longest a keep-alive
    /// connection stays idle.
    pub header_timeout_seconds: u64,
    /// Longest wait between two parts of a request body.
    pub body_timeout_seconds: u64,
    /// Connections open at once; 0 means half of the process's file descriptor limit (at most
    /// 4096).
    pub max_connections: usize,
    /// Requests one connection may carry before it is closed.
    pub max_requests_per_connection: u64,
    /// Proxies (addresses or CIDR ranges: `10.0.0.0/8`, `127.0.0.1`) whose `X-Forwarded-For`
    /// names the client. None by default: the connection's address is the client's.
    pub trusted_proxies: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 7007,
            public_url: None,
            allowed_hosts: Vec::new(),
            header_timeout_seconds: 10,
            body_timeout_seconds: 30,
            max_connections: 0,
            max_requests_per_connection: 1000,
            trusted_proxies: Vec::new(),
        }
    }
}

impl ServerConfig {
    pub(crate) fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_seconds.max(1))
    }

    pub(crate) fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_seconds.max(1))
    }

    /// The connection cap in force.
    pub fn connection_cap(&self) -> usize {
        match self.max_connections {
            0 => (open_files_limit().unwrap_or(1024) / 2).clamp(64, 4096),
            n => n,
        }
    }

    /// `trustedProxies`, parsed; a mistake names the entry.
    pub fn proxies(&self) -> Result<Vec<ipnet::IpNet>, String> {
        self.trusted_proxies
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let p = p.trim();
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| format!("server.trustedProxies[{i}]: {p:?} is neither an IP address nor a CIDR range (10.0.0.0/8)"))
            })
            .collect()
    }

    /// The host names (lower case, without port) requests may name besides IP addresses.
    fn allowed_names(&self) -> Vec<String> {
        let mut names = vec!["localhost".to_owned()];
        if let Some(host) = self.public_url.as_deref().and_then(url_host) {
            names.push(host);
        }
        names.extend(self.allowed_hosts.iter().map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase()));
        names
    }
}

/// The host of a URL, lower case.
fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, _) = crate::origin::host_port(authority)?;
    Some(host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase())
}

/// The client of a request that came over a connection from `peer`: `peer` itself, unless it is
/// a trusted proxy; then the right-most address of `X-Forwarded-For` that is not a trusted proxy
/// (the addresses left of it were written by whoever the first untrusted hop was, and prove
/// nothing). A malformed entry ends the walk at the hop that wrote it.
pub(crate) fn client_address(peer: SocketAddr, headers: &axum::http::HeaderMap, trusted: &[ipnet::IpNet]) -> SocketAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer.ip()) {
        return peer;
    }
    let hops: Vec<&str> = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>().or_else(|_| hop.parse::<SocketAddr>().map(|a| a.ip())) else { break };
        client = SocketAddr::new(ip, peer.port());
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// The soft limit on open files of this process (Linux), from `/proc/self/limits`.
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Wraps the whole router (API and pages) with the host check and the safe headers.
pub(crate) fn apply(router: Router, config: &ServerConfig, _bound: SocketAddr) -> Router {
    let names = Arc::new(config.allowed_names());
    router.layer(axum::middleware::from_fn_with_state(names, check_host)).layer(axum::middleware::from_fn(safe_headers))
}

/// Whether a `Host` header value may be served.
pub(crate) fn host_allowed(host: &str, names: &[String]) -> bool {
    let Some((name, _)) = crate::origin::host_port(host.trim()) else { return false };
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() {
        return true;
    }
    let name = bare.trim_end_matches('.').to_ascii_lowercase();
    names.contains(&name)
}

async fn check_host(State(names): State<Arc<Vec<String>>>, req: Request, next: Next) -> Response {
    // HTTP/1.0 clients may send no Host at all: nothing to rebind.
    if let Some(host) = req.headers().get(header::HOST) {
        let host = host.to_str().unwrap_or_default();
        if !host_allowed(host, &names) {
            let e = ApiError::Forbidden(format!(
                "this server is not reached by the name {host:?}; if it is, add it to server.allowedHosts (or set server.publicUrl) in portico.yaml"
            ));
            return crate::error::shaped(e, &req);
        }
    }
    next.run(req).await
}

/// The Content-Security-Policy of every response. Styles may be inline: the SVG charts and
/// graphs carry their own `<style>` so that they render alone, too.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async fn safe_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_addresses_localhost_and_configured_names_are_allowed_hosts() {
        let config = ServerConfig { public_url: Some("https://Portico.Example.com/".into()), allowed_hosts: vec!["portico.internal".into()], ..ServerConfig::default() };
        let names = config.allowed_names();
        for ok in ["127.0.0.1:7007", "10.1.2.3", "[::1]:7007", "localhost:7007", "LOCALHOST", "portico.example.com", "portico.example.com:443", "portico.internal:7007", "portico.internal."] {
            assert!(host_allowed(ok, &names), "{ok}");
        }
        for bad in ["attacker.example", "attacker.example:7007", "127.0.0.1.attacker.example", "portico.example.com.attacker.example", "", "a b", "user@localhost"] {
            assert!(!host_allowed(bad, &names), "{bad}");
        }
    }

    /// Behind trusted proxies the client is the right-most address they did not write; a client
    /// that sends the header itself, or connects directly, cannot choose its address.
    #[test]
    fn the_client_address_is_taken_from_trusted_proxies_only() {
        let config = ServerConfig { trusted_proxies: vec!["10.0.0.0/8".into(), " 192.168.1.5 ".into()], ..ServerConfig::default() };
        let trusted = config.proxies().unwrap();
        let peer = |ip: &str| SocketAddr::new(ip.parse().unwrap(), 4000);
        let headers = |values: &[&str]| {
            let mut h = axum::http::HeaderMap::new();
            for v in values {
                h.append("x-forwarded-for", v.parse().unwrap());
            }
            h
        };
        let client = |p: &str, values: &[&str]| client_address(peer(p), &headers(values), &trusted).ip().to_string();
        assert_eq!(client("10.1.2.3", &["203.0.113.7"]), "203.0.113.7", "one trusted hop");
        assert_eq!(client("10.1.2.3", &["1.2.3.4, 203.0.113.7, 10.9.9.9"]), "203.0.113.7", "a forged left part is ignored");
        assert_eq!(client("192.168.1.5", &["1.2.3.4", "203.0.113.7"]), "203.0.113.7", "headers in several lines are one list");
        assert_eq!(client("198.51.100.1", &["203.0.113.7"]), "198.51.100.1", "not a trusted proxy: the header counts for nothing");
        assert_eq!(client("10.1.2.3", &[]), "10.1.2.3", "no header: the proxy itself");
        assert_eq!(client("10.1.2.3", &["203.0.113.7, not-an-address"]), "10.1.2.3", "garbage from the proxy's side ends the walk");
        assert_eq!(client("10.1.2.3", &["[2001:db8::1]:5555"]), "2001:db8::1", "an address with a port");
        assert_eq!(client("10.1.2.3", &["10.5.5.5"]), "10.5.5.5", "only trusted hops: the farthest");
        let bad = ServerConfig { trusted_proxies: vec!["10.0.0.0/8".into(), "everyone".into()], ..ServerConfig::default() };
        assert_eq!(bad.proxies().unwrap_err(), "server.trustedProxies[1]: \"everyone\" is neither an IP address nor a CIDR range (10.0.0.0/8)");
        assert!(ServerConfig::default().proxies().unwrap().is_empty());
    }

    #[test]
    fn the_connection_cap_follows_the_descriptor_limit() {
        let cap = ServerConfig::default().connection_cap();
        assert!((64..=4096).contains(&cap), "{cap}");
        assert_eq!(ServerConfig { max_connections: 10, ..ServerConfig::default() }.connection_cap(), 10);
    }
}
