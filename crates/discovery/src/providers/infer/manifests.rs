//! Components from build manifests: which folders hold a package, its name, language and
//! type. Every manifest is parsed with a real parser where its format has one (TOML, JSON,
//! XML); an unparseable file is reported with its position and skipped, never fatal.
//!
//! One component per folder: when a folder holds several manifests, the first in
//! [`KINDS`] order wins. Aggregators (a Cargo virtual workspace, an npm workspace root, a
//! Maven parent POM, a Gradle multi-project root without sources, an Elixir umbrella) make no
//! component of their own.

mod jvm;
mod native;
mod scripting;

use super::Cx;
use super::tree::{dir_of, file_name, in_test_dir};

/// What a component does, as Backstage's `spec.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Type {
    Service,
    Library,
    Website,
    /// Test, load or build tooling.
    Tool,
}

impl Type {
    pub fn as_str(self) -> &'static str {
        match self {
            Type::Service => "service",
            Type::Library => "library",
            Type::Website => "website",
            Type::Tool => "tool",
        }
    }
}

/// What a manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// Package name as written (sanitized later); `None` falls back to the folder name.
    pub name: Option<String>,
    pub language: Option<&'static str>,
    /// `None`: a library unless the folder also has a Dockerfile.
    pub kind: Option<Type>,
}

/// What a manifest makes of its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Component(Found),
    /// A root of other packages (or a test project): no component here.
    Aggregator,
    /// Not a package manifest after all (a `pyproject.toml` holding only tool settings).
    NotAPackage,
}

/// A component's manifest.
#[derive(Debug, Clone)]
pub(crate) struct Manifest {
    pub dir: String,
    pub path: String,
    pub found: Found,
}

type Parser = fn(&Cx<'_>, &str, &str) -> Result<Verdict, String>;
/// Tells a manifest by its file name.
type IsManifest = fn(&str) -> bool;

/// Manifest file kinds in order of precedence: a file-name test and a parser of its text.
const KINDS: &[(IsManifest, Parser)] = &[
    (|n| n == "Cargo.toml", native::cargo),
    (|n| n == "go.mod", native::go_mod),
    (|n| n == "pom.xml", jvm::pom),
    (|n| n == "build.gradle" || n == "build.gradle.kts", jvm::gradle),
    (|n| n.ends_with(".csproj") || n.ends_with(".fsproj"), jvm::dotnet),
    (|n| n == "pyproject.toml", scripting::pyproject),
    (|n| n == "setup.py", scripting::setup_py),
    (|n| n == "composer.json", scripting::composer),
    (|n| n == "mix.exs", scripting::mix),
    (|n| n == "Gemfile", scripting::gemfile),
    // A PHP, Ruby, Elixir or Python application keeps a package.json for its assets.
    (|n| n == "package.json", scripting::package_json),
    (|n| n == "CMakeLists.txt", native::cmake),
    (|n| n.starts_with("requirements") && n.ends_with(".txt"), scripting::requirements),
];

/// Dockerfile names: `Dockerfile`, `Dockerfile.prod`, `api.Dockerfile`, `Containerfile`.
pub(crate) fn is_dockerfile(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "dockerfile" || lower.starts_with("dockerfile.") || lower.ends_with(".dockerfile") || lower == "containerfile"
}

/// The components of the tree, one per folder, sorted by folder.
pub(crate) fn detect(cx: &mut Cx<'_>) -> Vec<Manifest> {
    let mut out: Vec<Manifest> = Vec::new();
    let mut decided: Option<&str> = None;
    let candidates: Vec<(usize, &str)> = {
        let mut c: Vec<(usize, &str)> = cx
            .tree
            .paths
            .iter()
            .filter(|p| !in_test_dir(dir_of(p)))
            .filter_map(|p| KINDS.iter().position(|(is, _)| is(file_name(p))).map(|k| (k, *p)))
            .collect();
        c.sort_by(|a, b| dir_of(a.1).cmp(dir_of(b.1)).then(a.0.cmp(&b.0)).then(a.1.cmp(b.1)));
        c
    };
    for (kind, path) in candidates {
        let dir = dir_of(path);
        if decided == Some(dir) {
            continue;
        }
        let text = match cx.tree.read(path) {
            Ok(Some(t)) => t,
            Ok(None) => continue,
            Err(e) => {
                cx.error(path, format!("cannot read: {e}"));
                continue;
            }
        };
        match (KINDS[kind].1)(cx, path, &text) {
            Ok(Verdict::Component(found)) => {
                decided = Some(dir);
                out.push(Manifest { dir: dir.to_owned(), path: path.to_owned(), found });
            }
            Ok(Verdict::Aggregator) => decided = Some(dir),
            Ok(Verdict::NotAPackage) => {}
            Err(e) => cx.error(path, e),
        }
    }
    let extra = dockerfile_only(cx, &out);
    out.extend(extra);
    out.sort_by(|a, b| a.dir.cmp(&b.dir));
    out
}

/// Folders with a Dockerfile and no package manifest at, above or below them: services.
fn dockerfile_only(cx: &Cx<'_>, manifests: &[Manifest]) -> Vec<Manifest> {
    let mut out: Vec<Manifest> = Vec::new();
    for path in cx.tree.paths.iter().filter(|p| is_dockerfile(file_name(p))) {
        let dir = dir_of(path);
        if in_test_dir(dir) || out.iter().any(|m| m.dir == dir) {
            continue;
        }
        let related = |d: &str| super::tree::is_within(d, dir) || super::tree::is_within(dir, d);
        if manifests.iter().any(|m| related(&m.dir)) {
            continue;
        }
        let found = Found { name: None, language: language_of_files(cx, dir), kind: Some(Type::Service) };
        out.push(Manifest { dir: dir.to_owned(), path: (*path).to_owned(), found });
    }
    out
}

/// Source file extensions and their language.
const EXTENSIONS: &[(&str, &str)] = &[
    ("go", "go"), ("py", "python"), ("js", "javascript"), ("mjs", "javascript"), ("cjs", "javascript"), ("ts", "typescript"),
    ("tsx", "typescript"), ("java", "java"), ("kt", "kotlin"), ("cs", "csharp"), ("fs", "fsharp"), ("rb", "ruby"), ("php", "php"),
    ("rs", "rust"), ("ex", "elixir"), ("exs", "elixir"), ("scala", "scala"), ("c", "c"), ("cpp", "cpp"), ("cc", "cpp"),
    ("swift", "swift"), ("lua", "lua"), ("pl", "perl"),
];

/// The language of a source file by its extension (type declarations and minified bundles are
/// no source).
pub(crate) fn source_language(path: &str) -> Option<&'static str> {
    let name = file_name(path);
    if name.ends_with(".d.ts") || name.contains(".min.") {
        return None;
    }
    let ext = name.rsplit_once('.')?.1;
    EXTENSIONS.iter().find(|(e, _)| *e == ext).map(|(_, l)| *l)
}

/// The lower-case stem of a source file (`CatalogClient.java` → `catalogclient`).
pub(crate) fn source_stem(path: &str) -> Option<String> {
    source_language(path)?;
    file_name(path).rsplit_once('.').map(|(stem, _)| stem.to_ascii_lowercase())
}

/// The language most of a folder's source files are in (tests and generated code included),
/// for a service with a Dockerfile and no manifest; `None` when it holds no source file.
fn language_of_files(cx: &Cx<'_>, dir: &str) -> Option<&'static str> {
    let mut counts: std::collections::BTreeMap<&'static str, usize> = std::collections::BTreeMap::new();
    for lang in cx.tree.under(dir).filter_map(source_language) {
        *counts.entry(lang).or_default() += 1;
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(l, _)| l)
}

/// `path:line:col: message` for a parse error at a byte offset of `text`.
pub(crate) fn at_offset(text: &str, offset: usize, message: impl std::fmt::Display) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{line}:{col}: {message}")
}

/// Parses TOML, naming the position of a syntax error.
pub(crate) fn parse_toml(text: &str) -> Result<toml::Table, String> {
    text.parse::<toml::Table>().map_err(|e| {
        let msg = e.message().trim().to_owned();
        match e.span() {
            Some(span) => at_offset(text, span.start, msg),
            None => msg,
        }
    })
}

/// Parses a JSON object, naming the position of a syntax error.
pub(crate) fn parse_json_object(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_str::<serde_json::Value>(text.trim_start_matches('\u{feff}')) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err("1:1: expected a JSON object".to_owned()),
        Err(e) => Err(format!("{}:{}: {}", e.line(), e.column(), strip_position(&e.to_string()))),
    }
}

fn strip_position(msg: &str) -> &str {
    msg.split(" at line ").next().unwrap_or(msg)
}

/// True when any of `needles` occurs in `deps`.
pub(crate) fn any_dep<'a>(mut deps: impl Iterator<Item = &'a str>, needles: &[&str]) -> bool {
    deps.any(|d| needles.contains(&d))
}
