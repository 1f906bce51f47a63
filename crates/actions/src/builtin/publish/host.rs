//! What `publish:github`, `publish:gitlab` and `github:actions:dispatch` share: the repository a
//! `repoUrl` names (`github.com?owner=acme&repo=cart`), the token, and calls of a git host's REST
//! API through the same allow-list as `http:request`.

use std::time::Duration;

use serde_json::Value;

use crate::action::{ActionError, Context, str_input};
use crate::builtin::http::request::{Answer, send};

/// The input schema of a publish to a host: what `publish:github` and `publish:gitlab` both take
/// (`repoUrl` described by `repo`, the token by `token`), with `extra` properties.
pub(crate) fn publish_schema(repo: &str, token: &str, extra: Value) -> Value {
    let mut schema = serde_json::json!({"type": "object", "required": ["repoUrl"], "properties": {
        "repoUrl": {"type": "string", "description": repo},
        "allowedHosts": {"type": "array", "items": {"type": "string"}, "description": "The hosts repoUrl may name (Backstage's check)."},
        "description": {"type": "string"},
        "repoVisibility": {"type": "string", "enum": ["private", "internal", "public"], "description": "Default private."},
        "defaultBranch": {"type": "string", "description": "Default main."},
        "sourcePath": {"type": "string"},
        "gitCommitMessage": {"type": "string"},
        "gitAuthorName": {"type": "string"},
        "gitAuthorEmail": {"type": "string"},
        "topics": {"type": "array", "items": {"type": "string"}},
        "token": {"type": ["string", "boolean"], "description": token}
    }});
    if let (Some(props), Value::Object(more)) = (schema["properties"].as_object_mut(), extra) {
        props.extend(more);
    }
    schema
}

/// A repository a `repoUrl` names.
pub(crate) struct Repo {
    pub host: String,
    pub owner: String,
    pub name: String,
}

impl Repo {
    pub fn of(input: &Value) -> Result<Repo, ActionError> {
        let url = str_input(input, "repoUrl")?;
        let parts = crate::filters::parse_repo_url(url).map_err(|e| ActionError::input("repoUrl", e))?;
        let get = |k: &str| parts.get(k).and_then(Value::as_str).map(str::to_owned);
        let owner = get("owner").or_else(|| get("organization")).ok_or_else(|| ActionError::input("repoUrl", format!("{url} names no owner (?owner=…)")))?;
        let name = get("repo").ok_or_else(|| ActionError::input("repoUrl", format!("{url} names no repository (?repo=…)")))?;
        for (what, v) in [("owner", &owner), ("repo", &name)] {
            if v.is_empty() || v.starts_with(['.', '-']) || !v.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) || v.contains("..") {
                return Err(ActionError::input("repoUrl", format!("{what} {v:?} is not a repository path")));
            }
        }
        Ok(Repo { host: get("host").unwrap_or_default(), owner, name })
    }

    /// Refuses a host the step's `allowedHosts` (when it has one) leaves out.
    pub fn check_allowed(&self, input: &Value) -> Result<(), ActionError> {
        match input.get("allowedHosts").and_then(Value::as_array) {
            Some(hosts) if !hosts.iter().any(|h| h.as_str().is_some_and(|h| h.eq_ignore_ascii_case(&self.host))) => {
                Err(ActionError::input("repoUrl", format!("{} is not one of the step's allowedHosts", self.host)))
            }
            _ => Ok(()),
        }
    }
}

/// The token a step gives (`token: ${{ secrets.GITHUB_TOKEN }}`; `false`, as Backstage's
/// templates write `${{ secrets.USER_OAUTH_TOKEN or false }}`, is none), else the secret `fallback`
/// of `actions.secrets` (`GITHUB_TOKEN`, `GITLAB_TOKEN`), as Backstage falls back to its
/// integration's token.
pub(crate) fn token(cx: &Context<'_>, input: &Value, host: &str, fallback: &str) -> Result<String, ActionError> {
    input
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .or_else(|| cx.secrets.get(fallback).cloned())
        .ok_or_else(|| ActionError::input("token", format!("a token for {host} is needed: give one (token: ${{{{ secrets.NAME }}}}) or set the secret {fallback} in actions.secrets")))
}

/// The HTTP header git sends a host's token in: GitHub takes it as the password of
/// `x-access-token`, GitLab of `oauth2` (`kind`: `github` or `gitlab`).
pub(crate) fn git_auth(kind: &str, token: &str) -> String {
    let user = if kind == "github" { "x-access-token" } else { "oauth2" };
    format!("Authorization: Basic {}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("{user}:{token}")))
}

/// One call of the host's API (`path` below its base), the token as a bearer; answers 2xx or
/// fails naming the call and what the host said.
pub(crate) async fn call(cx: &mut Context<'_>, base: &str, token: &str, method: &str, path: &str, body: Option<&Value>, accept: &[u16]) -> Result<Answer, ActionError> {
    let url = format!("{base}{path}");
    let headers = vec![
        ("authorization".to_owned(), format!("Bearer {token}")),
        ("accept".to_owned(), "application/json".to_owned()),
        ("x-github-api-version".to_owned(), "2022-11-28".to_owned()),
    ];
    let answer = send(cx, "repoUrl", method, &url, &headers, body, Duration::from_secs(30)).await?;
    if (200..300).contains(&answer.code) || accept.contains(&answer.code) {
        return Ok(answer);
    }
    let said = answer.body.get("message").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| answer.text.chars().take(300).collect());
    let details: Vec<String> = answer.body.get("errors").and_then(Value::as_array).into_iter().flatten().filter_map(|e| e.get("message").and_then(Value::as_str).or_else(|| e.as_str()).map(str::to_owned)).collect();
    let details = if details.is_empty() { String::new() } else { format!(" ({})", details.join("; ")) };
    Err(ActionError::new(format!("{method} {url} answered {}: {said}{details}", answer.code)))
}

/// `a/b c` as one path segment of a URL (`a%2Fb%20c`).
pub(crate) fn segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20")
}
