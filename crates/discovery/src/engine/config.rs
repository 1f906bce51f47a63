//! `discovery.sources` in `portico.yaml`: one entry per source.
//!
//! ```yaml
//! discovery:
//!   sources:
//!     - name: platform-repos
//!       type: git
//!       interval: 5m
//!       priority: 0
//!       webhookSecret: ${GIT_HOOK_SECRET}
//!       repositories: [/srv/git/shop]
//! ```

use std::time::Duration;

use serde_json::{Map, Value};

/// The engine's own fields of a source; everything else belongs to its provider.
const COMMON: &[&str] = &["name", "type", "interval", "priority", "webhookSecret", "enabled"];

#[derive(Debug, Clone, PartialEq)]
pub struct SourceDecl {
    pub name: String,
    /// `git`, `terraform`, `kubernetes`, `ldap`, `postgres`.
    pub kind: String,
    /// How often it runs on its own; `None`: only on demand and by webhook.
    pub interval: Option<Duration>,
    /// Breaks ties between sources of the same evidence class (higher wins).
    pub priority: i32,
    pub webhook_secret: Option<String>,
    pub enabled: bool,
    /// The provider's own settings.
    pub settings: Value,
}

/// Reads `discovery.sources`. Errors name the entry (`discovery.sources[2] (name: repos)`)
/// and the field.
pub fn parse_sources(sources: &[Value]) -> Result<Vec<SourceDecl>, String> {
    let mut out: Vec<SourceDecl> = Vec::new();
    for (i, v) in sources.iter().enumerate() {
        let at = |msg: String| {
            let name = v.get("name").and_then(Value::as_str).map(|n| format!(" (name: {n})")).unwrap_or_default();
            format!("discovery.sources[{i}]{name}: {msg}")
        };
        let Value::Object(map) = v else { return Err(at("expected a mapping with name and type".into())) };
        let text = |field: &str| -> Result<Option<String>, String> {
            match map.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(at(format!("{field}: expected a string, found {other}"))),
            }
        };
        let name = text("name")?.ok_or_else(|| at("name is required".into()))?;
        if !portico_model::naming::is_valid_object_name(&name) {
            return Err(at(format!("name {name:?}: expected letters and digits separated by - _ or ., at most 63 characters")));
        }
        if out.iter().any(|d| d.name == name) {
            return Err(at(format!("name {name:?} is used by another source")));
        }
        let kind = text("type")?.ok_or_else(|| at("type is required".into()))?;
        let interval = match map.get("interval") {
            None | Some(Value::Null) => None,
            Some(v) => Some(parse_interval(v).map_err(|e| at(format!("interval: {e}")))?),
        };
        let priority = match map.get("priority") {
            None => 0,
            Some(v) => v.as_i64().and_then(|p| i32::try_from(p).ok()).ok_or_else(|| at(format!("priority: expected an integer, found {v}")))?,
        };
        let enabled = match map.get("enabled") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(v) => return Err(at(format!("enabled: expected true or false, found {v}"))),
        };
        let settings: Map<String, Value> = map.iter().filter(|(k, _)| !COMMON.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
        out.push(SourceDecl { name, kind, interval, priority, webhook_secret: text("webhookSecret")?, enabled, settings: Value::Object(settings) });
    }
    Ok(out)
}

/// `30s`, `5m`, `2h`, `1d`, or a number of seconds. At least one second.
pub fn parse_interval(v: &Value) -> Result<Duration, String> {
    let secs = match v {
        Value::Number(n) => n.as_u64().ok_or_else(|| format!("expected a positive number of seconds, found {n}"))?,
        Value::String(s) => {
            let s = s.trim();
            let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
            let (num, unit) = s.split_at(split);
            let n: u64 = num.parse().map_err(|_| format!("{s:?}: expected a number and a unit such as 30s, 5m, 2h or 1d"))?;
            let factor = match unit.trim() {
                "" | "s" => 1,
                "m" => 60,
                "h" => 3600,
                "d" => 86_400,
                other => return Err(format!("{s:?}: unknown unit {other:?}; expected s, m, h or d")),
            };
            n.saturating_mul(factor)
        }
        other => return Err(format!("expected a duration such as 5m, found {other}")),
    };
    if secs == 0 {
        return Err("must be at least 1s".into());
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sources_parse_with_their_own_settings_apart() {
        let got = parse_sources(&[json!({"name": "repos", "type": "git", "interval": "5m", "priority": 3, "repositories": ["/x"]})]).unwrap();
        assert_eq!(got[0].interval, Some(Duration::from_secs(300)));
        assert_eq!(got[0].priority, 3);
        assert_eq!(got[0].settings, json!({"repositories": ["/x"]}));
        assert!(got[0].enabled);
    }

    #[test]
    fn bad_declarations_name_the_entry_and_field() {
        for (decl, expected) in [
            (json!({"type": "git"}), "discovery.sources[0]: name is required"),
            (json!({"name": "a b", "type": "git"}), "discovery.sources[0] (name: a b): name \"a b\""),
            (json!({"name": "a", "type": "git", "interval": "5 weeks"}), "interval: \"5 weeks\": unknown unit"),
            (json!({"name": "a", "type": "git", "interval": 0}), "interval: must be at least 1s"),
            (json!({"name": "a", "type": "git", "priority": "high"}), "priority: expected an integer"),
            (json!({"name": "a"}), "type is required"),
            (json!(["x"]), "expected a mapping"),
        ] {
            let err = parse_sources(&[decl]).unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
        let dup = parse_sources(&[json!({"name": "a", "type": "git"}), json!({"name": "a", "type": "ldap"})]).unwrap_err();
        assert!(dup.contains("discovery.sources[1] (name: a): name \"a\" is used by another source"), "{dup}");
    }
}
