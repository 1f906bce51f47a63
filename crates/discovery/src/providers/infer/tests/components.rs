//! The fields of an inferred component: owner, description, docs, facts, annotations.

use serde_json::json;

use super::{entity, fact, run, run_declared, str_at};
use crate::engine::Evidence;
use crate::providers::infer::Declared;
use crate::providers::infer::codeowners::{CodeOwners, owner_ref};
use crate::providers::infer::readme::description;

#[test]
fn an_inferred_component_has_every_field_the_catalog_needs() {
    let inf = run(&[
        (".github/CODEOWNERS", "* @acme/platform\n/services/cart/ @acme/cart-team\n"),
        (".github/workflows/ci.yml", "on: push\n"),
        ("LICENSE", "Apache-2.0"),
        ("services/cart/go.mod", "module example.com/shop/cart\n"),
        ("services/cart/main.go", "package main\n"),
        ("services/cart/main_test.go", "package main\n"),
        ("services/cart/Dockerfile", "FROM golang\n"),
        ("services/cart/README.md", "# Cart\n\n[![build](https://ci/badge.svg)](https://ci)\n\nKeeps the **shopping cart** of each\n[user](https://x/users).\n\nMore.\n"),
    ]);
    let c = entity(&inf, "component:default/cart");
    assert_eq!(c.evidence, Evidence::Inferred);
    assert_eq!(c.location, "https://git.example.com/acme/shop.git@abc123:services/cart/go.mod");
    let d = &c.document;
    assert_eq!(d["apiVersion"], "backstage.io/v1alpha1");
    assert_eq!(d["kind"], "Component");
    assert_eq!(d["spec"], json!({"type": "service", "lifecycle": "production", "owner": "group:default/cart-team"}));
    assert_eq!(d["metadata"]["description"], "Keeps the shopping cart of each user.");
    assert_eq!(d["metadata"]["tags"], json!(["go"]));
    assert_eq!(d["metadata"]["annotations"]["backstage.io/source-location"], "url:https://git.example.com/acme/shop/services/cart/");
    assert_eq!(d["metadata"]["annotations"]["portico.dev/language"], "go");
    assert_eq!(d["status"]["facts"]["git.lastCommitAt"], "2026-11-20T10:00:00Z");
    for (name, value) in [
        ("git.hasReadme", true),
        ("git.hasLicense", true),
        ("git.hasCodeowners", true),
        ("git.hasCi", true),
        ("git.hasDockerfile", true),
        ("git.hasTests", true),
    ] {
        assert_eq!(fact(c, name), value, "{name}");
    }
    assert_eq!(fact(c, "git.language"), "go");
    assert_eq!(c.docs.len(), 1);
    assert_eq!(c.docs[0].path, "services/cart/README.md");
}

#[test]
fn without_codeowners_the_default_owner_is_used_and_facts_say_so() {
    let inf = run(&[("lib/Cargo.toml", "[package]\nname = \"lib\"\n")]);
    let c = entity(&inf, "component:default/lib");
    assert_eq!(str_at(c, "/spec/owner"), "group:default/unowned");
    for name in ["git.hasReadme", "git.hasLicense", "git.hasCodeowners", "git.hasCi", "git.hasDockerfile", "git.hasTests"] {
        assert_eq!(fact(c, name), false, "{name}");
    }
}

#[test]
fn codeowners_last_match_wins_across_odd_patterns() {
    let owners = CodeOwners::parse(
        "# comment\n\
         *                       @acme/everyone\n\
         docs/**                 docs@example.com\n\
         apps/                   @alice\n\
         /services/pay*/         @acme/payments # inline comment\n\
         **/legacy               @acme/archaeology\n\
         [Section]\n\
         ^[Optional] @acme/x\n\
         !ignored                @nobody\n\
         /services/payments/vendored\n\
         weird\\ name/            @acme/spaces\n",
    );
    let cases = [
        ("", Some("group:default/everyone")),
        ("docs", Some("user:default/docs")),
        ("docs/guides", Some("user:default/docs")),
        ("apps/web", Some("user:default/alice")),
        ("src/apps", Some("user:default/alice")),
        ("services/payments", Some("group:default/payments")),
        ("services/payouts/api", Some("group:default/payments")),
        ("services/payments/vendored", None),
        ("src/legacy/old", Some("group:default/archaeology")),
        ("weird name", Some("group:default/spaces")),
        ("services/cart", Some("group:default/everyone")),
    ];
    for (dir, expected) in cases {
        assert_eq!(owners.owner_of_dir(dir), expected, "{dir:?}");
    }
    assert_eq!(owner_ref("@Acme/Web Team"), Some("group:default/Web-Team".into()));
    assert_eq!(owner_ref("not-an-owner"), None);
}

#[test]
fn a_readme_description_is_its_first_paragraph_in_plain_text() {
    let md = "---\ntitle: x\n---\n<!-- hidden -->\n<p align=\"center\"><img src=\"logo.png\"></p>\n\n# Shop\n\n[![CI](b.svg)](ci) ![cov](c.svg)\n\n> A _small_ `demo` shop\n> with [docs](d.md) &amp; more.\n\nSecond paragraph.";
    assert_eq!(description(md).as_deref(), Some("A small demo shop with docs & more."));
    let rst = "Shop\n====\n\n.. image:: badge.svg\n\nThe shop, see `docs <https://x>`_.\n";
    assert_eq!(description(rst).as_deref(), Some("The shop, see docs."));
    assert_eq!(description("# Only a heading\n"), None);
    let long = format!("# T\n\n{}", "word ".repeat(400));
    assert!(description(&long).unwrap().ends_with('…'));
}

#[test]
fn docs_are_the_readme_and_docs_folder_capped_in_size_and_number() {
    let big = "x".repeat(300 * 1024);
    let mut files: Vec<(String, String)> = vec![
        ("svc/package.json".into(), r#"{"name":"svc"}"#.into()),
        ("svc/README.md".into(), "# svc\n\nThe service.\n".into()),
        ("svc/docs/big.md".into(), big),
        ("svc/docs/image.png".into(), "png".into()),
    ];
    for i in 0..60 {
        files.push((format!("svc/docs/guides/g{i:02}.md"), format!("# guide {i}\n")));
    }
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let inf = run(&borrowed);
    let c = entity(&inf, "component:default/svc");
    assert_eq!(c.docs.len(), 50);
    assert_eq!(c.docs[0].path, "svc/README.md");
    let big = c.docs.iter().find(|d| d.path == "svc/docs/big.md").unwrap();
    assert_eq!(big.markdown.len(), 256 * 1024);
    assert!(c.docs.iter().all(|d| d.path.ends_with(".md")));
}

#[test]
fn a_techdocs_ref_names_the_docs_folder_through_mkdocs() {
    let declared = vec![Declared {
        dir: "svc".into(),
        kind: "Component".into(),
        namespace: "default".into(),
        name: "svc".into(),
        techdocs_ref: Some("dir:../handbook".into()),
    }];
    let inf = run_declared(
        &[
            ("svc/package.json", r#"{"name":"svc"}"#),
            ("svc/docs/ignored.md", "# not these\n"),
            ("handbook/mkdocs.yml", "site_name: Svc\ndocs_dir: pages\n"),
            ("handbook/pages/index.md", "# Handbook\n"),
        ],
        declared,
    );
    let paths: Vec<&str> = entity(&inf, "component:default/svc").docs.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["handbook/pages/index.md"]);
}
