//! Where a `fetch:*` step's `url` points: a path relative to the template's own file
//! (`./skeleton`), which must stay inside the template's folder, or a folder or file of a git
//! repository on a host the allow-list names (`actions.remotes.hosts`), written as GitHub and
//! GitLab show them (`https://github.com/acme/templates/tree/main/python/skeleton`,
//! `https://gitlab.example.com/acme/templates/-/tree/main/python`, `…/blob/…` for a file). A
//! remote one is cloned (the branch alone) with the git CLI, through the same clean environment
//! and transports as `publish:git`, the token the secret `GITHUB_TOKEN` or `GITLAB_TOKEN`.
//! Absolute local paths are refused: a template registered from a repository must not read the
//! server's files.

use std::path::{Path, PathBuf};

use crate::action::{ActionError, Context};
use crate::workspace::normalize;

/// A fetched source: the local path, and the clone that holds it (removed when dropped).
pub struct Source {
    pub path: PathBuf,
    _clone: Option<tempfile::TempDir>,
}

impl std::ops::Deref for Source {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

/// A repository folder a remote `url` names.
#[derive(Debug, PartialEq)]
pub(crate) struct Tree {
    /// What git clones: `https://host/owner/repo.git`.
    pub clone_url: String,
    pub reference: String,
    /// Inside the repository (may be empty).
    pub path: String,
    pub host: String,
    /// `github` or `gitlab`, for the token's secret.
    pub kind: &'static str,
}

/// Reads `https://host/owner/repo/tree/ref/path` (GitHub, also `blob`) and
/// `https://host/group/…/repo/-/tree/ref/path` (GitLab).
pub(crate) fn tree(url: &str) -> Result<Tree, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("{url:?}: remote sources are http(s) URLs of a repository's folder"));
    }
    let host = match parsed.port() {
        Some(p) => format!("{}:{p}", parsed.host_str().unwrap_or_default()),
        None => parsed.host_str().unwrap_or_default().to_owned(),
    };
    let segments: Vec<&str> = parsed.path_segments().map(|s| s.filter(|x| !x.is_empty()).collect()).unwrap_or_default();
    let shape = "a repository's folder as GitHub or GitLab shows it (…/owner/repo/tree/main/path, …/group/repo/-/tree/main/path)";
    let (repo, kind, rest) = if let Some(dash) = segments.iter().position(|s| *s == "-") {
        (&segments[..dash], "gitlab", &segments[dash + 1..])
    } else if segments.len() >= 3 && matches!(segments[2], "tree" | "blob") {
        (&segments[..2], "github", &segments[2..])
    } else {
        return Err(format!("{url:?} is not {shape}"));
    };
    if repo.len() < 2 || rest.len() < 2 || !matches!(rest[0], "tree" | "blob") {
        return Err(format!("{url:?} is not {shape}"));
    }
    for part in repo.iter().chain(&rest[1..]) {
        if *part == ".." || part.starts_with('-') {
            return Err(format!("{url:?}: {part:?} is not a path segment allowed here"));
        }
    }
    let base = format!("{}://{host}", parsed.scheme());
    Ok(Tree { clone_url: format!("{base}/{}.git", repo.join("/").trim_end_matches(".git")), reference: rest[1].to_owned(), path: rest[2..].join("/"), host, kind })
}

/// Whether `url` names another host.
pub fn is_remote(url: &str) -> bool {
    url.contains("://") || url.starts_with("url:") || url.starts_with("git:")
}

/// The local path `url` names (a file or a folder that exists), or why not. A remote source a
/// dry run cannot fetch (a host off the list, unreachable) is `None`, the reason logged: the dry
/// run goes on without those files, and a real run would fail there.
pub async fn resolve(cx: &mut Context<'_>, url: &str) -> Result<Option<Source>, ActionError> {
    if is_remote(url) {
        return match fetch_remote(cx, url.strip_prefix("url:").unwrap_or(url)).await {
            Ok(source) => Ok(Some(source)),
            Err(e) if cx.dry_run => {
                cx.log(format!("not fetched in this dry run (a real run would fail here): {e}"));
                Ok(None)
            }
            Err(e) => Err(e),
        };
    }
    let Some(dir) = cx.template_dir else {
        if let Some(base) = cx.template_url {
            // A template read from a repository's URL: its folder there.
            let relative = normalize(url).map_err(|e| ActionError::input("url", format!("{e}; it must stay inside the template's folder")))?;
            let remote = format!("{base}/{}", relative.display());
            return Box::pin(resolve(cx, remote.trim_end_matches('/'))).await;
        }
        return Err(ActionError::input("url", format!("{url:?} is relative to the template's file, but this template was not read from a file or a repository's URL")));
    };
    let relative = normalize(url.strip_prefix("file:").unwrap_or(url)).map_err(|e| ActionError::input("url", format!("{e}; it must stay inside the template's folder")))?;
    let path = dir.join(relative);
    let real = path.canonicalize().map_err(|e| ActionError::input("url", format!("{url:?} ({}): {e}", path.display())))?;
    let base = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    if !real.starts_with(&base) {
        return Err(ActionError::input("url", format!("{url:?} leads outside the template's folder (through a symbolic link)")));
    }
    Ok(Some(Source { path: real, _clone: None }))
}

async fn fetch_remote(cx: &mut Context<'_>, url: &str) -> Result<Source, ActionError> {
    let tree = tree(url).map_err(|e| ActionError::input("url", e))?;
    cx.remotes.check(&tree.clone_url).map_err(|e| ActionError::input("url", e))?;
    let clone = tempfile::tempdir().map_err(|e| ActionError::new(format!("a folder for the clone: {e}")))?;
    let secret = if tree.kind == "github" { "GITHUB_TOKEN" } else { "GITLAB_TOKEN" };
    let auth = cx.secrets.get(secret).map(|t| crate::builtin::publish::host::git_auth(tree.kind, t));
    let to = clone.path().join("repo");
    let to_text = to.display().to_string();
    cx.log(format!("cloning {} ({})", tree.clone_url, tree.reference));
    crate::builtin::publish::git::clone(clone.path(), &tree.clone_url, &tree.reference, &to_text, auth).await.map_err(|e| ActionError::input("url", e.message))?;
    let inside = normalize(&tree.path).map_err(|e| ActionError::input("url", e))?;
    let path = to.join(inside);
    let real = path.canonicalize().map_err(|_| ActionError::input("url", format!("{url:?}: the repository has no {} on {}", if tree.path.is_empty() { "root" } else { &tree.path }, tree.reference)))?;
    if !real.starts_with(to.canonicalize().unwrap_or(to.clone())) {
        return Err(ActionError::input("url", format!("{url:?} leads outside the repository (through a symbolic link)")));
    }
    let _ = std::fs::remove_dir_all(to.join(".git"));
    Ok(Source { path: real, _clone: Some(clone) })
}

/// Copies one file to `to`, creating its folders.
pub fn copy(from: &Path, to: &Path, bytes: Option<&[u8]>) -> Result<(), ActionError> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| ActionError::new(format!("creating {}: {e}", parent.display())))?;
    }
    match bytes {
        Some(b) => std::fs::write(to, b),
        None => std::fs::copy(from, to).map(drop),
    }
    .map_err(|e| ActionError::new(format!("writing {}: {e}", to.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_and_gitlab_folder_urls() {
        let t = tree("https://github.com/backstage/community/tree/main/backstage-community-sessions").unwrap();
        assert_eq!((t.clone_url.as_str(), t.reference.as_str(), t.path.as_str(), t.kind), ("https://github.com/backstage/community.git", "main", "backstage-community-sessions", "github"));
        let t = tree("https://gitlab.example.com/acme/platform/templates/-/tree/v2/python/skeleton").unwrap();
        assert_eq!((t.clone_url.as_str(), t.reference.as_str(), t.path.as_str(), t.kind), ("https://gitlab.example.com/acme/platform/templates.git", "v2", "python/skeleton", "gitlab"));
        assert_eq!(tree("https://github.com/acme/t/blob/main/README.md").unwrap().path, "README.md");
        for bad in ["https://github.com/acme", "https://github.com/acme/t/commits/main", "ftp://x/a/b/tree/m", "https://github.com/acme/t/tree/main/../../x"] {
            assert!(tree(bad).is_err(), "{bad}");
        }
    }
}
