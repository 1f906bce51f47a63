//! Reading a location: files, directories, globs and URLs, `Location` entities followed level
//! by level (with cycle detection), placeholders resolved relative to their file, each read
//! through the [`Reader`]'s guards. Needs no catalog, so `portico catalog validate` reads
//! exactly as import does.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::{LocationService, LocationSpec, Progress, ReadOutcome, Sink};
use crate::mutation::{Origin, RawEntity, SourceError, raw_key};
use crate::placeholders;
use crate::reader::Reader;

#[derive(Debug, Clone)]
enum Target {
    File(PathBuf),
    Url(url::Url),
}

impl Target {
    fn describe(&self) -> String {
        match self {
            Target::File(p) => format!("file:{}", p.display()),
            Target::Url(u) => format!("url:{u}"),
        }
    }
}

struct Pending {
    target: Target,
    parent: Option<String>,
    chain: Vec<String>,
}

/// Directories never searched for descriptors.
const SKIP_DIRS: &[&str] = &[".git", "node_modules", "target", "vendor", ".venv", "dist", "build"];
/// Files parsed (in parallel) before their documents are handed on.
const FILES_PER_BATCH: usize = 16;
/// Bytes of files parsed together: their documents are held until the batch is handed on, so a
/// batch of large files is smaller (a file larger than this is a batch of its own).
const BYTES_PER_BATCH: u64 = 16 << 20;

/// Files in batches of at most [`FILES_PER_BATCH`] files and [`BYTES_PER_BATCH`] bytes.
fn batches(files: Vec<FileTarget>) -> Vec<Vec<FileTarget>> {
    let mut out: Vec<Vec<FileTarget>> = Vec::new();
    let mut bytes = 0u64;
    for f in files {
        let size = std::fs::metadata(&f.0).map_or(0, |m| m.len());
        match out.last_mut() {
            Some(batch) if batch.len() < FILES_PER_BATCH && bytes + size <= BYTES_PER_BATCH => {
                bytes += size;
                batch.push(f);
            }
            _ => {
                bytes = size;
                out.push(vec![f]);
            }
        }
    }
    out
}

type FileTarget = (PathBuf, Option<String>, Vec<String>);

/// A unit of reading: a batch of files, or one URL.
enum Work {
    Files(Vec<FileTarget>),
    Url((url::Url, Option<String>, Vec<String>)),
}

/// How deep Location entities may nest.
const MAX_DEPTH: usize = 32;

/// Reads a location and everything it leads to, without a catalog (`portico catalog validate`
/// reads as import does).
pub async fn read(reader: &Reader, spec: &LocationSpec, progress: Progress<'_>) -> ReadOutcome {
    collect(reader, spec, progress, false).await
}

/// Reads a location as [`read_into`] does for a registered one, into `entities` (a dry run of a
/// registration answers what Backstage's does: the generated Location first).
pub(super) async fn read_registered(reader: &Reader, spec: &LocationSpec, progress: Progress<'_>) -> ReadOutcome {
    collect(reader, spec, progress, true).await
}

async fn collect(reader: &Reader, spec: &LocationSpec, progress: Progress<'_>, registered: bool) -> ReadOutcome {
    let mut entities = Vec::new();
    let mut out = read_inner(reader, spec, progress, &mut |chunk| entities.extend(chunk), registered).await;
    out.entities = entities;
    out
}

/// Reads a registered location, handing documents to `sink` a file at a time (`entities` stays
/// empty). As in Backstage, the first document is the location's own generated `Location`
/// entity ([`generated_location`]), the parent of what the location provides.
pub(super) async fn read_into(reader: &Reader, spec: &LocationSpec, progress: Progress<'_>, sink: Sink<'_>) -> ReadOutcome {
    let started = std::time::Instant::now();
    let out = read_inner(reader, spec, progress, sink, true).await;
    tracing::debug!(target = %spec.target, files = out.files, entities = out.count, errors = out.errors.len(),
        read_ms = started.elapsed().as_millis(), rss_mib = crate::rss_mib(), "location read");
    out
}

async fn read_inner(reader: &Reader, spec: &LocationSpec, progress: Progress<'_>, sink: Sink<'_>, registered: bool) -> ReadOutcome {
    let mut out = ReadOutcome { complete: true, ..Default::default() };
    let spec = match LocationService::normalize(spec) {
        Ok(s) => s,
        Err(message) => {
            out.errors.push(SourceError { location: spec.target.clone(), key: None, message });
            out.complete = false;
            return out;
        }
    };
    let origin_location = format!("{}:{}", spec.kind, spec.target);
    let (root_target, roots) = match spec.kind.as_str() {
        "file" => {
            let p = PathBuf::from(&spec.target);
            let root = if p.is_dir() { p.clone() } else { p.parent().map(Path::to_path_buf).unwrap_or_default() };
            (Target::File(p), vec![root])
        }
        _ => (Target::Url(url::Url::parse(&spec.target).expect("normalized")), Vec::new()),
    };
    let mut root_parent = None;
    if registered {
        let generated = generated_location(&spec);
        root_parent = raw_key(&generated.value);
        sink(vec![generated]);
    }
    let mut visited: HashSet<String> = HashSet::new();
    let mut level = vec![Pending { target: root_target, parent: root_parent, chain: Vec::new() }];
    let mut depth = 0;
    while !level.is_empty() {
        depth += 1;
        let mut next = Vec::new();
        // Expand directories and globs into files.
        let mut files: Vec<FileTarget> = Vec::new();
        let mut urls: Vec<(url::Url, Option<String>, Vec<String>)> = Vec::new();
        for p in level {
            let described = p.target.describe();
            if p.chain.contains(&described) {
                let mut chain = p.chain.clone();
                chain.push(described.clone());
                out.errors.push(SourceError {
                    location: p.chain.last().cloned().unwrap_or_default(),
                    key: p.parent.clone(),
                    message: format!("location cycle: {}", chain.join(" → ")),
                });
                continue;
            }
            if depth > MAX_DEPTH {
                out.errors.push(SourceError { location: described, key: p.parent.clone(), message: format!("locations nest deeper than {MAX_DEPTH} levels") });
                continue;
            }
            if !visited.insert(described.clone()) {
                continue;
            }
            let mut chain = p.chain;
            chain.push(described);
            match p.target {
                Target::Url(u) => urls.push((u, p.parent, chain)),
                Target::File(path) => match expand(&path) {
                    Ok(found) if found.is_empty() => {
                        out.errors.push(SourceError { location: path.display().to_string(), key: p.parent.clone(), message: "no catalog files found".into() });
                        out.complete = false;
                    }
                    Ok(found) => files.extend(found.into_iter().map(|f| (f, p.parent.clone(), chain.clone()))),
                    Err(message) => {
                        out.errors.push(SourceError { location: path.display().to_string(), key: p.parent.clone(), message });
                        out.complete = false;
                    }
                },
            }
        }
        // Files are parsed a batch at a time and handed on before the next batch is parsed, so
        // raw documents never pile up beyond one batch.
        let mut work: Vec<Work> = batches(std::mem::take(&mut files)).into_iter().map(Work::Files).collect();
        work.extend(urls.into_iter().map(Work::Url));
        for item in work {
            let mut docs: Vec<ReadFile> = Vec::new();
            match item {
                Work::Files(batch) => {
                    let reader = reader.clone();
                    let roots2 = roots.clone();
                    let paths: Vec<PathBuf> = batch.iter().map(|f| f.0.clone()).collect();
                    let parsed = tokio::task::spawn_blocking(move || parse_files(&reader, &paths, &roots2)).await.unwrap_or_default();
                    for ((path, parent, chain), result) in batch.into_iter().zip(parsed) {
                        match result {
                            Ok((canonical, text, values)) => {
                                let text: Arc<str> = Arc::from(text);
                                let location = canonical.display().to_string();
                                docs.push(ReadFile { origin: Origin { location, text: Some(text), document: 0 }, base: Base::File(canonical), values, parent, chain });
                            }
                            Err(e) => {
                                out.errors.push(SourceError { location: e.0.unwrap_or_else(|| path.display().to_string()), key: parent, message: e.1 });
                                out.complete = false;
                            }
                        }
                    }
                }
                Work::Url((url, parent, chain)) => match reader.read_url(&url).await {
                    Ok(text) if text.trim().is_empty() => {
                        out.errors.push(SourceError { location: url.to_string(), key: parent, message: "the document is empty; the entities it described are kept".into() });
                        out.complete = false;
                    }
                    Ok(text) => match portico_model::yaml::parse_documents(&text) {
                        Ok(values) => docs.push(ReadFile { origin: Origin { location: url.to_string(), text: Some(Arc::from(text)), document: 0 }, base: Base::Url(url), values, parent, chain }),
                        Err(e) => {
                            out.errors.push(SourceError { location: format!("{url}:{}:{}", e.line, e.column), key: parent, message: e.message });
                            out.complete = false;
                        }
                    },
                    Err(e) => {
                        out.errors.push(SourceError { location: url.to_string(), key: parent, message: e.to_string() });
                        out.complete = false;
                    }
                },
            }
            for ReadFile { origin, base, values, parent, chain } in docs {
                out.files += 1;
                let managed_by = match &base {
                    Base::File(p) => format!("file:{}", p.display()),
                    Base::Url(u) => format!("url:{u}"),
                };
                let mut chunk = Vec::with_capacity(values.len());
                for (i, mut value) in values.into_iter().enumerate() {
                    let origin = Origin { document: i, ..origin.clone() };
                    let key = raw_key(&value);
                    let degraded = !resolve_placeholders(reader, &mut value, &base, &roots, &origin, key.as_deref(), &mut out.errors).await;
                    annotate(&mut value, &managed_by, &origin_location);
                    if value.get("kind").and_then(Value::as_str) == Some("Location") {
                        for t in location_targets(&value) {
                            match resolve_target(&base, value.pointer("/spec/type").and_then(Value::as_str), &t) {
                                Ok(target) => next.push(Pending { target, parent: key.clone(), chain: chain.clone() }),
                                Err(message) => out.errors.push(SourceError { location: origin.at("spec"), key: key.clone(), message }),
                            }
                        }
                    }
                    chunk.push(RawEntity { value, origin, parent: parent.clone(), degraded });
                }
                out.count += chunk.len();
                sink(chunk);
                progress(out.files, out.count);
            }
        }
        level = next;
    }
    out
}

/// The `Location` entity Backstage generates for a registered location: named
/// `generated-<sha1 of "type:target">` in the default namespace, managed by the location itself.
/// Everything the location provides has it as its parent, so ancestry and the entity page lead
/// from an entity to the location it was registered with.
pub fn generated_location(spec: &LocationSpec) -> RawEntity {
    use sha1::Digest;
    let reference = format!("{}:{}", spec.kind, spec.target);
    let digest = sha1::Sha1::digest(reference.as_bytes());
    let name = portico_model::hash::hex(&digest);
    let value = serde_json::json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": {
            "name": format!("generated-{name}"),
            "namespace": "default",
            "annotations": {
                portico_model::ANNOTATION_LOCATION: reference,
                portico_model::ANNOTATION_ORIGIN_LOCATION: reference,
            },
        },
        "spec": {"type": spec.kind, "target": spec.target},
    });
    RawEntity { value, origin: Origin { location: reference, text: None, document: 0 }, parent: None, degraded: false }
}

async fn resolve_placeholders(
reader: &Reader,
    value: &mut Value,
    base: &Base,
    roots: &[PathBuf],
    origin: &Origin,
    key: Option<&str>,
    errors: &mut Vec<SourceError>,
) -> bool {
    let mut resolved = true;
    for ph in placeholders::find(value) {
        let path = portico_model::pointer_to_path(&ph.pointer);
        let fetched: Result<String, String> = match resolve_target(base, None, &ph.target) {
            Ok(Target::File(p)) => reader.read_file(&p, roots).map(|(_, t)| t).map_err(|e| e.to_string()),
            Ok(Target::Url(u)) => reader.read_url(&u).await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match fetched.and_then(|text| placeholders::convert(ph.kind, text)) {
            Ok(v) => placeholders::replace(value, &ph.pointer, v),
            Err(message) => {
                resolved = false;
                // Keep the entity: the placeholder becomes its own target, and the error is recorded.
                placeholders::replace(value, &ph.pointer, Value::String(ph.target.clone()));
                errors.push(SourceError {
                    location: origin.at(&path),
                    key: key.map(str::to_owned),
                    message: format!("{path}: cannot resolve placeholder {:?}: {message}", ph.target),
                });
            }
        }
    }
    resolved
}

/// A file (or URL) read and parsed, with where it sits in the location tree.
struct ReadFile {
    origin: Origin,
    base: Base,
    values: Vec<Value>,
    parent: Option<String>,
    chain: Vec<String>,
}

#[derive(Debug, Clone)]
enum Base {
    File(PathBuf),
    Url(url::Url),
}

/// Resolves `..` and `.` without touching the file system.
pub(super) fn normalize_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn resolve_target(base: &Base, kind: Option<&str>, target: &str) -> Result<Target, String> {
    if target.starts_with("http://") || target.starts_with("https://") {
        return url::Url::parse(target).map(Target::Url).map_err(|e| format!("target {target:?} is not a URL: {e}"));
    }
    if matches!(kind, Some(k) if k != "file" && k != "url") {
        return Err(format!("unsupported location type {:?} for target {target:?}", kind.unwrap_or_default()));
    }
    match base {
        Base::File(file) => {
            let t = target.strip_prefix("file:").unwrap_or(target);
            let dir = file.parent().unwrap_or(Path::new("/"));
            Ok(Target::File(normalize_path(&dir.join(t))))
        }
        Base::Url(u) => u.join(target).map(Target::Url).map_err(|e| format!("target {target:?}: {e}")),
    }
}

fn location_targets(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(t) = v.pointer("/spec/target").and_then(Value::as_str) {
        out.push(t.to_owned());
    }
    if let Some(ts) = v.pointer("/spec/targets").and_then(Value::as_array) {
        out.extend(ts.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    out
}

fn annotate(value: &mut Value, managed_by: &str, origin: &str) {
    let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    let annotations = meta.entry("annotations").or_insert_with(|| Value::Object(Default::default()));
    if let Some(a) = annotations.as_object_mut() {
        a.insert(portico_model::ANNOTATION_LOCATION.into(), Value::String(managed_by.to_owned()));
        a.insert(portico_model::ANNOTATION_ORIGIN_LOCATION.into(), Value::String(origin.to_owned()));
    }
}

/// A file, a directory (every `catalog-info.yaml` below it) or a glob, as a list of files.
pub fn expand(path: &Path) -> Result<Vec<PathBuf>, String> {
    let s = path.display().to_string();
    if s.contains(['*', '?', '[']) {
        let mut found: Vec<PathBuf> = glob::glob(&s).map_err(|e| format!("invalid glob: {e}"))?.filter_map(Result::ok).filter(|p| p.is_file()).collect();
        found.sort();
        return Ok(found);
    }
    if path.is_dir() {
        let mut found = Vec::new();
        walk_dir(path, &mut found, 0);
        found.sort();
        return Ok(found);
    }
    Ok(vec![path.to_path_buf()])
}

fn walk_dir(dir: &Path, found: &mut Vec<PathBuf>, depth: usize) {
    if depth > 32 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let Ok(ft) = entry.file_type() else { continue };
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Symlinks are not followed while searching: they could loop or leave the tree.
        if ft.is_dir() && !SKIP_DIRS.contains(&name.as_ref()) && !name.starts_with('.') {
            walk_dir(&entry.path(), found, depth + 1);
        } else if ft.is_file() && (name == "catalog-info.yaml" || name == "catalog-info.yml") {
            found.push(entry.path());
        }
    }
}

type Parsed = Result<(PathBuf, String, Vec<Value>), (Option<String>, String)>;

/// Reads and parses files, spread over the cores.
fn parse_files(reader: &Reader, paths: &[PathBuf], roots: &[PathBuf]) -> Vec<Parsed> {
    let one = |p: &PathBuf| -> Parsed {
        let (canonical, text) = reader.read_file(p, roots).map_err(|e| (None, e.to_string()))?;
        if text.trim().is_empty() {
            // An emptied file is more often a failed write (a full disk, an editor crash) than a
            // wish to remove everything it described: treated like an unreadable one.
            return Err((
                Some(canonical.display().to_string()),
                "the file is empty; the entities it described are kept (to remove them, leave a comment such as `# no entities` in it, or delete its location)".to_owned(),
            ));
        }
        match portico_model::yaml::parse_documents(&text) {
            Ok(values) => Ok((canonical, text, values)),
            Err(e) => Err((Some(format!("{}:{}:{}", canonical.display(), e.line, e.column)), e.message)),
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    if paths.len() < 4 || threads == 1 {
        return paths.iter().map(one).collect();
    }
    let chunk = paths.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = paths.chunks(chunk).map(|part| s.spawn(move || part.iter().map(one).collect::<Vec<_>>())).collect();
        handles.into_iter().flat_map(|h| h.join().expect("parser thread panicked")).collect()
    })
}
