//! Storage of identity: API tokens (kept as a hash of their secret, never the secret). Same SQL
//! for both backends, expanded once per backend like `sql.rs`.

use crate::Result;

/// An API token as stored: everything but the secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    /// The User entity reference of a personal token; `service:<name>` for a service token.
    pub owner: String,
    /// `personal` or `service`.
    pub kind: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    /// Who created it (an entity reference, `bootstrap`, or `guest`).
    pub created_by: String,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[async_trait::async_trait]
pub trait AuthStore: Send + Sync {
    /// Stores a new token with the hash of its secret.
    async fn create_token(&self, token: &ApiToken, secret_hash: &str) -> Result<()>;
    /// The token whose secret hashes to `secret_hash`, revoked and expired ones included (the
    /// caller tells them apart, to say why a token is refused).
    async fn token_by_hash(&self, secret_hash: &str) -> Result<Option<ApiToken>>;
    async fn get_token(&self, id: &str) -> Result<Option<ApiToken>>;
    /// Tokens, newest first: every one, or those of one owner.
    async fn list_tokens(&self, owner: Option<&str>) -> Result<Vec<ApiToken>>;
    /// Records a use at `at`; writes only when the last recorded use is older than a minute, so
    /// a busy CI token does not write on every request.
    async fn touch_token(&self, id: &str, at: i64) -> Result<()>;
    /// Revokes a token at `at`; false when there is no such token or it was already revoked.
    async fn revoke_token(&self, id: &str, at: i64) -> Result<bool>;
}

pub(crate) type TokenRow = (String, String, String, String, String, i64, String, Option<i64>, Option<i64>, Option<i64>);

/// The columns of [`TokenRow`], as a literal (statements must be static strings).
macro_rules! token_columns {
    () => {
        "id, name, owner, kind, scopes, created_at, created_by, expires_at, last_used_at, revoked_at"
    };
}
pub(crate) use token_columns;

pub(crate) fn token_from((id, name, owner, kind, scopes, created_at, created_by, expires_at, last_used_at, revoked_at): TokenRow) -> ApiToken {
    let scopes = scopes.split_whitespace().map(str::to_owned).collect();
    ApiToken { id, name, owner, kind, scopes, created_at, created_by, expires_at, last_used_at, revoked_at }
}

/// A minute, in ms: how stale `last_used_at` may be.
pub const TOUCH_EVERY_MS: i64 = 60_000;

macro_rules! impl_auth_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::auth::AuthStore for $store {
            async fn create_token(&self, t: &$crate::auth::ApiToken, secret_hash: &str) -> $crate::Result<()> {
                sqlx::query(
                    "insert into api_tokens (id, name, owner, kind, scopes, secret_hash, created_at, created_by, expires_at, last_used_at, revoked_at) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(&t.id)
                .bind(&t.name)
                .bind(&t.owner)
                .bind(&t.kind)
                .bind(t.scopes.join(" "))
                .bind(secret_hash)
                .bind(t.created_at)
                .bind(&t.created_by)
                .bind(t.expires_at)
                .bind(t.last_used_at)
                .bind(t.revoked_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn token_by_hash(&self, secret_hash: &str) -> $crate::Result<Option<$crate::auth::ApiToken>> {
                let sql = concat!("select ", $crate::auth::token_columns!(), " from api_tokens where secret_hash = $1");
                let row: Option<$crate::auth::TokenRow> = sqlx::query_as(sql).bind(secret_hash).fetch_optional(&self.pool).await?;
                Ok(row.map($crate::auth::token_from))
            }

            async fn get_token(&self, id: &str) -> $crate::Result<Option<$crate::auth::ApiToken>> {
                let sql = concat!("select ", $crate::auth::token_columns!(), " from api_tokens where id = $1");
                let row: Option<$crate::auth::TokenRow> = sqlx::query_as(sql).bind(id).fetch_optional(&self.pool).await?;
                Ok(row.map($crate::auth::token_from))
            }

            async fn list_tokens(&self, owner: Option<&str>) -> $crate::Result<Vec<$crate::auth::ApiToken>> {
                let rows: Vec<$crate::auth::TokenRow> = match owner {
                    Some(owner) => {
                        let sql = concat!("select ", $crate::auth::token_columns!(), " from api_tokens where owner = $1 order by created_at desc, id");
                        sqlx::query_as(sql).bind(owner).fetch_all(&self.pool).await?
                    }
                    None => {
                        let sql = concat!("select ", $crate::auth::token_columns!(), " from api_tokens order by created_at desc, id");
                        sqlx::query_as(sql).fetch_all(&self.pool).await?
                    }
                };
                Ok(rows.into_iter().map($crate::auth::token_from).collect())
            }

            async fn touch_token(&self, id: &str, at: i64) -> $crate::Result<()> {
                sqlx::query("update api_tokens set last_used_at = $1 where id = $2 and (last_used_at is null or last_used_at < $3)")
                    .bind(at)
                    .bind(id)
                    .bind(at - $crate::auth::TOUCH_EVERY_MS)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn revoke_token(&self, id: &str, at: i64) -> $crate::Result<bool> {
                let done = sqlx::query("update api_tokens set revoked_at = $1 where id = $2 and revoked_at is null")
                    .bind(at)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}

pub(crate) use impl_auth_store;
