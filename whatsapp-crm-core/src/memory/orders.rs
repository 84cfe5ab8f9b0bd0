//! Orders in memory, with the customer figures they drive.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{InMemoryStorage, Tenant, page_after};
use crate::domain::{BusinessId, CustomerId, Order, OrderId, OrderStatus};
use crate::ports::{OrderQuery, OrderStore, Page, StorageError, clamp_limit, created_event};

const ENTITY: &str = "order";

impl Tenant {
    /// Recomputes a customer's purchase figures from their counted orders.
    pub(super) fn refresh_purchases(&mut self, customer: CustomerId) {
        let counted = self
            .orders
            .values()
            .filter(|o| o.customer_id == customer && o.status.counts_as_purchase());
        let (mut total, mut count, mut last) = (0i64, 0u32, None::<DateTime<Utc>>);
        for o in counted {
            total = total.saturating_add(o.total.minor);
            count += 1;
            last = last.max(Some(o.created_at));
        }
        if let Some(c) = self.customers.get_mut(&customer) {
            c.stats.total_spent = total;
            c.stats.order_count = count;
            c.stats.last_order_at = last;
        }
    }
}

#[async_trait]
impl OrderStore for InMemoryStorage {
    async fn insert_order(&self, order: &Order) -> Result<(), StorageError> {
        let mut inner = self.write();
        let tenant = inner.tenant_mut(order.business_id, "customer")?;
        if !tenant.customers.contains_key(&order.customer_id) {
            return Err(StorageError::not_found("customer"));
        }
        if tenant.orders.contains_key(&order.id) {
            return Err(StorageError::conflict(ENTITY, "id already exists"));
        }
        tenant.orders.insert(order.id, order.clone());
        tenant.commerce.events.insert(order.id, vec![created_event(order, "staff")]);
        tenant.refresh_purchases(order.customer_id);
        Ok(())
    }

    async fn get_order(&self, business: BusinessId, id: OrderId) -> Result<Order, StorageError> {
        self.read()
            .tenant(business)
            .and_then(|t| t.orders.get(&id))
            .cloned()
            .ok_or(StorageError::not_found(ENTITY))
    }

    async fn update_order_status(
        &self,
        business: BusinessId,
        id: OrderId,
        status: OrderStatus,
        at: DateTime<Utc>,
    ) -> Result<Order, StorageError> {
        let mut inner = self.write();
        let tenant = inner.tenant_mut(business, ENTITY)?;
        let order = tenant.orders.get_mut(&id).ok_or(StorageError::not_found(ENTITY))?;
        order.status = status;
        order.updated_at = at;
        let order = order.clone();
        tenant.refresh_purchases(order.customer_id);
        Ok(order)
    }

    async fn list_orders(
        &self,
        business: BusinessId,
        query: &OrderQuery,
    ) -> Result<Page<Order>, StorageError> {
        let limit = clamp_limit(query.limit);
        let inner = self.read();
        let Some(tenant) = inner.tenant(business) else {
            return Ok(Page { items: Vec::new(), next_cursor: None });
        };
        let rows: Vec<Order> = page_after(&tenant.orders, query.after)
            .filter(|o| query.customer.is_none_or(|c| o.customer_id == c))
            .filter(|o| query.status.is_none_or(|s| o.status == s))
            .take(limit as usize + 1)
            .cloned()
            .collect();
        Ok(Page::from_overfetch(rows, limit, |o| o.id.to_string()))
    }
}
