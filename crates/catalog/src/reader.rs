//! Reading files and URLs for sources, behind two guards: local paths must lie under an
//! allowed root, and URLs must name a host on the allow-list (Backstage's
//! `backend.reading.allow`). The allow-list is empty by default, so nothing leaves the machine
//! unless configured.

use std::path::{Path, PathBuf};
use std::time::Duration;

use portico_model::yaml::MAX_FILE_BYTES;

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
    #[error("{path}: file is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { path: String, size: u64, limit: usize },
    #[error("{0}: not valid UTF-8 text")]
    NotText(String),
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

    /// Reads a URL's body as text, after the allow-list check.
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
        if resp.content_length().is_some_and(|n| n > MAX_FILE_BYTES as u64) {
            return Err(ReadError::TooLarge { path: url.to_string(), size: resp.content_length().unwrap_or(0), limit: MAX_FILE_BYTES });
        }
        let bytes = resp.bytes().await.map_err(|e| io(e.to_string()))?;
        if bytes.len() > MAX_FILE_BYTES {
            return Err(ReadError::TooLarge { path: url.to_string(), size: bytes.len() as u64, limit: MAX_FILE_BYTES });
        }
        String::from_utf8(bytes.to_vec()).map_err(|_| ReadError::NotText(url.to_string()))
    }

    /// Checks that `path` (after resolving symlinks) lies under one of `roots` or the
    /// configured roots, and returns its canonical form.
    pub fn check_path(&self, path: &Path, roots: &[PathBuf]) -> Result<PathBuf, ReadError> {
        let canonical = path.canonicalize().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ReadError::NotFound(path.display().to_string()),
            _ => ReadError::Io { location: path.display().to_string(), message: e.to_string() },
        })?;
        let mut all = roots.iter().chain(&self.config.allowed_roots);
        if all.any(|r| r.canonicalize().is_ok_and(|r| canonical.starts_with(r))) {
            Ok(canonical)
        } else {
            let roots: Vec<String> =
                roots.iter().chain(&self.config.allowed_roots).map(|r| r.display().to_string()).collect();
            Err(ReadError::OutsideRoots { path: path.display().to_string(), roots: roots.join(", ") })
        }
    }

    /// Reads a local text file within the allowed roots and the size limit.
    pub fn read_file(&self, path: &Path, roots: &[PathBuf]) -> Result<(PathBuf, String), ReadError> {
        let canonical = self.check_path(path, roots)?;
        let shown = path.display().to_string();
        let meta = std::fs::metadata(&canonical).map_err(|e| ReadError::Io { location: shown.clone(), message: e.to_string() })?;
        if meta.len() > MAX_FILE_BYTES as u64 {
            return Err(ReadError::TooLarge { path: shown, size: meta.len(), limit: MAX_FILE_BYTES });
        }
        let bytes = std::fs::read(&canonical).map_err(|e| ReadError::Io { location: shown.clone(), message: e.to_string() })?;
        let text = String::from_utf8(bytes).map_err(|_| ReadError::NotText(shown))?;
        Ok((canonical, text))
    }
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
}
