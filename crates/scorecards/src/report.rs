//! What the API, the pages and the command line show of the results: a scorecard's summary
//! (entities per level, rule pass rates), one entity's results, and the deploy gate's answer.
//! Every view takes the reader's [`Visibility`]: entities the reader may not read are not
//! counted, listed or answered for.

use portico_graph::{CatalogGraph, Id, Visibility};

use crate::definition::Remediation;
use crate::engine::Card;

/// A scorecard, its levels and rules, and how the entities it applies to fare.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    #[serde(rename = "ref")]
    pub reference: String,
    pub name: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    pub levels: Vec<String>,
    /// Entities the scorecard applies to.
    pub entities: usize,
    /// Entities at each level: first those that reached none, then one per level.
    pub distribution: Vec<LevelCount>,
    /// The average score, 0 to 100.
    pub average_score: f64,
    pub rules: Vec<RuleSummary>,
    pub evaluated_at: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LevelCount {
    /// `null` for the first, unnamed level.
    pub level: Option<String>,
    pub count: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleSummary {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub level: String,
    pub weight: f64,
    pub expression: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
    pub passed: usize,
    pub failed: usize,
    /// Entities the expression could not be evaluated on (they fail it), and the first error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<RuleErrors>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RuleErrors {
    pub count: usize,
    pub first: String,
}

/// The level an entity reached, by name; `None` for the first, unnamed level.
pub fn level_name(card: &Card, reached: u8) -> Option<String> {
    reached.checked_sub(1).map(|i| card.card.levels[i as usize].clone())
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A scorecard's summary, over the entities `vis` lets through.
pub fn summary(card: &Card, vis: &Visibility) -> Summary {
    let c = &card.card;
    let mut per_level = vec![0usize; c.levels.len() + 1];
    let mut passed = vec![0usize; c.rules.len()];
    let mut entities = 0usize;
    let mut total_score = 0f64;
    for (id, s) in card.scores.iter() {
        if !vis.sees(id) {
            continue;
        }
        entities += 1;
        total_score += f64::from(s.score);
        per_level[s.reached as usize] += 1;
        for (i, p) in passed.iter_mut().enumerate() {
            if s.passed(i) {
                *p += 1;
            }
        }
    }
    // Error counts are over every entity: shown only to readers who see everything.
    let errors_shown = vis.is_all();
    Summary {
        reference: c.key.clone(),
        name: c.name.clone(),
        title: c.title.clone(),
        description: c.description.clone(),
        owner: c.owner.clone(),
        filter: c.filter.as_ref().map(|f| f.source().to_owned()),
        levels: c.levels.clone(),
        entities,
        distribution: per_level.iter().enumerate().map(|(i, &count)| LevelCount { level: level_name(card, i as u8), count }).collect(),
        average_score: if entities == 0 { 0.0 } else { (total_score / entities as f64 * 10.0).round() / 10.0 },
        rules: c
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| RuleSummary {
                id: r.id.clone(),
                title: r.title.clone(),
                description: r.description.clone(),
                level: c.levels[r.level].clone(),
                weight: r.weight,
                expression: r.expression.source().to_owned(),
                remediation: r.remediation.clone(),
                passed: passed[i],
                failed: entities - passed[i],
                errors: errors_shown.then(|| card.errors.iter().find(|(ri, _, _)| *ri == i).map(|(_, n, first)| RuleErrors { count: *n, first: first.clone() })).flatten(),
            })
            .collect(),
        evaluated_at: rfc3339(card.evaluated_at),
    }
}

/// One entity's result on one scorecard.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityResult {
    pub scorecard: String,
    pub title: String,
    /// The level reached; `null` when none.
    pub level: Option<String>,
    pub levels: Vec<String>,
    pub score: f64,
    /// The next level up, if any: what it takes is the failing rules of that level and below.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_level: Option<String>,
    pub rules: Vec<RuleResult>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleResult {
    pub id: String,
    pub title: String,
    pub level: String,
    pub passed: bool,
    /// The expression could not be evaluated on this entity (it fails).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub errored: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
}

/// The results of an entity on every scorecard that applies to it.
pub fn entity_results(cards: &[std::sync::Arc<Card>], id: Id) -> Vec<EntityResult> {
    cards.iter().filter_map(|card| Some(entity_result(card, id, *card.scores.get(&id)?))).collect()
}

pub(crate) fn entity_result(card: &Card, _id: Id, s: crate::Score) -> EntityResult {
    let c = &card.card;
    EntityResult {
        scorecard: c.key.clone(),
        title: c.title.clone(),
        level: level_name(card, s.reached),
        levels: c.levels.clone(),
        score: (f64::from(s.score) * 10.0).round() / 10.0,
        next_level: c.levels.get(s.reached as usize).cloned(),
        rules: c
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| RuleResult {
                id: r.id.clone(),
                title: r.title.clone(),
                level: c.levels[r.level].clone(),
                passed: s.passed(i),
                errored: s.errored & (1 << i) != 0,
                description: r.description.clone(),
                remediation: r.remediation.clone(),
            })
            .collect(),
    }
}

/// One entity of a scorecard's list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listed {
    #[serde(rename = "ref")]
    pub reference: String,
    pub level: Option<String>,
    pub score: f64,
    /// Rules failed, by id.
    pub failing: Vec<String>,
}

/// The entities of a scorecard `vis` lets through, lowest level and score first (what needs
/// work first), optionally only those at `level` (`""`: none reached); and how many in all.
pub fn entities(card: &Card, graph: &CatalogGraph, vis: &Visibility, level: Option<&str>, offset: usize, limit: usize) -> (usize, Vec<Listed>) {
    let wanted: Option<u8> = match level {
        None => None,
        Some("") => Some(0),
        Some(l) => match card.card.level_index(l) {
            Some(i) => Some(i as u8 + 1),
            None => return (0, Vec::new()),
        },
    };
    let mut rows: Vec<(Id, &crate::Score)> = card.scores.iter().filter(|(id, s)| vis.sees(*id) && wanted.is_none_or(|w| s.reached == w)).collect();
    rows.sort_by(|a, b| a.1.reached.cmp(&b.1.reached).then(a.1.score.total_cmp(&b.1.score)).then_with(|| graph.key_of(a.0).cmp(graph.key_of(b.0))));
    let total = rows.len();
    let page = rows
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(id, s)| Listed {
            reference: graph.entry(id).map_or_else(|| graph.key_of(id).to_owned(), |e| e.entity_ref().to_string()),
            level: level_name(card, s.reached),
            score: (f64::from(s.score) * 10.0).round() / 10.0,
            failing: card.card.rules.iter().enumerate().filter(|(i, _)| !s.passed(*i)).map(|(_, r)| r.id.clone()).collect(),
        })
        .collect();
    (total, page)
}

/// The deploy gate's answer.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GateAnswer {
    pub pass: bool,
    pub entity: String,
    pub scorecard: String,
    /// The level required.
    pub required: String,
    /// The level reached (`null`: none, or no result).
    pub level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Why the gate failed without looking at rules (no such entity, no result).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The rules of the required level and below that the entity fails, with how to fix them.
    pub failing: Vec<RuleResult>,
}

/// What the gate does with an entity the scorecard has no result for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Unknown {
    /// Fail (the default): a gate that cannot tell does not let a deploy through.
    #[default]
    Fail,
    Pass,
}

/// Whether `id` (`None`: no such entity, or one the reader may not read) reaches `level` on
/// `card`. `entity` is the reference as asked.
pub fn gate(card: &Card, entity: &str, id: Option<Id>, level: &str, unknown: Unknown) -> Result<GateAnswer, String> {
    let c = &card.card;
    let Some(required) = c.level_index(level) else {
        return Err(format!("{level:?} is not a level of {}; its levels: {}", c.key, c.levels.join(", ")));
    };
    let mut answer = GateAnswer {
        pass: unknown == Unknown::Pass,
        entity: entity.to_owned(),
        scorecard: c.key.clone(),
        required: c.levels[required].clone(),
        level: None,
        score: None,
        reason: None,
        failing: Vec::new(),
    };
    let Some(id) = id else {
        answer.reason = Some(format!("no entity {entity} in the catalog"));
        return Ok(answer);
    };
    let Some(&s) = card.scores.get(&id) else {
        answer.reason = Some(format!("{} does not apply to {entity} (its filter leaves it out), so there is no result", c.key));
        return Ok(answer);
    };
    let result = entity_result(card, id, s);
    answer.pass = s.reached as usize > required;
    answer.level = result.level;
    answer.score = Some(result.score);
    answer.failing = result.rules.into_iter().zip(&c.rules).filter(|(r, rule)| !r.passed && rule.level <= required).map(|(r, _)| r).collect();
    Ok(answer)
}
