//! Events that the tools teams already have send (a CI pipeline, an incident tool):
//! deployments, incidents and custom facts. Read from JSON with every problem named by its
//! field path (`events[2].finishedAt`), checked for absurd times, and merged with an earlier
//! report of the same event by id, so a retry, a duplicate or a report out of order records
//! the event once.

use chrono::{DateTime, Utc};
use portico_model::{EntityRef, RefDefaults};
use portico_store::EventRow;
use serde::Deserialize;
use serde_json::{Value, json};

/// The earliest time an event may carry: 2000-01-01.
const EARLIEST_MS: i64 = 946_684_800_000;
/// How far in the future an event's time may be (clocks differ a little).
const SKEW_MS: i64 = 5 * 60 * 1000;
/// Events in one request.
pub const MAX_BATCH: usize = 10_000;

/// A deployment's outcome. Reports of one deployment may arrive in any order; the stronger
/// status wins (a rollback outranks a success, any end outranks `in_progress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployStatus {
    InProgress,
    Succeeded,
    Cancelled,
    Failed,
    RolledBack,
}

impl DeployStatus {
    fn rank(self) -> u8 {
        match self {
            Self::InProgress => 0,
            Self::Succeeded | Self::Cancelled => 1,
            Self::Failed => 2,
            Self::RolledBack => 3,
        }
    }

    /// A change that failed in production, as DORA's change failure rate counts it.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failed | Self::RolledBack)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeploymentInput {
    id: String,
    entity: String,
    environment: String,
    version: Option<String>,
    commit_sha: Option<String>,
    commit_time: Option<String>,
    started_at: Option<String>,
    finished_at: Option<String>,
    status: DeployStatus,
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IncidentInput {
    id: String,
    entity: String,
    opened_at: String,
    resolved_at: Option<String>,
    severity: Option<String>,
    title: Option<String>,
    /// The deployment that caused it, when known: that deployment then counts as a failed change.
    deployment: Option<String>,
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FactInput {
    id: Option<String>,
    entity: String,
    name: String,
    value: Value,
    at: Option<String>,
}

/// One event read and checked: the row to store, and for a fact, its name and value.
#[derive(Debug, Clone)]
pub struct Event {
    pub row: EventRow,
    /// For `fact` events: the fact's name and value.
    pub fact: Option<(String, Value)>,
}

/// A problem with one event of a batch: its index and what is wrong, field path first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EventError {
    pub index: usize,
    pub message: String,
}

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "events[{}]: {}", self.index, self.message)
    }
}

/// Reads a request body: one event, a list of events, or `{"events": [...]}`. `exists` says
/// whether an entity key names an entity of the catalog; `now` is the time (ms).
pub fn parse_batch(body: &Value, now: i64, exists: &dyn Fn(&str) -> bool) -> Result<Vec<Event>, Vec<EventError>> {
    let items: Vec<&Value> = match body {
        Value::Array(items) => items.iter().collect(),
        Value::Object(o) if o.contains_key("events") => match &o["events"] {
            Value::Array(items) => items.iter().collect(),
            _ => return Err(vec![EventError { index: 0, message: "events: expected a list of events".into() }]),
        },
        Value::Object(_) => vec![body],
        _ => return Err(vec![EventError { index: 0, message: "expected an event, a list of events, or {\"events\": [...]}".into() }]),
    };
    if items.is_empty() {
        return Err(vec![EventError { index: 0, message: "no events".into() }]);
    }
    if items.len() > MAX_BATCH {
        return Err(vec![EventError { index: MAX_BATCH, message: format!("at most {MAX_BATCH} events per request; send {} in several", items.len()) }]);
    }
    let mut events = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match parse(item, now, exists) {
            Ok(e) => events.push(e),
            Err(message) => errors.push(EventError { index, message }),
        }
    }
    if errors.is_empty() { Ok(events) } else { Err(errors) }
}

/// Reads one event.
pub fn parse(value: &Value, now: i64, exists: &dyn Fn(&str) -> bool) -> Result<Event, String> {
    let kind = value.get("type").and_then(Value::as_str).ok_or("type: required: deployment, incident or fact")?;
    let mut fields = value.clone();
    if let Some(o) = fields.as_object_mut() {
        o.remove("type");
    }
    let times = Times { now };
    match kind {
        "deployment" => {
            let d: DeploymentInput = typed(fields)?;
            let entity = entity_key(&d.entity, exists)?;
            let id = nonempty("id", d.id)?;
            let environment = nonempty("environment", d.environment)?;
            let started = times.optional("startedAt", d.started_at.as_deref())?;
            let finished = times.optional("finishedAt", d.finished_at.as_deref())?;
            let commit_time = times.optional("commitTime", d.commit_time.as_deref())?;
            if let (Some(s), Some(f)) = (started, finished)
                && f < s
            {
                return Err("finishedAt: before startedAt".into());
            }
            if let (Some(c), Some(end)) = (commit_time, finished.or(started))
                && c > end + SKEW_MS
            {
                return Err("commitTime: after the deployment; a deployment ships commits made before it".into());
            }
            if d.status != DeployStatus::InProgress && finished.is_none() {
                return Err(format!("finishedAt: required when status is {}", status_name(d.status)));
            }
            let at = finished.or(started).unwrap_or(now);
            let body = strip_nulls(json!({
                "environment": environment, "version": d.version, "commitSha": d.commit_sha, "commitTime": commit_time,
                "startedAt": started, "finishedAt": finished, "status": d.status, "url": d.url,
            }));
            Ok(Event { row: row(id, "deployment", entity, at, body, now), fact: None })
        }
        "incident" => {
            let i: IncidentInput = typed(fields)?;
            let entity = entity_key(&i.entity, exists)?;
            let id = nonempty("id", i.id)?;
            let opened = times.required("openedAt", &i.opened_at)?;
            let resolved = times.optional("resolvedAt", i.resolved_at.as_deref())?;
            if resolved.is_some_and(|r| r < opened) {
                return Err("resolvedAt: before openedAt".into());
            }
            let body = strip_nulls(json!({
                "openedAt": opened, "resolvedAt": resolved, "severity": i.severity, "title": i.title,
                "deployment": i.deployment, "url": i.url,
            }));
            Ok(Event { row: row(id, "incident", entity, opened, body, now), fact: None })
        }
        "fact" => {
            let f: FactInput = typed(fields)?;
            let entity = entity_key(&f.entity, exists)?;
            let name = nonempty("name", f.name)?;
            if name.len() > 200 || name.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err("name: at most 200 characters, no spaces".into());
            }
            if f.value.is_null() {
                return Err("value: required (a number, string, boolean, list or map)".into());
            }
            if f.value.to_string().len() > 64 * 1024 {
                return Err("value: larger than 64 KiB".into());
            }
            let at = f.at.as_deref().map(|t| times.required("at", t)).transpose()?;
            // Without an id, a retry must still be the same event: the time it names, or else
            // its value (the same value sent again without a time is the same report).
            let id = match (f.id, at) {
                (Some(id), _) => nonempty("id", id)?,
                (None, Some(at)) => format!("fact:{entity}:{name}:{at}"),
                (None, None) => format!("fact:{entity}:{name}:{}", short_hash(&f.value)),
            };
            let at = at.unwrap_or(now);
            let body = json!({"name": name, "value": f.value});
            Ok(Event { row: row(id, "fact", entity, at, body, now), fact: Some((name, f.value)) })
        }
        other => Err(format!("type: unknown event type '{other}'; expected deployment, incident or fact")),
    }
}

/// How a later report of an event meets the stored one (see [`portico_store::events::MergeEvent`]):
/// fields it adds fill in; identity fields that differ refuse it; a deployment's stronger
/// status wins, an incident's resolution stays.
pub fn merge(old: &EventRow, new: &EventRow) -> Result<Option<EventRow>, String> {
    if old.kind != new.kind || old.entity_key != new.entity_key {
        return Err(format!("id '{}' was recorded as a {} of {}; this is a {} of {}", old.id, old.kind, old.entity_key, new.kind, new.entity_key));
    }
    let identity: &[&str] = match old.kind.as_str() {
        "deployment" => &["environment", "version", "commitSha"],
        "fact" => &["name", "value"],
        _ => &[],
    };
    let mut body = old.body.clone();
    let (Some(stored), Some(given)) = (body.as_object_mut(), new.body.as_object()) else { return Ok(None) };
    for (field, value) in given {
        match stored.get(field) {
            None => {
                stored.insert(field.clone(), value.clone());
            }
            Some(current) if current == value => {}
            Some(current) if identity.contains(&field.as_str()) => {
                return Err(format!("id '{}' was recorded with {field} {current}; this report says {value}", old.id));
            }
            Some(current) if field == "status" => {
                let rank = |v: &Value| serde_json::from_value::<DeployStatus>(v.clone()).map_or(0, DeployStatus::rank);
                if rank(value) > rank(current) {
                    stored.insert(field.clone(), value.clone());
                }
            }
            // Anything else keeps its first report: the order reports arrive in says nothing.
            Some(_) => {}
        }
    }
    if body == old.body {
        return Ok(None);
    }
    let at = match old.kind.as_str() {
        "deployment" => body.get("finishedAt").or_else(|| body.get("startedAt")).and_then(Value::as_i64).unwrap_or(old.at),
        _ => old.at,
    };
    Ok(Some(EventRow { body, at, updated_at: new.recorded_at, ..old.clone() }))
}

fn row(id: String, kind: &str, entity_key: String, at: i64, body: Value, now: i64) -> EventRow {
    EventRow { id, kind: kind.to_owned(), entity_key, at, body, recorded_at: now, updated_at: now }
}

fn typed<T: serde::de::DeserializeOwned>(fields: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(fields).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if path == "." { inner } else { format!("{path}: {inner}") }
    })
}

fn nonempty(field: &str, value: String) -> Result<String, String> {
    let value = value.trim().to_owned();
    if value.is_empty() {
        return Err(format!("{field}: must not be empty"));
    }
    if value.len() > 512 {
        return Err(format!("{field}: longer than 512 characters"));
    }
    Ok(value)
}

/// The key of the entity an event names: `component:default/cart`, or `cart` (a Component in
/// the default namespace); refused when the catalog has no such entity.
pub fn entity_key(reference: &str, exists: &dyn Fn(&str) -> bool) -> Result<String, String> {
    let r = EntityRef::parse(reference, RefDefaults { kind: Some("Component"), namespace: Some(portico_model::DEFAULT_NAMESPACE) })
        .map_err(|e| format!("entity: {e}"))?;
    let key = r.key();
    if !exists(&key) {
        return Err(format!("entity: no entity {key} in the catalog"));
    }
    Ok(key)
}

struct Times {
    now: i64,
}

impl Times {
    fn required(&self, field: &str, text: &str) -> Result<i64, String> {
        let t = DateTime::parse_from_rfc3339(text)
            .map_err(|e| format!("{field}: '{text}' is not an RFC 3339 time such as 2026-12-04T10:15:00Z ({e})"))?
            .with_timezone(&Utc)
            .timestamp_millis();
        if t < EARLIEST_MS {
            return Err(format!("{field}: {text} is before 2000"));
        }
        if t > self.now + SKEW_MS {
            return Err(format!("{field}: {text} is in the future"));
        }
        Ok(t)
    }

    fn optional(&self, field: &str, text: Option<&str>) -> Result<Option<i64>, String> {
        text.map(|t| self.required(field, t)).transpose()
    }
}

fn status_name(s: DeployStatus) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// A short, stable hash of a JSON value (its text; keys keep their order as sent).
fn short_hash(v: &Value) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(v.to_string().as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn strip_nulls(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.retain(|_, v| !v.is_null());
    }
    v
}
