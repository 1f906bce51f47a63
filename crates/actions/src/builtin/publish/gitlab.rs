//! `publish:gitlab`: creates a project on GitLab (gitlab.com or self-managed) through its REST
//! API (`GET /namespaces/{owner}`, `POST /projects`, as Backstage's action does) and pushes the
//! workspace to it. A rollback deletes the project it created.

use serde_json::{Value, json};

use super::host::{Repo, call, segment, token};
use crate::action::{Action, ActionError, Context};

pub struct PublishGitlab;

#[async_trait::async_trait]
impl Action for PublishGitlab {
    fn id(&self) -> &'static str {
        "publish:gitlab"
    }

    fn description(&self) -> &'static str {
        "Creates a GitLab project (`repoUrl`: gitlab.com?owner=group&repo=…) through GitLab's REST API and pushes the workspace to it; a rollback deletes it."
    }

    fn input_schema(&self) -> Value {
        super::host::publish_schema("host?owner=group/subgroup&repo=…, as RepoUrlPicker makes it.", "A token that may create projects in the group: ${{ secrets.GITLAB_TOKEN }}. Default: the secret GITLAB_TOKEN; false: none.", json!({}))
    }

    fn example(&self) -> &'static str {
        "- id: publish\n  name: Publish to GitLab\n  action: publish:gitlab\n  input:\n    repoUrl: gitlab.com?owner=acme/services&repo=${{ parameters.name }}\n    repoVisibility: internal\n    token: ${{ secrets.GITLAB_TOKEN }}\n"
    }

    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        let repo = Repo::of(&input)?;
        repo.check_allowed(&input)?;
        let token = token(cx, &input, &repo.host, "GITLAB_TOKEN")?;
        let base = cx.remotes.api_base("gitlab", &repo.host);
        let namespace = call(cx, &base, &token, "GET", &format!("/namespaces/{}", segment(&repo.owner)), None, &[]).await?;
        let namespace_id = namespace.body["id"].as_i64().ok_or_else(|| ActionError::input("repoUrl", format!("GitLab has no namespace {} that this token sees", repo.owner)))?;
        let body = json!({
            "name": repo.name, "path": repo.name, "namespace_id": namespace_id,
            "visibility": input.get("repoVisibility").and_then(Value::as_str).unwrap_or("private"),
            "description": input.get("description"), "topics": input.get("topics"),
            "default_branch": input.get("defaultBranch").and_then(Value::as_str).unwrap_or("main"),
        });
        let created = call(cx, &base, &token, "POST", "/projects", Some(&body), &[]).await.map_err(|e| {
            if e.message.contains("has already been taken") { ActionError::input("repoUrl", format!("{}/{} exists already on {}; publish:gitlab only creates projects", repo.owner, repo.name, repo.host)) } else { e }
        })?;
        let project_id = created.body["id"].as_i64().ok_or_else(|| ActionError::new("GitLab's answer has no project id"))?;
        let clone_url = created.body["http_url_to_repo"].as_str().ok_or_else(|| ActionError::new("GitLab's answer has no http_url_to_repo"))?.to_owned();
        let web_url = created.body["web_url"].as_str().unwrap_or(&clone_url).to_owned();
        cx.log(format!("created the project {}/{} ({project_id})", repo.owner, repo.name));
        let (commit, branch) = super::git::push(cx, &input, "repoUrl", &clone_url, Some(super::host::git_auth("gitlab", &token))).await?;
        Ok(json!({ "remoteUrl": web_url, "repoContentsUrl": format!("{web_url}/-/blob/{branch}"), "commitHash": commit, "projectId": project_id, "cloneUrl": clone_url }))
    }

    async fn undo(&self, cx: &mut Context<'_>, input: Value, output: &Value) -> Result<Option<String>, ActionError> {
        let Some(id) = output.get("projectId").and_then(Value::as_i64) else { return Ok(None) };
        let repo = Repo::of(&input)?;
        let token = token(cx, &input, &repo.host, "GITLAB_TOKEN")?;
        let base = cx.remotes.api_base("gitlab", &repo.host);
        call(cx, &base, &token, "DELETE", &format!("/projects/{id}"), None, &[404]).await?;
        Ok(Some(format!("deleted the project {}/{} ({id}) on {}", repo.owner, repo.name, repo.host)))
    }
}
