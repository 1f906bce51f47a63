//! A run's working directory. Every path an action writes or deletes goes through
//! [`Workspace::resolve`], which refuses absolute paths, `..` that leaves the workspace and
//! symbolic links on the way: no input, skeleton or file name can reach outside it.

use std::path::{Component, Path, PathBuf};

use serde::Serialize;

/// One file of a workspace, for a dry run's report.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FileEntry {
    /// Relative, `/`-separated.
    pub path: String,
    pub size: u64,
    /// The first [`PREVIEW`] bytes when the file is text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// How much of each text file a dry run's report shows.
pub const PREVIEW: usize = 64 * 1024;

pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// A workspace at `root` (created when missing).
    pub fn new(root: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(root)?;
        Ok(Self { root: root.canonicalize()? })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The absolute path of `relative` inside the workspace. Refused: an absolute path, a
    /// path that `..` takes out of the workspace, a symbolic link on the way.
    pub fn resolve(&self, relative: &str) -> Result<PathBuf, String> {
        let normal = normalize(relative)?;
        let mut at = self.root.clone();
        for part in normal.components() {
            at.push(part);
            if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(format!("{relative:?}: {} is a symbolic link; actions do not follow links", at.strip_prefix(&self.root).unwrap_or(&at).display()));
            }
        }
        Ok(at)
    }

    /// Every file, sorted by path, with a preview of the text ones.
    pub fn files(&self) -> std::io::Result<Vec<FileEntry>> {
        let mut out = Vec::new();
        for (rel, path) in walk(&self.root)? {
            let meta = std::fs::metadata(&path)?;
            let text = if meta.len() as usize <= PREVIEW { std::fs::read(&path).ok().and_then(|b| String::from_utf8(b).ok()) } else { None };
            out.push(FileEntry { path: rel, size: meta.len(), text });
        }
        Ok(out)
    }
}

/// `relative` with `.` removed and `..` applied, or why it cannot stay inside.
pub fn normalize(relative: &str) -> Result<PathBuf, String> {
    let path = Path::new(relative);
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return Err(format!("{relative:?} leaves the workspace (`..` above its root)"));
                }
            }
            Component::RootDir | Component::Prefix(_) => return Err(format!("{relative:?} is absolute; paths are relative to the workspace")),
        }
    }
    Ok(out)
}

/// Every regular file below `dir`, as (relative `/`-separated path, absolute path), sorted.
/// A symbolic link is an error naming it: a skeleton or workspace must not point elsewhere.
pub fn walk(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let ty = entry.file_type()?;
            let path = entry.path();
            if ty.is_symlink() {
                let rel = path.strip_prefix(dir).unwrap_or(&path).display().to_string();
                return Err(std::io::Error::other(format!("{rel} is a symbolic link; skeletons and workspaces may hold only files and folders")));
            } else if ty.is_dir() {
                stack.push(path);
            } else if ty.is_file() {
                let rel = path.strip_prefix(dir).unwrap_or(&path).components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                out.push((rel, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::new(dir.path()).unwrap();
        assert_eq!(ws.resolve("a/./b/../c.txt").unwrap(), ws.root().join("a/c.txt"));
        assert!(ws.resolve("../x").unwrap_err().contains("leaves the workspace"));
        assert!(ws.resolve("a/../../x").unwrap_err().contains("leaves the workspace"));
        assert!(ws.resolve("/etc/passwd").unwrap_err().contains("is absolute"));
        assert_eq!(ws.resolve("").unwrap(), ws.root());
    }

    #[test]
    fn symbolic_links_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let ws = Workspace::new(dir.path()).unwrap();
        std::os::unix::fs::symlink(outside.path(), ws.root().join("link")).unwrap();
        let e = ws.resolve("link/x.txt").unwrap_err();
        assert!(e.contains("symbolic link"), "{e}");
        let e = walk(ws.root()).unwrap_err().to_string();
        assert!(e.contains("link is a symbolic link"), "{e}");
    }
}
