//! Every command in the README and under `docs/` runs as written: a documented command that
//! does not run is a bug.
//!
//! The blocks marked `sh` of each page run in order, in a directory of the page's own, with the
//! `portico` binary first on `PATH`, against one `portico demo` started here (the README's first
//! set-up command) with a `portico.yaml` declaring the discovery sources the docs speak of. A
//! block runs under `bash -euo pipefail`, and `curl` fails on an HTTP error status, so a
//! command that fails or answers an error fails the test, naming the page and line.
//!
//! Lines starting with `$ ` are commands followed by their output: each following line must be
//! in what the command prints (paths below the page's directory written relative to it).
//!
//! The docs name places that exist on a reader's machine, not here; the test maps them:
//! - `127.0.0.1:7007` and `localhost:7007`: the demo's address;
//! - `/srv/git/shop`: a git repository made here (a Node service with a Dockerfile);
//! - `/srv/backstage/catalog/all.yaml`: the demo's `to-import/catalog-info.yaml`;
//! - `2026-11-27T09:00:00Z` (a time "before the incident"): the time the demo had read its
//!   catalog, so that entities as of then exist.
//!
//! Blocks marked `yaml` that hold catalog descriptors (`apiVersion` and `kind` at the start of a
//! line) must pass `portico catalog validate`.
//!
//! `cargo run -- demo …` is the demo this test starts, and `cargo test --workspace` is the run
//! this test is part of: those two lines are the only ones not run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{start_demo, wait_ready};

/// A fenced code block: where it starts, its info string, and its lines (indentation removed).
struct Block {
    line: usize,
    info: String,
    text: String,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(usize, usize, String, Vec<String>)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(info) = trimmed.strip_prefix("```") {
            match open.take() {
                Some((start, _, info, lines)) => out.push(Block { line: start, info, text: lines.join("\n") }),
                None => open = Some((i + 1, indent, info.trim().to_owned(), Vec::new())),
            }
        } else if let Some((_, indent, _, lines)) = open.as_mut() {
            lines.push(line.get(*indent..).unwrap_or(line.trim_start()).to_owned());
        }
    }
    out
}

/// The pages whose commands run: the README, then `docs/` in path order.
fn pages(root: &Path) -> Vec<PathBuf> {
    let mut pages = vec![root.join("README.md")];
    let mut stack = vec![root.join("docs")];
    let mut docs = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                docs.push(path);
            }
        }
    }
    docs.sort();
    pages.extend(docs);
    pages
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The repository the docs call `/srv/git/shop`.
fn shop_repository(at: &Path) {
    std::fs::create_dir_all(at).unwrap();
    std::fs::write(at.join("package.json"), r#"{"name": "shop", "version": "1.0.0", "dependencies": {"express": "^4.19.0"}}"#).unwrap();
    std::fs::write(at.join("Dockerfile"), "FROM node:20\nCOPY . .\nCMD [\"node\", \"index.js\"]\n").unwrap();
    std::fs::write(at.join("index.js"), "require('express')().listen(8080);\n").unwrap();
    git(at, &["init", "-q", "-b", "main"]);
    git(at, &["-c", "user.name=Docs", "-c", "user.email=docs@example.com", "add", "."]);
    git(at, &["-c", "user.name=Docs", "-c", "user.email=docs@example.com", "commit", "-qm", "shop"]);
}

struct Run {
    dir: PathBuf,
    env: Vec<(String, String)>,
    places: Vec<(String, String)>,
}

impl Run {
    fn map(&self, text: &str) -> String {
        self.places.iter().fold(text.to_owned(), |t, (from, to)| t.replace(from, to))
    }

    fn bash(&self, script: &str) -> std::process::Output {
        // curl fails on an HTTP error, saying what the server answered.
        let preamble = "curl() { command curl -sS --fail-with-body \"$@\"; }\n";
        Command::new("bash").args(["-euo", "pipefail", "-c", &format!("{preamble}{script}")]).current_dir(&self.dir).envs(self.env.clone()).output().unwrap()
    }

    /// Runs one block; the problem, if any.
    fn block(&self, block: &Block) -> Option<String> {
        let lines: Vec<&str> = block
            .text
            .lines()
            .filter(|l| !(l.starts_with("cargo run -- demo") || l.starts_with("cargo test --workspace")))
            .collect();
        if lines.iter().any(|l| l.starts_with("$ ")) {
            return self.transcript(&lines);
        }
        let out = self.bash(&self.map(&lines.join("\n")));
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (!out.status.success()).then(|| format!("exited with {}:\n{said}", out.status))
    }

    /// `$ command` lines, each followed by lines its output must hold.
    fn transcript(&self, lines: &[&str]) -> Option<String> {
        let mut problems = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            let Some(command) = lines[i].strip_prefix("$ ") else {
                i += 1;
                continue;
            };
            let expected: Vec<&str> = lines[i + 1..].iter().take_while(|l| !l.starts_with("$ ")).copied().collect();
            i += 1 + expected.len();
            let out = self.bash(&self.map(command));
            let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
                .replace(&format!("{}/", self.dir.display()), "");
            for want in expected.iter().map(|l| self.map(l)).filter(|l| !l.trim().is_empty()) {
                if !said.contains(want.trim()) {
                    problems.push(format!("`{command}` did not print {want:?}; it printed:\n{said}"));
                }
            }
        }
        (!problems.is_empty()).then(|| problems.join("\n"))
    }
}

#[test]
fn every_command_in_the_readme_and_the_docs_runs_as_written() {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let work = tempfile::tempdir().unwrap();
    let work = work.path().canonicalize().unwrap();
    let data = work.join(".portico");
    let shop = work.join("git/shop");
    shop_repository(&shop);
    let tfstate = data.join("demo/infra/production.tfstate");
    let config = format!(
        "dataDir: {}\ndiscovery:\n  sources:\n    - {{ name: repos, type: git, interval: 10m, repositories: [{}] }}\n    - {{ name: infra, type: terraform, interval: 1h, states: [{}] }}\n",
        data.display(),
        shop.display(),
        tfstate.display()
    );
    std::fs::write(work.join("portico.yaml"), &config).unwrap();

    // `portico demo`, as the README starts it, from the directory holding portico.yaml.
    let (mut demo, url) = {
        let cwd = std::env::current_dir().unwrap();
        std::env::set_current_dir(&work).unwrap();
        let started = start_demo(&["--port", "0", "--data-dir", data.to_str().unwrap()], &work);
        std::env::set_current_dir(cwd).unwrap();
        started
    };
    wait_ready(&url);
    let address = url.trim_start_matches("http://").trim_end_matches('/').to_owned();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let then = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);

    let bin = work.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_portico"), bin.join("portico")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let places = vec![
        ("http://127.0.0.1:7007".to_owned(), url.trim_end_matches('/').to_owned()),
        ("127.0.0.1:7007".to_owned(), address.clone()),
        ("localhost:7007".to_owned(), address),
        ("/srv/git/shop".to_owned(), shop.display().to_string()),
        ("/srv/backstage/catalog/all.yaml".to_owned(), data.join("demo/to-import/catalog-info.yaml").display().to_string()),
        ("2026-11-27T09:00:00Z".to_owned(), then),
    ];

    let mut problems = Vec::new();
    let mut ran = 0;
    for page in pages(&root) {
        let name = page.strip_prefix(&root).unwrap().display().to_string();
        let dir = work.join(name.replace('/', "_"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("portico.yaml"), &config).unwrap();
        let run = Run {
            dir,
            env: vec![("PATH".into(), path.clone()), ("PORTICO_LOG".into(), "error".into()), ("NO_COLOR".into(), "1".into())],
            places: places.clone(),
        };
        for block in blocks(&std::fs::read_to_string(&page).unwrap()) {
            let problem = match block.info.as_str() {
                "sh" => run.block(&block),
                "yaml" if block.text.lines().any(|l| l.starts_with("apiVersion:")) && block.text.lines().any(|l| l.starts_with("kind:")) => {
                    let file = run.dir.join(format!("block-{}.yaml", block.line));
                    std::fs::write(&file, &block.text).unwrap();
                    run.block(&Block { line: block.line, info: "sh".into(), text: format!("portico catalog validate {}", file.display()) })
                }
                _ => continue,
            };
            ran += 1;
            if let Some(problem) = problem {
                problems.push(format!("{name}:{}: {problem}", block.line));
            }
        }
    }
    demo.kill().unwrap();
    let _ = demo.wait();
    assert!(ran >= 20, "only {ran} blocks found");
    assert!(problems.is_empty(), "{} of {ran} blocks do not run as written:\n\n{}", problems.len(), problems.join("\n\n"));
}
