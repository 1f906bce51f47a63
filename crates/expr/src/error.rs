//! Errors that point into the expression: a position, what was expected, and a caret.

use std::fmt;

/// Where in the expression something went wrong: a byte range of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// An expression that cannot be compiled or run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExprError {
    pub kind: ErrorKind,
    pub message: String,
    /// 1-based line and column of the start of the span, when the error has a place.
    pub line: Option<usize>,
    pub column: Option<usize>,
    #[serde(skip)]
    pub span: Option<Span>,
    /// The source line with a caret under the span, ready to print.
    pub snippet: Option<String>,
}

/// What kind of error, for callers that treat them differently (HTTP status, exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// The text is not a CEL expression.
    Syntax,
    /// An unknown function, variable or field, or a wrong number or type of arguments.
    Check,
    /// The expression failed while evaluating.
    Evaluation,
    /// A cost limit was reached (steps, traversal size, time, size of the expression).
    Limit,
}

impl ExprError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), line: None, column: None, span: None, snippet: None }
    }

    /// Attaches a place in `source` (byte offsets) and renders the caret line.
    pub fn at(mut self, source: &str, span: Span) -> Self {
        let start = span.start.min(source.len());
        let end = span.end.clamp(start, source.len());
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..].find('\n').map_or(source.len(), |i| start + i);
        let line_no = source[..start].matches('\n').count() + 1;
        let column = source[line_start..start].chars().count() + 1;
        let width = source[start..end.min(line_end)].chars().count().max(1);
        let text = &source[line_start..line_end];
        self.snippet = Some(format!("{text}\n{}{}", " ".repeat(column - 1), "^".repeat(width)));
        self.line = Some(line_no);
        self.column = Some(column);
        self.span = Some(Span { start, end });
        self
    }
}

impl ExprError {
    /// The message and the caret under the place, without the line and column: for an
    /// expression that is a field of a file, whose own line and column come first.
    pub fn without_position(&self) -> String {
        let mut out = self.message.clone();
        for line in self.snippet.iter().flat_map(|s| s.lines()) {
            out.push_str("\n  | ");
            out.push_str(line);
        }
        out
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, "{l}:{c}: ")?;
        }
        f.write_str(&self.without_position())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_points_at_the_span() {
        let e = ExprError::new(ErrorKind::Check, "unknown function 'relatd'").at("kind == 'A' && relatd('x')", Span { start: 15, end: 21 });
        assert_eq!(e.line, Some(1));
        assert_eq!(e.column, Some(16));
        assert_eq!(e.to_string(), "1:16: unknown function 'relatd'\n  | kind == 'A' && relatd('x')\n  |                ^^^^^^");
    }

    #[test]
    fn caret_on_a_later_line() {
        let e = ExprError::new(ErrorKind::Syntax, "x").at("a &&\n  b +", Span { start: 9, end: 10 });
        assert_eq!((e.line, e.column), (Some(2), Some(5)));
        assert!(e.to_string().ends_with("  |   b +\n  |     ^"));
    }
}
