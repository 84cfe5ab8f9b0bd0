//! The catalog, carts and discount codes in memory.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;

use super::{InMemoryStorage, page_after};
use crate::commerce::search::{Candidates, candidates};
use crate::domain::{
    BusinessId, Cart, CartId, CartStatus, CustomerId, Discount, DiscountId, OrderEvent, OrderId,
    OrderNotification, Product, ProductId, Shipment, ShipmentEvent, ShipmentId, Stock,
};
use crate::ports::{
    CART_CLOSED, CartQuery, CartStore, CatalogStore, DISCOUNT_CODE_TAKEN, DiscountStore, HoldState,
    Page, ProductQuery, SKU_TAKEN, STOCK_RESERVED, StorageError, clamp_limit,
};

/// One business's commerce rows.
#[derive(Debug, Default)]
pub(super) struct Commerce {
    pub(super) products: BTreeMap<ProductId, Product>,
    pub(super) skus: HashMap<String, ProductId>,
    pub(super) carts: BTreeMap<CartId, Cart>,
    pub(super) discounts: BTreeMap<DiscountId, Discount>,
    pub(super) codes: HashMap<String, DiscountId>,
    /// Redemptions: which customer used which code for which order.
    pub(super) redemptions: Vec<(DiscountId, CustomerId, OrderId)>,
    /// Units each order holds of each product.
    pub(super) holds: BTreeMap<(OrderId, ProductId), (u32, HoldState)>,
    pub(super) events: BTreeMap<OrderId, Vec<OrderEvent>>,
    pub(super) shipments: BTreeMap<ShipmentId, Shipment>,
    /// Each shipment's reports, in arrival order.
    pub(super) shipment_events: BTreeMap<ShipmentId, Vec<ShipmentEvent>>,
    /// Each order's notices, in the order they were decided.
    pub(super) notices: BTreeMap<OrderId, Vec<OrderNotification>>,
}

const PRODUCT: &str = "product";
const CART: &str = "cart";
const DISCOUNT: &str = "discount";

#[async_trait]
impl CatalogStore for InMemoryStorage {
    async fn insert_products(
        &self,
        business: BusinessId,
        products: &[Product],
    ) -> Result<(), StorageError> {
        let mut inner = self.write();
        let c = &mut inner.tenant_mut(business, "business")?.commerce;
        let mut fresh = std::collections::HashSet::new();
        for p in products {
            if p.business_id != business {
                return Err(StorageError::not_found("business"));
            }
            if c.skus.contains_key(&p.sku) || !fresh.insert(p.sku.as_str()) {
                return Err(StorageError::conflict(PRODUCT, SKU_TAKEN));
            }
            if c.products.contains_key(&p.id) {
                return Err(StorageError::conflict(PRODUCT, "id already exists"));
            }
        }
        for p in products {
            c.skus.insert(p.sku.clone(), p.id);
            c.products.insert(p.id, p.clone());
        }
        Ok(())
    }

    async fn get_product(
        &self,
        business: BusinessId,
        id: ProductId,
    ) -> Result<Product, StorageError> {
        self.read()
            .tenant(business)
            .and_then(|t| t.commerce.products.get(&id))
            .cloned()
            .ok_or(StorageError::not_found(PRODUCT))
    }

    async fn products_by_sku(
        &self,
        business: BusinessId,
        skus: &[String],
    ) -> Result<Vec<Product>, StorageError> {
        let inner = self.read();
        let Some(t) = inner.tenant(business) else { return Ok(Vec::new()) };
        let mut ids: Vec<ProductId> =
            skus.iter().filter_map(|s| t.commerce.skus.get(s).copied()).collect();
        ids.sort();
        ids.dedup();
        Ok(ids.iter().filter_map(|id| t.commerce.products.get(id)).cloned().collect())
    }

    async fn update_product(&self, product: &Product) -> Result<Product, StorageError> {
        let mut inner = self.write();
        let c = &mut inner.tenant_mut(product.business_id, PRODUCT)?.commerce;
        let stored = c.products.get(&product.id).ok_or(StorageError::not_found(PRODUCT))?;
        let reserved = stored.stock.map_or(0, |s| s.reserved);
        let stock = match product.stock {
            Some(s) if s.on_hand < reserved => {
                return Err(StorageError::conflict(PRODUCT, STOCK_RESERVED));
            }
            None if reserved > 0 => return Err(StorageError::conflict(PRODUCT, STOCK_RESERVED)),
            s => s.map(|s| Stock::new(s.on_hand, reserved)),
        };
        if c.skus.get(&product.sku).is_some_and(|id| *id != product.id) {
            return Err(StorageError::conflict(PRODUCT, SKU_TAKEN));
        }
        let old_sku = stored.sku.clone();
        let next = Product { stock, created_at: stored.created_at, ..product.clone() };
        c.skus.remove(&old_sku);
        c.skus.insert(next.sku.clone(), next.id);
        c.products.insert(next.id, next.clone());
        Ok(next)
    }

    async fn delete_product(
        &self,
        business: BusinessId,
        id: ProductId,
    ) -> Result<(), StorageError> {
        let mut inner = self.write();
        let c = &mut inner.tenant_mut(business, PRODUCT)?.commerce;
        let p = c.products.get(&id).ok_or(StorageError::not_found(PRODUCT))?;
        if p.stock.is_some_and(|s| s.reserved > 0) {
            return Err(StorageError::conflict(PRODUCT, STOCK_RESERVED));
        }
        let sku = p.sku.clone();
        c.skus.remove(&sku);
        c.products.remove(&id);
        Ok(())
    }

    async fn list_products(
        &self,
        business: BusinessId,
        query: &ProductQuery,
    ) -> Result<Page<Product>, StorageError> {
        let limit = clamp_limit(query.limit);
        let inner = self.read();
        let Some(t) = inner.tenant(business) else {
            return Ok(Page { items: Vec::new(), next_cursor: None });
        };
        let rows: Vec<Product> = page_after(&t.commerce.products, query.after)
            .filter(|p| query.category.as_ref().is_none_or(|c| p.category.as_ref() == Some(c)))
            .filter(|p| query.active.is_none_or(|a| p.active == a))
            .take(limit as usize + 1)
            .cloned()
            .collect();
        Ok(Page::from_overfetch(rows, limit, |p| p.id.to_string()))
    }

    async fn search_candidates(
        &self,
        business: BusinessId,
        stage: &Candidates,
        limit: u32,
    ) -> Result<Vec<Product>, StorageError> {
        let inner = self.read();
        let Some(t) = inner.tenant(business) else { return Ok(Vec::new()) };
        Ok(candidates(stage, t.commerce.products.values(), limit))
    }
}

#[async_trait]
impl CartStore for InMemoryStorage {
    async fn open_cart(
        &self,
        business: BusinessId,
        customer: CustomerId,
    ) -> Result<Option<Cart>, StorageError> {
        let inner = self.read();
        let Some(t) = inner.tenant(business) else { return Ok(None) };
        Ok(t.commerce
            .carts
            .values()
            .find(|c| c.customer_id == customer && c.status == CartStatus::Open)
            .cloned())
    }

    async fn get_cart(&self, business: BusinessId, id: CartId) -> Result<Cart, StorageError> {
        self.read()
            .tenant(business)
            .and_then(|t| t.commerce.carts.get(&id))
            .cloned()
            .ok_or(StorageError::not_found(CART))
    }

    async fn save_cart(&self, cart: &Cart) -> Result<(), StorageError> {
        let mut inner = self.write();
        let t = inner.tenant_mut(cart.business_id, "customer")?;
        if !t.customers.contains_key(&cart.customer_id) {
            return Err(StorageError::not_found("customer"));
        }
        let c = &mut t.commerce;
        if cart.status != CartStatus::Open
            || c.carts.get(&cart.id).is_some_and(|s| s.status != CartStatus::Open)
            || c.carts.values().any(|o| {
                o.id != cart.id && o.customer_id == cart.customer_id && o.status == CartStatus::Open
            })
        {
            return Err(StorageError::conflict(CART, CART_CLOSED));
        }
        c.carts.insert(cart.id, cart.clone());
        Ok(())
    }

    async fn list_carts(
        &self,
        business: BusinessId,
        query: &CartQuery,
    ) -> Result<Page<Cart>, StorageError> {
        let limit = clamp_limit(query.limit);
        let inner = self.read();
        let Some(t) = inner.tenant(business) else {
            return Ok(Page { items: Vec::new(), next_cursor: None });
        };
        let rows: Vec<Cart> = page_after(&t.commerce.carts, query.after)
            .filter(|c| query.customer.is_none_or(|x| c.customer_id == x))
            .filter(|c| query.status.is_none_or(|s| c.status == s))
            .take(limit as usize + 1)
            .cloned()
            .collect();
        Ok(Page::from_overfetch(rows, limit, |c| c.id.to_string()))
    }

    async fn expire_carts(
        &self,
        idle_before: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<u32, StorageError> {
        let mut inner = self.write();
        let mut idle: Vec<(chrono::DateTime<chrono::Utc>, BusinessId, CartId)> = inner
            .tenants
            .iter()
            .flat_map(|(b, t)| {
                t.commerce
                    .carts
                    .values()
                    .filter(|c| c.status == CartStatus::Open && c.updated_at < idle_before)
                    .map(move |c| (c.updated_at, *b, c.id))
            })
            .collect();
        idle.sort();
        idle.truncate(limit as usize);
        for (_, b, id) in &idle {
            if let Some(cart) = inner.tenants.get_mut(b).and_then(|t| t.commerce.carts.get_mut(id))
            {
                cart.status = CartStatus::Expired;
            }
        }
        Ok(idle.len() as u32)
    }
}

#[async_trait]
impl DiscountStore for InMemoryStorage {
    async fn insert_discount(&self, d: &Discount) -> Result<(), StorageError> {
        let mut inner = self.write();
        let c = &mut inner.tenant_mut(d.business_id, "business")?.commerce;
        if c.codes.contains_key(&d.rules.code) {
            return Err(StorageError::conflict(DISCOUNT, DISCOUNT_CODE_TAKEN));
        }
        if c.discounts.contains_key(&d.id) {
            return Err(StorageError::conflict(DISCOUNT, "id already exists"));
        }
        c.codes.insert(d.rules.code.clone(), d.id);
        c.discounts.insert(d.id, d.clone());
        Ok(())
    }

    async fn get_discount(
        &self,
        business: BusinessId,
        id: DiscountId,
    ) -> Result<Discount, StorageError> {
        self.read()
            .tenant(business)
            .and_then(|t| t.commerce.discounts.get(&id))
            .cloned()
            .ok_or(StorageError::not_found(DISCOUNT))
    }

    async fn discount_by_code(
        &self,
        business: BusinessId,
        code: &str,
    ) -> Result<Option<Discount>, StorageError> {
        let inner = self.read();
        let Some(t) = inner.tenant(business) else { return Ok(None) };
        Ok(t.commerce.codes.get(code).and_then(|id| t.commerce.discounts.get(id)).cloned())
    }

    async fn set_discount_disabled(
        &self,
        business: BusinessId,
        id: DiscountId,
        disabled: bool,
    ) -> Result<Discount, StorageError> {
        let mut inner = self.write();
        let c = &mut inner.tenant_mut(business, DISCOUNT)?.commerce;
        let d = c.discounts.get_mut(&id).ok_or(StorageError::not_found(DISCOUNT))?;
        d.rules.disabled = disabled;
        Ok(d.clone())
    }

    async fn list_discounts(
        &self,
        business: BusinessId,
        after: Option<DiscountId>,
        limit: u32,
    ) -> Result<Page<Discount>, StorageError> {
        let limit = clamp_limit(limit);
        let inner = self.read();
        let Some(t) = inner.tenant(business) else {
            return Ok(Page { items: Vec::new(), next_cursor: None });
        };
        let rows: Vec<Discount> =
            page_after(&t.commerce.discounts, after).take(limit as usize + 1).cloned().collect();
        Ok(Page::from_overfetch(rows, limit, |d| d.id.to_string()))
    }
}
