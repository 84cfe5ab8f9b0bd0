//! The workers on timers: the outbox dispatcher, the broadcast launcher,
//! order expiry and payments, assistant training, and the team inbox's
//! assignment worker.
//! Each round is one bounded `run_due(now)` step of a service.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use whatsapp_crm_core::ServiceError;
use whatsapp_crm_core::service::{
    Assistant, Broadcasts, Campaigns, Carts, Dispatcher, EXPIRY_BATCH, Orders, Payments,
    RECOMMEND_BATCH, Recommendations, TRAIN_BATCH, TeamInbox,
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

/// Retrains the models of businesses whose FAQs or intents changed. The
/// training itself runs on a blocking thread; several servers may train the
/// same version, and one model per version is kept.
pub async fn run_assistant(assistant: Assistant, interval: Duration, stop: watch::Receiver<bool>) {
    every("assistant", interval, stop, || async {
        let jobs = assistant.due_jobs().await?;
        let due = jobs.len();
        for job in jobs {
            let trained =
                tokio::task::spawn_blocking(move || job.run(Utc::now())).await.map_err(|e| {
                    ServiceError::InvalidState { message: format!("training stopped: {e}") }
                })?;
            let info = trained.info().clone();
            assistant.save_trained(&trained).await?;
            tracing::info!(
                business = %trained.business(),
                intents = info.intents,
                examples = info.examples,
                training_ms = info.training_ms,
                "assistant model trained"
            );
        }
        Ok(due >= TRAIN_BATCH as usize)
    })
    .await;
}

/// Offers waiting conversations to agents, takes lapsed offers back,
/// escalates missed first-response deadlines and ends snoozes.
pub async fn run_inbox(team: TeamInbox, interval: Duration, stop: watch::Receiver<bool>) {
    every("inbox", interval, stop, || async {
        let round = team.run_due(Utc::now()).await?;
        // A round that only looked (people waiting for a queue no agent with
        // room matches) changed nothing: no line.
        if round.offered + round.expired + round.escalated + round.woken > 0 {
            tracing::info!(
                businesses = round.businesses,
                offered = round.offered,
                expired = round.expired,
                escalated = round.escalated,
                woken = round.woken,
                "inbox round"
            );
        }
        // Each round serves every due business; nothing is left for at once.
        Ok(false)
    })
    .await;
}

/// Builds the recommendation models of businesses whose sales changed.
pub async fn run_recommendations(
    recommendations: Recommendations,
    interval: Duration,
    stop: watch::Receiver<bool>,
) {
    every("recommendations", interval, stop, || async {
        let built = recommendations.run_due(Utc::now()).await?;
        if built > 0 {
            tracing::info!(built, "recommendation models built");
        }
        Ok(built >= RECOMMEND_BATCH as usize)
    })
    .await;
}
