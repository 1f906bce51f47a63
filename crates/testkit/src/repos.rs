//! Real git repositories for tests and benchmarks, built with the `git` command line.
//!
//! Every commit has a fixed author, committer and date (set through `GIT_AUTHOR_*` /
//! `GIT_COMMITTER_*`), and git runs without the user's or the system's configuration, so the
//! same call builds the same commits (same ids) on every machine.
//!
//! * [`monorepo`]: a realistic multi-language monorepo (Go, Node, Python, Java and Rust
//!   services, Kubernetes manifests whose environment variables name databases and other
//!   services, docker-compose, CODEOWNERS, READMEs, an OpenAPI file, and `catalog-info.yaml`
//!   descriptors for some of the services).
//! * [`synthetic_repo`]: a repository of a given number of files spread over services, for
//!   benchmarks of discovery.
//!
//! Only `std` is used, so integration tests of other crates can include this file directly.

use std::path::Path;
use std::process::Command;

/// The author of commits that name none.
pub const DEFAULT_AUTHOR: &str = "Dev One <dev1@example.com>";
/// The date of commits that name none (RFC 2822 or ISO 8601, as git accepts).
pub const DEFAULT_DATE: &str = "2025-01-15T10:00:00Z";

/// Runs `git args…` in `dir` without any user or system configuration and returns its
/// standard output. Panics with git's error output when it fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_as(dir, args, DEFAULT_AUTHOR, DEFAULT_DATE)
}

/// Like [`git`], as `author` (`Name <email>`) at `date`, which become both author and committer.
pub fn git_as(dir: &Path, args: &[&str], author: &str, date: &str) -> String {
    let (name, email) = author.split_once(" <").map_or((author, "dev@example.com"), |(n, e)| (n, e.trim_end_matches('>')));
    let out = Command::new("git")
        .args(["-c", "commit.gpgsign=false", "-c", "core.autocrlf=false", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", name)
        .env("GIT_AUTHOR_EMAIL", email)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_NAME", name)
        .env("GIT_COMMITTER_EMAIL", email)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .unwrap_or_else(|e| panic!("cannot run git {args:?} in {}: {e}", dir.display()));
    assert!(out.status.success(), "git {args:?} in {} failed: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Creates `dir` (and its parents) and runs `git init` there, on branch `main`.
pub fn init(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    git(dir, &["init", "--quiet"]);
}

/// Writes `text` to `dir/path`, creating folders as needed.
pub fn write(dir: &Path, path: &str, text: &str) {
    let file = dir.join(path);
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    }
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", file.display()));
}

/// Stages everything in the work tree and commits it as `author` at `date`; returns the new
/// commit's id.
pub fn commit_all(dir: &Path, message: &str, author: &str, date: &str) -> String {
    git_as(dir, &["add", "--all"], author, date);
    git_as(dir, &["commit", "--quiet", "--allow-empty", "-m", message], author, date);
    git(dir, &["rev-parse", "HEAD"])
}

/// Writes `files` (path, text) and commits them with [`DEFAULT_AUTHOR`] at [`DEFAULT_DATE`].
pub fn commit_files(dir: &Path, message: &str, files: &[(&str, &str)]) -> String {
    for (path, text) in files {
        write(dir, path, text);
    }
    commit_all(dir, message, DEFAULT_AUTHOR, DEFAULT_DATE)
}

/// What [`monorepo`] built.
#[derive(Debug, Clone)]
pub struct Monorepo {
    /// Id of the last commit (on `main`).
    pub head: String,
    /// Paths of the `catalog-info.yaml` files, relative to the root.
    pub descriptors: Vec<&'static str>,
    /// `kind:namespace/name` of every entity the descriptors declare (Location included).
    pub declared: Vec<&'static str>,
}

/// Builds a realistic monorepo `shop` in `dir` (created if needed) in four commits by three
/// authors (2025-01-10 to 2025-03-01). Services: `cart` (Go, with an OpenAPI file and a
/// descriptor), `storefront` (Node), `recommend` (Python), `billing` (Java, with a descriptor)
/// and `search` (Rust). The root `catalog-info.yaml` declares the `shop` System and a Location
/// whose target `teams.yaml` declares two Groups.
pub fn monorepo(dir: &Path) -> Monorepo {
    init(dir);
    for (path, text) in MONOREPO_FILES {
        write(dir, path, text);
    }
    commit_all(dir, "Initial layout of the shop monorepo", "Ana Lima <ana@example.com>", "2025-01-10T09:00:00Z");
    write(dir, "services/cart/handlers.go", "package main\n\nfunc addItem() {}\n");
    commit_all(dir, "cart: add items", "Ben Okafor <ben@example.com>", "2025-02-02T14:30:00Z");
    write(dir, "services/billing/src/main/java/com/example/billing/Invoice.java", "package com.example.billing;\n\npublic record Invoice(String id) {}\n");
    commit_all(dir, "billing: invoices", "Chen Wei <chen@example.com>", "2025-02-20T08:15:00Z");
    write(dir, "services/search/src/index.rs", "pub fn index() {}\n");
    let head = commit_all(dir, "search: index", "Ana Lima <ana@example.com>", "2025-03-01T17:45:00Z");
    Monorepo {
        head,
        descriptors: vec!["catalog-info.yaml", "services/billing/catalog-info.yaml", "services/cart/catalog-info.yaml"],
        declared: vec![
            "system:default/shop",
            "location:default/shop-teams",
            "group:default/team-cart",
            "group:default/team-web",
            "component:default/billing",
            "component:default/cart",
            "api:default/cart-api",
        ],
    }
}

const MONOREPO_FILES: &[(&str, &str)] = &[
    ("README.md", "# Shop\n\nThe online shop: storefront, cart, billing, recommendations and search.\n"),
    (
        ".github/CODEOWNERS",
        "*                     @acme/platform\n/services/cart/       @acme/team-cart\n/services/storefront/ @acme/team-web\n/services/billing/    @acme/team-billing\n",
    ),
    (
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: shop\n  description: The online shop\nspec:\n  owner: group:default/team-web\n---\napiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: shop-teams\nspec:\n  targets:\n    - ./teams.yaml\n",
    ),
    (
        "teams.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-cart\nspec:\n  type: team\n  children: []\n---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-web\nspec:\n  type: team\n  children: []\n",
    ),
    ("services/cart/go.mod", "module github.com/acme/shop/services/cart\n\ngo 1.22\n\nrequire github.com/jackc/pgx/v5 v5.5.0\n"),
    ("services/cart/main.go", "package main\n\nimport \"net/http\"\n\nfunc main() {\n\thttp.ListenAndServe(\":8080\", nil)\n}\n"),
    ("services/cart/README.md", "# Cart\n\nKeeps shopping carts in PostgreSQL.\n"),
    (
        "services/cart/catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: cart\n  description: Shopping carts\n  tags: [go]\nspec:\n  type: service\n  lifecycle: production\n  owner: group:default/team-cart\n  system: shop\n  providesApis: [cart-api]\n---\napiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: cart-api\nspec:\n  type: openapi\n  lifecycle: production\n  owner: group:default/team-cart\n  system: shop\n  definition:\n    $text: ./openapi.yaml\n",
    ),
    (
        "services/cart/openapi.yaml",
        "openapi: 3.0.3\ninfo:\n  title: Cart API\n  version: 1.0.0\npaths:\n  /carts/{id}:\n    get:\n      parameters:\n        - name: id\n          in: path\n          required: true\n          schema: {type: string}\n      responses:\n        '200': {description: A cart}\n",
    ),
    (
        "services/storefront/package.json",
        "{\n  \"name\": \"@acme/storefront\",\n  \"version\": \"2.3.0\",\n  \"description\": \"The shop's web front end\",\n  \"dependencies\": {\"express\": \"^4.19.0\", \"react\": \"^18.2.0\"}\n}\n",
    ),
    ("services/storefront/src/index.js", "const express = require('express');\nexpress().listen(3000);\n"),
    ("services/storefront/README.md", "# Storefront\n\nServer-rendered pages of the shop.\n"),
    (
        "services/recommend/pyproject.toml",
        "[project]\nname = \"recommend\"\nversion = \"0.4.0\"\ndescription = \"Product recommendations\"\ndependencies = [\"fastapi>=0.110\", \"redis>=5\"]\n",
    ),
    ("services/recommend/requirements.txt", "fastapi==0.110.0\nredis==5.0.1\n"),
    ("services/recommend/app.py", "from fastapi import FastAPI\n\napp = FastAPI()\n"),
    (
        "services/billing/pom.xml",
        "<project>\n  <modelVersion>4.0.0</modelVersion>\n  <groupId>com.example</groupId>\n  <artifactId>billing</artifactId>\n  <version>1.0.0</version>\n  <description>Invoices and payments</description>\n</project>\n",
    ),
    ("services/billing/src/main/java/com/example/billing/App.java", "package com.example.billing;\n\npublic class App {\n    public static void main(String[] args) {}\n}\n"),
    (
        "services/billing/catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: billing\n  description: Invoices and payments\nspec:\n  type: service\n  lifecycle: production\n  owner: group:default/team-billing\n  system: shop\n",
    ),
    ("services/search/Cargo.toml", "[package]\nname = \"search\"\nversion = \"0.1.0\"\nedition = \"2021\"\ndescription = \"Product search\"\n\n[dependencies]\n"),
    ("services/search/src/main.rs", "fn main() {}\n"),
    (
        "deploy/k8s/cart.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cart\n  namespace: shop\nspec:\n  replicas: 3\n  selector:\n    matchLabels: {app: cart}\n  template:\n    metadata:\n      labels: {app: cart}\n    spec:\n      containers:\n        - name: cart\n          image: registry.example.com/shop/cart:1.4.2\n          env:\n            - name: DATABASE_URL\n              value: postgres://cart@cart-db:5432/cart\n            - name: RECOMMEND_URL\n              value: http://recommend:8000\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: cart\n  namespace: shop\nspec:\n  selector: {app: cart}\n  ports:\n    - port: 80\n      targetPort: 8080\n",
    ),
    (
        "deploy/k8s/storefront.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: storefront\n  namespace: shop\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: storefront}\n  template:\n    metadata:\n      labels: {app: storefront}\n    spec:\n      containers:\n        - name: storefront\n          image: registry.example.com/shop/storefront:2.3.0\n          env:\n            - name: CART_URL\n              value: http://cart.shop.svc.cluster.local\n            - name: REDIS_URL\n              value: redis://sessions-redis:6379/0\n",
    ),
    (
        "docker-compose.yml",
        "services:\n  storefront:\n    build: ./services/storefront\n    depends_on: [cart, redis]\n  cart:\n    build: ./services/cart\n    environment:\n      DATABASE_URL: postgres://cart@postgres:5432/cart\n    depends_on: [postgres]\n  recommend:\n    build: ./services/recommend\n    depends_on: [redis]\n  postgres:\n    image: postgres:16\n  redis:\n    image: redis:7\n",
    ),
    ("docs/adr/0001-monorepo.md", "# 1. One repository for the shop\n\nAccepted.\n"),
];

/// Builds a repository of exactly `files` files in `dir` (created if needed), in one commit,
/// and returns its id. Files are spread over services of 25 files each
/// (`services/svc-0000/…`); every service has a `catalog-info.yaml` declaring Component
/// `svc-NNNN`, a `README.md`, a `go.mod` or `package.json`, and source files for the rest.
/// The same `files` gives the same commit id. For benchmarks: 5,000 files build in about a
/// second.
pub fn synthetic_repo(dir: &Path, files: usize) -> String {
    synthetic_repo_named(dir, files, "svc")
}

/// [`synthetic_repo`] with services named `<prefix>-NNNN`: repositories that declare
/// different components.
pub fn synthetic_repo_named(dir: &Path, files: usize, prefix: &str) -> String {
    const PER_SERVICE: usize = 25;
    init(dir);
    let mut written = 0;
    let mut service = 0;
    while written < files {
        let name = format!("{prefix}-{service:04}");
        let base = format!("services/{name}");
        let head: [(String, String); 4] = [
            (
                format!("{base}/catalog-info.yaml"),
                format!(
                    "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: group:default/team-{:02}\n",
                    service % 20
                ),
            ),
            (format!("{base}/README.md"), format!("# {name}\n\nService number {service}.\n")),
            if service % 2 == 0 {
                (format!("{base}/go.mod"), format!("module example.com/{name}\n\ngo 1.22\n"))
            } else {
                (format!("{base}/package.json"), format!("{{\"name\": \"{name}\", \"version\": \"1.0.0\"}}\n"))
            },
            (format!("{base}/Dockerfile"), "FROM scratch\n".to_owned()),
        ];
        for (path, text) in head.iter().take(files - written) {
            write(dir, path, text);
            written += 1;
        }
        let mut n = 0;
        while written < files && n < PER_SERVICE - head.len() {
            write(dir, &format!("{base}/src/file{n:02}.txt"), &format!("{name} source {n}\n"));
            written += 1;
            n += 1;
        }
        service += 1;
    }
    commit_all(dir, "Synthetic repository", DEFAULT_AUTHOR, DEFAULT_DATE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_repo_has_exactly_the_files_asked_for_and_a_stable_id() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let id = synthetic_repo(a.path(), 57);
        assert_eq!(id, synthetic_repo(b.path(), 57));
        let listed = git(a.path(), &["ls-files"]);
        assert_eq!(listed.lines().count(), 57);
        assert!(listed.contains("services/svc-0002/catalog-info.yaml"), "{listed}");
    }

    #[test]
    fn monorepo_commits_are_reproducible() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let first = monorepo(a.path());
        assert_eq!(first.head, monorepo(b.path()).head);
        assert_eq!(git(a.path(), &["rev-list", "--count", "HEAD"]), "4");
        for d in &first.descriptors {
            assert!(a.path().join(d).is_file(), "{d}");
        }
    }
}
