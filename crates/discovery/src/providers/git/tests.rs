use serde_json::json;

use super::descriptors::join;
use super::repo::{Remote, RepoSpec, Target, check_allowed};
use super::*;
use portico_catalog::reader::{Reader, ReaderConfig};

fn build_err(settings: Value) -> String {
    match GitProvider::from_settings(&settings) {
        Ok(_) => panic!("{settings} should be refused"),
        Err(e) => e,
    }
}

#[test]
fn settings_take_strings_and_long_forms_with_defaults() {
    let p = GitProvider::from_settings(&json!({
        "repositories": ["/srv/git/shop", "https://git.example.com/acme/Cart.git/", {"path": "./rel/../billing", "branch": "release", "name": "bill"}],
        "defaultOwner": "group:default/platform",
        "lifecycle": "experimental",
    }))
    .unwrap();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(p.scopes(), vec!["/srv/git/shop".to_owned(), "https://git.example.com/acme/Cart.git".into(), cwd.join("billing").display().to_string()]);
    assert_eq!(p.repos[1].name, "Cart");
    assert_eq!(p.repos[2].name, "bill");
    assert_eq!(p.repos[2].branch.as_deref(), Some("release"));
    assert!(p.infer);
    assert_eq!(p.max_file_bytes, DEFAULT_MAX_FILE_BYTES);
    assert_eq!(p.catalog_files.len(), 2);
    assert_eq!(p.options.default_owner, "group:default/platform");
    assert_eq!(p.options.lifecycle, "experimental");
    assert_eq!(crate::providers::build("git", &json!({"repositories": ["/x"]})).unwrap().kind(), "git");
}

#[test]
fn bad_settings_name_the_field() {
    assert!(build_err(json!({"repositories": ["/x"], "catalogfiles": []})).contains("unknown field `catalogfiles`"));
    assert!(build_err(json!({"catalogFiles": []})).contains("missing field `repositories`"));
    assert!(build_err(json!({"repositories": []})).contains("repositories: at least one repository"));
    let e = build_err(json!({"repositories": ["/x", {"url": "ssh://git@example.com/x.git"}]}));
    assert!(e.contains("repositories[1]") && e.contains("unsupported URL scheme `ssh`"), "{e}");
    let e = build_err(json!({"repositories": ["git@github.com:acme/shop.git"]}));
    assert!(e.contains("repositories[0]") && e.contains("SSH is not supported"), "{e}");
    let e = build_err(json!({"repositories": [{"url": "https://a/x", "path": "/x"}]}));
    assert!(e.contains("either `url` or `path`"), "{e}");
    let e = build_err(json!({"repositories": [{"branch": "main"}]}));
    assert!(e.contains("missing `url` or `path`"), "{e}");
    let e = build_err(json!({"repositories": [{"path": "/x", "brnch": "main"}]}));
    assert!(e.contains("repositories[0]") && e.contains("unknown field `brnch`"), "{e}");
    let e = build_err(json!({"repositories": [42]}));
    assert!(e.contains("repositories[0]: expected a path"), "{e}");
    let e = build_err(json!({"repositories": ["/x", "/x/"]}));
    assert!(e.contains("repositories[1]: /x is already listed as repositories[0]"), "{e}");
    let e = build_err(json!({"repositories": ["/x"], "catalogFiles": ["a/[b"]}));
    assert!(e.contains("catalogFiles[0]: invalid glob"), "{e}");
    let e = build_err(json!({"repositories": ["/x"], "exclude": ["ok/**", "a/[b"]}));
    assert!(e.contains("exclude[1]: invalid glob"), "{e}");
    let e = build_err(json!({"repositories": ["/x"], "maxFileBytes": 0}));
    assert!(e.contains("maxFileBytes: must be at least 1"), "{e}");
    let e = build_err(json!({"repositories": ["https://"]}));
    assert!(e.contains("repositories[0]"), "{e}");
    let e = build_err(json!({"repositories": [{"path": "/x", "name": "///"}]}));
    assert!(e.contains("no usable characters"), "{e}");
}

#[test]
fn scopes_hide_passwords_and_only_matches_scope_entry_or_name() {
    let r = RepoSpec::parse("https://bot:s3cret@git.example.com/acme/shop.git", false, None, None).unwrap();
    assert_eq!(r.scope, "https://bot@git.example.com/acme/shop.git");
    let Target::Remote(remote) = &r.target else { panic!("remote") };
    assert_eq!(remote.url.password(), Some("s3cret"));
    assert!(!remote.cache_name().contains("s3cret"));
    assert!(r.matches("shop") && r.matches("https://bot@git.example.com/acme/shop.git/"));
    assert!(!r.matches("cart"));
    let a = Remote { url: "https://h/a/shop.git".parse().unwrap() };
    let b = Remote { url: "https://h/b/shop.git".parse().unwrap() };
    assert_ne!(a.cache_name(), b.cache_name());
}

#[test]
fn remote_hosts_must_be_allowed_and_file_urls_are_local() {
    let reader = Reader::new(ReaderConfig { allow: vec!["git.example.com".into(), "127.0.0.1:9418".into()], ..Default::default() });
    let remote = |u: &str| Remote { url: u.parse().unwrap() };
    assert!(check_allowed(&reader, &remote("https://git.example.com/a.git"), "s").is_ok());
    assert!(check_allowed(&reader, &remote("git://127.0.0.1:9418/a.git"), "s").is_ok());
    assert!(check_allowed(&reader, &remote("file:///srv/git/a.git"), "s").is_ok());
    let e = check_allowed(&reader, &remote("git://127.0.0.1:9419/a.git"), "git://127.0.0.1:9419/a.git").unwrap_err();
    assert!(e.contains("reading git://127.0.0.1:9419/a.git is not allowed") && e.contains("`127.0.0.1:9419`"), "{e}");
    let e = check_allowed(&reader, &remote("https://evil.example.org/a.git"), "x").unwrap_err();
    assert!(e.contains("`evil.example.org`"), "{e}");
}

#[test]
fn relative_targets_stay_inside_the_repository() {
    assert_eq!(join("services/cart", "./openapi.yaml").unwrap(), "services/cart/openapi.yaml");
    assert_eq!(join("services/cart", "../billing/x.yaml").unwrap(), "services/billing/x.yaml");
    assert_eq!(join("", "file:teams.yaml").unwrap(), "teams.yaml");
    assert!(join("a", "../../etc/passwd").unwrap_err().contains("outside the repository"));
    assert!(join("a", "/etc/passwd").unwrap_err().contains("absolute path"));
}

#[test]
fn default_catalog_globs_match_at_any_depth_including_the_root() {
    let p = GitProvider::from_settings(&json!({"repositories": ["/x"]})).unwrap();
    let hit = |path: &str| p.catalog_files.iter().any(|g| g.matches_with(path, super::descriptors::MATCH));
    assert!(hit("catalog-info.yaml"));
    assert!(hit("services/cart/catalog-info.yml"));
    assert!(!hit("services/cart/catalog-info.yaml.bak"));
    assert!(!hit("services/cart/my-catalog-info.yaml"));
}

#[path = "../../../../testkit/src/repos.rs"]
#[allow(dead_code)]
mod repos;

/// A commit with text, a large file, a binary file, a symbolic link and a submodule.
fn odd_tree(dir: &std::path::Path) -> gix::ObjectId {
    repos::init(dir);
    repos::write(dir, "a.txt", "hello\n");
    repos::write(dir, "big.txt", &"x".repeat(2_000));
    std::fs::write(dir.join("bin.dat"), b"GIF89a\0\x01\x02").unwrap();
    repos::write(dir, "sub/b.md", "# b\n");
    std::os::unix::fs::symlink("/etc/passwd", dir.join("link")).unwrap();
    repos::git(dir, &["add", "--all"]);
    repos::git(dir, &["update-index", "--add", "--cacheinfo", "160000,1111111111111111111111111111111111111111,vendor/lib"]);
    repos::git(dir, &["commit", "--quiet", "-m", "odd"]);
    repos::git(dir, &["rev-parse", "HEAD"]).parse().unwrap()
}

#[test]
fn the_tree_lists_files_only_and_skips_large_and_binary_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let head = odd_tree(tmp.path());
    let files = tree::TreeFiles::read(gix::open(tmp.path()).unwrap(), head, 1_000).unwrap();
    assert_eq!(files.paths(), ["a.txt", "big.txt", "bin.dat", "sub/b.md"]);
    assert_eq!(files.read("a.txt").unwrap().as_deref(), Some("hello\n"));
    assert_eq!(files.read("big.txt").unwrap(), None, "over maxFileBytes");
    assert_eq!(files.size("big.txt"), Some(2_000));
    assert_eq!(files.read("bin.dat").unwrap(), None, "binary");
    assert!(files.read("link").unwrap_err().contains("symbolic link"));
    assert!(files.read("vendor/lib").unwrap_err().contains("no such file"));
}

#[test]
fn inference_reads_the_commit_tree_through_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    let mono = repos::monorepo(&dir);
    let files = tree::TreeFiles::read(gix::open(&dir).unwrap(), mono.head.parse().unwrap(), DEFAULT_MAX_FILE_BYTES).unwrap();
    assert!(files.paths().iter().any(|p| p == "services/cart/go.mod"));
    let info = infer::RepoInfo { name: "shop".into(), location: format!("{}@{}", dir.display(), mono.head), ..Default::default() };
    let out = infer::infer(&info, &files, &infer::InferOptions::default());
    // What the interface promises of any inference: every contribution names its entity and
    // is located within the repository.
    for c in &out.contributions {
        assert!(c.key().is_some(), "{}", c.document);
        assert!(c.location.starts_with(&info.location), "{}", c.location);
    }
    // `exclude` leaves paths out of inference: here, one of the services.
    let cart = |out: &infer::Inference| out.contributions.iter().any(|c| c.location.contains("services/cart/"));
    assert!(cart(&out));
    let options = infer::InferOptions { exclude: vec![glob::Pattern::new("services/cart/**").unwrap()], ..Default::default() };
    let without = infer::infer(&info, &files, &options);
    assert!(!cart(&without), "{:?}", without.contributions.iter().map(|c| &c.location).collect::<Vec<_>>());
    assert!(!without.contributions.is_empty(), "the other services stay");
}
