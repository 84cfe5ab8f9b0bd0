//! Customers in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{InMemoryStorage, Tenant, page_after};
use crate::domain::{BusinessId, Customer, CustomerId, PhoneNumber, Tag, search_needle};
use crate::ports::{
    CustomerQuery, CustomerStore, PHONE_TAKEN, Page, SegmentMatch, StorageError, clamp_limit,
};
use crate::segment::{CustomerTable, Rule, SegmentContext};

const ENTITY: &str = "customer";

impl Tenant {
    fn customer_mut(&mut self, id: CustomerId) -> Result<&mut Customer, StorageError> {
        self.customers.get_mut(&id).ok_or(StorageError::not_found(ENTITY))
    }
}

#[async_trait]
impl CustomerStore for InMemoryStorage {
    async fn insert_customer(&self, customer: &Customer) -> Result<(), StorageError> {
        let mut inner = self.write();
        let tenant = inner.tenant_mut(customer.business_id, "business")?;
        if tenant.phones.contains_key(&customer.phone) {
            return Err(StorageError::conflict(ENTITY, PHONE_TAKEN));
        }
        if tenant.customers.contains_key(&customer.id) {
            return Err(StorageError::conflict(ENTITY, "id already exists"));
        }
        tenant.phones.insert(customer.phone.clone(), customer.id);
        tenant.customers.insert(customer.id, customer.clone());
        Ok(())
    }

    async fn get_customer(
        &self,
        business: BusinessId,
        id: CustomerId,
    ) -> Result<Customer, StorageError> {
        self.read()
            .tenant(business)
            .and_then(|t| t.customers.get(&id))
            .cloned()
            .ok_or(StorageError::not_found(ENTITY))
    }

    async fn get_customers(
        &self,
        business: BusinessId,
        ids: &[CustomerId],
    ) -> Result<Vec<Customer>, StorageError> {
        let inner = self.read();
        let Some(t) = inner.tenant(business) else { return Ok(Vec::new()) };
        Ok(ids.iter().filter_map(|id| t.customers.get(id).cloned()).collect())
    }

    async fn find_customer_by_phone(
        &self,
        business: BusinessId,
        phone: &PhoneNumber,
    ) -> Result<Option<Customer>, StorageError> {
        let inner = self.read();
        let Some(tenant) = inner.tenant(business) else {
            return Ok(None);
        };
        Ok(tenant.phones.get(phone).and_then(|id| tenant.customers.get(id)).cloned())
    }

    async fn update_customer(&self, customer: &Customer) -> Result<(), StorageError> {
        let mut inner = self.write();
        let tenant = inner.tenant_mut(customer.business_id, ENTITY)?;
        let old_phone = tenant
            .customers
            .get(&customer.id)
            .map(|c| c.phone.clone())
            .ok_or(StorageError::not_found(ENTITY))?;
        if old_phone != customer.phone {
            if tenant.phones.contains_key(&customer.phone) {
                return Err(StorageError::conflict(ENTITY, PHONE_TAKEN));
            }
            tenant.phones.remove(&old_phone);
            tenant.phones.insert(customer.phone.clone(), customer.id);
        }
        let mut next = customer.clone();
        if let Some(stored) = tenant.customers.get(&customer.id) {
            next.stats = stored.stats;
            next.first_seen_at = stored.first_seen_at;
            next.last_seen_at = stored.last_seen_at;
            next.last_inbound_at = stored.last_inbound_at;
        }
        tenant.customers.insert(customer.id, next);
        Ok(())
    }

    async fn delete_customer(
        &self,
        business: BusinessId,
        id: CustomerId,
    ) -> Result<(), StorageError> {
        let mut inner = self.write();
        let tenant = inner.tenant_mut(business, ENTITY)?;
        let customer = tenant.customers.remove(&id).ok_or(StorageError::not_found(ENTITY))?;
        tenant.phones.remove(&customer.phone);
        tenant.conversations.retain(|_, c| c.customer_id != id);
        // Their orders go, so what those orders reserved goes back on sale.
        let orders: Vec<_> =
            tenant.orders.values().filter(|o| o.customer_id == id).map(|o| o.id).collect();
        for o in orders {
            tenant.release_order(o);
        }
        tenant.orders.retain(|_, o| o.customer_id != id);
        tenant.commerce.carts.retain(|_, c| c.customer_id != id);
        tenant.commerce.redemptions.retain(|(_, c, _)| *c != id);
        let gone: Vec<_> =
            tenant.messages.values().filter(|m| m.customer_id == id).map(|m| m.id).collect();
        for mid in gone {
            tenant.outbox.remove(&mid);
            if let Some(m) = tenant.messages.remove(&mid)
                && let Some(p) = m.provider_id
            {
                tenant.provider_ids.remove(&p);
            }
        }
        Ok(())
    }

    async fn list_customers(
        &self,
        business: BusinessId,
        query: &CustomerQuery,
    ) -> Result<Page<Customer>, StorageError> {
        let limit = clamp_limit(query.limit);
        let inner = self.read();
        let Some(tenant) = inner.tenant(business) else {
            return Ok(Page { items: Vec::new(), next_cursor: None });
        };
        let needle = query.search.as_deref().map(search_needle).filter(|n| !n.is_empty());
        let rows: Vec<Customer> = page_after(&tenant.customers, query.after)
            .filter(|c| query.tag.as_ref().is_none_or(|t| c.tags.contains(t)))
            .filter(|c| needle.as_ref().is_none_or(|n| c.search_text().contains(n.as_str())))
            .take(limit as usize + 1)
            .cloned()
            .collect();
        Ok(Page::from_overfetch(rows, limit, |c| c.id.to_string()))
    }

    async fn segment_customers(
        &self,
        business: BusinessId,
        rule: &Rule,
        ctx: &SegmentContext,
        created_by: DateTime<Utc>,
        after: Option<CustomerId>,
        limit: u32,
    ) -> Result<Vec<Customer>, StorageError> {
        let inner = self.read();
        let Some(tenant) = inner.tenant(business) else { return Ok(Vec::new()) };
        let (table, program) = compiled(tenant, rule, ctx);
        let mut ids = table.select(&program);
        ids.retain(|id| after.is_none_or(|a| *id > a));
        ids.sort_unstable();
        Ok(ids
            .into_iter()
            .filter_map(|id| tenant.customers.get(&id))
            .filter(|c| c.created_at <= created_by)
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn select_segment(
        &self,
        business: BusinessId,
        rule: &Rule,
        ctx: &SegmentContext,
        limit: u32,
        after: Option<CustomerId>,
    ) -> Result<SegmentMatch, StorageError> {
        let limit = clamp_limit(limit);
        let inner = self.read();
        let Some(tenant) = inner.tenant(business) else {
            return Ok(SegmentMatch {
                count: 0,
                customers: Page { items: Vec::new(), next_cursor: None },
            });
        };
        let (table, program) = compiled(tenant, rule, ctx);
        let ids = table.select(&program);
        let rows: Vec<Customer> = ids
            .iter()
            .filter(|id| after.is_none_or(|a| **id > a))
            .take(limit as usize + 1)
            .filter_map(|id| tenant.customers.get(id).cloned())
            .collect();
        Ok(SegmentMatch {
            count: ids.len() as u64,
            customers: Page::from_overfetch(rows, limit, |c| c.id.to_string()),
        })
    }

    async fn add_customer_tags(
        &self,
        business: BusinessId,
        id: CustomerId,
        tags: &[Tag],
        at: DateTime<Utc>,
    ) -> Result<Customer, StorageError> {
        let mut inner = self.write();
        let customer = inner.tenant_mut(business, ENTITY)?.customer_mut(id)?;
        customer.tags.extend(tags.iter().cloned());
        customer.updated_at = at;
        Ok(customer.clone())
    }

    async fn remove_customer_tags(
        &self,
        business: BusinessId,
        id: CustomerId,
        tags: &[Tag],
        at: DateTime<Utc>,
    ) -> Result<Customer, StorageError> {
        let mut inner = self.write();
        let customer = inner.tenant_mut(business, ENTITY)?.customer_mut(id)?;
        for t in tags {
            customer.tags.remove(t);
        }
        customer.updated_at = at;
        Ok(customer.clone())
    }
}

/// The business's customers as evaluator columns, with `rule` compiled for them.
fn compiled(
    tenant: &super::Tenant,
    rule: &Rule,
    ctx: &SegmentContext,
) -> (CustomerTable, crate::segment::Program) {
    let mut table = CustomerTable::new();
    for c in tenant.customers.values() {
        let orders: Vec<_> = tenant
            .orders
            .values()
            .filter(|o| o.customer_id == c.id && o.status.counts_as_purchase())
            .map(|o| o.created_at)
            .collect();
        table.push(c, &orders);
    }
    let program = table.compile(rule, ctx.now, ctx.time_zone);
    (table, program)
}
