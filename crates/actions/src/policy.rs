//! Guardrails: a template's `spec.policies`, each an expression of the one language over who
//! runs it, the template, the entity it runs on, its parameters and earlier runs, checked
//! before every run (and shown with a dry run's review, so the form says what will be refused
//! before it is sent):
//!
//! ```yaml
//! policies:
//!   - name: owners-deploy-production
//!     allow: parameters.environment != 'production' || user.owners.exists(o, entity.has_relation('ownedBy', o))
//!     message: Only the service's owners deploy to production.
//!   - name: two-extensions-at-most
//!     deny: runs.completed >= 2
//!     message: This environment's TTL was extended twice already.
//!   - name: production-needs-sre
//!     allow: parameters.environment != 'production'
//!     approval: { approvers: group:default/sre, count: 2 }
//! ```
//!
//! `allow` must hold, `deny` must not. A policy with an `approval` does not refuse: a run it
//! would refuse waits, before its first step, until the group approves it. An expression that cannot be evaluated (a field of a
//! `null` entity) refuses, saying why: guardrails fail closed.

use portico_expr::cel::Value as Cel;
use portico_expr::value::from_json;
use portico_expr::{Expr, Limits, VariableDoc, Vocabulary};
use portico_graph::eval::SharedGraph;
use portico_model::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One policy as a template writes it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny: Option<String>,
    /// What the person is told when it refuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Instead of refusing, the run waits for this approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalSpec>,
}

/// Who must approve a run a policy would refuse: `count` members of the group `approvers`,
/// not the person who asked, within `timeoutSeconds`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApprovalSpec {
    pub approvers: String,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
}

fn one() -> u32 {
    1
}

/// One policy's answer for one run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Verdict {
    pub name: String,
    pub passed: bool,
    /// Why it refused (its message, or why it could not be evaluated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// It did not pass, but lets the run go ahead once this approval is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalSpec>,
}

impl Verdict {
    /// Refuses the run outright (it did not pass and no approval can lift it).
    pub fn refuses(&self) -> bool {
        !self.passed && self.approval.is_none()
    }
}

fn limits() -> Limits {
    Limits { max_length: 4096, max_operators: 200, max_steps: 200_000, max_iterations: 100_000, max_value_bytes: 1 << 20, max_produced_bytes: 8 << 20, timeout: std::time::Duration::from_millis(100) }
}

/// The variables a policy reads.
pub fn vocabulary() -> Vocabulary {
    let v = |name, description| VariableDoc { name, description };
    Vocabulary {
        variables: vec![
            v("user", "who runs it: ref, groups (direct and inherited), owners (ref and groups), admin, entity (the User entity or null)"),
            v("template", "the template: ref, name, type, owner, tags"),
            v("entity", "the entity it runs on (with the graph functions: entity.related('ownedBy'), entity.scorecard('readiness')), or null"),
            v("parameters", "the form's values, defaults filled in"),
            v("runs", "earlier runs of this template on this entity (by this person when there is none): completed, total"),
        ],
    }
}

/// Reads and compiles `spec.policies`: every problem at its field.
pub fn parse(value: Option<&Value>) -> Result<Vec<PolicySpec>, Vec<FieldError>> {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let list: Vec<PolicySpec> = serde_json::from_value(value.clone()).map_err(|e| vec![FieldError::new("spec.policies", format!("a list of {{name, allow or deny, message, approval}}: {e}"))])?;
    let mut errors = Vec::new();
    let mut names = std::collections::HashSet::new();
    for (i, p) in list.iter().enumerate() {
        let at = format!("spec.policies[{i}]");
        if p.name.trim().is_empty() || !names.insert(p.name.as_str()) {
            errors.push(FieldError::new(format!("{at}.name"), "needs a name of its own"));
        }
        match (&p.allow, &p.deny) {
            (Some(source), None) | (None, Some(source)) => {
                let field = if p.allow.is_some() { "allow" } else { "deny" };
                if let Err(e) = portico_expr::on_big_stack(|| Expr::compile(source, &vocabulary(), &limits()).map(drop)) {
                    errors.push(FieldError::new(format!("{at}.{field}"), e.to_string()));
                }
            }
            _ => errors.push(FieldError::new(at.clone(), "give one of `allow` (must hold) or `deny` (must not hold)")),
        }
        if let Some(a) = &p.approval {
            if let Err(e) = crate::builtin::approval::wait::group_key(&a.approvers) {
                errors.push(FieldError::new(format!("{at}.approval.approvers"), e));
            }
            if !(1..=20).contains(&a.count) {
                errors.push(FieldError::new(format!("{at}.approval.count"), "between 1 and 20"));
            }
            if a.timeout_seconds.is_some_and(|t| !(60..=2_592_000).contains(&t)) {
                errors.push(FieldError::new(format!("{at}.approval.timeoutSeconds"), "between 60 (a minute) and 2592000 (30 days)"));
            }
        }
    }
    if errors.is_empty() { Ok(list) } else { Err(errors) }
}

/// What a policy sees of one run.
pub struct Facts<'a> {
    /// `{ref, groups, owners, admin, entity}`.
    pub user: &'a Value,
    pub template: &'a crate::Template,
    /// The entity's key, when the run is on one.
    pub entity: Option<&'a str>,
    pub parameters: &'a Value,
    /// `{completed, total}`.
    pub runs: Value,
}

/// Every policy's answer for a run.
pub fn evaluate(policies: &[PolicySpec], graph: &SharedGraph, facts: &Facts<'_>) -> Vec<Verdict> {
    if policies.is_empty() {
        return Vec::new();
    }
    let template = serde_json::json!({
        "ref": facts.template.key, "name": facts.template.name, "type": facts.template.template_type,
        "owner": facts.template.owner, "tags": facts.template.tags,
    });
    portico_expr::on_big_stack(|| {
        let entity = facts.entity.and_then(|key| {
            let g = graph.read();
            g.id_of(key).and_then(|id| g.cel_entity(id))
        });
        let budget = std::sync::Arc::new(portico_expr::Budget::new(&limits()));
        let mut ctx = portico_expr::context(portico_graph::eval::access(graph), budget, chrono::Utc::now().fixed_offset());
        ctx.add_variable_from_value("user", from_json(facts.user));
        ctx.add_variable_from_value("template", from_json(&template));
        ctx.add_variable_from_value("entity", entity.unwrap_or(Cel::Null));
        ctx.add_variable_from_value("parameters", from_json(facts.parameters));
        ctx.add_variable_from_value("runs", from_json(&facts.runs));
        policies
            .iter()
            .map(|p| {
                let (source, must) = match (&p.allow, &p.deny) {
                    (Some(s), _) => (s, true),
                    (None, Some(s)) => (s, false),
                    (None, None) => return Verdict { name: p.name.clone(), passed: false, message: Some("has neither allow nor deny".into()), approval: None },
                };
                let outcome = Expr::compile(source, &vocabulary(), &limits()).and_then(|e| e.eval(&ctx));
                let refused = p.message.clone().unwrap_or_else(|| format!("the policy {} refuses this run", p.name));
                match outcome {
                    Ok(Cel::Bool(b)) if b == must => Verdict { name: p.name.clone(), passed: true, message: None, approval: None },
                    Ok(Cel::Bool(_)) => Verdict { name: p.name.clone(), passed: false, message: Some(refused), approval: p.approval.clone() },
                    Ok(other) => Verdict { name: p.name.clone(), passed: false, message: Some(format!("{refused} (its expression gave a {}, not true or false)", portico_expr::value::type_name(&other))), approval: None },
                    Err(e) => Verdict { name: p.name.clone(), passed: false, message: Some(format!("{refused} (it could not be evaluated: {e})")), approval: None },
                }
            })
            .collect()
    })
}

#[cfg(test)]
mod tests;
