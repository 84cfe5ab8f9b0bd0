//! Recommendations of a business: the model built by a worker from its paid
//! and fulfilled orders and stored, so a restart answers at once; answers
//! for a customer, a product and a basket, with inactive and out-of-stock
//! products left out.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::domain::{
    BusinessId, CustomerId, Direction, MessageContent, OrderStatus, Product, ProductId,
};
use crate::ports::{
    Clock, OrderQuery, RecommenderInfo, Storage, StorageError, to_storage_precision,
};
use crate::recommend::{Basket, Model, ModelConfig, Pick, Reason};

use super::{BusinessCache, ServiceError};

/// Most picks one answer gives.
pub const RECOMMEND_K_MAX: usize = 20;
/// Businesses one worker round builds.
pub const RECOMMEND_BATCH: u32 = 10;
/// A model is not rebuilt sooner than this after its last build.
pub const REBUILD_AFTER_MINUTES: i64 = 10;
/// Recent inbound messages read for the products a customer named.
const MENTION_MESSAGES: usize = 5;

/// A recommended product with why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recommendation {
    /// The product.
    pub product: Product,
    /// Why it was picked.
    pub reason: Reason,
    /// The product it came from (bought together with, or named).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub because: Option<ProductId>,
    /// Higher is better, within one answer.
    pub score: f64,
}

/// Models loaded so far, each with when it was built, shared by every
/// service of a `Crm`.
#[derive(Debug, Default)]
pub struct RecommendRuntime {
    models: BusinessCache<(DateTime<Utc>, Arc<Model<ProductId>>)>,
}

impl RecommendRuntime {
    /// Keeps the models of at most `businesses` businesses in memory (the
    /// least recently used goes first).
    pub fn with_cached_businesses(businesses: usize) -> Self {
        Self { models: BusinessCache::new(businesses) }
    }
}

/// Recommendations of every business.
#[derive(Clone)]
pub struct Recommendations {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    runtime: Arc<RecommendRuntime>,
}

impl Recommendations {
    /// Recommendations over `storage`, caching models in `runtime`.
    pub fn new(
        storage: Arc<dyn Storage>,
        clock: Arc<dyn Clock>,
        runtime: Arc<RecommendRuntime>,
    ) -> Self {
        Self { storage, clock, runtime }
    }

    /// Recommendations with a cache of their own: for a service built
    /// without a `Crm`'s shared one.
    pub fn uncached(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self::new(storage, clock, Arc::default())
    }

    /// Builds the models of businesses whose sales changed since their last
    /// build (and not within the last 10 minutes); how many were built.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<usize, ServiceError> {
        let before = now - Duration::minutes(REBUILD_AFTER_MINUTES);
        let due = self.storage.recommenders_due(before, RECOMMEND_BATCH).await?;
        for business in &due {
            self.build(*business).await?;
        }
        Ok(due.len())
    }

    /// Builds and stores a business's model from its paid and fulfilled
    /// orders now.
    pub async fn build(&self, business: BusinessId) -> Result<RecommenderInfo, ServiceError> {
        let now = to_storage_precision(self.clock.now());
        let mut baskets = Vec::new();
        let mut lines = 0u64;
        for status in [OrderStatus::Paid, OrderStatus::Fulfilled] {
            let mut after = None;
            loop {
                let q = OrderQuery { customer: None, status: Some(status), limit: 200, after };
                let page = self.storage.list_orders(business, &q).await?;
                for o in &page.items {
                    let items: Vec<ProductId> =
                        o.items.iter().filter_map(|l| l.product_id).collect();
                    lines += items.len() as u64;
                    if !items.is_empty() {
                        baskets.push(Basket { items, at: o.created_at });
                    }
                }
                match page.next_cursor.and_then(|c| c.parse().ok()) {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        let started = Instant::now();
        let model = Model::build(&baskets, now, ModelConfig::default());
        let info = RecommenderInfo {
            built_at: now,
            orders: baskets.len() as u64,
            lines,
            products: model.products() as u32,
            build_ms: started.elapsed().as_secs_f64() * 1_000.0,
        };
        self.storage.save_recommender(business, &info, &model.to_bytes()).await?;
        Ok(info)
    }

    /// What the stored model was built from.
    pub async fn info(
        &self,
        business: BusinessId,
    ) -> Result<Option<RecommenderInfo>, ServiceError> {
        Ok(self.storage.recommender_info(business).await?)
    }

    /// The business's model, loaded once per build.
    async fn model(
        &self,
        business: BusinessId,
    ) -> Result<Option<Arc<Model<ProductId>>>, ServiceError> {
        let Some(info) = self.storage.recommender_info(business).await? else { return Ok(None) };
        let cached = self.runtime.models.get(business).filter(|(at, _)| *at == info.built_at);
        if let Some((_, m)) = cached {
            return Ok(Some(m));
        }
        let Some((info, bytes)) = self.storage.load_recommender(business).await? else {
            return Ok(None);
        };
        let model =
            Arc::new(Model::from_bytes(&bytes).map_err(|e| StorageError::backend(e, false))?);
        self.runtime.models.insert(business, (info.built_at, Arc::clone(&model)));
        Ok(Some(model))
    }

    /// Picks for a customer: the products they named lately first, then
    /// what goes with those and with what they bought, then trending and
    /// popular products.
    pub async fn for_customer(
        &self,
        business: BusinessId,
        customer: CustomerId,
        k: usize,
    ) -> Result<Vec<Recommendation>, ServiceError> {
        let s = &self.storage;
        s.get_customer(business, customer).await?;
        let Some(model) = self.model(business).await? else { return Ok(Vec::new()) };
        let history = self.history(business, customer).await?;
        let mentioned = self.mentioned(business, customer).await?;
        let k = k.clamp(1, RECOMMEND_K_MAX);
        self.resolve(business, k, |n, keep| model.personal(&history, &mentioned, n, keep)).await
    }

    /// The name of the best pick for each of `customers` from what they
    /// bought (then what sells), for a template's `recommended_product`;
    /// one order read per customer, the model read once. Customers with no
    /// pick (no model yet, nothing sellable) are left out.
    pub async fn top_picks(
        &self,
        business: BusinessId,
        customers: &[CustomerId],
    ) -> Result<HashMap<CustomerId, String>, ServiceError> {
        let mut out = HashMap::new();
        let Some(model) = self.model(business).await? else { return Ok(out) };
        let mut products = HashMap::new();
        for &customer in customers {
            let history = self.history(business, customer).await?;
            for pick in model.personal(&history, &[], 5, |p| !history.contains(&p)) {
                if let Some(p) = self.sellable(business, pick.product, &mut products).await? {
                    out.insert(customer, p.name.clone());
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The products of a customer's paid and fulfilled orders, the latest
    /// order first (its most recent 200 orders).
    async fn history(
        &self,
        business: BusinessId,
        customer: CustomerId,
    ) -> Result<Vec<ProductId>, ServiceError> {
        let q = OrderQuery { customer: Some(customer), status: None, limit: 200, after: None };
        let orders = self.storage.list_orders(business, &q).await?.items;
        Ok(orders
            .iter()
            .rev()
            .filter(|o| matches!(o.status, OrderStatus::Paid | OrderStatus::Fulfilled))
            .flat_map(|o| o.items.iter().filter_map(|l| l.product_id))
            .collect())
    }

    /// The product when it can be sold now (active, not out of stock),
    /// read once per `seen`; `None` too when it was deleted since the build.
    async fn sellable<'a>(
        &self,
        business: BusinessId,
        id: ProductId,
        seen: &'a mut HashMap<ProductId, Option<Product>>,
    ) -> Result<Option<&'a Product>, ServiceError> {
        if let std::collections::hash_map::Entry::Vacant(slot) = seen.entry(id) {
            slot.insert(match self.storage.get_product(business, id).await {
                Ok(p) => Some(p),
                Err(StorageError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            });
        }
        Ok(seen[&id].as_ref().filter(|p| p.active && p.available() != Some(0)))
    }

    /// Products bought together with `product`, then trending and popular
    /// ones; never `product` itself.
    pub async fn related(
        &self,
        business: BusinessId,
        product: ProductId,
        k: usize,
    ) -> Result<Vec<Recommendation>, ServiceError> {
        self.storage.get_product(business, product).await?;
        let Some(model) = self.model(business).await? else { return Ok(Vec::new()) };
        let k = k.clamp(1, RECOMMEND_K_MAX);
        self.resolve(business, k, |n, keep| model.related(product, n, keep)).await
    }

    /// Each product's decayed and total sales by the model, in order
    /// (zeros without a model or for a product it does not know).
    pub async fn standing(
        &self,
        business: BusinessId,
        products: &[ProductId],
    ) -> Result<Vec<(f32, f32)>, ServiceError> {
        let model = self.model(business).await?;
        Ok(products.iter().map(|p| model.as_ref().map_or((0.0, 0.0), |m| m.standing(*p))).collect())
    }

    /// Suggestions for a basket (a cart): what goes with its items; never
    /// one of them.
    pub async fn for_basket(
        &self,
        business: BusinessId,
        basket: &[ProductId],
        k: usize,
    ) -> Result<Vec<Recommendation>, ServiceError> {
        let Some(model) = self.model(business).await? else { return Ok(Vec::new()) };
        let k = k.clamp(1, RECOMMEND_K_MAX);
        self.resolve(business, k, |n, keep| model.for_basket(basket, n, keep)).await
    }

    /// The products the customer named in their latest messages, found by
    /// the catalog's search.
    async fn mentioned(
        &self,
        business: BusinessId,
        customer: CustomerId,
    ) -> Result<Vec<ProductId>, ServiceError> {
        let Some(c) = self.storage.latest_conversation(business, customer).await? else {
            return Ok(Vec::new());
        };
        let catalog = super::Catalog::new(Arc::clone(&self.storage), Arc::clone(&self.clock));
        let inbound = |m: &crate::domain::Message| m.direction == Direction::Inbound;
        let texts = super::conversations::latest_messages(
            &*self.storage,
            business,
            c.id,
            MENTION_MESSAGES,
            inbound,
        )
        .await?;
        let mut out = Vec::new();
        for m in texts.iter().rev() {
            if let MessageContent::Text { body } = &m.content
                && let Some(hit) =
                    catalog.search(business, body, 1, false).await?.into_iter().next()
                && !out.contains(&hit.product.id)
            {
                out.push(hit.product.id);
            }
        }
        Ok(out)
    }

    /// Reads the products of the model's picks and keeps active ones in
    /// stock, asking the model for more when too many are left out.
    async fn resolve<F>(
        &self,
        business: BusinessId,
        k: usize,
        picks: F,
    ) -> Result<Vec<Recommendation>, ServiceError>
    where
        F: Fn(usize, &dyn Fn(ProductId) -> bool) -> Vec<Pick<ProductId>>,
    {
        let mut refused: Vec<ProductId> = Vec::new();
        let mut seen: HashMap<ProductId, Option<Product>> = HashMap::new();
        let mut out = Vec::new();
        // Each pass leaves out what the last found inactive, out of stock or
        // gone; a few passes settle any catalog.
        for _ in 0..4 {
            let keep = |p: ProductId| !refused.contains(&p);
            out.clear();
            let mut fresh_refusals = false;
            for pick in picks(k, &keep) {
                match self.sellable(business, pick.product, &mut seen).await? {
                    Some(product) => out.push(Recommendation {
                        product: product.clone(),
                        reason: pick.reason,
                        because: pick.because,
                        score: if pick.score.is_finite() { pick.score } else { f64::MAX },
                    }),
                    None => {
                        refused.push(pick.product);
                        fresh_refusals = true;
                    }
                }
            }
            if !fresh_refusals {
                break;
            }
        }
        Ok(out)
    }
}
