//! A cloud billing export as CSV: AWS Cost and Usage Reports (legacy `lineItem/…` columns and
//! CUR 2.0's `line_item_…`), Google Cloud's billing export (`cost`, `resource.name`,
//! `usage_start_time`, `labels`), Azure cost details (`CostInBillingCurrency`, `ResourceId`,
//! `Date`, `Tags`), or plain `resource,cost,month[,entity]`. Rows are matched to entities (a tag
//! naming the entity, else the resource's id as discovery recorded it), summed per entity and
//! month, and become facts `cost.monthly` (the latest month in the report), `cost.month`,
//! `cost.currency` and `cost.byMonth`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Facts;

/// Finds the entity a billed resource belongs to.
pub trait CostMatch {
    /// `entity`: an entity reference a tag or column gave; `resource`: the resource's id.
    fn entity_of(&self, entity: Option<&str>, resource: &str) -> Option<String>;
}

/// Column names, compared without case, by what they hold; the first found is used.
const COST: &[&str] = &["lineItem/UnblendedCost", "line_item_unblended_cost", "CostInBillingCurrency", "PreTaxCost", "cost", "Cost (USD)", "costInUsd"];
const RESOURCE: &[&str] = &["lineItem/ResourceId", "line_item_resource_id", "ResourceId", "resource.global_name", "resource.name", "InstanceId", "resource", "resource_id"];
const DATE: &[&str] = &["lineItem/UsageStartDate", "line_item_usage_start_date", "usage_start_time", "UsageDateTime", "Date", "date", "month", "bill/BillingPeriodStartDate", "bill_billing_period_start_date", "invoice.month"];
const CURRENCY: &[&str] = &["lineItem/CurrencyCode", "line_item_currency_code", "BillingCurrency", "BillingCurrencyCode", "currency", "Currency"];
/// Columns holding every tag as one JSON (or Azure's `"k": "v"` list) map.
const TAG_MAPS: &[&str] = &["resource_tags", "Tags", "labels", "tags"];
/// Tag keys (and plain columns) that name the entity a resource belongs to.
const ENTITY_TAGS: &[&str] = &["portico-entity", "portico.dev/entity", "backstage-entity", "entity"];
/// Rows a report may hold.
const MAX_ROWS: usize = 5_000_000;

pub(super) fn read(report: &[u8], matcher: &dyn CostMatch) -> Result<Facts, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(report);
    let headers = reader.headers().map_err(|e| format!("line 1: not CSV: {e}"))?.clone();
    let find = |names: &[&str]| names.iter().find_map(|n| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(n)));
    let cost = find(COST).ok_or_else(|| format!("line 1: no cost column (one of {})", COST.join(", ")))?;
    let resource = find(RESOURCE).ok_or_else(|| format!("line 1: no resource column (one of {})", RESOURCE.join(", ")))?;
    let date = find(DATE).ok_or_else(|| format!("line 1: no date or month column (one of {})", DATE.join(", ")))?;
    let currency = find(CURRENCY);
    let tag_map = find(TAG_MAPS);
    // `resourceTags/user:portico-entity` (AWS), or a column of that name.
    let entity_column = headers.iter().position(|h| {
        let key = h.rsplit([':', '/']).next().unwrap_or(h);
        ENTITY_TAGS.iter().any(|t| key.eq_ignore_ascii_case(t) || h.eq_ignore_ascii_case(t))
    });
    let mut per: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let mut currencies: BTreeMap<String, String> = BTreeMap::new();
    let mut skipped: BTreeMap<String, f64> = BTreeMap::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        if i >= MAX_ROWS {
            return Err(format!("line {line}: more than {MAX_ROWS} rows"));
        }
        let row = row.map_err(|e| format!("line {line}: {e}"))?;
        let field = |c: usize| row.get(c).unwrap_or("").trim();
        let amount = field(cost);
        if amount.is_empty() {
            continue;
        }
        let amount: f64 = amount.parse().map_err(|_| format!("line {line}: {}: {amount:?} is not a number", &headers[cost]))?;
        let month = month_of(field(date)).ok_or_else(|| format!("line {line}: {}: {:?} is not a date", &headers[date], field(date)))?;
        let id = field(resource);
        let named = entity_column.map(field).filter(|s| !s.is_empty()).map(str::to_owned).or_else(|| tag_map.and_then(|c| entity_tag(field(c))));
        if id.is_empty() && named.is_none() {
            continue;
        }
        match matcher.entity_of(named.as_deref(), id) {
            Some(key) => {
                *per.entry(key.clone()).or_default().entry(month).or_default() += amount;
                if let Some(c) = currency.map(field).filter(|c| !c.is_empty()) {
                    currencies.entry(key).or_insert_with(|| c.to_owned());
                }
            }
            None => *skipped.entry(named.unwrap_or_else(|| id.to_owned())).or_default() += amount,
        }
    }
    let mut facts = Facts::default();
    for (key, months) in per {
        let Some((latest, cost)) = months.iter().next_back().map(|(m, c)| (m.clone(), *c)) else { continue };
        let by_month: serde_json::Map<String, Value> = months.iter().map(|(m, c)| (m.clone(), json!(round(*c)))).collect();
        facts.facts.push((Some(key.clone()), "cost.monthly".into(), json!(round(cost))));
        facts.facts.push((Some(key.clone()), "cost.month".into(), json!(latest)));
        facts.facts.push((Some(key.clone()), "cost.byMonth".into(), Value::Object(by_month)));
        if let Some(c) = currencies.get(&key) {
            facts.facts.push((Some(key), "cost.currency".into(), json!(c)));
        }
    }
    facts.skipped = skipped.into_iter().map(|(r, c)| format!("{r} ({}): matches no entity", round(c))).collect();
    Ok(facts)
}

/// `2026-11`, from a date, a time, or a month (`2026-11-03T00:00:00Z`, `2026-11-03`, `11/03/2026`, `2026-11`, `202611`).
fn month_of(text: &str) -> Option<String> {
    let t = text.trim();
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if t.len() >= 7 && t.as_bytes()[4] == b'-' && digits(&t[..4]) && digits(&t[5..7]) {
        return Some(t[..7].to_owned());
    }
    if t.len() == 6 && digits(t) {
        return Some(format!("{}-{}", &t[..4], &t[4..]));
    }
    // Azure's US dates: MM/DD/YYYY.
    let parts: Vec<&str> = t.split(['/', ' ']).collect();
    if parts.len() >= 3 && parts[2].len() == 4 && digits(parts[2]) && digits(parts[0]) && parts[0].len() <= 2 {
        return Some(format!("{}-{:0>2}", parts[2], parts[0]));
    }
    None
}

/// The entity a tag map names: JSON (`{"portico-entity": "cart"}`, GCP's `[{"key":…,"value":…}]`)
/// or Azure's `"k": "v","k2": "v2"`.
fn entity_tag(text: &str) -> Option<String> {
    if text.is_empty() {
        return None;
    }
    let parsed: Option<Value> = serde_json::from_str(text).ok().or_else(|| serde_json::from_str(&format!("{{{text}}}")).ok());
    let pick = |k: &str, v: &Value| ENTITY_TAGS.iter().any(|t| k.eq_ignore_ascii_case(t)).then(|| v.as_str().map(str::to_owned)).flatten();
    match parsed? {
        Value::Object(m) => m.iter().find_map(|(k, v)| pick(k, v)),
        Value::Array(items) => items.iter().find_map(|i| pick(i.get("key")?.as_str()?, i.get("value")?)),
        _ => None,
    }
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}
