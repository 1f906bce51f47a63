//! `github:actions:dispatch`: starts a GitHub Actions workflow that has a `workflow_dispatch`
//! trigger (`POST /repos/{owner}/{repo}/actions/workflows/{id}/dispatches`), as Backstage's
//! action does: a deploy, a data job, a release.

use serde_json::{Value, json};

use crate::action::{Action, ActionError, Context, str_input};
use crate::builtin::publish::host::{Repo, call, segment, token};

pub struct GithubDispatch;

#[async_trait::async_trait]
impl Action for GithubDispatch {
    fn id(&self) -> &'static str {
        "github:actions:dispatch"
    }

    fn description(&self) -> &'static str {
        "Starts the GitHub Actions workflow `workflowId` of `repoUrl` on `branchOrTagName`, with `workflowInputs`."
    }

    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["repoUrl", "workflowId", "branchOrTagName"], "properties": {
            "repoUrl": {"type": "string", "description": "host?owner=…&repo=…"},
            "workflowId": {"type": "string", "minLength": 1, "description": "The workflow's file name (deploy.yml) or id."},
            "branchOrTagName": {"type": "string", "minLength": 1},
            "workflowInputs": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}, "maxProperties": 25},
            "token": {"type": ["string", "boolean"], "description": "A token that may run workflows: ${{ secrets.GITHUB_TOKEN }}. Default: the secret GITHUB_TOKEN; false: none."}
        }})
    }

    fn example(&self) -> &'static str {
        "- id: deploy\n  name: Start the deploy workflow\n  action: github:actions:dispatch\n  input:\n    repoUrl: github.com?owner=acme&repo=${{ entity.metadata.name }}\n    workflowId: deploy.yml\n    branchOrTagName: main\n    workflowInputs:\n      version: ${{ parameters.version }}\n    token: ${{ secrets.GITHUB_TOKEN }}\n"
    }

    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        let repo = Repo::of(&input)?;
        let token = token(cx, &input, &repo.host, "GITHUB_TOKEN")?;
        let workflow = str_input(&input, "workflowId")?;
        let reference = str_input(&input, "branchOrTagName")?;
        let base = cx.remotes.api_base("github", &repo.host);
        // GitHub takes workflow inputs as strings.
        let inputs: serde_json::Map<String, Value> = input.get("workflowInputs").and_then(Value::as_object).into_iter().flatten().map(|(k, v)| (k.clone(), json!(v.as_str().map_or_else(|| v.to_string(), str::to_owned)))).collect();
        let path = format!("/repos/{}/{}/actions/workflows/{}/dispatches", segment(&repo.owner), segment(&repo.name), segment(workflow));
        call(cx, &base, &token, "POST", &path, Some(&json!({ "ref": reference, "inputs": inputs })), &[]).await.map_err(|e| ActionError::input("workflowId", e.message))?;
        cx.log(format!("started the workflow {workflow} of {}/{} on {reference}", repo.owner, repo.name));
        Ok(json!({ "workflowId": workflow, "ref": reference }))
    }
}
