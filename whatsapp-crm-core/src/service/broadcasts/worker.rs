//! The broadcast worker: one bounded `run_due` round.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{Broadcast, BroadcastStatus};
use crate::ports::to_storage_precision;
use crate::service::ServiceError;

use super::metrics::{Stages, auto_pause_reason};
use super::service::{Broadcasts, start};

/// What one `run_due` round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BroadcastReport {
    /// Broadcasts whose audience was fixed this round.
    pub launched: u32,
    /// Messages queued.
    pub queued: u32,
    /// Customers skipped.
    pub skipped: u32,
    /// Broadcasts that paused themselves.
    pub paused: u32,
    /// Broadcasts that completed.
    pub completed: u32,
    /// A/B tests whose winner was picked.
    pub decided: u32,
}

impl Broadcasts {
    /// One round at `now`: starts scheduled broadcasts whose time came,
    /// queues launching ones a batch at a time, pauses sending ones that break
    /// their auto-pause rules, and completes those with nothing left to send.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<BroadcastReport, ServiceError> {
        let now = to_storage_precision(now);
        let mut report = BroadcastReport::default();
        for (business, id) in self.storage.active_broadcasts(now).await? {
            let mut bc = self.storage.get_broadcast(business, id).await?;
            let outcome = match bc.status {
                BroadcastStatus::Scheduled => {
                    start(&mut bc, now);
                    report.launched += 1;
                    match self.storage.update_broadcast(&bc, BroadcastStatus::Scheduled).await {
                        Ok(()) => self.launch_batches(&bc, now, &mut report).await,
                        Err(e) => Err(e.into()),
                    }
                }
                BroadcastStatus::Launching => self.launch_batches(&bc, now, &mut report).await,
                BroadcastStatus::Sending => self.watch(bc, now, &mut report).await,
                _ => Ok(()),
            };
            match outcome {
                // Paused or cancelled meanwhile: the person's choice stands.
                Err(ServiceError::Conflict { .. }) => {}
                other => other?,
            }
        }
        Ok(report)
    }

    /// Pauses a sending broadcast that breaks its rules, or completes it.
    async fn watch(
        &self,
        mut bc: Broadcast,
        now: DateTime<Utc>,
        report: &mut BroadcastReport,
    ) -> Result<(), ServiceError> {
        let counts = self.storage.broadcast_counts(bc.business_id, bc.id, None, None).await?;
        if let Some(reason) = auto_pause_reason(&bc.auto_pause, &counts) {
            self.pause(bc.business_id, bc.id, &reason).await?;
            report.paused += 1;
            return Ok(());
        }
        if self.advance_ab(&mut bc, now, report).await? {
            return Ok(());
        }
        if Stages::of(&counts).pending == 0 {
            bc.status = BroadcastStatus::Completed;
            bc.finished_at = Some(now);
            bc.updated_at = now;
            self.storage.update_broadcast(&bc, BroadcastStatus::Sending).await?;
            report.completed += 1;
        }
        Ok(())
    }
}
