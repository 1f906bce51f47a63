//! The language on a small graph: a → b → c → a (a cycle), d → a; a owned by team.

use std::sync::Arc;

use cel::Value;

use crate::value::{from_json, map};
use crate::*;

struct Small;

const REFS: &[&str] = &["component:default/a", "component:default/b", "component:default/c", "component:default/d", "group:default/team"];
const EDGES: &[(u32, &str, u32)] = &[(0, "dependson", 1), (1, "dependson", 2), (2, "dependson", 0), (3, "dependson", 0), (0, "ownedby", 4)];

impl Graph for Small {
    fn id(&self, reference: &str) -> Option<EntityId> {
        REFS.iter().position(|r| r.eq_ignore_ascii_case(reference)).map(|i| i as u32)
    }
    fn entity(&self, id: EntityId) -> Option<Value> {
        let r = REFS.get(id as usize)?;
        Some(map([("ref", Value::from(*r)), ("spec", from_json(&serde_json::json!({"type": "service"})))]))
    }
    fn neighbours(&self, id: EntityId, relation: &str, inverse: bool, out: &mut Vec<EntityId>) {
        let relation = relation.to_lowercase();
        for &(s, t, d) in EDGES {
            if t == relation {
                if !inverse && s == id {
                    out.push(d);
                } else if inverse && d == id {
                    out.push(s);
                }
            }
        }
    }
    fn has_relation(&self, id: EntityId, relation: &str, target: Option<&str>) -> bool {
        let relation = relation.to_lowercase();
        EDGES.iter().any(|&(s, t, d)| s == id && t == relation && target.is_none_or(|x| self.id(x) == Some(d)))
    }
    fn fact(&self, id: EntityId, name: &str) -> Option<Value> {
        (id == 0 && name == "git.lastCommitAt").then(|| Value::from("2026-11-01T00:00:00Z"))
    }
}

struct Access;
impl GraphAccess for Access {
    fn with_graph(&self, f: &mut dyn FnMut(&dyn Graph)) {
        f(&Small)
    }
}

fn run_with(limits: Limits, source: &str, this: &str) -> Result<Value, ExprError> {
    let expr = Expr::compile(source, &Vocabulary::entity(), &limits)?;
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-27T00:00:00Z").unwrap();
    let mut ctx = context(Arc::new(Access), Arc::new(Budget::new(&limits)), now);
    ctx.add_variable_from_value("ref", this);
    ctx.add_variable_from_value("kind", "Component");
    expr.eval(&ctx)
}

fn run(source: &str) -> Value {
    run_with(Limits::default(), source, "component:default/a").unwrap_or_else(|e| panic!("{source}: {e}"))
}

fn refs(v: Value) -> Vec<String> {
    let Value::List(items) = v else { panic!("not a list: {v:?}") };
    items.iter().map(|e| match value::get(e, "ref") {
        Some(Value::String(s)) => s.to_string(),
        other => panic!("{other:?}"),
    }).collect()
}

fn compile_error(source: &str) -> ExprError {
    Expr::compile(source, &Vocabulary::entity(), &Limits::default()).expect_err(source)
}

#[test]
fn graph_functions() {
    assert_eq!(refs(run("related('dependsOn')")), ["component:default/b"]);
    assert_eq!(refs(run("related('DEPENDSON')")), ["component:default/b"], "relation types are case-insensitive");
    assert_eq!(refs(run("inverse('dependsOn')")), ["component:default/c", "component:default/d"]);
    assert_eq!(refs(run("reachable('dependsOn')")), ["component:default/b", "component:default/c"], "cycle-safe, itself excluded");
    assert_eq!(refs(run("reachable('dependsOn', 1)")), ["component:default/b"]);
    assert_eq!(refs(run("entity('component:default/d').reachable('dependsOn')")), ["component:default/a", "component:default/b", "component:default/c"]);
    assert_eq!(refs(run("'component:default/d'.related('dependsOn')")), ["component:default/a"], "a reference works as a receiver");
    assert_eq!(run("has_relation('ownedBy')"), Value::Bool(true));
    assert_eq!(run("has_relation('ownedBy', 'group:default/team')"), Value::Bool(true));
    assert_eq!(run("has_relation('ownedBy', 'group:default/other')"), Value::Bool(false));
    assert_eq!(run("related('dependsOn').exists(e, e.has_relation('dependsOn', 'component:default/c'))"), Value::Bool(true));
    assert_eq!(run("related('dependsOn').map(e, ref(e))"), Value::List(Arc::new(vec![Value::from("component:default/b")])));
    assert_eq!(run("entity('component:default/nope')"), Value::Null);
    assert_eq!(run("fact('git.lastCommitAt')"), Value::from("2026-11-01T00:00:00Z"));
    assert_eq!(run("fact('nope')"), Value::Null);
}

#[test]
fn time_helpers() {
    assert_eq!(run("since('2026-11-20T00:00:00Z') > days(6) && since('2026-11-20T00:00:00Z') < days(8)"), Value::Bool(true));
    assert_eq!(run("now() - hours(24) == timestamp('2026-11-26T00:00:00Z')"), Value::Bool(true));
    assert_eq!(run("since(fact('git.lastCommitAt')) < days(90)"), Value::Bool(true));
    assert_eq!(run("'Payments'.lowerAscii() == 'payments'"), Value::Bool(true), "strings extension");
}

#[test]
fn unknown_function_has_a_caret_and_a_suggestion() {
    let e = compile_error("kind == 'Component' && relatd('dependsOn').size() > 0");
    assert_eq!(e.kind, ErrorKind::Check);
    assert!(e.message.contains("unknown function 'relatd'; did you mean 'related'?"), "{e}");
    assert_eq!(e.column, Some(24), "{e}");
    assert!(e.to_string().contains("\n  |                        ^"), "{e}");
}

#[test]
fn unknown_name_and_arity() {
    let e = compile_error("knd == 'API'");
    assert!(e.message.starts_with("unknown name 'knd'; did you mean 'kind'?"), "{e}");
    assert_eq!(e.column, Some(1));
    // The caret is as wide as the name (it was one short).
    assert!(e.to_string().ends_with("\n  | knd == 'API'\n  | ^^^"), "{e}");
    let e = compile_error("kind == 'API' && specc.type == 'grpc'");
    assert!(e.to_string().ends_with("\n  |                  ^^^^^"), "{e}");
    let e = compile_error("related()");
    assert!(e.message.contains("related() takes 1 argument(s), not 0"), "{e}");
    let e = compile_error("[1, 2].exists(x, y > 1)");
    assert!(e.message.contains("unknown name 'y'"), "{e}");
    // Comprehension variables are in scope in the body.
    Expr::compile("related('dependsOn').all(x, x.spec.type == 'service')", &Vocabulary::entity(), &Limits::default()).unwrap();
}

#[test]
fn syntax_errors_point_at_the_place() {
    let e = compile_error("kind == 'Component' &&");
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert_eq!(e.line, Some(1));
    assert!(e.column.is_some(), "{e}");
    let e = compile_error("spec.owner == 'a\nteam'");
    assert_eq!(e.kind, ErrorKind::Syntax, "{e}");
    assert_eq!(compile_error("   ").message, "the expression is empty");
}

#[test]
fn size_and_depth_are_bounded() {
    let long = format!("kind == '{}'", "x".repeat(9000));
    assert_eq!(compile_error(&long).kind, ErrorKind::Limit);
    let deep = format!("{}1{}", "(".repeat(500), ")".repeat(500));
    let e = compile_error(&deep);
    assert_eq!(e.kind, ErrorKind::Syntax, "{e}");
}

#[test]
fn the_deepest_expression_runs_on_a_small_stack_without_a_thread_of_its_own() {
    // A thread with a quarter of a megabyte of stack: the chain overflows it unless
    // `on_big_stack` switches to a big stack, on this same thread.
    let chain = vec!["1"; 1000].join(" + ");
    let (value, same_thread) = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            let here = std::thread::current().id();
            on_big_stack(|| (run(&chain), std::thread::current().id() == here))
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(value, Value::Int(1000));
    assert!(same_thread, "no thread was started for it");
}

#[test]
fn one_part_runs_here_several_at_once_with_results_in_order_and_panics_resumed() {
    let here = std::thread::current().id();
    let on_this_thread = |&p: &i32| (p * 10, std::thread::current().id() == here);
    assert_eq!(on_big_stacks("part", &[1], on_this_thread), [(10, true)]);
    assert_eq!(on_big_stacks("part", &[1, 2, 3], on_this_thread), [(10, false), (20, false), (30, false)]);
    assert!(on_big_stacks("part", &[] as &[u8], |_| ()).is_empty());
    for (parts, failing) in [(&[1][..], 1), (&[1, 2, 3][..], 1), (&[1, 2, 3][..], 3)] {
        let caught = std::panic::catch_unwind(|| on_big_stacks("part", parts, |&p| if p == failing { panic!("part {p} failed") } else { p }));
        let message = caught.expect_err("the panic reaches the caller");
        assert_eq!(message.downcast_ref::<String>().map(String::as_str), Some(format!("part {failing} failed").as_str()));
    }
}

#[test]
fn long_operator_chains_are_bounded() {
    // The deepest tree the limits accept compiles and runs.
    let chain = vec!["1"; 1000].join(" + ");
    assert_eq!(on_big_stack(|| run(&chain)), Value::Int(1000));
    let chain = vec!["1"; 1002].join(" + ");
    let e = compile_error(&chain);
    assert_eq!(e.kind, ErrorKind::Limit);
    assert!(e.message.contains("1001 operators; the limit is 1000"), "{e}");
}

#[test]
fn traversal_is_bounded() {
    let limits = Limits { max_steps: 20, ..Limits::default() };
    let e = run_with(limits, "[1,2,3,4,5,6,7,8,9,10].all(i, reachable('dependsOn').size() == 2)", "component:default/a").unwrap_err();
    // The loop's next iteration reports the limit the traversal hit.
    assert_eq!(e.kind, ErrorKind::Limit);
    assert!(e.message.contains("more than 20"), "{e}");
}

#[test]
fn evaluation_errors_are_placed() {
    let e = run_with(Limits::default(), "kind == 'Component' && related(1).size() > 0", "component:default/a").unwrap_err();
    assert!(e.message.contains("related(): expected a relation type (a string) as argument 1, got int"), "{e}");
    assert_eq!(e.column, Some(24), "{e}");
    let e = run_with(Limits::default(), "1 + 'a' == 2", "component:default/a").unwrap_err();
    assert!(e.message.contains("cannot be applied"), "{e}");
    let e = run_with(Limits::default(), "related('dependsOn')", "component:default/zzz").unwrap_err();
    assert!(e.message.contains("no entity \"component:default/zzz\""), "{e}");
}

#[test]
fn paths_are_collected() {
    let expr = Expr::compile("spec.owner == 'x' && metadata.annotations['backstage.io/techdocs-ref'] != '' && kind == 'A'", &Vocabulary::entity(), &Limits::default()).unwrap();
    let paths: Vec<String> = expr.paths().into_iter().map(|p| p.path).collect();
    assert_eq!(paths, ["spec.owner", "metadata.annotations.backstage.io/techdocs-ref"]);
}

/// A small deterministic fuzz of the parser, checks and evaluator that runs with the tests
/// (the coverage-guided one is `fuzz/fuzz_targets/expr.rs`): sequences of CEL tokens, most of
/// them not expressions, must compile or be refused, and run or fail, never panic.
#[test]
fn random_token_soup_never_panics() {
    const TOKENS: &[&str] = &[
        "kind", "spec", ".", "owner", "metadata", "[", "]", "(", ")", "{", "}", ",", ":", "'a'", "\"b\"", "1", "2.5", "-",
        "+", "*", "/", "%", "==", "!=", "<", ">=", "&&", "||", "!", "?", "in", "related", "reachable", "inverse",
        "has_relation", "'dependsOn'", "exists", "all", "map", "filter", "e", "has", "size", "now", "days", "since",
        "entity", "ref", "fact", "true", "null", "timestamp", "duration", "'1h'", "matches", "'[a-z'", "lowerAscii",
        "int", "string", "dyn", "type", "9223372036854775807", "1u", "b'x'", "\\", "'unterminated", "\n",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let limits = Limits { max_steps: 1_000, timeout: std::time::Duration::from_millis(100), ..Limits::default() };
    let mut compiled = 0;
    for _ in 0..3000 {
        let n = 1 + (next() % 24) as usize;
        let source: Vec<&str> = (0..n).map(|_| TOKENS[(next() % TOKENS.len() as u64) as usize]).collect();
        let source = source.join(if next() % 2 == 0 { " " } else { "" });
        if let Ok(expr) = Expr::compile(&source, &Vocabulary::entity(), &limits) {
            compiled += 1;
            let now = chrono::DateTime::parse_from_rfc3339("2026-11-27T00:00:00Z").unwrap();
            let mut ctx = context(Arc::new(Access), Arc::new(Budget::new(&limits)), now);
            ctx.add_variable_from_value("ref", "component:default/a");
            ctx.add_variable_from_value("kind", "Component");
            let _ = expr.eval(&ctx);
        }
    }
    assert!(compiled > 20, "the soup should hold some valid expressions ({compiled})");
}

#[test]
fn fields_read_below_a_variable() {
    let e = |s: &str| Expr::compile(s, &Vocabulary::entity(), &Limits::default()).unwrap();
    let set = |v: &[&str]| Some(v.iter().map(|s| (*s).to_owned()).collect::<std::collections::BTreeSet<_>>());
    assert_eq!(e("metadata.name.contains('4') && has(metadata.annotations) && spec.x == 1").fields_of("metadata"), set(&["annotations", "name"]));
    assert_eq!(e("metadata.annotations['a/b'] == 'c'").fields_of("metadata"), set(&["annotations"]));
    assert_eq!(e("kind == 'A'").fields_of("spec"), set(&[]));
    assert_eq!(e("size(spec) > 2").fields_of("spec"), None, "used whole");
    assert_eq!(e("[spec].exists(s, s.owner == 'a')").fields_of("spec"), None);
}

/// `matches` answers as the standard function does (each pattern compiled once), and a bad
/// pattern is an evaluation error naming it.
#[test]
fn matches_compiles_each_pattern_once_and_answers_as_before() {
    assert_eq!(run("'svc-00041'.matches('[13579]$')"), Value::Bool(true));
    assert_eq!(run("'svc-00042'.matches('[13579]$')"), Value::Bool(false));
    assert_eq!(run("'svc-00042'.matches('[13579]$') || 'x'.matches('^x$')"), Value::Bool(true));
    let e = run_with(Limits::default(), "'a'.matches('(a')", "component:default/a").unwrap_err();
    assert!(e.message.contains("'(a' not a valid regex"), "{e}");
}

/// Which expressions reach no farther than the entity's neighbours.
#[test]
fn expressions_that_reach_only_neighbours() {
    let compile = |s: &str| Expr::compile(s, &crate::Vocabulary { variables: vec![crate::VariableDoc { name: "entity", description: "" }, crate::VariableDoc { name: "user", description: "" }] }, &Limits::default()).unwrap();
    for near in ["entity.spec.type == 'x'", "entity != null && entity.has_relation('ownedBy', 'group:a')", "entity.related('ownedBy').exists(g, g.metadata.name == 'a')", "user.owners.exists(o, entity.has_relation('ownedBy', o))", "entity.fact('x') == 1"] {
        assert!(compile(near).reads_only_neighbours_of("entity"), "{near}");
    }
    for far in ["entity.reachable('dependsOn').size() > 0", "entity.related('ownedBy').exists(g, g.related('childOf').size() > 0)", "entity('group:default/a') != null", "'group:default/a'.related('ownerOf').size() > 0"] {
        assert!(!compile(far).reads_only_neighbours_of("entity"), "{far}");
    }
}

/// Built-in checks stand for their expressions: they run, read what those read, and say how
/// far in the graph their answer reaches.
#[test]
fn checks_are_their_expressions() {
    let limits = Limits::default();
    let compile = |s: &str| Expr::compile(s, &Vocabulary::entity(), &limits).unwrap();
    assert_eq!(compile("has_owner()").fields_of("spec").unwrap().into_iter().collect::<Vec<_>>(), ["owner"]);
    assert_eq!(compile("has_owner()").reach(), Reach { hops: 1, ..Reach::default() });
    assert_eq!(compile("has_domain()").reach().hops, 2, "a system's domain is two relations away");
    let transitive = compile("no_deprecated_dependencies_transitively()").reach();
    assert_eq!(transitive.transitive.into_iter().collect::<Vec<_>>(), ["dependsOn"]);
    assert!(compile("no_unresolved_relations()").reach().anything, "entity(ref) may read any entity");
    // On the small graph: a owns nothing but is owned by team; d depends on a.
    assert_eq!(run_with(limits, "owner_exists()", "component:default/a").unwrap(), Value::Bool(true));
    assert_eq!(run_with(limits, "owner_exists()", "component:default/b").unwrap(), Value::Bool(false));
    assert_eq!(run_with(limits, "recently_committed()", "component:default/a").unwrap(), Value::Bool(true));
    // An error inside a check points at the call.
    let e = run_with(limits, "1 == 1 && has_owner()", "component:default/a").unwrap_err();
    assert_eq!(e.span.map(|s| s.start), Some(10), "{e}");
}

#[test]
fn checks_are_called_bare_on_the_entity_evaluated() {
    let limits = Limits::default();
    let err = |s: &str, v: &Vocabulary| Expr::compile(s, v, &limits).unwrap_err().message;
    assert!(err("related('dependsOn').all(d, d.has_owner())", &Vocabulary::entity()).contains("cannot be called on another"));
    assert!(err("has_owner('x')", &Vocabulary::entity()).contains("takes no argument"));
    assert!(err("has_ownr()", &Vocabulary::entity()).contains("did you mean 'has_owner'"));
    let policy = Vocabulary { variables: vec![VariableDoc { name: "entity", description: "" }] };
    assert!(err("has_owner()", &policy).contains("where the entity's fields are variables"));
}

/// What an expression reads of the entities graph functions return, so they can be built with
/// those fields alone.
#[test]
fn the_fields_read_of_neighbours_are_known() {
    let limits = Limits::default();
    let fields = |s: &str| Expr::compile(s, &Vocabulary::entity(), &limits).unwrap().neighbour_fields().map(|f| f.into_iter().collect::<Vec<_>>());
    assert_eq!(fields("owner_is_group()"), Some(vec!["kind".to_owned()]));
    assert_eq!(fields("has_domain()"), Some(vec!["kind".to_owned(), "ref".to_owned()]), "p.related(…) reads p's ref");
    assert_eq!(fields("dependencies_owned()"), Some(vec!["spec.owner".to_owned()]), "only the keys of spec read");
    assert_eq!(fields("no_deprecated_dependencies()"), Some(vec!["spec.lifecycle".to_owned()]));
    assert_eq!(fields("related('dependsOn').all(d, d.spec.type == 'db' && size(d.spec) > 1)"), Some(vec!["spec".to_owned()]), "spec used whole");
    assert_eq!(fields("no_unresolved_relations()"), Some(vec![]), "entity(r) != null reads nothing of it");
    assert_eq!(fields("has_owner() && related('ownedBy').size() > 0"), Some(vec![]));
    assert_eq!(fields("related('dependsOn')[0].spec.type == 'db'"), None, "a value used otherwise may be read whole");
    assert_eq!(fields("related('dependsOn').exists(d, ref(d) == 'x')"), None, "a neighbour passed whole");
    assert_eq!(fields("entity('component:default/a').spec.owner == 'x'"), None);
    assert_eq!(fields("size(entity('component:default/a')) > 2"), None, "an entity's size is its number of fields");
}
