//! Presence facts for scorecards (`git.hasReadme`, `git.hasTests`, …), per component folder.
//! A folder's own files count first; README and LICENSE fall back to the repository root,
//! CI configuration is the repository's.

use serde_json::{Map, Value, json};

use super::Cx;
use super::manifests::is_dockerfile;
use super::readme::readme_of;
use super::tree::file_name;

const LICENSE_NAMES: &[&str] = &["LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "LICENCE.md", "COPYING", "COPYING.md", "UNLICENSE"];

/// CI configuration files and folders at the root of a repository.
fn has_ci(cx: &Cx<'_>) -> bool {
    const FILES: &[&str] = &[
        ".gitlab-ci.yml",
        ".gitlab-ci.yaml",
        "Jenkinsfile",
        "azure-pipelines.yml",
        "azure-pipelines.yaml",
        ".travis.yml",
        "bitbucket-pipelines.yml",
        ".drone.yml",
        "cloudbuild.yaml",
        "cloudbuild.yml",
        "buildkite.yml",
        ".woodpecker.yml",
        "appveyor.yml",
    ];
    const DIRS: &[&str] = &[".github/workflows", ".circleci", ".buildkite", ".woodpecker", ".tekton"];
    FILES.iter().any(|f| cx.tree.has_file("", f)) || DIRS.iter().any(|d| cx.tree.has_dir(d))
}

/// A test file or folder by the conventions of the common languages.
pub(crate) fn is_test_path(path: &str) -> bool {
    let name = file_name(path);
    let lower = name.to_ascii_lowercase();
    let in_test_dir = path.split('/').rev().skip(1).any(|s| matches!(s, "test" | "tests" | "__tests__" | "spec" | "androidTest" | "it" | "integrationTest" | "testFixtures"));
    in_test_dir
        || lower.ends_with("_test.go")
        || lower.ends_with("_test.py")
        || (lower.starts_with("test_") && lower.ends_with(".py"))
        || lower.ends_with("_spec.rb")
        || lower.ends_with("_test.exs")
        || [".test.", ".spec."].iter().any(|m| lower.contains(m))
        || lower.ends_with("tests.cs")
        || lower.ends_with("test.java")
        || lower.ends_with("test.kt")
        || lower.ends_with("tests.csproj")
}

/// Presence facts of a component whose own files (nested components' excluded) are `own`.
pub(crate) fn presence(cx: &Cx<'_>, dir: &str, own: &[&str], language: Option<&str>, owned: bool) -> Map<String, Value> {
    let readme = readme_of(&cx.tree, dir).or_else(|| readme_of(&cx.tree, ""));
    let license = cx.tree.find_ci(dir, LICENSE_NAMES).or_else(|| cx.tree.find_ci("", LICENSE_NAMES));
    let mut facts = Map::new();
    facts.insert("git.hasReadme".into(), json!(readme.is_some()));
    facts.insert("git.hasLicense".into(), json!(license.is_some()));
    facts.insert("git.hasCodeowners".into(), json!(owned));
    facts.insert("git.hasCi".into(), json!(has_ci(cx) || cx.tree.has_file(dir, "Jenkinsfile")));
    facts.insert("git.hasDockerfile".into(), json!(own.iter().any(|p| is_dockerfile(file_name(p)))));
    facts.insert("git.hasTests".into(), json!(own.iter().any(|p| is_test_path(p))));
    if let Some(l) = language {
        facts.insert("git.language".into(), json!(l));
    }
    facts
}
