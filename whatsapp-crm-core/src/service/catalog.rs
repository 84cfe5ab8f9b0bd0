//! Catalog use cases: products, CSV import, search.

use std::collections::HashMap;
use std::sync::Arc;

use crate::commerce::import::{IMPORT_ERRORS_MAX, ImportError, ImportProblem, parse_csv};
use crate::commerce::search::{CANDIDATES_MAX, SEARCH_LIMIT_MAX, gather, rank};
use crate::commerce::{SearchHit, SearchQuery};
use crate::domain::{BusinessId, NewProduct, Product, ProductId};
use crate::ports::{Clock, Page, ProductQuery, Storage};

use super::ServiceError;

/// The catalog of each business.
#[derive(Clone)]
pub struct Catalog {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
}

impl Catalog {
    pub(super) fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self { storage, clock }
    }

    /// Adds one product.
    pub async fn create(
        &self,
        business: BusinessId,
        input: NewProduct,
    ) -> Result<Product, ServiceError> {
        let b = self.storage.get_business(business).await?;
        let p = input.validate(business, b.currency, self.clock.now())?;
        self.storage.insert_products(business, std::slice::from_ref(&p)).await?;
        Ok(p)
    }

    /// Imports a CSV file ([`crate::commerce::import`] documents its columns):
    /// every product or none. Every bad cell is reported by line and column,
    /// SKUs the catalog already has included.
    pub async fn import_csv(
        &self,
        business: BusinessId,
        data: &[u8],
    ) -> Result<Vec<Product>, ServiceError> {
        let b = self.storage.get_business(business).await?;
        let rows = parse_csv(data, business, b.currency, self.clock.now())?;
        let skus: Vec<String> = rows.iter().map(|(_, p)| p.sku.clone()).collect();
        let taken = self.storage.products_by_sku(business, &skus).await?;
        if !taken.is_empty() {
            let lines: HashMap<&str, u64> =
                rows.iter().map(|(line, p)| (p.sku.as_str(), *line)).collect();
            let mut problems: Vec<ImportProblem> = taken
                .iter()
                .map(|t| ImportProblem {
                    line: lines.get(t.sku.as_str()).copied().unwrap_or(0),
                    column: "sku".into(),
                    message: "already in the catalog".into(),
                })
                .collect();
            problems.sort_by_key(|p| p.line);
            problems.truncate(IMPORT_ERRORS_MAX);
            return Err(ImportError { problems }.into());
        }
        let products: Vec<Product> = rows.into_iter().map(|(_, p)| p).collect();
        self.storage.insert_products(business, &products).await?;
        Ok(products)
    }

    /// Reads a product.
    pub async fn get(&self, business: BusinessId, id: ProductId) -> Result<Product, ServiceError> {
        Ok(self.storage.get_product(business, id).await?)
    }

    /// Replaces a product's fields (its reserved units stay).
    pub async fn replace(
        &self,
        business: BusinessId,
        id: ProductId,
        input: NewProduct,
    ) -> Result<Product, ServiceError> {
        let current = self.storage.get_product(business, id).await?;
        let next = input.replace(&current, self.clock.now())?;
        Ok(self.storage.update_product(&next).await?)
    }

    /// Deletes a product that holds no reservations.
    pub async fn delete(&self, business: BusinessId, id: ProductId) -> Result<(), ServiceError> {
        Ok(self.storage.delete_product(business, id).await?)
    }

    /// Lists products in id order.
    pub async fn list(
        &self,
        business: BusinessId,
        query: &ProductQuery,
    ) -> Result<Page<Product>, ServiceError> {
        Ok(self.storage.list_products(business, query).await?)
    }

    /// The best `limit` products for `text`, best first; only active ones
    /// unless `include_inactive`.
    pub async fn search(
        &self,
        business: BusinessId,
        text: &str,
        limit: u32,
        include_inactive: bool,
    ) -> Result<Vec<SearchHit>, ServiceError> {
        let query = SearchQuery::parse(text);
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        for stage in query.stages() {
            let more = self.storage.search_candidates(business, &stage, CANDIDATES_MAX).await?;
            if gather(&mut found, more) {
                break;
            }
        }
        if !include_inactive {
            found.retain(|p| p.active);
        }
        Ok(rank(&query, found, limit.clamp(1, SEARCH_LIMIT_MAX)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{Crm, InMemoryStorage, NewBusiness};

    async fn shop() -> (Crm, BusinessId) {
        let crm = Crm::new(Arc::new(InMemoryStorage::new()));
        let b = crm
            .businesses()
            .create(NewBusiness {
                name: "Duka".into(),
                whatsapp_sender: "+254700000001".into(),
                time_zone: "Africa/Nairobi".into(),
                currency: "KES".into(),
            })
            .await
            .unwrap();
        (crm, b.id)
    }

    #[tokio::test]
    async fn an_import_with_three_bad_rows_of_a_thousand_stores_nothing() {
        let (crm, b) = shop().await;
        let mut csv = String::from("sku,name,price,on_hand\n");
        for i in 0..1000 {
            match i {
                // Lines are 1-based and the header is line 1: row i is line i + 2.
                100 => csv.push_str("BAD SKU,Bad sku,10,1\n"),
                500 => csv.push_str("P-500,Bad price,ten,1\n"),
                900 => csv.push_str("P-900,Bad stock,10,-3\n"),
                _ => csv.push_str(&format!("P-{i},Product {i},{}.50,{}\n", 10 + i, i % 7)),
            }
        }
        let Err(ServiceError::Import(e)) = crm.catalog().import_csv(b, csv.as_bytes()).await else {
            panic!("import should fail");
        };
        let got: Vec<(u64, &str)> =
            e.problems.iter().map(|p| (p.line, p.column.as_str())).collect();
        assert_eq!(got, [(102, "sku"), (502, "price"), (902, "on_hand")]);
        let page =
            crm.catalog().list(b, &ProductQuery { limit: 10, ..Default::default() }).await.unwrap();
        assert!(page.items.is_empty(), "nothing stored");
        // Fixed, the same file imports whole; importing it again names every taken SKU.
        let fixed = csv.replace("BAD SKU", "P-100").replace("ten", "10").replace("-3", "3");
        assert_eq!(crm.catalog().import_csv(b, fixed.as_bytes()).await.unwrap().len(), 1000);
        let Err(ServiceError::Import(e)) = crm.catalog().import_csv(b, fixed.as_bytes()).await
        else {
            panic!("second import should fail");
        };
        assert_eq!((e.problems.len(), e.problems[0].line), (200, 2), "capped, in line order");
        let hits = crm.catalog().search(b, "product 77", 3, false).await.unwrap();
        assert_eq!(hits[0].product.sku, "P-77");
    }
}
