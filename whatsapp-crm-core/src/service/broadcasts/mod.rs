//! Broadcasts: one approved template to an audience, launched a batch at a
//! time into the outbox, paused, resumed or cancelled at any moment, and
//! measured per recipient.
//!
//! One concern a file: `create` (checks, drafts, preview), `prepare` (the
//! template and audience a send uses), `launch` (fixing the audience and
//! queueing it), `control` (pause, resume, cancel), `metrics` (progress and
//! rates), `ab` (A/B tests), `worker` (the `run_due` round); `service`
//! holds the service itself and what the parts share.

mod ab;
mod control;
mod create;
mod launch;
mod metrics;
mod prepare;
mod service;
mod worker;

pub use create::{BroadcastPreview, NewBroadcast, PREVIEW_SAMPLES, SampleMessage};
pub use launch::{LAUNCH_BATCH, LAUNCH_BATCHES_PER_ROUND};
pub use metrics::{
    BroadcastMetrics, QUALITY_ERROR_CODES, REPLY_WINDOW_HOURS, VariantMetrics, auto_pause_reason,
};
pub use service::Broadcasts;
pub use worker::BroadcastReport;
