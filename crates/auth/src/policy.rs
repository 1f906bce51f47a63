//! Policies: ordered rules in the expression language that allow or deny a permission to a
//! subject, looking at who asks (`user`), what for (`permission`), on which entity (`entity`,
//! with the graph functions) and how (`request`). Rules are combined first-match (the first rule
//! that applies decides) or deny-overrides (any deny that applies wins over every allow). When
//! no rule applies, the answer is no.

use std::sync::Arc;

use portico_expr::cel::{Context, Value};
use portico_expr::value::{from_json, map};
use portico_expr::{Budget, Expr, Limits, VariableDoc, Vocabulary};
use portico_graph::Id;
use portico_graph::eval::SharedGraph;
use roaring::RoaringBitmap;

use crate::identity::Identity;
use crate::permission::{Pattern, Permission};
use crate::tokens::Scope;

/// `auth.policy` in `portico.yaml`.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct PolicyConfig {
    pub combine: Combine,
    /// The rules, in order. None: the default policy ([`DEFAULT_POLICY`]).
    pub rules: Vec<RuleConfig>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Combine {
    /// The first rule whose permissions match and whose `when` holds decides.
    #[default]
    FirstMatch,
    /// Every rule is asked: one deny that applies denies; else one allow allows.
    DenyOverrides,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleConfig {
    pub name: String,
    pub effect: Effect,
    /// Permission names or patterns (`catalog.*`, `*`).
    pub permissions: Vec<String>,
    /// A condition; none: always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

/// The policy used when the configuration has no rules: everyone signed in reads, registers
/// locations, saves queries and keeps their own tokens; owners refresh and delete what they (or
/// their groups) own; service tokens do what their scopes allow; admins do everything.
pub const DEFAULT_POLICY: &str = r#"combine: firstMatch
rules:
  - name: admins
    effect: allow
    permissions: ["*"]
    when: user.admin
  - name: services-by-scope
    effect: allow
    permissions: ["*"]
    when: user.service && (permission.scope in user.scopes || permission.name in user.capabilities)
  - name: signed-in-read
    effect: allow
    permissions: [catalog.entity.read, catalog.location.read, catalog.location.analyze, discovery.read, query.run, query.saved.read, analytics.read, action.run.read]
    when: user.signedIn
  - name: signed-in-contribute
    effect: allow
    permissions: [query.saved.create, token.create, token.read, token.revoke, action.run, action.approve]
    when: user.signedIn
  - name: owners-edit
    effect: allow
    permissions: [catalog.entity.refresh, catalog.entity.delete]
    when: entity != null && user.owners.exists(o, entity.has_relation('ownedBy', o))
"#;

/// Who asks, as the policy sees it (`user`).
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub identity: Identity,
    /// A member of an admin group, the bootstrap token, the local command line, or the guest of
    /// `auth.mode: none`.
    pub admin: bool,
    /// A person or a service recognised by a credential (not the guest).
    pub signed_in: bool,
    /// A service token's subject (`service:<name>`).
    pub service: bool,
    /// The scopes of the credential, expanded (`write` also lists `read`).
    pub scopes: Vec<Scope>,
    /// Single permissions the credential holds besides its scopes.
    pub capabilities: Vec<Permission>,
    /// The identity provider's claims (empty for tokens).
    pub claims: serde_json::Value,
}

/// How the request was made, for rules that care (`request`).
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    pub method: String,
    pub path: String,
}

/// One question to the policy.
pub struct Question<'a> {
    pub subject: &'a Subject,
    pub permission: Permission,
    /// The entity's key, for permissions on one entity.
    pub entity: Option<&'a str>,
    pub request: Option<&'a RequestInfo>,
}

/// The answer, with the rule that gave it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    pub allowed: bool,
    /// The deciding rule; none when no rule applied.
    pub rule: Option<String>,
}

impl Decision {
    /// Why, for messages and the audit log.
    pub fn reason(&self) -> String {
        match (&self.rule, self.allowed) {
            (Some(r), true) => format!("allowed by rule {r:?}"),
            (Some(r), false) => format!("denied by rule {r:?}"),
            (None, _) => "no rule of the policy allows it".into(),
        }
    }
}

struct Rule {
    name: String,
    effect: Effect,
    patterns: Vec<Pattern>,
    when: Option<Expr>,
    /// What the rule reads that costs a look-up: `entity`, `user.entity`.
    reads: Reads,
}

/// The costly variables a rule reads (built only when an applicable rule reads them).
#[derive(Debug, Clone, Copy, Default)]
struct Reads {
    entity: bool,
    user_entity: bool,
}

impl Reads {
    fn of(expr: Option<&Expr>) -> Self {
        let Some(e) = expr else { return Self::default() };
        let entity = e.fields_of("entity").is_none_or(|f| !f.is_empty());
        let user_entity = e.fields_of("user").is_none_or(|f| f.contains("entity"));
        Self { entity, user_entity }
    }

    fn or(self, other: Self) -> Self {
        Self { entity: self.entity || other.entity, user_entity: self.user_entity || other.user_entity }
    }
}

/// A compiled policy.
pub struct Policy {
    combine: Combine,
    rules: Vec<Rule>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy").field("combine", &self.combine).field("rules", &self.rules.iter().map(|r| &r.name).collect::<Vec<_>>()).finish()
    }
}

/// What a policy expression may do: little, quickly.
fn limits() -> Limits {
    Limits {
        max_length: 4096,
        max_operators: 100,
        max_steps: 100_000,
        max_iterations: 100_000,
        max_value_bytes: 1 << 20,
        max_produced_bytes: 8 << 20,
        timeout: std::time::Duration::from_millis(50),
    }
}

/// The variables of a policy expression.
pub fn vocabulary() -> Vocabulary {
    let v = |name, description| VariableDoc { name, description };
    Vocabulary {
        variables: vec![
            v("user", "who asks: ref, groups (direct and inherited), owners (ref and groups), signedIn, admin, service, scopes, capabilities, claims, entity (the User entity or null)"),
            v("permission", "what for: name (e.g. 'catalog.entity.delete'), scope (read, write or admin), resource ('entity' or null)"),
            v("entity", "the entity acted on (with the graph functions: entity.related('ownedBy')), or null"),
            v("request", "how: method and path (null for the command line)"),
        ],
    }
}

impl Policy {
    /// The policy of `config`: its rules, or the default policy when it has none. `field`
    /// prefixes error messages (`auth.policy`).
    pub fn compile(config: &PolicyConfig, field: &str) -> Result<Self, String> {
        if config.rules.is_empty() {
            return Ok(Self::default_policy());
        }
        Ok(Self { combine: config.combine, rules: compile_rules(&config.rules, field, "")? })
    }

    /// The policy of `config` (or the default one) with the rules of `Policy` entities ahead of
    /// its own, in the order given; each named `<entity>/<rule>`, and a mistake named
    /// `<entity> spec.rules[i]…`. With `firstMatch`, an entity's rule decides before the
    /// configured ones; with `denyOverrides`, its denials win.
    pub fn with_entities(config: &PolicyConfig, field: &str, entities: &[PolicyEntity]) -> Result<Self, String> {
        let base = Self::compile(config, field)?;
        let mut rules = Vec::new();
        for e in entities {
            rules.extend(compile_rules(&e.rules, &format!("{} spec", e.reference), &format!("{}/", e.reference))?);
        }
        rules.extend(base.rules);
        Ok(Self { combine: config.combine, rules })
    }

    /// The rules' names, in the order they are asked.
    pub fn rule_names(&self) -> Vec<&str> {
        self.rules.iter().map(|r| r.name.as_str()).collect()
    }

    /// [`DEFAULT_POLICY`], compiled.
    pub fn default_policy() -> Self {
        let config: PolicyConfig = serde_saphyr::from_str(DEFAULT_POLICY).expect("the default policy parses");
        Self::compile(&config, "default policy").expect("the default policy compiles")
    }

    /// Answers a question. `graph` is the read model the graph functions and `entity` read.
    pub fn decide(&self, q: &Question<'_>, graph: &SharedGraph) -> Decision {
        let applicable = self.applicable(q.permission);
        if applicable.is_empty() {
            return Decision { allowed: false, rule: None };
        }
        let reads = applicable.iter().fold(Reads::default(), |acc, r| acc.or(r.reads));
        let warn = |rule: &Rule, e: &portico_expr::ExprError| tracing::warn!(rule = %rule.name, permission = %q.permission, error = %e, "a policy rule could not be evaluated");
        run(&applicable, self.combine, &mut None, || Variables::of(q, graph, reads).context(graph), &warn)
    }

    fn applicable(&self, permission: Permission) -> Vec<&Rule> {
        self.rules.iter().filter(|r| r.patterns.iter().any(|p| p.matches(permission))).collect()
    }

    /// Whether the answer to `permission` may differ from one entity to another: a rule that
    /// applies to it reads `entity`.
    pub fn depends_on_entity(&self, permission: Permission) -> bool {
        self.applicable(permission).iter().any(|r| r.reads.entity)
    }

    /// The answer to `permission` for `subject` when it is the same for every entity though
    /// some rules read `entity`: rules that do not read it decide before any that does (an
    /// admin rule first, say). `None` when an entity's own answer depends on the entity.
    pub fn same_for_every_entity(&self, subject: &Subject, permission: Permission, graph: &SharedGraph) -> Option<bool> {
        let applicable = self.applicable(permission);
        let reads = applicable.iter().fold(Reads::default(), |acc, r| acc.or(r.reads));
        let q = Question { subject, permission, entity: None, request: None };
        let mut ctx = None;
        let mut holds = |rule: &Rule| match &rule.when {
            None => true,
            Some(expr) => eval(ctx.get_or_insert_with(|| Variables::of(&q, graph, Reads { entity: false, ..reads }).context(graph)), expr).unwrap_or(rule.effect == Effect::Deny),
        };
        match self.combine {
            Combine::FirstMatch => {
                for rule in &applicable {
                    if rule.reads.entity {
                        return None;
                    }
                    if holds(rule) {
                        return Some(rule.effect == Effect::Allow);
                    }
                }
                Some(false)
            }
            Combine::DenyOverrides => {
                let (deny, allow): (Vec<&&Rule>, Vec<&&Rule>) = applicable.iter().partition(|r| r.effect == Effect::Deny);
                if deny.iter().any(|r| !r.reads.entity && holds(r)) {
                    return Some(false);
                }
                if deny.iter().any(|r| r.reads.entity) {
                    return None;
                }
                if allow.iter().any(|r| !r.reads.entity && holds(r)) {
                    return Some(true);
                }
                if allow.iter().any(|r| r.reads.entity) { None } else { Some(false) }
            }
        }
    }

    /// The present entities of `graph` on which `subject` may do `permission` (asked as
    /// [`Policy::decide`] would be for each, without a request): the answer for every entity
    /// at once, made once per policy, subject and catalog generation by the caller. The
    /// variables other than `entity` are built once; entities are decided on every core, a few
    /// thousand per hold of the read lock so writers are not kept waiting. An entity whose rules
    /// cannot finish within [`BULK_TIMEOUT`] in all is not allowed (fail closed).
    pub fn entities_allowed(&self, subject: &Subject, permission: Permission, graph: &SharedGraph) -> RoaringBitmap {
        let ids: Vec<Id> = graph.read().present().iter().collect();
        self.entities_allowed_among(subject, permission, graph, &ids)
    }

    /// Whether a change to the catalog can only change the answers about the changed entities
    /// and those they have (or had) relations with: the rules for `permission` reach no farther
    /// than the entity's neighbours, and do not read the user's own entity.
    pub fn decided_by_neighbours(&self, permission: Permission) -> bool {
        self.applicable(permission).iter().all(|r| !r.reads.user_entity && r.when.as_ref().is_none_or(|e| e.reads_only_neighbours_of("entity")))
    }

    /// [`Policy::entities_allowed`], asked only about `ids` (present ones; the rest are not
    /// allowed).
    pub fn entities_allowed_among(&self, subject: &Subject, permission: Permission, graph: &SharedGraph, ids: &[Id]) -> RoaringBitmap {
        let applicable = self.applicable(permission);
        let reads = applicable.iter().fold(Reads::default(), |acc, r| acc.or(r.reads));
        let base = Variables::of(&Question { subject, permission, entity: None, request: None }, graph, Reads { entity: false, ..reads });
        // Only what the rules read of the entity is built (most read a field or two).
        let only = applicable.iter().filter_map(|r| r.when.as_ref()).try_fold(std::collections::BTreeSet::new(), |mut acc, e| {
            acc.extend(e.fields_read_of("entity")?);
            Some(acc)
        });
        let deadline = std::time::Instant::now() + BULK_TIMEOUT;
        // One warning per rule, with the first entity it failed on, rather than one per entity.
        let failed = parking_lot::Mutex::new(std::collections::HashMap::<String, usize>::new());
        let on_error = |rule: &Rule, e: &portico_expr::ExprError| {
            let mut failed = failed.lock();
            let n = failed.entry(rule.name.clone()).or_default();
            if *n == 0 {
                tracing::warn!(rule = %rule.name, permission = %permission, error = %e, "a policy rule could not be evaluated on an entity (further failures of this rule are counted)");
            }
            *n += 1;
        };
        let threads = if ids.len() < 2048 { 1 } else { std::thread::available_parallelism().map_or(1, |n| n.get()).min(8) };
        let part = ids.len().div_ceil(threads).max(1);
        let decide_part = |part: &[Id]| {
            let mut allowed = RoaringBitmap::new();
            // One context for the part, its `entity` replaced for each: each question's limits,
            // times the entities asked, within the time of the whole.
            let n = part.len() as u64;
            let one = limits();
            let within = Limits { max_steps: one.max_steps.saturating_mul(n), max_iterations: one.max_iterations.saturating_mul(n), max_produced_bytes: one.max_produced_bytes.saturating_mul(n), timeout: BULK_TIMEOUT, ..one };
            let mut ctx = Some(base.clone().context_within(graph, &within));
            for chunk in part.chunks(4096) {
                if std::time::Instant::now() > deadline {
                    tracing::error!(permission = %permission, subject = %subject.identity.subject, "deciding every entity took longer than {BULK_TIMEOUT:?}; the rest are not allowed");
                    break;
                }
                let values: Vec<(Id, Value)> = {
                    let g = graph.read();
                    // Not kept in the graph's cache: a hundred thousand values would stay there.
                    chunk.iter().filter_map(|&id| Some((id, g.cel_entity_transient(id, only.as_ref())?))).collect()
                };
                for (id, entity) in values {
                    if let Some(c) = ctx.as_mut() {
                        c.add_variable_from_value("entity", entity);
                    }
                    if run(&applicable, self.combine, &mut ctx, || unreachable!("the part's context is made"), &on_error).allowed {
                        allowed.insert(id);
                    }
                }
            }
            allowed
        };
        let parts: Vec<&[Id]> = ids.chunks(part).collect();
        let allowed = portico_expr::on_big_stacks("policy", &parts, |p| decide_part(p)).into_iter().fold(RoaringBitmap::new(), |a, b| a | b);
        for (rule, n) in failed.into_inner() {
            if n > 1 {
                tracing::warn!(rule = %rule, permission = %permission, entities = n, "a policy rule could not be evaluated on these many entities");
            }
        }
        allowed
    }
}

/// How long deciding every entity of the catalog for one subject may take in all.
pub const BULK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Asks `rules` (those that apply to `permission`) in order; `make` builds the evaluation
/// context when a rule first needs one.
fn run(rules: &[&Rule], combine: Combine, ctx: &mut Option<Context<'static, 'static>>, make: impl FnOnce() -> Context<'static, 'static>, on_error: &dyn Fn(&Rule, &portico_expr::ExprError)) -> Decision {
    // One context for every rule of the question, made when a rule first needs it.
    let mut make = Some(make);
    let mut allowed_by = None;
    for rule in rules {
        let holds = match &rule.when {
            None => true,
            Some(expr) => {
                let ctx = ctx.get_or_insert_with(|| (make.take().expect("made once"))());
                match eval(ctx, expr) {
                    Ok(b) => b,
                    Err(e) => {
                        // Fail closed: a deny rule that cannot be evaluated denies; an allow
                        // rule that cannot be evaluated does not allow.
                        on_error(rule, &e);
                        rule.effect == Effect::Deny
                    }
                }
            }
        };
        if !holds {
            continue;
        }
        match (rule.effect, combine) {
            (Effect::Deny, _) => return Decision { allowed: false, rule: Some(rule.name.clone()) },
            (Effect::Allow, Combine::FirstMatch) => return Decision { allowed: true, rule: Some(rule.name.clone()) },
            (Effect::Allow, Combine::DenyOverrides) => {
                allowed_by.get_or_insert_with(|| rule.name.clone());
            }
        }
    }
    Decision { allowed: allowed_by.is_some(), rule: allowed_by }
}

/// The variables of one question, built once and shared by its rules.
#[derive(Clone)]
struct Variables {
    user: Value,
    permission: Value,
    entity: Value,
    request: Value,
}

impl Variables {
    fn of(q: &Question<'_>, graph: &SharedGraph, reads: Reads) -> Self {
        let s = q.subject;
        let strings = |items: &[String]| Value::List(Arc::new(items.iter().map(|g| string(g)).collect()));
        let (user_entity, entity) = if reads.entity || reads.user_entity {
            let g = graph.read();
            let value_of = |key: &str| g.id_of(key).and_then(|id| g.cel_entity(id)).unwrap_or(Value::Null);
            let user_entity = if reads.user_entity && s.identity.in_catalog { value_of(&s.identity.subject.to_ascii_lowercase()) } else { Value::Null };
            (user_entity, q.entity.filter(|_| reads.entity).map_or(Value::Null, value_of))
        } else {
            (Value::Null, Value::Null)
        };
        let scopes: Vec<String> = s.scopes.iter().map(|x| x.as_str().to_owned()).collect();
        let user = map([
            ("ref", string(&s.identity.subject)),
            ("groups", strings(&s.identity.groups)),
            ("owners", strings(&s.identity.owners())),
            ("signedIn", Value::Bool(s.signed_in)),
            ("admin", Value::Bool(s.admin)),
            ("service", Value::Bool(s.service)),
            ("scopes", strings(&scopes)),
            ("capabilities", strings(&s.capabilities.iter().map(|p| p.name().to_owned()).collect::<Vec<_>>())),
            ("claims", from_json(&s.claims)),
            ("entity", user_entity),
        ]);
        let permission = map([
            ("name", string(q.permission.name())),
            ("scope", string(q.permission.scope().as_str())),
            ("resource", q.permission.resource().map_or(Value::Null, |_| string("entity"))),
        ]);
        let request = q.request.map_or(Value::Null, |r| map([("method", string(&r.method)), ("path", string(&r.path))]));
        Self { user, permission, entity, request }
    }

    /// The evaluation context: the variables, the graph functions, one budget for the question.
    fn context(self, graph: &SharedGraph) -> Context<'static, 'static> {
        self.context_within(graph, &limits())
    }

    /// The context, under `limits` (several questions may share one).
    fn context_within(self, graph: &SharedGraph, limits: &Limits) -> Context<'static, 'static> {
        let budget = Arc::new(Budget::new(limits));
        let now = chrono::Utc::now().fixed_offset();
        let mut ctx = portico_expr::context(portico_graph::eval::access(graph), budget, now);
        ctx.add_variable_from_value("user", self.user);
        ctx.add_variable_from_value("permission", self.permission);
        ctx.add_variable_from_value("entity", self.entity);
        ctx.add_variable_from_value("request", self.request);
        ctx
    }
}

/// A `Policy` entity's rules, to put ahead of the configured ones.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyEntity {
    /// Its reference (`policy:default/production-freeze`).
    pub reference: String,
    pub rules: Vec<RuleConfig>,
}

/// Compiles rules; `field` names where they are for errors, `prefix` goes before each name.
fn compile_rules(config: &[RuleConfig], field: &str, prefix: &str) -> Result<Vec<Rule>, String> {
    let vocabulary = vocabulary();
    let limits = limits();
    let mut rules = Vec::with_capacity(config.len());
    let mut names = std::collections::HashSet::new();
    for (i, r) in config.iter().enumerate() {
        let at = format!("{field}.rules[{i}]");
        if r.name.trim().is_empty() {
            return Err(format!("{at}.name: must not be empty"));
        }
        if !names.insert(r.name.as_str()) {
            return Err(format!("{at}.name: {:?} is used by an earlier rule", r.name));
        }
        if r.permissions.is_empty() {
            return Err(format!("{at}.permissions: name at least one permission (or \"*\")"));
        }
        let patterns = r
            .permissions
            .iter()
            .enumerate()
            .map(|(j, p)| Pattern::parse(p).map_err(|e| format!("{at}.permissions[{j}]: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let when = match &r.when {
            None => None,
            Some(source) => Some(Expr::compile(source, &vocabulary, &limits).map_err(|e| format!("{at}.when: {e}"))?),
        };
        let reads = Reads::of(when.as_ref());
        rules.push(Rule { name: format!("{prefix}{}", r.name), effect: r.effect, patterns, when, reads });
    }
    Ok(rules)
}

fn eval(ctx: &Context<'_, '_>, expr: &Expr) -> Result<bool, portico_expr::ExprError> {
    match expr.eval(ctx)? {
        Value::Bool(b) => Ok(b),
        other => Err(portico_expr::ExprError::new(
            portico_expr::ErrorKind::Check,
            format!("a rule's `when` must be true or false; it gave a {}", portico_expr::value::type_name(&other)),
        )),
    }
}

fn string(s: &str) -> Value {
    Value::String(Arc::new(s.to_owned()))
}
