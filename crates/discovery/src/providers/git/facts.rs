//! Repository facts from history: when the last commit landed, and how active the last 90
//! days were. The walk goes newest first and stops at the first commit older than 90 days, so
//! an old, long history costs nothing.

use std::collections::BTreeSet;

use gix::ObjectId;
use gix::revision::walk::Sorting;
use gix::traverse::commit::simple::CommitTimeOrder;
use serde_json::{Map, Value};

use portico_model::with_causes as chain;

/// The window of the activity facts.
pub(crate) const ACTIVITY_DAYS: i64 = 90;

/// `git.lastCommitAt` (RFC 3339, committer time of `head`), `git.commits90d`,
/// `git.contributors90d` (distinct author e-mails), `git.headCommit` and `git.branch` (when
/// known). `now` is in seconds since the Unix epoch.
pub(crate) fn facts(repo: &gix::Repository, head: ObjectId, branch: Option<&str>, now: i64) -> Result<Map<String, Value>, String> {
    let commit = repo.find_commit(head).map_err(|e| chain(&e))?;
    let time = commit.time().map_err(|e| chain(&e))?;
    let last = chrono::DateTime::from_timestamp(time.seconds, 0)
        .ok_or_else(|| format!("commit {head} has an impossible date ({} s)", time.seconds))?;
    let cutoff = now - ACTIVITY_DAYS * 86_400;
    let walk = repo
        .rev_walk([head])
        .sorting(Sorting::ByCommitTimeCutoff { order: CommitTimeOrder::NewestFirst, seconds: cutoff })
        .all()
        .map_err(|e| chain(&e))?;
    let mut commits = 0u64;
    let mut authors = BTreeSet::new();
    for info in walk {
        let info = info.map_err(|e| chain(&e))?;
        let commit = info.object().map_err(|e| chain(&e))?;
        let author = commit.author().map_err(|e| chain(&e))?;
        authors.insert(author.email.to_string().trim().to_lowercase());
        commits += 1;
    }
    let mut facts = Map::new();
    facts.insert("git.lastCommitAt".into(), Value::String(last.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
    facts.insert("git.commits90d".into(), Value::from(commits));
    facts.insert("git.contributors90d".into(), Value::from(authors.len()));
    facts.insert("git.headCommit".into(), Value::String(head.to_string()));
    if let Some(branch) = branch {
        facts.insert("git.branch".into(), Value::String(branch.to_owned()));
    }
    Ok(facts)
}
