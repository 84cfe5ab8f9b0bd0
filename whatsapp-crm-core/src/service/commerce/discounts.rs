//! Discount codes: made by the business (or generated, unguessable and
//! single-use, for one customer), redeemed atomically at checkout.

use std::sync::Arc;

use crate::commerce::discount::{GENERATED_CODE_BYTES, normalize_code};
use crate::domain::{BusinessId, Discount, DiscountId, NewDiscount};
use crate::ports::{Clock, Page, Storage, StorageError};
use crate::service::{ServiceError, page_params};

/// Discount codes of each business.
#[derive(Clone)]
pub struct Discounts {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
}

impl Discounts {
    pub(crate) fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self { storage, clock }
    }

    /// Creates a code; without one given, generates 16 characters from 80
    /// random bits, single-use unless a limit is given.
    pub async fn create(
        &self,
        business: BusinessId,
        input: NewDiscount,
    ) -> Result<Discount, ServiceError> {
        let b = self.storage.get_business(business).await?;
        if let Some(c) = input.customer_id {
            self.storage.get_customer(business, c).await?;
        }
        let mut entropy = [0u8; GENERATED_CODE_BYTES];
        getrandom::fill(&mut entropy)
            .map_err(|e| ServiceError::Storage(StorageError::backend(e, true)))?;
        let d = input.validate(business, b.currency, entropy, self.clock.now())?;
        self.storage.insert_discount(&d).await?;
        Ok(d)
    }

    /// Reads a code by id.
    pub async fn get(
        &self,
        business: BusinessId,
        id: DiscountId,
    ) -> Result<Discount, ServiceError> {
        Ok(self.storage.get_discount(business, id).await?)
    }

    /// Reads a code as a customer types it.
    pub async fn find(&self, business: BusinessId, code: &str) -> Result<Discount, ServiceError> {
        self.storage
            .discount_by_code(business, &normalize_code(code))
            .await?
            .ok_or(ServiceError::NotFound { entity: "discount" })
    }

    /// Switches a code off (or back on).
    pub async fn set_disabled(
        &self,
        business: BusinessId,
        id: DiscountId,
        disabled: bool,
    ) -> Result<Discount, ServiceError> {
        Ok(self.storage.set_discount_disabled(business, id, disabled).await?)
    }

    /// Lists codes, oldest first.
    pub async fn list(
        &self,
        business: BusinessId,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Discount>, ServiceError> {
        let (limit, after) = page_params::<DiscountId>(limit, cursor)?;
        Ok(self.storage.list_discounts(business, after, limit).await?)
    }
}
