//! `approval:wait`: the run stops here until enough members of a group approve it (not the
//! person who asked for it), one of them rejects it, or the time runs out. While it waits, the
//! run holds no worker: it is parked (`waiting`) and taken up again once the approval is
//! decided, on any replica.

use serde_json::{Value, json};

use crate::action::{Action, ActionError, Context, str_input};

pub struct ApprovalWait;

/// Three days, unless the step says otherwise.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 3 * 24 * 3600;

#[async_trait::async_trait]
impl Action for ApprovalWait {
    fn id(&self) -> &'static str {
        "approval:wait"
    }

    fn description(&self) -> &'static str {
        "Waits until `count` members of the group `approvers` approve the run (never the person who asked for it); one rejection or the timeout fails the step."
    }

    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["approvers"], "additionalProperties": false, "properties": {
            "approvers": {"type": "string", "minLength": 1, "description": "the group whose members approve: group:default/sre, or sre"},
            "count": {"type": "integer", "minimum": 1, "maximum": 20, "default": 1},
            "message": {"type": "string", "maxLength": 2000, "description": "what the approvers are asked"},
            "timeoutSeconds": {"type": "integer", "minimum": 60, "maximum": 2_592_000, "description": "how long to wait (default three days)"}
        }})
    }

    fn example(&self) -> &'static str {
        "- id: approve\n  name: SRE approves the production deploy\n  action: approval:wait\n  input:\n    approvers: group:default/sre\n    count: 1\n    message: Deploy ${{ parameters.version }} of ${{ entity.metadata.name }} to production\n    timeoutSeconds: 86400\n"
    }

    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        let group = group_key(str_input(&input, "approvers")?).map_err(|e| ActionError::input("approvers", e))?;
        let count = input.get("count").and_then(Value::as_u64).unwrap_or(1);
        let Some(state) = cx.approval else {
            cx.log(format!("waiting for {count} approval{} from {group}", if count == 1 { "" } else { "s" }));
            let ask = json!({
                "approvers": group,
                "count": count,
                "message": input.get("message").cloned().unwrap_or(Value::Null),
                "timeoutSeconds": input.get("timeoutSeconds").and_then(Value::as_u64).unwrap_or(DEFAULT_TIMEOUT_SECONDS),
            });
            return Err(ActionError::wait(format!("waiting for {count} approval(s) from {group}"), ask));
        };
        let decisions = state.get("decisions").and_then(Value::as_array).cloned().unwrap_or_default();
        let said = |what: &str| -> Vec<String> {
            decisions
                .iter()
                .filter(|d| d["decision"] == what)
                .map(|d| match d.get("comment").and_then(Value::as_str).filter(|c| !c.is_empty()) {
                    Some(c) => format!("{} ({c})", d["approver"].as_str().unwrap_or("?")),
                    None => d["approver"].as_str().unwrap_or("?").to_owned(),
                })
                .collect()
        };
        match state.get("status").and_then(Value::as_str).unwrap_or("") {
            "approved" => {
                let by = said("approve");
                cx.log(format!("approved by {}", by.join(", ")));
                let approvers: Vec<&Value> = decisions.iter().filter(|d| d["decision"] == "approve").map(|d| &d["approver"]).collect();
                let comments: Vec<&Value> = decisions.iter().filter_map(|d| d.get("comment")).filter(|c| !c.is_null()).collect();
                Ok(json!({ "approvedBy": approvers, "comments": comments }))
            }
            "rejected" => Err(ActionError::new(format!("rejected by {}", said("reject").join(", ")))),
            "expired" => Err(ActionError::new(format!("not decided in time: {count} approval(s) from {group} were needed, {} came", said("approve").len()))),
            "cancelled" => Err(ActionError::new("the approval was cancelled")),
            other => Err(ActionError::wait(format!("the approval is {other}"), Value::Null)),
        }
    }
}

/// `sre`, `group:sre` or `group:default/sre` → `group:default/sre`.
pub fn group_key(reference: &str) -> Result<String, String> {
    let r = portico_model::EntityRef::parse(reference.trim(), portico_model::RefDefaults { kind: Some("group"), namespace: None }).map_err(|e| format!("{reference:?} is not a group reference: {e}"))?;
    if r.kind() != "group" {
        return Err(format!("{reference:?} is a {}, not a group", r.kind()));
    }
    Ok(r.key())
}
