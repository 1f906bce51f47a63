//! Components from build manifests: names, languages, types, aggregators, ignored folders,
//! bad input.

use super::{entity, keys, run, run_declared, str_at};
use crate::providers::infer::Declared;

#[test]
fn a_cargo_workspace_gives_one_component_per_member_and_none_for_the_virtual_root() {
    let inf = run(&[
        ("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n"),
        ("crates/api/Cargo.toml", "[package]\nname = \"shop-api\"\nversion = \"0.1.0\"\n"),
        ("crates/api/src/main.rs", "fn main() {}\n"),
        ("crates/model/Cargo.toml", "[package]\nname = \"shop_model\"\n"),
        ("crates/model/src/lib.rs", ""),
        ("target/debug/build/x/Cargo.toml", "[package]\nname = \"junk\"\n"),
    ]);
    assert_eq!(keys(&inf), ["component:default/shop-api", "component:default/shop_model"]);
    assert_eq!(str_at(entity(&inf, "component:default/shop-api"), "/spec/type"), "service");
    assert_eq!(str_at(entity(&inf, "component:default/shop_model"), "/spec/type"), "library");
    assert_eq!(str_at(entity(&inf, "component:default/shop_model"), "/metadata/annotations/portico.dev~1language"), "rust");
}

#[test]
fn an_npm_workspace_types_its_packages_and_skips_its_root() {
    let inf = run(&[
        ("package.json", r#"{"name":"monorepo","private":true,"workspaces":["packages/*"]}"#),
        ("packages/web/package.json", r#"{"name":"@acme/web","private":true,"dependencies":{"react":"18","react-dom":"18"},"devDependencies":{"vite":"5","typescript":"5"}}"#),
        ("packages/api/package.json", r#"{"name":"@acme/api","private":true,"dependencies":{"express":"4"}}"#),
        ("packages/ui/package.json", r#"{"name":"@acme/ui","main":"dist/index.js","peerDependencies":{"react":"18"},"devDependencies":{"react":"18"}}"#),
        ("node_modules/left-pad/package.json", r#"{"name":"left-pad"}"#),
    ]);
    assert_eq!(keys(&inf), ["component:default/acme-api", "component:default/acme-ui", "component:default/acme-web"]);
    let web = entity(&inf, "component:default/acme-web");
    assert_eq!(str_at(web, "/spec/type"), "website");
    assert_eq!(str_at(web, "/metadata/tags/0"), "typescript");
    assert_eq!(str_at(entity(&inf, "component:default/acme-api"), "/spec/type"), "service");
    assert_eq!(str_at(entity(&inf, "component:default/acme-api"), "/metadata/tags/0"), "javascript");
    assert_eq!(str_at(entity(&inf, "component:default/acme-ui"), "/spec/type"), "library");
}

#[test]
fn a_gradle_multi_project_gives_its_subprojects_and_not_its_root() {
    let inf = run(&[
        ("settings.gradle", "rootProject.name = 'shop'\ninclude 'app', 'libs:core'\n"),
        ("build.gradle", "allprojects { repositories { mavenCentral() } }\n"),
        ("app/build.gradle", "plugins {\n  id 'application'\n}\nmainClassName = 'shop.App'\n"),
        ("app/src/main/java/shop/App.java", "class App {}"),
        ("libs/core/build.gradle.kts", "plugins { kotlin(\"jvm\") }\n"),
        ("libs/core/src/main/kotlin/Core.kt", ""),
    ]);
    assert_eq!(keys(&inf), ["component:default/app", "component:default/core"]);
    assert_eq!(str_at(entity(&inf, "component:default/app"), "/spec/type"), "service");
    assert_eq!(str_at(entity(&inf, "component:default/app"), "/metadata/tags/0"), "java");
    assert_eq!(str_at(entity(&inf, "component:default/core"), "/spec/type"), "library");
    assert_eq!(str_at(entity(&inf, "component:default/core"), "/metadata/tags/0"), "kotlin");
}

#[test]
fn a_maven_parent_is_skipped_and_a_spring_boot_module_is_a_service() {
    let parent = r#"<?xml version="1.0"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <artifactId>shop-parent</artifactId><packaging>pom</packaging>
  <modules><module>orders</module></modules>
</project>"#;
    let module = r#"<project xmlns="http://maven.apache.org/POM/4.0.0">
  <parent><artifactId>shop-parent</artifactId></parent>
  <artifactId>orders</artifactId>
  <build><plugins><plugin><artifactId>spring-boot-maven-plugin</artifactId></plugin></plugins></build>
</project>"#;
    let inf = run(&[("pom.xml", parent), ("orders/pom.xml", module)]);
    assert_eq!(keys(&inf), ["component:default/orders"]);
    assert_eq!(str_at(entity(&inf, "component:default/orders"), "/spec/type"), "service");
}

#[test]
fn go_python_dotnet_and_others_are_named_and_typed_like_microservices_demo() {
    let inf = run(&[
        ("src/checkoutservice/go.mod", "module github.com/GoogleCloudPlatform/microservices-demo/src/checkoutservice\n\ngo 1.22\n"),
        ("src/checkoutservice/main.go", "package main\n"),
        ("src/money/go.mod", "// money helpers\nmodule example.com/money/v2\n"),
        ("src/money/money.go", "package money\n"),
        ("src/emailservice/requirements.txt", "grpcio==1.60\nJinja2\n"),
        ("src/emailservice/email_server.py", ""),
        ("src/emailservice/Dockerfile", "FROM python:3.12\n"),
        ("docs/requirements.txt", "mkdocs\n"),
        ("tools/pyproject.toml", "[tool.black]\nline-length = 100\n"),
        ("src/recs/pyproject.toml", "[project]\nname = \"recommendation_service\"\ndependencies = [\"fastapi>=0.100\"]\n"),
        ("src/cartservice/src/cartservice.csproj", r#"<Project Sdk="Microsoft.NET.Sdk.Web"><PropertyGroup><TargetFramework>net8.0</TargetFramework></PropertyGroup></Project>"#),
        ("src/cartservice/tests/cartservice.tests.csproj", r#"<Project Sdk="Microsoft.NET.Sdk"><ItemGroup><PackageReference Include="Microsoft.NET.Test.Sdk" /></ItemGroup></Project>"#),
        ("src/cartservice/Dockerfile", "FROM mcr.microsoft.com/dotnet/sdk\n"),
        ("php/composer.json", r#"{"name":"acme/billing","type":"project","require":{"laravel/framework":"^11"}}"#),
        ("ruby/Gemfile", "source 'https://rubygems.org'\ngem 'rails', '~> 7'\n"),
        ("ex/mix.exs", "defmodule Umbrella.MixProject do\n  def project, do: [apps_path: \"apps\"]\nend\n"),
        ("ex/apps/chat/mix.exs", "def project do\n [app: :chat, deps: [{:phoenix, \"~> 1.7\"}]]\nend\n"),
        ("native/CMakeLists.txt", "cmake_minimum_required(VERSION 3.20)\nproject(imgproc LANGUAGES CXX)\nadd_subdirectory(src)\n"),
        ("native/src/CMakeLists.txt", "add_library(core core.cpp)\n"),
        ("deploy/proxy/Dockerfile", "FROM nginx\n"),
    ]);
    assert_eq!(
        keys(&inf),
        [
            "component:default/acme-billing",
            "component:default/cartservice",
            "component:default/chat",
            "component:default/checkoutservice",
            "component:default/emailservice",
            "component:default/imgproc",
            "component:default/money",
            "component:default/proxy",
            "component:default/recommendation_service",
            "component:default/ruby",
        ]
    );
    let types = [
        ("checkoutservice", "service", "go"),
        ("money", "library", "go"),
        ("emailservice", "service", "python"),
        ("recommendation_service", "service", "python"),
        ("cartservice", "service", "csharp"),
        ("acme-billing", "service", "php"),
        ("ruby", "service", "ruby"),
        ("chat", "service", "elixir"),
        ("imgproc", "library", "cpp"),
    ];
    for (name, ty, lang) in types {
        let c = entity(&inf, &format!("component:default/{name}"));
        assert_eq!((str_at(c, "/spec/type"), str_at(c, "/metadata/annotations/portico.dev~1language")), (ty, lang), "{name}");
    }
    let proxy = entity(&inf, "component:default/proxy");
    assert_eq!(str_at(proxy, "/spec/type"), "service");
    assert!(proxy.document.pointer("/metadata/tags").is_none());
}

#[test]
fn manifests_in_ignored_and_test_folders_make_no_component() {
    let inf = run(&[
        ("vendor/github.com/x/y/go.mod", "module github.com/x/y\n"),
        ("web/node_modules/react/package.json", r#"{"name":"react"}"#),
        ("dist/package.json", r#"{"name":"built"}"#),
        ("build/pom.xml", "<project><artifactId>b</artifactId></project>"),
        ("testdata/Cargo.toml", "[package]\nname = \"fixture\"\n"),
        ("pkg/fixtures/app/package.json", r#"{"name":"fixture-app"}"#),
        ("tests/e2e/package.json", r#"{"name":"e2e"}"#),
    ]);
    assert!(inf.contributions.is_empty(), "{:?}", keys(&inf));
}

#[test]
fn names_from_the_outside_world_are_sanitized_and_fall_back_to_the_folder() {
    let inf = run(&[
        ("a/package.json", r#"{"name":"@Acme Corp/Web UI!"}"#),
        ("b b/requirements.txt", "flask\n"),
        ("b b/app.py", ""),
        ("Dockerfile", "FROM scratch\n"),
    ]);
    assert_eq!(keys(&inf), ["component:default/acme-corp-web-ui", "component:default/b-b"]);
    // The root Dockerfile is above other manifests: it belongs to no component of its own.
    let inf = run(&[("Dockerfile", "FROM scratch\n")]);
    assert_eq!(keys(&inf), ["component:default/shop"]);
}

#[test]
fn a_declared_entity_in_the_same_folder_names_the_inferred_component() {
    let declared = vec![Declared {
        dir: "services/cart".into(),
        kind: "Component".into(),
        namespace: "shop".into(),
        name: "cart".into(),
        techdocs_ref: None,
    }];
    let inf = run_declared(&[("services/cart/go.mod", "module example.com/cartservice\n")], declared);
    let c = entity(&inf, "component:shop/cart");
    assert_eq!(str_at(c, "/metadata/namespace"), "shop");
}

#[test]
fn invalid_manifests_are_reported_with_file_and_position_and_others_still_inferred() {
    let inf = run(&[
        ("bad-json/package.json", "{\n  \"name\": \"x\",\n  oops\n}"),
        ("bad-toml/Cargo.toml", "[package]\nname = \"x\nversion = 1\n"),
        ("bad-xml/pom.xml", "<project>\n  <artifactId>x</artifactId>\n  <build>\n</project>\n"),
        ("no-module/go.mod", "go 1.22\n"),
        ("good/package.json", r#"{"name":"good"}"#),
    ]);
    assert_eq!(keys(&inf), ["component:default/good"]);
    let messages: Vec<&str> = inf.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages.len(), 4, "{messages:#?}");
    assert!(messages.iter().any(|m| m.starts_with("bad-json/package.json:3:3: ")), "{messages:#?}");
    assert!(messages.iter().any(|m| m.starts_with("bad-toml/Cargo.toml:2:")), "{messages:#?}");
    assert!(messages.iter().any(|m| m.starts_with("bad-xml/pom.xml:4:")), "{messages:#?}");
    assert!(messages.iter().any(|m| m.starts_with("no-module/go.mod:1:1: no module directive")), "{messages:#?}");
    let e = inf.errors.iter().find(|e| e.message.starts_with("bad-json")).unwrap();
    assert_eq!(e.location, "https://git.example.com/acme/shop.git@abc123:bad-json/package.json");
}

#[test]
fn a_binary_or_oversized_manifest_is_skipped_without_error() {
    let mem = super::Mem::new(&[("ok/go.mod", "module example.com/ok\n")]).with_binary("big/package.json");
    let inf = crate::providers::infer::infer(&super::repo(), &mem, &Default::default());
    assert_eq!(keys(&inf), ["component:default/ok"]);
    assert!(inf.errors.is_empty());
}

#[test]
fn two_packages_with_one_name_keep_the_first_and_report_the_second() {
    let inf = run(&[("a/package.json", r#"{"name":"dup"}"#), ("b/package.json", r#"{"name":"dup"}"#)]);
    assert_eq!(keys(&inf), ["component:default/dup"]);
    assert_eq!(inf.errors.len(), 1);
    assert!(inf.errors[0].message.contains("already used by a/package.json"), "{:?}", inf.errors);
}
