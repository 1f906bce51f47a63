//! Importers of the reports tools already write: vulnerability scanners (Trivy, Grype), test
//! runners (JUnit XML), coverage (Cobertura XML, LCOV) and a cloud billing export (CSV). Each
//! reads its format into facts about one entity (or, for billing, each resource's row matched to
//! an entity), which are recorded as `fact` events: a report imported twice records nothing
//! twice, and a report older than the facts already recorded does not replace them.

mod billing;
mod coverage;
mod junit;
mod scanners;

use serde_json::{Value, json};

pub use billing::CostMatch;

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Trivy,
    Grype,
    Junit,
    Cobertura,
    Lcov,
    Billing,
}

impl Format {
    pub const ALL: &[(&'static str, Format)] =
        &[("trivy", Format::Trivy), ("grype", Format::Grype), ("junit", Format::Junit), ("cobertura", Format::Cobertura), ("lcov", Format::Lcov), ("billing", Format::Billing)];

    pub fn named(name: &str) -> Result<Self, String> {
        Self::ALL.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, f)| *f).ok_or_else(|| {
            format!("format: {name:?} is not one of {}", Self::ALL.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "))
        })
    }

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, f)| *f == self).map_or("?", |(n, _)| n)
    }

    /// Whether a report of this format is about one entity named on import (all but billing,
    /// whose rows name their resources).
    pub fn needs_entity(self) -> bool {
        self != Format::Billing
    }
}

/// Facts read from a report: `(entity key or None for the one named on import, name, value)`,
/// and the time the report says it was made (ms), if it says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub facts: Vec<(Option<String>, String, Value)>,
    pub at: Option<i64>,
    /// Rows or items left out, with why (billing rows matching no entity).
    pub skipped: Vec<String>,
}

impl Facts {
    fn of(facts: Vec<(&str, Value)>) -> Self {
        Self { facts: facts.into_iter().map(|(n, v)| (None, n.to_owned(), v)).collect(), ..Self::default() }
    }
}

/// Reads `report` in `format`. Billing rows are matched to entities by `matcher`.
pub fn read(format: Format, report: &[u8], matcher: &dyn CostMatch) -> Result<Facts, String> {
    match format {
        Format::Trivy => scanners::trivy(&json_of(report)?),
        Format::Grype => scanners::grype(&json_of(report)?),
        Format::Junit => junit::read(&text_of(report)?),
        Format::Cobertura => coverage::cobertura(&text_of(report)?),
        Format::Lcov => coverage::lcov(&text_of(report)?),
        Format::Billing => billing::read(report, matcher),
    }
}

/// The `fact` events of an import, as [`crate::Recorder::record`] takes them: ids made of the
/// format, the entity, the fact and a hash of the report, so the same report again changes
/// nothing.
pub fn events(format: Format, facts: &Facts, entity: Option<&str>, report: &[u8], now: i64) -> Result<Value, String> {
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(report).iter().take(8).map(|b| format!("{b:02x}")).collect();
    let at = facts.at.filter(|t| *t <= now).unwrap_or(now);
    let time = chrono::DateTime::from_timestamp_millis(at).map(|t| t.to_rfc3339()).unwrap_or_default();
    let mut events = Vec::with_capacity(facts.facts.len());
    for (target, name, value) in &facts.facts {
        let Some(entity) = target.as_deref().or(entity) else {
            return Err(format!("entity: a {} report is about one entity: name it (--entity, or ?entity=)", format.name()));
        };
        events.push(json!({"type": "fact", "id": format!("import:{}:{entity}:{name}:{digest}", format.name()), "entity": entity, "name": name, "value": value, "at": time}));
    }
    Ok(json!({ "events": events }))
}

fn json_of(report: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(report).map_err(|e| format!("line {} column {}: not JSON: {e}", e.line(), e.column()))
}

fn text_of(report: &[u8]) -> Result<String, String> {
    let text = String::from_utf8(report.to_vec()).map_err(|e| format!("byte {}: not UTF-8 text", e.utf8_error().valid_up_to()))?;
    Ok(text.strip_prefix('\u{feff}').map(str::to_owned).unwrap_or(text))
}

/// XML as the tools write it: a `<!DOCTYPE>` (gcovr, older Cobertura) is read, its entities
/// bounded by roxmltree's node limit; nothing is fetched.
fn xml(text: &str) -> Result<roxmltree::Document<'_>, String> {
    let options = roxmltree::ParsingOptions { allow_dtd: true, nodes_limit: 5_000_000 };
    roxmltree::Document::parse_with_options(text, options).map_err(|e| format!("not XML: {e}"))
}

/// An RFC 3339 time (or one without its offset, taken as UTC) in ms.
fn time_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .ok()
        .or_else(|| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|t| t.and_utc().timestamp_millis()))
}

#[cfg(test)]
mod tests;
