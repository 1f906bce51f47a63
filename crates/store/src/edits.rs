//! Storage of entity edits: one JSON merge patch per entity, applied by ingest on top of what the
//! entity's source emits (see `portico_catalog`), so edits made through the catalog's write path
//! (a day-2 action extending a TTL) survive the next read of their source, on every replica.

use crate::Result;

/// One entity's edit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityEdit {
    pub entity_key: String,
    /// An RFC 7396 merge patch (JSON text).
    pub patch: String,
    pub actor: String,
    pub at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[async_trait::async_trait]
pub trait EditStore: Send + Sync {
    /// Every entity's edit.
    async fn entity_edits(&self) -> Result<Vec<EntityEdit>>;
    /// Sets an entity's edit (replacing the one it had), or removes it (`None`).
    async fn set_entity_edit(&self, key: &str, edit: Option<&EntityEdit>) -> Result<()>;
}

macro_rules! impl_edit_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::edits::EditStore for $store {
            async fn entity_edits(&self) -> $crate::Result<Vec<$crate::edits::EntityEdit>> {
                let rows: Vec<(String, String, String, i64, Option<String>)> =
                    sqlx::query_as("select entity_key, patch, actor, at, reason from entity_edits order by entity_key").fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map(|(entity_key, patch, actor, at, reason)| $crate::edits::EntityEdit { entity_key, patch, actor, at, reason }).collect())
            }

            async fn set_entity_edit(&self, key: &str, edit: Option<&$crate::edits::EntityEdit>) -> $crate::Result<()> {
                match edit {
                    None => {
                        sqlx::query("delete from entity_edits where entity_key = $1").bind(key).execute(&self.pool).await?;
                    }
                    Some(e) => {
                        sqlx::query(
                            "insert into entity_edits (entity_key, patch, actor, at, reason) values ($1, $2, $3, $4, $5) \
                             on conflict (entity_key) do update set patch = excluded.patch, actor = excluded.actor, at = excluded.at, reason = excluded.reason",
                        )
                        .bind(key)
                        .bind(&e.patch)
                        .bind(&e.actor)
                        .bind(e.at)
                        .bind(&e.reason)
                        .execute(&self.pool)
                        .await?;
                    }
                }
                Ok(())
            }
        }
    };
}

pub(crate) use impl_edit_store;

#[cfg(test)]
mod tests {
    use crate::testing::TestDb;
    use crate::*;

    #[tokio::test]
    async fn an_edit_is_set_replaced_and_removed() {
        for db in TestDb::all().await {
            let s = &db.store;
            let b = db.backend();
            let edit = |patch: &str, at| EntityEdit { entity_key: "resource:default/env-1".into(), patch: patch.into(), actor: "user:default/ana".into(), at, reason: Some("run r1".into()) };
            s.set_entity_edit("resource:default/env-1", Some(&edit(r#"{"spec":{"expires":"2026-12-10"}}"#, 1))).await.unwrap();
            s.set_entity_edit("resource:default/env-1", Some(&edit(r#"{"spec":{"expires":"2026-12-17"}}"#, 2))).await.unwrap();
            assert_eq!(s.entity_edits().await.unwrap(), [edit(r#"{"spec":{"expires":"2026-12-17"}}"#, 2)], "{b}");
            s.set_entity_edit("resource:default/env-1", None).await.unwrap();
            assert!(s.entity_edits().await.unwrap().is_empty(), "{b}");
        }
    }
}
