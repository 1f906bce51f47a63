//! Storage of the audit log: append-only rows of who did what to which target, and whether it
//! was allowed. Same SQL for both backends, expanded once per backend like `sql.rs`.

use crate::Result;

/// One audited request or command.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Assigned by the store, increasing: the cursor of the next page.
    pub id: i64,
    pub at: i64,
    /// Who: an entity reference, `service:<name>`, `bootstrap`, `guest` or `cli`.
    pub actor: String,
    /// How they were recognised: `token`, `bootstrap`, `guest`, `cli`.
    pub via: String,
    /// The permission the request needed (`catalog.location.delete`).
    pub action: String,
    /// What it acted on: an entity reference, a location, token or saved query id.
    pub target: Option<String>,
    /// `allowed`, `denied` (by a scope or the policy) or `failed` (allowed, but the request
    /// failed: a bad body, a missing target).
    pub outcome: String,
    /// The HTTP status answered, when it was a request.
    pub status: Option<i32>,
    pub request_id: Option<String>,
    /// The request line, the rule that decided, or why it was refused.
    pub detail: Option<String>,
}

impl AuditEvent {
    /// An event now, of `actor` (recognised `via`) doing `action` to `target`, with `outcome`;
    /// set `status`, `request_id` and `detail` after.
    pub fn of(actor: impl Into<String>, via: impl Into<String>, action: impl Into<String>, target: Option<String>, outcome: impl Into<String>) -> Self {
        let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Self { id: 0, at, actor: actor.into(), via: via.into(), action: action.into(), target, outcome: outcome.into(), status: None, request_id: None, detail: None }
    }

    pub fn with(self, status: Option<u16>, request_id: Option<String>, detail: impl Into<String>) -> Self {
        Self { status: status.map(i32::from), request_id, detail: Some(detail.into()), ..self }
    }
}

/// Which events to list: every field narrows; `before` pages backwards by id.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    /// An action, or the start of one (`catalog.` for every catalog action).
    pub action: Option<String>,
    pub target: Option<String>,
    pub outcome: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Only events with a smaller id (the previous page's last).
    pub before: Option<i64>,
    pub limit: u32,
}

#[async_trait::async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an event (its `id` is ignored) and returns the id it was given.
    async fn append_audit(&self, event: &AuditEvent) -> Result<i64>;
    /// Events matching `filter`, newest first.
    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>>;
    /// Removes the events older than `before` (retention); returns how many.
    async fn prune_audit(&self, before: i64) -> Result<u64>;
}

pub(crate) type AuditRow = (i64, i64, String, String, String, Option<String>, String, Option<i32>, Option<String>, Option<String>);

pub(crate) fn audit_from((id, at, actor, via, action, target, outcome, status, request_id, detail): AuditRow) -> AuditEvent {
    AuditEvent { id, at, actor, via, action, target, outcome, status, request_id, detail }
}

macro_rules! impl_audit_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::audit::AuditStore for $store {
            async fn append_audit(&self, e: &$crate::audit::AuditEvent) -> $crate::Result<i64> {
                let (id,): (i64,) = sqlx::query_as(
                    "insert into audit_events (at, actor, via, action, target, outcome, status, request_id, detail) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
                )
                .bind(e.at)
                .bind(&e.actor)
                .bind(&e.via)
                .bind(&e.action)
                .bind(&e.target)
                .bind(&e.outcome)
                .bind(e.status)
                .bind(&e.request_id)
                .bind(&e.detail)
                .fetch_one(&self.pool)
                .await?;
                Ok(id)
            }

            async fn list_audit(&self, f: &$crate::audit::AuditFilter) -> $crate::Result<Vec<$crate::audit::AuditEvent>> {
                let rows: Vec<$crate::audit::AuditRow> = sqlx::query_as(
                    "select id, at, actor, via, action, target, outcome, status, request_id, detail from audit_events \
                     where ($1 is null or actor = $1) \
                       and ($2 is null or substr(action, 1, length($2)) = $2) \
                       and ($3 is null or target = $3) \
                       and ($4 is null or outcome = $4) \
                       and ($5 is null or at >= $5) \
                       and ($6 is null or at < $6) \
                       and ($7 is null or id < $7) \
                     order by id desc limit $8",
                )
                .bind(&f.actor)
                .bind(&f.action)
                .bind(&f.target)
                .bind(&f.outcome)
                .bind(f.since)
                .bind(f.until)
                .bind(f.before)
                .bind(i64::from(f.limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map($crate::audit::audit_from).collect())
            }

            async fn prune_audit(&self, before: i64) -> $crate::Result<u64> {
                let done = sqlx::query("delete from audit_events where at < $1").bind(before).execute(&self.pool).await?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(crate) use impl_audit_store;
