//! Reading files and URLs for sources, behind two guards: local paths must lie under an
//! allowed root, and URLs must name a host on the allow-list (Backstage's
//! `backend.reading.allow`). The allow-list is empty by default, so nothing leaves the machine
//! unless configured.

use std::path::{Path, PathBuf};
use std::time::Duration;


#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReaderConfig {
    /// Hosts URLs may be read from: `example.com`, `*.example.com`, `127.0.0.1:8080`.
    pub allow: Vec<String>,
    /// Directories local targets must lie under. A location registered by path adds its own
    /// directory; these are extra roots.
    pub allowed_roots: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("reading {url} is not allowed: host `{host}` is not in reading.allow (allowed: {allowed})")]
    NotAllowed { url: String, host: String, allowed: String },
    #[error("{path} is outside the allowed roots ({roots})")]
    OutsideRoots { path: String, roots: String },
    #[error("{0}: file not found")]
    NotFound(String),
    #[error("{path}: file is {size} bytes, over the limit of {limit} bytes (catalog.limits.maxFileBytes)")]
    TooLarge { path: String, size: u64, limit: usize },
    #[error("{0}: not valid UTF-8 text")]
    NotText(String),
    #[error("{0}: not a regular file (a directory, FIFO, socket or device); refused")]
    NotRegular(String),
    #[error("{location}: {message}")]
    Io { location: String, message: String },
}

/// Reads local files and allowed URLs.
#[derive(Clone)]
pub struct Reader {
    config: ReaderConfig,
    http: reqwest::Client,
}

impl Reader {
    pub fn new(config: ReaderConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("portico/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self { config, http }
    }

    pub fn config(&self) -> &ReaderConfig {
        &self.config
    }

    /// Checks that a URL's host is allowed.
    pub fn check_url(&self, url: &url::Url) -> Result<(), ReadError> {
        let host = url.host_str().unwrap_or_default().to_owned();
        let with_port = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let allowed = self.config.allow.iter().any(|rule| {
            let rule = rule.trim().to_ascii_lowercase();
            match rule.strip_prefix("*.") {
                Some(suffix) => host.ends_with(&format!(".{suffix}")),
                None => rule == host || rule == with_port,
            }
        });
        if allowed && matches!(url.scheme(), "http" | "https") {
            Ok(())
        } else {
            Err(ReadError::NotAllowed {
                url: url.to_string(),
                host: with_port,
                allowed: if self.config.allow.is_empty() { "none".into() } else { self.config.allow.join(", ") },
            })
        }
    }

    /// Reads a URL's body as text, after the allow-list check. The body is read as it
    /// arrives and the read stops as soon as it passes the size limit (a server that lies
    /// about, or omits, its length cannot make Portico buffer more).
    pub async fn read_url(&self, url: &url::Url) -> Result<String, ReadError> {
        self.check_url(url)?;
        let io = |m: String| ReadError::Io { location: url.to_string(), message: m };
        let resp = self.http.get(url.clone()).send().await.map_err(|e| io(e.to_string()))?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(ReadError::NotFound(url.to_string()));
        }
        if !resp.status().is_success() {
            return Err(io(format!("HTTP {}", resp.status())));
        }
        let limit = portico_model::yaml::limits().max_file_bytes;
        let bytes = read_body(resp, limit).await.map_err(|e| match e {
            BodyError::TooLarge(size) => ReadError::TooLarge { path: url.to_string(), size, limit },
            BodyError::Io(m) => io(m),
        })?;
        String::from_utf8(bytes).map_err(|_| ReadError::NotText(url.to_string()))
    }

    /// Checks that `path` (after resolving symlinks) lies under one of `roots` or the
    /// configured roots, and returns its canonical form.
    ///
    /// A path that is not under a root, even before links are followed, is refused without
    /// looking at the file system, so the answer never tells whether something exists outside
    /// the roots.
    pub fn check_path(&self, path: &Path, roots: &[PathBuf]) -> Result<PathBuf, ReadError> {
        let all: Vec<PathBuf> = roots.iter().chain(&self.config.allowed_roots).filter_map(|r| r.canonicalize().ok()).collect();
        let outside = || {
            let roots: Vec<String> = roots.iter().chain(&self.config.allowed_roots).map(|r| r.display().to_string()).collect();
            ReadError::OutsideRoots { path: path.display().to_string(), roots: roots.join(", ") }
        };
        let lexical = lexical_absolute(path);
        let under = |p: &Path| all.iter().any(|r| p.starts_with(r));
        // Roots are canonical; a path spelled through a linked parent (`/tmp` → `/private/tmp`)
        // is compared by its canonical parent, which exists or the lexical test decides.
        let spelled_under = under(&lexical) || lexical.parent().and_then(|p| p.canonicalize().ok()).is_some_and(|p| under(&p));
        if !spelled_under {
            return Err(outside());
        }
        let canonical = path.canonicalize().map_err(|e| match e.kind() {
            // Inside the roots: saying it is missing reveals nothing (a dangling link does not
            // say where it points).
            std::io::ErrorKind::NotFound if std::fs::symlink_metadata(path).is_err() => ReadError::NotFound(path.display().to_string()),
            std::io::ErrorKind::NotFound => outside(),
            _ => ReadError::Io { location: path.display().to_string(), message: e.to_string() },
        })?;
        if under(&canonical) { Ok(canonical) } else { Err(outside()) }
    }

    /// Reads a local text file within the allowed roots and the size limit.
    pub fn read_file(&self, path: &Path, roots: &[PathBuf]) -> Result<(PathBuf, String), ReadError> {
        let canonical = self.check_path(path, roots)?;
        let shown = path.display().to_string();
        let limit = portico_model::yaml::limits().max_file_bytes;
        let bytes = read_regular_file(&canonical, limit as u64).map_err(|e| match e {
            FileError::NotRegular => ReadError::NotRegular(shown.clone()),
            FileError::TooLarge(size) => ReadError::TooLarge { path: shown.clone(), size, limit },
            FileError::Io(e) => ReadError::Io { location: shown.clone(), message: e.to_string() },
        })?;
        let text = String::from_utf8(bytes).map_err(|_| ReadError::NotText(shown))?;
        Ok((canonical, text))
    }
}

/// `path` made absolute against the working directory, with `.` and `..` resolved as text.
fn lexical_absolute(path: &Path) -> PathBuf {
    use std::path::Component;
    let joined = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(path) };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Why a local file could not be read.
#[derive(Debug)]
pub enum FileError {
    /// A directory, FIFO, socket or device: reading it could block forever or never end.
    NotRegular,
    /// Larger than the limit (its size).
    TooLarge(u64),
    Io(std::io::Error),
}

/// Reads a regular file of at most `limit` bytes. It is opened without blocking (a FIFO
/// would wait for a writer) and checked to be a regular file through the open handle, so a
/// file swapped for a FIFO after a check is refused too.
pub fn read_regular_file(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).map_err(FileError::Io)?;
    let meta = file.metadata().map_err(FileError::Io)?;
    if !meta.file_type().is_file() {
        return Err(FileError::NotRegular);
    }
    if meta.len() > limit {
        return Err(FileError::TooLarge(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow while it is read: never take more than the limit.
    file.take(limit + 1).read_to_end(&mut bytes).map_err(FileError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Why an HTTP body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// More than the limit arrived (or was announced): the bytes seen.
    TooLarge(u64),
    Io(String),
}

/// Reads a response body of at most `limit` bytes, chunk by chunk, stopping as soon as it is
/// over the limit.
pub async fn read_body(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    if let Some(n) = resp.content_length().filter(|n| *n > limit as u64) {
        return Err(BodyError::TooLarge(n));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| BodyError::Io(e.to_string()))? {
        if bytes.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge((bytes.len() + chunk.len()) as u64));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_an_allowed_host() {
        let r = Reader::new(ReaderConfig::default());
        let err = r.check_url(&"https://github.com/x".parse().unwrap()).unwrap_err().to_string();
        assert!(err.contains("https://github.com/x") && err.contains("reading.allow"), "{err}");
        let r = Reader::new(ReaderConfig { allow: vec!["*.example.com".into(), "127.0.0.1:9000".into()], ..Default::default() });
        assert!(r.check_url(&"https://api.example.com/x".parse().unwrap()).is_ok());
        assert!(r.check_url(&"https://example.com.evil.io/x".parse().unwrap()).is_err());
        assert!(r.check_url(&"http://127.0.0.1:9000/x".parse().unwrap()).is_ok());
        assert!(r.check_url(&"http://127.0.0.1:9001/x".parse().unwrap()).is_err());
        assert!(r.check_url(&"file:///etc/passwd".parse().unwrap()).is_err());
    }

    #[test]
    fn paths_must_stay_under_their_roots() {
        let dir = std::env::temp_dir().join(format!("portico-reader-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("root")).unwrap();
        std::fs::write(dir.join("secret.txt"), "x").unwrap();
        std::fs::write(dir.join("root/ok.txt"), "ok").unwrap();
        let r = Reader::new(ReaderConfig::default());
        let roots = [dir.join("root")];
        assert_eq!(r.read_file(&dir.join("root/ok.txt"), &roots).unwrap().1, "ok");
        let err = r.read_file(&dir.join("root/../secret.txt"), &roots).unwrap_err();
        assert!(matches!(err, ReadError::OutsideRoots { .. }), "{err}");
        assert!(matches!(r.read_file(&dir.join("root/missing.txt"), &roots), Err(ReadError::NotFound(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn outside_the_roots_existing_and_missing_files_get_the_same_answer() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("root")).unwrap();
        std::fs::write(dir.path().join("exists.txt"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("nowhere.txt"), dir.path().join("root/dangling.txt")).unwrap();
        let r = Reader::new(ReaderConfig::default());
        let roots = [dir.path().join("root")];
        let answer = |p: PathBuf| r.read_file(&p, &roots).unwrap_err().to_string().replace(&p.display().to_string(), "PATH");
        assert_eq!(answer(dir.path().join("exists.txt")), answer(dir.path().join("missing.txt")));
        assert_eq!(answer(dir.path().join("root/../exists.txt")), answer(dir.path().join("root/../missing.txt")));
        assert!(answer(dir.path().join("exists.txt")).contains("outside the allowed roots"));
        assert!(answer(dir.path().join("root/dangling.txt")).contains("outside the allowed roots"), "a dangling link does not tell where it points");
    }

    #[test]
    fn fifos_and_devices_are_refused_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("catalog-info.yaml");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let r = Reader::new(ReaderConfig { allowed_roots: vec![dir.path().to_path_buf(), "/dev".into()], ..Default::default() });
        let started = std::time::Instant::now();
        let err = r.read_file(&fifo, &[]).unwrap_err();
        assert!(matches!(err, ReadError::NotRegular(_)), "{err}");
        assert!(r.read_file(Path::new("/dev/zero"), &[]).unwrap_err().to_string().contains("not a regular file"));
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
