//! `publish:github`: creates a repository on GitHub (or GitHub Enterprise Server) through its
//! REST API and pushes the workspace to it, as Backstage's action does: `POST /orgs/{org}/repos`
//! for an organisation, `POST /user/repos` for the token's own account, then the topics. A
//! rollback deletes the repository it created (the token needs the right to).

use serde_json::{Value, json};

use super::host::{Repo, call, segment, token};
use crate::action::{Action, ActionError, Context};

pub struct PublishGithub;

#[async_trait::async_trait]
impl Action for PublishGithub {
    fn id(&self) -> &'static str {
        "publish:github"
    }

    fn description(&self) -> &'static str {
        "Creates a GitHub repository (`repoUrl`: github.com?owner=…&repo=…) through GitHub's REST API and pushes the workspace to it; a rollback deletes it."
    }

    fn input_schema(&self) -> Value {
        super::host::publish_schema("host?owner=…&repo=…, as RepoUrlPicker makes it.", "A token that may create repositories: ${{ secrets.GITHUB_TOKEN }}. Default: the secret GITHUB_TOKEN; false: none.", json!({"homepage": {"type": "string"}}))
    }

    fn example(&self) -> &'static str {
        "- id: publish\n  name: Publish to GitHub\n  action: publish:github\n  input:\n    repoUrl: github.com?owner=acme&repo=${{ parameters.name }}\n    description: ${{ parameters.description }}\n    repoVisibility: internal\n    topics: [python, service]\n    token: ${{ secrets.GITHUB_TOKEN }}\n"
    }

    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        let repo = Repo::of(&input)?;
        repo.check_allowed(&input)?;
        let token = token(cx, &input, &repo.host, "GITHUB_TOKEN")?;
        let base = cx.remotes.api_base("github", &repo.host);
        let visibility = input.get("repoVisibility").and_then(Value::as_str).unwrap_or("private");
        let owner = call(cx, &base, &token, "GET", &format!("/users/{}", segment(&repo.owner)), None, &[]).await?;
        let path = if owner.body["type"] == "Organization" { format!("/orgs/{}/repos", segment(&repo.owner)) } else { "/user/repos".to_owned() };
        let mut body = json!({ "name": repo.name, "private": visibility != "public", "description": input.get("description"), "homepage": input.get("homepage") });
        if visibility == "internal" {
            body["visibility"] = json!("internal");
        }
        let created = call(cx, &base, &token, "POST", &path, Some(&body), &[]).await.map_err(|e| {
            if e.message.contains("already exists") { ActionError::input("repoUrl", format!("{}/{} exists already on {}; publish:github only creates repositories", repo.owner, repo.name, repo.host)) } else { e }
        })?;
        let clone_url = created.body["clone_url"].as_str().ok_or_else(|| ActionError::new("GitHub's answer has no clone_url"))?.to_owned();
        let html_url = created.body["html_url"].as_str().unwrap_or(&clone_url).to_owned();
        cx.log(format!("created {}/{} ({visibility})", repo.owner, repo.name));
        let topics: Vec<&str> = input.get("topics").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        if !topics.is_empty() {
            call(cx, &base, &token, "PUT", &format!("/repos/{}/{}/topics", segment(&repo.owner), segment(&repo.name)), Some(&json!({ "names": topics })), &[]).await?;
        }
        let (commit, branch) = super::git::push(cx, &input, "repoUrl", &clone_url, Some(super::host::git_auth("github", &token))).await?;
        Ok(json!({ "remoteUrl": html_url, "repoContentsUrl": format!("{html_url}/blob/{branch}"), "commitHash": commit, "cloneUrl": clone_url, "created": format!("{}/{}", repo.owner, repo.name) }))
    }

    async fn undo(&self, cx: &mut Context<'_>, input: Value, output: &Value) -> Result<Option<String>, ActionError> {
        let Some(created) = output.get("created").and_then(Value::as_str) else { return Ok(None) };
        let repo = Repo::of(&input)?;
        let token = token(cx, &input, &repo.host, "GITHUB_TOKEN")?;
        let base = cx.remotes.api_base("github", &repo.host);
        call(cx, &base, &token, "DELETE", &format!("/repos/{}/{}", segment(&repo.owner), segment(&repo.name)), None, &[404]).await?;
        Ok(Some(format!("deleted the repository {created} on {}", repo.host)))
    }
}
