//! Backstage's scaffolder filters, with its semantics (checked against
//! `fixtures/backstage/scaffolder-filters.json`): `parseRepoUrl`, `parseEntityRef`, `pick`,
//! `projectSlug`; and Nunjucks' `dump`, which Backstage templates use to write JSON.

use minijinja::value::Value as Jv;
use minijinja::{Environment, Error, ErrorKind};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("parseRepoUrl", |url: String| parse_repo_url(&url).map(|m| Jv::from(minijinja::value::Serde(&m))).map_err(invalid));
    env.add_filter("projectSlug", |url: String| {
        let m = parse_repo_url(&url).map_err(invalid)?;
        let get = |k: &str| m.get(k).and_then(serde_json::Value::as_str).unwrap_or("").to_owned();
        Ok::<_, Error>(format!("{}/{}", get("owner"), get("repo")))
    });
    env.add_filter("parseEntityRef", |reference: String, context: Option<Jv>| {
        let field = |k: &str| context.as_ref().and_then(|c| c.get_attr(k).ok()).filter(|v| !v.is_undefined() && !v.is_none()).map(|v| v.to_string());
        parse_entity_ref(&reference, field("defaultKind").as_deref(), field("defaultNamespace").as_deref())
            .map(|m| Jv::from(minijinja::value::Serde(&m)))
            .map_err(invalid)
    });
    env.add_filter("pick", |value: Jv, key: String| {
        let mut v = value;
        for part in key.split('.') {
            v = v.get_attr(part).unwrap_or(Jv::UNDEFINED);
            if v.is_undefined() {
                break;
            }
        }
        v
    });
    env.add_filter("dump", |value: Jv, indent: Option<usize>| {
        let json = serde_json::to_value(&value).map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
        let text = match indent {
            Some(_) => serde_json::to_string_pretty(&json),
            None => serde_json::to_string(&json),
        };
        text.map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))
    });
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

/// Backstage's `parseRepoUrl`: `host?owner=…&repo=…` (as `RepoUrlPicker` writes it) into
/// `{host, owner, repo, organization, workspace, project}`, the absent ones left out. `repo` is
/// required everywhere; `owner` on GitHub, `project` on Azure DevOps, `workspace` and
/// `project` on Bitbucket Cloud, as Backstage's integrations require.
pub fn parse_repo_url(repo_url: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let parsed = url::Url::parse(&format!("https://{repo_url}")).map_err(|e| format!("Invalid repo URL passed to publisher, got {repo_url}, {e}"))?;
    let host = match (parsed.host_str(), parsed.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => return Err(format!("Invalid repo URL passed to publisher, got {repo_url}, it has no host")),
    };
    let mut out = serde_json::Map::new();
    out.insert("host".into(), host.clone().into());
    for key in ["owner", "repo", "organization", "workspace", "project"] {
        if let Some((_, v)) = parsed.query_pairs().find(|(k, _)| k == key) {
            out.insert(key.into(), v.into_owned().into());
        }
    }
    let required: &[&str] = if host == "dev.azure.com" || host.ends_with(".visualstudio.com") {
        &["repo", "project"]
    } else if host == "bitbucket.org" {
        &["repo", "workspace", "project"]
    } else if host.contains("gitlab") {
        &["repo"]
    } else {
        &["repo", "owner"]
    };
    for key in required {
        if !out.contains_key(*key) {
            return Err(format!("Invalid repo URL passed to publisher: {repo_url}, missing {key}"));
        }
    }
    if host.contains("gitlab") && !out.contains_key("owner") && !out.contains_key("project") {
        return Err(format!("Invalid repo URL passed to publisher: {repo_url}, missing owner"));
    }
    Ok(out)
}

/// Backstage's `parseEntityRef`: `[kind:][namespace/]name` into `{kind, namespace, name}`, the
/// kind and namespace from the defaults when absent (the namespace defaulting to `default`);
/// case kept as written.
pub fn parse_entity_ref(reference: &str, default_kind: Option<&str>, default_namespace: Option<&str>) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    if reference.is_empty() {
        return Err("Entity reference must not be empty".into());
    }
    let slash = reference.find('/');
    let colon = reference.find(':').filter(|c| slash.is_none_or(|s| s > *c));
    let kind = colon.map(|c| &reference[..c]);
    let namespace = slash.map(|s| &reference[colon.map_or(0, |c| c + 1)..s]);
    let name = &reference[colon.map_or(0, |c| c + 1).max(slash.map_or(0, |s| s + 1))..];
    if kind == Some("") || namespace == Some("") || name.is_empty() {
        return Err(format!("Entity reference \"{reference}\" was not on the form [<kind>:][<namespace>/]<name>"));
    }
    let Some(kind) = kind.or(default_kind) else {
        return Err(format!("Entity reference \"{reference}\" had missing or empty kind (e.g. did not start with \"component:\" or similar)"));
    };
    let namespace = namespace.or(default_namespace).unwrap_or("default");
    let mut out = serde_json::Map::new();
    out.insert("kind".into(), kind.into());
    out.insert("namespace".into(), namespace.into());
    out.insert("name".into(), name.into());
    Ok(out)
}
