use std::fmt;

/// One problem with one field of one entity. `path` is a dotted path such as `spec.owner`
/// or `metadata.tags[2]`; empty when the problem concerns the whole document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Errors of the model crate.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("invalid entity reference {input:?}: {reason}")]
    InvalidRef { input: String, reason: String },
    #[error("{}", join(.0))]
    Invalid(Vec<FieldError>),
    #[error("invalid kind declaration `{kind}`: {reason}")]
    InvalidKind { kind: String, reason: String },
}

fn join(errors: &[FieldError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// An error and its causes on one line, `: `-separated, skipping a cause its parent already
/// says (`error sending request: client error (Connect): Connection refused`): transport errors
/// keep the useful part several levels down.
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
