//! A `Scorecard` entity (`portico.dev/v1`) read into rules ready to run: the filter and every
//! rule's expression compiled, levels in order, each rule placed at its level. Problems are
//! reported by field path (`spec.rules[2].expression`), which the location reader turns into
//! the file's line.

use portico_expr::{Expr, Limits, Reach, Vocabulary};
use portico_model::{Entity, FieldError};

/// Most rules in one scorecard (each entity's result keeps a bit per rule).
pub const MAX_RULES: usize = 64;

/// The levels of a scorecard that names none.
pub const DEFAULT_LEVELS: &[&str] = &["Bronze", "Silver", "Gold"];

/// A compiled scorecard.
#[derive(Debug)]
pub struct Scorecard {
    /// `scorecard:namespace/name`.
    pub key: String,
    pub name: String,
    pub namespace: String,
    pub title: String,
    pub description: Option<String>,
    pub owner: Option<String>,
    /// From the lowest to the highest.
    pub levels: Vec<String>,
    pub filter: Option<Expr>,
    pub rules: Vec<Rule>,
    /// What the answers depend on besides each entity, over every expression.
    pub reach: Reach,
    /// The entity's hash, to tell when it changed.
    pub hash: String,
}

#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// Index into the scorecard's levels.
    pub level: usize,
    pub weight: f64,
    pub expression: Expr,
    pub remediation: Option<Remediation>,
}

/// How to fix a failing rule: a text, a link, or a self-service template to run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Remediation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSpec {
    owner: Option<String>,
    filter: Option<String>,
    levels: Option<Vec<String>>,
    rules: Vec<RawRule>,
}

#[derive(serde::Deserialize)]
struct RawRule {
    id: String,
    title: Option<String>,
    description: Option<String>,
    level: Option<String>,
    expression: String,
    weight: Option<f64>,
    remediation: Option<Remediation>,
}

/// The limits a scorecard's expressions compile under (evaluation limits are the evaluator's).
fn limits() -> Limits {
    Limits::default()
}

impl Scorecard {
    /// Reads a validated Scorecard entity; every problem found, by field path.
    pub fn from_entity(entity: &Entity, hash: &str) -> Result<Self, Vec<FieldError>> {
        let spec = entity.spec.clone().unwrap_or_default();
        let raw: RawSpec = serde_json::from_value(serde_json::Value::Object(spec)).map_err(|e| vec![FieldError::new("spec", e.to_string())])?;
        let mut errors = Vec::new();
        let vocabulary = Vocabulary::entity();
        let compile = |path: String, source: &str, errors: &mut Vec<FieldError>| match Expr::compile(source, &vocabulary, &limits()) {
            Ok(e) if e.reach().scores => {
                errors.push(FieldError::new(path, "scorecard() reads scorecards' results, which are made of these rules: a scorecard's filter and rules cannot use it (use the checks it is made of, or an initiative)"));
                None
            }
            Ok(e) => Some(e),
            Err(e) => {
                // The field's own line and column come first; the caret shows where in it.
                errors.push(FieldError::new(path, e.without_position()));
                None
            }
        };
        let filter = raw.filter.as_deref().and_then(|f| compile("spec.filter".into(), f, &mut errors));
        let levels: Vec<String> = raw.levels.unwrap_or_else(|| DEFAULT_LEVELS.iter().map(|l| (*l).to_owned()).collect());
        // The schema says so too; a stored entity may predate it, and results keep one bit per rule.
        if levels.is_empty() {
            errors.push(FieldError::new("spec.levels", "a scorecard has at least one level"));
        }
        if raw.rules.len() > MAX_RULES {
            errors.push(FieldError::new("spec.rules", format!("a scorecard has at most {MAX_RULES} rules, not {}", raw.rules.len())));
            return Err(errors);
        }
        let mut rules = Vec::with_capacity(raw.rules.len());
        for (i, r) in raw.rules.into_iter().enumerate() {
            if let Some(first) = rules.iter().position(|x: &Rule| x.id == r.id) {
                errors.push(FieldError::new(format!("spec.rules[{i}].id"), format!("the rule id {:?} is already used by spec.rules[{first}]", r.id)));
            }
            let level = match &r.level {
                None => Some(0),
                Some(l) => match levels.iter().position(|x| x == l) {
                    Some(p) => Some(p),
                    None => {
                        errors.push(FieldError::new(format!("spec.rules[{i}].level"), format!("{l:?} is not one of the scorecard's levels: {}", levels.join(", "))));
                        None
                    }
                },
            };
            let expression = compile(format!("spec.rules[{i}].expression"), &r.expression, &mut errors);
            if let (Some(level), Some(expression)) = (level, expression) {
                rules.push(Rule {
                    title: r.title.unwrap_or_else(|| r.id.clone()),
                    id: r.id,
                    description: r.description,
                    level,
                    weight: r.weight.unwrap_or(1.0),
                    expression,
                    remediation: r.remediation,
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut reach = Reach { hops: 1, ..Reach::default() };
        for e in filter.iter().chain(rules.iter().map(|r| &r.expression)) {
            let r = e.reach();
            reach.anything |= r.anything;
            reach.transitive.extend(r.transitive);
            reach.hops = reach.hops.max(r.hops);
        }
        let reference = entity.entity_ref();
        Ok(Self {
            key: reference.key(),
            name: entity.metadata.name.clone(),
            namespace: reference.namespace().to_owned(),
            title: entity.metadata.title.clone().unwrap_or_else(|| entity.metadata.name.clone()),
            description: entity.metadata.description.clone(),
            owner: raw.owner,
            levels,
            filter,
            rules,
            reach,
            hash: hash.to_owned(),
        })
    }

    /// The sum of the rules' weights.
    pub fn total_weight(&self) -> f64 {
        self.rules.iter().map(|r| r.weight).sum()
    }

    /// The index of a level by name (case-insensitive).
    pub fn level_index(&self, name: &str) -> Option<usize> {
        self.levels.iter().position(|l| l.eq_ignore_ascii_case(name))
    }
}

/// The check every validator runs on Scorecard entities (see [`crate::register`]).
pub(crate) fn check_entity(entity: &Entity) -> Vec<FieldError> {
    Scorecard::from_entity(entity, "").err().unwrap_or_default()
}
