//! The team's controls over a started broadcast: pause, resume, cancel.

use crate::domain::{Broadcast, BroadcastId, BroadcastStatus, BusinessId, OutboxState};
use crate::service::ServiceError;

use super::service::{Broadcasts, invalid_state};

impl Broadcasts {
    /// Pauses a scheduled, launching or sending broadcast: nothing more is
    /// queued or sent until it resumes (messages already with the provider
    /// go on).
    pub async fn pause(
        &self,
        business: BusinessId,
        id: BroadcastId,
        reason: &str,
    ) -> Result<Broadcast, ServiceError> {
        let mut bc = self.storage.get_broadcast(business, id).await?;
        let was = bc.status;
        if !matches!(
            was,
            BroadcastStatus::Scheduled | BroadcastStatus::Launching | BroadcastStatus::Sending
        ) {
            return Err(invalid_state(&bc, "pause"));
        }
        let now = self.now();
        bc.status = BroadcastStatus::Paused;
        bc.pause_reason = Some(reason.to_owned());
        bc.updated_at = now;
        self.storage.update_broadcast(&bc, was).await?;
        self.storage
            .move_broadcast_rows(business, id, OutboxState::Pending, OutboxState::Held, now)
            .await?;
        Ok(bc)
    }

    /// Resumes a paused broadcast where it stopped.
    pub async fn resume(
        &self,
        business: BusinessId,
        id: BroadcastId,
    ) -> Result<Broadcast, ServiceError> {
        let mut bc = self.storage.get_broadcast(business, id).await?;
        if bc.status != BroadcastStatus::Paused {
            return Err(invalid_state(&bc, "resume"));
        }
        let now = self.now();
        bc.status = if bc.launched_at.is_none() {
            BroadcastStatus::Scheduled
        } else if bc.launch_complete {
            BroadcastStatus::Sending
        } else {
            BroadcastStatus::Launching
        };
        bc.pause_reason = None;
        bc.updated_at = now;
        self.storage.update_broadcast(&bc, BroadcastStatus::Paused).await?;
        self.storage
            .move_broadcast_rows(business, id, OutboxState::Held, OutboxState::Pending, now)
            .await?;
        Ok(bc)
    }

    /// Cancels a broadcast for good: nothing more is queued or sent.
    pub async fn cancel(
        &self,
        business: BusinessId,
        id: BroadcastId,
    ) -> Result<Broadcast, ServiceError> {
        let mut bc = self.storage.get_broadcast(business, id).await?;
        let was = bc.status;
        if was.is_final() {
            return Err(invalid_state(&bc, "cancel"));
        }
        let now = self.now();
        bc.status = BroadcastStatus::Cancelled;
        bc.updated_at = now;
        bc.finished_at = Some(now);
        self.storage.update_broadcast(&bc, was).await?;
        for from in [OutboxState::Pending, OutboxState::Held] {
            self.storage
                .move_broadcast_rows(business, id, from, OutboxState::Cancelled, now)
                .await?;
        }
        Ok(bc)
    }
}
