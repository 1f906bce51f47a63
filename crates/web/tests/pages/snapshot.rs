//! HTML snapshots: a page's body with its volatile parts (times, ids, paths of this machine,
//! the asset fingerprint) replaced by placeholders, compared with `tests/snapshots/<name>.html`.
//! Set `PORTICO_UPDATE_SNAPSHOTS=1` to write them after a deliberate change, then review the diff.

use std::path::PathBuf;

use regex::Regex;

use crate::common::{ALL, WebApp};

fn snapshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(format!("{name}.html"))
}

/// Replaces what differs between runs and machines.
pub fn normalize(app: &WebApp, html: &str) -> String {
    let examples = std::path::Path::new(ALL).parent().unwrap().canonicalize().unwrap().display().to_string();
    // The examples as registered (`..` resolved, symbolic links not): they differ from the
    // canonical path when the fixtures are reached through a link.
    let mut lexical = std::path::PathBuf::new();
    for c in std::path::Path::new(ALL).parent().unwrap().components() {
        match c {
            std::path::Component::ParentDir => {
                lexical.pop();
            }
            std::path::Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    let lexical = lexical.display().to_string();
    let extra = app.extra.path().canonicalize().unwrap().display().to_string();
    let mut out = html.replace(&examples, "<examples>").replace(&lexical, "<examples>").replace(&extra, "<extra>");
    // The same paths as the auto-escaping writes them.
    out = out
        .replace(&examples.replace('/', "&#x2f;"), "<examples>")
        .replace(&lexical.replace('/', "&#x2f;"), "<examples>")
        .replace(&extra.replace('/', "&#x2f;"), "<extra>");
    let rules = [
        (r"generated-[0-9a-f]{40}", "generated-<sha1>"),
        (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>"),
        (r"etag: [0-9a-zA-Z]+", "etag: <etag>"),
        (r"\?v=[0-9a-f]{12}", "?v=<assets>"),
        (r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "<time>"),
        (r"\d+ (s|min|h|d) ago", "<age>"),
        (r"Portico \d+\.\d+\.\d+", "Portico <version>"),
    ];
    for (pattern, with) in rules {
        out = Regex::new(pattern).unwrap().replace_all(&out, with).into_owned();
    }
    out
}

/// Compares `html` (normalized) with the stored snapshot `name`.
pub fn assert_snapshot(app: &WebApp, name: &str, html: &str) {
    let got = normalize(app, html);
    let path = snapshot_path(name);
    if std::env::var_os("PORTICO_UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("no snapshot {}; run with PORTICO_UPDATE_SNAPSHOTS=1 to write it, then review it", path.display())
    });
    if got != want {
        let line = got.lines().zip(want.lines()).position(|(a, b)| a != b).unwrap_or(got.lines().count().min(want.lines().count()));
        panic!(
            "snapshot {name} differs from line {}:\n  got:  {}\n  want: {}\n(PORTICO_UPDATE_SNAPSHOTS=1 rewrites it)",
            line + 1,
            got.lines().nth(line).unwrap_or("<end>"),
            want.lines().nth(line).unwrap_or("<end>")
        );
    }
}
