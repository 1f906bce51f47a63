//! Storage of stars: the entities each person marked to find again. Same SQL for both backends,
//! expanded once per backend like `sql.rs`.

use crate::Result;

/// One starred entity.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Star {
    /// The entity's key (`component:default/cart`).
    pub entity_key: String,
    pub created_at: i64,
}

#[async_trait::async_trait]
pub trait StarStore: Send + Sync {
    /// Stars `entity_key` for `subject`; false when it already was.
    async fn star(&self, subject: &str, entity_key: &str, at: i64) -> Result<bool>;
    /// Removes the star; false when there was none.
    async fn unstar(&self, subject: &str, entity_key: &str) -> Result<bool>;
    /// The subject's stars, newest first.
    async fn stars(&self, subject: &str) -> Result<Vec<Star>>;
}

macro_rules! impl_star_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::stars::StarStore for $store {
            async fn star(&self, subject: &str, entity_key: &str, at: i64) -> $crate::Result<bool> {
                let done = sqlx::query("insert into stars (subject, entity_key, created_at) values ($1, $2, $3) on conflict (subject, entity_key) do nothing")
                    .bind(subject)
                    .bind(entity_key)
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn unstar(&self, subject: &str, entity_key: &str) -> $crate::Result<bool> {
                let done = sqlx::query("delete from stars where subject = $1 and entity_key = $2").bind(subject).bind(entity_key).execute(&self.pool).await?;
                Ok(done.rows_affected() > 0)
            }

            async fn stars(&self, subject: &str) -> $crate::Result<Vec<$crate::stars::Star>> {
                let rows: Vec<(String, i64)> = sqlx::query_as("select entity_key, created_at from stars where subject = $1 order by created_at desc, entity_key")
                    .bind(subject)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map(|(entity_key, created_at)| $crate::stars::Star { entity_key, created_at }).collect())
            }
        }
    };
}

pub(crate) use impl_star_store;
