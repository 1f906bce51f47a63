//! `http:request`: one HTTP request to a host on the allow-list (`actions.remotes.hosts`), as a
//! webhook or an API call. Redirects are not followed (a 3xx fails the step, naming where it
//! pointed); a host that resolves to a private, loopback or link-local address is refused
//! unless `actions.remotes.privateAddresses` allows them, and the request goes to the address
//! that was checked (no second lookup to rebind); answers are read up to 1 MiB.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::action::{Action, ActionError, Context, str_input};

pub struct HttpRequest;

/// The most of an answer read.
const MAX_BODY: usize = 1 << 20;

/// Addresses of this machine or its private networks.
pub(crate) fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || (o[0] == 100 && (o[1] & 0xc0) == 64) || o[0] == 0
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80 || v6.to_ipv4_mapped().is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

#[async_trait::async_trait]
impl Action for HttpRequest {
    fn id(&self) -> &'static str {
        "http:request"
    }

    fn description(&self) -> &'static str {
        "Sends one HTTP request to an allowed host (a webhook, an API) and returns its status, headers and body; redirects are not followed."
    }

    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["url"], "properties": {
            "url": {"type": "string", "description": "http(s)://host[:port]/path, the host on actions.remotes.hosts."},
            "method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], "description": "Default GET."},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "body": {"description": "A string, sent as it is, or JSON."},
            "timeoutSeconds": {"type": "integer", "minimum": 1, "maximum": 300, "description": "Default 30."}
        }})
    }

    fn example(&self) -> &'static str {
        "- id: notify\n  name: Tell the deploy service\n  action: http:request\n  input:\n    method: POST\n    url: https://deploy.example.com/hooks/portico\n    headers:\n      authorization: Bearer ${{ secrets.DEPLOY_TOKEN }}\n    body:\n      service: ${{ entity.metadata.name }}\n      version: ${{ parameters.version }}\n"
    }

    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        let url = str_input(&input, "url")?;
        let parsed = cx.remotes.check(url).map_err(|e| ActionError::input("url", e))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ActionError::input("url", "only http and https URLs are requested"));
        }
        let host = parsed.host_str().unwrap_or_default().to_owned();
        let port = parsed.port_or_known_default().unwrap_or(80);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.trim_start_matches('[').trim_end_matches(']'), port)).await.map_err(|e| ActionError::input("url", format!("{host} does not resolve: {e}")))?.collect();
        let Some(addr) = addrs.iter().copied().find(|a| cx.remotes.private_addresses || !is_private(a.ip())) else {
            return Err(ActionError::input("url", format!("{host} resolves only to private or local addresses ({}), which actions.remotes.privateAddresses does not allow", addrs.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", "))));
        };
        let timeout = Duration::from_secs(input.get("timeoutSeconds").and_then(Value::as_u64).unwrap_or(30));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .resolve(&host, addr)
            .build()
            .map_err(|e| ActionError::new(format!("an HTTP client: {e}")))?;
        let method = reqwest::Method::from_bytes(input.get("method").and_then(Value::as_str).unwrap_or("GET").as_bytes()).map_err(|e| ActionError::input("method", e.to_string()))?;
        let mut request = client.request(method.clone(), parsed.clone());
        for (k, v) in input.get("headers").and_then(Value::as_object).into_iter().flatten() {
            request = request.header(k.as_str(), v.as_str().unwrap_or_default());
        }
        request = match input.get("body") {
            None | Some(Value::Null) => request,
            Some(Value::String(s)) => request.body(s.clone()),
            Some(other) => request.json(other),
        };
        cx.log(format!("{method} {url}"));
        let mut response = request.send().await.map_err(|e| ActionError::input("url", format!("the request failed: {}", portico_model::with_causes(&e))))?;
        let code = response.status().as_u16();
        if response.status().is_redirection() {
            let to = response.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or("").to_owned();
            return Err(ActionError::input("url", format!("answered {code}, a redirect to {to:?}, which is not followed")));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| ActionError::new(format!("reading the answer: {e}")))? {
            if bytes.len() + chunk.len() > MAX_BODY {
                return Err(ActionError::new(format!("the answer is larger than {MAX_BODY} bytes")));
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        cx.log(format!("answered {code} ({} bytes)", bytes.len()));
        if code >= 400 {
            return Err(ActionError::new(format!("answered {code}: {}", text.chars().take(500).collect::<String>())));
        }
        let headers: Map<String, Value> = response.headers().iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_owned(), json!(v)))).collect();
        let body = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
        Ok(json!({ "code": code, "headers": headers, "body": body }))
    }
}
