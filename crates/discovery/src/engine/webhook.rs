//! Webhooks: a git server's hook or a CI job tells Portico that a source changed, and the
//! engine runs it at once, narrowed to the repository the payload names.
//!
//! When the source declares `webhookSecret`, the request must prove it knows it: GitHub's and
//! Gitea's `X-Hub-Signature-256: sha256=<hmac of the body>`, or GitLab's `X-Gitlab-Token`
//! header, or `Authorization: Bearer <secret>` for scripts.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Checks a webhook request against the source's secret. `headers` yields (lower-case name,
/// value) pairs.
pub fn authorized<'a>(secret: Option<&str>, headers: impl IntoIterator<Item = (&'a str, &'a str)>, body: &[u8]) -> Result<(), String> {
    let Some(secret) = secret else { return Ok(()) };
    let mut presented = false;
    for (name, value) in headers {
        match name {
            "x-hub-signature-256" => {
                let Some(hex) = value.strip_prefix("sha256=") else { return Err("X-Hub-Signature-256 must start with sha256=".into()) };
                let Some(expected) = decode_hex(hex) else { return Err("X-Hub-Signature-256 is not hex".into()) };
                let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
                mac.update(body);
                return mac.verify_slice(&expected).map_err(|_| "X-Hub-Signature-256 does not match the body and the source's webhookSecret".into());
            }
            "x-gitlab-token" => {
                presented = true;
                if constant_time_eq(value.as_bytes(), secret.as_bytes()) {
                    return Ok(());
                }
            }
            "authorization" => {
                presented = true;
                if value.strip_prefix("Bearer ").is_some_and(|t| constant_time_eq(t.trim().as_bytes(), secret.as_bytes())) {
                    return Ok(());
                }
            }
            _ => {}
        }
    }
    Err(if presented {
        "the webhook token does not match the source's webhookSecret".into()
    } else {
        "this source has a webhookSecret: send X-Hub-Signature-256, X-Gitlab-Token or Authorization: Bearer".into()
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// The repository a push payload names, as candidates for the scope to refresh (GitHub,
/// Gitea/Forgejo, GitLab, Bitbucket; or `{"repository": "<url or path>"}` from scripts).
pub fn scope_hints(payload: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |v: Option<&Value>| {
        if let Some(s) = v.and_then(Value::as_str).filter(|s| !s.is_empty())
            && !out.iter().any(|o| o == s)
        {
            out.push(s.to_owned());
        }
    };
    push(payload.get("repository").filter(|v| v.is_string()));
    push(payload.get("scope"));
    for base in ["repository", "project"] {
        for field in ["clone_url", "git_http_url", "git_ssh_url", "ssh_url", "html_url", "web_url", "url", "full_name", "path_with_namespace"] {
            push(payload.get(base).and_then(|r| r.get(field)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn github_signatures_are_checked_against_the_body() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(body);
        let sig = format!("sha256={}", mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>());
        assert_eq!(authorized(Some("s3cret"), [("x-hub-signature-256", sig.as_str())], body), Ok(()));
        let err = authorized(Some("s3cret"), [("x-hub-signature-256", sig.as_str())], b"{}").unwrap_err();
        assert!(err.contains("does not match"), "{err}");
        assert!(authorized(Some("s3cret"), [("x-hub-signature-256", "sha256=zz")], body).unwrap_err().contains("not hex"));
        assert!(authorized(Some("s3cret"), [("x-hub-signature-256", "md5=00")], body).unwrap_err().contains("sha256="));
    }

    #[test]
    fn tokens_and_missing_credentials() {
        assert_eq!(authorized(Some("t"), [("x-gitlab-token", "t")], b""), Ok(()));
        assert_eq!(authorized(Some("t"), [("authorization", "Bearer t")], b""), Ok(()));
        assert!(authorized(Some("t"), [("x-gitlab-token", "u")], b"").unwrap_err().contains("does not match"));
        assert!(authorized(Some("t"), [], b"").unwrap_err().contains("has a webhookSecret"));
        assert_eq!(authorized(None, [], b""), Ok(()), "no secret, no check");
    }

    #[test]
    fn payloads_name_their_repository() {
        let github = json!({"repository": {"clone_url": "https://git.example.com/acme/shop.git", "full_name": "acme/shop"}});
        assert_eq!(scope_hints(&github), ["https://git.example.com/acme/shop.git", "acme/shop"]);
        let gitlab = json!({"project": {"git_http_url": "https://gitlab.example.com/acme/shop.git"}});
        assert_eq!(scope_hints(&gitlab), ["https://gitlab.example.com/acme/shop.git"]);
        assert_eq!(scope_hints(&json!({"repository": "/srv/git/shop"})), ["/srv/git/shop"]);
        assert!(scope_hints(&json!({})).is_empty());
    }
}
