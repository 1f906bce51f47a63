//! Descriptor files of one commit: files matching `catalogFiles`, and the files their
//! Location entities name by relative path, parsed as multi-document YAML into declared
//! contributions with Backstage's location annotations. `$text`/`$json`/`$yaml` placeholders
//! read relative paths from the same commit and URLs through the reader.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use serde_json::Value;

use super::repo::Base;
use super::tree::TreeFiles;
use crate::engine::{Contribution, Evidence};
use portico_catalog::{Origin, SourceError, raw_key};
use portico_catalog::placeholders;
use crate::providers::infer::{Declared, Files};
use portico_catalog::reader::Reader;

pub(crate) use crate::providers::PATH_MATCH as MATCH;

pub(crate) struct Descriptors<'a> {
    pub tree: &'a TreeFiles,
    /// `<repo>@<commit>`.
    pub location: &'a str,
    pub base: &'a Base,
    pub reader: &'a Reader,
    pub rt: &'a tokio::runtime::Handle,
}

/// What the descriptors declare.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub contributions: Vec<Contribution>,
    pub errors: Vec<SourceError>,
    /// False when a descriptor could not be read or parsed in full.
    pub complete: bool,
    pub declared: Vec<Declared>,
}

impl Found {
    fn fail(&mut self, location: String, key: Option<String>, message: String) {
        self.errors.push(SourceError { location, key, message });
        self.complete = false;
    }

    fn note(&mut self, location: String, key: Option<String>, message: String) {
        self.errors.push(SourceError { location, key, message });
    }
}

/// The folder of a path (`""` for the root).
fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// Resolves `target` against folder `dir` within the repository: `./x`, `../x`, `file:x`.
pub(crate) fn join(dir: &str, target: &str) -> Result<String, String> {
    let t = target.strip_prefix("file:").unwrap_or(target);
    if t.starts_with('/') {
        return Err(format!("{target:?} is an absolute path; only paths relative to the file are read from the repository"));
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for seg in t.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("{target:?} leads outside the repository"));
                }
            }
            s => parts.push(s),
        }
    }
    Ok(parts.join("/"))
}

impl Descriptors<'_> {
    fn at(&self, path: &str) -> String {
        format!("{}:{path}", self.location)
    }

    /// Reads every descriptor matching `patterns`, then the files Location entities lead to.
    pub fn read(&self, patterns: &[glob::Pattern]) -> Found {
        let mut found = Found { complete: true, ..Found::default() };
        let mut queue: VecDeque<(String, String)> = VecDeque::new();
        let mut seen: HashSet<String> = HashSet::new();
        for p in self.tree.paths() {
            if patterns.iter().any(|g| g.matches_with(p, MATCH)) && seen.insert(p.clone()) {
                queue.push_back((p.clone(), p.clone()));
            }
        }
        while let Some((path, origin)) = queue.pop_front() {
            for target in self.read_file(&path, &origin, &mut found) {
                if seen.insert(target.clone()) {
                    queue.push_back((target, origin.clone()));
                }
            }
        }
        found
    }

    /// Parses one file into `found`; returns the files its Locations name.
    fn read_file(&self, path: &str, origin_path: &str, found: &mut Found) -> Vec<String> {
        let text = match self.tree.read(path) {
            Ok(Some(text)) => text,
            Ok(None) => {
                let size = self.tree.size(path).unwrap_or(0);
                let why = if size > self.tree.max_file_bytes() {
                    format!("file is {size} bytes, over maxFileBytes ({})", self.tree.max_file_bytes())
                } else {
                    "not a text file".to_owned()
                };
                found.fail(self.at(path), None, why);
                return Vec::new();
            }
            Err(message) => {
                found.fail(self.at(path), None, message);
                return Vec::new();
            }
        };
        let values = match portico_model::yaml::parse_documents(&text) {
            Ok(v) => v,
            Err(e) => {
                found.fail(format!("{}:{}:{}", self.at(path), e.line, e.column), None, format!("invalid YAML: {}", e.message));
                return Vec::new();
            }
        };
        let text: Arc<str> = Arc::from(text);
        let mut targets = Vec::new();
        for (i, mut value) in values.into_iter().enumerate() {
            let origin = Origin { location: self.at(path), text: Some(text.clone()), document: i };
            let Some((kind, namespace, name)) = identity(&value, &origin, found) else { continue };
            let key = raw_key(&value);
            if !self.resolve_placeholders(&mut value, path, &origin, key.as_deref(), found) {
                continue;
            }
            self.annotate(&mut value, path, origin_path);
            if kind.eq_ignore_ascii_case("location") {
                targets.extend(self.location_targets(&value, path, &origin, key.as_deref(), found));
            }
            let techdocs_ref = value
                .pointer("/metadata/annotations/backstage.io~1techdocs-ref")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned);
            found.declared.push(Declared { dir: dir_of(path).to_owned(), kind, namespace, name, techdocs_ref });
            found.contributions.push(Contribution::new(Evidence::Declared, origin.location.clone(), value));
        }
        targets
    }

    fn annotate(&self, value: &mut Value, path: &str, origin_path: &str) {
        let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) else { return };
        let annotations = meta.entry("annotations").or_insert_with(|| Value::Object(Default::default()));
        if !annotations.is_object() {
            *annotations = Value::Object(Default::default());
        }
        let Some(a) = annotations.as_object_mut() else { return };
        a.insert(portico_model::ANNOTATION_LOCATION.into(), Value::String(self.base.of(path)));
        a.insert(portico_model::ANNOTATION_ORIGIN_LOCATION.into(), Value::String(self.base.of(origin_path)));
        a.entry(portico_model::ANNOTATION_SOURCE_LOCATION).or_insert_with(|| Value::String(self.base.dir(dir_of(path))));
    }

    /// Files a Location names by relative path (globs allowed), within this commit. URLs and
    /// targets that are missing are noted, not followed.
    fn location_targets(&self, value: &Value, path: &str, origin: &Origin, key: Option<&str>, found: &mut Found) -> Vec<String> {
        let mut targets: Vec<&str> = Vec::new();
        targets.extend(value.pointer("/spec/target").and_then(Value::as_str));
        if let Some(list) = value.pointer("/spec/targets").and_then(Value::as_array) {
            targets.extend(list.iter().filter_map(Value::as_str));
        }
        let mut out = Vec::new();
        for target in targets {
            let note = |found: &mut Found, m: String| found.note(origin.at("spec"), key.map(str::to_owned), m);
            if target.contains("://") {
                note(found, format!("target {target:?} is a URL; the git source follows only paths within the repository"));
                continue;
            }
            let resolved = match join(dir_of(path), target) {
                Ok(r) => r,
                Err(m) => {
                    note(found, m);
                    continue;
                }
            };
            if resolved.contains(['*', '?', '[']) {
                match glob::Pattern::new(&resolved) {
                    Ok(g) => out.extend(self.tree.paths().iter().filter(|p| g.matches_with(p, MATCH)).cloned()),
                    Err(e) => note(found, format!("target {target:?} is not a valid glob: {e}")),
                }
            } else if self.tree.paths().binary_search(&resolved).is_ok() {
                out.push(resolved);
            } else {
                note(found, format!("target {target:?} ({resolved}) is not a file in this commit"));
            }
        }
        out
    }

    /// Replaces placeholders; on failure records the error and returns false (the entity is
    /// then left out, and the scope marked incomplete so its previous version is kept).
    fn resolve_placeholders(&self, value: &mut Value, path: &str, origin: &Origin, key: Option<&str>, found: &mut Found) -> bool {
        let mut ok = true;
        for ph in placeholders::find(value) {
            let field = portico_model::pointer_to_path(&ph.pointer);
            let text = if ph.target.starts_with("http://") || ph.target.starts_with("https://") {
                url::Url::parse(&ph.target)
                    .map_err(|e| e.to_string())
                    .and_then(|u| self.rt.block_on(self.reader.read_url(&u)).map_err(|e| e.to_string()))
            } else {
                join(dir_of(path), &ph.target).and_then(|p| match self.tree.read(&p) {
                    Ok(Some(t)) => Ok(t),
                    Ok(None) => Err(format!("{p} is binary or over maxFileBytes")),
                    Err(m) => Err(m),
                })
            };
            match text.and_then(|t| placeholders::convert(ph.kind, t)) {
                Ok(v) => placeholders::replace(value, &ph.pointer, v),
                Err(message) => {
                    ok = false;
                    found.fail(origin.at(&field), key.map(str::to_owned), format!("{field}: cannot resolve placeholder {:?}: {message}", ph.target));
                }
            }
        }
        ok
    }
}

/// The kind, namespace and name of a document, or an error at its position.
fn identity(value: &Value, origin: &Origin, found: &mut Found) -> Option<(String, String, String)> {
    if !value.is_object() {
        found.fail(origin.at(""), None, format!("document {} is not a mapping", origin.document + 1));
        return None;
    }
    let Some(kind) = value.get("kind").and_then(Value::as_str).filter(|k| !k.is_empty()) else {
        found.fail(origin.at("kind"), None, "kind: missing; every document needs a `kind` and `metadata.name`".into());
        return None;
    };
    let Some(name) = value.pointer("/metadata/name").and_then(Value::as_str).filter(|n| !n.is_empty()) else {
        found.fail(origin.at("metadata.name"), None, "metadata.name: missing; every document needs a `kind` and `metadata.name`".into());
        return None;
    };
    let namespace = value.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or(portico_model::DEFAULT_NAMESPACE);
    Some((kind.to_owned(), namespace.to_owned(), name.to_owned()))
}
