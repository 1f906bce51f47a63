//! The YAML files API detection and workload detection both look at, read once.

use std::sync::Arc;

use super::Cx;
use super::tree::file_name;

/// YAML files that are never API definitions nor Kubernetes manifests.
const SKIPPED: &[&str] = &[
    "pnpm-lock.yaml",
    "catalog-info.yaml",
    "catalog-info.yml",
    "mkdocs.yml",
    "mkdocs.yaml",
    ".gitlab-ci.yml",
    ".pre-commit-config.yaml",
    ".golangci.yml",
    ".golangci.yaml",
    "codecov.yml",
    "Chart.yaml",
    "Chart.lock",
];

pub(crate) fn is_yaml(path: &str) -> bool {
    path.ends_with(".yaml") || path.ends_with(".yml")
}

/// Every readable YAML file of the tree (CI and tool settings left out), with its text.
pub(crate) fn texts<'a>(cx: &Cx<'a>) -> Vec<(&'a str, Arc<str>)> {
    cx.yaml
        .get_or_init(|| {
            cx.tree
                .paths
                .iter()
                .copied()
                .filter(|p| is_yaml(p) && !p.starts_with(".github/") && !SKIPPED.contains(&file_name(p)))
                .filter_map(|p| Some((p, Arc::from(cx.tree.read(p).ok().flatten()?))))
                .collect()
        })
        .clone()
}
