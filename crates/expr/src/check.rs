//! Static checks over the syntax tree, before anything runs: every function must exist and
//! take the arguments given, every name must be in scope. Also: the field paths an expression
//! reads (for "no entity has this field" warnings), and placing run-time errors in the source.

use cel::common::ast::{EntryExpr, Expr as Node, IdedExpr};
use cel::{ExecutionError, ParseErrors};

use crate::{ErrorKind, Expr, ExprError, Span, Vocabulary, FUNCTIONS};

/// Standard CEL functions, the strings extension and the optional-value helpers.
const STANDARD: &[&str] = &[
    "size", "contains", "startsWith", "endsWith", "matches", "int", "uint", "double", "string", "bytes", "bool",
    "timestamp", "duration", "type", "dyn", "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear",
    "getFullYear", "getHours", "getMilliseconds", "getMinutes", "getMonth", "getSeconds", "min", "max",
    "charAt", "indexOf", "lastIndexOf", "lowerAscii", "upperAscii", "replace", "split", "substring", "trim",
    "join", "format", "quote", "reverse", "hasValue", "value", "orValue", "or", "optional.of", "optional.none",
    "optional.ofNonZeroValue",
];

/// Macros as written; the parser expands them, so they only survive as calls when misused.
const MACROS: &[&str] = &["has", "all", "exists", "exists_one", "map", "filter"];

pub(crate) fn syntax_error(source: &str, errors: &ParseErrors) -> ExprError {
    let Some(first) = errors.errors.first() else {
        return ExprError::new(ErrorKind::Syntax, "the expression could not be parsed");
    };
    let message = if first.msg.contains("recursion") || first.msg.contains("depth") {
        "the expression is nested too deeply".to_owned()
    } else {
        format!("syntax error: {}", first.msg)
    };
    let (line, col) = (first.pos.0.max(1) as usize, first.pos.1.max(0) as usize);
    // Line is 1-based, column 0-based, both in characters.
    let line_start: usize = source.split_inclusive('\n').take(line - 1).map(str::len).sum();
    let start = line_start + source[line_start.min(source.len())..].chars().take(col).map(char::len_utf8).sum::<usize>();
    let end = source[start.min(source.len())..].chars().next().map_or(start, |c| start + c.len_utf8());
    ExprError::new(ErrorKind::Syntax, message).at(source, Span { start, end })
}

/// Operators outside string literals, an upper bound on the depth of the tree.
pub(crate) fn count_operators(source: &str) -> usize {
    let mut count = 0;
    let mut quote: Option<char> = None;
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == '\\' {
                    chars.next();
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => quote = Some(c),
                '+' | '-' | '*' | '/' | '%' | '<' | '>' | '!' | '?' | '.' | '[' | '(' | ',' => count += 1,
                '&' | '|' | '=' => {
                    if chars.peek() == Some(&c) {
                        chars.next();
                    }
                    count += 1;
                }
                _ => {}
            },
        }
    }
    count
}

pub(crate) fn check(expr: &Expr, vocabulary: &Vocabulary) -> Result<(), ExprError> {
    let mut scope = Vec::new();
    walk(expr, vocabulary, expr.written(), &mut scope)
}

fn walk<'a>(expr: &Expr, vocabulary: &Vocabulary, node: &'a IdedExpr, scope: &mut Vec<&'a str>) -> Result<(), ExprError> {
    let span = match &node.expr {
        Node::Call(c) => expr.call_span(node.id, &c.func_name),
        // The parser ends a name's span one character short: a name is as long as it is.
        Node::Ident(name) => expr.span(node.id).map(|s| Span { start: s.start, end: s.start + name.len() }),
        _ => expr.span(node.id),
    };
    let place = |e: ExprError| match span {
        Some(span) => e.at(expr.source(), span),
        None => e,
    };
    match &node.expr {
        Node::Ident(name) => {
            if !vocabulary.has(name) && !scope.contains(&name.as_str()) && !is_type_name(name) {
                let names: Vec<&str> = vocabulary.variables.iter().map(|v| v.name).collect();
                let hint = suggest(name, names.iter().copied()).map(|s| format!("; did you mean '{s}'?")).unwrap_or_default();
                return Err(place(ExprError::new(ErrorKind::Check, format!("unknown name '{name}'{hint} (names: {})", names.join(", ")))));
            }
        }
        Node::Call(call) => {
            let name = call.func_name.as_str();
            if !is_operator(name) {
                if let Some(doc) = FUNCTIONS.iter().find(|f| f.name == name) {
                    let n = call.args.len();
                    if !doc.arities.contains(&n) {
                        let expected: Vec<String> = doc.arities.iter().map(usize::to_string).collect();
                        return Err(place(ExprError::new(
                            ErrorKind::Check,
                            format!("{name}() takes {} argument(s), not {n}: {}", expected.join(" or "), doc.signature),
                        )));
                    }
                } else if let Some(check) = crate::checks::find(name) {
                    let problem = if call.target.is_some() {
                        Some(format!("{name}() applies to the entity the expression is evaluated for; it cannot be called on another"))
                    } else if !call.args.is_empty() {
                        Some(format!("{name}() takes no argument: {}", check.description))
                    } else if !vocabulary.has("spec") {
                        Some(format!("{name}() is a check of an entity; it can be used where the entity's fields are variables (queries, scorecard rules)"))
                    } else {
                        None
                    };
                    if let Some(p) = problem {
                        return Err(place(ExprError::new(ErrorKind::Check, p)));
                    }
                } else if MACROS.contains(&name) {
                    return Err(place(ExprError::new(
                        ErrorKind::Check,
                        format!("'{name}' is a macro: {}", macro_usage(name)),
                    )));
                } else if !STANDARD.contains(&name) {
                    let all = FUNCTIONS.iter().map(|f| f.name).chain(crate::checks::CHECKS.iter().map(|c| c.name)).chain(STANDARD.iter().copied());
                    let hint = suggest(name, all).map(|s| format!("; did you mean '{s}'?")).unwrap_or_default();
                    return Err(place(ExprError::new(ErrorKind::Check, format!("unknown function '{name}'{hint}"))));
                }
            }
            if let Some(target) = &call.target {
                walk(expr, vocabulary, target, scope)?;
            }
            for a in &call.args {
                walk(expr, vocabulary, a, scope)?;
            }
        }
        Node::Select(select) => walk(expr, vocabulary, &select.operand, scope)?,
        Node::List(list) => {
            for e in &list.elements {
                walk(expr, vocabulary, e, scope)?;
            }
        }
        Node::Map(map) => {
            for entry in &map.entries {
                if let EntryExpr::MapEntry(e) = &entry.expr {
                    walk(expr, vocabulary, &e.key, scope)?;
                    walk(expr, vocabulary, &e.value, scope)?;
                }
            }
        }
        Node::Struct(s) => {
            return Err(place(ExprError::new(ErrorKind::Check, format!("message construction ({} {{...}}) is not supported", s.type_name))));
        }
        Node::Comprehension(c) => {
            walk(expr, vocabulary, &c.iter_range, scope)?;
            walk(expr, vocabulary, &c.accu_init, scope)?;
            let depth = scope.len();
            scope.push(&c.iter_var);
            if let Some(v) = &c.iter_var2 {
                scope.push(v);
            }
            scope.push(&c.accu_var);
            walk(expr, vocabulary, &c.loop_cond, scope)?;
            walk(expr, vocabulary, &c.loop_step, scope)?;
            walk(expr, vocabulary, &c.result, scope)?;
            scope.truncate(depth);
        }
        Node::Literal(_) | Node::Unspecified => {}
    }
    Ok(())
}

fn is_operator(name: &str) -> bool {
    name.starts_with(['_', '@', '!', '-'])
}

fn is_type_name(name: &str) -> bool {
    matches!(name, "int" | "uint" | "double" | "bool" | "string" | "bytes" | "list" | "map" | "null_type" | "type")
}

fn macro_usage(name: &str) -> &'static str {
    match name {
        "has" => "has(e.field) tests whether a field is set",
        "map" => "list.map(x, expr)",
        "filter" => "list.filter(x, condition)",
        "exists_one" => "list.exists_one(x, condition)",
        _ => "list.exists(x, condition) / list.all(x, condition)",
    }
}

/// The closest candidate within two edits, if any.
pub(crate) fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (levenshtein(&name.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb { prev } else { 1 + prev.min(cur).min(row[j]) };
            prev = cur;
        }
    }
    row[b.len()]
}

/// A field path read by an expression, such as `spec.owner`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Path {
    pub path: String,
    #[serde(skip)]
    pub span: Option<Span>,
}

pub(crate) fn paths(expr: &Expr) -> Vec<Path> {
    let mut out = Vec::new();
    collect_paths(expr, expr.written(), &mut out);
    out
}

fn collect_paths(expr: &Expr, node: &IdedExpr, out: &mut Vec<Path>) {
    if let Some(path) = select_path(node)
        && path.contains('.')
        && ["metadata", "spec", "status"].iter().any(|r| path.starts_with(&format!("{r}.")))
    {
        out.push(Path { path, span: expr.span(node.id) });
        return;
    }
    match &node.expr {
        Node::Call(c) => {
            c.target.iter().for_each(|t| collect_paths(expr, t, out));
            c.args.iter().for_each(|a| collect_paths(expr, a, out));
        }
        Node::Select(s) => collect_paths(expr, &s.operand, out),
        Node::List(l) => l.elements.iter().for_each(|e| collect_paths(expr, e, out)),
        Node::Map(m) => {
            for entry in &m.entries {
                if let EntryExpr::MapEntry(e) = &entry.expr {
                    collect_paths(expr, &e.key, out);
                    collect_paths(expr, &e.value, out);
                }
            }
        }
        Node::Comprehension(c) => {
            for n in [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result] {
                collect_paths(expr, n, out);
            }
        }
        _ => {}
    }
}

/// `a.b.c` for a chain of field selections on a name; `has(a.b)` counts too.
pub fn select_path(node: &IdedExpr) -> Option<String> {
    match &node.expr {
        Node::Ident(name) => Some(name.clone()),
        Node::Select(s) => select_path(&s.operand).map(|p| format!("{p}.{}", s.field)),
        Node::Call(c) if c.func_name == "_[_]" && c.args.len() == 2 => {
            // metadata.annotations['backstage.io/x']
            let base = select_path(&c.args[0])?;
            match &c.args[1].expr {
                Node::Literal(cel::common::ast::LiteralValue::String(k)) => Some(format!("{base}.{}", k.inner())),
                _ => None,
            }
        }
        _ => None,
    }
}

pub(crate) fn execution_error(expr: &Expr, e: &ExecutionError) -> ExprError {
    let (kind, message, needle): (ErrorKind, String, Option<Needle>) = match e {
        ExecutionError::NoSuchKey(k) => (ErrorKind::Evaluation, format!("no field '{k}'"), Some(Needle::Field(k.to_string()))),
        ExecutionError::FunctionError { function, message } if function == crate::bounded::LIMIT => (ErrorKind::Limit, message.clone(), None),
        ExecutionError::FunctionError { function, message } => {
            (ErrorKind::Evaluation, format!("{function}(): {message}"), Some(Needle::Call(function.clone())))
        }
        ExecutionError::NoSuchOverload(o) => (
            ErrorKind::Evaluation,
            format!("'{}' cannot be applied to ({})", display_op(o.function()), o.argument_types().join(", ")),
            Some(Needle::Call(o.function().to_owned())),
        ),
        ExecutionError::UndeclaredReference(name) => (ErrorKind::Check, format!("unknown name '{name}'"), Some(Needle::Ident(name.to_string()))),
        ExecutionError::ValuesNotComparable(a, b) => {
            (ErrorKind::Evaluation, format!("a {} cannot be compared with a {}", a.type_of(), b.type_of()), None)
        }
        ExecutionError::UnsupportedBinaryOperator(op, a, b) => (
            ErrorKind::Evaluation,
            format!("'{op}' cannot be applied to a {} and a {}", a.type_of(), b.type_of()),
            Some(Needle::Call(format!("_{op}_"))),
        ),
        other => (ErrorKind::Evaluation, other.to_string(), None),
    };
    let error = ExprError::new(kind, message);
    let span = needle.and_then(|n| match find(expr.written(), &n) {
        Some(id) => match n {
            Needle::Call(name) => expr.call_span(id, &name),
            Needle::Field(_) | Needle::Ident(_) => expr.span(id),
        },
        // Inside a built-in check: its nodes carry the id of the call, where it points.
        None => {
            let id = find(expr.ast(), &n)?;
            expr.call_span(id, &called_at(expr.written(), id)?)
        }
    });
    match span {
        Some(span) => error.at(expr.source(), span),
        None => error.at(expr.source(), Span { start: 0, end: expr.source().len() }),
    }
}

fn display_op(name: &str) -> &str {
    name.trim_matches('_').trim_start_matches('@')
}

enum Needle {
    Field(String),
    Call(String),
    Ident(String),
}

/// The name of the function called at node `id`.
fn called_at(node: &IdedExpr, id: u64) -> Option<String> {
    let mut out = None;
    crate::checks::visit(node, &mut |n| {
        if n.id == id
            && let Node::Call(c) = &n.expr
        {
            out = Some(c.func_name.clone());
        }
    });
    out
}

fn find(node: &IdedExpr, needle: &Needle) -> Option<u64> {
    let hit = match (&node.expr, needle) {
        (Node::Select(s), Needle::Field(f)) => s.field == *f,
        (Node::Call(c), Needle::Call(f)) => c.func_name == *f,
        (Node::Ident(i), Needle::Ident(n)) => i == n,
        _ => false,
    };
    if hit {
        return Some(node.id);
    }
    match &node.expr {
        Node::Call(c) => c.target.iter().map(|t| t.as_ref()).chain(c.args.iter()).find_map(|n| find(n, needle)),
        Node::Select(s) => find(&s.operand, needle),
        Node::List(l) => l.elements.iter().find_map(|n| find(n, needle)),
        Node::Comprehension(c) => [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result].into_iter().find_map(|n| find(n, needle)),
        Node::Map(m) => m.entries.iter().find_map(|entry| match &entry.expr {
            EntryExpr::MapEntry(e) => find(&e.key, needle).or_else(|| find(&e.value, needle)),
            _ => None,
        }),
        _ => None,
    }
}

/// The first-level fields read below `var` (`spec.owner` reads `owner` of `spec`), or `None`
/// when the variable is used whole somewhere (so every field may be needed).
pub(crate) fn field_use(node: &IdedExpr, var: &str, out: &mut std::collections::BTreeSet<String>) -> bool {
    field_use_as(node, var, out, false)
}

/// See [`Expr::reads_only_neighbours_of`].
pub(crate) fn neighbours_only(node: &IdedExpr, var: &str) -> bool {
    fn all<'a>(mut nodes: impl Iterator<Item = &'a IdedExpr>, var: &str) -> bool {
        nodes.all(|n| neighbours_only(n, var))
    }
    match &node.expr {
        Node::Call(c) => {
            let name = c.func_name.strip_prefix(crate::rewrite::COUNT_PREFIX).unwrap_or(&c.func_name);
            let on_var = c.target.as_deref().is_some_and(|t| matches!(&t.expr, Node::Ident(x) if x == var));
            let graph_ok = match name {
                "reachable" | "entity" => false,
                n if ON_REF.contains(&n) => on_var,
                _ => true,
            };
            graph_ok && all(c.target.iter().map(|t| t.as_ref()).chain(c.args.iter()), var)
        }
        Node::Select(s) => neighbours_only(&s.operand, var),
        Node::List(l) => all(l.elements.iter(), var),
        Node::Map(m) => m.entries.iter().all(|entry| match &entry.expr {
            EntryExpr::MapEntry(e) => neighbours_only(&e.key, var) && neighbours_only(&e.value, var),
            _ => false,
        }),
        Node::Comprehension(c) => all([&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result].into_iter(), var),
        Node::Struct(_) => false,
        Node::Ident(_) | Node::Literal(_) | Node::Unspecified => true,
    }
}

/// The graph functions that, called on an entity value, read only its `ref`.
const ON_REF: &[&str] = &["related", "inverse", "reachable", "has_relation", "fact", "scorecard", "has_errors"];

/// [`field_use`]; with `null_ok`, comparing `var` with `null` reads none of its fields (what to
/// build of a value that is never null; not whether an expression looks at the variable).
pub(crate) fn field_use_as(node: &IdedExpr, var: &str, out: &mut std::collections::BTreeSet<String>, null_ok: bool) -> bool {
    let field_use = |n: &IdedExpr, out: &mut std::collections::BTreeSet<String>| field_use_as(n, var, out, null_ok);
    let is_var = |n: &IdedExpr| matches!(&n.expr, Node::Ident(x) if x == var);
    match &node.expr {
        Node::Ident(name) => name != var,
        Node::Select(s) => match &s.operand.expr {
            Node::Ident(name) if name == var => {
                out.insert(s.field.clone());
                true
            }
            _ => field_use(&s.operand, out),
        },
        Node::Call(c) => {
            let name = c.func_name.strip_prefix(crate::rewrite::COUNT_PREFIX).unwrap_or(&c.func_name);
            if c.target.as_deref().is_some_and(is_var) && ON_REF.contains(&name) {
                out.insert("ref".to_owned());
                return c.args.iter().all(|n| field_use(n, out));
            }
            let is_null = |n: &IdedExpr| matches!(&n.expr, Node::Literal(cel::common::ast::LiteralValue::Null));
            if null_ok && matches!(name, "_==_" | "_!=_") && c.args.len() == 2 && ((is_var(&c.args[0]) && is_null(&c.args[1])) || (is_null(&c.args[0]) && is_var(&c.args[1]))) {
                return true;
            }
            c.target.iter().map(|t| t.as_ref()).chain(c.args.iter()).all(|n| field_use(n, out))
        }
        Node::List(l) => l.elements.iter().all(|n| field_use(n, out)),
        Node::Map(m) => m.entries.iter().all(|entry| match &entry.expr {
            EntryExpr::MapEntry(e) => field_use(&e.key, out) && field_use(&e.value, out),
            _ => false,
        }),
        Node::Comprehension(c) => [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result].into_iter().all(|n| field_use(n, out)),
        Node::Struct(_) => false,
        Node::Literal(_) | Node::Unspecified => true,
    }
}
