//! Training: when FAQs or intents change (a worker finds stale models) or
//! when asked, never per message. A job is read, run and saved in three
//! steps so that a server can run the CPU part off its async threads; one
//! version is saved once, whatever several servers do.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::assistant::{IntentModel, TrainConfig, TrainError, train};
use crate::domain::{BusinessId, ModelInfo, TrainingStatus};
use crate::ports::to_storage_precision;
use crate::service::ServiceError;

use super::Assistant;
use super::knowledge::examples;

/// Businesses one worker round trains at most.
pub const TRAIN_BATCH: u32 = 10;

/// What one worker round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrainReport {
    /// Models trained and saved.
    pub trained: u32,
    /// Businesses with fewer than two intents to tell apart (recorded so
    /// they are not tried again until their data changes).
    pub too_few: u32,
}

/// Training read from storage, ready to run.
#[derive(Debug, Clone)]
pub struct TrainingJob {
    business: BusinessId,
    data_version: u64,
    examples: Vec<crate::assistant::Example>,
}

/// A job's result, ready to save.
#[derive(Debug, Clone)]
pub struct Trained {
    business: BusinessId,
    info: ModelInfo,
    bytes: Vec<u8>,
}

impl TrainingJob {
    /// Trains (CPU only, deterministic): seconds for 10,000 examples, a
    /// fraction of that for a shop's FAQs.
    pub fn run(self, now: DateTime<Utc>) -> Trained {
        let started = Instant::now();
        let config = TrainConfig::for_examples(self.examples.len());
        let model: Result<IntentModel, TrainError> = train(&self.examples, &config);
        let (intents, features, bytes) = match &model {
            Ok(m) => (m.labels().len(), m.features(), m.to_bytes()),
            // Recorded with no weights: the business has nothing to tell
            // apart until its data changes.
            Err(_) => (0, 0, Vec::new()),
        };
        let info = ModelInfo {
            data_version: self.data_version,
            intents: u32::try_from(intents).unwrap_or(u32::MAX),
            examples: u32::try_from(self.examples.len()).unwrap_or(u32::MAX),
            features: u32::try_from(features).unwrap_or(u32::MAX),
            bytes: bytes.len() as u64,
            training_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            trained_at: to_storage_precision(now),
        };
        Trained { business: self.business, info, bytes }
    }
}

impl Trained {
    /// The business it was trained for.
    pub fn business(&self) -> BusinessId {
        self.business
    }

    /// The model's description.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }
}

impl Assistant {
    /// Reads what the business's model would be trained on now.
    pub async fn training_job(&self, business: BusinessId) -> Result<TrainingJob, ServiceError> {
        let data = self.storage.training_data(business).await?;
        Ok(TrainingJob { business, data_version: data.data_version, examples: examples(&data) })
    }

    /// Saves a trained model unless one as new is stored; true when saved.
    pub async fn save_trained(&self, trained: &Trained) -> Result<bool, ServiceError> {
        Ok(self.storage.save_model(trained.business, &trained.info, &trained.bytes).await?)
    }

    /// Trains the business's model now, on this thread, and returns where
    /// training stands. `InvalidState` when fewer than two intents have
    /// examples (a classifier needs two to choose between).
    pub async fn train(&self, business: BusinessId) -> Result<TrainingStatus, ServiceError> {
        let job = self.training_job(business).await?;
        let trained = job.run(self.clock.now());
        self.save_trained(&trained).await?;
        self.check_trained(business, &trained).await.map(|_| ())?;
        Ok(self.storage.training_status(business).await?)
    }

    /// `InvalidState` for a job that found too little to train on.
    pub async fn check_trained(
        &self,
        business: BusinessId,
        trained: &Trained,
    ) -> Result<(), ServiceError> {
        if trained.info.intents >= 2 {
            return Ok(());
        }
        let status = self.storage.training_status(business).await?;
        Err(ServiceError::InvalidState {
            message: format!(
                "the assistant needs at least two intents with examples to choose between \
                 (FAQs count as intents); this business has {} FAQs and {} intents",
                status.faqs, status.intents
            ),
        })
    }

    /// Where the business's training stands.
    pub async fn training(&self, business: BusinessId) -> Result<TrainingStatus, ServiceError> {
        Ok(self.storage.training_status(business).await?)
    }

    /// The training jobs of businesses whose FAQs or intents changed since
    /// their model was trained, up to [`TRAIN_BATCH`].
    pub async fn due_jobs(&self) -> Result<Vec<TrainingJob>, ServiceError> {
        let mut jobs = Vec::new();
        for b in self.storage.stale_models(TRAIN_BATCH).await? {
            jobs.push(self.training_job(b).await?);
        }
        Ok(jobs)
    }

    /// One worker round on this thread: trains every due model. Servers
    /// run [`due_jobs`](Self::due_jobs) and each job's
    /// [`run`](TrainingJob::run) off their async threads instead.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<TrainReport, ServiceError> {
        let mut report = TrainReport::default();
        for job in self.due_jobs().await? {
            let trained = job.run(now);
            if trained.info.intents < 2 {
                report.too_few += 1;
            } else {
                report.trained += 1;
            }
            self.save_trained(&trained).await?;
        }
        Ok(report)
    }
}

/// Reads stored weights; `None` for a record without a model (too few
/// intents) or weights this build cannot read (retrained on the next
/// change).
pub(super) fn decode(business: BusinessId, bytes: &[u8]) -> Option<Arc<IntentModel>> {
    if bytes.is_empty() {
        return None;
    }
    match IntentModel::from_bytes(bytes) {
        Ok(m) => Some(Arc::new(m)),
        Err(e) => {
            tracing::warn!(business = %business, error = %e, "stored intent model unreadable");
            None
        }
    }
}
