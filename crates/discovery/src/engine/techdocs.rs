//! Docs of entities read from registered files: an entity whose descriptor was read from a
//! local file and that names its docs with `backstage.io/techdocs-ref: dir:<folder>` (as
//! Backstage's TechDocs does) shows that folder's README and `docs/**/*.md` on its Docs tab.
//! Reads go through the [`Reader`]'s root checks (the descriptor's own folder, and
//! `reading.allowedRoots`); symlinks are not followed.

use std::path::{Path, PathBuf};

use portico_model::Entity;

use super::Doc;
use portico_catalog::reader::Reader;

pub const ANNOTATION_TECHDOCS_REF: &str = "backstage.io/techdocs-ref";
/// Documents read per entity, and the size of each.
const MAX_DOCS: usize = 50;
const MAX_BYTES: u64 = 256 * 1024;
const MAX_DEPTH: usize = 6;

/// The Markdown documents the entity's `techdocs-ref` names, when it names a local folder.
pub fn local_docs(entity: &Entity, reader: &Reader) -> Vec<Doc> {
    let Some(folder) = entity.annotation(ANNOTATION_TECHDOCS_REF).and_then(|r| r.strip_prefix("dir:")) else { return Vec::new() };
    let Some(descriptor) = entity.annotation(portico_model::ANNOTATION_LOCATION).and_then(|l| l.strip_prefix("file:")) else {
        return Vec::new();
    };
    let Some(home) = Path::new(descriptor).parent() else { return Vec::new() };
    let Ok(base) = reader.check_path(&home.join(folder), &[home.to_path_buf()]) else { return Vec::new() };
    let mut files: Vec<PathBuf> = ["README.md", "readme.md", "index.md"].iter().map(|f| base.join(f)).filter(|p| is_file(p)).take(1).collect();
    walk(&base.join("docs"), 0, &mut files);
    files
        .into_iter()
        .take(MAX_DOCS)
        .filter_map(|path| {
            let (_, markdown) = reader.read_file(&path, &[home.to_path_buf()]).ok()?;
            let path = path.strip_prefix(&base).unwrap_or(&path).display().to_string();
            Some(Doc { path, markdown })
        })
        .collect()
}

fn is_file(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file() && m.len() <= MAX_BYTES)
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > MAX_DEPTH || out.len() >= MAX_DOCS {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Ok(kind) = e.file_type() else { continue };
        let path = e.path();
        if kind.is_dir() {
            walk(&path, depth + 1, out);
        } else if kind.is_file() && path.extension().is_some_and(|x| x.eq_ignore_ascii_case("md")) && is_file(&path) {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use portico_catalog::reader::ReaderConfig;

    fn entity(location: &str, docs: &str) -> Entity {
        serde_json::from_value(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
            "metadata": {"name": "a", "annotations": {"backstage.io/managed-by-location": location, ANNOTATION_TECHDOCS_REF: docs}},
            "spec": {"type": "service", "lifecycle": "x", "owner": "y"}}))
        .unwrap()
    }

    #[test]
    fn the_named_folder_is_read_within_the_roots_and_links_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("svc");
        std::fs::create_dir_all(root.join("docs/guides")).unwrap();
        std::fs::write(root.join("catalog-info.yaml"), "").unwrap();
        std::fs::write(root.join("README.md"), "# Svc").unwrap();
        std::fs::write(root.join("docs/guides/run.md"), "# Run").unwrap();
        std::fs::write(root.join("docs/notes.txt"), "not markdown").unwrap();
        std::fs::write(dir.path().join("secret.md"), "# Secret").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.md"), root.join("docs/leak.md")).unwrap();
        let reader = Reader::new(ReaderConfig::default());
        let location = format!("file:{}", root.join("catalog-info.yaml").display());
        let docs = local_docs(&entity(&location, "dir:."), &reader);
        let paths: Vec<&str> = docs.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["README.md", "docs/guides/run.md"]);
        assert!(local_docs(&entity(&location, "dir:.."), &reader).is_empty(), "outside the descriptor's folder");
        assert!(local_docs(&entity("url:https://example.com/x.yaml", "dir:."), &reader).is_empty());
    }
}
