//! Storage of the approvals runs wait for. Asking parks the run (`waiting`, no lease) in the
//! same transaction, so a run is never waiting for an approval that was not stored; deciding
//! (or a deadline passing) settles the approval and queues the run again in one transaction, so
//! a worker on any replica takes it up.

use crate::Result;

/// One approval as stored, with the decisions made so far (oldest first).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRecord {
    pub id: String,
    pub run_id: String,
    /// The step that asked, or `policy:<name>`.
    pub step: String,
    /// The group whose members approve (its entity key).
    pub approvers: String,
    pub required: i32,
    pub requester: String,
    pub template: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `pending`, `approved`, `rejected`, `expired` or `cancelled`.
    pub status: String,
    pub created_at: i64,
    pub deadline: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<i64>,
    pub decisions: Vec<Decision>,
}

/// One approver's decision.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Decision {
    pub approver: String,
    /// `approve` or `reject`.
    pub decision: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub at: i64,
}

/// Which approvals to list, newest first: all set fields must match; `approvers` is any of.
#[derive(Debug, Clone, Default)]
pub struct ApprovalFilter {
    pub status: Option<String>,
    pub run_id: Option<String>,
    pub approvers: Option<Vec<String>>,
}

/// What a decision did.
#[derive(Debug, Clone, PartialEq)]
pub enum Decided {
    /// Recorded: the approval as it stands now (settled or still pending).
    Recorded(Box<ApprovalRecord>),
    /// Not recorded: the approval is no longer pending (its status), or this approver decided
    /// already.
    Closed(String),
    AlreadyDecided,
    Missing,
}

#[async_trait::async_trait]
pub trait ApprovalStore: Send + Sync {
    /// Parks a run its worker holds (`holder`) as `waiting`, with its steps so far, and stores
    /// what it waits for (an approval asked before, for the same step, is kept). False (nothing
    /// written) when `holder` no longer holds the run.
    async fn park_run(&self, id: &str, holder: &str, steps: &str, approvals: &[ApprovalRecord]) -> Result<bool>;
    /// Stores a new run as `waiting` with the approvals it needs before it starts.
    async fn create_waiting_run(&self, run: &crate::RunRecord, approvals: &[ApprovalRecord]) -> Result<()>;
    async fn approval(&self, id: &str) -> Result<Option<ApprovalRecord>>;
    /// Approvals matching `filter`, newest first, at most `limit`.
    async fn approvals(&self, filter: &ApprovalFilter, limit: u32) -> Result<Vec<ApprovalRecord>>;
    /// Records one decision on a pending approval: one rejection rejects it, `required`
    /// approvals approve it. A settled approval queues its run again when the run waits for
    /// nothing else.
    async fn decide_approval(&self, id: &str, decision: &Decision) -> Result<Decided>;
    /// Settles pending approvals whose deadline passed before `now` as `expired` and queues
    /// their runs again; their run ids.
    async fn expire_approvals(&self, now: i64) -> Result<Vec<String>>;
}

pub(crate) const APPROVAL_COLUMNS: &str = "id, run_id, step, approvers, required, requester, template, entity_key, message, status, created_at, deadline, decided_at";

#[derive(sqlx::FromRow)]
pub(crate) struct ApprovalRow {
    pub(crate) id: String,
    run_id: String,
    step: String,
    approvers: String,
    required: i32,
    requester: String,
    template: String,
    entity_key: Option<String>,
    message: Option<String>,
    pub(crate) status: String,
    created_at: i64,
    deadline: i64,
    decided_at: Option<i64>,
}

pub(crate) fn approval_from(r: ApprovalRow, decisions: Vec<Decision>) -> ApprovalRecord {
    ApprovalRecord {
        id: r.id,
        run_id: r.run_id,
        step: r.step,
        approvers: r.approvers,
        required: r.required,
        requester: r.requester,
        template: r.template,
        entity_key: r.entity_key,
        message: r.message,
        status: r.status,
        created_at: r.created_at,
        deadline: r.deadline,
        decided_at: r.decided_at,
        decisions,
    }
}

/// What the decisions made so far settle an approval as, if anything.
pub(crate) fn settle(required: i32, decisions: &[Decision]) -> Option<&'static str> {
    if decisions.iter().any(|d| d.decision == "reject") {
        Some("rejected")
    } else if decisions.iter().filter(|d| d.decision == "approve").count() as i32 >= required {
        Some("approved")
    } else {
        None
    }
}

macro_rules! impl_approval_store {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn insert_approvals(tx: &mut sqlx::Transaction<'_, $db>, approvals: &[$crate::approvals::ApprovalRecord]) -> $crate::Result<()> {
                for a in approvals {
                    sqlx::query(
                        "insert into action_approvals (id, run_id, step, approvers, required, requester, template, entity_key, message, status, created_at, deadline) \
                         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11) on conflict (run_id, step) do nothing",
                    )
                    .bind(&a.id)
                    .bind(&a.run_id)
                    .bind(&a.step)
                    .bind(&a.approvers)
                    .bind(a.required)
                    .bind(&a.requester)
                    .bind(&a.template)
                    .bind(&a.entity_key)
                    .bind(&a.message)
                    .bind(a.created_at)
                    .bind(a.deadline)
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }

            async fn decisions_of(executor: impl sqlx::Executor<'_, Database = $db>, ids: &[String]) -> $crate::Result<std::collections::HashMap<String, Vec<$crate::approvals::Decision>>> {
                let mut out: std::collections::HashMap<String, Vec<$crate::approvals::Decision>> = std::collections::HashMap::new();
                if ids.is_empty() {
                    return Ok(out);
                }
                let mut q = sqlx::QueryBuilder::<$db>::new("select approval_id, approver, decision, comment, at from action_approval_decisions where approval_id in (");
                let mut list = q.separated(", ");
                for id in ids {
                    list.push_bind(id);
                }
                q.push(") order by at, approver");
                let rows: Vec<(String, String, String, Option<String>, i64)> = q.build_query_as().fetch_all(executor).await?;
                for (id, approver, decision, comment, at) in rows {
                    out.entry(id).or_default().push($crate::approvals::Decision { approver, decision, comment, at });
                }
                Ok(out)
            }

            /// Queues a run again when it waits for no pending approval. One rejected or expired
            /// approval ends the wait at once: the others still pending are cancelled.
            async fn requeue_if_settled(tx: &mut sqlx::Transaction<'_, $db>, run_id: &str) -> $crate::Result<()> {
                sqlx::query(
                    "update action_approvals set status = 'cancelled' where run_id = $1 and status = 'pending' \
                     and exists (select 1 from action_approvals where run_id = $1 and status in ('rejected', 'expired'))",
                )
                .bind(run_id)
                .execute(&mut **tx)
                .await?;
                sqlx::query(
                    "update action_runs set status = 'queued' where id = $1 and status = 'waiting' \
                     and not exists (select 1 from action_approvals where run_id = $1 and status = 'pending')",
                )
                .bind(run_id)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::approvals::ApprovalStore for $store {
            async fn park_run(&self, id: &str, holder: &str, steps: &str, approvals: &[$crate::approvals::ApprovalRecord]) -> $crate::Result<bool> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query("update action_runs set status = 'waiting', steps = $1, lease_holder = null, lease_until = null where id = $2 and lease_holder = $3 and status = 'running'")
                    .bind(steps)
                    .bind(id)
                    .bind(holder)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                Self::insert_approvals(&mut tx, approvals).await?;
                // An approval settled before (a resumed step that asks again) lets it go on at once.
                Self::requeue_if_settled(&mut tx, id).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn create_waiting_run(&self, r: &$crate::RunRecord, approvals: &[$crate::approvals::ApprovalRecord]) -> $crate::Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::insert_run(&mut *tx, r, "waiting").await?;
                Self::insert_approvals(&mut tx, approvals).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn approval(&self, id: &str) -> $crate::Result<Option<$crate::approvals::ApprovalRecord>> {
                let row: Option<$crate::approvals::ApprovalRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("select {} from action_approvals where id = $1", $crate::approvals::APPROVAL_COLUMNS))).bind(id).fetch_optional(&self.pool).await?;
                let Some(row) = row else { return Ok(None) };
                let mut decisions = Self::decisions_of(&self.pool, &[id.to_owned()]).await?;
                Ok(Some($crate::approvals::approval_from(row, decisions.remove(id).unwrap_or_default())))
            }

            async fn approvals(&self, f: &$crate::approvals::ApprovalFilter, limit: u32) -> $crate::Result<Vec<$crate::approvals::ApprovalRecord>> {
                let mut q = sqlx::QueryBuilder::<$db>::new(format!("select {} from action_approvals where 1 = 1", $crate::approvals::APPROVAL_COLUMNS));
                if let Some(status) = &f.status {
                    q.push(" and status = ").push_bind(status);
                }
                if let Some(run) = &f.run_id {
                    q.push(" and run_id = ").push_bind(run);
                }
                if let Some(groups) = &f.approvers {
                    if groups.is_empty() {
                        return Ok(Vec::new());
                    }
                    q.push(" and approvers in (");
                    let mut list = q.separated(", ");
                    for g in groups {
                        list.push_bind(g);
                    }
                    q.push(")");
                }
                q.push(" order by created_at desc, id desc limit ").push_bind(i64::from(limit));
                let rows: Vec<$crate::approvals::ApprovalRow> = q.build_query_as().fetch_all(&self.pool).await?;
                let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
                let mut decisions = Self::decisions_of(&self.pool, &ids).await?;
                Ok(rows.into_iter().map(|r| {
                    let d = decisions.remove(&r.id).unwrap_or_default();
                    $crate::approvals::approval_from(r, d)
                }).collect())
            }

            async fn decide_approval(&self, id: &str, d: &$crate::approvals::Decision) -> $crate::Result<$crate::approvals::Decided> {
                use $crate::approvals::Decided;
                let mut tx = self.pool.begin().await?;
                // Taking the row first serialises decisions on one approval (PostgreSQL locks the
                // row; SQLite's writer lock is taken by the update).
                let touched = sqlx::query("update action_approvals set decided_at = decided_at where id = $1").bind(id).execute(&mut *tx).await?;
                if touched.rows_affected() == 0 {
                    return Ok(Decided::Missing);
                }
                let row: $crate::approvals::ApprovalRow =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("select {} from action_approvals where id = $1", $crate::approvals::APPROVAL_COLUMNS))).bind(id).fetch_one(&mut *tx).await?;
                if row.status != "pending" {
                    return Ok(Decided::Closed(row.status));
                }
                let inserted = sqlx::query("insert into action_approval_decisions (approval_id, approver, decision, comment, at) values ($1, $2, $3, $4, $5) on conflict (approval_id, approver) do nothing")
                    .bind(id)
                    .bind(&d.approver)
                    .bind(&d.decision)
                    .bind(&d.comment)
                    .bind(d.at)
                    .execute(&mut *tx)
                    .await?;
                if inserted.rows_affected() == 0 {
                    return Ok(Decided::AlreadyDecided);
                }
                let decisions = Self::decisions_of(&mut *tx, &[id.to_owned()]).await?.remove(id).unwrap_or_default();
                let mut record = $crate::approvals::approval_from(row, decisions);
                if let Some(status) = $crate::approvals::settle(record.required, &record.decisions) {
                    sqlx::query("update action_approvals set status = $1, decided_at = $2 where id = $3").bind(status).bind(d.at).bind(id).execute(&mut *tx).await?;
                    Self::requeue_if_settled(&mut tx, &record.run_id).await?;
                    record.status = status.to_owned();
                    record.decided_at = Some(d.at);
                }
                tx.commit().await?;
                Ok(Decided::Recorded(Box::new(record)))
            }

            async fn expire_approvals(&self, now: i64) -> $crate::Result<Vec<String>> {
                let mut tx = self.pool.begin().await?;
                let runs: Vec<String> = sqlx::query_scalar("update action_approvals set status = 'expired', decided_at = $1 where status = 'pending' and deadline < $1 returning run_id")
                    .bind(now)
                    .fetch_all(&mut *tx)
                    .await?;
                for run in &runs {
                    Self::requeue_if_settled(&mut tx, run).await?;
                }
                tx.commit().await?;
                Ok(runs)
            }
        }
    };
}

pub(crate) use impl_approval_store;

#[cfg(test)]
mod tests;
