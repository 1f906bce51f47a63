//! Built-in checks: named, documented expressions that scorecard rules (and queries) call like
//! functions, `has_owner()`. Each is written in the language itself and put in place of its call
//! when an expression is compiled, so a check costs what the expression it stands for costs,
//! reads only what that expression reads, and is planned with the rest.
//!
//! Checks apply to the entity the expression is evaluated for; they take no argument. Checks
//! about something a tool reports (Kubernetes, Terraform, vulnerability scans) pass when the
//! entity has no such report: filter the scorecard, or add `on_kubernetes()`, to require one.

use std::collections::HashMap;
use std::sync::OnceLock;

use cel::common::ast::{EntryExpr, Expr as Node, IdedExpr};

/// One built-in check.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct CheckDoc {
    pub name: &'static str,
    /// What it is about: ownership, documentation, lifecycle, repository, dependencies,
    /// kubernetes, terraform, security, testing, dora, operations.
    pub group: &'static str,
    pub description: &'static str,
    /// The expression it stands for.
    pub expression: &'static str,
    /// A rule that uses it.
    pub example: &'static str,
}

const fn c(group: &'static str, name: &'static str, description: &'static str, expression: &'static str, example: &'static str) -> CheckDoc {
    CheckDoc { name, group, description, expression, example }
}

/// Every built-in check.
pub const CHECKS: &[CheckDoc] = &[
    // Ownership
    c("ownership", "has_owner", "spec.owner is set.", "has(spec.owner) && spec.owner != ''", "has_owner()"),
    c("ownership", "owner_exists", "The owner named by spec.owner is an entity of the catalog.", "related('ownedBy').size() > 0", "owner_exists()"),
    c("ownership", "owner_is_group", "The owner is a Group (not a User: people move, teams stay).", "related('ownedBy').exists(o, o.kind == 'Group')", "owner_is_group()"),
    c("ownership", "owner_has_members", "The owning Group has at least one member.", "related('ownedBy').exists(o, o.kind == 'Group' && o.inverse('memberOf').size() > 0)", "owner_has_members()"),
    c("ownership", "has_oncall", "An on-call annotation names who is paged: PagerDuty, Opsgenie, or portico.dev/on-call.", "has(metadata.annotations) && ['pagerduty.com/service-id', 'pagerduty.com/integration-key', 'opsgenie.com/team', 'opsgenie.com/component-selector', 'portico.dev/on-call'].exists(k, k in metadata.annotations)", "has_oncall()"),
    // Documentation
    c("documentation", "has_description", "metadata.description is set and not blank.", "has(metadata.description) && metadata.description.trim() != ''", "has_description()"),
    c("documentation", "has_title", "metadata.title is set.", "has(metadata.title) && metadata.title.trim() != ''", "has_title()"),
    c("documentation", "has_readme", "Discovery found a README in the entity's folder or at its repository's root (fact git.hasReadme).", "fact('git.hasReadme') == true", "has_readme()"),
    c("documentation", "has_techdocs", "TechDocs are declared (annotation backstage.io/techdocs-ref).", "has(metadata.annotations) && 'backstage.io/techdocs-ref' in metadata.annotations", "has_techdocs()"),
    c("documentation", "has_runbook", "A runbook is linked: a link of type or title 'runbook', or the annotation portico.dev/runbook.", "(has(metadata.links) && metadata.links.exists(l, (has(l.type) && l.type.lowerAscii() == 'runbook') || (has(l.title) && l.title.lowerAscii().contains('runbook')))) || (has(metadata.annotations) && 'portico.dev/runbook' in metadata.annotations)", "has_runbook()"),
    c("documentation", "has_links", "At least one link (dashboard, docs, chat) in metadata.links.", "has(metadata.links) && metadata.links.size() > 0", "has_links()"),
    c("documentation", "has_tags", "At least one tag in metadata.tags.", "has(metadata.tags) && metadata.tags.size() > 0", "has_tags()"),
    c("documentation", "has_source_location", "Where the source is: annotation backstage.io/source-location, github.com/project-slug or gitlab.com/project-slug.", "has(metadata.annotations) && ['backstage.io/source-location', 'github.com/project-slug', 'gitlab.com/project-slug'].exists(k, k in metadata.annotations)", "has_source_location()"),
    c("documentation", "provides_api", "The entity provides at least one API of the catalog.", "related('providesApi').size() > 0", "kind != 'Component' || spec.type != 'service' || provides_api()"),
    c("documentation", "apis_have_definitions", "Every API the entity provides has a non-empty definition.", "related('providesApi').all(a, has(a.spec.definition) && string(a.spec.definition).trim() != '')", "apis_have_definitions()"),
    c("documentation", "api_definition_parseable", "An API's definition is present and looks like its spec.type says (OpenAPI, AsyncAPI, GraphQL, gRPC); other entities pass.", "kind != 'API' || (has(spec.definition) && (spec.type == 'openapi' ? spec.definition.matches('(?m)^\\\\s*[\"\\']?(openapi|swagger)[\"\\']?\\\\s*:') : spec.type == 'asyncapi' ? spec.definition.matches('(?m)^\\\\s*[\"\\']?asyncapi[\"\\']?\\\\s*:') : spec.type == 'graphql' ? spec.definition.matches('\\\\b(type|schema|scalar|enum|interface|input|union)\\\\b') : spec.type == 'grpc' ? spec.definition.matches('\\\\b(service|message)\\\\s+\\\\w+') : spec.definition.trim() != ''))", "api_definition_parseable()"),
    // Lifecycle and structure
    c("lifecycle", "has_lifecycle", "spec.lifecycle is set.", "has(spec.lifecycle) && spec.lifecycle != ''", "has_lifecycle()"),
    c("lifecycle", "lifecycle_known", "spec.lifecycle is one of Backstage's: experimental, production, deprecated.", "has(spec.lifecycle) && spec.lifecycle in ['experimental', 'production', 'deprecated']", "lifecycle_known()"),
    c("lifecycle", "not_deprecated", "The entity is not deprecated.", "!has(spec.lifecycle) || spec.lifecycle != 'deprecated'", "not_deprecated()"),
    c("lifecycle", "has_tier", "A tier is set: label tier, annotation portico.dev/tier, or spec.tier.", "(has(metadata.labels) && 'tier' in metadata.labels) || (has(metadata.annotations) && 'portico.dev/tier' in metadata.annotations) || has(spec.tier)", "has_tier()"),
    c("lifecycle", "has_type", "spec.type is set.", "has(spec.type) && spec.type != ''", "has_type()"),
    c("lifecycle", "has_system", "spec.system names a system.", "has(spec.system) && spec.system != ''", "has_system()"),
    c("lifecycle", "system_exists", "The entity is part of a System of the catalog.", "related('partOf').exists(s, s.kind == 'System')", "system_exists()"),
    c("lifecycle", "has_domain", "The entity belongs to a Domain: its own, or its system's.", "related('partOf').exists(p, p.kind == 'Domain' || (p.kind == 'System' && p.related('partOf').exists(d, d.kind == 'Domain')))", "has_domain()"),
    // Repository facts, from discovery
    c("repository", "has_codeowners", "A CODEOWNERS file covers the entity's folder (fact git.hasCodeowners).", "fact('git.hasCodeowners') == true", "has_codeowners()"),
    c("repository", "has_license", "A LICENSE file, in the folder or at the repository's root (fact git.hasLicense).", "fact('git.hasLicense') == true", "has_license()"),
    c("repository", "has_ci", "CI configuration in the repository: GitHub Actions, GitLab CI, Jenkins, CircleCI, … (fact git.hasCi).", "fact('git.hasCi') == true", "has_ci()"),
    c("repository", "has_dockerfile", "A Dockerfile in the entity's folder (fact git.hasDockerfile).", "fact('git.hasDockerfile') == true", "has_dockerfile()"),
    c("repository", "has_tests", "Test files or folders by the language's conventions (fact git.hasTests).", "fact('git.hasTests') == true", "has_tests()"),
    c("repository", "recently_committed", "A commit touched the entity's folder in the last 90 days (fact git.lastCommitAt).", "fact('git.lastCommitAt') != null && since(fact('git.lastCommitAt')) < days(90)", "recently_committed()"),
    c("repository", "bus_factor_ok", "At least two people committed in the last 90 days (fact git.contributors90d).", "fact('git.contributors90d') != null && fact('git.contributors90d') >= 2", "bus_factor_ok()"),
    c("repository", "language_known", "Discovery recognised the entity's language (fact git.language).", "fact('git.language') != null", "language_known()"),
    // Dependencies
    c("dependencies", "no_deprecated_dependencies", "Nothing the entity depends on or consumes directly is deprecated.", "related('dependsOn').all(d, !has(d.spec.lifecycle) || d.spec.lifecycle != 'deprecated') && related('consumesApi').all(d, !has(d.spec.lifecycle) || d.spec.lifecycle != 'deprecated')", "no_deprecated_dependencies()"),
    c("dependencies", "no_deprecated_dependencies_transitively", "Nothing the entity depends on, directly or not, is deprecated.", "reachable('dependsOn').all(d, !has(d.spec.lifecycle) || d.spec.lifecycle != 'deprecated')", "no_deprecated_dependencies_transitively()"),
    c("dependencies", "no_experimental_dependencies_in_production", "A production entity depends on nothing experimental.", "!has(spec.lifecycle) || spec.lifecycle != 'production' || related('dependsOn').all(d, !has(d.spec.lifecycle) || d.spec.lifecycle != 'experimental')", "no_experimental_dependencies_in_production()"),
    c("dependencies", "no_unresolved_relations", "Every relation names an entity that exists (no dangling owner, system, dependency or API).", "relations.all(r, entity(r.targetRef) != null)", "no_unresolved_relations()"),
    c("dependencies", "no_dependencies_with_errors", "Nothing the entity depends on has errors in the catalog (a source could not read its latest descriptor).", "related('dependsOn').all(d, !d.has_errors())", "no_dependencies_with_errors()"),
    c("dependencies", "no_errors", "The entity's own descriptor read without errors at its last read.", "!has_errors()", "no_errors()"),
    c("dependencies", "dependencies_owned", "Everything the entity depends on has an owner.", "related('dependsOn').all(d, has(d.spec.owner) && d.spec.owner != '')", "dependencies_owned()"),
    c("dependencies", "consumed_apis_exist", "Every API the entity consumes is in the catalog.", "relations.filter(r, r.type == 'consumesApi').all(r, entity(r.targetRef) != null)", "consumed_apis_exist()"),
    // Kubernetes facts, from discovery
    c("kubernetes", "on_kubernetes", "Discovery found the entity running on a Kubernetes cluster (fact k8s.cluster).", "fact('k8s.cluster') != null", "on_kubernetes()"),
    c("kubernetes", "k8s_replicas_ok", "At least two replicas when the entity is in production (fact k8s.replicas); passes off Kubernetes.", "fact('k8s.replicas') == null || !has(spec.lifecycle) || spec.lifecycle != 'production' || fact('k8s.replicas') >= 2", "k8s_replicas_ok()"),
    c("kubernetes", "k8s_probes", "Liveness and readiness probes are set (facts k8s.hasLivenessProbe, k8s.hasReadinessProbe); passes off Kubernetes.", "fact('k8s.hasLivenessProbe') != false && fact('k8s.hasReadinessProbe') != false", "k8s_probes()"),
    c("kubernetes", "k8s_resource_limits", "Every container has resource limits (fact k8s.hasResourceLimits); passes off Kubernetes.", "fact('k8s.hasResourceLimits') != false", "k8s_resource_limits()"),
    c("kubernetes", "k8s_no_latest_tag", "No image runs with the tag latest or no tag (fact k8s.imageTags); passes off Kubernetes.", "fact('k8s.imageTags') == null || !fact('k8s.imageTags').exists(t, t == 'latest' || t == '')", "k8s_no_latest_tag()"),
    c("kubernetes", "k8s_ready", "Every desired replica is ready (facts k8s.replicas, k8s.readyReplicas); passes off Kubernetes.", "fact('k8s.replicas') == null || fact('k8s.readyReplicas') == fact('k8s.replicas')", "k8s_ready()"),
    // Terraform facts, from discovery
    c("terraform", "terraform_tagged", "A Terraform-managed resource has tags (fact terraform.tags); other entities pass.", "fact('terraform.type') == null || (fact('terraform.tags') != null && size(fact('terraform.tags')) > 0)", "terraform_tagged()"),
    c("terraform", "terraform_owner_tag", "A Terraform-managed resource has an owner or team tag; other entities pass.", "fact('terraform.type') == null || (fact('terraform.tags') != null && ['owner', 'Owner', 'team', 'Team', 'owner-team'].exists(k, k in fact('terraform.tags')))", "terraform_owner_tag()"),
    // Security and operations: facts recorded by importers and events
    c("security", "vulnerability_scan_present", "A vulnerability report was recorded for the entity (fact security.critical).", "fact('security.critical') != null", "vulnerability_scan_present()"),
    c("security", "no_critical_vulnerabilities", "No open critical vulnerability in the last report (fact security.critical); passes with no report.", "fact('security.critical') == null || fact('security.critical') == 0", "vulnerability_scan_present() && no_critical_vulnerabilities()"),
    c("security", "no_high_vulnerabilities", "No open high vulnerability in the last report (fact security.high); passes with no report.", "fact('security.high') == null || fact('security.high') == 0", "no_high_vulnerabilities()"),
    // Tests and coverage: facts recorded by importers
    c("testing", "tests_pass", "The last test report had no failing test (fact tests.failed); passes with no report.", "fact('tests.failed') == null || fact('tests.failed') == 0", "tests_pass()"),
    c("testing", "line_coverage_at_least_80", "Line coverage of the last coverage report is at least 80% (fact coverage.lines); passes with no report.", "fact('coverage.lines') == null || fact('coverage.lines') >= 80.0", "line_coverage_at_least_80()"),
    // DORA, from recorded deployments and incidents (the `dora` variable)
    c("dora", "deploys_weekly", "At least one production deployment a week on average over the last 90 days (DORA's high band or better for deployment frequency).", "dora.deploys_per_week >= 1.0", "deploys_weekly()"),
    c("dora", "lead_time_under_a_week", "Median lead time for changes (commit to production) under a week over the last 90 days; fails when not measured.", "dora.lead_time_hours != null && dora.lead_time_hours < 168.0", "lead_time_under_a_week()"),
    c("dora", "change_failure_rate_at_most_15_percent", "At most 15% of production deployments failed or caused an incident over the last 90 days; fails when not measured.", "dora.change_failure_rate != null && dora.change_failure_rate <= 0.15", "change_failure_rate_at_most_15_percent()"),
    c("dora", "restores_within_a_day", "Median time to restore service after an incident under a day over the last 90 days; passes with no incident.", "dora.time_to_restore_hours == null || dora.time_to_restore_hours < 24.0", "restores_within_a_day()"),
    c("dora", "dora_high_or_better", "Every measured DORA metric is in the elite or high band over the last 90 days; fails when nothing is measured.", "dora.band == 'elite' || dora.band == 'high'", "dora_high_or_better()"),
    c("operations", "no_open_incidents", "No incident is open on the entity (fact incidents.open); passes with none recorded.", "fact('incidents.open') == null || fact('incidents.open') == 0", "no_open_incidents()"),
];

/// The check named `name`, if there is one.
pub fn find(name: &str) -> Option<&'static CheckDoc> {
    CHECKS.iter().find(|c| c.name == name)
}

/// The parsed trees of the checks, made once.
fn trees() -> &'static HashMap<&'static str, IdedExpr> {
    static TREES: OnceLock<HashMap<&'static str, IdedExpr>> = OnceLock::new();
    TREES.get_or_init(|| {
        CHECKS
            .iter()
            .map(|c| {
                let program = crate::env().compile(c.expression).unwrap_or_else(|e| panic!("the built-in check {} does not parse: {e:?}", c.name));
                (c.name, program.expression().clone())
            })
            .collect()
    })
}

/// `tree` with every call of a check replaced by the check's expression, its nodes numbered
/// as the call was (so an error inside a check points at the call).
pub(crate) fn expand(tree: &IdedExpr) -> IdedExpr {
    let mut out = tree.clone();
    replace(&mut out);
    out
}

fn replace(node: &mut IdedExpr) {
    if let Node::Call(c) = &node.expr
        && c.target.is_none()
        && c.args.is_empty()
        && let Some(tree) = trees().get(c.func_name.as_str())
    {
        let mut body = tree.clone();
        renumber(&mut body, node.id);
        *node = body;
        return;
    }
    for child in children_mut(node) {
        replace(child);
    }
}

fn renumber(node: &mut IdedExpr, id: u64) {
    node.id = id;
    if let Node::Map(m) = &mut node.expr {
        for e in &mut m.entries {
            e.id = id;
        }
    }
    for child in children_mut(node) {
        renumber(child, id);
    }
}

fn entries_mut(entries: &mut [cel::common::ast::IdedEntryExpr]) -> Vec<&mut IdedExpr> {
    entries
        .iter_mut()
        .flat_map(|e| match &mut e.expr {
            EntryExpr::MapEntry(e) => vec![&mut e.key, &mut e.value],
            EntryExpr::StructField(f) => vec![&mut f.value],
        })
        .collect()
}

fn children_mut(node: &mut IdedExpr) -> Vec<&mut IdedExpr> {
    match &mut node.expr {
        Node::Call(c) => c.target.iter_mut().map(|t| t.as_mut()).chain(c.args.iter_mut()).collect(),
        Node::Comprehension(c) => vec![&mut c.iter_range, &mut c.accu_init, &mut c.loop_cond, &mut c.loop_step, &mut c.result],
        Node::List(l) => l.elements.iter_mut().collect(),
        Node::Map(m) => entries_mut(&mut m.entries),
        Node::Struct(s) => entries_mut(&mut s.entries),
        Node::Select(s) => vec![&mut s.operand],
        Node::Ident(_) | Node::Literal(_) | Node::Unspecified => Vec::new(),
    }
}

pub(crate) fn visit(node: &IdedExpr, f: &mut dyn FnMut(&IdedExpr)) {
    f(node);
    visit_children(node, &mut |n| visit(n, f));
}

/// What an expression's answer for an entity depends on besides the entity itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// Relation types followed transitively (`reachable('dependsOn')`): the answer depends on
    /// every entity reachable that way, and on their neighbours.
    pub transitive: std::collections::BTreeSet<String>,
    /// An entity looked up by reference (`entity(ref)`), or a relation type not written as a
    /// literal: the answer may depend on any entity.
    pub anything: bool,
    /// How many relations away an entity read may be, at most: 1 for `related('x')` and the
    /// neighbours' fields, one more for each `related` or `inverse` called on another entity
    /// (`related('partOf').exists(s, s.related('partOf')...)` reads two relations away).
    pub hops: usize,
    /// Reads scorecard results (`scorecard('readiness')`): known only after the scorecards are
    /// evaluated, so a scorecard's own rules may not.
    pub scores: bool,
}

/// [`Reach`] of a tree (checks expanded). Direct neighbours are always within reach.
pub(crate) fn reach(node: &IdedExpr) -> Reach {
    let mut out = Reach { hops: 1, ..Reach::default() };
    visit(node, &mut |n| {
        let Node::Call(c) = &n.expr else { return };
        let name = c.func_name.strip_prefix(crate::rewrite::COUNT_PREFIX).unwrap_or(&c.func_name);
        match name {
            "entity" => out.anything = true,
            "reachable" => match c.args.first().map(|a| &a.expr) {
                Some(Node::Literal(cel::common::ast::LiteralValue::String(s))) => {
                    out.transitive.insert(s.to_string());
                }
                _ => out.anything = true,
            },
            "related" | "inverse" if c.target.is_some() => out.hops += 1,
            "scorecard" => out.scores = true,
            _ => {}
        }
    });
    out
}

/// The top-level fields (`kind`, `spec`, `ref`, …) the expression reads of the entities the
/// graph functions hand it, or `None` when it may read any: each value a graph function returns
/// is walked by a comprehension (`related('x').exists(o, o.kind == 'Group')`) whose variable
/// is only read field by field. Lets the evaluator build neighbours with only those fields.
pub(crate) fn neighbour_fields(node: &IdedExpr) -> Option<std::collections::BTreeSet<String>> {
    let mut out = std::collections::BTreeSet::new();
    neighbour_fields_into(node, &mut out).then_some(out)
}

const RETURNS_ENTITIES: &[&str] = &["related", "inverse", "reachable", "entity"];

fn returns_entities(node: &IdedExpr) -> bool {
    matches!(&node.expr, Node::Call(c) if RETURNS_ENTITIES.contains(&c.func_name.as_str()))
}

fn neighbour_fields_into(node: &IdedExpr, out: &mut std::collections::BTreeSet<String>) -> bool {
    match &node.expr {
        Node::Comprehension(c) if returns_entities(&c.iter_range) => {
            let mut read = std::collections::BTreeSet::new();
            let body = [&c.loop_cond, &c.loop_step, &c.result];
            let var_read_by_field = body.into_iter().all(|n| crate::check::field_use_as(n, &c.iter_var, &mut read, true));
            if !var_read_by_field {
                return false;
            }
            // `d.spec.lifecycle`: only those keys of `spec` (a neighbour's whole spec, a group's
            // member list included, is what building it costs), unless `d.spec` is used whole.
            if read.contains("spec") {
                let mut keys = std::collections::BTreeSet::new();
                if body.into_iter().all(|n| sub_fields(n, &c.iter_var, "spec", &mut keys)) {
                    read.remove("spec");
                    read.extend(keys.into_iter().map(|k| format!("spec.{k}")));
                }
            }
            out.extend(read);
            // The range's own arguments, and the body, may hold graph calls of their own.
            let Node::Call(range) = &c.iter_range.expr else { return false };
            operands(range).chain([&c.accu_init, &c.loop_cond, &c.loop_step, &c.result]).all(|n| neighbour_fields_into(n, out))
        }
        // `entity(ref) == null`: whether it exists, nothing of it read.
        Node::Call(c) if matches!(c.func_name.as_str(), "_==_" | "_!=_") && c.args.len() == 2 && c.args.iter().any(|a| matches!(&a.expr, Node::Literal(cel::common::ast::LiteralValue::Null))) && c.args.iter().any(returns_entities) => {
            c.args.iter().filter_map(|a| match &a.expr {
                Node::Call(inner) => Some(inner),
                _ => None,
            }).all(|inner| operands(inner).all(|n| neighbour_fields_into(n, out)))
        }
        // `related('x').size()`: counted without building the entities (see `rewrite.rs`).
        Node::Call(c) if c.func_name == "size" && operands(c).count() == 1 && operands(c).all(|n| matches!(&n.expr, Node::Call(i) if crate::rewrite::COUNTABLE.contains(&i.func_name.as_str()))) => {
            operands(c).all(|counted| match &counted.expr {
                Node::Call(inner) => operands(inner).all(|n| neighbour_fields_into(n, out)),
                _ => true,
            })
        }
        Node::Call(c) if RETURNS_ENTITIES.contains(&c.func_name.as_str()) => false,
        _ => {
            let mut ok = true;
            visit_children(node, &mut |n| ok &= neighbour_fields_into(n, out));
            ok
        }
    }
}

/// Whether `var.top` is read only key by key (`d.spec.lifecycle`, `has(d.spec.owner)`): the
/// keys go to `out`; false when `var.top` is used whole somewhere.
fn sub_fields(node: &IdedExpr, var: &str, top: &str, out: &mut std::collections::BTreeSet<String>) -> bool {
    let is_top = |n: &IdedExpr| matches!(&n.expr, Node::Select(s) if s.field == top && matches!(&s.operand.expr, Node::Ident(x) if x == var));
    match &node.expr {
        Node::Select(s) if is_top(&s.operand) => {
            out.insert(s.field.clone());
            true
        }
        _ if is_top(node) => false,
        _ => {
            let mut ok = true;
            visit_children(node, &mut |n| ok &= sub_fields(n, var, top, out));
            ok
        }
    }
}

/// A call's target (member form) and arguments.
fn operands(c: &cel::common::ast::CallExpr) -> impl Iterator<Item = &IdedExpr> {
    c.target.iter().map(|t| t.as_ref()).chain(c.args.iter())
}

fn visit_children(node: &IdedExpr, f: &mut dyn FnMut(&IdedExpr)) {
    match &node.expr {
        Node::Call(c) => {
            if let Some(t) = &c.target {
                f(t);
            }
            c.args.iter().for_each(&mut *f);
        }
        Node::Comprehension(c) => [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result].into_iter().for_each(&mut *f),
        Node::List(l) => l.elements.iter().for_each(&mut *f),
        Node::Map(m) => m.entries.iter().for_each(|e| {
            if let EntryExpr::MapEntry(e) = &e.expr {
                f(&e.key);
                f(&e.value);
            }
        }),
        Node::Select(s) => f(&s.operand),
        Node::Struct(_) | Node::Ident(_) | Node::Literal(_) | Node::Unspecified => {}
    }
}
