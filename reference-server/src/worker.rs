//! The workers on timers: the outbox dispatcher, the broadcast launcher, and
//! order expiry.
//! Each round is one bounded `run_due(now)` step of a service.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use whatsapp_crm_core::ServiceError;
use whatsapp_crm_core::service::{
    Broadcasts, Campaigns, Carts, Dispatcher, EXPIRY_BATCH, Orders, Payments,
};

/// Runs `round` every `interval`, at once again while it reports more work,
/// until `stop` turns true. A round in progress is finished first.
async fn every<F, Fut>(name: &str, interval: Duration, mut stop: watch::Receiver<bool>, round: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<bool, ServiceError>>,
{
    loop {
        let busy = match round().await {
            Ok(busy) => busy,
            Err(e) => {
                tracing::warn!(worker = name, error = %e, "round failed; retrying");
                false
            }
        };
        if *stop.borrow() {
            break;
        }
        if !busy {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = stop.changed() => break,
            }
        }
    }
    tracing::info!(worker = name, "stopped");
}

/// Sends what the outbox holds.
pub async fn run_dispatcher(
    dispatcher: Dispatcher,
    interval: Duration,
    stop: watch::Receiver<bool>,
) {
    let batch = dispatcher.config().batch;
    every("dispatcher", interval, stop, || async {
        let report = dispatcher.run_due(Utc::now()).await?;
        if report.claimed > 0 || report.unknown > 0 {
            tracing::info!(
                claimed = report.claimed,
                sent = report.sent,
                failed = report.failed,
                retried = report.retried,
                deferred = report.deferred,
                unknown = report.unknown,
                "dispatch round"
            );
        }
        Ok(report.claimed >= batch)
    })
    .await;
}

/// Starts campaign runs and scheduled broadcasts, queues launching ones,
/// and pauses or completes sending ones.
pub async fn run_broadcasts(
    campaigns: Campaigns,
    broadcasts: Broadcasts,
    interval: Duration,
    stop: watch::Receiver<bool>,
) {
    every("broadcasts", interval, stop, || async {
        let started = campaigns.run_due(Utc::now()).await?;
        if started != Default::default() {
            tracing::info!(started = started.started, paused = started.paused, "campaign round");
        }
        let report = broadcasts.run_due(Utc::now()).await?;
        if report != Default::default() {
            tracing::info!(
                launched = report.launched,
                queued = report.queued,
                skipped = report.skipped,
                paused = report.paused,
                completed = report.completed,
                "broadcast round"
            );
        }
        // A launch continues next round at once.
        Ok(report.queued + report.skipped > 0)
    })
    .await;
}

/// Expires orders past their payment window, releasing their stock, and
/// carts left untouched for a week; asks providers about late payments and
/// sends payment reminders.
pub async fn run_orders(
    orders: Orders,
    carts: Carts,
    payments: Payments,
    interval: Duration,
    stop: watch::Receiver<bool>,
) {
    every("orders", interval, stop, || async {
        let report = orders.run_due(Utc::now()).await?;
        let carts = carts.run_due(Utc::now()).await?;
        let paid = payments.run_due(Utc::now()).await?;
        if report.expired > 0 || carts > 0 || paid != Default::default() {
            tracing::info!(
                orders = report.expired,
                carts,
                checked = paid.checked,
                settled = paid.settled,
                given_up = paid.expired,
                reminders = paid.reminders,
                "commerce round"
            );
        }
        Ok(report.expired >= EXPIRY_BATCH || carts >= EXPIRY_BATCH)
    })
    .await;
}
