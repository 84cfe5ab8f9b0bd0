//! The dispatcher on a timer: sends what the outbox holds until shutdown.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use whatsapp_crm_core::service::Dispatcher;

/// Runs `dispatcher` every `interval`, at once again while rounds come back
/// full, until `stop` turns true. A round in progress is finished first.
pub async fn run_dispatcher(
    dispatcher: Dispatcher,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let batch = dispatcher.config().batch;
    loop {
        let busy = match dispatcher.run_due(Utc::now()).await {
            Ok(report) => {
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
                report.claimed >= batch
            }
            Err(e) => {
                tracing::warn!(error = %e, "dispatch round failed; retrying");
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
    tracing::info!("dispatcher stopped");
}
