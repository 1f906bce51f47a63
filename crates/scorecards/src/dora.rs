//! DORA's four keys from recorded deployments and incidents: deployment frequency, lead time
//! for changes, change failure rate and time to restore service, each with its performance band
//! as the 2023 Accelerate State of DevOps report draws them, for one entity or pooled over a
//! group (a system, an owner, a domain), now or week by week.

use portico_store::EventRow;
use serde_json::Value;

use crate::events::DeployStatus;

const HOUR_MS: f64 = 3_600_000.0;
const DAY_MS: i64 = 86_400_000;

/// DORA's performance bands, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    Elite,
    High,
    Medium,
    Low,
}

impl Band {
    pub fn name(self) -> &'static str {
        match self {
            Self::Elite => "elite",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
        }
    }

    /// Deployments per week: elite daily or more, high weekly or more, medium monthly or more.
    pub fn of_frequency(per_week: f64) -> Self {
        if per_week >= 7.0 {
            Self::Elite
        } else if per_week >= 1.0 {
            Self::High
        } else if per_week >= 12.0 / 52.0 {
            Self::Medium
        } else {
            Self::Low
        }
    }

    /// Lead time in hours: elite under a day, high under a week, medium under a month.
    pub fn of_lead_time(hours: f64) -> Self {
        Self::of_duration(hours, [24.0, 168.0, 720.0])
    }

    /// Time to restore in hours: elite under an hour, high under a day, medium under a week.
    pub fn of_time_to_restore(hours: f64) -> Self {
        Self::of_duration(hours, [1.0, 24.0, 168.0])
    }

    /// Change failure rate (0 to 1): elite at most 5%, high 10%, medium 15%.
    pub fn of_failure_rate(rate: f64) -> Self {
        if rate <= 0.05 {
            Self::Elite
        } else if rate <= 0.10 {
            Self::High
        } else if rate <= 0.15 {
            Self::Medium
        } else {
            Self::Low
        }
    }

    fn of_duration(hours: f64, [elite, high, medium]: [f64; 3]) -> Self {
        if hours < elite {
            Self::Elite
        } else if hours < high {
            Self::High
        } else if hours < medium {
            Self::Medium
        } else {
            Self::Low
        }
    }
}

/// The four keys over a window. The serialized names are those of the `dora` variable.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Dora {
    pub window_days: i64,
    /// Finished production deployments (succeeded, failed, rolled back).
    pub deployments: u64,
    /// Deployments that reached production (succeeded or rolled back), per week.
    pub deploys_per_week: f64,
    /// Median hours from commit to its successful production deployment.
    pub lead_time_hours: Option<f64>,
    /// Failed, rolled back, or named by an incident as its cause; over `deployments`.
    pub change_failure_rate: Option<f64>,
    /// Median hours from an incident's opening to its resolution.
    pub time_to_restore_hours: Option<f64>,
    /// Incidents opened in the window.
    pub incidents: u64,
    /// Incidents not resolved, whenever opened.
    pub open_incidents: u64,
    pub deploy_frequency_band: Option<Band>,
    pub lead_time_band: Option<Band>,
    pub change_failure_band: Option<Band>,
    pub time_to_restore_band: Option<Band>,
    /// The lowest band of the metrics measured.
    pub band: Option<Band>,
}

/// Which deployments count: those to these environments (compared without case).
#[derive(Debug, Clone)]
pub struct DoraConfig {
    pub environments: Vec<String>,
    pub window_days: i64,
}

impl Default for DoraConfig {
    fn default() -> Self {
        Self { environments: vec!["production".into(), "prod".into(), "live".into()], window_days: 90 }
    }
}

impl DoraConfig {
    fn counts(&self, e: &EventRow) -> bool {
        e.kind == "deployment"
            && e.body.get("environment").and_then(Value::as_str).is_some_and(|env| self.environments.iter().any(|c| c.eq_ignore_ascii_case(env)))
    }
}

/// The four keys of `events` (deployments and incidents of one entity or a group) over the
/// window `[from, to)`. Incidents opened before the window still count as open.
pub fn compute(events: &[&EventRow], from: i64, to: i64, config: &DoraConfig) -> Dora {
    let mut deployments = 0u64;
    let mut reached = 0u64;
    let mut failed = 0u64;
    let mut lead_times = Vec::new();
    let mut caused: std::collections::HashSet<&str> = Default::default();
    let mut restores = Vec::new();
    let (mut incidents, mut open) = (0u64, 0u64);
    for e in events.iter().filter(|e| e.kind == "incident") {
        let opened = e.body.get("openedAt").and_then(Value::as_i64).unwrap_or(e.at);
        let resolved = e.body.get("resolvedAt").and_then(Value::as_i64);
        if resolved.is_none_or(|r| r >= to) && opened < to {
            open += 1;
        }
        if (from..to).contains(&opened) {
            incidents += 1;
            if let Some(r) = resolved.filter(|r| *r < to) {
                restores.push((r - opened) as f64 / HOUR_MS);
            }
            if let Some(d) = e.body.get("deployment").and_then(Value::as_str) {
                caused.insert(d);
            }
        }
    }
    for e in events.iter().filter(|e| config.counts(e) && (from..to).contains(&e.at)) {
        let Some(status) = e.body.get("status").and_then(|s| serde_json::from_value::<DeployStatus>(s.clone()).ok()) else { continue };
        if matches!(status, DeployStatus::InProgress | DeployStatus::Cancelled) {
            continue;
        }
        deployments += 1;
        if status != DeployStatus::Failed {
            reached += 1;
        }
        if status.is_failure() || caused.contains(e.id.as_str()) {
            failed += 1;
        }
        if status == DeployStatus::Succeeded
            && let (Some(commit), Some(finished)) = (e.body.get("commitTime").and_then(Value::as_i64), e.body.get("finishedAt").and_then(Value::as_i64))
        {
            lead_times.push((finished - commit).max(0) as f64 / HOUR_MS);
        }
    }
    let days = ((to - from) / DAY_MS).max(1);
    let deploys_per_week = round(reached as f64 * 7.0 / days as f64);
    let lead_time_hours = median(&mut lead_times);
    let change_failure_rate = (deployments > 0).then(|| round(failed as f64 / deployments as f64));
    let time_to_restore_hours = median(&mut restores);
    let deploy_frequency_band = (deployments > 0).then(|| Band::of_frequency(deploys_per_week));
    let lead_time_band = lead_time_hours.map(Band::of_lead_time);
    let change_failure_band = change_failure_rate.map(Band::of_failure_rate);
    let time_to_restore_band = time_to_restore_hours.map(Band::of_time_to_restore);
    let band = [deploy_frequency_band, lead_time_band, change_failure_band, time_to_restore_band].into_iter().flatten().max();
    Dora {
        window_days: days,
        deployments,
        deploys_per_week,
        lead_time_hours,
        change_failure_rate,
        time_to_restore_hours,
        incidents,
        open_incidents: open,
        deploy_frequency_band,
        lead_time_band,
        change_failure_band,
        time_to_restore_band,
        band,
    }
}

/// One week of [`history`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Week {
    /// The week's first instant (ms).
    pub start: i64,
    pub deployments: u64,
    pub lead_time_hours: Option<f64>,
    pub change_failure_rate: Option<f64>,
    pub time_to_restore_hours: Option<f64>,
}

/// The keys week by week, the `weeks` weeks before `to`, oldest first.
pub fn history(events: &[&EventRow], to: i64, weeks: usize, config: &DoraConfig) -> Vec<Week> {
    (0..weeks)
        .rev()
        .map(|back| {
            let end = to - back as i64 * 7 * DAY_MS;
            let start = end - 7 * DAY_MS;
            let d = compute(events, start, end, config);
            Week { start, deployments: d.deployments, lead_time_hours: d.lead_time_hours, change_failure_rate: d.change_failure_rate, time_to_restore_hours: d.time_to_restore_hours }
        })
        .collect()
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    let m = if values.len().is_multiple_of(2) { (values[mid - 1] + values[mid]) / 2.0 } else { values[mid] };
    Some(round(m))
}

/// Two decimals: what a person reads, and stable in stored facts.
fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests;
