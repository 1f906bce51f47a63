//! Storage of scorecard level history: level changes appended as they happen, read back as
//! changes or as every entity's level at a time; and initiatives' progress as it changed. Same SQL for both backends, expanded once per
//! backend like `sql.rs`.

use crate::Result;

/// One entity's level on one scorecard from `at` on.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LevelRow {
    pub scorecard: String,
    pub entity_key: String,
    pub at: i64,
    /// Levels reached from the lowest (0: none), or -1: no longer scored by the scorecard.
    pub level: i32,
    pub level_name: Option<String>,
    pub score: f32,
}

/// An initiative's progress for one owner (`""`: the whole initiative) from `at` on.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressRow {
    pub initiative: String,
    pub owner: String,
    pub at: i64,
    /// Entities in scope that meet the target.
    pub done: i32,
    /// Entities in scope.
    pub total: i32,
}

#[async_trait::async_trait]
pub trait LevelStore: Send + Sync {
    /// Appends level changes.
    async fn append_levels(&self, rows: &[LevelRow]) -> Result<()>;
    /// Changes on a scorecard, newest first: of one entity or all, in `[since, until)`, at most
    /// `limit`.
    async fn level_changes(&self, scorecard: &str, entity: Option<&str>, since: Option<i64>, until: Option<i64>, limit: u32) -> Result<Vec<LevelRow>>;
    /// Every entity's latest row at or before `at` (those no longer scored included, level -1).
    async fn levels_at(&self, scorecard: &str, at: i64) -> Result<Vec<LevelRow>>;
    /// Appends initiative progress changes.
    async fn append_progress(&self, rows: &[ProgressRow]) -> Result<()>;
    /// An initiative's progress rows, oldest first: those in `[since, until)`, and before them
    /// each owner's latest row before `since` (what held when the window opened).
    async fn progress(&self, initiative: &str, since: i64, until: i64) -> Result<Vec<ProgressRow>>;
}

pub(crate) type ProgressTuple = (String, String, i64, i32, i32);

pub(crate) fn progress_from((initiative, owner, at, done, total): ProgressTuple) -> ProgressRow {
    ProgressRow { initiative, owner, at, done, total }
}

pub(crate) type LevelTuple = (String, String, i64, i32, Option<String>, f32);

pub(crate) fn level_from((scorecard, entity_key, at, level, level_name, score): LevelTuple) -> LevelRow {
    LevelRow { scorecard, entity_key, at, level, level_name, score }
}

macro_rules! impl_level_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::levels::LevelStore for $store {
            async fn append_levels(&self, rows: &[$crate::levels::LevelRow]) -> $crate::Result<()> {
                let mut tx = self.pool.begin().await?;
                for chunk in rows.chunks($crate::sql::BATCH) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("insert into scorecard_levels (scorecard, entity_key, at, level, level_name, score) ");
                    q.push_values(chunk, |mut b, r| {
                        b.push_bind(&r.scorecard).push_bind(&r.entity_key).push_bind(r.at).push_bind(r.level).push_bind(&r.level_name).push_bind(r.score);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn level_changes(&self, scorecard: &str, entity: Option<&str>, since: Option<i64>, until: Option<i64>, limit: u32) -> $crate::Result<Vec<$crate::levels::LevelRow>> {
                let rows: Vec<$crate::levels::LevelTuple> = sqlx::query_as(
                    "select scorecard, entity_key, at, level, level_name, score from scorecard_levels \
                     where scorecard = $1 and ($2 is null or entity_key = $2) and ($3 is null or at >= $3) and ($4 is null or at < $4) \
                     order by at desc, entity_key limit $5",
                )
                .bind(scorecard)
                .bind(entity)
                .bind(since)
                .bind(until)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map($crate::levels::level_from).collect())
            }

            async fn levels_at(&self, scorecard: &str, at: i64) -> $crate::Result<Vec<$crate::levels::LevelRow>> {
                let rows: Vec<$crate::levels::LevelTuple> = sqlx::query_as(
                    "select l.scorecard, l.entity_key, l.at, l.level, l.level_name, l.score from scorecard_levels l \
                     where l.scorecard = $1 and l.at <= $2 and l.at = (select max(m.at) from scorecard_levels m \
                       where m.scorecard = l.scorecard and m.entity_key = l.entity_key and m.at <= $2) \
                     order by l.entity_key",
                )
                .bind(scorecard)
                .bind(at)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map($crate::levels::level_from).collect())
            }

            async fn append_progress(&self, rows: &[$crate::levels::ProgressRow]) -> $crate::Result<()> {
                let mut tx = self.pool.begin().await?;
                for chunk in rows.chunks($crate::sql::BATCH) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("insert into initiative_progress (initiative, owner, at, done, total) ");
                    q.push_values(chunk, |mut b, r| {
                        b.push_bind(&r.initiative).push_bind(&r.owner).push_bind(r.at).push_bind(r.done).push_bind(r.total);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn progress(&self, initiative: &str, since: i64, until: i64) -> $crate::Result<Vec<$crate::levels::ProgressRow>> {
                let rows: Vec<$crate::levels::ProgressTuple> = sqlx::query_as(
                    "select p.initiative, p.owner, p.at, p.done, p.total from initiative_progress p \
                     where p.initiative = $1 and p.at < $3 and (p.at >= $2 or p.at = (select max(m.at) from initiative_progress m \
                       where m.initiative = p.initiative and m.owner = p.owner and m.at < $2)) \
                     order by p.at, p.owner",
                )
                .bind(initiative)
                .bind(since)
                .bind(until)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map($crate::levels::progress_from).collect())
            }
        }
    };
}

pub(crate) use impl_level_store;
