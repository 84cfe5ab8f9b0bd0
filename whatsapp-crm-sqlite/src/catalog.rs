//! The catalog with its FTS5 search index, carts and discount codes.

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, Row, Transaction, params};
use whatsapp_crm_core::commerce::search::{Candidates, product_terms};
use whatsapp_crm_core::ports::{
    CART_CLOSED, CartQuery, CartStore, CatalogStore, DiscountStore, Page, ProductQuery,
    STOCK_RESERVED, clamp_limit, enum_to_text,
};
use whatsapp_crm_core::{
    BusinessId, Cart, CartId, CartStatus, CustomerId, Discount, DiscountId, Money, Product,
    ProductId, Stock, StorageError,
};

use crate::codec::{
    get, get_enum, get_json, get_opt_uuid, get_parsed, get_time, get_uuid, id_bytes, micros,
    to_json,
};
use crate::error::{Ctx, map};
use crate::listing::{Listing, blob, marks, query_all, query_one};
use crate::storage::SqliteStorage;

const PRODUCT: Ctx = Ctx::new("product", "business");
const CART: Ctx = Ctx::new("cart", "customer");
const DISCOUNT: Ctx = Ctx::new("discount", "business");

pub(crate) const PRODUCT_COLUMNS: &str = "id, business_id, sku, name, description, category, image_url, attributes, \
     price_minor, currency, active, track_stock, on_hand, reserved, created_at, updated_at";

pub(crate) fn product_row(row: &Row<'_>) -> Result<Product, StorageError> {
    let tracked: bool = get(row, "track_stock")?;
    let (on_hand, reserved): (u32, u32) = (get(row, "on_hand")?, get(row, "reserved")?);
    Ok(Product {
        id: ProductId::from_uuid(get_uuid(row, "id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        sku: get(row, "sku")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        category: get(row, "category")?,
        image_url: get(row, "image_url")?,
        attributes: get_json(row, "attributes")?,
        price: Money::new(get(row, "price_minor")?, get_parsed(row, "currency")?),
        active: get(row, "active")?,
        stock: tracked.then(|| Stock::new(on_hand, reserved)),
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

/// The search document of a product: its business as a term, then its
/// search terms.
fn search_doc(p: &Product) -> String {
    let mut doc = business_term(p.business_id);
    for g in product_terms(p) {
        doc.push(' ');
        doc.push_str(&g);
    }
    doc
}

fn business_term(b: BusinessId) -> String {
    format!("b{}", b.as_uuid().simple())
}

/// Writes a product's search row, replacing any it had.
fn index_product(tx: &Connection, p: &Product) -> Result<(), StorageError> {
    let key: i64 = tx
        .query_row(
            "SELECT search_key FROM products WHERE business_id = ?1 AND id = ?2",
            params![id_bytes(p.business_id.as_uuid()), id_bytes(p.id.as_uuid())],
            |r| r.get(0),
        )
        .map_err(|e| map(PRODUCT, e))?;
    tx.execute("DELETE FROM product_search WHERE rowid = ?1", [key])
        .map_err(|e| map(PRODUCT, e))?;
    tx.execute(
        "INSERT INTO product_search (rowid, grams) VALUES (?1, ?2)",
        params![key, search_doc(p)],
    )
    .map_err(|e| map(PRODUCT, e))?;
    Ok(())
}

fn insert_product(tx: &Transaction<'_>, p: &Product) -> Result<(), StorageError> {
    let stock = p.stock.unwrap_or(Stock::new(0, 0));
    tx.prepare_cached(
        "INSERT INTO products (id, business_id, sku, name, description, category, image_url, attributes,
           price_minor, currency, active, track_stock, on_hand, reserved, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )
    .and_then(|mut s| {
        s.execute(params![
            id_bytes(p.id.as_uuid()),
            id_bytes(p.business_id.as_uuid()),
            p.sku,
            p.name,
            p.description,
            p.category,
            p.image_url,
            serde_json::to_string(&p.attributes).unwrap_or_else(|_| "{}".into()),
            p.price.minor,
            p.price.currency.as_str(),
            p.active,
            p.stock.is_some(),
            stock.on_hand,
            stock.reserved,
            micros(p.created_at),
            micros(p.updated_at)
        ])
    })
    .map_err(|e| map(PRODUCT, e))?;
    let key = tx.last_insert_rowid();
    tx.prepare_cached("INSERT INTO product_search (rowid, grams) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute(params![key, search_doc(p)]))
        .map_err(|e| map(PRODUCT, e))?;
    Ok(())
}

fn read_product(
    c: &Connection,
    business: BusinessId,
    id: ProductId,
) -> Result<Product, StorageError> {
    query_one(
        c,
        PRODUCT,
        &format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE business_id = ?1 AND id = ?2"),
        vec![blob(business.as_uuid()), blob(id.as_uuid())],
        product_row,
    )
}

#[async_trait]
impl CatalogStore for SqliteStorage {
    async fn insert_products(
        &self,
        business: BusinessId,
        products: &[Product],
    ) -> Result<(), StorageError> {
        if products.iter().any(|p| p.business_id != business) {
            return Err(StorageError::not_found("business"));
        }
        let products = products.to_vec();
        self.write(move |tx| {
            for p in &products {
                insert_product(tx, p)?;
            }
            Ok(())
        })
        .await
    }

    async fn get_product(
        &self,
        business: BusinessId,
        id: ProductId,
    ) -> Result<Product, StorageError> {
        self.read(move |c| read_product(c, business, id)).await
    }

    async fn products_by_sku(
        &self,
        business: BusinessId,
        skus: &[String],
    ) -> Result<Vec<Product>, StorageError> {
        let skus = skus.to_vec();
        self.read(move |c| {
            let mut out = Vec::new();
            for chunk in skus.chunks(500) {
                let sql = format!(
                    "SELECT {PRODUCT_COLUMNS} FROM products WHERE business_id = ? AND sku IN ({})",
                    marks(chunk.len())
                );
                let args = std::iter::once(blob(business.as_uuid()))
                    .chain(chunk.iter().map(|s| Value::Text(s.clone())))
                    .collect();
                out.extend(query_all(c, PRODUCT, &sql, args, product_row)?);
            }
            Ok(out)
        })
        .await
    }

    async fn update_product(&self, product: &Product) -> Result<Product, StorageError> {
        let p = product.clone();
        self.write(move |tx| {
            let stored = read_product(tx, p.business_id, p.id)?;
            let reserved = stored.stock.map_or(0, |s| s.reserved);
            let stock = match p.stock {
                Some(s) if s.on_hand < reserved => {
                    return Err(StorageError::conflict("product", STOCK_RESERVED));
                }
                None if reserved > 0 => {
                    return Err(StorageError::conflict("product", STOCK_RESERVED));
                }
                s => s.map(|s| Stock::new(s.on_hand, reserved)),
            };
            let next = Product { stock, created_at: stored.created_at, ..p };
            let s = next.stock.unwrap_or(Stock::new(0, 0));
            tx.execute(
                "UPDATE products SET sku = ?3, name = ?4, description = ?5, category = ?6, image_url = ?7,
                   attributes = ?8, price_minor = ?9, currency = ?10, active = ?11, track_stock = ?12,
                   on_hand = ?13, updated_at = ?14
                 WHERE business_id = ?1 AND id = ?2",
                params![
                    id_bytes(next.business_id.as_uuid()),
                    id_bytes(next.id.as_uuid()),
                    next.sku,
                    next.name,
                    next.description,
                    next.category,
                    next.image_url,
                    to_json(&next.attributes)?,
                    next.price.minor,
                    next.price.currency.as_str(),
                    next.active,
                    next.stock.is_some(),
                    s.on_hand,
                    micros(next.updated_at)
                ],
            )
            .map_err(|e| map(PRODUCT, e))?;
            index_product(tx, &next)?;
            Ok(next)
        })
        .await
    }

    async fn delete_product(
        &self,
        business: BusinessId,
        id: ProductId,
    ) -> Result<(), StorageError> {
        self.write(move |tx| {
            let p = read_product(tx, business, id)?;
            if p.stock.is_some_and(|s| s.reserved > 0) {
                return Err(StorageError::conflict("product", STOCK_RESERVED));
            }
            tx.execute(
                "DELETE FROM product_search WHERE rowid =
                   (SELECT search_key FROM products WHERE business_id = ?1 AND id = ?2)",
                params![id_bytes(business.as_uuid()), id_bytes(id.as_uuid())],
            )
            .map_err(|e| map(PRODUCT, e))?;
            tx.execute(
                "DELETE FROM products WHERE business_id = ?1 AND id = ?2",
                params![id_bytes(business.as_uuid()), id_bytes(id.as_uuid())],
            )
            .map_err(|e| map(PRODUCT, e))?;
            Ok(())
        })
        .await
    }

    async fn list_products(
        &self,
        business: BusinessId,
        query: &ProductQuery,
    ) -> Result<Page<Product>, StorageError> {
        let mut l = Listing::new(&format!("SELECT {PRODUCT_COLUMNS} FROM products"), "", business);
        l.after(query.after.map(|a| a.as_uuid()));
        if let Some(c) = &query.category {
            l.filter("category = ?", Value::Text(c.clone()));
        }
        if let Some(a) = query.active {
            l.filter("active = ?", Value::Integer(i64::from(a)));
        }
        l.page(self, PRODUCT, clamp_limit(query.limit), product_row, |p| p.id.to_string()).await
    }

    async fn search_candidates(
        &self,
        business: BusinessId,
        stage: &Candidates,
        limit: u32,
    ) -> Result<Vec<Product>, StorageError> {
        let quote = |t: &String| format!("\"{t}\"");
        // Word stages need no order (the ranking orders them); gram stages
        // keep the pairs bm25 likes best, since many products share a gram.
        let (expr, order) = match stage {
            Candidates::Words(groups) => {
                let all: Vec<String> = groups
                    .iter()
                    .map(|g| format!("({})", g.iter().map(quote).collect::<Vec<_>>().join(" OR ")))
                    .collect();
                (all.join(" AND "), "")
            }
            Candidates::Grams { pairs, .. } => {
                let any: Vec<String> =
                    pairs.iter().map(|(a, b)| format!("({} {})", quote(a), quote(b))).collect();
                (format!("({})", any.join(" OR ")), "ORDER BY rank")
            }
        };
        if expr.is_empty() || expr == "()" {
            return Ok(Vec::new());
        }
        let expr = format!("{} AND {expr}", business_term(business));
        self.read(move |c| {
            // CROSS JOIN keeps the index hits as the outer loop: the planner
            // would otherwise walk the business's products testing each.
            let columns: Vec<String> =
                PRODUCT_COLUMNS.split(", ").map(|c| format!("p.{c}")).collect();
            let sql = format!(
                "SELECT {} FROM (SELECT rowid AS k FROM product_search
                                 WHERE product_search MATCH ?1 {order} LIMIT ?3) s
                 CROSS JOIN products p ON p.search_key = s.k WHERE p.business_id = ?2",
                columns.join(", ")
            );
            query_all(
                c,
                PRODUCT,
                &sql,
                vec![Value::Text(expr), blob(business.as_uuid()), Value::Integer(i64::from(limit))],
                product_row,
            )
        })
        .await
    }
}

pub(crate) fn cart_row(row: &Row<'_>) -> Result<Cart, StorageError> {
    Ok(Cart {
        id: CartId::from_uuid(get_uuid(row, "id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        customer_id: CustomerId::from_uuid(get_uuid(row, "customer_id")?),
        status: get_enum(row, "status")?,
        lines: get_json(row, "lines")?,
        currency: get_parsed(row, "currency")?,
        discount_code: get(row, "discount_code")?,
        order_id: get_opt_uuid(row, "order_id")?.map(whatsapp_crm_core::OrderId::from_uuid),
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

#[async_trait]
impl CartStore for SqliteStorage {
    async fn open_cart(
        &self,
        business: BusinessId,
        customer: CustomerId,
    ) -> Result<Option<Cart>, StorageError> {
        self.read(move |c| {
            Ok(query_all(
                c,
                CART,
                "SELECT * FROM carts WHERE business_id = ?1 AND customer_id = ?2 AND status = 'open'",
                vec![blob(business.as_uuid()), blob(customer.as_uuid())],
                cart_row,
            )?
            .pop())
        })
        .await
    }

    async fn get_cart(&self, business: BusinessId, id: CartId) -> Result<Cart, StorageError> {
        self.read(move |c| {
            query_one(
                c,
                CART,
                "SELECT * FROM carts WHERE business_id = ?1 AND id = ?2",
                vec![blob(business.as_uuid()), blob(id.as_uuid())],
                cart_row,
            )
        })
        .await
    }

    async fn save_cart(&self, cart: &Cart) -> Result<(), StorageError> {
        let cart = cart.clone();
        if cart.status != CartStatus::Open {
            return Err(StorageError::conflict("cart", CART_CLOSED));
        }
        self.write(move |tx| {
            let stored: Option<String> = tx
                .query_row(
                    "SELECT status FROM carts WHERE business_id = ?1 AND id = ?2",
                    params![id_bytes(cart.business_id.as_uuid()), id_bytes(cart.id.as_uuid())],
                    |r| r.get(0),
                )
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(e),
                })
                .map_err(|e| map(CART, e))?;
            if stored.as_deref().is_some_and(|s| s != "open") {
                return Err(StorageError::conflict("cart", CART_CLOSED));
            }
            tx.execute(
                "INSERT INTO carts (business_id, id, customer_id, status, lines, currency, discount_code,
                   order_id, created_at, updated_at)
                 VALUES (?1, ?2, ?3, 'open', ?4, ?5, ?6, NULL, ?7, ?8)
                 ON CONFLICT (business_id, id) DO UPDATE SET lines = excluded.lines,
                   discount_code = excluded.discount_code, updated_at = excluded.updated_at
                 WHERE carts.customer_id = excluded.customer_id",
                params![
                    id_bytes(cart.business_id.as_uuid()),
                    id_bytes(cart.id.as_uuid()),
                    id_bytes(cart.customer_id.as_uuid()),
                    to_json(&cart.lines)?,
                    cart.currency.as_str(),
                    cart.discount_code,
                    micros(cart.created_at),
                    micros(cart.updated_at)
                ],
            )
            .map_err(|e| map(CART, e))?;
            Ok(())
        })
        .await
    }

    async fn list_carts(
        &self,
        business: BusinessId,
        query: &CartQuery,
    ) -> Result<Page<Cart>, StorageError> {
        let mut l = Listing::new("SELECT * FROM carts", "", business);
        l.after(query.after.map(|a| a.as_uuid()));
        if let Some(c) = query.customer {
            l.filter("customer_id = ?", blob(c.as_uuid()));
        }
        if let Some(s) = query.status {
            l.filter("status = ?", Value::Text(enum_to_text(&s)?));
        }
        l.page(self, CART, clamp_limit(query.limit), cart_row, |c| c.id.to_string()).await
    }

    async fn expire_carts(
        &self,
        idle_before: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<u32, StorageError> {
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE carts SET status = 'expired'
                     WHERE (business_id, id) IN (SELECT business_id, id FROM carts
                       WHERE status = 'open' AND updated_at < ?1 ORDER BY updated_at LIMIT ?2)",
                    params![micros(idle_before), limit],
                )
                .map_err(|e| map(CART, e))?;
            Ok(n as u32)
        })
        .await
    }
}

pub(crate) fn discount_row(row: &Row<'_>) -> Result<Discount, StorageError> {
    Ok(Discount {
        id: DiscountId::from_uuid(get_uuid(row, "id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        rules: get_json(row, "rules")?,
        uses: get(row, "uses")?,
        created_at: get_time(row, "created_at")?,
    })
}

#[async_trait]
impl DiscountStore for SqliteStorage {
    async fn insert_discount(&self, d: &Discount) -> Result<(), StorageError> {
        let d = d.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO discounts (business_id, id, code, rules, uses, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id_bytes(d.business_id.as_uuid()),
                    id_bytes(d.id.as_uuid()),
                    d.rules.code,
                    to_json(&d.rules)?,
                    d.uses,
                    micros(d.created_at)
                ],
            )
            .map_err(|e| map(DISCOUNT, e))?;
            Ok(())
        })
        .await
    }

    async fn get_discount(
        &self,
        business: BusinessId,
        id: DiscountId,
    ) -> Result<Discount, StorageError> {
        self.read(move |c| {
            query_one(
                c,
                DISCOUNT,
                "SELECT * FROM discounts WHERE business_id = ?1 AND id = ?2",
                vec![blob(business.as_uuid()), blob(id.as_uuid())],
                discount_row,
            )
        })
        .await
    }

    async fn discount_by_code(
        &self,
        business: BusinessId,
        code: &str,
    ) -> Result<Option<Discount>, StorageError> {
        let code = code.to_owned();
        self.read(move |c| {
            Ok(query_all(
                c,
                DISCOUNT,
                "SELECT * FROM discounts WHERE business_id = ?1 AND code = ?2",
                vec![blob(business.as_uuid()), Value::Text(code)],
                discount_row,
            )?
            .pop())
        })
        .await
    }

    async fn set_discount_disabled(
        &self,
        business: BusinessId,
        id: DiscountId,
        disabled: bool,
    ) -> Result<Discount, StorageError> {
        self.write(move |tx| {
            let args = vec![blob(business.as_uuid()), blob(id.as_uuid())];
            let mut d = query_one(
                tx,
                DISCOUNT,
                "SELECT * FROM discounts WHERE business_id = ?1 AND id = ?2",
                args,
                discount_row,
            )?;
            d.rules.disabled = disabled;
            tx.execute(
                "UPDATE discounts SET rules = ?3 WHERE business_id = ?1 AND id = ?2",
                params![id_bytes(business.as_uuid()), id_bytes(id.as_uuid()), to_json(&d.rules)?],
            )
            .map_err(|e| map(DISCOUNT, e))?;
            Ok(d)
        })
        .await
    }

    async fn list_discounts(
        &self,
        business: BusinessId,
        after: Option<DiscountId>,
        limit: u32,
    ) -> Result<Page<Discount>, StorageError> {
        let mut l = Listing::new("SELECT * FROM discounts", "", business);
        l.after(after.map(|a| a.as_uuid()));
        l.page(self, DISCOUNT, clamp_limit(limit), discount_row, |d| d.id.to_string()).await
    }
}
