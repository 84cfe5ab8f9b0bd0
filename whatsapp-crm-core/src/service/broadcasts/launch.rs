//! Launching: the audience is fixed when a broadcast starts, then read,
//! judged and queued into the outbox a batch at a time.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, future};

use crate::domain::{
    AbPhase, Broadcast, BroadcastId, BroadcastRecipient, BroadcastStatus, Business, BusinessId,
    Conversation, Customer, CustomerId, MessageId,
};
use crate::ports::{LaunchBatch, LaunchMessage};
use crate::service::ServiceError;

use super::ab::variant_spec;
use super::prepare::{AudienceQuery, Audit};
use super::service::{Broadcasts, invalid_state, start};
use super::worker::BroadcastReport;

/// Customers handled per launch transaction: large enough to be quick, small
/// enough that inbound traffic never waits long for the writer.
pub const LAUNCH_BATCH: usize = 1000;
/// Launch batches per broadcast in one `run_due` round.
pub const LAUNCH_BATCHES_PER_ROUND: usize = 400;
/// Batches read and rendered ahead of the writer.
const LAUNCH_BATCHES_AHEAD: usize = 2;

/// What every batch of one launch shares: for an A/B test's sample, one
/// audit per variant; otherwise the one that applies.
struct Job<'a> {
    bc: &'a Broadcast,
    business: &'a Business,
    audits: &'a [Audit<'a>],
    now: DateTime<Utc>,
    recommend: crate::service::Recommendations,
}

impl Job<'_> {
    /// The audit for a customer, with their variant; `None` when this phase
    /// of an A/B test is not theirs.
    fn audit_for(&self, c: CustomerId) -> Option<(&Audit<'_>, Option<u8>)> {
        let Some(ab) = &self.bc.ab_test else { return self.audits.first().map(|a| (a, None)) };
        let variant = ab.variant_of(self.bc.id, c);
        match (ab.phase, variant) {
            (AbPhase::Testing, Some(v)) => self.audits.get(usize::from(v)).map(|a| (a, Some(v))),
            (AbPhase::Rollout, None) => self.audits.first().map(|a| (a, None)),
            _ => None,
        }
    }
}

impl Broadcasts {
    /// Starts a draft: at its `send_at`, or now. The audience is fixed when it
    /// starts, and queued by `run_due`.
    pub async fn launch(
        &self,
        business: BusinessId,
        id: BroadcastId,
    ) -> Result<Broadcast, ServiceError> {
        let mut bc = self.storage.get_broadcast(business, id).await?;
        if bc.status != BroadcastStatus::Draft {
            return Err(invalid_state(&bc, "launch"));
        }
        // The template must still be approved.
        self.prepare(business, bc.template_id, &bc.variables).await?;
        let now = self.now();
        bc.updated_at = now;
        match bc.send_at {
            Some(at) if at > now => bc.status = BroadcastStatus::Scheduled,
            _ => start(&mut bc, now),
        }
        self.storage.update_broadcast(&bc, BroadcastStatus::Draft).await?;
        Ok(bc)
    }

    /// Queues up to [`LAUNCH_BATCHES_PER_ROUND`] batches of the audience.
    pub(super) async fn launch_batches(
        &self,
        bc: &Broadcast,
        now: DateTime<Utc>,
        report: &mut BroadcastReport,
    ) -> Result<(), ServiceError> {
        let s = &self.storage;
        let business = s.get_business(bc.business_id).await?;
        // The templates this phase sends: each variant's while an A/B test
        // samples, the winner's when it rolls out, the broadcast's otherwise.
        let specs = match &bc.ab_test {
            Some(ab) if ab.phase == AbPhase::Testing => ab.variants.iter().collect(),
            Some(ab) => {
                ab.winner.and_then(|w| ab.variants.get(usize::from(w))).into_iter().collect()
            }
            None => Vec::new(),
        };
        let mut prepared = Vec::new();
        if bc.ab_test.is_none() {
            prepared.push(self.prepare(bc.business_id, bc.template_id, &bc.variables).await?);
        }
        for v in specs {
            let (template, variables) = variant_spec(bc.template_id, &bc.variables, v);
            prepared.push(self.prepare(bc.business_id, template, &variables).await?);
        }
        let mut audits = Vec::with_capacity(prepared.len());
        for p in &prepared {
            audits.push(self.audit(p, bc.business_id, now).await?);
        }
        let audience = self.audience(&business, bc, now).await?;
        // Reading and rendering run ahead of writing, a few batches at most:
        // reads use their own connections, so the writer is never idle, and a
        // slow read no longer holds up the write after it. The audience is
        // read a page at a time, in one pass over the customers.
        let job = Job {
            bc,
            business: &business,
            audits: &audits,
            now,
            recommend: self.recommendations(),
        };
        let (mut ready, mut built) = futures_channel::mpsc::channel(LAUNCH_BATCHES_AHEAD - 1);
        let builder = async move {
            let mut after = bc.launch_cursor;
            for _ in 0..LAUNCH_BATCHES_PER_ROUND {
                // Wait for room first, so no more than a few batches are held.
                if future::poll_fn(|cx| ready.poll_ready(cx)).await.is_err() {
                    break; // The writer stopped (it failed): nothing more to build.
                }
                let batch = self.build(&job, &audience, after).await;
                let done = batch.as_ref().map_or(true, |b| b.last);
                after = batch.as_ref().ok().and_then(|b| b.cursor).or(after);
                if ready.start_send(batch).is_err() || done {
                    break;
                }
            }
        };
        let writer = async {
            while let Some(batch) = built.next().await {
                let batch = batch?;
                s.record_launch_batch(&batch).await?;
                report.queued += batch.queued.len() as u32;
                report.skipped += batch.skipped.len() as u32;
            }
            Ok::<_, ServiceError>(())
        };
        let ((), written) = future::join(builder, writer).await;
        written
    }

    /// Reads and renders the batch of the audience after `after`; the last
    /// one is short.
    async fn build(
        &self,
        job: &Job<'_>,
        audience: &AudienceQuery,
        after: Option<CustomerId>,
    ) -> Result<LaunchBatch, ServiceError> {
        let customers = audience.page(&*self.storage, after).await?;
        let ids: Vec<CustomerId> = customers.iter().map(|c| c.id).collect();
        let open = self.storage.latest_conversations(job.bc.business_id, &ids).await?;
        let open = open.into_iter().map(|c| (c.customer_id, c)).collect();
        let recommended = match job.audits.iter().any(Audit::wants_recommendation) {
            true => job.recommend.top_picks(job.bc.business_id, &ids).await?,
            false => HashMap::new(),
        };
        let last = customers.len() < LAUNCH_BATCH;
        Ok(self.build_batch(job, customers, &open, &recommended, last))
    }

    /// One launch batch: a message for each customer who may have one, the
    /// reason for each who may not.
    fn build_batch(
        &self,
        job: &Job<'_>,
        customers: Vec<Customer>,
        open: &HashMap<CustomerId, Conversation>,
        recommended: &HashMap<CustomerId, String>,
        last: bool,
    ) -> LaunchBatch {
        let (bc, business, now) = (job.bc, job.business, job.now);
        let cursor = customers.last().map(|c| c.id);
        let mut batch = self.batch(bc, business, cursor, last, now);
        for c in customers {
            let Some((audit, variant)) = job.audit_for(c.id) else { continue };
            let content = match audit.judge(&c, recommended.get(&c.id).map(String::as_str)) {
                Ok(content) => content,
                Err(reason) => {
                    batch.skipped.push(BroadcastRecipient {
                        broadcast_id: bc.id,
                        customer_id: c.id,
                        message_id: None,
                        skipped: Some(reason),
                        variant,
                    });
                    continue;
                }
            };
            let open = open.get(&c.id).map(|conv| conv.id);
            batch.queued.push(LaunchMessage {
                customer_id: c.id,
                phone: c.phone,
                // A new id when the launch opens the conversation.
                conversation_id: open.unwrap_or_default(),
                opens_conversation: open.is_none(),
                message_id: MessageId::new(),
                content,
                category: Some(audit.category()),
                variant,
            });
        }
        batch
    }

    fn batch(
        &self,
        bc: &Broadcast,
        business: &Business,
        cursor: Option<CustomerId>,
        last: bool,
        at: DateTime<Utc>,
    ) -> LaunchBatch {
        LaunchBatch {
            business: bc.business_id,
            broadcast: bc.id,
            sender: business.whatsapp_sender.clone(),
            queued: Vec::new(),
            skipped: Vec::new(),
            cursor,
            last,
            at,
        }
    }
}
