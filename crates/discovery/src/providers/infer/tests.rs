//! Inference over in-memory trees modelled on real public layouts.

mod apis;
mod components;
mod manifests;
mod patterns;
mod workloads;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use super::{Declared, Files, InferOptions, Inference, RepoInfo, infer};
use crate::engine::Contribution;

/// A tree in memory. A file whose text is `None` is binary or too large.
#[derive(Default)]
pub(super) struct Mem {
    paths: Vec<String>,
    texts: BTreeMap<String, Option<String>>,
    pub reads: AtomicUsize,
}

impl Mem {
    pub fn new(files: &[(&str, &str)]) -> Self {
        let mut m = Mem::default();
        for (p, t) in files {
            m.texts.insert((*p).to_owned(), Some((*t).to_owned()));
        }
        m.paths = m.texts.keys().cloned().collect();
        m
    }

    pub fn with_binary(mut self, path: &str) -> Self {
        self.texts.insert(path.to_owned(), None);
        self.paths = self.texts.keys().cloned().collect();
        self
    }
}

impl Files for Mem {
    fn paths(&self) -> &[String] {
        &self.paths
    }

    fn read(&self, path: &str) -> Result<Option<String>, String> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.texts.get(path).cloned().ok_or_else(|| format!("{path}: no such file"))
    }
}

pub(super) fn repo() -> RepoInfo {
    let mut facts = serde_json::Map::new();
    facts.insert("git.lastCommitAt".into(), Value::from("2026-11-20T10:00:00Z"));
    RepoInfo { name: "shop".into(), location: "https://git.example.com/acme/shop.git@abc123".into(), facts, declared: Vec::new(), source_base: None }
}

pub(super) fn run(files: &[(&str, &str)]) -> Inference {
    infer(&repo(), &Mem::new(files), &InferOptions::default())
}

pub(super) fn run_declared(files: &[(&str, &str)], declared: Vec<Declared>) -> Inference {
    infer(&RepoInfo { declared, ..repo() }, &Mem::new(files), &InferOptions::default())
}

/// The contribution of an entity, by key (`component:default/cart`).
pub(super) fn entity<'a>(inf: &'a Inference, key: &str) -> &'a Contribution {
    inf.contributions.iter().find(|c| c.key().as_deref() == Some(key)).unwrap_or_else(|| panic!("no {key} in {:#?}", keys(inf)))
}

pub(super) fn keys(inf: &Inference) -> Vec<String> {
    let mut k: Vec<String> = inf.contributions.iter().filter_map(Contribution::key).collect();
    k.sort();
    k
}

pub(super) fn str_at<'a>(c: &'a Contribution, pointer: &str) -> &'a str {
    c.document.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("no {pointer} in {:#}", c.document))
}

pub(super) fn strings_at(c: &Contribution, pointer: &str) -> Vec<String> {
    c.document
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

pub(super) fn fact<'a>(c: &'a Contribution, name: &str) -> &'a Value {
    c.document.pointer("/status/facts").and_then(|f| f.get(name)).unwrap_or_else(|| panic!("no fact {name} in {:#}", c.document))
}

#[test]
fn an_empty_repository_infers_nothing() {
    let inf = run(&[]);
    assert!(inf.contributions.is_empty());
    assert!(inf.errors.is_empty());
}

#[test]
fn five_thousand_files_are_inferred_quickly_reading_only_what_matters() {
    let mut files: Vec<(String, String)> = Vec::new();
    for s in 0..50 {
        files.push((format!("services/svc{s}/go.mod"), format!("module example.com/shop/svc{s}\n")));
        files.push((format!("services/svc{s}/main.go"), "package main\n".into()));
        files.push((format!("services/svc{s}/README.md"), format!("# svc{s}\n\nService number {s}.\n")));
        for f in 0..97 {
            files.push((format!("services/svc{s}/internal/pkg{}/file{f}.go", f % 8), "package pkg\n".into()));
        }
    }
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    assert!(borrowed.len() >= 5000);
    let mem = Mem::new(&borrowed);
    let started = std::time::Instant::now();
    let inf = infer(&repo(), &mem, &InferOptions::default());
    let took = started.elapsed();
    assert_eq!(inf.contributions.len(), 50);
    assert!(took < std::time::Duration::from_millis(500), "took {took:?}");
    assert!(mem.reads.load(Ordering::Relaxed) < 300, "read {} files", mem.reads.load(Ordering::Relaxed));
}
