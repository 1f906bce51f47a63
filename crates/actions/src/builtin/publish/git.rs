//! `publish:git`: commits the workspace (or a folder of it) and pushes it to a new branch of a
//! git remote: `file://` repositories inside an allowed folder, `http(s)://`, `git://` or
//! `ssh://` hosts on the allow-list (`actions.remotes`). The git CLI does the work: gix, which
//! reads repositories elsewhere in Portico, cannot push. Its repository lives outside the
//! workspace, so later steps never see a `.git` folder; the user's and system's git
//! configuration are not read, and git never prompts.

use std::path::Path;
use std::process::Stdio;

use serde_json::{Value, json};

use crate::action::{Action, ActionError, Context, str_input};

pub struct PublishGit;

/// Runs git with a clean environment and `config` (key, value) set through it (never on the
/// command line); its error output on failure, secrets left to the engine's masking. Only the
/// transports the allow-list knows are enabled (no `ext::`).
async fn git(dir: &Path, git_dir: &Path, args: &[&str], extra: &[(&str, String)], config: &[(&str, String)]) -> Result<String, ActionError> {
    let mut cmd = tokio::process::Command::new("git");
    // `init --bare` of a new remote and `clone` run on their own; everything else on the run's
    // repository.
    let standalone = args.first() == Some(&"clone") || (args.first() == Some(&"init") && args.contains(&"--bare"));
    if !standalone {
        cmd.arg("--git-dir").arg(git_dir).arg("--work-tree").arg(dir);
    }
    cmd.args(args).current_dir(dir);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", git_dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "/bin/false");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let transports = ["file", "git", "http", "https", "ssh"].map(|t| (format!("protocol.{t}.allow"), "always".to_owned()));
    let all: Vec<(String, String)> = [("protocol.allow".to_owned(), "never".to_owned())].into_iter().chain(transports).chain(config.iter().map(|(k, v)| ((*k).to_owned(), v.clone()))).collect();
    cmd.env("GIT_CONFIG_COUNT", all.len().to_string());
    for (i, (k, v)) in all.iter().enumerate() {
        cmd.env(format!("GIT_CONFIG_KEY_{i}"), k).env(format!("GIT_CONFIG_VALUE_{i}"), v);
    }
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    let out = cmd.output().await.map_err(|e| ActionError::new(format!("running git: {e} (is git installed?)")))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        return Err(ActionError::new(format!("git {} failed: {}", args.first().unwrap_or(&""), said.trim())));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Commits the workspace (or its `sourcePath`) and pushes it to a new branch (`defaultBranch`,
/// default `main`) of `url`, as `publish:git` and the host actions (`publish:github`, …) do:
/// never over an existing branch; `auth` an HTTP header for http(s) remotes (through git's
/// environment, never its command line); a `file://` repository inside an allowed folder is
/// made when missing. The commit and the branch.
pub(crate) async fn push(cx: &mut Context<'_>, input: &Value, field: &str, url: &str, auth: Option<String>) -> Result<(String, String), ActionError> {
    let parsed = cx.remotes.check(url).map_err(|e| ActionError::input(field, e))?;
    let text = |k: &str, d: &str| input.get(k).and_then(Value::as_str).unwrap_or(d).to_owned();
    let branch = text("defaultBranch", "main");
    if branch.is_empty() || branch.starts_with('-') || branch.contains("..") || branch.chars().any(|c| c.is_whitespace() || "~^:?*[\\".contains(c)) {
        return Err(ActionError::input("defaultBranch", format!("{branch:?} is not a branch name")));
    }
    let dir = cx.workspace.resolve(&text("sourcePath", "")).map_err(|e| ActionError::input("sourcePath", e))?;
    if !dir.is_dir() {
        return Err(ActionError::input("sourcePath", "is not a folder of the workspace"));
    }
    let git_dir = tempfile::tempdir().map_err(|e| ActionError::new(format!("a folder for git: {e}")))?;
    let g = git_dir.path();
    let (name, email) = (text("gitAuthorName", "Portico"), text("gitAuthorEmail", "portico@localhost"));
    let who = [("GIT_AUTHOR_NAME", name.clone()), ("GIT_AUTHOR_EMAIL", email.clone()), ("GIT_COMMITTER_NAME", name), ("GIT_COMMITTER_EMAIL", email)];
    git(&dir, g, &["init", "-q", "-b", &branch], &[], &[]).await?;
    git(&dir, g, &["add", "-A"], &[], &[]).await?;
    git(&dir, g, &["commit", "-q", "--no-verify", "--allow-empty", "-m", &text("gitCommitMessage", "Initial commit")], &who, &[]).await?;
    let commit = git(&dir, g, &["rev-parse", "HEAD"], &[], &[]).await?;
    // A local repository in an allowed folder is made when missing, as a host would.
    if let Ok(path) = parsed.to_file_path().map_err(drop).and_then(|p| if parsed.scheme() == "file" { Ok(p) } else { Err(()) })
        && !path.exists()
    {
        let bare = path.display().to_string();
        git(g, g, &["init", "-q", "--bare", "-b", &branch, "--", &bare], &[], &[]).await?;
        cx.log(format!("created the repository {bare}"));
    }
    let push_config: Vec<(&str, String)> = auth.map(|h| ("http.extraHeader", h)).into_iter().collect();
    let refspec = format!("refs/heads/{branch}:refs/heads/{branch}");
    // The branch must not exist yet: a publish creates, it never overwrites (the lease below
    // holds that against a push racing this one).
    let existing = git(&dir, g, &["ls-remote", "--heads", "--", url, &format!("refs/heads/{branch}")], &[], &push_config).await.map_err(|e| ActionError::input(field, e.message))?;
    if !existing.is_empty() {
        return Err(ActionError::input(field, format!("the remote already has a branch {branch}; a publish only creates new ones")));
    }
    let lease = format!("--force-with-lease=refs/heads/{branch}:");
    git(&dir, g, &["push", "-q", &lease, "--", url, &refspec], &[], &push_config).await.map_err(|e| {
        if e.message.contains("rejected") || e.message.contains("already exists") { ActionError::input(field, format!("the remote already has a branch {branch}; a publish only creates new ones ({})", e.message)) } else { ActionError::input(field, e.message) }
    })?;
    cx.log(format!("pushed {} to {url} ({branch})", &commit[..commit.len().min(12)]));
    Ok((commit, branch))
}

/// Clones the branch or tag `reference` of `url` into the new folder `to` (working in `work`),
/// shallow where the host's protocol allows it (git's dumb HTTP does not: then whole), with
/// `auth` as an HTTP header. Checked against the allow-list by the caller.
pub(crate) async fn clone(work: &Path, url: &str, reference: &str, to: &str, auth: Option<String>) -> Result<(), ActionError> {
    let config: Vec<(&str, String)> = auth.map(|h| ("http.extraHeader", h)).into_iter().collect();
    let shallow = git(work, work, &["clone", "-q", "--depth", "1", "--single-branch", "--no-tags", "--branch", reference, "--", url, to], &[], &config).await;
    match shallow {
        Ok(_) => Ok(()),
        Err(e) if e.message.contains("shallow") => {
            let _ = std::fs::remove_dir_all(to);
            git(work, work, &["clone", "-q", "--single-branch", "--no-tags", "--branch", reference, "--", url, to], &[], &config).await.map(drop)
        }
        Err(e) => Err(e),
    }
}

/// Deletes `branch` of `url` if it still points at `commit` (a branch someone has pushed to
/// since is left alone, and the error says so): what was done.
pub(crate) async fn delete_branch(cx: &mut Context<'_>, url: &str, branch: &str, commit: &str, auth: Option<String>) -> Result<String, ActionError> {
    cx.remotes.check(url).map_err(|e| ActionError::input("repoUrl", e))?;
    let git_dir = tempfile::tempdir().map_err(|e| ActionError::new(format!("a folder for git: {e}")))?;
    let g = git_dir.path();
    let config: Vec<(&str, String)> = auth.map(|h| ("http.extraHeader", h)).into_iter().collect();
    git(g, g, &["init", "-q"], &[], &[]).await?;
    let lease = format!("--force-with-lease=refs/heads/{branch}:{commit}");
    match git(g, g, &["push", "-q", &lease, "--delete", "--", url, &format!("refs/heads/{branch}")], &[], &config).await {
        Ok(_) => {
            let done = format!("deleted the branch {branch} of {url}");
            cx.log(done.clone());
            Ok(done)
        }
        Err(e) => Err(ActionError::new(format!("the branch {branch} of {url} was not deleted (changed since, or unreachable): {}", e.message))),
    }
}

#[async_trait::async_trait]
impl Action for PublishGit {
    fn id(&self) -> &'static str {
        "publish:git"
    }

    fn description(&self) -> &'static str {
        "Commits the workspace (or `sourcePath`) and pushes it as a new branch of a git remote on the allow-list."
    }

    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["repoUrl"], "properties": {
            "repoUrl": {"type": "string", "description": "The remote: file://, http(s)://, git:// or ssh://."},
            "sourcePath": {"type": "string", "description": "The folder of the workspace to publish (default: all of it)."},
            "defaultBranch": {"type": "string", "description": "The branch to create (default main)."},
            "gitCommitMessage": {"type": "string", "description": "Default: Initial commit."},
            "gitAuthorName": {"type": "string", "description": "Default: Portico."},
            "gitAuthorEmail": {"type": "string", "description": "Default: portico@localhost."},
            "token": {"type": "string", "description": "For http(s) remotes: sent as a bearer token (use a secret: ${{ secrets.GIT_TOKEN }})."}
        }})
    }

    fn example(&self) -> &'static str {
        "- id: publish\n  name: Publish\n  action: publish:git\n  input:\n    repoUrl: https://git.example.com/shop/${{ parameters.name }}.git\n    defaultBranch: main\n    token: ${{ secrets.GIT_TOKEN }}\n"
    }

    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        let url = str_input(&input, "repoUrl")?.to_owned();
        let auth = input.get("token").and_then(Value::as_str).filter(|t| !t.is_empty()).map(|t| format!("Authorization: Bearer {t}"));
        let (commit, branch) = push(cx, &input, "repoUrl", &url, auth).await?;
        Ok(json!({ "remoteUrl": url, "repoContentsUrl": url, "commitHash": commit, "branch": branch }))
    }

    /// Deletes the branch the run pushed, if it still points at the run's commit (a branch
    /// someone has pushed to since is left alone, and the rollback says so).
    async fn undo(&self, cx: &mut Context<'_>, input: Value, output: &Value) -> Result<Option<String>, ActionError> {
        let (Some(url), Some(branch), Some(commit)) = (output["remoteUrl"].as_str(), output["branch"].as_str(), output["commitHash"].as_str()) else {
            return Err(ActionError::new("the step's output does not say what it pushed (remoteUrl, branch, commitHash)"));
        };
        let auth = input.get("token").and_then(Value::as_str).filter(|t| !t.is_empty()).map(|t| format!("Authorization: Bearer {t}"));
        delete_branch(cx, url, branch, commit, auth).await.map(Some)
    }
}
