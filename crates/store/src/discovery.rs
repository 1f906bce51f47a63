//! Storage of the discovery engine: every source's contributions, the merged entities'
//! provenance, the runs of each source, and leases for scheduled work. Same SQL for both
//! backends, expanded once per backend like `sql.rs`.

use serde_json::Value;

use crate::Result;

/// One source's statement about one entity, as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContributionRow {
    pub source: String,
    pub key: String,
    /// The part of the source it came from (a repository, a state file).
    pub scope: String,
    /// `declared`, `observed` or `inferred`.
    pub evidence: String,
    pub location: String,
    pub document: Value,
    /// Markdown documents: `[{path, markdown}]`.
    pub docs: Value,
    pub hash: String,
    pub updated_at: i64,
}

/// What one discovery run writes besides the catalog: applied in one transaction.
#[derive(Debug, Clone, Default)]
pub struct ContributionWrite {
    pub source: String,
    pub upserts: Vec<ContributionRow>,
    /// This source's contributions that are gone: (key, evidence).
    pub removals: Vec<(String, String)>,
    /// Per-field provenance of each merged entity touched; `None` deletes it.
    pub provenance: Vec<(String, Option<Value>)>,
    pub at: i64,
}

/// One run of a discovery source.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveryRun {
    pub id: i64,
    pub source: String,
    /// `schedule`, `manual`, `webhook` or `startup`.
    pub trigger: String,
    pub started_at: i64,
    pub finished_at: i64,
    /// `ok`, `partial` (some scope failed or was incomplete) or `failed`.
    pub status: String,
    pub added: i64,
    pub updated: i64,
    pub removed: i64,
    /// Scopes that had not changed since the last run.
    pub unchanged: i64,
    /// `[{location, key?, message}]`.
    pub errors: Value,
    /// What the provider wants back next run; `None` when the run failed.
    #[serde(skip)]
    pub state: Option<Value>,
}

#[async_trait::async_trait]
pub trait DiscoveryStore: Send + Sync {
    /// Contributions of one source.
    async fn contributions_of(&self, source: &str) -> Result<Vec<ContributionRow>>;
    /// Every source's contributions to these entities.
    async fn contributions_to(&self, keys: &[String]) -> Result<Vec<ContributionRow>>;
    /// Every contribution (for the drift report).
    async fn all_contributions(&self) -> Result<Vec<ContributionRow>>;
    async fn write_contributions(&self, write: &ContributionWrite) -> Result<()>;
    async fn provenance(&self, key: &str) -> Result<Option<Value>>;
    async fn provenance_of(&self, keys: &[String]) -> Result<Vec<(String, Value)>>;
    /// Records a run; returns its id.
    async fn record_discovery_run(&self, run: &DiscoveryRun) -> Result<i64>;
    /// The latest runs, newest first, of one source or of all.
    async fn discovery_runs(&self, source: Option<&str>, limit: i64) -> Result<Vec<DiscoveryRun>>;
    /// The state the last run that left one returned.
    async fn discovery_state(&self, source: &str) -> Result<Option<Value>>;
    /// Takes or renews the lease `name` for `holder` until `expires_at` (ms); false when
    /// another holder has it and it has not expired at `now`.
    async fn try_lease(&self, name: &str, holder: &str, now: i64, expires_at: i64) -> Result<bool>;
}

fn json(text: &str, what: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| crate::StoreError::Corrupt { key: what.to_owned(), reason: e.to_string() })
}

pub(crate) fn contribution_from(
    (source, key, scope, evidence, location, document, docs, hash, updated_at): (String, String, String, String, String, String, String, String, i64),
) -> Result<ContributionRow> {
    let document = json(&document, &key)?;
    let docs = json(&docs, &key)?;
    Ok(ContributionRow { source, key, scope, evidence, location, document, docs, hash, updated_at })
}

pub(crate) type RunRow = (i64, String, String, i64, i64, String, i64, i64, i64, i64, String, Option<String>);

pub(crate) fn run_from(r: RunRow) -> Result<DiscoveryRun> {
    let (id, source, trigger, started_at, finished_at, status, added, updated, removed, unchanged, errors, state) = r;
    Ok(DiscoveryRun {
        errors: json(&errors, "discovery run")?,
        state: state.as_deref().map(|s| json(s, "discovery state")).transpose()?,
        id,
        source,
        trigger,
        started_at,
        finished_at,
        status,
        added,
        updated,
        removed,
        unchanged,
    })
}

pub(crate) const CONTRIBUTION_COLUMNS: &str = "source, key, scope, evidence, location, document, docs, hash, updated_at";

macro_rules! impl_discovery_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::discovery::DiscoveryStore for $store {
            async fn contributions_of(&self, source: &str) -> $crate::Result<Vec<$crate::ContributionRow>> {
                let rows = sqlx::query_as("select source, key, scope, evidence, location, document, docs, hash, updated_at from discovery_contributions where source = $1 order by key").bind(source).fetch_all(&self.pool).await?;
                rows.into_iter().map($crate::discovery::contribution_from).collect()
            }

            async fn contributions_to(&self, keys: &[String]) -> $crate::Result<Vec<$crate::ContributionRow>> {
                let mut out = Vec::new();
                for chunk in keys.chunks($crate::sql::BATCH) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                        "select {} from discovery_contributions where key in (",
                        $crate::discovery::CONTRIBUTION_COLUMNS
                    ));
                    let mut list = q.separated(", ");
                    for k in chunk {
                        list.push_bind(k.as_str());
                    }
                    q.push(") order by key, source");
                    let rows = q.build_query_as().fetch_all(&self.pool).await?;
                    for r in rows {
                        out.push($crate::discovery::contribution_from(r)?);
                    }
                }
                Ok(out)
            }

            async fn all_contributions(&self) -> $crate::Result<Vec<$crate::ContributionRow>> {
                let rows = sqlx::query_as("select source, key, scope, evidence, location, document, docs, hash, updated_at from discovery_contributions order by key, source").fetch_all(&self.pool).await?;
                rows.into_iter().map($crate::discovery::contribution_from).collect()
            }

            async fn write_contributions(&self, w: &$crate::ContributionWrite) -> $crate::Result<()> {
                let mut tx = self.pool.begin().await?;
                for (key, evidence) in &w.removals {
                    sqlx::query("delete from discovery_contributions where source = $1 and key = $2 and evidence = $3")
                        .bind(&w.source)
                        .bind(key)
                        .bind(evidence)
                        .execute(&mut *tx)
                        .await?;
                }
                for chunk in w.upserts.chunks($crate::sql::BATCH / 4) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                        "insert into discovery_contributions ({}) ",
                        $crate::discovery::CONTRIBUTION_COLUMNS
                    ));
                    q.push_values(chunk, |mut b, c| {
                        b.push_bind(c.source.as_str())
                            .push_bind(c.key.as_str())
                            .push_bind(c.scope.as_str())
                            .push_bind(c.evidence.as_str())
                            .push_bind(c.location.as_str())
                            .push_bind(c.document.to_string())
                            .push_bind(c.docs.to_string())
                            .push_bind(c.hash.as_str())
                            .push_bind(c.updated_at);
                    });
                    q.push(
                        " on conflict (source, key, evidence) do update set scope = excluded.scope, \
                         location = excluded.location, document = excluded.document, docs = excluded.docs, \
                         hash = excluded.hash, updated_at = excluded.updated_at",
                    );
                    q.build().execute(&mut *tx).await?;
                }
                // Many rows per statement: a run that touches ten thousand entities must not
                // pay ten thousand round trips.
                let (kept, gone): (Vec<_>, Vec<_>) = w.provenance.iter().partition(|(_, f)| f.is_some());
                for chunk in gone.chunks($crate::sql::BATCH) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("delete from discovery_provenance where key in (");
                    let mut list = q.separated(", ");
                    for (key, _) in chunk {
                        list.push_bind(key.as_str());
                    }
                    q.push(")");
                    q.build().execute(&mut *tx).await?;
                }
                for chunk in kept.chunks($crate::sql::BATCH / 4) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("insert into discovery_provenance (key, fields, updated_at) ");
                    q.push_values(chunk, |mut b, (key, fields)| {
                        b.push_bind(key.as_str()).push_bind(fields.as_ref().map(|f| f.to_string())).push_bind(w.at);
                    });
                    q.push(" on conflict (key) do update set fields = excluded.fields, updated_at = excluded.updated_at");
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn provenance(&self, key: &str) -> $crate::Result<Option<serde_json::Value>> {
                Ok(self.provenance_of(&[key.to_owned()]).await?.into_iter().next().map(|(_, v)| v))
            }

            async fn provenance_of(&self, keys: &[String]) -> $crate::Result<Vec<(String, serde_json::Value)>> {
                let mut out = Vec::new();
                for chunk in keys.chunks($crate::sql::BATCH) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("select key, fields from discovery_provenance where key in (");
                    let mut list = q.separated(", ");
                    for k in chunk {
                        list.push_bind(k.as_str());
                    }
                    q.push(")");
                    let rows: Vec<(String, String)> = q.build_query_as().fetch_all(&self.pool).await?;
                    for (key, fields) in rows {
                        let v = serde_json::from_str(&fields)
                            .map_err(|e| $crate::StoreError::Corrupt { key: key.clone(), reason: e.to_string() })?;
                        out.push((key, v));
                    }
                }
                Ok(out)
            }

            async fn record_discovery_run(&self, r: &$crate::DiscoveryRun) -> $crate::Result<i64> {
                let id: i64 = sqlx::query_scalar(
                    "insert into discovery_runs (source, trigger, started_at, finished_at, status, added, updated, removed, \
                     unchanged, errors, state) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id",
                )
                .bind(&r.source)
                .bind(&r.trigger)
                .bind(r.started_at)
                .bind(r.finished_at)
                .bind(&r.status)
                .bind(r.added)
                .bind(r.updated)
                .bind(r.removed)
                .bind(r.unchanged)
                .bind(r.errors.to_string())
                .bind(r.state.as_ref().map(|s| s.to_string()))
                .fetch_one(&self.pool)
                .await?;
                Ok(id)
            }

            async fn discovery_runs(&self, source: Option<&str>, limit: i64) -> $crate::Result<Vec<$crate::DiscoveryRun>> {
                let rows: Vec<$crate::discovery::RunRow> = sqlx::query_as(
                    "select id, source, trigger, started_at, finished_at, status, added, updated, removed, unchanged, errors, state from discovery_runs where ($1 is null or source = $1) order by id desc limit $2",
                ).bind(source).bind(limit).fetch_all(&self.pool).await?;
                rows.into_iter().map($crate::discovery::run_from).collect()
            }

            async fn discovery_state(&self, source: &str) -> $crate::Result<Option<serde_json::Value>> {
                let state: Option<String> = sqlx::query_scalar(
                    "select state from discovery_runs where source = $1 and state is not null order by id desc limit 1",
                )
                .bind(source)
                .fetch_optional(&self.pool)
                .await?;
                state.map(|s| serde_json::from_str(&s).map_err(|e| $crate::StoreError::Corrupt { key: format!("state of {source}"), reason: e.to_string() })).transpose()
            }

            async fn try_lease(&self, name: &str, holder: &str, now: i64, expires_at: i64) -> $crate::Result<bool> {
                let done = sqlx::query(
                    "insert into leases (name, holder, expires_at) values ($1, $2, $3) \
                     on conflict (name) do update set holder = excluded.holder, expires_at = excluded.expires_at \
                     where leases.expires_at <= $4 or leases.holder = excluded.holder",
                )
                .bind(name)
                .bind(holder)
                .bind(expires_at)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}

pub(crate) use impl_discovery_store;
