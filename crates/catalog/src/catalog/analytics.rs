//! Catalog analytics from the version history: how many entities there were, per kind, owner
//! or lifecycle, at evenly spaced times. One pass over the history answers every time.

use std::collections::HashMap;

use super::Catalog;
use crate::IngestError;

/// What to count by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeriesBy {
    Kind,
    Owner,
    Lifecycle,
}

impl SeriesBy {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "kind" => Some(Self::Kind),
            "owner" => Some(Self::Owner),
            "lifecycle" => Some(Self::Lifecycle),
            _ => None,
        }
    }
}

/// Counts at each time, one line per group (the largest `top`, the rest summed as `other`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Series {
    pub by: SeriesBy,
    /// ms since the epoch, ascending.
    pub times: Vec<i64>,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Line {
    pub name: String,
    pub values: Vec<u64>,
}

/// The group name for entities without the field.
pub const NONE: &str = "(none)";

/// An owner as one group however it is written (`platform`, `Platform`,
/// `group:default/platform` are one owner), resolved against the entity's namespace as
/// Backstage resolves `spec.owner`, and shown as people write it.
fn owner_group(owner: &str, key: &str) -> String {
    let namespace = key.split_once(':').and_then(|(_, rest)| rest.split_once('/')).map(|(ns, _)| ns);
    match portico_model::EntityRef::parse(owner, portico_model::RefDefaults { kind: Some("group"), namespace }) {
        Ok(r) => portico_model::EntityRef::new(r.kind(), r.namespace(), &r.name().to_ascii_lowercase()).short(Some("group")),
        Err(_) => owner.to_owned(),
    }
}

impl Catalog {
    /// Counts per `by` at `points` times evenly spaced from `from` to `to` (ms, inclusive), of
    /// the entities whose keys `keep` accepts.
    pub async fn series(&self, by: SeriesBy, from: i64, to: i64, points: usize, top: usize, keep: &(dyn Fn(&str) -> bool + Sync)) -> Result<Series, IngestError> {
        if from > to {
            return Err(IngestError::Invalid("from must not be after to".into()));
        }
        if !(1..=500).contains(&points) {
            return Err(IngestError::Invalid(format!("points: {points} is not between 1 and 500")));
        }
        let times: Vec<i64> = if points == 1 {
            vec![to]
        } else {
            (0..points).map(|i| from + ((to - from) as i128 * i as i128 / (points - 1) as i128) as i64).collect()
        };
        let mut versions = self.store.version_summaries().await?;
        versions.retain(|v| keep(&v.key));
        let kinds: HashMap<String, String> =
            self.validator().kinds().kinds().map(|k| (k.kind.to_ascii_lowercase(), k.kind.clone())).collect();
        let group_of = |v: &portico_store::VersionSummary| -> String {
            match by {
                SeriesBy::Kind => {
                    let k = v.key.split(':').next().unwrap_or_default();
                    kinds.get(k).cloned().unwrap_or_else(|| k.to_owned())
                }
                SeriesBy::Owner => v.owner.as_deref().map_or_else(|| NONE.to_owned(), |o| owner_group(o, &v.key)),
                SeriesBy::Lifecycle => v.lifecycle.clone().unwrap_or_else(|| NONE.to_owned()),
            }
        };
        let mut present: HashMap<&str, String> = HashMap::new();
        let mut counts: Vec<HashMap<String, u64>> = Vec::with_capacity(times.len());
        let mut next = versions.iter().peekable();
        for &t in &times {
            while let Some(v) = next.next_if(|v| v.at <= t) {
                match v.change.as_str() {
                    "removed" => {
                        present.remove(v.key.as_str());
                    }
                    // Orphaned entities stay, with what they last described.
                    "orphaned" => {}
                    _ => {
                        present.insert(v.key.as_str(), group_of(v));
                    }
                }
            }
            let mut at: HashMap<String, u64> = HashMap::new();
            for g in present.values() {
                *at.entry(g.clone()).or_default() += 1;
            }
            counts.push(at);
        }
        // The largest groups at their peak; ties by name.
        let mut peak: HashMap<&str, u64> = HashMap::new();
        for at in &counts {
            for (g, n) in at {
                let p = peak.entry(g.as_str()).or_default();
                *p = (*p).max(*n);
            }
        }
        let mut names: Vec<(&str, u64)> = peak.into_iter().collect();
        names.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let shown: Vec<String> = names.iter().take(top).map(|(n, _)| (*n).to_owned()).collect();
        let mut lines: Vec<Line> = shown
            .iter()
            .map(|name| Line { name: name.clone(), values: counts.iter().map(|at| at.get(name).copied().unwrap_or(0)).collect() })
            .collect();
        if names.len() > top {
            let values = counts.iter().map(|at| at.iter().filter(|(g, _)| !shown.contains(g)).map(|(_, n)| n).sum()).collect();
            lines.push(Line { name: "other".into(), values });
        }
        Ok(Series { by, times, lines })
    }
}
