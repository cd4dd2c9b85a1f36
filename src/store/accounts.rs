//! People: local accounts (name, role, argon2id password hash) and login sessions. A session's
//! cookie token is random and only its SHA-256 is stored, so a copy of the database does not
//! let anyone log in; each session has its own CSRF token, an idle limit and an absolute expiry,
//! both checked against the database's clock.

use std::sync::OnceLock;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use password_hash::rand_core::{OsRng, RngCore};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;

use super::error::{query, StoreError, StoreResult};
use super::review::{write_audit, AuditWrite};
use super::types::{col, flag, millis};
use super::Store;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works the queue: reads, corrects, assigns, notes.
    Reviewer,
    /// A reviewer who also manages accounts and heads.
    Admin,
}

impl Role {
    /// `reviewer` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = StoreError;

    fn from_str(s: &str) -> StoreResult<Role> {
        match s {
            "reviewer" => Ok(Role::Reviewer),
            "admin" => Ok(Role::Admin),
            _ => Err(StoreError::Invalid {
                what: "role",
                reason: format!("{s:?} is not reviewer or admin"),
            }),
        }
    }
}

/// An account (never with its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Its id.
    pub id: i64,
    /// The login name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// A disabled account cannot log in.
    pub disabled: bool,
}

/// A session just created: the token for the cookie and the CSRF token. The token is shown
/// once; the store keeps only its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The secret for the session cookie.
    pub token: String,
    /// The token every write must send back.
    pub csrf_token: String,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewSession { .. }")
    }
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Whose.
    pub account: Account,
    /// Its CSRF token.
    pub csrf_token: String,
    /// When it expires regardless of use (ms since the epoch).
    pub expires_at: i64,
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

impl Store {
    /// Create an account. Fails with `Conflict` when the name is taken.
    pub async fn add_account(
        &self,
        actor: &str,
        name: &str,
        role: Role,
        password: &str,
    ) -> StoreResult<Account> {
        if name.trim().is_empty() || name.chars().any(char::is_control) {
            return Err(StoreError::Invalid {
                what: "account name",
                reason: "empty or with control characters".into(),
            });
        }
        let hash = hash_password(password).await?;
        let mut tx = self.write_tx().await?;
        let sql = self.sql(
            "INSERT INTO accounts (name, role, password_hash, created_at) \
             VALUES ($1, $2, $3, {now}) ON CONFLICT (name) DO NOTHING RETURNING id",
        );
        let id: Option<i64> = sqlx::query_scalar(&sql)
            .bind(name)
            .bind(role.as_str())
            .bind(hash)
            .fetch_optional(&mut *tx)
            .await
            .map_err(query("insert account"))?;
        let id = id.ok_or_else(|| StoreError::Conflict(format!("account {name:?} exists")))?;
        let after = json!({ "name": name, "role": role.as_str() });
        self.account_audit(&mut tx, actor, "account.add", None, Some(after))
            .await?;
        tx.commit().await.map_err(query("commit account"))?;
        Ok(Account {
            id,
            name: name.to_string(),
            role,
            disabled: false,
        })
    }

    /// Every account, by name.
    pub async fn accounts(&self) -> StoreResult<Vec<Account>> {
        let rows = sqlx::query("SELECT id, name, role, disabled FROM accounts ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(query("list accounts"))?;
        rows.iter().map(account_from_row).collect()
    }

    /// Check a login. `None` for an unknown name, a wrong password or a disabled account; the
    /// work done is the same in each case, so the answer's timing does not tell names apart.
    pub async fn verify_login(&self, name: &str, password: &str) -> StoreResult<Option<Account>> {
        let row = sqlx::query(
            "SELECT id, name, role, disabled, password_hash FROM accounts WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(query("read account"))?;
        let (account, hash) = match &row {
            Some(r) => (
                Some(account_from_row(r)?),
                Some(col::<String>(r, "password_hash")?),
            ),
            None => (None, None),
        };
        let ok = verify_password(password.to_string(), hash).await?;
        Ok(account.filter(|a| ok && !a.disabled))
    }

    /// Set an account's password; its sessions end.
    pub async fn set_password(&self, actor: &str, name: &str, password: &str) -> StoreResult<()> {
        let hash = hash_password(password).await?;
        let mut tx = self.write_tx().await?;
        let id = self
            .update_account(&mut tx, name, "password_hash = $1", &hash)
            .await?;
        end_sessions_of(&mut tx, id).await?;
        let after = json!({ "name": name });
        self.account_audit(&mut tx, actor, "account.password", None, Some(after))
            .await?;
        tx.commit().await.map_err(query("commit password"))
    }

    /// Change an account's role; its sessions end.
    pub async fn set_role(&self, actor: &str, name: &str, role: Role) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        let id = self
            .update_account(&mut tx, name, "role = $1", role.as_str())
            .await?;
        end_sessions_of(&mut tx, id).await?;
        let after = json!({ "name": name, "role": role.as_str() });
        self.account_audit(&mut tx, actor, "account.role", None, Some(after))
            .await?;
        tx.commit().await.map_err(query("commit role"))
    }

    /// Disable (or enable again) an account; disabling ends its sessions.
    pub async fn set_disabled(&self, actor: &str, name: &str, disabled: bool) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        let flag = if disabled { "1" } else { "0" };
        let id = self
            .update_account(&mut tx, name, "disabled = CAST($1 AS BIGINT)", flag)
            .await?;
        if disabled {
            end_sessions_of(&mut tx, id).await?;
        }
        let after = json!({ "name": name, "disabled": disabled });
        self.account_audit(&mut tx, actor, "account.disable", None, Some(after))
            .await?;
        tx.commit().await.map_err(query("commit disable"))
    }

    /// Start a session for an account, valid for at most `lifetime`.
    pub async fn create_session(
        &self,
        account: &Account,
        lifetime: Duration,
    ) -> StoreResult<NewSession> {
        let session = NewSession {
            token: random_token(),
            csrf_token: random_token(),
        };
        let sql = self.sql(
            "INSERT INTO sessions (token_sha256, account_id, csrf_token, created_at, last_seen, \
             expires_at) VALUES ($1, $2, $3, {now}, {now}, {now} + $4)",
        );
        sqlx::query(&sql)
            .bind(token_hash(&session.token))
            .bind(account.id)
            .bind(session.csrf_token.as_str())
            .bind(millis(lifetime))
            .execute(&self.pool)
            .await
            .map_err(query("create session"))?;
        Ok(session)
    }

    /// The live session for a cookie token, touched (its idle clock restarts). `None` when the
    /// token is unknown, expired, idle for longer than `idle`, or its account is disabled.
    pub async fn session(&self, token: &str, idle: Duration) -> StoreResult<Option<Session>> {
        let sql = self.sql(
            "UPDATE sessions SET last_seen = {now} WHERE token_sha256 = $1 \
             AND expires_at > {now} AND last_seen + $2 > {now} \
             RETURNING account_id, csrf_token, expires_at",
        );
        let row = sqlx::query(&sql)
            .bind(token_hash(token))
            .bind(millis(idle))
            .fetch_optional(&self.pool)
            .await
            .map_err(query("touch session"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let account_id: i64 = col(&row, "account_id")?;
        let account = sqlx::query("SELECT id, name, role, disabled FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read session account"))?;
        let Some(account) = account.as_ref().map(account_from_row).transpose()? else {
            return Ok(None);
        };
        if account.disabled {
            return Ok(None);
        }
        Ok(Some(Session {
            account,
            csrf_token: col(&row, "csrf_token")?,
            expires_at: col(&row, "expires_at")?,
        }))
    }

    /// End a session (log out).
    pub async fn end_session(&self, token: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_sha256 = $1")
            .bind(token_hash(token))
            .execute(&self.pool)
            .await
            .map_err(query("end session"))?;
        Ok(())
    }

    /// Delete sessions that expired or were idle for longer than `idle`; returns how many.
    pub async fn purge_sessions(&self, idle: Duration) -> StoreResult<u64> {
        let sql =
            self.sql("DELETE FROM sessions WHERE expires_at <= {now} OR last_seen + $1 <= {now}");
        let done = sqlx::query(&sql)
            .bind(millis(idle))
            .execute(&self.pool)
            .await
            .map_err(query("purge sessions"))?;
        Ok(done.rows_affected())
    }

    async fn update_account(
        &self,
        tx: &mut sqlx::AnyConnection,
        name: &str,
        set: &str,
        value: &str,
    ) -> StoreResult<i64> {
        let sql = format!("UPDATE accounts SET {set} WHERE name = $2 RETURNING id");
        let id: Option<i64> = sqlx::query_scalar(&sql)
            .bind(value)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(query("update account"))?;
        id.ok_or_else(|| StoreError::NotFound {
            what: "account",
            id: name.to_string(),
        })
    }

    async fn account_audit(
        &self,
        tx: &mut sqlx::AnyConnection,
        actor: &str,
        action: &str,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> StoreResult<()> {
        let entry = AuditWrite {
            actor,
            action,
            message_id: None,
            before,
            after,
            model_version: None,
            taxonomy_version: None,
        };
        write_audit(self, tx, entry).await
    }
}

async fn end_sessions_of(tx: &mut sqlx::AnyConnection, account_id: i64) -> StoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut *tx)
        .await
        .map_err(query("end sessions"))?;
    Ok(())
}

fn account_from_row(r: &AnyRow) -> StoreResult<Account> {
    Ok(Account {
        id: col(r, "id")?,
        name: col(r, "name")?,
        role: col::<String>(r, "role")?.parse()?,
        disabled: flag(r, "disabled")?,
    })
}

/// 32 random bytes from the OS, hex.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Hash a password with argon2id (the crate's defaults: 19 MiB, 2 passes), off the async
/// threads: it takes tens of milliseconds on purpose.
async fn hash_password(password: &str) -> StoreResult<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(StoreError::Invalid {
            what: "password",
            reason: format!("shorter than {MIN_PASSWORD_CHARS} characters"),
        });
    }
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| StoreError::Password(e.to_string()))
    })
    .await
    .map_err(|e| StoreError::Password(e.to_string()))?
}

/// Check a password against a hash (against a dummy hash when `None`, to take the same time).
async fn verify_password(password: String, hash: Option<String>) -> StoreResult<bool> {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| dummy_hash().to_string());
        let parsed = PasswordHash::new(&hash).map_err(|e| StoreError::Password(e.to_string()))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && known)
    })
    .await
    .map_err(|e| StoreError::Password(e.to_string()))?
}

/// A hash of a random password, checked against when the name is unknown.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(random_token().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}
