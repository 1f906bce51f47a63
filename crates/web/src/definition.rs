//! An API's definition as the entity page shows it: an OpenAPI document as its list of
//! operations, anything else (AsyncAPI, GraphQL, gRPC, …) as text with light highlighting
//! (comments, strings, keywords, keys, numbers), tokenized here and escaped by the template.

use portico_model::Entity;
use serde::Serialize;
use serde_json::Value;

/// Longest definition highlighted; beyond it the text is shown plain.
const MAX_HIGHLIGHTED: usize = 256 * 1024;
const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

#[derive(Debug, Serialize)]
pub(crate) struct Operation {
    method: String,
    path: String,
    summary: Option<String>,
    id: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub(crate) struct Token {
    class: &'static str,
    text: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Definition {
    #[serde(rename = "type")]
    api_type: String,
    title: Option<String>,
    version: Option<String>,
    operations: Vec<Operation>,
    /// Lines of tokens, when shown as text.
    lines: Vec<Vec<Token>>,
}

/// The definition of an API entity, if it has one.
pub(crate) fn of(entity: &Entity) -> Option<Definition> {
    let text = entity.spec_str("definition")?;
    let api_type = entity.spec_str("type").unwrap_or("unknown").to_ascii_lowercase();
    if api_type == "openapi"
        && let Some(def) = openapi(text)
    {
        return Some(def);
    }
    Some(Definition { api_type: api_type.clone(), title: None, version: None, operations: Vec::new(), lines: highlight(text, &api_type) })
}

fn openapi(text: &str) -> Option<Definition> {
    let doc = portico_model::yaml::parse_documents(text).ok()?.into_iter().next()?;
    let paths = doc.get("paths")?.as_object()?;
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(op) = item.get(*method) {
                let s = |k: &str| op.get(k).and_then(Value::as_str).map(str::to_owned);
                operations.push(Operation { method: method.to_uppercase(), path: path.clone(), summary: s("summary").or_else(|| s("description")), id: s("operationId") });
            }
        }
    }
    let info = |k: &str| doc.pointer(&format!("/info/{k}")).and_then(Value::as_str).map(str::to_owned);
    Some(Definition { api_type: "openapi".into(), title: info("title"), version: info("version"), operations, lines: Vec::new() })
}

fn keywords(language: &str) -> &'static [&'static str] {
    match language {
        "graphql" => &["type", "query", "mutation", "subscription", "schema", "interface", "union", "enum", "input", "scalar", "fragment", "on", "extend", "directive", "implements"],
        "grpc" => &["syntax", "package", "import", "service", "rpc", "returns", "message", "enum", "repeated", "optional", "oneof", "map", "option", "stream", "reserved"],
        _ => &["true", "false", "null"],
    }
}

/// Splits `text` into lines of classified tokens.
pub(crate) fn highlight(text: &str, language: &str) -> Vec<Vec<Token>> {
    if text.len() > MAX_HIGHLIGHTED {
        return text.lines().map(|l| vec![Token { class: "plain", text: l.to_owned() }]).collect();
    }
    let syntax = Syntax {
        comment: if language == "grpc" { "//" } else { "#" },
        // Constructs that may span lines: proto's block comments, GraphQL's block strings
        // (descriptions).
        block: match language {
            "grpc" => Some(("/*", "*/", "comment")),
            "graphql" => Some(("\"\"\"", "\"\"\"", "string")),
            _ => None,
        },
        yaml_like: !matches!(language, "graphql" | "grpc"),
        words: keywords(language),
    };
    let mut inside = false;
    text.lines().map(|line| line_tokens(line, &syntax, &mut inside)).collect()
}

struct Syntax {
    comment: &'static str,
    /// Opening and closing marker, and the class of what lies between.
    block: Option<(&'static str, &'static str, &'static str)>,
    yaml_like: bool,
    words: &'static [&'static str],
}

/// The tokens of one line; `inside` says whether a block construct is open at its start and, on
/// return, at its end.
fn line_tokens(line: &str, syntax: &Syntax, inside: &mut bool) -> Vec<Token> {
    let Syntax { comment, yaml_like, words, .. } = *syntax;
    let mut out: Vec<Token> = Vec::new();
    let push = |out: &mut Vec<Token>, class: &'static str, text: &str| match out.last_mut() {
        Some(last) if last.class == class => last.text.push_str(text),
        _ => out.push(Token { class, text: text.to_owned() }),
    };
    let mut rest = line;
    if *inside && let Some((_, close, class)) = syntax.block {
        match rest.find(close) {
            Some(i) => {
                push(&mut out, class, &rest[..i + close.len()]);
                rest = &rest[i + close.len()..];
                *inside = false;
            }
            None => {
                push(&mut out, class, rest);
                return out;
            }
        }
    }
    if yaml_like {
        let indent = line.len() - line.trim_start().len();
        let body = &line[indent..];
        let body_key = body.strip_prefix("- ").unwrap_or(body);
        if let Some(colon) = body_key.find(':')
            && body_key[..colon].chars().all(|c| c.is_alphanumeric() || "-_$/{}.".contains(c))
            && !body_key[..colon].is_empty()
        {
            let key_end = indent + (body.len() - body_key.len()) + colon;
            push(&mut out, "plain", &line[..indent + (body.len() - body_key.len())]);
            push(&mut out, "key", &line[indent + (body.len() - body_key.len())..key_end]);
            rest = &line[key_end..];
        }
    }
    while !rest.is_empty() {
        if let Some((open, close, class)) = syntax.block
            && rest.starts_with(open)
        {
            match rest[open.len()..].find(close) {
                Some(i) => {
                    let end = open.len() + i + close.len();
                    push(&mut out, class, &rest[..end]);
                    rest = &rest[end..];
                    continue;
                }
                None => {
                    push(&mut out, class, rest);
                    *inside = true;
                    break;
                }
            }
        }
        if rest.starts_with(comment) {
            push(&mut out, "comment", rest);
            break;
        }
        let c = rest.chars().next().unwrap_or(' ');
        let len = if c == '"' || c == '\'' {
            let end = rest[1..].find(c).map_or(rest.len(), |i| i + 2);
            push(&mut out, "string", &rest[..end]);
            end
        } else if c.is_alphanumeric() || c == '_' {
            let end = rest.find(|ch: char| !(ch.is_alphanumeric() || ch == '_')).unwrap_or(rest.len());
            let word = &rest[..end];
            let class = if words.contains(&word) {
                "keyword"
            } else if word.chars().all(|ch| ch.is_ascii_digit()) {
                "number"
            } else {
                "plain"
            };
            push(&mut out, class, word);
            end
        } else {
            push(&mut out, if "{}[]():;=<>,|".contains(c) { "punct" } else { "plain" }, &rest[..c.len_utf8()]);
            c.len_utf8()
        };
        rest = &rest[len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_definitions_list_their_operations() {
        let def = openapi("openapi: 3.0.0\ninfo: {title: Pets, version: '1'}\npaths:\n  /pets:\n    get: {summary: List pets}\n    post: {operationId: addPet}\n").unwrap();
        let ops: Vec<(&str, &str)> = def.operations.iter().map(|o| (o.method.as_str(), o.path.as_str())).collect();
        assert_eq!(ops, [("GET", "/pets"), ("POST", "/pets")]);
        assert_eq!(def.title.as_deref(), Some("Pets"));
    }

    #[test]
    fn graphql_is_tokenized_into_keywords_comments_and_strings() {
        let lines = highlight("# a comment\ntype Query { hero(name: \"x\"): Int }", "graphql");
        assert_eq!(lines[0], [Token { class: "comment", text: "# a comment".into() }]);
        assert_eq!(lines[1][0], Token { class: "keyword", text: "type".into() });
        assert!(lines[1].iter().any(|t| t.class == "string" && t.text == "\"x\""));
    }

    #[test]
    fn block_comments_and_block_strings_span_lines() {
        let proto = highlight("/* Greeter\n * says hello */ service Greeter {\n  rpc Hi (A) returns (B); /* one */ // two\n}", "grpc");
        assert_eq!(proto[0], [Token { class: "comment", text: "/* Greeter".into() }]);
        assert_eq!(proto[1][0], Token { class: "comment", text: " * says hello */".into() });
        assert!(proto[1].iter().any(|t| t.class == "keyword" && t.text == "service"));
        assert!(proto[2].iter().any(|t| t.class == "comment" && t.text == "/* one */"));
        assert!(proto[2].iter().any(|t| t.class == "comment" && t.text == "// two"));
        let gql = highlight("\"\"\"\nA hero: \"quoted\" type\n\"\"\"\ntype Hero { \"\"\"name\"\"\" name: String }", "graphql");
        assert!(gql[..3].iter().flatten().all(|t| t.class == "string"), "{gql:?}");
        assert_eq!(gql[3][0], Token { class: "keyword", text: "type".into() });
        assert!(gql[3].iter().any(|t| t.class == "string" && t.text == "\"\"\"name\"\"\""));
        assert!(highlight("# x\n\"\"\"", "graphql")[1].iter().all(|t| t.class == "string"), "an unclosed block string runs to the end");
    }
}
