//! A business's commerce settings, and the delivery partner webhook they
//! hold: its URL token and signing secret are made here, from the
//! operating system's random source, never given.

use std::sync::Arc;

use crate::domain::{
    Business, BusinessId, CommerceSettings, CommerceSettingsInput, DELIVERY_SECRET_BYTES,
    DeliveryWebhook,
};
use crate::ports::{Storage, StorageError};
use crate::service::ServiceError;

/// A business's commerce setup.
#[derive(Clone)]
pub struct CommerceSetup {
    storage: Arc<dyn Storage>,
}

/// Bytes of randomness in a business's payment link key.
const LINK_KEY_BYTES: usize = 32;

/// Equal bytes, compared in time that does not depend on where they differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Random bytes as lowercase hex.
pub(crate) fn random_hex(bytes: usize) -> Result<String, ServiceError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| ServiceError::Storage(StorageError::backend(e, true)))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn new_webhook(business: BusinessId) -> Result<DeliveryWebhook, ServiceError> {
    Ok(DeliveryWebhook {
        token: format!("{}{}", business.as_uuid().simple(), random_hex(DELIVERY_SECRET_BYTES)?),
        secret: format!("dlv_{}", random_hex(DELIVERY_SECRET_BYTES)?),
    })
}

impl CommerceSetup {
    pub(crate) fn new(storage: Arc<dyn Storage>) -> Self {
        Self { storage }
    }

    /// The business's settings.
    pub async fn get(&self, business: BusinessId) -> Result<CommerceSettings, ServiceError> {
        Ok(self.storage.get_business(business).await?.commerce)
    }

    /// Replaces the settings. Turning commerce on the first time makes the
    /// delivery webhook's token and secret.
    pub async fn set(
        &self,
        business: BusinessId,
        input: CommerceSettingsInput,
    ) -> Result<CommerceSettings, ServiceError> {
        let mut b = self.storage.get_business(business).await?;
        let mut next = input.validate(&b.commerce)?;
        for (notice, id) in &next.notice_templates {
            self.storage.get_template(business, *id).await.map_err(|e| match e {
                StorageError::NotFound { .. } => {
                    ServiceError::Invalid(crate::domain::ValidationError::field(
                        format!("notice_templates.{}", notice.as_str()),
                        "no such template in this business",
                    ))
                }
                e => e.into(),
            })?;
        }
        if next.enabled && next.delivery_webhook.is_none() {
            next.delivery_webhook = Some(new_webhook(business)?);
        }
        if next.enabled && next.link_key.is_none() {
            next.link_key = Some(random_hex(LINK_KEY_BYTES)?);
        }
        b.commerce = next;
        self.storage.update_business(&b).await?;
        Ok(b.commerce)
    }

    /// A new delivery webhook secret (the URL stays); the old one stops
    /// working at once.
    pub async fn rotate_delivery_secret(
        &self,
        business: BusinessId,
    ) -> Result<CommerceSettings, ServiceError> {
        let mut b = self.storage.get_business(business).await?;
        let token = match &b.commerce.delivery_webhook {
            Some(w) => w.token.clone(),
            None => new_webhook(business)?.token,
        };
        b.commerce.delivery_webhook = Some(DeliveryWebhook {
            token,
            secret: format!("dlv_{}", random_hex(DELIVERY_SECRET_BYTES)?),
        });
        self.storage.update_business(&b).await?;
        Ok(b.commerce)
    }

    /// The business whose delivery webhook has `token`, with commerce on;
    /// `None` for any other token (the caller answers as for a bad
    /// signature, so tokens cannot be probed).
    pub async fn business_for_delivery_token(
        &self,
        token: &str,
    ) -> Result<Option<Business>, ServiceError> {
        let Some(id) = token.get(..32).and_then(|h| uuid::Uuid::try_parse(h).ok()) else {
            return Ok(None);
        };
        let b = match self.storage.get_business(BusinessId::from_uuid(id)).await {
            Ok(b) => b,
            Err(StorageError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let matches = b
            .commerce
            .delivery_webhook
            .as_ref()
            .is_some_and(|w| ct_eq(w.token.as_bytes(), token.as_bytes()));
        Ok((matches && b.commerce.enabled).then_some(b))
    }
}
