//! Owners from a CODEOWNERS file (GitHub and GitLab flavour): gitignore-style patterns, the
//! last matching rule wins, its first owner becomes the entity owner.

use glob::Pattern;
use portico_model::naming::sanitize_object_name;

use super::tree::{Tree, ancestors};

/// Where CODEOWNERS may live, in the order GitHub looks.
const LOCATIONS: &[&str] = &[".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"];

use crate::providers::PATH_MATCH as MATCH;

struct Rule {
    /// Alternatives that match a folder (or a path under it, tested folder by folder).
    globs: Vec<Pattern>,
    /// Matches the root folder itself (`*`, `**`, `/`).
    matches_root: bool,
    /// Entity reference of the first owner; `None` un-owns the paths.
    owner: Option<String>,
}

/// A parsed CODEOWNERS file.
#[derive(Default)]
pub(crate) struct CodeOwners {
    rules: Vec<Rule>,
}

impl CodeOwners {
    /// Finds and parses the repository's CODEOWNERS; a file that cannot be read counts as none.
    pub fn load(tree: &Tree<'_>) -> Self {
        let Some(path) = LOCATIONS.iter().find(|p| tree.paths.binary_search(*p).is_ok()) else {
            return Self::default();
        };
        let text = tree.read(path).ok().flatten().unwrap_or_default();
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Self {
        Self { rules: text.lines().filter_map(parse_line).collect() }
    }

    /// Owner of a folder (`""` is the root): the last rule that matches it or one of its
    /// ancestors, as a pattern matching a directory covers everything below it.
    pub fn owner_of_dir(&self, dir: &str) -> Option<&str> {
        let chain: Vec<&str> = ancestors(dir).collect();
        let rule = self.rules.iter().rev().find(|r| chain.iter().any(|d| r.matches(d)))?;
        rule.owner.as_deref()
    }
}

impl Rule {
    fn matches(&self, dir: &str) -> bool {
        if dir.is_empty() {
            return self.matches_root;
        }
        self.globs.iter().any(|g| g.matches_with(dir, MATCH))
    }
}

fn parse_line(line: &str) -> Option<Rule> {
    let line = line.trim();
    // Comments, GitLab sections (`[Docs]`, `^[Optional]`) and negations (not supported by
    // GitHub either) carry no rule.
    if line.is_empty() || line.starts_with(['#', '[', '^', '!']) {
        return None;
    }
    let mut tokens = split_tokens(line).into_iter();
    let pattern = tokens.next()?;
    let owner = tokens.take_while(|t| !t.starts_with('#')).find_map(|t| owner_ref(&t));
    let anchored = pattern.starts_with('/') || pattern.trim_end_matches('/').contains('/');
    let body = pattern.trim_matches('/');
    let matches_root = matches!(body, "" | "*" | "**");
    let mut globs = Vec::new();
    let mut add = |p: String| {
        if let Ok(g) = Pattern::new(&p) {
            globs.push(g);
        }
    };
    if !body.is_empty() {
        let base = if anchored { body.to_owned() } else { format!("**/{body}") };
        // `dir/**` covers the folder itself as far as ownership goes.
        if let Some(stem) = base.strip_suffix("/**") {
            add(stem.to_owned());
        }
        add(base);
    }
    Some(Rule { globs, matches_root, owner })
}

/// Whitespace-separated tokens; `\ ` keeps a space inside a pattern.
fn split_tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `@org/team` → `group:default/team`, `@user` → `user:default/user`, `user@example.com` →
/// `user:default/user`.
pub(crate) fn owner_ref(token: &str) -> Option<String> {
    if let Some(handle) = token.strip_prefix('@') {
        return match handle.split_once('/') {
            Some((_, team)) => sanitize_object_name(team.rsplit('/').next().unwrap_or(team)).map(|t| format!("group:default/{t}")),
            None => sanitize_object_name(handle).map(|u| format!("user:default/{u}")),
        };
    }
    let (local, domain) = token.split_once('@')?;
    if domain.contains('.') { sanitize_object_name(local).map(|u| format!("user:default/{u}")) } else { None }
}
