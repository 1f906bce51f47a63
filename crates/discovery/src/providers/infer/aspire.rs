//! .NET Aspire app hosts: the `Program.cs` of a project built with `Aspire.AppHost.Sdk` (or
//! referencing `Aspire.Hosting.AppHost`) describes the deployment in code. Each
//! `builder.AddProject<Projects.Catalog_API>("catalog-api")` is a workload of the project
//! `Catalog.API`; `builder.AddRedis("redis")`, `AddPostgres`, `AddRabbitMQ`… and
//! `postgres.AddDatabase("catalogdb")` are datastores; `.WithReference(x)` chained on a
//! statement is a dependency on `x`.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use super::Cx;
use super::settings::Setting;
use super::tree::{dir_of, join};
use super::workloads::Workload;

/// Aspire hosting methods of datastores, with the image a workload of that kind runs.
const RESOURCES: &[(&str, &str)] = &[
    ("AddRedis", "redis"),
    ("AddValkey", "valkey"),
    ("AddGarnet", "redis"),
    ("AddPostgres", "postgres"),
    ("AddMySql", "mysql"),
    ("AddSqlServer", "mssql"),
    ("AddMongoDB", "mongo"),
    ("AddOracle", "oracle"),
    ("AddRabbitMQ", "rabbitmq"),
    ("AddKafka", "kafka"),
    ("AddNats", "nats"),
    ("AddElasticsearch", "elasticsearch"),
    ("AddQdrant", "qdrant"),
    ("AddMilvus", "milvus"),
    ("AddAzureCosmosDB", "cosmos"),
    ("AddAzureStorage", "azurite"),
    ("AddAzureServiceBus", "servicebus"),
];

static STATEMENT_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*(?:var\s+(\w+)\s*=\s*)?(\w+)\.(Add\w+)(?:<Projects\.(\w+)>)?\(\s*"([^"]+)""#).unwrap()
});
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\.WithReference\(\s*(\w+)").unwrap());

/// True for the project file of an Aspire app host.
pub(crate) fn is_app_host(csproj: &str) -> bool {
    csproj.contains("Aspire.AppHost.Sdk") || csproj.contains("Aspire.Hosting.AppHost") || csproj.contains("<IsAspireHost>true")
}

/// The app hosts' folders of the tree.
pub(crate) fn hosts(cx: &Cx<'_>) -> Vec<String> {
    cx.tree
        .paths
        .iter()
        .filter(|p| p.ends_with(".csproj"))
        .filter(|p| cx.tree.read(p).ok().flatten().is_some_and(|t| is_app_host(&t)))
        .map(|p| dir_of(p).to_owned())
        .collect()
}

/// One `Add…(…)` statement with its chained calls, and the line it starts on.
struct Statement {
    var: Option<String>,
    method: String,
    project: Option<String>,
    name: String,
    text: String,
    line: usize,
}

fn statements(text: &str) -> Vec<Statement> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(c) = STATEMENT_START.captures(lines[i]) else {
            i += 1;
            continue;
        };
        let start = i;
        let mut body = String::new();
        while i < lines.len() {
            body.push_str(lines[i]);
            body.push('\n');
            i += 1;
            let code = lines[i - 1].split("//").next().unwrap_or("");
            if code.trim_end().ends_with(';') {
                break;
            }
        }
        out.push(Statement {
            var: c.get(1).map(|m| m.as_str().to_owned()),
            method: c[3].to_owned(),
            project: c.get(4).map(|m| m.as_str().replace('_', ".")),
            name: c[5].to_owned(),
            text: body,
            line: start + 1,
        });
    }
    out
}

/// The workloads the app hosts (`hosts`, their folders) describe.
pub(crate) fn collect(cx: &Cx<'_>, hosts: &[String]) -> Vec<Workload> {
    let mut out = Vec::new();
    for dir in hosts {
        let path = join(dir, "Program.cs");
        let Some(text) = cx.tree.read(&path).ok().flatten() else { continue };
        let stmts = statements(&text);
        // Variable → the name services reach it by.
        let names: HashMap<&str, &str> = stmts.iter().filter_map(|s| Some((s.var.as_deref()?, s.name.as_str()))).collect();
        // Variable → the resource method that made it (databases inherit their server's).
        let mut kinds: HashMap<&str, &str> = HashMap::new();
        for s in &stmts {
            if let (Some(var), Some((_, image))) = (s.var.as_deref(), RESOURCES.iter().find(|(m, _)| *m == s.method)) {
                kinds.insert(var, image);
            }
        }
        for s in &stmts {
            let receiver = STATEMENT_START.captures(s.text.lines().next().unwrap_or("")).map(|c| c[2].to_owned()).unwrap_or_default();
            let image = match s.method.as_str() {
                "AddDatabase" => kinds.get(receiver.as_str()).copied(),
                m => RESOURCES.iter().find(|(r, _)| *r == m).map(|(_, i)| *i),
            };
            let mut w = Workload { path: path.clone(), line: s.line, names: vec![s.name.clone()], ..Workload::default() };
            if let Some(image) = image {
                w.images.push(image.to_owned());
            } else if let Some(project) = &s.project {
                // The project's name finds its component (`Catalog.API`).
                w.names.push(project.clone());
            } else if s.method != "AddProject" && s.method != "AddNpmApp" && s.method != "AddContainer" && s.method != "AddDockerfile" {
                continue;
            }
            for (k, r) in REFERENCE.captures_iter(&s.text).enumerate() {
                if let Some(target) = names.get(&r[1]) {
                    let line = s.line + s.text[..r.get(0).map_or(0, |m| m.start())].matches('\n').count();
                    w.env.push(Setting::new(format!("WithReference#{k}"), *target, &path, line));
                }
            }
            out.push(w);
        }
    }
    out
}
