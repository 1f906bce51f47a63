//! Where a `fetch:*` step's `url` points: a path relative to the template's own file
//! (`./skeleton`), which must stay inside the template's folder. Absolute paths and remote URLs
//! are refused with a clear error: a template registered from a repository must not read the
//! server's files, and fetching from other hosts waits for an allow-list of hosts.

use std::path::{Path, PathBuf};

use crate::action::{ActionError, Context};
use crate::workspace::normalize;

/// Whether `url` names another host (never fetched: a dry run says so and goes on).
pub fn is_remote(url: &str) -> bool {
    url.contains("://") || url.starts_with("url:") || url.starts_with("git:")
}

/// The local path `url` names (a file or a folder that exists), or why not; `None` in a dry
/// run for a remote `url` (logged: the dry run goes on without those files).
pub fn resolve(cx: &mut Context<'_>, url: &str) -> Result<Option<PathBuf>, ActionError> {
    if is_remote(url) && cx.dry_run {
        cx.log(format!("not fetched in a dry run: {url} is on another host"));
        return Ok(None);
    }
    if is_remote(url) {
        return Err(ActionError::input("url", format!("{url:?}: only paths beside the template (such as ./skeleton) can be fetched; remote skeletons are not supported yet")));
    }
    let Some(dir) = cx.template_dir else {
        return Err(ActionError::input("url", format!("{url:?} is relative to the template's file, but this template was not read from a file")));
    };
    let relative = normalize(url.strip_prefix("file:").unwrap_or(url)).map_err(|e| ActionError::input("url", format!("{e}; it must stay inside the template's folder")))?;
    let path = dir.join(relative);
    let real = path.canonicalize().map_err(|e| ActionError::input("url", format!("{url:?} ({}): {e}", path.display())))?;
    let base = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    if !real.starts_with(&base) {
        return Err(ActionError::input("url", format!("{url:?} leads outside the template's folder (through a symbolic link)")));
    }
    Ok(Some(real))
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
