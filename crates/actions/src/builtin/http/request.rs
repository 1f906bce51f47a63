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

/// An answer: its status, headers, and body (JSON when it parses, else the text).
pub(crate) struct Answer {
    pub code: u16,
    pub headers: Map<String, Value>,
    pub body: Value,
    pub text: String,
}

/// Sends one request to `url` as `http:request` and the API actions (`publish:github`, …) do:
/// the host on the allow-list, the address it resolves to checked (private ones only when
/// allowed) and pinned, no redirect followed, at most 1 MiB read. `field` names the input a
/// refusal is about. A 4xx or 5xx is an answer, not an error: the caller says what it means.
pub(crate) async fn send(cx: &mut Context<'_>, field: &str, method: &str, url: &str, headers: &[(String, String)], body: Option<&Value>, timeout: Duration) -> Result<Answer, ActionError> {
    let parsed = cx.remotes.check(url).map_err(|e| ActionError::input(field, e))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ActionError::input(field, "only http and https URLs are requested"));
    }
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.trim_start_matches('[').trim_end_matches(']'), port)).await.map_err(|e| ActionError::input(field, format!("{host} does not resolve: {e}")))?.collect();
    let Some(addr) = addrs.iter().copied().find(|a| cx.remotes.private_addresses || !is_private(a.ip())) else {
        return Err(ActionError::input(field, format!("{host} resolves only to private or local addresses ({}), which actions.remotes.privateAddresses does not allow", addrs.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", "))));
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .resolve(&host, addr)
        .user_agent(concat!("portico/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ActionError::new(format!("an HTTP client: {e}")))?;
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| ActionError::input("method", e.to_string()))?;
    let mut request = client.request(method.clone(), parsed.clone());
    for (k, v) in headers {
        request = request.header(k.as_str(), v.as_str());
    }
    request = match body {
        None | Some(Value::Null) => request,
        Some(Value::String(s)) => request.body(s.clone()),
        Some(other) => request.json(other),
    };
    cx.log(format!("{method} {}", parsed.as_str()));
    let mut response = request.send().await.map_err(|e| ActionError::input(field, format!("the request failed: {}", portico_model::with_causes(&e))))?;
    let code = response.status().as_u16();
    if response.status().is_redirection() {
        let to = response.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or("").to_owned();
        return Err(ActionError::input(field, format!("answered {code}, a redirect to {to:?}, which is not followed")));
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
    let headers: Map<String, Value> = response.headers().iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_owned(), json!(v)))).collect();
    let body = serde_json::from_str::<Value>(&text).unwrap_or_else(|_| Value::String(text.clone()));
    Ok(Answer { code, headers, body, text })
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
        let method = input.get("method").and_then(Value::as_str).unwrap_or("GET");
        let headers: Vec<(String, String)> = input.get("headers").and_then(Value::as_object).into_iter().flatten().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect();
        let timeout = Duration::from_secs(input.get("timeoutSeconds").and_then(Value::as_u64).unwrap_or(30));
        let answer = send(cx, "url", method, url, &headers, input.get("body"), timeout).await?;
        if answer.code >= 400 {
            return Err(ActionError::new(format!("answered {}: {}", answer.code, answer.text.chars().take(500).collect::<String>())));
        }
        Ok(json!({ "code": answer.code, "headers": answer.headers, "body": answer.body }))
    }
}
