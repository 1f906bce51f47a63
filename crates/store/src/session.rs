//! Storage of sign-in: server-side sessions (kept by the hash of the cookie's secret, so replicas
//! share them and a revocation reaches every one) and the sign-ins under way between the
//! redirect to the provider and its callback. Same SQL for both backends, expanded once per
//! backend like `sql.rs`.

use crate::Result;

/// A session as stored: everything but the cookie's secret.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The public handle: listed, and revoked by (never the cookie's value).
    pub id: String,
    /// The User entity reference the sign-in mapped to.
    pub subject: String,
    /// The ID token's claims, as JSON text.
    #[serde(skip)]
    pub claims: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The absolute expiry.
    pub expires_at: i64,
    #[serde(skip)]
    pub refresh_token: Option<String>,
    #[serde(skip)]
    pub id_token: Option<String>,
    /// When the provider is next asked whether the user is still signed in (a refresh).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_at: Option<i64>,
    pub address: Option<String>,
    pub user_agent: Option<String>,
    pub revoked_at: Option<i64>,
}

impl std::fmt::Debug for Session {
    /// Everything but the provider's tokens.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("subject", &self.subject)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "[redacted]"))
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field("refresh_at", &self.refresh_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// A sign-in under way, keyed by its `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInAttempt {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// The page to go back to once signed in (a path of this server).
    pub return_to: String,
    pub created_at: i64,
}

/// Tokens a refresh brought: they replace the session's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshedSession {
    pub claims: String,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub refresh_at: Option<i64>,
}

#[async_trait::async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session with the hash of its secret.
    async fn create_session(&self, session: &Session, secret_hash: &str) -> Result<()>;
    /// The session whose secret hashes to `secret_hash`, revoked and expired ones included (the
    /// caller tells them apart).
    async fn session_by_hash(&self, secret_hash: &str) -> Result<Option<Session>>;
    async fn get_session(&self, id: &str) -> Result<Option<Session>>;
    /// Sessions still open at `now`: not revoked, not past their absolute end, and used after
    /// `idle_since`; newest first: every one, or those of one subject.
    async fn list_sessions(&self, subject: Option<&str>, now: i64, idle_since: i64) -> Result<Vec<Session>>;
    /// Records activity at `at` (the idle end counts from it); writes only when the last
    /// recorded activity is older than `stale_before`, so a busy session does not write on every
    /// request.
    async fn touch_session(&self, id: &str, at: i64, stale_before: i64) -> Result<()>;
    /// Claims the refresh due at `due` for this replica until `until`: true for the one caller
    /// that moved `refresh_at` from `due` (the others go on with the session as it is).
    async fn claim_refresh(&self, id: &str, due: i64, until: i64) -> Result<bool>;
    /// Replaces the provider's tokens after a refresh.
    async fn refresh_session(&self, id: &str, refreshed: &RefreshedSession) -> Result<()>;
    /// Revokes a session at `at`; false when there is none or it was already revoked.
    async fn revoke_session(&self, id: &str, at: i64) -> Result<bool>;
    /// Removes sessions that ended (revoked or expired) before `before`; returns how many.
    async fn prune_sessions(&self, before: i64) -> Result<u64>;
    /// Records a sign-in under way, removing those older than `stale_before`.
    async fn put_sign_in(&self, attempt: &SignInAttempt, stale_before: i64) -> Result<()>;
    /// Takes (reads and removes) the sign-in of `state`: a callback can finish it once.
    async fn take_sign_in(&self, state: &str) -> Result<Option<SignInAttempt>>;
}

pub(crate) type SessionRow = (String, String, String, i64, i64, i64, Option<String>, Option<String>, Option<i64>, Option<String>, Option<String>, Option<i64>);

/// The columns of [`SessionRow`], as a literal (statements must be static strings).
macro_rules! session_columns {
    () => {
        "id, subject, claims, created_at, last_seen_at, expires_at, refresh_token, id_token, refresh_at, address, user_agent, revoked_at"
    };
}
pub(crate) use session_columns;

pub(crate) fn session_from(row: SessionRow) -> Session {
    let (id, subject, claims, created_at, last_seen_at, expires_at, refresh_token, id_token, refresh_at, address, user_agent, revoked_at) = row;
    Session { id, subject, claims, created_at, last_seen_at, expires_at, refresh_token, id_token, refresh_at, address, user_agent, revoked_at }
}

macro_rules! impl_session_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::session::SessionStore for $store {
            async fn create_session(&self, s: &$crate::session::Session, secret_hash: &str) -> $crate::Result<()> {
                sqlx::query(
                    "insert into sessions (id, secret_hash, subject, claims, created_at, last_seen_at, expires_at, refresh_token, id_token, refresh_at, address, user_agent, revoked_at) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(&s.id)
                .bind(secret_hash)
                .bind(&s.subject)
                .bind(&s.claims)
                .bind(s.created_at)
                .bind(s.last_seen_at)
                .bind(s.expires_at)
                .bind(&s.refresh_token)
                .bind(&s.id_token)
                .bind(s.refresh_at)
                .bind(&s.address)
                .bind(&s.user_agent)
                .bind(s.revoked_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn session_by_hash(&self, secret_hash: &str) -> $crate::Result<Option<$crate::session::Session>> {
                let sql = concat!("select ", $crate::session::session_columns!(), " from sessions where secret_hash = $1");
                let row: Option<$crate::session::SessionRow> = sqlx::query_as(sql).bind(secret_hash).fetch_optional(&self.pool).await?;
                Ok(row.map($crate::session::session_from))
            }

            async fn get_session(&self, id: &str) -> $crate::Result<Option<$crate::session::Session>> {
                let sql = concat!("select ", $crate::session::session_columns!(), " from sessions where id = $1");
                let row: Option<$crate::session::SessionRow> = sqlx::query_as(sql).bind(id).fetch_optional(&self.pool).await?;
                Ok(row.map($crate::session::session_from))
            }

            async fn list_sessions(&self, subject: Option<&str>, now: i64, idle_since: i64) -> $crate::Result<Vec<$crate::session::Session>> {
                let sql = concat!(
                    "select ",
                    $crate::session::session_columns!(),
                    " from sessions where revoked_at is null and expires_at > $1 and last_seen_at > $3 and ($2 is null or subject = $2) order by created_at desc, id"
                );
                let rows: Vec<$crate::session::SessionRow> = sqlx::query_as(sql).bind(now).bind(subject).bind(idle_since).fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map($crate::session::session_from).collect())
            }

            async fn touch_session(&self, id: &str, at: i64, stale_before: i64) -> $crate::Result<()> {
                sqlx::query("update sessions set last_seen_at = $1 where id = $2 and last_seen_at < $3")
                    .bind(at)
                    .bind(id)
                    .bind(stale_before)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn claim_refresh(&self, id: &str, due: i64, until: i64) -> $crate::Result<bool> {
                let done = sqlx::query("update sessions set refresh_at = $1 where id = $2 and refresh_at = $3 and revoked_at is null")
                    .bind(until)
                    .bind(id)
                    .bind(due)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn refresh_session(&self, id: &str, r: &$crate::session::RefreshedSession) -> $crate::Result<()> {
                // A session ended meanwhile (a sign-out during the refresh) keeps no new token.
                sqlx::query("update sessions set claims = $1, refresh_token = $2, id_token = $3, refresh_at = $4 where id = $5 and revoked_at is null")
                    .bind(&r.claims)
                    .bind(&r.refresh_token)
                    .bind(&r.id_token)
                    .bind(r.refresh_at)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn revoke_session(&self, id: &str, at: i64) -> $crate::Result<bool> {
                let done = sqlx::query("update sessions set revoked_at = $1, refresh_token = null where id = $2 and revoked_at is null")
                    .bind(at)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn prune_sessions(&self, before: i64) -> $crate::Result<u64> {
                let done = sqlx::query("delete from sessions where expires_at < $1 or revoked_at < $1").bind(before).execute(&self.pool).await?;
                Ok(done.rows_affected())
            }

            async fn put_sign_in(&self, a: &$crate::session::SignInAttempt, stale_before: i64) -> $crate::Result<()> {
                sqlx::query("delete from sign_in_attempts where created_at < $1").bind(stale_before).execute(&self.pool).await?;
                sqlx::query("insert into sign_in_attempts (state, nonce, pkce_verifier, return_to, created_at) values ($1, $2, $3, $4, $5)")
                    .bind(&a.state)
                    .bind(&a.nonce)
                    .bind(&a.pkce_verifier)
                    .bind(&a.return_to)
                    .bind(a.created_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn take_sign_in(&self, state: &str) -> $crate::Result<Option<$crate::session::SignInAttempt>> {
                let row: Option<(String, String, String, String, i64)> =
                    sqlx::query_as("delete from sign_in_attempts where state = $1 returning state, nonce, pkce_verifier, return_to, created_at")
                        .bind(state)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(row.map(|(state, nonce, pkce_verifier, return_to, created_at)| $crate::session::SignInAttempt { state, nonce, pkce_verifier, return_to, created_at }))
            }
        }
    };
}

pub(crate) use impl_session_store;
