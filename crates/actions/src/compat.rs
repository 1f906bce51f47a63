//! What Nunjucks accepts and Jinja does not, rewritten inside the expressions and blocks of a
//! text before minijinja parses it: `===` and `!==` (Nunjucks' strict comparisons) become `==`
//! and `!=`, `null` becomes `none`, and the bare keys of object literals
//! (`{ defaultKind: "group" }`) become strings, as they are in JavaScript, and JavaScript's
//! `.length` of a string or a list becomes the `length` filter. Text outside
//! `${{ … }}` and `{% … %}`, and string literals inside them, are left exactly as written.

use std::borrow::Cow;

use crate::render::Dialect;

/// `text` with the Nunjucks-only syntax of its expressions rewritten.
pub fn rewrite(text: &str, dialect: Dialect) -> Cow<'_, str> {
    let open = dialect.open();
    if !needs_rewrite(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    loop {
        let var = rest.find(open);
        let block = rest.find("{%");
        let (start, len, close) = match (var, block) {
            (Some(v), Some(b)) if b < v => (b, 2, "%}"),
            (Some(v), _) => (v, open.len(), "}}"),
            (None, Some(b)) => (b, 2, "%}"),
            (None, None) => break,
        };
        out.push_str(&rest[..start + len]);
        rest = &rest[start + len..];
        let consumed = expression(rest, close, &mut out);
        rest = &rest[consumed..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Cheap test: nothing to do unless an expression could hold one of the rewritten forms.
fn needs_rewrite(text: &str) -> bool {
    text.contains("==") || text.contains("null") || text.contains(':') || text.contains(".length")
}

/// Copies one expression (up to and including `close` at bracket depth 0, outside strings)
/// into `out`, rewritten; returns the bytes of `text` consumed.
fn expression(text: &str, close: &str, out: &mut String) -> usize {
    let bytes = text.as_bytes();
    let mut stack: Vec<u8> = Vec::new();
    // The last character that was not blank, to know whether an identifier starts a key.
    let mut last = b'\0';
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if stack.is_empty() && text[i..].starts_with(close) {
            out.push_str(close);
            return i + close.len();
        }
        match c {
            b'\'' | b'"' => {
                let end = string_end(bytes, i);
                out.push_str(&text[i..end]);
                i = end;
                last = c;
                continue;
            }
            b'{' | b'[' | b'(' => stack.push(c),
            b'}' | b']' | b')' => {
                stack.pop();
            }
            b'=' | b'!' if text[i..].starts_with("===") || text[i..].starts_with("!==") => {
                out.push_str(if c == b'=' { "==" } else { "!=" });
                i += 3;
                last = b'=';
                continue;
            }
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                let end = i + bytes[i..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
                let word = &text[i..end];
                let after = text[end..].trim_start();
                if stack.last() == Some(&b'{') && matches!(last, b'{' | b',') && after.starts_with(':') {
                    out.push('"');
                    out.push_str(word);
                    out.push('"');
                } else if word == "length" && last == b'.' && out.ends_with('.') && !after.starts_with('(') {
                    // `x.length` (JavaScript's) is `x|length`.
                    out.pop();
                    out.push_str("|length");
                } else if word == "null" && last != b'.' {
                    out.push_str("none");
                } else {
                    out.push_str(word);
                }
                i = end;
                last = b'a';
                continue;
            }
            _ => {}
        }
        // Copy one whole character (the text is UTF-8).
        let width = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + width]);
        if !c.is_ascii_whitespace() {
            last = c;
        }
        i += width;
    }
    bytes.len()
}

/// The index just past the string literal that starts at `start` (its quote), escapes
/// followed; the end of the text when it is not closed.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(s: &str) -> String {
        rewrite(s, Dialect::Backstage).into_owned()
    }

    #[test]
    fn strict_comparisons_and_null() {
        assert_eq!(rw("${{ parameters.dryRun !== true }}"), "${{ parameters.dryRun != true }}");
        assert_eq!(rw("${{ a === null }}"), "${{ a == none }}");
        assert_eq!(rw("{% if a === 'x' %}y{% endif %}"), "{% if a == 'x' %}y{% endif %}");
    }

    #[test]
    fn object_literal_keys_are_quoted() {
        assert_eq!(
            rw(r#"${{ parameters.owner | parseEntityRef({ defaultKind:"group", defaultNamespace:"ns" }) }}"#),
            r#"${{ parameters.owner | parseEntityRef({ "defaultKind":"group", "defaultNamespace":"ns" }) }}"#
        );
        // Slices and ternaries are not object keys.
        assert_eq!(rw("${{ a[1:2] }}"), "${{ a[1:2] }}");
    }

    #[test]
    fn javascript_length_is_the_length_filter() {
        assert_eq!(rw("${{ parameters.name.length > 3 }}"), "${{ parameters.name|length > 3 }}");
        assert_eq!(rw("{% if parameters.topics.length %}x{% endif %}"), "{% if parameters.topics|length %}x{% endif %}");
        assert_eq!(rw("${{ a.lengthy }} ${{ 'x.length' }}"), "${{ a.lengthy }} ${{ 'x.length' }}");
    }

    #[test]
    fn text_and_strings_are_left_alone() {
        let text = "null === nothing: ${{ 'a === b, null' ~ x }} and {x: 1}";
        assert_eq!(rw(text), "null === nothing: ${{ 'a === b, null' ~ x }} and {x: 1}");
        assert_eq!(rw("é: ${{ \"ü\" }} null"), "é: ${{ \"ü\" }} null");
        assert!(matches!(rewrite("plain text", Dialect::Backstage), Cow::Borrowed(_)));
    }

    #[test]
    fn cookiecutter_delimiters() {
        assert_eq!(rewrite("{{ cookiecutter.a === null }}", Dialect::Cookiecutter), "{{ cookiecutter.a == none }}");
    }

    #[test]
    fn unclosed_expression_is_copied_whole() {
        assert_eq!(rw("${{ 'abc"), "${{ 'abc");
        assert_eq!(rw("${{ a === b"), "${{ a == b");
    }
}
