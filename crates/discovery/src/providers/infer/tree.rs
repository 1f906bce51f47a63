//! The file tree as inference sees it: paths of ignored folders (dependencies, build output,
//! test fixtures) dropped, files grouped by folder, and path helpers. Everything here works
//! on paths only; nothing is read.

use std::collections::{BTreeMap, BTreeSet};

use super::Files;

/// Folders whose content is never the repository's own code: dependencies, build output,
/// caches and test fixtures.
const IGNORED_DIRS: &[&str] = &[
    "node_modules",
    "bower_components",
    "vendor",
    "third_party",
    "third-party",
    "target",
    "dist",
    "build",
    "out",
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
    ".gradle",
    ".next",
    ".nuxt",
    ".terraform",
    "testdata",
    "fixtures",
    "__fixtures__",
    "test-fixtures",
    "test_fixtures",
];

/// Folders holding tests: manifests there are test projects, not components.
const TEST_DIRS: &[&str] = &["test", "tests", "__tests__", "spec", "e2e", "integration-tests"];

pub(crate) fn is_ignored(path: &str) -> bool {
    let mut segs = path.split('/');
    segs.next_back();
    segs.any(|s| IGNORED_DIRS.contains(&s))
}

pub(crate) fn in_test_dir(dir: &str) -> bool {
    dir.split('/').any(|s| TEST_DIRS.contains(&s.to_ascii_lowercase().as_str()))
        || [".github", ".gitlab", ".circleci", ".devcontainer"].iter().any(|ci| dir == *ci || dir.starts_with(&format!("{ci}/")))
}

/// Folder of a path (`""` for files at the root).
pub(crate) fn dir_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// Last segment of a path.
pub(crate) fn file_name(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

/// `dir/name`, or `name` at the root.
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_owned() } else { format!("{dir}/{name}") }
}

/// True when `path` is `dir` or lies below it.
pub(crate) fn is_within(path: &str, dir: &str) -> bool {
    dir.is_empty() || path == dir || (path.starts_with(dir) && path.as_bytes().get(dir.len()) == Some(&b'/'))
}

/// `base` joined with a relative path (`./x`, `../y`), normalized; `None` when it leaves the root.
pub(crate) fn resolve(base: &str, rel: &str) -> Option<String> {
    let mut out: Vec<&str> = if rel.starts_with('/') { Vec::new() } else { base.split('/').filter(|s| !s.is_empty()).collect() };
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            s => out.push(s),
        }
    }
    Some(out.join("/"))
}

/// Ancestors of a folder, nearest first, ending with the root `""`.
pub(crate) fn ancestors(dir: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(dir);
    std::iter::from_fn(move || {
        let cur = next?;
        next = if cur.is_empty() { None } else { Some(dir_of(cur)) };
        Some(cur)
    })
}

/// The repository's files, ignored folders left out, indexed by folder.
pub(crate) struct Tree<'a> {
    pub files: &'a dyn Files,
    /// Kept paths, sorted.
    pub paths: Vec<&'a str>,
    /// Folder → names of the files directly in it.
    pub by_dir: BTreeMap<&'a str, Vec<&'a str>>,
    /// Every folder that holds a kept file at any depth.
    pub dirs: BTreeSet<&'a str>,
}

impl<'a> Tree<'a> {
    /// The tree of `files` without ignored folders and without paths matching `exclude`.
    pub fn new(files: &'a dyn Files, exclude: &[glob::Pattern]) -> Self {
        let paths: Vec<&str> = files
            .paths()
            .iter()
            .map(String::as_str)
            .filter(|p| !is_ignored(p) && !exclude.iter().any(|g| g.matches_with(p, crate::providers::PATH_MATCH)))
            .collect();
        let mut by_dir: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut dirs = BTreeSet::new();
        for p in &paths {
            by_dir.entry(dir_of(p)).or_default().push(file_name(p));
            for a in ancestors(dir_of(p)) {
                if !dirs.insert(a) {
                    break;
                }
            }
        }
        Self { files, paths, by_dir, dirs }
    }

    /// Names of the files directly in `dir`.
    pub fn names(&self, dir: &str) -> &[&'a str] {
        self.by_dir.get(dir).map_or(&[], Vec::as_slice)
    }

    pub fn has_file(&self, dir: &str, name: &str) -> bool {
        self.names(dir).contains(&name)
    }

    /// The first file of `dir` whose name matches, case-insensitively, one of `names`.
    pub fn find_ci(&self, dir: &str, names: &[&str]) -> Option<String> {
        self.names(dir).iter().find(|n| names.iter().any(|w| n.eq_ignore_ascii_case(w))).map(|n| join(dir, n))
    }

    pub fn has_dir(&self, dir: &str) -> bool {
        self.dirs.contains(dir)
    }

    /// Paths at or below `dir`.
    pub fn under<'s>(&'s self, dir: &'s str) -> impl Iterator<Item = &'a str> + 's {
        let start = self.paths.partition_point(|p| *p < dir);
        self.paths[start..].iter().copied().take_while(move |p| dir.is_empty() || p.starts_with(dir)).filter(move |p| is_within(p, dir))
    }

    /// A file's text; `Ok(None)` for binary or oversized files.
    pub fn read(&self, path: &str) -> Result<Option<String>, String> {
        self.files.read(path)
    }
}
