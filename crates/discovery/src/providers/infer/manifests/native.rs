//! Compiled-to-native manifests: Cargo.toml, go.mod, CMakeLists.txt.

use std::sync::LazyLock;

use regex::Regex;

use super::super::Cx;
use super::super::tree::{ancestors, dir_of, join};
use super::{Found, Type, Verdict, parse_toml};

/// `Cargo.toml`: `[package]` is a crate (a service when it has a binary), a `[workspace]`
/// without a package is a virtual root.
pub(super) fn cargo(cx: &Cx<'_>, path: &str, text: &str) -> Result<Verdict, String> {
    let table = parse_toml(text)?;
    let Some(package) = table.get("package") else {
        return if table.contains_key("workspace") {
            Ok(Verdict::Aggregator)
        } else {
            Err("1:1: neither a [package] nor a [workspace] table".to_owned())
        };
    };
    let name = package.get("name").and_then(toml::Value::as_str).ok_or("package.name: missing or not a string")?;
    let dir = dir_of(path);
    let has_bin = table.get("bin").and_then(toml::Value::as_array).is_some_and(|b| !b.is_empty())
        || cx.tree.has_file(&join(dir, "src"), "main.rs")
        || cx.tree.has_dir(&join(dir, "src/bin"));
    let kind = if has_bin { Type::Service } else { Type::Library };
    Ok(Verdict::Component(Found { name: Some(name.to_owned()), language: Some("rust"), kind: Some(kind) }))
}

/// `go.mod`: the module path's last segment (skipping a `/vN` suffix); a service when the
/// module's folder holds `package main` or a `cmd/` folder.
pub(super) fn go_mod(cx: &Cx<'_>, path: &str, text: &str) -> Result<Verdict, String> {
    let module = text
        .lines()
        .enumerate()
        .find_map(|(i, l)| {
            let l = l.split("//").next().unwrap_or("").trim();
            l.strip_prefix("module").filter(|r| r.starts_with([' ', '\t'])).map(|r| (i, r.trim().trim_matches('"').to_owned()))
        })
        .ok_or("1:1: no module directive")?;
    let (line, module) = module;
    let name = module
        .rsplit('/')
        .find(|s| !(s.len() > 1 && s.starts_with('v') && s[1..].bytes().all(|b| b.is_ascii_digit())))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("{}:1: module path {module:?} has no name", line + 1))?;
    let dir = dir_of(path);
    let kind = if go_main(cx, dir) { Type::Service } else { Type::Library };
    Ok(Verdict::Component(Found { name: Some(name.to_owned()), language: Some("go"), kind: Some(kind) }))
}

/// Most top-level `.go` files read to look for `package main`.
const MAX_GO_FILES: usize = 20;

fn go_main(cx: &Cx<'_>, dir: &str) -> bool {
    if cx.tree.has_file(dir, "main.go") || cx.tree.has_dir(&join(dir, "cmd")) {
        return true;
    }
    cx.tree
        .names(dir)
        .iter()
        .filter(|n| n.ends_with(".go") && !n.ends_with("_test.go"))
        .take(MAX_GO_FILES)
        .filter_map(|n| cx.tree.read(&join(dir, n)).ok().flatten())
        .any(|t| t.lines().any(|l| l.trim() == "package main"))
}

static CMAKE_PROJECT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?im)^\s*project\s*\(\s*([A-Za-z0-9_.+-]+)([^)]*)\)").unwrap());
static CMAKE_EXECUTABLE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?im)^\s*add_executable\s*\(").unwrap());

/// The top-most `CMakeLists.txt` of a tree (nested ones are parts of the same project):
/// `project(name LANGUAGES …)`; a service when it builds an executable.
pub(super) fn cmake(cx: &Cx<'_>, path: &str, text: &str) -> Result<Verdict, String> {
    let dir = dir_of(path);
    if ancestors(dir).skip(1).any(|a| cx.tree.has_file(a, "CMakeLists.txt")) {
        return Ok(Verdict::NotAPackage);
    }
    let project = CMAKE_PROJECT.captures(text);
    let name = project.as_ref().map(|c| c[1].to_owned());
    let langs = project.as_ref().map(|c| c[2].to_ascii_uppercase()).unwrap_or_default();
    let cpp = langs.contains("CXX")
        || (!langs.contains(" C") && cx.tree.under(dir).any(|p| p.ends_with(".cpp") || p.ends_with(".cc") || p.ends_with(".hpp")));
    let kind = if CMAKE_EXECUTABLE.is_match(text) { Type::Service } else { Type::Library };
    Ok(Verdict::Component(Found { name, language: Some(if cpp { "cpp" } else { "c" }), kind: Some(kind) }))
}
