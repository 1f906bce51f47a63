//! The statements both backends share. SQLite and PostgreSQL accept the same SQL here; only
//! placeholders differ, and `QueryBuilder` writes those for each dialect. The macro expands one
//! implementation of [`crate::Store`] per backend so the SQL is written once.

use std::sync::Arc;

use portico_model::{CatalogEntry, Entity};

use crate::{Result, StoreError};

/// Rows per multi-row INSERT; keeps parameters well under both dialects' limits.
pub(crate) const BATCH: usize = 400;
/// Relation rows have three columns: larger batches, same parameter budget.
pub(crate) const RELATION_BATCH: usize = 1600;

#[expect(clippy::too_many_arguments, reason = "one argument per column keeps both backends' row decoding identical")]
pub(crate) fn entry_from_row(
    key: String,
    uid: String,
    source: String,
    parent: Option<String>,
    orphan: i64,
    version: i64,
    hash: String,
    body: &str,
    created_at: i64,
    updated_at: i64,
) -> Result<CatalogEntry> {
    let entity: Entity =
        serde_json::from_str(body).map_err(|e| StoreError::Corrupt { key: key.clone(), reason: e.to_string() })?;
    Ok(CatalogEntry { entity: Arc::new(entity), key, uid, hash, source, parent, orphan: orphan != 0, version, created_at, updated_at })
}

pub(crate) fn body(entity: &Entity) -> String {
    serde_json::to_string(entity).unwrap_or_default()
}

macro_rules! impl_store {
    ($store:ty, $db:ty, $backend:literal) => {
        #[async_trait::async_trait]
        impl $crate::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn migrate(&self) -> $crate::Result<()> {
                self.migrator().run(&self.pool).await?;
                Ok(())
            }

            async fn load_entities(&self) -> $crate::Result<Vec<portico_model::CatalogEntry>> {
                let rows = sqlx::query(
                    "select key, uid, source, parent, orphan, version, hash, body, created_at, updated_at from entities",
                )
                .fetch(&self.pool);
                Self::entries(rows).await
            }

            async fn load_source(&self, source: &str) -> $crate::Result<Vec<portico_model::CatalogEntry>> {
                let rows = sqlx::query(
                    "select key, uid, source, parent, orphan, version, hash, body, created_at, updated_at from entities where source = $1",
                )
                .bind(source)
                .fetch(&self.pool);
                Self::entries(rows).await
            }

            async fn tombstones(&self) -> $crate::Result<Vec<(String, i64)>> {
                Ok(sqlx::query_as::<_, (String, i64)>(
                    "select v.key, max(v.version) from entity_versions v \
                     where not exists (select 1 from entities e where e.key = v.key) group by v.key",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn changes(
                &self,
            ) -> $crate::Result<Option<futures::stream::BoxStream<'static, $crate::Result<(String, String)>>>> {
                self.listen().await
            }

            async fn apply(&self, c: &$crate::ChangeSet) -> $crate::Result<$crate::ApplyStats> {
                use sqlx::QueryBuilder;
                use $crate::sql::{BATCH, RELATION_BATCH, body};
                let mut tx = self.pool.begin().await?;
                let mut rows: u64 = 0;

                // Updated and removed entities lose their old rows first.
                let mut stale: Vec<&str> = c.updated.iter().map(|w| w.entry.key.as_str()).collect();
                stale.extend(c.removed.iter().map(|g| g.key.as_str()));
                for chunk in stale.chunks(BATCH) {
                    let mut q = QueryBuilder::<$db>::new("delete from relations where source_key in (");
                    let mut sep = q.separated(", ");
                    for k in chunk {
                        sep.push_bind(*k);
                    }
                    q.push(")");
                    rows += q.build().execute(&mut *tx).await?.rows_affected();
                    let mut q = QueryBuilder::<$db>::new("delete from entities where key in (");
                    let mut sep = q.separated(", ");
                    for k in chunk {
                        sep.push_bind(*k);
                    }
                    q.push(")");
                    rows += q.build().execute(&mut *tx).await?.rows_affected();
                }

                let writes: Vec<(&$crate::EntityWrite, &str)> = c
                    .added
                    .iter()
                    .map(|w| (w, "added"))
                    .chain(c.updated.iter().map(|w| (w, "updated")))
                    .collect();
                let mut items: Vec<(&$crate::EntityWrite, &str, String)> =
                    writes.iter().map(|(w, change)| (*w, *change, body(&w.entry.entity))).collect();
                // Key order makes B-tree inserts appends rather than random page splits.
                items.sort_unstable_by(|a, b| a.0.entry.key.cmp(&b.0.entry.key));
                let t0 = std::time::Instant::now();
                for chunk in items.chunks(BATCH) {
                    let mut q = QueryBuilder::<$db>::new(
                        "insert into entities (key, uid, kind, namespace, name, source, parent, orphan, hash, version, body, created_at, updated_at) ",
                    );
                    q.push_values(chunk, |mut b, (w, _, body)| {
                        let e = &w.entry;
                        b.push_bind(e.key.as_str())
                            .push_bind(e.uid.as_str())
                            .push_bind(e.entity.kind.as_str())
                            .push_bind(e.entity.metadata.namespace.as_str())
                            .push_bind(e.entity.metadata.name.as_str())
                            .push_bind(e.source.as_str())
                            .push_bind(e.parent.as_deref())
                            .push_bind(i64::from(e.orphan))
                            .push_bind(e.hash.as_str())
                            .push_bind(w.entry.version)
                            .push_bind(body.as_str())
                            .push_bind(e.created_at)
                            .push_bind(e.updated_at);
                    });
                    rows += q.build().execute(&mut *tx).await?.rows_affected();

                    let mut q = QueryBuilder::<$db>::new(
                        "insert into entity_versions (key, version, uid, at, source, change, hash, body, actor) ",
                    );
                    q.push_values(chunk, |mut b, (w, change, body)| {
                        b.push_bind(w.entry.key.as_str())
                            .push_bind(w.entry.version)
                            .push_bind(w.entry.uid.as_str())
                            .push_bind(c.at)
                            .push_bind(c.source.as_str())
                            .push_bind(*change)
                            .push_bind(w.entry.hash.as_str())
                            .push_bind(body.as_str())
                            .push_bind(c.actor.as_deref());
                    });
                    rows += q.build().execute(&mut *tx).await?.rows_affected();
                }

                let t1 = std::time::Instant::now();
                let relations: Vec<&$crate::RelationRow> = items.iter().flat_map(|(w, _, _)| w.relations.iter()).collect();
                for chunk in relations.chunks(RELATION_BATCH) {
                    let mut q = QueryBuilder::<$db>::new("insert into relations (source_key, type, target_key) ");
                    q.push_values(chunk, |mut b, r| {
                        b.push_bind(r.source_key.as_str()).push_bind(r.relation.as_str()).push_bind(r.target_key.as_str());
                    });
                    rows += q.build().execute(&mut *tx).await?.rows_affected();
                }

                let t2 = std::time::Instant::now();
                let gone: Vec<(&$crate::EntityGone, &str)> = c
                    .removed
                    .iter()
                    .map(|g| (g, "removed"))
                    .chain(c.orphaned.iter().map(|g| (g, "orphaned")))
                    .collect();
                for chunk in gone.chunks(BATCH) {
                    let mut q = QueryBuilder::<$db>::new(
                        "insert into entity_versions (key, version, uid, at, source, change, hash, body, actor) ",
                    );
                    q.push_values(chunk, |mut b, (g, change)| {
                        b.push_bind(g.key.as_str())
                            .push_bind(g.version)
                            .push_bind(g.uid.as_str())
                            .push_bind(c.at)
                            .push_bind(c.source.as_str())
                            .push_bind(*change)
                            .push_bind(None::<String>)
                            .push_bind(None::<String>)
                            .push_bind(c.actor.as_deref());
                    });
                    rows += q.build().execute(&mut *tx).await?.rows_affected();
                }
                for g in &c.orphaned {
                    rows += sqlx::query("update entities set orphan = 1, version = $1, updated_at = $2 where key = $3")
                        .bind(g.version)
                        .bind(c.at)
                        .bind(g.key.as_str())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }

                if let Some(errors) = &c.errors {
                    rows += sqlx::query("delete from entity_errors where source = $1")
                        .bind(c.source.as_str())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    for chunk in errors.chunks(BATCH) {
                        let mut q =
                            QueryBuilder::<$db>::new("insert into entity_errors (source, location, key, message, at) ");
                        q.push_values(chunk, |mut b, e| {
                            b.push_bind(e.source.as_str())
                                .push_bind(e.location.as_str())
                                .push_bind(e.key.as_deref())
                                .push_bind(e.message.as_str())
                                .push_bind(e.at);
                        });
                        rows += q.build().execute(&mut *tx).await?.rows_affected();
                    }
                }
                if let Some(run) = &c.run {
                    rows += Self::upsert_source(&mut *tx, run).await?;
                }
                // A location registered by this change: stored with its entities or not at all.
                if let Some(l) = &c.location {
                    rows += sqlx::query(
                        "insert into locations (id, type, target, created_at) select $1, $2, $3, $4 \
                         where not exists (select 1 from locations where type = $2 and target = $3)",
                    )
                    .bind(l.id.as_str())
                    .bind(l.kind.as_str())
                    .bind(l.target.as_str())
                    .bind(l.created_at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                self.announce(&mut *tx, &c.replica, &c.source).await?;
                let t3 = std::time::Instant::now();
                tx.commit().await?;
                tracing::debug!(backend = $backend, entities_ms = (t1 - t0).as_millis(), relations_ms = (t2 - t1).as_millis(), rest_ms = (t3 - t2).as_millis(), commit_ms = t3.elapsed().as_millis(), rows, "change set written");
                Ok($crate::ApplyStats { rows_written: rows })
            }

            async fn history(&self, key: &str) -> $crate::Result<Vec<$crate::VersionRecord>> {
                let rows = sqlx::query(
                    "select key, version, uid, at, source, change, hash, body, actor from entity_versions where key = $1 order by version",
                )
                .bind(key)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::version_from_row).collect()
            }

            async fn entity_at(&self, key: &str, at: i64) -> $crate::Result<Option<$crate::VersionRecord>> {
                let latest = sqlx::query(
                    "select key, version, uid, at, source, change, hash, body, actor from entity_versions \
                     where key = $1 and at <= $2 order by version desc limit 1",
                )
                .bind(key)
                .bind(at)
                .fetch_optional(&self.pool)
                .await?;
                let Some(latest) = latest.as_ref().map(Self::version_from_row).transpose()? else { return Ok(None) };
                if latest.change == "removed" {
                    return Ok(None);
                }
                if latest.body.is_some() {
                    return Ok(Some(latest));
                }
                // Orphaned: the descriptor is the one it had before.
                let described = sqlx::query(
                    "select key, version, uid, at, source, change, hash, body, actor from entity_versions \
                     where key = $1 and at <= $2 and body is not null order by version desc limit 1",
                )
                .bind(key)
                .bind(at)
                .fetch_optional(&self.pool)
                .await?;
                let described = described.as_ref().map(Self::version_from_row).transpose()?;
                Ok(Some($crate::VersionRecord { body: described.and_then(|d| d.body), ..latest }))
            }

            async fn entities_at(&self, at: i64) -> $crate::Result<Vec<portico_model::CatalogEntry>> {
                use sqlx::Row;
                // The latest version of each key by then, in one pass (window functions, which
                // both backends plan well), without the removed ones.
                let rows = sqlx::query(
                    "select key, uid, source, change, version, hash, body, created_at, at from ( \
                       select key, uid, source, change, version, hash, body, at, \
                         min(at) over (partition by key) as created_at, \
                         row_number() over (partition by key order by version desc) as rn \
                       from entity_versions where at <= $1) v \
                     where rn = 1 and change <> 'removed'",
                )
                .bind(at)
                .fetch_all(&self.pool)
                .await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    let key: String = r.try_get(0)?;
                    let version: i64 = r.try_get(4)?;
                    let body: Option<String> = match r.try_get(6)? {
                        Some(b) => Some(b),
                        // Orphaned: the descriptor it had before.
                        None => sqlx::query_scalar(
                            "select body from entity_versions where key = $1 and version < $2 and body is not null \
                             order by version desc limit 1",
                        )
                        .bind(&key)
                        .bind(version)
                        .fetch_optional(&self.pool)
                        .await?,
                    };
                    let Some(body) = body else { continue };
                    let change: String = r.try_get(3)?;
                    out.push($crate::sql::entry_from_row(
                        key,
                        r.try_get(1)?,
                        r.try_get(2)?,
                        None,
                        i64::from(change == "orphaned"),
                        version,
                        r.try_get::<Option<String>, _>(5)?.unwrap_or_default(),
                        &body,
                        r.try_get(7)?,
                        r.try_get(8)?,
                    )?);
                }
                Ok(out)
            }

            async fn history_marker(&self, at: i64) -> $crate::Result<$crate::HistoryMarker> {
                let (versions, last_at) = sqlx::query_as::<_, (i64, i64)>(
                    "select count(*), coalesce(max(at), 0) from entity_versions where at <= $1",
                )
                .bind(at)
                .fetch_one(&self.pool)
                .await?;
                Ok($crate::HistoryMarker { versions, last_at })
            }

            async fn history_start(&self) -> $crate::Result<Option<i64>> {
                Ok(sqlx::query_as::<_, (Option<i64>,)>("select min(at) from entity_versions").fetch_one(&self.pool).await?.0)
            }

            async fn version_summaries(&self) -> $crate::Result<Vec<$crate::VersionSummary>> {
                let rows = sqlx::query_as::<_, (String, i64, String, Option<String>, Option<String>)>(Self::VERSION_SUMMARIES)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|(key, at, change, owner, lifecycle)| $crate::VersionSummary { key, at, change, owner, lifecycle })
                    .collect())
            }

            async fn list_saved_queries(&self) -> $crate::Result<Vec<$crate::SavedQuery>> {
                let rows = sqlx::query(
                    "select name, title, description, owner, query, created_at, updated_at from saved_queries order by name",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::saved_query_from_row).collect()
            }

            async fn get_saved_query(&self, name: &str) -> $crate::Result<Option<$crate::SavedQuery>> {
                let row = sqlx::query(
                    "select name, title, description, owner, query, created_at, updated_at from saved_queries where name = $1",
                )
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(Self::saved_query_from_row).transpose()
            }

            async fn put_saved_query(&self, q: &$crate::SavedQuery) -> $crate::Result<bool> {
                let mut tx = self.pool.begin().await?;
                let existed = sqlx::query("select 1 from saved_queries where name = $1")
                    .bind(&q.name)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
                sqlx::query(
                    "insert into saved_queries (name, title, description, owner, query, created_at, updated_at) \
                     values ($1, $2, $3, $4, $5, $6, $7) \
                     on conflict (name) do update set title = excluded.title, description = excluded.description, \
                       owner = excluded.owner, query = excluded.query, updated_at = excluded.updated_at",
                )
                .bind(&q.name)
                .bind(&q.title)
                .bind(&q.description)
                .bind(&q.owner)
                .bind(q.query.to_string())
                .bind(q.created_at)
                .bind(q.updated_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(!existed)
            }

            async fn delete_saved_query(&self, name: &str) -> $crate::Result<bool> {
                let done = sqlx::query("delete from saved_queries where name = $1").bind(name).execute(&self.pool).await?;
                Ok(done.rows_affected() > 0)
            }

            async fn changes_between(&self, from: i64, to: i64) -> $crate::Result<Vec<$crate::VersionRecord>> {
                let rows = sqlx::query(
                    "select v.key, v.version, v.uid, v.at, v.source, v.change, v.hash, v.body, v.actor from entity_versions v \
                     join (select key, max(version) as version from entity_versions where at > $1 and at <= $2 group by key) m \
                     on v.key = m.key and v.version = m.version order by v.key",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::version_from_row).collect()
            }

            async fn errors(&self, key: Option<&str>) -> $crate::Result<Vec<$crate::ErrorRecord>> {
                let rows = match key {
                    Some(k) => sqlx::query(
                        "select source, location, key, message, at from entity_errors where key = $1 order by location",
                    )
                    .bind(k)
                    .fetch_all(&self.pool)
                    .await?,
                    None => sqlx::query(
                        "select source, location, key, message, at from entity_errors order by source, location",
                    )
                    .fetch_all(&self.pool)
                    .await?,
                };
                rows.iter().map(Self::error_from_row).collect()
            }

            async fn source_errors(&self, source: &str) -> $crate::Result<Vec<$crate::ErrorRecord>> {
                let rows = sqlx::query("select source, location, key, message, at from entity_errors where source = $1")
                    .bind(source)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::error_from_row).collect()
            }

            async fn list_locations(&self) -> $crate::Result<Vec<$crate::LocationRecord>> {
                use sqlx::Row;
                let rows = sqlx::query("select id, type, target, created_at from locations order by created_at, id")
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter()
                    .map(|r| {
                        Ok($crate::LocationRecord {
                            id: r.try_get(0)?,
                            kind: r.try_get(1)?,
                            target: r.try_get(2)?,
                            created_at: r.try_get(3)?,
                        })
                    })
                    .collect()
            }

            async fn get_location(&self, id: &str) -> $crate::Result<Option<$crate::LocationRecord>> {
                use sqlx::Row;
                let row = sqlx::query("select id, type, target, created_at from locations where id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| {
                    Ok($crate::LocationRecord {
                        id: r.try_get(0)?,
                        kind: r.try_get(1)?,
                        target: r.try_get(2)?,
                        created_at: r.try_get(3)?,
                    })
                })
                .transpose()
            }

            async fn add_location(
                &self,
                l: &$crate::LocationRecord,
            ) -> $crate::Result<($crate::LocationRecord, bool)> {
                if let Some(existing) =
                    self.list_locations().await?.into_iter().find(|x| x.kind == l.kind && x.target == l.target)
                {
                    return Ok((existing, true));
                }
                sqlx::query("insert into locations (id, type, target, created_at) values ($1, $2, $3, $4)")
                    .bind(l.id.as_str())
                    .bind(l.kind.as_str())
                    .bind(l.target.as_str())
                    .bind(l.created_at)
                    .execute(&self.pool)
                    .await?;
                Ok((l.clone(), false))
            }

            async fn delete_location(&self, id: &str) -> $crate::Result<()> {
                let n = sqlx::query("delete from locations where id = $1").bind(id).execute(&self.pool).await?;
                if n.rows_affected() == 0 {
                    return Err($crate::StoreError::LocationNotFound(id.to_owned()));
                }
                Ok(())
            }

            async fn sources(&self) -> $crate::Result<Vec<$crate::SourceRecord>> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "select name, last_run_at, last_status, last_error, entity_count from sources order by name",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|r| {
                        Ok($crate::SourceRecord {
                            name: r.try_get(0)?,
                            last_run_at: r.try_get(1)?,
                            last_status: r.try_get(2)?,
                            last_error: r.try_get(3)?,
                            entity_count: r.try_get(4)?,
                        })
                    })
                    .collect()
            }

            async fn record_source_run(&self, run: &$crate::SourceRecord) -> $crate::Result<()> {
                let mut conn = self.pool.acquire().await?;
                Self::upsert_source(&mut *conn, run).await?;
                Ok(())
            }
        }

        impl $store {
            async fn entries(
                mut rows: futures::stream::BoxStream<'_, Result<<$db as sqlx::Database>::Row, sqlx::Error>>,
            ) -> $crate::Result<Vec<portico_model::CatalogEntry>> {
                use futures::TryStreamExt;
                use sqlx::Row;
                let mut out = Vec::new();
                while let Some(row) = rows.try_next().await? {
                    let body: String = row.try_get(7)?;
                    out.push($crate::sql::entry_from_row(
                        row.try_get(0)?,
                        row.try_get(1)?,
                        row.try_get(2)?,
                        row.try_get(3)?,
                        row.try_get::<i64, _>(4)?,
                        row.try_get(5)?,
                        row.try_get(6)?,
                        &body,
                        row.try_get(8)?,
                        row.try_get(9)?,
                    )?);
                }
                Ok(out)
            }

            fn saved_query_from_row(r: &<$db as sqlx::Database>::Row) -> $crate::Result<$crate::SavedQuery> {
                use sqlx::Row;
                let name: String = r.try_get(0)?;
                let query: String = r.try_get(4)?;
                let query = serde_json::from_str(&query)
                    .map_err(|e| $crate::StoreError::Corrupt { key: format!("saved query {name}"), reason: e.to_string() })?;
                Ok($crate::SavedQuery {
                    name,
                    title: r.try_get(1)?,
                    description: r.try_get(2)?,
                    owner: r.try_get(3)?,
                    query,
                    created_at: r.try_get(5)?,
                    updated_at: r.try_get(6)?,
                })
            }

            fn version_from_row(r: &<$db as sqlx::Database>::Row) -> $crate::Result<$crate::VersionRecord> {
                use sqlx::Row;
                let body: Option<String> = r.try_get(7)?;
                Ok($crate::VersionRecord {
                    key: r.try_get(0)?,
                    version: r.try_get(1)?,
                    uid: r.try_get(2)?,
                    at: r.try_get(3)?,
                    source: r.try_get(4)?,
                    change: r.try_get(5)?,
                    hash: r.try_get(6)?,
                    body: body.and_then(|b| serde_json::from_str(&b).ok()),
                    actor: r.try_get(8)?,
                })
            }

            fn error_from_row(r: &<$db as sqlx::Database>::Row) -> $crate::Result<$crate::ErrorRecord> {
                use sqlx::Row;
                Ok($crate::ErrorRecord {
                    source: r.try_get(0)?,
                    location: r.try_get(1)?,
                    key: r.try_get(2)?,
                    message: r.try_get(3)?,
                    at: r.try_get(4)?,
                })
            }

            async fn upsert_source(
                conn: &mut <$db as sqlx::Database>::Connection,
                run: &$crate::SourceRecord,
            ) -> $crate::Result<u64> {
                Ok(sqlx::query(
                    "insert into sources (name, last_run_at, last_status, last_error, entity_count) values ($1, $2, $3, $4, $5) \
                     on conflict (name) do update set last_run_at = excluded.last_run_at, last_status = excluded.last_status, \
                     last_error = excluded.last_error, entity_count = excluded.entity_count",
                )
                .bind(run.name.as_str())
                .bind(run.last_run_at)
                .bind(run.last_status.as_deref())
                .bind(run.last_error.as_deref())
                .bind(run.entity_count)
                .execute(&mut *conn)
                .await?
                .rows_affected())
            }
        }
    };
}

pub(crate) use impl_store;
