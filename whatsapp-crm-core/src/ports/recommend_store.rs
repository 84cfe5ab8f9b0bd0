//! Storage of each business's recommendation model.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StorageError;
use crate::domain::BusinessId;

/// What a stored recommendation model was built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecommenderInfo {
    /// When the build read the orders: orders changed later make it stale.
    pub built_at: DateTime<Utc>,
    /// Paid and fulfilled orders it was built from.
    pub orders: u64,
    /// Their order lines.
    pub lines: u64,
    /// Products it knows.
    pub products: u32,
    /// How long the build took, milliseconds.
    pub build_ms: f64,
}

/// Each business's recommendation model.
#[async_trait]
pub trait RecommendStore: Send + Sync {
    /// Businesses with a paid or fulfilled order changed after their model
    /// was built (or with no model yet), whose model, if any, was built at
    /// or before `built_before`; at most `limit`.
    async fn recommenders_due(
        &self,
        built_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<BusinessId>, StorageError>;
    /// Stores a model unless the stored one was built later; false when it
    /// was not stored. `NotFound` if the business is not there.
    async fn save_recommender(
        &self,
        business: BusinessId,
        info: &RecommenderInfo,
        bytes: &[u8],
    ) -> Result<bool, StorageError>;
    /// What the stored model was built from, without its bytes.
    async fn recommender_info(
        &self,
        business: BusinessId,
    ) -> Result<Option<RecommenderInfo>, StorageError>;
    /// The stored model and its bytes.
    async fn load_recommender(
        &self,
        business: BusinessId,
    ) -> Result<Option<(RecommenderInfo, Vec<u8>)>, StorageError>;
}
