//! A commit's file tree as [`Files`]: every path listed up front (one tree walk), blobs read
//! only when asked. Symbolic links are listed nowhere and never followed (a link's blob is its
//! target's name, not a file), so links out of the repository and link loops are harmless;
//! submodules (commit entries) are skipped.

use std::collections::{HashMap, HashSet};

use gix::ObjectId;
use gix::objs::tree::EntryKind;
use parking_lot::Mutex;

use portico_model::with_causes as chain;
use crate::providers::infer::Files;

/// Bytes looked at to tell text from binary (as git does: a NUL byte means binary).
const SNIFF_BYTES: usize = 8000;

pub(crate) struct TreeFiles {
    // gix's repository handle is `Send` but not `Sync`; reads are short, so one lock will do.
    repo: Mutex<gix::Repository>,
    paths: Vec<String>,
    ids: HashMap<String, ObjectId>,
    links: HashSet<String>,
    max_file_bytes: u64,
}

impl TreeFiles {
    /// Lists the tree of `commit`.
    pub fn read(repo: gix::Repository, commit: ObjectId, max_file_bytes: u64) -> Result<Self, String> {
        let mut recorder = gix::traverse::tree::Recorder::default();
        {
            let tree = repo
                .find_commit(commit)
                .map_err(|e| format!("commit {commit}: {}", chain(&e)))?
                .tree()
                .map_err(|e| format!("tree of commit {commit}: {}", chain(&e)))?;
            tree.traverse().breadthfirst(&mut recorder).map_err(|e| format!("listing commit {commit}: {}", chain(&e)))?;
        }
        let mut ids = HashMap::with_capacity(recorder.records.len());
        let mut links = HashSet::new();
        for entry in recorder.records {
            let path = entry.filepath.to_string();
            match entry.mode.kind() {
                EntryKind::Blob | EntryKind::BlobExecutable => {
                    ids.insert(path, entry.oid);
                }
                EntryKind::Link => {
                    links.insert(path);
                }
                EntryKind::Tree | EntryKind::Commit => {}
            }
        }
        let mut paths: Vec<String> = ids.keys().cloned().collect();
        paths.sort_unstable();
        Ok(Self { repo: Mutex::new(repo), paths, ids, links, max_file_bytes })
    }

    /// Runs `f` with the repository (for history).
    pub fn with_repo<T>(&self, f: impl FnOnce(&gix::Repository) -> T) -> T {
        f(&self.repo.lock())
    }

    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_bytes
    }

    /// Size of a file in bytes, without reading it.
    pub fn size(&self, path: &str) -> Option<u64> {
        let id = self.ids.get(path)?;
        self.repo.lock().find_header(*id).ok().map(|h| h.size())
    }
}

impl Files for TreeFiles {
    fn paths(&self) -> &[String] {
        &self.paths
    }

    fn read(&self, path: &str) -> Result<Option<String>, String> {
        let Some(id) = self.ids.get(path) else {
            return Err(if self.links.contains(path) {
                format!("{path}: a symbolic link; links are not followed")
            } else {
                format!("{path}: no such file in the commit")
            });
        };
        let repo = self.repo.lock();
        let header = repo.find_header(*id).map_err(|e| format!("{path}: {}", chain(&e)))?;
        if header.size() > self.max_file_bytes {
            return Ok(None);
        }
        let blob = repo.find_blob(*id).map_err(|e| format!("{path}: {}", chain(&e)))?;
        let data = &blob.data;
        if data.iter().take(SNIFF_BYTES).any(|&b| b == 0) {
            return Ok(None);
        }
        Ok(std::str::from_utf8(data).ok().map(str::to_owned))
    }
}
