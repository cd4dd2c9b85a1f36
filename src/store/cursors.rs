//! Mailbox positions: per mailbox, the UIDVALIDITY and the highest UID whose record is stored.
//! A position only moves forward within one UIDVALIDITY; a new UIDVALIDITY replaces it (the
//! caller detects the change by comparing, and falls back on message hashes).

use serde::Serialize;

use super::error::{query, StoreResult};
use super::types::col;
use super::Store;

/// A mailbox position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cursor {
    /// The mailbox (such as `imaps://user@host/INBOX`, without any password).
    pub mailbox: String,
    /// Its UIDVALIDITY.
    pub uidvalidity: i64,
    /// The highest UID done.
    pub last_uid: i64,
    /// When it last moved (ms since the epoch, database clock).
    pub updated_at: i64,
}

/// A new position for a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorUpdate {
    /// The mailbox.
    pub mailbox: String,
    /// Its UIDVALIDITY.
    pub uidvalidity: i64,
    /// The highest UID done.
    pub last_uid: i64,
}

impl Store {
    /// The position of a mailbox, if one was saved.
    pub async fn cursor(&self, mailbox: &str) -> StoreResult<Option<Cursor>> {
        let row = sqlx::query(
            "SELECT mailbox, uidvalidity, last_uid, updated_at FROM mailbox_cursors \
             WHERE mailbox = $1",
        )
        .bind(mailbox)
        .fetch_optional(&self.pool)
        .await
        .map_err(query("read cursor"))?;
        row.map(|r| {
            Ok(Cursor {
                mailbox: col(&r, "mailbox")?,
                uidvalidity: col(&r, "uidvalidity")?,
                last_uid: col(&r, "last_uid")?,
                updated_at: col(&r, "updated_at")?,
            })
        })
        .transpose()
    }

    /// Save a position on its own (to store records with it, use [`Store::put_batch`]).
    pub async fn set_cursor(&self, update: &CursorUpdate) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        advance_cursor(self, &mut tx, update).await?;
        tx.commit().await.map_err(query("commit cursor"))
    }
}

/// Advance a cursor inside a transaction: forward only within one UIDVALIDITY.
pub(crate) async fn advance_cursor(
    store: &Store,
    tx: &mut sqlx::AnyConnection,
    c: &CursorUpdate,
) -> StoreResult<()> {
    let sql = store.sql(
        "INSERT INTO mailbox_cursors (mailbox, uidvalidity, last_uid, updated_at) \
         VALUES ($1, $2, $3, {now}) ON CONFLICT (mailbox) DO UPDATE SET \
         last_uid = CASE WHEN mailbox_cursors.uidvalidity = excluded.uidvalidity \
             AND mailbox_cursors.last_uid > excluded.last_uid \
             THEN mailbox_cursors.last_uid ELSE excluded.last_uid END, \
         uidvalidity = excluded.uidvalidity, updated_at = excluded.updated_at",
    );
    sqlx::query(&sql)
        .bind(c.mailbox.as_str())
        .bind(c.uidvalidity)
        .bind(c.last_uid)
        .execute(&mut *tx)
        .await
        .map_err(query("advance cursor"))?;
    Ok(())
}
