//! `portico bench actions`: times self-service runs. A 200-file skeleton rendered by a dry
//! run; a run asked for over HTTP until its first log line arrives on its event stream;
//! concurrent dry runs over HTTP; and a run whose server is killed with SIGKILL mid-run, taken
//! up by a second server from the same database. Prints plain numbers.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use portico_catalog::{Catalog, CatalogOptions, LocationService, LocationSpec, Reader, ReaderConfig};
use portico_server::{AppState, Application};
use serde_json::{Value, json};

use super::bench::percentiles;

#[derive(Args)]
pub struct ActionsBench {
    /// Files in the skeleton.
    #[arg(long, default_value_t = 200)]
    files: usize,
    /// Runs timed for each measure.
    #[arg(long, default_value_t = 50)]
    runs: usize,
    /// Dry runs asked for at once.
    #[arg(long, default_value_t = 100)]
    concurrent: usize,
}

const TEMPLATE: &str = r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: bench-service
spec:
  type: service
  parameters:
    - required: [name]
      properties:
        name: { type: string }
        wait: { type: integer, default: 0 }
  steps:
    - id: hello
      action: debug:log
      input: { message: 'starting ${{ parameters.name }}' }
    - id: fetch
      action: fetch:template
      input:
        url: ./skeleton
        values: { name: '${{ parameters.name }}', owner: group:default/team-a, port: 8080 }
    - id: wait
      action: debug:wait
      input: { milliseconds: '${{ parameters.wait }}' }
    - id: descriptor
      action: catalog:write
      input:
        entity:
          apiVersion: backstage.io/v1alpha1
          kind: Component
          metadata: { name: '${{ parameters.name }}' }
          spec: { type: service, lifecycle: experimental, owner: group:default/team-a }
"#;

/// A skeleton of `files` files in nested folders, some names templated, each ~2 KB of code
/// with a few expressions, a loop and a condition: a realistic service skeleton, multiplied.
fn skeleton(dir: &Path, files: usize) -> anyhow::Result<()> {
    let body = "# ${{ values.name }}: generated file\nimport os\n\nOWNER = \"${{ values.owner }}\"\nPORT = int(os.environ.get(\"PORT\", \"${{ values.port }}\"))\n{% for i in range(5) %}\ndef handler_${{ i }}(request):\n    \"\"\"Handles route ${{ i }} of ${{ values.name | upper }}.\"\"\"\n    return {\"service\": \"${{ values.name }}\", \"route\": ${{ i }}}\n{% endfor %}\n{% if values.port > 1024 %}\nUNPRIVILEGED = True\n{% endif %}\n";
    let padding = "# ".to_owned() + &"lorem ipsum dolor sit amet ".repeat(40) + "\n";
    for i in 0..files {
        let folder = dir.join(format!("skeleton/src/{}/module_{}", if i % 3 == 0 { "${{ values.name | replace('-', '_') }}" } else { "common" }, i / 20));
        std::fs::create_dir_all(&folder)?;
        std::fs::write(folder.join(format!("file_{i}.py")), format!("{body}{padding}"))?;
    }
    Ok(())
}

async fn post(client: &reqwest::Client, url: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
    let res = client.post(url).json(body).send().await?;
    let status = res.status().as_u16();
    Ok((status, res.json().await.unwrap_or(Value::Null)))
}

pub async fn run(opts: ActionsBench) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    skeleton(dir.path(), opts.files)?;
    std::fs::write(dir.path().join("template.yaml"), TEMPLATE)?;
    let db = portico_testkit::TestDb::sqlite().await;
    let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await?;
    let locations = LocationService::new(catalog.clone(), Reader::new(ReaderConfig { allowed_roots: vec![dir.path().to_path_buf()], ..Default::default() }));
    locations.register(&LocationSpec { kind: "file".into(), target: dir.path().join("template.yaml").display().to_string() }, false).await?;
    let state = AppState::new(catalog.clone(), locations).with_runs(dir.path().join("runs"), portico_actions::RunsConfig { per_template: 1000, per_user: 1000, ..Default::default() });
    state.runs.start();
    let template = portico_actions::template::find(&catalog.read(), "bench-service").map_err(anyhow::Error::msg)?;
    let mut rows: Vec<(String, String)> = Vec::new();

    // Rendering: a dry run of the whole template (no HTTP), the skeleton its main work.
    let mut times = Vec::new();
    for i in 0..opts.runs.min(20) {
        let t = Instant::now();
        let report = state.runs.dry_run(&template, &json!({"name": format!("svc-{i}")}), json!({}), None).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        times.push(t.elapsed());
        anyhow::ensure!(report.status == "completed" && report.files.len() == opts.files + 1, "the dry run made {} files: {:?}", report.files.len(), report.steps);
    }
    rows.push((format!("dry run rendering a {}-file skeleton (in process)", opts.files), percentiles(times)));

    let app = Application::build_with(state.clone(), "127.0.0.1:0".parse()?, portico_web::router(state.clone())).await?;
    let base = app.url();
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::new();
    let runs_url = format!("{base}/api/v1/actions/default/bench-service/runs");

    // Request to first log line: POST a run, open its events, wait for the first `log`.
    let mut first_line = Vec::new();
    let mut whole = Vec::new();
    for i in 0..opts.runs {
        let t = Instant::now();
        let (status, run) = post(&client, &runs_url, &json!({"parameters": {"name": format!("run-{i}")}})).await?;
        anyhow::ensure!(status == 202, "POST answered {status}: {run}");
        let id = run["id"].as_str().unwrap_or_default();
        let mut stream = client.get(format!("{runs_url}/{id}/events")).send().await?;
        let mut seen = String::new();
        let mut got_first = false;
        while let Some(chunk) = stream.chunk().await? {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if !got_first && seen.contains("event: log") {
                first_line.push(t.elapsed());
                got_first = true;
            }
            if seen.contains("event: end") {
                whole.push(t.elapsed());
                break;
            }
        }
        anyhow::ensure!(seen.contains("\"status\":\"completed\""), "run {id} did not complete: {seen}");
    }
    rows.push(("request to first log line (POST …/runs, then its event stream, HTTP)".into(), percentiles(first_line)));
    rows.push((format!("request to the end of a run ({}-file skeleton, HTTP)", opts.files), percentiles(whole)));

    // Concurrent dry runs over HTTP.
    let t = Instant::now();
    let asks: Vec<_> = (0..opts.concurrent).map(|i| {
        let (client, url) = (client.clone(), runs_url.clone());
        tokio::spawn(async move {
            let t = Instant::now();
            let r = post(&client, &url, &json!({"parameters": {"name": format!("dry-{i}")}, "dryRun": true})).await;
            (r, t.elapsed())
        })
    }).collect();
    let mut errors = 0;
    let mut each = Vec::new();
    for a in asks {
        match a.await? {
            (Ok((200, report)), took) if report["status"] == "completed" => each.push(took),
            _ => errors += 1,
        }
    }
    rows.push((format!("{} concurrent dry runs (HTTP): errors, wall time, each", opts.concurrent), format!("{errors} errors, {:.2} s in all; {}", t.elapsed().as_secs_f64(), percentiles(each))));

    rows.push(kill_nine(dir.path()).await?);

    println!("\n| measure | value |\n| --- | --- |");
    for (what, value) in &rows {
        println!("| {what} | {value} |");
    }
    Ok(ExitCode::SUCCESS)
}

/// A server killed with SIGKILL in the middle of a run; a second one, on the same database,
/// takes the run up when the first's lease lapses (3 s here) and finishes it.
async fn kill_nine(dir: &Path) -> anyhow::Result<(String, String)> {
    let data = dir.join("kill9");
    std::fs::create_dir_all(&data)?;
    let config = data.join("portico.yaml");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    std::fs::write(
        &config,
        format!(
            "dataDir: {}\nserver: {{ port: {port} }}\nreading: {{ allowedRoots: [{}] }}\ncatalog: {{ locations: [{{ type: file, target: {} }}] }}\nactions: {{ leaseSeconds: 3 }}\n",
            data.display(),
            dir.display(),
            dir.join("template.yaml").display()
        ),
    )?;
    let start = || std::process::Command::new(std::env::current_exe().expect("the binary")).args(["--config", &config.display().to_string(), "serve"]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let ready = async |client: &reqwest::Client| {
        for _ in 0..200 {
            if client.get(format!("{base}/api/v1/actions")).send().await.ok().and_then(|r| r.status().is_success().then_some(())).is_some() {
                let list: Value = client.get(format!("{base}/api/v1/actions")).send().await.ok()?.json().await.ok()?;
                if list["items"].as_array().is_some_and(|i| !i.is_empty()) {
                    return Some(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    };
    let mut first = start()?;
    ready(&client).await.ok_or_else(|| anyhow::anyhow!("the first server did not start"))?;
    let runs_url = format!("{base}/api/v1/actions/default/bench-service/runs");
    let (_, run) = post(&client, &runs_url, &json!({"parameters": {"name": "survivor", "wait": 4000}})).await?;
    let id = run["id"].as_str().unwrap_or_default().to_owned();
    // Kill it while the wait step runs.
    for _ in 0..200 {
        let r: Value = client.get(format!("{runs_url}/{id}")).send().await?.json().await?;
        if r["steps"][2]["status"] == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill()?;
    let _ = first.wait();
    let killed = Instant::now();
    let mut second = start()?;
    let outcome = async {
        ready(&client).await.ok_or_else(|| anyhow::anyhow!("the second server did not start"))?;
        for _ in 0..600 {
            let r: Value = client.get(format!("{runs_url}/{id}")).send().await?.json().await?;
            if r["status"] == "completed" || r["status"] == "failed" {
                return Ok::<_, anyhow::Error>(r);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("the run was not taken up")
    }
    .await;
    let _ = second.kill();
    let _ = second.wait();
    let r = outcome?;
    Ok((
        "a run whose server got SIGKILL mid-step (lease 3 s, a 4 s step)".into(),
        format!("{} after {} attempts, {:.1} s after the kill; steps {}", r["status"].as_str().unwrap_or(""), r["attempts"], killed.elapsed().as_secs_f64(), r["steps"].as_array().map(|s| s.iter().map(|s| s["status"].as_str().unwrap_or("").to_owned()).collect::<Vec<_>>().join(", ")).unwrap_or_default()),
    ))
}
