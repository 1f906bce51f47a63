//! Storage of self-service runs: queued by the API, claimed by workers on any replica with a
//! lease, their state saved after every step, their log appended line by line. Same SQL for both
//! backends, expanded once per backend; only the claim differs (PostgreSQL skips rows another
//! replica is claiming).

use crate::Result;

/// One run as stored. JSON columns are kept as text: the actions crate owns their shape.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub id: String,
    /// `template:namespace/name`.
    pub template: String,
    /// The template as run (JSON).
    pub spec: String,
    /// The form's values (JSON; never secrets).
    pub parameters: String,
    pub actor: String,
    pub entity_key: Option<String>,
    pub dry_run: bool,
    /// `queued`, `running`, `waiting` (for an approval), `completed`, `failed` or `cancelled`.
    pub status: String,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub lease_holder: Option<String>,
    pub lease_until: Option<i64>,
    /// How many times a worker took it (more than one: it was resumed).
    pub attempts: i32,
    /// The steps' reports so far (JSON list).
    pub steps: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cancel_requested: bool,
}

impl RunRecord {
    /// A run just asked for: queued, no step run yet, no worker.
    pub fn queued(id: String, template: String, spec: String, parameters: String, actor: String, created_at: i64) -> Self {
        RunRecord {
            id,
            template,
            spec,
            parameters,
            actor,
            entity_key: None,
            dry_run: false,
            status: "queued".into(),
            created_at,
            started_at: None,
            finished_at: None,
            lease_holder: None,
            lease_until: None,
            attempts: 0,
            steps: "[]".into(),
            output: None,
            error: None,
            cancel_requested: false,
        }
    }
}

/// One line of a run's log.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunLogLine {
    pub seq: i64,
    pub step: String,
    pub at: i64,
    pub line: String,
}

/// Which runs to list (all set fields must match), newest first.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub template: Option<String>,
    pub actor: Option<String>,
    pub entity_key: Option<String>,
    pub status: Option<String>,
}

/// A run's state after a step, written only while its worker still holds the lease.
#[derive(Debug, Clone)]
pub struct RunProgress<'a> {
    pub status: &'a str,
    pub steps: &'a str,
    pub output: Option<&'a str>,
    pub error: Option<&'a str>,
    pub finished_at: Option<i64>,
}

#[async_trait::async_trait]
pub trait RunStore: Send + Sync {
    /// Stores a new run (status `queued`).
    async fn create_run(&self, run: &RunRecord) -> Result<()>;
    async fn run(&self, id: &str) -> Result<Option<RunRecord>>;
    /// Runs matching `filter`, newest first, at most `limit`.
    async fn runs(&self, filter: &RunFilter, limit: u32) -> Result<Vec<RunRecord>>;
    /// Takes the oldest run that is queued, or running with an expired lease (its worker died),
    /// for `holder` until `lease_until`: status `running`, one more attempt.
    async fn claim_run(&self, holder: &str, now: i64, lease_until: i64) -> Result<Option<RunRecord>>;
    /// Extends `holder`'s lease on a run; false when it no longer holds it.
    async fn renew_run(&self, id: &str, holder: &str, now: i64, lease_until: i64) -> Result<bool>;
    /// Saves a run's state; false (nothing written) when `holder` no longer holds its lease. A
    /// finished run (`finished_at` set) gives its lease up.
    async fn save_run(&self, id: &str, holder: &str, progress: &RunProgress<'_>) -> Result<bool>;
    /// Appends log lines (their `seq` unique per run).
    async fn append_run_log(&self, id: &str, lines: &[RunLogLine]) -> Result<()>;
    /// A run's log lines after `after` (a seq), oldest first, at most `limit`.
    async fn run_log(&self, id: &str, after: i64, limit: u32) -> Result<Vec<RunLogLine>>;
    /// Asks a queued, waiting or running run to stop; false when it has already finished. A
    /// queued or waiting one is cancelled at once (with the approvals it waits for).
    async fn cancel_run(&self, id: &str, now: i64) -> Result<bool>;
    /// Replaces a finished run's output (a rollback asked for after it ended); false when the
    /// run has not finished.
    async fn set_run_output(&self, id: &str, output: &str) -> Result<bool>;
    /// Queued, waiting and running runs, of one template and/or one actor.
    async fn active_runs(&self, template: Option<&str>, actor: Option<&str>) -> Result<i64>;
}

pub(crate) const RUN_COLUMNS: &str = "id, template, spec, parameters, actor, entity_key, dry_run, status, created_at, started_at, finished_at, lease_holder, lease_until, attempts, steps, output, error, cancel_requested";

#[derive(sqlx::FromRow)]
pub(crate) struct RunRow {
    id: String,
    template: String,
    spec: String,
    parameters: String,
    actor: String,
    entity_key: Option<String>,
    dry_run: i32,
    status: String,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    lease_holder: Option<String>,
    lease_until: Option<i64>,
    attempts: i32,
    steps: String,
    output: Option<String>,
    error: Option<String>,
    cancel_requested: i32,
}

pub(crate) fn run_from(r: RunRow) -> RunRecord {
    RunRecord {
        id: r.id,
        template: r.template,
        spec: r.spec,
        parameters: r.parameters,
        actor: r.actor,
        entity_key: r.entity_key,
        dry_run: r.dry_run != 0,
        status: r.status,
        created_at: r.created_at,
        started_at: r.started_at,
        finished_at: r.finished_at,
        lease_holder: r.lease_holder,
        lease_until: r.lease_until,
        attempts: r.attempts,
        steps: r.steps,
        output: r.output,
        error: r.error,
        cancel_requested: r.cancel_requested != 0,
    }
}

/// `$lock`: what follows the claim's inner select (`for update skip locked` on PostgreSQL).
macro_rules! impl_run_store {
    ($store:ty, $db:ty, $lock:literal) => {
        impl $store {
            /// Stores a new run in `status` (`queued`, or `waiting` for its approvals).
            pub(crate) async fn insert_run(executor: impl sqlx::Executor<'_, Database = $db>, r: &$crate::runs::RunRecord, status: &str) -> $crate::Result<()> {
                sqlx::query(
                    "insert into action_runs (id, template, spec, parameters, actor, entity_key, dry_run, status, created_at, attempts, steps) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10)",
                )
                .bind(&r.id)
                .bind(&r.template)
                .bind(&r.spec)
                .bind(&r.parameters)
                .bind(&r.actor)
                .bind(&r.entity_key)
                .bind(i32::from(r.dry_run))
                .bind(status)
                .bind(r.created_at)
                .bind(&r.steps)
                .execute(executor)
                .await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::runs::RunStore for $store {
            async fn create_run(&self, r: &$crate::runs::RunRecord) -> $crate::Result<()> {
                Self::insert_run(&self.pool, r, "queued").await
            }

            async fn run(&self, id: &str) -> $crate::Result<Option<$crate::runs::RunRecord>> {
                let row: Option<$crate::runs::RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!("select {} from action_runs where id = $1", $crate::runs::RUN_COLUMNS))).bind(id).fetch_optional(&self.pool).await?;
                Ok(row.map($crate::runs::run_from))
            }

            async fn runs(&self, f: &$crate::runs::RunFilter, limit: u32) -> $crate::Result<Vec<$crate::runs::RunRecord>> {
                let rows: Vec<$crate::runs::RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "select {} from action_runs where ($1 is null or template = $1) and ($2 is null or actor = $2) \
                     and ($3 is null or entity_key = $3) and ($4 is null or status = $4) order by created_at desc, id desc limit $5",
                    $crate::runs::RUN_COLUMNS
                )))
                .bind(&f.template)
                .bind(&f.actor)
                .bind(&f.entity_key)
                .bind(&f.status)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map($crate::runs::run_from).collect())
            }

            async fn claim_run(&self, holder: &str, now: i64, lease_until: i64) -> $crate::Result<Option<$crate::runs::RunRecord>> {
                let row: Option<$crate::runs::RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "update action_runs set status = 'running', lease_holder = $1, lease_until = $2, started_at = coalesce(started_at, $3), attempts = attempts + 1 \
                     where id = (select id from action_runs where status in ('queued', 'running') and (lease_until is null or lease_until < $3) \
                                 order by created_at, id limit 1 {}) \
                     and status in ('queued', 'running') and (lease_until is null or lease_until < $3) \
                     returning {}",
                    $lock,
                    $crate::runs::RUN_COLUMNS
                )))
                .bind(holder)
                .bind(lease_until)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map($crate::runs::run_from))
            }

            async fn renew_run(&self, id: &str, holder: &str, now: i64, lease_until: i64) -> $crate::Result<bool> {
                let done = sqlx::query("update action_runs set lease_until = $1 where id = $2 and lease_holder = $3 and status = 'running' and lease_until >= $4")
                    .bind(lease_until)
                    .bind(id)
                    .bind(holder)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn save_run(&self, id: &str, holder: &str, p: &$crate::runs::RunProgress<'_>) -> $crate::Result<bool> {
                let done = sqlx::query(
                    "update action_runs set status = $1, steps = $2, output = $3, error = $4, finished_at = $5, \
                     lease_holder = case when $5 is null then lease_holder else null end, \
                     lease_until = case when $5 is null then lease_until else null end \
                     where id = $6 and lease_holder = $7 and status = 'running'",
                )
                .bind(p.status)
                .bind(p.steps)
                .bind(p.output)
                .bind(p.error)
                .bind(p.finished_at)
                .bind(id)
                .bind(holder)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn append_run_log(&self, id: &str, lines: &[$crate::runs::RunLogLine]) -> $crate::Result<()> {
                for chunk in lines.chunks($crate::sql::BATCH) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("insert into action_run_log (run_id, seq, step, at, line) ");
                    q.push_values(chunk, |mut b, l| {
                        b.push_bind(id).push_bind(l.seq).push_bind(&l.step).push_bind(l.at).push_bind(&l.line);
                    });
                    q.push(" on conflict (run_id, seq) do nothing");
                    q.build().execute(&self.pool).await?;
                }
                Ok(())
            }

            async fn run_log(&self, id: &str, after: i64, limit: u32) -> $crate::Result<Vec<$crate::runs::RunLogLine>> {
                let rows: Vec<(i64, String, i64, String)> = sqlx::query_as("select seq, step, at, line from action_run_log where run_id = $1 and seq > $2 order by seq limit $3")
                    .bind(id)
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map(|(seq, step, at, line)| $crate::runs::RunLogLine { seq, step, at, line }).collect())
            }

            async fn cancel_run(&self, id: &str, now: i64) -> $crate::Result<bool> {
                let waiting = sqlx::query("update action_runs set status = 'cancelled', cancel_requested = 1, finished_at = $1, error = case when status = 'queued' and attempts = 0 then 'cancelled before it started' else 'cancelled' end where id = $2 and status in ('queued', 'waiting')")
                    .bind(now)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                if waiting.rows_affected() > 0 {
                    sqlx::query("update action_approvals set status = 'cancelled', decided_at = $1 where run_id = $2 and status = 'pending'").bind(now).bind(id).execute(&self.pool).await?;
                    return Ok(true);
                }
                let running = sqlx::query("update action_runs set cancel_requested = 1 where id = $1 and status = 'running'").bind(id).execute(&self.pool).await?;
                Ok(running.rows_affected() > 0)
            }

            async fn set_run_output(&self, id: &str, output: &str) -> $crate::Result<bool> {
                let done = sqlx::query("update action_runs set output = $1 where id = $2 and status in ('completed', 'failed', 'cancelled')").bind(output).bind(id).execute(&self.pool).await?;
                Ok(done.rows_affected() > 0)
            }

            async fn active_runs(&self, template: Option<&str>, actor: Option<&str>) -> $crate::Result<i64> {
                Ok(sqlx::query_scalar("select count(*) from action_runs where status in ('queued', 'running', 'waiting') and ($1 is null or template = $1) and ($2 is null or actor = $2)")
                    .bind(template)
                    .bind(actor)
                    .fetch_one(&self.pool)
                    .await?)
            }
        }
    };
}

pub(crate) use impl_run_store;

#[cfg(test)]
mod tests;
