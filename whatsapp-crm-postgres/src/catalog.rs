//! The catalog with its gram index, carts and discount codes.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use whatsapp_crm_core::commerce::search::{Candidates, product_terms};
use whatsapp_crm_core::ports::{
    CART_CLOSED, CartQuery, CartStore, CatalogStore, DiscountStore, Page, ProductQuery,
    STOCK_RESERVED, clamp_limit, enum_to_text,
};
use whatsapp_crm_core::{
    BusinessId, Cart, CartId, CartStatus, CustomerId, Discount, DiscountId, Money, OrderId,
    Product, ProductId, Stock, StorageError,
};

use crate::codec::{get, get_enum, get_json, get_parsed, to_json};
use crate::error::{Ctx, corrupt, map};
use crate::listing::Listing;
use crate::storage::PostgresStorage;

const PRODUCT: Ctx = Ctx::new("product", "business");
const CART: Ctx = Ctx::new("cart", "customer");
const DISCOUNT: Ctx = Ctx::new("discount", "business");

fn units(row: &PgRow, col: &str) -> Result<u32, StorageError> {
    let v: i64 = get(row, col)?;
    u32::try_from(v).map_err(|e| corrupt(col, e))
}

pub(crate) fn product_row(row: &PgRow) -> Result<Product, StorageError> {
    let tracked: bool = get(row, "track_stock")?;
    Ok(Product {
        id: ProductId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        sku: get(row, "sku")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        category: get(row, "category")?,
        image_url: get(row, "image_url")?,
        attributes: get_json(row, "attributes")?,
        price: Money::new(get(row, "price_minor")?, get_parsed(row, "currency")?),
        active: get(row, "active")?,
        stock: if tracked {
            Some(Stock::new(units(row, "on_hand")?, units(row, "reserved")?))
        } else {
            None
        },
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

fn grams(p: &Product) -> Vec<String> {
    product_terms(p).into_iter().collect()
}

/// Every column but the grams, which no caller reads back.
const COLUMNS: &str = "business_id, id, sku, name, description, category, image_url, attributes, price_minor, \
     currency, active, track_stock, on_hand, reserved, created_at, updated_at";

#[async_trait]
impl CatalogStore for PostgresStorage {
    async fn insert_products(
        &self,
        business: BusinessId,
        products: &[Product],
    ) -> Result<(), StorageError> {
        if products.iter().any(|p| p.business_id != business) {
            return Err(StorageError::not_found("business"));
        }
        let mut tx = self.pool.begin().await.map_err(|e| map(PRODUCT, e))?;
        // One statement per thousand rows, each column an array.
        for chunk in products.chunks(1000) {
            let col = |f: fn(&Product) -> String| chunk.iter().map(f).collect::<Vec<_>>();
            let ids: Vec<uuid::Uuid> = chunk.iter().map(|p| p.id.as_uuid()).collect();
            let opt = |f: fn(&Product) -> Option<String>| chunk.iter().map(f).collect::<Vec<_>>();
            let attributes: Vec<Json<serde_json::Value>> =
                chunk.iter().map(|p| to_json(&p.attributes).map(Json)).collect::<Result<_, _>>()?;
            // Grams hold no spaces, so each product's travel as one string.
            let grams: Vec<String> = chunk.iter().map(|p| grams(p).join(" ")).collect();
            sqlx::query(
                "INSERT INTO products (business_id, id, sku, name, description, category, image_url, attributes,
                   price_minor, currency, active, track_stock, on_hand, reserved, search_grams, created_at, updated_at)
                 SELECT $1, u.id, u.sku, u.name, u.description, u.category, u.image_url, u.attributes, u.price_minor,
                   u.currency, u.active, u.track_stock, u.on_hand, u.reserved,
                   string_to_array(u.grams, ' '), u.created_at, u.updated_at
                 FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[],
                   $9::bigint[], $10::text[], $11::boolean[], $12::boolean[], $13::bigint[], $14::bigint[],
                   $15::text[], $16::timestamptz[], $17::timestamptz[])
                   AS u(id, sku, name, description, category, image_url, attributes, price_minor, currency, active,
                        track_stock, on_hand, reserved, grams, created_at, updated_at)",
            )
            .bind(business.as_uuid())
            .bind(ids)
            .bind(col(|p| p.sku.clone()))
            .bind(col(|p| p.name.clone()))
            .bind(opt(|p| p.description.clone()))
            .bind(opt(|p| p.category.clone()))
            .bind(opt(|p| p.image_url.clone()))
            .bind(attributes)
            .bind(chunk.iter().map(|p| p.price.minor).collect::<Vec<_>>())
            .bind(col(|p| p.price.currency.as_str().to_owned()))
            .bind(chunk.iter().map(|p| p.active).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.stock.is_some()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| i64::from(p.stock.map_or(0, |s| s.on_hand))).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| i64::from(p.stock.map_or(0, |s| s.reserved))).collect::<Vec<_>>())
            .bind(grams)
            .bind(chunk.iter().map(|p| p.created_at).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.updated_at).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await
            .map_err(|e| map(PRODUCT, e))?;
        }
        tx.commit().await.map_err(|e| map(PRODUCT, e))
    }

    async fn get_product(
        &self,
        business: BusinessId,
        id: ProductId,
    ) -> Result<Product, StorageError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM products WHERE business_id = $1 AND id = $2"
        )))
        .bind(business.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| map(PRODUCT, e))?;
        row.as_ref().map(product_row).transpose()?.ok_or(StorageError::not_found("product"))
    }

    async fn products_by_sku(
        &self,
        business: BusinessId,
        skus: &[String],
    ) -> Result<Vec<Product>, StorageError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM products WHERE business_id = $1 AND sku = ANY($2)"
        )))
        .bind(business.as_uuid())
        .bind(skus)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(PRODUCT, e))?;
        rows.iter().map(product_row).collect()
    }

    async fn update_product(&self, product: &Product) -> Result<Product, StorageError> {
        let p = product;
        let mut tx = self.pool.begin().await.map_err(|e| map(PRODUCT, e))?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM products WHERE business_id = $1 AND id = $2 FOR UPDATE"
        )))
        .bind(p.business_id.as_uuid())
        .bind(p.id.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map(PRODUCT, e))?;
        let stored =
            row.as_ref().map(product_row).transpose()?.ok_or(StorageError::not_found("product"))?;
        let reserved = stored.stock.map_or(0, |s| s.reserved);
        let stock = match p.stock {
            Some(s) if s.on_hand < reserved => {
                return Err(StorageError::conflict("product", STOCK_RESERVED));
            }
            None if reserved > 0 => return Err(StorageError::conflict("product", STOCK_RESERVED)),
            s => s.map(|s| Stock::new(s.on_hand, reserved)),
        };
        let next = Product { stock, created_at: stored.created_at, ..p.clone() };
        sqlx::query(
            "UPDATE products SET sku = $3, name = $4, description = $5, category = $6, image_url = $7,
               attributes = $8, price_minor = $9, currency = $10, active = $11, track_stock = $12, on_hand = $13,
               search_grams = $14, updated_at = $15
             WHERE business_id = $1 AND id = $2",
        )
        .bind(next.business_id.as_uuid())
        .bind(next.id.as_uuid())
        .bind(&next.sku)
        .bind(&next.name)
        .bind(&next.description)
        .bind(&next.category)
        .bind(&next.image_url)
        .bind(Json(to_json(&next.attributes)?))
        .bind(next.price.minor)
        .bind(next.price.currency.as_str())
        .bind(next.active)
        .bind(next.stock.is_some())
        .bind(i64::from(next.stock.map_or(0, |s| s.on_hand)))
        .bind(grams(&next))
        .bind(next.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(PRODUCT, e))?;
        tx.commit().await.map_err(|e| map(PRODUCT, e))?;
        Ok(next)
    }

    async fn delete_product(
        &self,
        business: BusinessId,
        id: ProductId,
    ) -> Result<(), StorageError> {
        let done =
            sqlx::query("DELETE FROM products WHERE business_id = $1 AND id = $2 AND reserved = 0")
                .bind(business.as_uuid())
                .bind(id.as_uuid())
                .execute(&self.pool)
                .await
                .map_err(|e| map(PRODUCT, e))?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        // Either there is no such product, or it holds reservations.
        self.get_product(business, id).await?;
        Err(StorageError::conflict("product", STOCK_RESERVED))
    }

    async fn list_products(
        &self,
        business: BusinessId,
        query: &ProductQuery,
    ) -> Result<Page<Product>, StorageError> {
        let mut l = Listing::new("products", business)?;
        if let Some(after) = query.after {
            l.filter("id > ?", after.as_uuid())?;
        }
        if let Some(c) = &query.category {
            l.filter("category = ?", c.clone())?;
        }
        if let Some(a) = query.active {
            l.filter("active = ?", a)?;
        }
        l.page(self, PRODUCT, clamp_limit(query.limit), product_row, |p| p.id.to_string()).await
    }

    async fn search_candidates(
        &self,
        business: BusinessId,
        stage: &Candidates,
        limit: u32,
    ) -> Result<Vec<Product>, StorageError> {
        let (sql, arrays) = match stage {
            Candidates::Words(groups) if !groups.is_empty() => {
                let each: Vec<String> = (0..groups.len())
                    .map(|i| format!("search_grams && ${}::text[]", i + 3))
                    .collect();
                (
                    format!(
                        "SELECT {COLUMNS} FROM products WHERE business_id = $1 AND {}
                         ORDER BY id LIMIT $2",
                        each.join(" AND ")
                    ),
                    groups.clone(),
                )
            }
            Candidates::Grams { pairs, grams } if !pairs.is_empty() => {
                let (firsts, seconds) = pairs.iter().cloned().unzip();
                (
                    format!(
                        "SELECT {COLUMNS} FROM products
                         WHERE business_id = $1 AND search_grams && $5::text[]
                           AND EXISTS (SELECT 1 FROM unnest($3::text[], $4::text[]) AS q (a, b)
                                       WHERE search_grams @> ARRAY[q.a, q.b])
                         ORDER BY cardinality(ARRAY(SELECT unnest(search_grams)
                                                    INTERSECT SELECT unnest($5::text[]))) DESC, id
                         LIMIT $2"
                    ),
                    vec![firsts, seconds, grams.clone()],
                )
            }
            _ => return Ok(Vec::new()),
        };
        let mut q =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(business.as_uuid()).bind(i64::from(limit));
        for a in arrays {
            q = q.bind(a);
        }
        let rows = q.fetch_all(&self.pool).await.map_err(|e| map(PRODUCT, e))?;
        rows.iter().map(product_row).collect()
    }
}

pub(crate) fn cart_row(row: &PgRow) -> Result<Cart, StorageError> {
    Ok(Cart {
        id: CartId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        customer_id: CustomerId::from_uuid(get(row, "customer_id")?),
        status: get_enum(row, "status")?,
        lines: get_json(row, "lines")?,
        currency: get_parsed(row, "currency")?,
        discount_code: get(row, "discount_code")?,
        order_id: get::<Option<uuid::Uuid>>(row, "order_id")?.map(OrderId::from_uuid),
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

#[async_trait]
impl CartStore for PostgresStorage {
    async fn open_cart(
        &self,
        business: BusinessId,
        customer: CustomerId,
    ) -> Result<Option<Cart>, StorageError> {
        let row = sqlx::query(
            "SELECT * FROM carts WHERE business_id = $1 AND customer_id = $2 AND status = 'open'",
        )
        .bind(business.as_uuid())
        .bind(customer.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| map(CART, e))?;
        row.as_ref().map(cart_row).transpose()
    }

    async fn get_cart(&self, business: BusinessId, id: CartId) -> Result<Cart, StorageError> {
        let row = sqlx::query("SELECT * FROM carts WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(CART, e))?;
        row.as_ref().map(cart_row).transpose()?.ok_or(StorageError::not_found("cart"))
    }

    async fn save_cart(&self, cart: &Cart) -> Result<(), StorageError> {
        if cart.status != CartStatus::Open {
            return Err(StorageError::conflict("cart", CART_CLOSED));
        }
        // The update only touches an open cart of the same customer; a
        // closed one (or someone else's id) changes nothing and conflicts.
        let done = sqlx::query(
            "INSERT INTO carts (business_id, id, customer_id, status, lines, currency, discount_code, order_id,
               created_at, updated_at)
             VALUES ($1, $2, $3, 'open', $4, $5, $6, NULL, $7, $8)
             ON CONFLICT (business_id, id) DO UPDATE SET lines = excluded.lines,
               discount_code = excluded.discount_code, updated_at = excluded.updated_at
             WHERE carts.status = 'open' AND carts.customer_id = excluded.customer_id",
        )
        .bind(cart.business_id.as_uuid())
        .bind(cart.id.as_uuid())
        .bind(cart.customer_id.as_uuid())
        .bind(Json(to_json(&cart.lines)?))
        .bind(cart.currency.as_str())
        .bind(&cart.discount_code)
        .bind(cart.created_at)
        .bind(cart.updated_at)
        .execute(&self.pool)
        .await
        .map_err(|e| map(CART, e))?;
        if done.rows_affected() == 0 {
            return Err(StorageError::conflict("cart", CART_CLOSED));
        }
        Ok(())
    }

    async fn list_carts(
        &self,
        business: BusinessId,
        query: &CartQuery,
    ) -> Result<Page<Cart>, StorageError> {
        let mut l = Listing::new("carts", business)?;
        if let Some(after) = query.after {
            l.filter("id > ?", after.as_uuid())?;
        }
        if let Some(c) = query.customer {
            l.filter("customer_id = ?", c.as_uuid())?;
        }
        if let Some(s) = query.status {
            l.filter("status = ?", enum_to_text(&s)?)?;
        }
        l.page(self, CART, clamp_limit(query.limit), cart_row, |c| c.id.to_string()).await
    }

    async fn expire_carts(
        &self,
        idle_before: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<u32, StorageError> {
        // SKIP LOCKED: servers expiring at once take different carts, and a
        // cart a customer is changing right now is left for the next round.
        let done = sqlx::query(
            "UPDATE carts SET status = 'expired'
             WHERE (business_id, id) IN (SELECT business_id, id FROM carts
               WHERE status = 'open' AND updated_at < $1 ORDER BY updated_at LIMIT $2
               FOR UPDATE SKIP LOCKED)",
        )
        .bind(idle_before)
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await
        .map_err(|e| map(CART, e))?;
        Ok(done.rows_affected() as u32)
    }
}

pub(crate) fn discount_row(row: &PgRow) -> Result<Discount, StorageError> {
    let uses: i32 = get(row, "uses")?;
    Ok(Discount {
        id: DiscountId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        rules: get_json(row, "rules")?,
        uses: u32::try_from(uses).map_err(|e| corrupt("uses", e))?,
        created_at: get(row, "created_at")?,
    })
}

#[async_trait]
impl DiscountStore for PostgresStorage {
    async fn insert_discount(&self, d: &Discount) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO discounts (business_id, id, code, rules, uses, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(d.business_id.as_uuid())
        .bind(d.id.as_uuid())
        .bind(&d.rules.code)
        .bind(Json(to_json(&d.rules)?))
        .bind(i32::try_from(d.uses).unwrap_or(i32::MAX))
        .bind(d.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| map(DISCOUNT, e))?;
        Ok(())
    }

    async fn get_discount(
        &self,
        business: BusinessId,
        id: DiscountId,
    ) -> Result<Discount, StorageError> {
        let row = sqlx::query("SELECT * FROM discounts WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(DISCOUNT, e))?;
        row.as_ref().map(discount_row).transpose()?.ok_or(StorageError::not_found("discount"))
    }

    async fn discount_by_code(
        &self,
        business: BusinessId,
        code: &str,
    ) -> Result<Option<Discount>, StorageError> {
        let row = sqlx::query("SELECT * FROM discounts WHERE business_id = $1 AND code = $2")
            .bind(business.as_uuid())
            .bind(code)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(DISCOUNT, e))?;
        row.as_ref().map(discount_row).transpose()
    }

    async fn set_discount_disabled(
        &self,
        business: BusinessId,
        id: DiscountId,
        disabled: bool,
    ) -> Result<Discount, StorageError> {
        let row = sqlx::query(
            "UPDATE discounts SET rules = jsonb_set(rules, '{disabled}', to_jsonb($3::boolean))
             WHERE business_id = $1 AND id = $2 RETURNING *",
        )
        .bind(business.as_uuid())
        .bind(id.as_uuid())
        .bind(disabled)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| map(DISCOUNT, e))?;
        row.as_ref().map(discount_row).transpose()?.ok_or(StorageError::not_found("discount"))
    }

    async fn list_discounts(
        &self,
        business: BusinessId,
        after: Option<DiscountId>,
        limit: u32,
    ) -> Result<Page<Discount>, StorageError> {
        let mut l = Listing::new("discounts", business)?;
        if let Some(after) = after {
            l.filter("id > ?", after.as_uuid())?;
        }
        l.page(self, DISCOUNT, clamp_limit(limit), discount_row, |d| d.id.to_string()).await
    }
}
