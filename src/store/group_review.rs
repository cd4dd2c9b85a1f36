//! Review work for a whole group of near-duplicates at once: accept, correct a label, set the
//! status. One transaction for the group; every member gets the same change and its own audit
//! entry (noting the group), exactly as if a caseworker had done it message by message.

use serde::Serialize;

use super::error::{query, StoreError, StoreResult};
use super::groups::GroupId;
use super::types::{MessageId, Status};
use super::Store;

/// What to do to every member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupAction {
    /// Accept each member's decision as it stands.
    Accept,
    /// Set this label on this axis.
    Correct {
        /// The axis.
        axis: String,
        /// The label.
        label: String,
    },
    /// Set the work status.
    Status(Status),
}

/// What a group action did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupOutcome {
    /// The group.
    pub group: GroupId,
    /// The members changed (each with its own audit entry), oldest first.
    pub members: Vec<MessageId>,
}

impl Store {
    /// Apply `action` to every member of `group` in one transaction, under `actor`'s name.
    pub async fn apply_to_group(
        &self,
        group: GroupId,
        actor: &str,
        action: &GroupAction,
    ) -> StoreResult<GroupOutcome> {
        if let GroupAction::Correct { axis, label } = action {
            if axis.is_empty() || label.is_empty() {
                return Err(StoreError::Invalid {
                    what: "correction",
                    reason: "axis and label must not be empty".into(),
                });
            }
        }
        let mut tx = self.write_tx().await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT message_id FROM triage WHERE group_id = $1 ORDER BY sort_date, message_id",
        )
        .bind(group.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(query("read group members"))?;
        if ids.is_empty() {
            return Err(StoreError::NotFound {
                what: "group",
                id: group.to_string(),
            });
        }
        let members: Vec<MessageId> = ids.into_iter().map(MessageId).collect();
        for id in &members {
            match action {
                GroupAction::Accept => self.accept_in(&mut tx, *id, actor, Some(group)).await?,
                GroupAction::Correct { axis, label } => {
                    self.correct_in(&mut tx, *id, actor, axis, label, Some(group))
                        .await?;
                }
                GroupAction::Status(s) => {
                    self.set_status_in(&mut tx, *id, actor, *s, Some(group))
                        .await?
                }
            }
        }
        tx.commit().await.map_err(query("commit group action"))?;
        tracing::debug!(group = group.0, members = members.len(), "group action");
        Ok(GroupOutcome { group, members })
    }
}
