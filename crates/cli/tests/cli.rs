//! The `portico` binary, black-box: lint, import, get, list, and the demo the README starts.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{portico, reqwest, start_demo, wait_ready};


fn examples() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/backstage/examples"))
}

#[test]
fn validate_prints_file_line_column_and_fails_on_problems() {
    let out = portico().args(["catalog", "validate"]).arg(examples().join("components/invalid-component.yaml")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("invalid-component.yaml:4:9: metadata.name:"), "{stdout}");
    assert!(stdout.contains("metadata.tags[1]"), "{stdout}");
}

#[test]
fn validate_passes_on_good_files_and_directories() {
    let out = portico().args(["catalog", "validate"]).arg(examples().join("acme/*.yaml")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    // A directory means every catalog-info.yaml below it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("svc/a")).unwrap();
    std::fs::copy(examples().join("components/petstore-component.yaml"), dir.path().join("svc/a/catalog-info.yaml")).unwrap();
    let out = portico().args(["catalog", "validate"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let out = portico().args(["catalog", "validate"]).arg(examples().join("all-components.yaml")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

/// `portico catalog validate catalog-info.yaml` refused with "outside the allowed roots ()",
/// and a standard `definition: {$text: ./openapi.yaml}` failed as a map where a string belongs.
#[test]
fn validate_reads_bare_names_and_globs_resolves_placeholders_and_follows_locations() {
    let dir = tempfile::tempdir().unwrap();
    let api = "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: orders\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n  definition:\n    $text: ./openapi.yaml\n";
    std::fs::write(dir.path().join("catalog-info.yaml"), api).unwrap();
    std::fs::write(dir.path().join("openapi.yaml"), "openapi: 3.0.0\ninfo: {title: orders, version: '1'}\npaths: {}\n").unwrap();
    for arg in ["catalog-info.yaml", "./catalog-info.yaml", "catalog-*.yaml"] {
        let out = portico().current_dir(dir.path()).args(["catalog", "validate", arg]).output().unwrap();
        assert!(out.status.success(), "{arg}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    // A Location's targets are followed: a problem in a target is found.
    std::fs::create_dir_all(dir.path().join("team")).unwrap();
    std::fs::write(dir.path().join("team/catalog-info.yaml"), "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: Not Valid\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n").unwrap();
    std::fs::write(dir.path().join("all.yaml"), "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: all\nspec:\n  targets: [./catalog-info.yaml, ./team/catalog-info.yaml]\n").unwrap();
    let out = portico().current_dir(dir.path()).args(["catalog", "validate", "all.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("team/catalog-info.yaml:4:9: metadata.name"), "{stdout}");
    // A missing placeholder target is a problem that names the field.
    std::fs::remove_file(dir.path().join("openapi.yaml")).unwrap();
    let out = portico().current_dir(dir.path()).args(["catalog", "validate", "catalog-info.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("spec.definition: cannot resolve placeholder"), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn validate_reports_malformed_yaml_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog-info.yaml");
    std::fs::write(&file, "apiVersion: backstage.io/v1alpha1\nkind: [\n").unwrap();
    let out = portico().args(["catalog", "validate"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with(&format!("{}:", file.display())), "{stdout}");
}

#[test]
fn import_then_get_and_list_from_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let env = |c: &mut Command| {
        c.env("PORTICO__DATA_DIR", dir.path()).env("PORTICO__READING__ALLOWED_ROOTS", format!("[\"{}\"]", examples().display()));
    };
    let mut import = portico();
    env(&mut import);
    let out = import.args(["catalog", "import"]).arg(examples().join("acme/org.yaml")).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("28 added"), "27 entities and the registration's own Location: {}", String::from_utf8_lossy(&out.stdout));

    let mut get = portico();
    env(&mut get);
    let out = get.args(["catalog", "get", "group:team-a"]).output().unwrap();
    assert!(out.status.success());
    let entity: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(entity["metadata"]["name"], "team-a");
    assert!(entity["relations"].as_array().unwrap().iter().any(|r| r["type"] == "childOf"));

    let mut list = portico();
    env(&mut list);
    let out = list.args(["catalog", "list", "--filter", "kind=user", "--json"]).output().unwrap();
    let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(page["totalItems"], 17);

    let mut missing = portico();
    env(&mut missing);
    let out = missing.args(["catalog", "get", "group:nobody"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("portico: entity `group:default/nobody` not found"));
}

/// Errors name the path once (`x: x: file not found` was printed), and a JSON list says when it
/// stopped at its limit.
#[test]
fn import_errors_name_the_path_once_and_lists_say_when_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.yaml");
    let out = portico().env("PORTICO__DATA_DIR", dir.path()).args(["catalog", "import"]).arg(&missing).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.matches(&*missing.display().to_string()).count(), 1, "{stderr}");
    assert!(stderr.contains("file not found"), "{stderr}");

    let env = |c: &mut Command| {
        c.env("PORTICO__DATA_DIR", dir.path()).env("PORTICO__READING__ALLOWED_ROOTS", format!("[\"{}\"]", examples().display()));
    };
    let mut import = portico();
    env(&mut import);
    assert!(import.args(["catalog", "import"]).arg(examples().join("acme/org.yaml")).output().unwrap().status.success());
    let mut list = portico();
    env(&mut list);
    let out = list.args(["catalog", "list", "--filter", "kind=user", "--json", "--limit", "5"]).output().unwrap();
    let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((page["items"].as_array().unwrap().len(), page["totalItems"].as_u64(), page["truncated"].as_bool()), (5, Some(17), Some(true)));
    assert!(String::from_utf8_lossy(&out.stderr).contains("raise --limit"));
}

/// `catalog import --dry-run` exits as the real import would: 0 when it would import (problems
/// in some documents listed), non-zero when nothing can be read.
#[test]
fn a_dry_run_exits_as_the_import_would() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog-info.yaml");
    std::fs::write(&file, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: good\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: bad name\nspec: {}\n").unwrap();
    let run = |target: &std::path::Path, dry: bool| {
        let mut c = portico();
        c.env("PORTICO__DATA_DIR", dir.path()).args(["catalog", "import"]).arg(target);
        if dry {
            c.arg("--dry-run");
        }
        c.output().unwrap()
    };
    let dry = run(&file, true);
    let real = run(&file, false);
    assert_eq!(dry.status.code(), real.status.code(), "{}", String::from_utf8_lossy(&dry.stdout));
    assert!(dry.status.success());
    assert!(String::from_utf8_lossy(&dry.stdout).contains("catalog-info.yaml:14:7: spec: \"type\" is a required property"), "{}", String::from_utf8_lossy(&dry.stdout));
    let missing = dir.path().join("missing.yaml");
    assert_eq!(run(&missing, true).status.success(), run(&missing, false).status.success());
    assert!(!run(&missing, true).status.success());
}

#[test]
fn discover_exits_non_zero_when_a_configured_repository_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("portico.yaml");
    let missing = dir.path().join("no-such-repo");
    let config = format!(
        "dataDir: {}\ndiscovery:\n  sources:\n    - {{ name: repos, type: git, repositories: [{}] }}\n",
        dir.path().join("data").display(),
        missing.display()
    );
    std::fs::write(&file, config).unwrap();
    let out = portico().arg("--config").arg(&file).args(["discover"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no-such-repo: no such directory"), "{stderr}");
    assert!(stderr.contains("discovery did not read everything: repos"), "{stderr}");
}

#[test]
fn bad_configuration_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("portico.yaml");
    std::fs::write(&file, "server:\n  prot: 1\n").unwrap();
    let out = portico().arg("--config").arg(&file).args(["catalog", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("portico.yaml") && stderr.contains("prot"), "{stderr}");
}



/// The catalog's health once the demo's discovery sources have run (their first runs start
/// when the catalog has been read).
fn wait_for_discovery(url: &str) -> String {
    let started = Instant::now();
    loop {
        let runs = reqwest::blocking_get(&format!("{url}/api/v1/discovery"));
        let runs: serde_json::Value = serde_json::from_str(&runs).unwrap();
        let sources = runs["items"].as_array().cloned().unwrap_or_default();
        // A run is recorded when it ends.
        if !sources.is_empty() && sources.iter().all(|s| s["lastRun"].is_object()) {
            return reqwest::blocking_get(&format!("{url}/api/v1/health/catalog"));
        }
        assert!(started.elapsed() < Duration::from_secs(90), "the demo's discovery did not finish: {runs}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What the README's first command does: the demo serves the bundled catalog and prints its URL.
#[test]
fn the_demo_serves_the_bundled_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = start_demo(&["--port", "0", "--data-dir", dir.path().to_str().unwrap()], dir.path());
    for body in wait_ready(&url) {
        assert!(body.contains("\"status\":\"loading\""), "{body}");
    }
    let body = reqwest::blocking_get(&format!("{url}/api/catalog/entity-facets?facet=kind"));
    let health = wait_for_discovery(&url);
    let apis = reqwest::blocking_get(&format!("{url}/api/catalog/entities?filter=kind=api&fields=metadata"));
    child.kill().unwrap();
    // The demo's own OpenAPI files are declared in its catalog, not discovered again as APIs of
    // the repository the demo runs in.
    let apis: serde_json::Value = serde_json::from_str(&apis).unwrap();
    for api in apis.as_array().unwrap() {
        let source = api["metadata"]["annotations"]["backstage.io/source-location"].as_str().unwrap_or_default();
        assert!(!source.contains("/demo/"), "{api}");
    }
    let _ = child.wait();
    let facets: serde_json::Value = serde_json::from_str(&body).unwrap();
    let kinds = facets["facets"]["kind"].as_array().unwrap();
    let count = |k: &str| kinds.iter().find(|v| v["value"] == k).map(|v| v["count"].as_u64().unwrap());
    assert_eq!(count("Component"), Some(16));
    assert_eq!(count("Environment"), Some(3), "the demo's custom kind (staging, production and a preview)");
    assert!(dir.path().join("portico.db").exists(), "a data directory given with --data-dir is kept");
    // The demo's own data is clean: no errors, no relation to an entity that does not exist
    // (remote definitions it cannot read offline, owners that do not exist).
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["errors"], 0, "{health}");
    assert_eq!(health["unresolvedRelations"], serde_json::json!([]), "{health}");
}

/// The demo's own temporary data directory is removed when it stops with Ctrl-C, and when it
/// cannot start because its port is taken, which it says, pointing at `--port`.
#[test]
fn the_demo_cleans_up_after_itself_and_names_a_taken_port() {
    let tmp = tempfile::tempdir().unwrap();
    let leftovers = || std::fs::read_dir(tmp.path()).unwrap().filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with("portico-demo-")).collect::<Vec<_>>();
    let (mut child, url) = start_demo(&["--port", "0"], tmp.path());
    wait_ready(&url);
    assert_eq!(leftovers().len(), 1, "the demo's data directory");

    // The same port again: refused, saying so.
    let port = url.rsplit(':').next().unwrap().trim_end_matches('/');
    let out = portico().args(["demo", "--port", port]).env("TMPDIR", tmp.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(&format!("port {port} of 127.0.0.1 is already in use")) && stderr.contains("--port"), "{stderr}");
    assert_eq!(leftovers().len(), 1, "the failed demo left nothing behind");

    // Ctrl-C (SIGINT) stops the first one, which removes its directory.
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let stopped = child.wait().unwrap();
    assert!(stopped.success(), "{stopped}");
    assert!(leftovers().is_empty(), "{:?}", leftovers());
}


#[test]
fn diff_lists_what_changed_between_two_times() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog-info.yaml");
    let component = |owner: &str| format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: cart\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n");
    std::fs::write(&file, component("team-a")).unwrap();
    let run = |args: &[&str]| portico().env("PORTICO__DATA_DIR", dir.path().join("data")).args(args).output().unwrap();
    assert!(run(&["catalog", "import", file.to_str().unwrap()]).status.success());
    std::thread::sleep(Duration::from_millis(30));
    let t1 = now_rfc3339();
    std::thread::sleep(Duration::from_millis(30));
    std::fs::write(&file, component("team-b")).unwrap();
    assert!(run(&["catalog", "import", file.to_str().unwrap()]).status.success());

    let out = run(&["diff", "--from", &t1]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("changed") && stdout.contains("component:default/cart") && stdout.contains("spec.owner"), "{stdout}");

    let out = run(&["diff", "--from", "not-a-time"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--from: \"not-a-time\" is not an RFC 3339 time"));
}

/// Now as RFC 3339 (UTC, milliseconds).
fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[test]
fn query_answers_as_a_table_csv_or_json_and_points_at_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let with_env = |c: &mut Command| {
        c.env("PORTICO__DATA_DIR", dir.path()).env("PORTICO__READING__ALLOWED_ROOTS", format!("[\"{}\"]", examples().display()));
    };
    let mut import = portico();
    with_env(&mut import);
    assert!(import.args(["catalog", "import"]).arg(examples().join("acme/org.yaml")).output().unwrap().status.success());
    let run = |args: &[&str]| {
        let mut c = portico();
        with_env(&mut c);
        c.arg("query").args(args).output().unwrap()
    };

    let out = run(&["kind == 'Group' && related('childOf').size() == 0", "-f", "metadata.name", "-f", "reachable('parentOf').size()"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("ref"), "{table}");
    assert!(table.contains("group:default/acme-corp"), "{table}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("matched"), "a summary on stderr");

    let out = run(&["kind == 'User'", "--group-by", "related('memberOf').map(g, g.metadata.name)[0]", "--format", "csv"]);
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(csv.starts_with("\"related('memberOf').map(g, g.metadata.name)[0]\",count\n"), "{csv}");

    let out = run(&["kind == 'Group'", "--format", "json", "--limit", "1"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert!(v["totalItems"].as_u64().unwrap() > 1);

    let out = run(&["kind == 'Group' && relatd('x')"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown function 'relatd'; did you mean 'related'?") && err.contains("\n  |                    ^^^^^^"), "{err}");

    let out = run(&["true", "--as-of", "2999-01-01T00:00:00Z"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--as-of: 2999-01-01T00:00:00Z is in the future"));
    let out = run(&["--saved", "nope"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no saved query named \"nope\""));
}

/// The questions of docs/how-to/query-the-catalog.md, on the demo catalog, with their answers.
#[test]
fn the_query_how_to_answers_what_it_says() {
    let demo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/demo"));
    let dir = tempfile::tempdir().unwrap();
    let with_env = |c: &mut Command| {
        c.env("PORTICO__DATA_DIR", dir.path()).env("PORTICO__READING__ALLOWED_ROOTS", format!("[\"{}\"]", demo.display()));
    };
    let mut import = portico();
    with_env(&mut import);
    import.args(["catalog", "import"]).arg(demo.join("catalog-info.yaml")).output().unwrap();
    let refs = |expression: &str| -> Vec<String> {
        let mut c = portico();
        with_env(&mut c);
        let out = c.args(["query", expression, "--format", "json"]).output().unwrap();
        assert!(out.status.success(), "{expression}: {}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["items"].as_array().unwrap().iter().map(|e| format!("{}:{}", e["kind"].as_str().unwrap().to_lowercase(), e["metadata"]["name"].as_str().unwrap())).collect()
    };
    assert_eq!(refs("kind == 'Resource' && (related('ownedBy').size() == 0 || inverse('dependsOn').size() == 0)"), ["resource:legacy-artifacts"]);
    assert_eq!(refs("reachable('dependsOn').exists(e, e.ref == 'resource:default/portico-db')"), ["component:portico", "component:scorecard-worker"]);
    assert_eq!(
        refs("kind == 'Component' && spec.type == 'service' && inverse('deploys').exists(d, d.has_relation('runsIn', 'environment:default/staging'))"),
        ["component:portico", "component:scorecard-worker"]
    );
    assert_eq!(
        refs("kind == 'API' && inverse('consumesApi').exists(c, c.related('partOf').exists(s, s.related('ownedBy').exists(o, o.ref == 'group:default/infrastructure' || o.reachable('childOf').exists(p, p.ref == 'group:default/infrastructure'))))"),
        ["api:catalog-api"]
    );
    assert!(refs("kind == 'Component' && related('ownedBy').size() == 0").is_empty(), "every owner in the demo exists");
}

/// Registering a location and ingesting it are one transaction: a `kill -9` at any moment of an
/// import leaves either nothing (the location is not registered, and importing again registers
/// it) or the location with every entity (importing again refreshes it), never a registered but
/// empty location that answers "already registered".
#[test]
fn an_import_killed_at_any_moment_leaves_nothing_or_everything() {
    const N: usize = 6000;
    let files = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..N {
        text.push_str(&format!(
            "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: c-{i}\n  description: generated {i}\nspec:\n  type: service\n  lifecycle: production\n  owner: team-{}\n  dependsOn: [component:c-{}]\n",
            i % 17,
            (i + 1) % N
        ));
    }
    let file = files.path().join("catalog-info.yaml");
    std::fs::write(&file, text).unwrap();
    let run = |data: &std::path::Path, args: &[&str]| {
        let mut c = portico();
        c.env("PORTICO__DATA_DIR", data).args(args);
        c
    };
    let components = |data: &std::path::Path| {
        let out = run(data, &["catalog", "list", "--filter", "kind=component", "--json"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["totalItems"].as_u64().unwrap() as usize
    };
    let target = file.display().to_string();

    // A clean import, timed, as the yardstick for where to kill.
    let clean = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = run(clean.path(), &["catalog", "import", &target]).output().unwrap();
    let whole = started.elapsed();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("registered"), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(components(clean.path()), N);

    let mut outcomes = Vec::new();
    for tenth in [1u32, 3, 5, 7, 9] {
        let data = tempfile::tempdir().unwrap();
        let mut child = run(data.path(), &["catalog", "import", &target]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(whole * tenth / 10);
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        let seen = components(data.path());
        assert!(seen == 0 || seen == N, "killed at {tenth}/10: {seen} of {N} components");
        let again = run(data.path(), &["catalog", "import", &target]).output().unwrap();
        let said = String::from_utf8_lossy(&again.stdout).into_owned();
        assert!(again.status.success(), "{said}{}", String::from_utf8_lossy(&again.stderr));
        let expected = if seen == 0 { "registered" } else { "refreshed" };
        assert!(said.starts_with(expected), "killed at {tenth}/10 with {seen} components, then: {said}");
        assert_eq!(components(data.path()), N);
        outcomes.push(seen);
    }
    assert!(outcomes.contains(&0), "at least the earliest kill came before the commit: {outcomes:?} in {whole:?}");
}

#[test]
fn tokens_are_created_listed_and_revoked_in_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| portico().env("PORTICO__DATA_DIR", dir.path()).args(args).output().unwrap();

    let out = run(&["token", "create", "--name", "ci", "--scope", "read", "--scope", "write", "--expires-in-days", "30"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let secret = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(secret.starts_with("pt_") && secret.len() == 67, "only the secret is on stdout: {secret}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("shown this once"));

    let out = run(&["token", "list", "--json"]);
    let tokens: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = tokens[0]["id"].as_str().unwrap().to_owned();
    assert_eq!((tokens[0]["owner"].as_str(), tokens[0]["scopes"].clone()), (Some("cli"), serde_json::json!(["read", "write"])));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&secret[3..]), "no secret in the list");

    assert!(run(&["token", "revoke", &id]).status.success());
    let table = String::from_utf8_lossy(&run(&["token", "list"]).stdout).into_owned();
    assert!(table.starts_with("ID") && table.contains("revoked") && table.ends_with('\n'), "{table}");
    let again = run(&["token", "revoke", &id]);
    assert_eq!(again.status.code(), Some(2), "an error exits 2");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already revoked"), "{}", String::from_utf8_lossy(&again.stderr));

    // Both are in the audit log, as the command line's.
    let log = String::from_utf8_lossy(&run(&["audit", "--csv"]).stdout).into_owned();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(lines[1].contains(",cli,token.revoke,") && lines[2].contains(",cli,token.create,"), "{log}");

    let bad = run(&["token", "create", "--name", "x", "--scope", "root"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("scopes[0]: \"root\" is neither a scope"), "{}", String::from_utf8_lossy(&bad.stderr));
}

/// The policy of docs/how-to/decide-who-may-do-what.md, taken from the page itself, answers
/// over the demo catalog as the page says.
#[test]
fn the_policy_how_to_answers_what_it_says() {
    let demo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/demo"));
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/how-to/decide-who-may-do-what.md")).unwrap();
    let policy = page.split("<<'YAML'\n").nth(1).unwrap().split("\nYAML\n").next().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("portico.yaml");
    std::fs::write(&config, policy).unwrap();
    let run = |args: &[&str]| {
        portico()
            .env("PORTICO__DATA_DIR", dir.path())
            .env("PORTICO__READING__ALLOWED_ROOTS", format!("[\"{}\"]", demo.display()))
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    };
    let import = run(&["catalog", "import", demo.join("catalog-info.yaml").to_str().unwrap()]);
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));

    let check = run(&["policy", "check"]);
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success() && text.contains("5 rules") && text.contains("production-is-frozen") && text.contains("catalog.entity.delete"), "{text}");

    let explain = |who: &str, permission: &str, entity: Option<&str>| {
        let mut args = vec!["policy", "explain", "--as", who, "--permission", permission];
        args.extend(entity.iter().flat_map(|e| ["--entity", e]));
        let out = run(&args);
        (out.status.code(), String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().to_owned())
    };
    assert_eq!(explain("user:default/ada", "catalog.location.delete", None), (Some(0), "allowed: catalog.location.delete: allowed by rule \"admins\"".into()));
    let (code, line) = explain("user:default/amelia.park", "catalog.entity.refresh", Some("component:default/portico"));
    assert_eq!((code, line.as_str()), (Some(1), "denied: catalog.entity.refresh on component:default/portico: user:default/amelia.park may not catalog.entity.refresh: no rule of the policy allows it"));
    let (code, line) = explain("user:default/ada", "catalog.entity.refresh", Some("component:default/portico"));
    assert_eq!((code, line.as_str()), (Some(0), "allowed: catalog.entity.refresh on component:default/portico: allowed by rule \"admins\""));
    let (code, line) = explain("user:default/ada", "catalog.entity.delete", Some("component:default/portico"));
    assert_eq!((code, line.as_str()), (Some(1), "denied: catalog.entity.delete on component:default/portico: user:default/ada may not catalog.entity.delete: denied by rule \"production-is-frozen\""));
    // team-b's entities are hidden from Breanna (team-a): asked about one, and about them all.
    let (code, line) = explain("user:default/breanna.davison", "catalog.entity.read", Some("component:default/podcast-api"));
    assert_eq!((code, line.as_str()), (Some(1), "denied: catalog.entity.read on component:default/podcast-api: user:default/breanna.davison may not catalog.entity.read: denied by rule \"team-b-private\""));
    let out = run(&["policy", "explain", "--as", "user:default/breanna.davison", "--permission", "catalog.entity.read"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("the policy hides the rest from them"), "{text}");
    let (code, line) = explain("user:default/amelia.park", "catalog.entity.read", Some("component:default/podcast-api"));
    assert_eq!(code, Some(0), "team-b reads its own: {line}");
    let out = run(&["policy", "explain", "--as", "user:default/ada", "--permission", "catalog.entity.remove"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--permission: \"catalog.entity.remove\" is not a permission"));

    // A mistake in a rule stops the check (and the server) with its place.
    std::fs::write(&config, policy.replace("when: user.admin", "when: usr.admin")).unwrap();
    let out = run(&["policy", "check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("auth.policy.rules[1].when: 1:1:") && err.contains("usr"), "{err}");
}

/// Runs `portico` with `args` and `env`, with `input` on standard input: exit code, stdout,
/// stderr.
fn run_with<S: AsRef<std::ffi::OsStr>>(args: &[S], env: &[(&str, &str)], input: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut cmd = portico();
    cmd.args(args).env_remove("PORTICO_SERVER").env_remove("PORTICO_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The command line against a running server: a token from a login saved per server (readable
/// by its owner only), queries, tokens and the audit log through the API, the token's end, and
/// refusals that say why.
#[test]
fn the_command_line_talks_to_a_remote_server_with_a_saved_token() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = start_demo(&["--port", "0", "--data-dir", dir.path().to_str().unwrap()], dir.path());
    wait_ready(&url);
    let creds = dir.path().join("creds/credentials.json");
    let env = [("PORTICO_CREDENTIALS", creds.to_str().unwrap())];
    let server = ["--server", url.as_str()];
    let with = |more: &[&str]| server.iter().chain(more).map(|s| (*s).to_owned()).collect::<Vec<String>>();

    // The demo's guest makes a token (on a server with sign-in, a person would).
    let (code, secret, err) = run_with(&with(&["token", "create", "--name", "laptop", "--scope", "write"]), &env, "");
    assert_eq!(code, 0, "{err}");
    let secret = secret.trim().to_owned();
    assert!(secret.starts_with("pt_") && err.contains("shown this once"), "{secret} {err}");

    // Login reads it from standard input, checks it, and saves it for this server only.
    let (code, out, err) = run_with(&with(&["login"]), &env, &format!("{secret}\n"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("Logged in to {url} as guest")), "{out}");
    let saved = std::fs::read_to_string(&creds).unwrap();
    assert!(saved.contains(&secret) && saved.contains(&url));
    #[cfg(unix)]
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&creds).unwrap().permissions()) & 0o777, 0o600, "readable by its owner only");

    let (code, out, err) = run_with(&with(&["whoami"]), &env, "");
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&format!("guest via token on {url}")) && out.contains("catalog.location.create"), "{out}");

    // A query, answered by the server in the format asked.
    let (code, out, err) = run_with(&with(&["query", "kind == 'System'", "-f", "spec.owner", "--format", "csv"]), &env, "");
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("ref,spec.owner") && out.contains("system:default/"), "{out}");
    let (code, _, err) = run_with(&with(&["query", "kind == "]), &env, "");
    assert_ne!(code, 0);
    assert!(err.contains("answered 400"), "a mistake in the expression is the server's 400, with its message: {err}");

    // Tokens and the audit log through the API; the audit log names the token's owner.
    let (code, out, err) = run_with(&with(&["token", "list"]), &env, "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("laptop") && out.contains("active"), "{out}");
    let (code, out, err) = run_with(&with(&["audit", "--action", "token.", "--limit", "5"]), &env, "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("token.create") && out.contains("guest"), "{out}");

    // Ended on the server: the saved token no longer works, and the command says why.
    let id = {
        let (_, out, _) = run_with(&with(&["token", "list", "--json"]), &env, "");
        let tokens: serde_json::Value = serde_json::from_str(&out).unwrap();
        tokens[0]["id"].as_str().unwrap().to_owned()
    };
    let (code, _, err) = run_with(&with(&["token", "revoke", &id]), &env, "");
    assert_eq!(code, 0, "{err}");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (code, _, err) = run_with(&with(&["whoami"]), &env, "");
    assert_eq!(code, 2);
    assert!(err.contains("answered 401") && err.contains("was revoked"), "{err}");
    let (code, _, err) = run_with(&with(&["whoami"]), &[("PORTICO_CREDENTIALS", creds.to_str().unwrap()), ("PORTICO_TOKEN", "pt_not-a-token")], "");
    assert_eq!(code, 2);
    assert!(err.contains("answered 401") && err.contains("not valid"), "PORTICO_TOKEN wins over the saved one: {err}");

    let (code, out, _) = run_with(&with(&["logout"]), &env, "");
    assert_eq!(code, 0);
    assert!(out.contains("no longer saved here"), "{out}");
    assert!(!std::fs::read_to_string(&creds).unwrap().contains(&secret));
    child.kill().unwrap();
    let _ = child.wait();

    // Refused before anything is sent.
    let (code, _, err) = run_with(&["--server", "http://portico.example.com", "whoami"], &env, "");
    assert_eq!(code, 2);
    assert!(err.contains("in clear"), "{err}");
    let (code, _, err) = run_with(&["--server", "https://portico.example.com", "discover"], &env, "");
    assert_eq!(code, 2);
    assert!(err.contains("no --server mode"), "{err}");
    let (code, _, err) = run_with(&["--server", url.as_str(), "login"], &env, "\n");
    assert_eq!(code, 2);
    assert!(err.contains("no token given"), "{err}");
}

/// `portico gate` for CI on the configured database: 0 and PASS when the entity reaches the
/// level, 1 and the rules to fix when it does not, 2 on a mistake; `--json` is the API's
/// answer; `portico scorecards` lists them.
#[test]
fn the_gate_exits_as_ci_needs_and_names_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog-info.yaml");
    std::fs::write(
        &file,
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: { name: shop }\nspec: { type: team, children: [] }\n---\n\
         apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: cart }\nspec: { type: service, lifecycle: production, owner: shop }\n---\n\
         apiVersion: portico.dev/v1\nkind: Scorecard\nmetadata: { name: readiness }\nspec:\n  filter: kind == 'Component'\n  rules:\n    - { id: owner, level: Bronze, expression: owner_exists() }\n\
         \x20   - { id: description, title: Says what it does, level: Silver, expression: has_description(), remediation: { text: Add metadata.description } }\n---\n\
         apiVersion: portico.dev/v1\nkind: Initiative\nmetadata: { name: describe }\nspec: { scorecard: readiness, level: Silver, deadline: '2999-01-01' }\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = portico().env("PORTICO__DATA_DIR", dir.path()).env("PORTICO__READING__ALLOWED_ROOTS", format!("[\"{}\"]", dir.path().display())).args(args).output().unwrap();
        (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, out, err) = run(&["catalog", "import", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");

    let (code, out, _) = run(&["gate", "component:cart", "--scorecard", "readiness", "--level", "Bronze"]);
    assert_eq!((code, out.trim()), (0, "PASS  component:default/cart reaches Bronze on scorecard:default/readiness (at Bronze, score 50)"));
    let (code, out, _) = run(&["gate", "component:default/cart", "--scorecard", "readiness", "--level", "silver"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("FAIL  component:default/cart does not reach Silver") && out.contains("✗ [Silver] Says what it does (description)") && out.contains("→ Add metadata.description"), "{out}");
    let (code, out, _) = run(&["gate", "cart", "--scorecard", "readiness", "--level", "Silver", "--json"]);
    assert_eq!(code, 1, "a bare name is a component, as Backstage reads it");
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((answer["pass"].as_bool(), answer["level"].as_str(), answer["failing"][0]["id"].as_str()), (Some(false), Some("Bronze"), Some("description")));
    let (code, out, _) = run(&["gate", "component:nope", "--scorecard", "readiness", "--level", "Bronze"]);
    assert_eq!(code, 1, "an unknown entity fails closed");
    assert!(out.contains("no entity component:default/nope in the catalog"), "{out}");
    for (args, says) in [
        (["gate", "cart", "--scorecard", "nope", "--level", "Bronze"], "--scorecard: no scorecard \"nope\"; the scorecards: readiness"),
        (["gate", "cart", "--scorecard", "readiness", "--level", "Platinum"], "--level: \"Platinum\" is not a level of scorecard:default/readiness"),
        (["gate", "a:b:c/d", "--scorecard", "readiness", "--level", "Gold"], "not an entity reference"),
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let (code, out, _) = run(&["scorecards"]);
    assert_eq!(code, 0);
    assert!(out.contains("scorecard:default/readiness") && out.contains("none 0 · Bronze 1 · Silver 0 · Gold 0"), "{out}");
    let (code, _, _) = run(&["audit", "--action", "scorecard.gate"]);
    assert_eq!(code, 0);

    // Initiatives on the same database: the list, one with its to-do list, and mistakes.
    let (code, out, _) = run(&["initiatives"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("initiative:default/describe") && out.contains("0 / 1 (0%)"), "{out}");
    let (code, out, _) = run(&["initiatives", "describe", "--owner", "shop"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("component:default/cart (group:default/shop, at Bronze)") && out.contains("✗ [Silver] Says what it does (description)") && out.contains("→ Add metadata.description"), "{out}");
    let (code, out, _) = run(&["initiatives", "default/describe", "--json"]);
    assert_eq!(code, 0);
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((answer["total"].as_u64(), answer["totalItems"].as_u64()), (Some(1), Some(1)), "{answer}");
    for (args, says) in [
        (vec!["initiatives", "nope"], "no initiative initiative:default/nope"),
        (vec!["initiatives", "describe", "--owner", "group:"], "--owner:"),
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
