//! Manifests of interpreted languages: package.json, pyproject.toml, setup.py,
//! requirements*.txt, composer.json, Gemfile, mix.exs.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::super::Cx;
use super::super::tree::{dir_of, file_name, join};
use super::{Found, Type, Verdict, any_dep, parse_json_object, parse_toml};

/// Front-end frameworks and bundlers: a private package using one is a website.
const WEB_FRAMEWORKS: &[&str] = &[
    "react",
    "react-dom",
    "next",
    "vue",
    "nuxt",
    "vite",
    "@angular/core",
    "svelte",
    "@sveltejs/kit",
    "gatsby",
    "react-scripts",
    "astro",
    "@remix-run/react",
    "preact",
    "solid-js",
    "ember-source",
];

/// Server frameworks: a package depending on one is a service.
const NODE_SERVERS: &[&str] = &[
    "express",
    "fastify",
    "koa",
    "@nestjs/core",
    "@hapi/hapi",
    "hapi",
    "restify",
    "@grpc/grpc-js",
    "grpc",
    "@apollo/server",
    "apollo-server",
    "socket.io",
];

/// `package.json`: a workspace root makes no component; a private package using a front-end
/// framework is a website, one using a server framework (or private with a `start` script)
/// a service, anything else a library.
pub(super) fn package_json(cx: &Cx<'_>, path: &str, text: &str) -> Result<Verdict, String> {
    let pkg = parse_json_object(text)?;
    let private = pkg.get("private").and_then(Value::as_bool).unwrap_or(false);
    let publishes = ["main", "module", "exports", "types"].iter().any(|k| pkg.contains_key(*k));
    if pkg.contains_key("workspaces") && (private || !publishes) {
        return Ok(Verdict::Aggregator);
    }
    // A root `package.json` holding only tooling (linters, formatters, commit hooks) for a
    // repository whose packages live in subfolders is no package of its own.
    let dir = dir_of(path);
    let tooling_only = pkg.get("dependencies").and_then(Value::as_object).is_none_or(|d| d.is_empty())
        && !publishes
        && !pkg.contains_key("bin")
        && pkg.get("scripts").and_then(|s| s.get("start")).is_none();
    if dir.is_empty() && tooling_only && has_packages_below(cx) {
        return Ok(Verdict::NotAPackage);
    }
    let keys = |field: &str| -> Vec<&str> {
        pkg.get(field).and_then(Value::as_object).map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default()
    };
    let runtime = keys("dependencies");
    let dev = keys("devDependencies");
    let all = || runtime.iter().chain(dev.iter()).copied();
    let has_start = pkg.get("scripts").and_then(|s| s.get("start")).is_some();
    let kind = if any_dep(all(), WEB_FRAMEWORKS) && (private || !publishes) {
        Type::Website
    } else if any_dep(runtime.iter().copied(), NODE_SERVERS) || (private && has_start) {
        Type::Service
    } else {
        Type::Library
    };
    let typescript = any_dep(all(), &["typescript"]) || cx.tree.has_file(dir, "tsconfig.json");
    let name = pkg.get("name").and_then(Value::as_str).map(str::to_owned);
    let language = Some(if typescript { "typescript" } else { "javascript" });
    Ok(Verdict::Component(Found { name, language, kind: Some(kind) }))
}

/// True when a package manifest sits in a subfolder of the tree.
fn has_packages_below(cx: &Cx<'_>) -> bool {
    const MANIFESTS: &[&str] = &["package.json", "go.mod", "pom.xml", "Cargo.toml", "pyproject.toml", "build.gradle", "build.gradle.kts"];
    cx.tree.paths.iter().any(|p| p.contains('/') && MANIFESTS.contains(&file_name(p)))
}

/// Python web and RPC frameworks: a project depending on one is a service.
const PYTHON_SERVERS: &[&str] =
    &["django", "flask", "fastapi", "uvicorn", "gunicorn", "starlette", "aiohttp", "tornado", "grpcio", "celery", "locust", "sanic", "falcon"];
/// Entry points of Python applications.
const PYTHON_MAINS: &[&str] = &["manage.py", "app.py", "main.py", "wsgi.py", "asgi.py", "server.py"];

/// The distribution name of a requirement line (`Flask[async]>=2.0 ; python_version…`).
fn requirement_name(req: &str) -> Option<String> {
    let req = req.trim();
    if req.is_empty() || req.starts_with(['#', '-']) {
        return None;
    }
    let end = req.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))).unwrap_or(req.len());
    let name = req[..end].to_ascii_lowercase().replace('_', "-");
    (!name.is_empty()).then_some(name)
}

fn python_kind(cx: &Cx<'_>, dir: &str, deps: &[String]) -> Type {
    let server = deps.iter().any(|d| PYTHON_SERVERS.contains(&d.as_str()));
    if server || PYTHON_MAINS.iter().any(|m| cx.tree.has_file(dir, m)) { Type::Service } else { Type::Library }
}

fn python(cx: &Cx<'_>, path: &str, name: Option<String>, deps: &[String]) -> Verdict {
    let kind = python_kind(cx, dir_of(path), deps);
    Verdict::Component(Found { name, language: Some("python"), kind: Some(kind) })
}

/// `pyproject.toml`: `[project]` or `[tool.poetry]`; a file of tool settings only is no package.
pub(super) fn pyproject(cx: &Cx<'_>, path: &str, text: &str) -> Result<Verdict, String> {
    let table = parse_toml(text)?;
    let poetry = table.get("tool").and_then(|t| t.get("poetry"));
    let Some(section) = table.get("project").or(poetry) else {
        return Ok(Verdict::NotAPackage);
    };
    let name = section.get("name").and_then(toml::Value::as_str).map(str::to_owned);
    let mut deps: Vec<String> = section
        .get("dependencies")
        .and_then(toml::Value::as_array)
        .map(|a| a.iter().filter_map(toml::Value::as_str).filter_map(requirement_name).collect())
        .unwrap_or_default();
    if let Some(t) = section.get("dependencies").and_then(toml::Value::as_table) {
        deps.extend(t.keys().map(|k| k.to_ascii_lowercase()));
    }
    Ok(python(cx, path, name, &deps))
}

static SETUP_NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"\bname\s*=\s*['"]([^'"]+)['"]"#).unwrap());

/// `setup.py`: `name="…"` when written literally.
pub(super) fn setup_py(cx: &Cx<'_>, path: &str, text: &str) -> Result<Verdict, String> {
    let name = SETUP_NAME.captures(text).map(|c| c[1].to_owned());
    let deps: Vec<String> = PYTHON_SERVERS.iter().filter(|s| text.contains(&format!("'{s}")) || text.contains(&format!("\"{s}"))).map(|s| (*s).to_owned()).collect();
    Ok(python(cx, path, name, &deps))
}

/// `requirements*.txt`: a Python application named after its folder, when the folder holds
/// Python code or a Dockerfile (docs folders keep their own requirements for doc builds).
pub(super) fn requirements(cx: &Cx<'_>, path: &str, text: &str) -> Result<Verdict, String> {
    let dir = dir_of(path);
    let folder = file_name(dir);
    let code = cx.tree.names(dir).iter().any(|n| n.ends_with(".py") || super::is_dockerfile(n));
    if matches!(folder, "docs" | "doc") || !code {
        return Ok(Verdict::NotAPackage);
    }
    let deps: Vec<String> = text.lines().filter_map(requirement_name).collect();
    Ok(python(cx, path, None, &deps))
}

/// `composer.json`: `type: project` or a framework makes a service.
pub(super) fn composer(_: &Cx<'_>, _: &str, text: &str) -> Result<Verdict, String> {
    let pkg = parse_json_object(text)?;
    let require: Vec<&str> =
        pkg.get("require").and_then(Value::as_object).map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
    let framework = any_dep(require.iter().copied(), &["laravel/framework", "symfony/framework-bundle", "slim/slim", "laminas/laminas-mvc"]);
    let project = pkg.get("type").and_then(Value::as_str) == Some("project");
    let kind = if framework || project { Type::Service } else { Type::Library };
    let name = pkg.get("name").and_then(Value::as_str).map(str::to_owned);
    Ok(Verdict::Component(Found { name, language: Some("php"), kind: Some(kind) }))
}

static GEMSPEC_NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"\.name\s*=\s*['"]([^'"]+)['"]"#).unwrap());
static GEM: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"(?m)^\s*gem\s+['"]([^'"]+)['"]"#).unwrap());

/// `Gemfile`: a Rails, Sinatra or Rack application is a service; a folder with a gemspec is
/// a library named by it.
pub(super) fn gemfile(cx: &Cx<'_>, path: &str, text: &str) -> Result<Verdict, String> {
    let dir = dir_of(path);
    let gems: Vec<&str> = GEM.captures_iter(text).filter_map(|c| c.get(1)).map(|m| m.as_str()).collect();
    let gemspec = cx.tree.names(dir).iter().find(|n| n.ends_with(".gemspec")).map(|n| join(dir, n));
    let spec_name = gemspec.and_then(|p| cx.tree.read(&p).ok().flatten()).and_then(|t| GEMSPEC_NAME.captures(&t).map(|c| c[1].to_owned()));
    let server = any_dep(gems.iter().copied(), &["rails", "sinatra", "puma", "hanami", "grape"]) || cx.tree.has_file(dir, "config.ru");
    let kind = if server || spec_name.is_none() { Type::Service } else { Type::Library };
    Ok(Verdict::Component(Found { name: spec_name, language: Some("ruby"), kind: Some(kind) }))
}

static MIX_APP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bapp:\s*:([A-Za-z0-9_]+)").unwrap());

/// `mix.exs`: an umbrella root makes no component; Phoenix or an application callback module
/// makes a service.
pub(super) fn mix(_: &Cx<'_>, _: &str, text: &str) -> Result<Verdict, String> {
    if text.contains("apps_path:") {
        return Ok(Verdict::Aggregator);
    }
    let name = MIX_APP.captures(text).map(|c| c[1].to_owned());
    let kind = if text.contains(":phoenix") || text.contains("mod:") { Type::Service } else { Type::Library };
    Ok(Verdict::Component(Found { name, language: Some("elixir"), kind: Some(kind) }))
}
