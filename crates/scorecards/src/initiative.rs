//! Initiatives: a push to bring entities to a scorecard's level, or to passing some of its
//! rules, by a deadline. An `Initiative` entity (`portico.dev/v1`) names the scorecard, the
//! target (`level`, `rules`, or both), the deadline, and optionally which of the scorecard's
//! entities are in scope (`filter`, an expression), its owner and when it began (`start`).
//!
//! Progress is computed from the scorecard's current results ([`progress`]): how many entities
//! in scope meet the target, per owner, which are overdue, and each team's to-do list: the
//! rules that keep an entity from the target, each with its remediation. The history writer
//! stores progress as it changes, for burn-down charts ([`burndown`]).

use chrono::{DateTime, NaiveDate, Utc};
use portico_expr::{Expr, Vocabulary};
use portico_model::{Entity, FieldError};

pub mod progress;

pub use progress::{Burndown, OwnerProgress, Progress, Scope, Todo, burndown, owners_over_time, progress, scope, target_text, todo};

/// A compiled initiative.
#[derive(Debug)]
pub struct Initiative {
    /// `initiative:namespace/name`.
    pub key: String,
    pub name: String,
    pub namespace: String,
    pub title: String,
    pub description: Option<String>,
    pub owner: Option<String>,
    /// The scorecard as written (a name, `namespace/name` or a key).
    pub scorecard: String,
    /// The level every entity in scope should reach.
    pub level: Option<String>,
    /// Rules (by id) every entity in scope should pass.
    pub rules: Vec<String>,
    /// Milliseconds since the epoch.
    pub deadline: i64,
    pub start: Option<i64>,
    pub filter: Option<Expr>,
    /// The entity's hash, to tell when it changed.
    pub hash: String,
}

#[derive(serde::Deserialize)]
struct RawSpec {
    scorecard: String,
    level: Option<String>,
    #[serde(default)]
    rules: Vec<String>,
    deadline: String,
    start: Option<String>,
    filter: Option<String>,
    owner: Option<String>,
}

/// A date (`2027-03-31`: the end of that day in UTC when `end_of_day`, else its start) or an
/// RFC 3339 time, in milliseconds.
pub fn parse_date(value: &str, end_of_day: bool) -> Result<i64, String> {
    if let Ok(d) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let t = if end_of_day { d.and_hms_milli_opt(23, 59, 59, 999) } else { d.and_hms_opt(0, 0, 0) };
        return Ok(t.map(|t| t.and_utc().timestamp_millis()).unwrap_or_default());
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.timestamp_millis())
        .map_err(|_| format!("{value:?} is neither a date (2027-03-31) nor an RFC 3339 time (2027-03-31T17:00:00Z)"))
}

impl Initiative {
    /// Reads a validated Initiative entity; every problem found, by field path. Whether the
    /// scorecard, its level and rules exist is known only beside the scorecards ([`scope`]).
    pub fn from_entity(entity: &Entity, hash: &str) -> Result<Self, Vec<FieldError>> {
        let spec = entity.spec.clone().unwrap_or_default();
        let raw: RawSpec = serde_json::from_value(serde_json::Value::Object(spec)).map_err(|e| vec![FieldError::new("spec", e.to_string())])?;
        let mut errors = Vec::new();
        if raw.level.is_none() && raw.rules.is_empty() {
            errors.push(FieldError::new("spec", "an initiative needs a target: spec.level (a level of the scorecard), spec.rules (rule ids), or both"));
        }
        let deadline = parse_date(&raw.deadline, true).map_err(|e| errors.push(FieldError::new("spec.deadline", e))).ok();
        let start = raw.start.as_deref().and_then(|s| parse_date(s, false).map_err(|e| errors.push(FieldError::new("spec.start", e))).ok());
        if let (Some(s), Some(d)) = (start, deadline)
            && s >= d
        {
            errors.push(FieldError::new("spec.start", "the start is not before the deadline"));
        }
        let filter = raw.filter.as_deref().and_then(|f| match Expr::compile(f, &Vocabulary::entity(), &portico_expr::Limits::default()) {
            Ok(e) => Some(e),
            Err(e) => {
                errors.push(FieldError::new("spec.filter", e.without_position()));
                None
            }
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        let reference = entity.entity_ref();
        Ok(Self {
            key: reference.key(),
            name: entity.metadata.name.clone(),
            namespace: reference.namespace().to_owned(),
            title: entity.metadata.title.clone().unwrap_or_else(|| entity.metadata.name.clone()),
            description: entity.metadata.description.clone(),
            owner: raw.owner,
            scorecard: raw.scorecard,
            level: raw.level,
            rules: raw.rules,
            deadline: deadline.unwrap_or_default(),
            start,
            filter,
            hash: hash.to_owned(),
        })
    }

    /// Whether the deadline has passed at `now` (ms).
    pub fn past_deadline(&self, now: i64) -> bool {
        now > self.deadline
    }

    /// The deadline as RFC 3339.
    pub fn deadline_text(&self) -> String {
        rfc3339(self.deadline)
    }
}

pub(crate) fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The check every validator runs on Initiative entities (see [`crate::register`]).
pub(crate) fn check_entity(entity: &Entity) -> Vec<FieldError> {
    Initiative::from_entity(entity, "").err().unwrap_or_default()
}

/// Every Initiative entity of the read model: compiled, or why not (by key).
pub fn all(graph: &portico_graph::CatalogGraph) -> Vec<Result<Initiative, crate::Broken>> {
    static KIND: std::sync::OnceLock<portico_graph::filter::EntityFilter> = std::sync::OnceLock::new();
    let kind = KIND.get_or_init(|| portico_graph::filter::parse_filter_params(&["kind=initiative"]).ok().flatten().expect("a valid filter"));
    let mut out: Vec<Result<Initiative, crate::Broken>> = graph
        .matching(Some(kind))
        .iter()
        .filter_map(|id| graph.entry(id))
        .filter(|e| e.entity.kind == "Initiative")
        .map(|e| {
            Initiative::from_entity(&e.entity, &e.hash).map_err(|errors| crate::Broken { reference: e.key.clone(), error: errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ") })
        })
        .collect();
    out.sort_by(|a, b| {
        let key = |x: &Result<Initiative, crate::Broken>| match x {
            Ok(i) => (i.deadline, i.key.clone()),
            Err(b) => (i64::MAX, b.reference.clone()),
        };
        key(a).cmp(&key(b))
    });
    out
}

#[cfg(test)]
mod tests;
