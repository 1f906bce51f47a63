//! Which repository, and getting at its object database: local paths are opened in place;
//! URLs are cloned bare into the cache directory once and fetched on later runs. Remote hosts
//! must be on the reader's allow-list, and redirects are not followed (they could lead off it).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use gix::ObjectId;
use sha2::Digest;

use crate::engine::ScanContext;
use portico_catalog::reader::{ReadError, Reader};

/// Configuration every opened repository gets: never follow redirects to other hosts.
const OVERRIDES: &[&str] = &["http.followRedirects=false"];
/// What a clone mirrors: every branch, as a bare clone does.
const BRANCHES: &str = "+refs/heads/*:refs/heads/*";

/// One configured repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepoSpec {
    /// Its scope: the URL (without password, no trailing `/`) or the absolute path.
    pub scope: String,
    /// Short name (`shop` for `…/acme/shop.git`), or the configured `name`.
    pub name: String,
    /// As written in the settings.
    pub raw: String,
    pub branch: Option<String>,
    /// Namespace of the entities inferred from it (`None`: `default`).
    pub namespace: Option<String>,
    pub target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Local(PathBuf),
    Remote(Remote),
}

/// A repository reached through a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Remote {
    /// The URL as given (credentials included), for cloning.
    pub url: url::Url,
}

impl Remote {
    /// Folder name of the clone: readable, and unique per URL.
    pub fn cache_name(&self) -> String {
        let mut shown = self.url.clone();
        let _ = shown.set_password(None);
        let _ = shown.set_username("");
        let hash = hex(&sha2::Sha256::digest(shown.as_str().as_bytes())[..6]);
        let readable = format!("{}{}", shown.host_str().unwrap_or("local"), shown.path());
        let readable = portico_model::naming::sanitize_object_name(&readable).unwrap_or_else(|| "repo".into());
        let readable: String = readable.chars().take(48).collect();
        format!("{readable}-{hash}.git")
    }

    fn is_file(&self) -> bool {
        self.url.scheme() == "file"
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl RepoSpec {
    /// Parses a repository entry: `target` is a URL (`file://`, `git://`, `http://`,
    /// `https://`) unless `is_path`, or when it has no scheme.
    pub fn parse(target: &str, is_path: bool, branch: Option<String>, name: Option<String>) -> Result<Self, String> {
        let raw = target.trim();
        if raw.is_empty() {
            return Err("empty repository".into());
        }
        let target = if !is_path && raw.contains("://") {
            let url = url::Url::parse(raw).map_err(|e| format!("{raw:?} is not a valid URL: {e}"))?;
            match url.scheme() {
                "file" | "git" | "http" | "https" => {}
                other => {
                    return Err(format!("unsupported URL scheme `{other}` in {raw:?}; expected file://, git://, http:// or https://"))
                }
            }
            if url.scheme() != "file" && url.host_str().is_none_or(str::is_empty) {
                return Err(format!("{raw:?} names no host"));
            }
            Target::Remote(Remote { url })
        } else if !is_path && is_scp_like(raw) {
            return Err(format!("{raw:?} is an SSH address; SSH is not supported, use https:// or git://"));
        } else {
            Target::Local(std::path::absolute(raw).map_err(|e| format!("{raw:?}: {e}"))?)
        };
        let scope = match &target {
            Target::Local(p) => normalize(p).display().to_string(),
            Target::Remote(r) => {
                let mut u = r.url.clone();
                let _ = u.set_password(None);
                u.as_str().trim_end_matches('/').to_owned()
            }
        };
        let name = match name {
            Some(n) => portico_model::naming::sanitize_object_name(&n).ok_or_else(|| format!("name {n:?} has no usable characters"))?,
            None => short_name(&scope),
        };
        Ok(Self { scope, name, raw: raw.to_owned(), branch, namespace: None, target })
    }

    /// Whether `only` (from a webhook or the CLI) names this repository: its scope, its entry
    /// as written, or its name.
    pub fn matches(&self, only: &str) -> bool {
        let only = only.trim().trim_end_matches('/');
        only == self.scope || only == self.raw.trim_end_matches('/') || only == self.name
    }

    /// Whether annotations should name files (`file:`) rather than URLs.
    fn files_on_disk(&self) -> Option<PathBuf> {
        match &self.target {
            Target::Local(p) => Some(normalize(p)),
            Target::Remote(r) if r.is_file() => r.url.to_file_path().ok(),
            Target::Remote(_) => None,
        }
    }
}

/// `user@host:path`: git's scp-like SSH syntax.
fn is_scp_like(s: &str) -> bool {
    match s.split_once(':') {
        Some((before, _)) => before.contains('@') && !before.contains('/'),
        None => false,
    }
}

/// `a/./b/../c` → `a/c`, without touching the file system (the path may not exist yet).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `shop` for `https://git.example.com/acme/shop.git` or `/srv/git/shop/`.
fn short_name(scope: &str) -> String {
    let last = scope.trim_end_matches('/').rsplit(['/', ':']).next().unwrap_or_default();
    let last = last.strip_suffix(".git").unwrap_or(last);
    portico_model::naming::sanitize_object_name(last).unwrap_or_else(|| "repository".into())
}

/// How descriptor locations are written: `file:<abs path>` or `url:<repo>/<path>`.
#[derive(Debug, Clone)]
pub(crate) enum Base {
    Dir(PathBuf),
    Url(String),
}

impl Base {
    /// Location of `path` (relative to the root) in Backstage's `type:target` form.
    pub fn of(&self, path: &str) -> String {
        match self {
            Base::Dir(d) => format!("file:{}", d.join(path).display()),
            Base::Url(u) => format!("url:{u}/{path}"),
        }
    }

    /// Location of a folder (`""` is the root), with a trailing `/`.
    pub fn dir(&self, dir: &str) -> String {
        match (self, dir) {
            (Base::Dir(d), "") => format!("file:{}/", d.display()),
            (Base::Url(u), "") => format!("url:{u}/"),
            _ => format!("{}/", self.of(dir)),
        }
    }
}

/// A repository ready to read.
pub(crate) struct Opened {
    pub repo: gix::Repository,
    pub base: Base,
}

/// Opens a local repository, or clones/fetches a remote one into the cache.
pub(crate) fn open(spec: &RepoSpec, ctx: &ScanContext) -> Result<Opened, String> {
    let base = match spec.files_on_disk() {
        Some(dir) => Base::Dir(dir),
        None => Base::Url(spec.scope.clone()),
    };
    let repo = match &spec.target {
        Target::Local(path) => open_local(path, &spec.scope)?,
        Target::Remote(remote) => {
            check_allowed(&ctx.reader, remote, &spec.scope)?;
            sync(remote, &ctx.cache_dir.join(remote.cache_name()), &spec.scope)?
        }
    };
    Ok(Opened { repo, base })
}

fn options() -> gix::open::Options {
    gix::open::Options::isolated().config_overrides(OVERRIDES.iter().copied())
}

fn open_local(path: &Path, scope: &str) -> Result<gix::Repository, String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(format!("{scope}: no such directory")),
        Err(e) => return Err(format!("{scope}: cannot read: {e}")),
        Ok(m) if !m.is_dir() => return Err(format!("{scope}: not a directory")),
        Ok(_) => {}
    }
    gix::open_opts(path, options()).map_err(|e| format!("{scope}: not a readable git repository: {}", portico_model::with_causes(&e)))
}

/// The URL's host must be on the allow-list (`file://` is local and always allowed).
pub(crate) fn check_allowed(reader: &Reader, remote: &Remote, scope: &str) -> Result<(), String> {
    let url = &remote.url;
    if remote.is_file() {
        return Ok(());
    }
    // The reader only reads http(s); it judges a git:// host as it would the same host over http.
    let probe = match url.scheme() {
        "git" => {
            let host = url.host_str().unwrap_or_default();
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            url::Url::parse(&format!("http://{host}{port}/")).map_err(|e| format!("{scope}: {e}"))?
        }
        _ => url.clone(),
    };
    match reader.check_url(&probe) {
        Ok(()) => Ok(()),
        Err(ReadError::NotAllowed { host, allowed, .. }) => {
            Err(format!("reading {scope} is not allowed: host `{host}` is not in reading.allow (allowed: {allowed})"))
        }
        Err(e) => Err(format!("{scope}: {e}")),
    }
}

/// Fetches into the existing clone at `dir`, or clones when there is none (or it is broken).
fn sync(remote: &Remote, dir: &Path, scope: &str) -> Result<gix::Repository, String> {
    let interrupt = AtomicBool::new(false);
    if dir.exists() {
        match gix::open_opts(dir, options()) {
            Ok(repo) => {
                fetch(&repo, &interrupt).map_err(|e| format!("fetching {scope}: {e}"))?;
                return Ok(repo);
            }
            Err(e) => {
                tracing::warn!(repo = %scope, dir = %dir.display(), error = %portico_model::with_causes(&e), "git: the clone is unreadable; cloning again");
                std::fs::remove_dir_all(dir).map_err(|e| format!("{scope}: cannot remove the broken clone {}: {e}", dir.display()))?;
            }
        }
    }
    clone(remote, dir, &interrupt).map_err(|e| format!("cloning {scope}: {e}"))
}

fn fetch(repo: &gix::Repository, interrupt: &AtomicBool) -> Result<(), String> {
    let mut remote = repo.find_remote("origin").map_err(|e| portico_model::with_causes(&e))?;
    // gix does not write a bare clone's refspec to its configuration: name it every time.
    remote.replace_refspecs([BRANCHES], gix::remote::Direction::Fetch).map_err(|e| portico_model::with_causes(&e))?;
    let connection = remote.connect(gix::remote::Direction::Fetch).map_err(|e| portico_model::with_causes(&e))?;
    let prepared = connection.prepare_fetch(gix::progress::Discard, Default::default()).map_err(|e| portico_model::with_causes(&e))?;
    prepared.receive(gix::progress::Discard, interrupt).map_err(|e| portico_model::with_causes(&e))?;
    Ok(())
}

/// Clones bare into a temporary folder beside `dir`, then moves it in place, so a failed
/// clone never leaves a half-written repository behind.
fn clone(remote: &Remote, dir: &Path, interrupt: &AtomicBool) -> Result<gix::Repository, String> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let tmp = dir.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = (|| {
        let mut prepare = gix::prepare_clone_bare(remote.url.as_str(), &tmp)
            .map_err(|e| portico_model::with_causes(&e))?
            .with_in_memory_config_overrides(OVERRIDES.iter().copied());
        prepare.fetch_only(gix::progress::Discard, interrupt).map_err(|e| portico_model::with_causes(&e))?;
        Ok::<(), String>(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, dir).map_err(|e| format!("cannot move the clone to {}: {e}", dir.display()))?;
    gix::open_opts(dir, options()).map_err(|e| portico_model::with_causes(&e))
}

/// The commit to read: the configured branch's tip, or HEAD's; and the branch's short name.
pub(crate) fn resolve(repo: &gix::Repository, spec: &RepoSpec) -> Result<(ObjectId, Option<String>), String> {
    match &spec.branch {
        Some(branch) => {
            let name = format!("refs/heads/{branch}");
            let mut reference = match repo.try_find_reference(name.as_str()).map_err(|e| portico_model::with_causes(&e))? {
                Some(r) => r,
                None => return Err(format!("branch `{branch}` not found (branches: {})", branches(repo).join(", "))),
            };
            let id = reference.peel_to_commit().map_err(|e| format!("branch `{branch}`: {}", portico_model::with_causes(&e)))?.id;
            Ok((id, Some(branch.clone())))
        }
        None => {
            let branch = repo.head_name().ok().flatten().map(|n| n.shorten().to_string());
            let mut head = repo.head().map_err(|e| portico_model::with_causes(&e))?;
            match head.try_peel_to_id().map_err(|e| portico_model::with_causes(&e))? {
                Some(id) => Ok((id.detach(), branch)),
                None => Err(format!("has no commits yet (HEAD is {})", branch.as_deref().unwrap_or("unborn"))),
            }
        }
    }
}

fn branches(repo: &gix::Repository) -> Vec<String> {
    let Ok(refs) = repo.references() else { return Vec::new() };
    let Ok(local) = refs.local_branches() else { return Vec::new() };
    local.filter_map(Result::ok).map(|r| r.name().shorten().to_string()).collect()
}

