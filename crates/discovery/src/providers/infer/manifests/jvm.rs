//! JVM and .NET manifests: pom.xml, build.gradle(.kts) with settings.gradle, *.csproj.

use std::sync::LazyLock;

use regex::Regex;

use super::super::Cx;
use super::super::tree::{dir_of, file_name, join};
use super::{Found, Type, Verdict};

/// Parses XML, naming the position of a syntax error.
fn parse_xml(text: &str) -> Result<roxmltree::Document<'_>, String> {
    roxmltree::Document::parse(text).map_err(|e| {
        let pos = e.pos();
        let msg = e.to_string();
        let msg = msg.split(" at ").next().unwrap_or(&msg).to_owned();
        format!("{}:{}: {msg}", pos.row, pos.col)
    })
}

fn child<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> Option<roxmltree::Node<'a, 'a>> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

fn child_text<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> Option<&'a str> {
    child(node, name).and_then(|c| c.text()).map(str::trim).filter(|t| !t.is_empty())
}

/// Maven plugins and dependencies that make a project a deployable service.
const MAVEN_SERVICE_MARKERS: &[&str] = &[
    "spring-boot-maven-plugin",
    "spring-boot-starter-web",
    "spring-boot-starter-webflux",
    "quarkus-maven-plugin",
    "micronaut-maven-plugin",
    "jib-maven-plugin",
];

/// Gradle plugins that make a project a deployable service.
const GRADLE_SERVICE_MARKERS: &[&str] = &[
    "org.springframework.boot",
    "io.micronaut.application",
    "io.quarkus",
    "com.google.cloud.tools.jib",
    "io.ktor.plugin",
    "'application'",
    "\"application\"",
    "plugin: 'application'",
    "id 'war'",
    "id(\"war\")",
    "mainClassName",
];

fn jvm_language(cx: &Cx<'_>, dir: &str, text: &str) -> &'static str {
    let kotlin = text.contains("kotlin-maven-plugin")
        || text.contains("org.jetbrains.kotlin")
        || text.contains("kotlin(\"jvm\")")
        || cx.tree.has_dir(&join(dir, "src/main/kotlin"));
    if kotlin { "kotlin" } else { "java" }
}

/// `pom.xml`: the project's own `artifactId`; a `pom`-packaged parent or aggregator makes no
/// component.
pub(super) fn pom(cx: &Cx<'_>, path: &str, text: &str) -> Result<Verdict, String> {
    let doc = parse_xml(text)?;
    let project = doc.root_element();
    if project.tag_name().name() != "project" {
        return Err(format!("1:1: expected a <project> root element, found <{}>", project.tag_name().name()));
    }
    let packaging = child_text(project, "packaging").unwrap_or("jar");
    if packaging == "pom" {
        return Ok(Verdict::Aggregator);
    }
    let name = child_text(project, "artifactId").ok_or("project.artifactId: missing")?;
    let dir = dir_of(path);
    // A Spring Boot (Quarkus, Micronaut) application has a main class; a module that only
    // depends on the starters is a library, and one whose plugin sits in a parent POM is still
    // an application when it has its main class.
    let markers = MAVEN_SERVICE_MARKERS.iter().any(|m| text.contains(m));
    let service = matches!(packaging, "war" | "ear")
        || match jvm_main(cx, dir) {
            Some(main) => main,
            None => markers,
        };
    let kind = if service { Some(Type::Service) } else { None };
    Ok(Verdict::Component(Found { name: Some(name.to_owned()), language: Some(jvm_language(cx, dir, text)), kind }))
}

/// JVM source files looked at, at most, for an application's main class.
const MAX_MAIN_FILES: usize = 300;

/// Whether a JVM module's own sources (`src/main/java`, `src/main/kotlin`) hold an
/// application's main class (`@SpringBootApplication`, `SpringApplication.run`, a `main`
/// method, `@QuarkusMain`); `None` when it has no sources to tell.
fn jvm_main(cx: &Cx<'_>, dir: &str) -> Option<bool> {
    let src = join(dir, "src/main");
    let files: Vec<&str> = cx.tree.under(&src).filter(|p| p.ends_with(".java") || p.ends_with(".kt")).take(MAX_MAIN_FILES).collect();
    if files.is_empty() {
        return None;
    }
    // Files named like an application's entry point first.
    let mut ordered: Vec<&str> = files.iter().copied().filter(|p| is_entry_name(p)).collect();
    ordered.extend(files.iter().copied().filter(|p| !is_entry_name(p)));
    Some(ordered.into_iter().any(|p| {
        cx.tree.read(p).ok().flatten().is_some_and(|t| {
            t.contains("@SpringBootApplication") || t.contains("SpringApplication.run") || t.contains("@QuarkusMain") || t.contains("Micronaut.run")
                || t.contains("public static void main(") || t.contains("fun main(")
        })
    }))
}

fn is_entry_name(path: &str) -> bool {
    let name = file_name(path);
    ["Application.", "App.", "Main.", "Server.", "Launcher."].iter().any(|s| name.contains(s))
}

static ROOT_PROJECT_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"rootProject\.name\s*=\s*['"]([^'"]+)['"]"#).unwrap());
static INCLUDE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?m)^\s*include\b\s*\(?([^)\n]*)").unwrap());
static QUOTED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"['"]([^'"]+)['"]"#).unwrap());

/// The settings script of a Gradle build, when `dir` has one.
fn gradle_settings(cx: &Cx<'_>, dir: &str) -> Option<String> {
    let path = ["settings.gradle", "settings.gradle.kts"].into_iter().find(|n| cx.tree.has_file(dir, n))?;
    cx.tree.read(&join(dir, path)).ok().flatten()
}

/// Folders of the projects a settings script includes (`include ':app', ':libs:core'`).
pub(super) fn gradle_includes(settings: &str) -> Vec<String> {
    INCLUDE
        .captures_iter(settings)
        .flat_map(|c| QUOTED.captures_iter(c.get(1).map_or("", |m| m.as_str())).map(|q| q[1].to_owned()).collect::<Vec<_>>())
        .map(|p| p.trim_start_matches(':').replace(':', "/"))
        .filter(|p| !p.is_empty())
        .collect()
}

/// `build.gradle(.kts)`: a project named by `rootProject.name` (root) or its folder
/// (subprojects); a multi-project root without sources of its own makes no component.
pub(super) fn gradle(cx: &Cx<'_>, path: &str, text: &str) -> Result<Verdict, String> {
    let dir = dir_of(path);
    let settings = gradle_settings(cx, dir);
    let name = settings.as_deref().and_then(|s| ROOT_PROJECT_NAME.captures(s)).map(|c| c[1].to_owned());
    let includes = settings.as_deref().map(gradle_includes).unwrap_or_default();
    if !includes.is_empty() && !cx.tree.has_dir(&join(dir, "src/main")) {
        return Ok(Verdict::Aggregator);
    }
    let service = GRADLE_SERVICE_MARKERS.iter().any(|m| text.contains(m));
    let kind = if service { Some(Type::Service) } else { None };
    Ok(Verdict::Component(Found { name, language: Some(jvm_language(cx, dir, text)), kind }))
}

/// `*.csproj` / `*.fsproj`: a web or worker SDK or an executable is a service; test projects
/// make no component.
pub(super) fn dotnet(_: &Cx<'_>, path: &str, text: &str) -> Result<Verdict, String> {
    let doc = parse_xml(text.trim_start_matches('\u{feff}'))?;
    let project = doc.root_element();
    if project.tag_name().name() != "Project" {
        return Err(format!("1:1: expected a <Project> root element, found <{}>", project.tag_name().name()));
    }
    let property = |name: &str| {
        project.children().filter(|c| c.tag_name().name() == "PropertyGroup").find_map(|g| child_text(g, name))
    };
    let references = || {
        project.descendants().filter(|n| n.tag_name().name() == "PackageReference").filter_map(|n| n.attribute("Include"))
    };
    let stem = file_name(path).rsplit_once('.').map_or(file_name(path), |(s, _)| s);
    let is_test = property("IsTestProject").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || references().any(|r| r == "Microsoft.NET.Test.Sdk")
        || stem.to_ascii_lowercase().ends_with("tests");
    if is_test {
        return Ok(Verdict::Aggregator);
    }
    let sdk = project.attribute("Sdk").unwrap_or("");
    let exe = property("OutputType").is_some_and(|t| t.eq_ignore_ascii_case("exe") || t.eq_ignore_ascii_case("winexe"));
    let service = sdk.ends_with(".Web") || sdk.ends_with(".Worker") || exe || references().any(|r| r.starts_with("Grpc.AspNetCore"));
    let name = property("AssemblyName").unwrap_or(stem);
    let language = if path.ends_with(".fsproj") { "fsharp" } else { "csharp" };
    let kind = if service { Some(Type::Service) } else { None };
    Ok(Verdict::Component(Found { name: Some(name.to_owned()), language: Some(language), kind }))
}
