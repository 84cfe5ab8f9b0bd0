//! Customer use cases: create, read, list, update, tag, delete.

use std::sync::Arc;

use crate::domain::{
    BusinessId, CUSTOMER_TAGS_MAX, Customer, CustomerId, CustomerPatch, NewCustomer, Tag,
    ValidationError,
};
use crate::ports::{Clock, CustomerQuery, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, Page, Storage};

use super::ServiceError;

/// Listing parameters as a client sends them; validated by [`Customers::list`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerListParams {
    /// Case-insensitive substring of name or phone.
    pub search: Option<String>,
    /// Only customers with this tag.
    pub tag: Option<String>,
    /// Page size, 1 to `PAGE_LIMIT_MAX` (default `PAGE_LIMIT_DEFAULT`).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Longest search text accepted, in characters.
pub const SEARCH_MAX_CHARS: usize = 100;

/// Customer use cases for every business.
#[derive(Clone)]
pub struct Customers {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
}

impl Customers {
    /// A service over `storage`.
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self { storage, clock }
    }

    /// Validates and stores a new customer. `Conflict` if the phone is taken.
    pub async fn create(
        &self,
        business: BusinessId,
        input: NewCustomer,
    ) -> Result<Customer, ServiceError> {
        let customer = input.validate(business, self.clock.now())?;
        self.storage.insert_customer(&customer).await?;
        Ok(customer)
    }

    /// Reads one customer.
    pub async fn get(
        &self,
        business: BusinessId,
        id: CustomerId,
    ) -> Result<Customer, ServiceError> {
        Ok(self.storage.get_customer(business, id).await?)
    }

    /// Lists customers, validating the parameters first.
    pub async fn list(
        &self,
        business: BusinessId,
        params: CustomerListParams,
    ) -> Result<Page<Customer>, ServiceError> {
        let mut v = ValidationError::default();
        let limit = params.limit.unwrap_or(PAGE_LIMIT_DEFAULT);
        if !(1..=PAGE_LIMIT_MAX).contains(&limit) {
            v.push("limit", format!("must be between 1 and {PAGE_LIMIT_MAX}"));
        }
        if params.search.as_ref().is_some_and(|s| s.chars().count() > SEARCH_MAX_CHARS) {
            v.push("search", format!("must be at most {SEARCH_MAX_CHARS} characters"));
        }
        let tag = params.tag.as_deref().and_then(|t| v.check("tag", Tag::parse(t)));
        let after = params.cursor.as_deref().and_then(|c| {
            v.check(
                "cursor",
                c.parse::<CustomerId>().map_err(|_| "is not a cursor from a previous page"),
            )
        });
        if !v.is_empty() {
            return Err(v.into());
        }
        let query = CustomerQuery { search: params.search, tag, limit, after };
        Ok(self.storage.list_customers(business, &query).await?)
    }

    /// Applies a partial update. `Conflict` if the new phone is taken.
    pub async fn update(
        &self,
        business: BusinessId,
        id: CustomerId,
        patch: CustomerPatch,
    ) -> Result<Customer, ServiceError> {
        let current = self.storage.get_customer(business, id).await?;
        let next = patch.apply(&current, self.clock.now())?;
        self.storage.update_customer(&next).await?;
        Ok(next)
    }

    /// Deletes a customer with their conversation history.
    pub async fn delete(&self, business: BusinessId, id: CustomerId) -> Result<(), ServiceError> {
        Ok(self.storage.delete_customer(business, id).await?)
    }

    /// Adds tags (atomically; tags already present are kept once).
    pub async fn add_tags(
        &self,
        business: BusinessId,
        id: CustomerId,
        tags: &[String],
    ) -> Result<Customer, ServiceError> {
        let tags = parse_tags(tags)?;
        let current = self.storage.get_customer(business, id).await?;
        let after = current.tags.iter().chain(&tags).collect::<std::collections::BTreeSet<_>>();
        if after.len() > CUSTOMER_TAGS_MAX {
            return Err(ValidationError::field(
                "tags",
                format!("at most {CUSTOMER_TAGS_MAX} tags per customer"),
            )
            .into());
        }
        Ok(self.storage.add_customer_tags(business, id, &tags, self.clock.now()).await?)
    }

    /// Removes tags (atomically; absent tags are ignored).
    pub async fn remove_tags(
        &self,
        business: BusinessId,
        id: CustomerId,
        tags: &[String],
    ) -> Result<Customer, ServiceError> {
        let tags = parse_tags(tags)?;
        Ok(self.storage.remove_customer_tags(business, id, &tags, self.clock.now()).await?)
    }
}

fn parse_tags(raw: &[String]) -> Result<Vec<Tag>, ValidationError> {
    let mut v = ValidationError::default();
    if raw.is_empty() {
        v.push("tags", "give at least one tag");
    }
    if raw.len() > CUSTOMER_TAGS_MAX {
        v.push("tags", format!("at most {CUSTOMER_TAGS_MAX} tags at once"));
    }
    let tags: Vec<Tag> = raw
        .iter()
        .enumerate()
        .filter_map(|(i, t)| v.check(&format!("tags[{i}]"), Tag::parse(t)))
        .collect();
    v.into_result(|| tags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::InMemoryStorage;
    use crate::ports::{ManualClock, StorageError};
    use crate::service::Crm;

    async fn setup() -> (Crm, BusinessId) {
        let crm = Crm::new(Arc::new(InMemoryStorage::new())).with_clock(Arc::new(
            ManualClock::new(chrono::DateTime::from_timestamp(1_767_254_400, 0).unwrap()),
        ));
        let b = crm
            .businesses()
            .create(crate::domain::NewBusiness {
                name: "Shop".into(),
                whatsapp_sender: "+254700000001".into(),
                time_zone: "Africa/Nairobi".into(),
                currency: "KES".into(),
            })
            .await
            .unwrap();
        (crm, b.id)
    }

    #[tokio::test]
    async fn duplicate_phone_is_a_conflict() {
        let (crm, b) = setup().await;
        crm.customers().create(b, NewCustomer::with_phone("+254712345678")).await.unwrap();
        let err = crm.customers().create(b, NewCustomer::with_phone("+254 712 345678")).await;
        assert!(matches!(err, Err(ServiceError::Conflict { entity: "customer", .. })), "{err:?}");
    }

    #[tokio::test]
    async fn list_validates_parameters_together() {
        let (crm, b) = setup().await;
        let params = CustomerListParams {
            limit: Some(0),
            tag: Some("no spaces".into()),
            cursor: Some("garbage".into()),
            search: None,
        };
        let Err(ServiceError::Invalid(v)) = crm.customers().list(b, params).await else {
            panic!("expected a validation error")
        };
        let fields: Vec<_> = v.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["limit", "tag", "cursor"]);
    }

    #[tokio::test]
    async fn tag_limit_holds_across_calls() {
        let (crm, b) = setup().await;
        let c = crm.customers().create(b, NewCustomer::with_phone("+254712345678")).await.unwrap();
        let first: Vec<String> = (0..CUSTOMER_TAGS_MAX).map(|i| format!("t{i}")).collect();
        crm.customers().add_tags(b, c.id, &first).await.unwrap();
        let err = crm.customers().add_tags(b, c.id, &["one-more".into()]).await;
        assert!(matches!(err, Err(ServiceError::Invalid(_))));
        assert!(crm.customers().add_tags(b, c.id, &["t0".into()]).await.is_ok());
    }

    #[tokio::test]
    async fn update_of_missing_customer_is_not_found() {
        let (crm, b) = setup().await;
        let err = crm.customers().update(b, CustomerId::new(), CustomerPatch::default()).await;
        assert_eq!(err, Err(ServiceError::NotFound { entity: "customer" }));
        let e: ServiceError = StorageError::backend("down", true).into();
        assert!(matches!(e, ServiceError::Storage(_)));
    }
}
