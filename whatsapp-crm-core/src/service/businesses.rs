//! Businesses and their API keys.

use std::sync::Arc;

use crate::domain::ValidationError;
use crate::domain::{ApiKey, ApiKeyHash, ApiKeyId, Business, BusinessId, NewBusiness};
use crate::ports::{Clock, Storage};

use super::ServiceError;

/// Longest API key label accepted.
pub const API_KEY_LABEL_MAX_CHARS: usize = 100;

/// Creates businesses and issues, checks and revokes their API keys.
///
/// Keys are generated and hashed by the caller (the reference server uses 32
/// random bytes and SHA-256); only the hash reaches storage.
#[derive(Clone)]
pub struct Businesses {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
}

/// Who a request acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    /// The business.
    pub business: BusinessId,
    /// The agent, for an agent key; `None` for a business key.
    pub agent: Option<crate::domain::AgentId>,
}

impl Businesses {
    /// A service over `storage`.
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self { storage, clock }
    }

    /// Validates and stores a new business.
    pub async fn create(&self, input: NewBusiness) -> Result<Business, ServiceError> {
        let business = input.validate(self.clock.now())?;
        self.storage.insert_business(&business).await?;
        Ok(business)
    }

    /// Reads a business.
    pub async fn get(&self, id: BusinessId) -> Result<Business, ServiceError> {
        Ok(self.storage.get_business(id).await?)
    }

    /// Replaces the business's consent keywords and confirmation replies.
    pub async fn set_keywords(
        &self,
        id: BusinessId,
        keywords: crate::policy::KeywordConfig,
    ) -> Result<Business, ServiceError> {
        keywords.validate()?;
        let mut business = self.storage.get_business(id).await?;
        business.keywords = keywords;
        self.storage.update_business(&business).await?;
        Ok(business)
    }

    /// Records a new key for `business` by its hash.
    pub async fn issue_api_key(
        &self,
        business: BusinessId,
        hash: ApiKeyHash,
        label: &str,
    ) -> Result<ApiKey, ServiceError> {
        let label = label.trim();
        if label.is_empty() || label.chars().count() > API_KEY_LABEL_MAX_CHARS {
            return Err(ValidationError::field(
                "label",
                format!("must be 1-{API_KEY_LABEL_MAX_CHARS} characters"),
            )
            .into());
        }
        let key = ApiKey {
            id: ApiKeyId::new(),
            business_id: business,
            hash,
            label: label.to_owned(),
            agent_id: None,
            created_at: self.clock.now(),
            revoked_at: None,
        };
        self.storage.insert_api_key(&key).await?;
        Ok(key)
    }

    /// Who an active key acts for (the business, and the agent for an
    /// agent key), or `None` for unknown and revoked keys.
    pub async fn authenticate(&self, hash: &ApiKeyHash) -> Result<Option<Principal>, ServiceError> {
        let key = self.storage.find_api_key(hash).await?;
        Ok(key
            .filter(ApiKey::is_active)
            .map(|k| Principal { business: k.business_id, agent: k.agent_id }))
    }

    /// Revokes one of the business's keys.
    pub async fn revoke_api_key(
        &self,
        business: BusinessId,
        id: ApiKeyId,
    ) -> Result<(), ServiceError> {
        Ok(self.storage.revoke_api_key(business, id, self.clock.now()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::InMemoryStorage;
    use crate::ports::SystemClock;

    #[tokio::test]
    async fn revoked_keys_stop_authenticating() {
        let svc = Businesses::new(Arc::new(InMemoryStorage::new()), Arc::new(SystemClock));
        let b = svc
            .create(NewBusiness {
                name: "Shop".into(),
                whatsapp_sender: "+254700000001".into(),
                time_zone: "Africa/Nairobi".into(),
                currency: "KES".into(),
            })
            .await
            .unwrap();
        let key = svc.issue_api_key(b.id, ApiKeyHash([5; 32]), "backend").await.unwrap();
        assert_eq!(
            svc.authenticate(&key.hash).await.unwrap(),
            Some(Principal { business: b.id, agent: None })
        );
        svc.revoke_api_key(b.id, key.id).await.unwrap();
        assert_eq!(svc.authenticate(&key.hash).await.unwrap(), None);
        assert!(svc.issue_api_key(b.id, ApiKeyHash([6; 32]), " ").await.is_err());
    }
}
