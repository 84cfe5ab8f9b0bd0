//! Customers and their tags.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, params, params_from_iter};
use whatsapp_crm_core::ports::{
    CustomerQuery, CustomerStore, Page, SegmentMatch, clamp_limit, enum_to_text,
};
use whatsapp_crm_core::segment::{Rule, SegmentContext};
use whatsapp_crm_core::{
    Birthday, BusinessId, Customer, CustomerId, CustomerStats, Location, MarketingConsent,
    PhoneNumber, StorageError, Tag, search_needle,
};

use crate::codec::{
    get, get_enum, get_json, get_opt_enum, get_opt_time, get_parsed, get_time, get_uuid, id_bytes,
    micros, opt_micros, to_json,
};
use crate::error::{Ctx, corrupt, map};
use crate::listing::{Listing, by_ids, query_all};
use crate::storage::SqliteStorage;

const CUSTOMER: Ctx = Ctx::new("customer", "business");
const TAG: Ctx = Ctx::new("customer tag", "customer");

/// Every customer column plus its tags separated by spaces (which no tag
/// holds), in the order
/// `customer_row` reads them by position (faster than by name, which matters
/// when a broadcast reads a hundred thousand customers).
const SELECT: &str = "SELECT c.business_id, c.id, c.phone, c.name, c.country, c.city,
       c.birthday_month, c.birthday_day, c.birthday_year, c.consent_status,
       c.consent_changed_at, c.consent_source, c.attributes, c.first_seen_at, c.last_seen_at,
       c.last_inbound_at, c.total_spent, c.order_count, c.last_order_at, c.engagement_score,
       c.created_at, c.updated_at,
       (SELECT group_concat(t.tag, ' ') FROM customer_tags t
         WHERE t.business_id = c.business_id AND t.customer_id = c.id) AS tags
     FROM customers c";

fn customer_row(row: &Row<'_>) -> Result<Customer, StorageError> {
    let tags: Option<String> = get(row, 22)?;
    let tags = tags
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(|t| Tag::parse(t).map_err(|e| corrupt("tag", e)))
        .collect::<Result<BTreeSet<_>, _>>()?;
    let month: Option<u8> = get(row, 6)?;
    let day: Option<u8> = get(row, 7)?;
    let birthday = match (month, day) {
        (Some(month), Some(day)) => Some(Birthday { month, day, year: get(row, 8)? }),
        _ => None,
    };
    Ok(Customer {
        id: CustomerId::from_uuid(get_uuid(row, 1)?),
        business_id: BusinessId::from_uuid(get_uuid(row, 0)?),
        phone: get_parsed(row, 2)?,
        name: get(row, 3)?,
        tags,
        location: Location { country: get(row, 4)?, city: get(row, 5)? },
        birthday,
        marketing: MarketingConsent {
            status: get_enum(row, 9)?,
            changed_at: get_opt_time(row, 10)?,
            source: get_opt_enum(row, 11)?,
        },
        attributes: get_json(row, 12)?,
        first_seen_at: get_opt_time(row, 13)?,
        last_seen_at: get_opt_time(row, 14)?,
        last_inbound_at: get_opt_time(row, 15)?,
        stats: CustomerStats {
            total_spent: get(row, 16)?,
            order_count: get(row, 17)?,
            last_order_at: get_opt_time(row, 18)?,
            engagement_score: get(row, 19)?,
        },
        created_at: get_time(row, 20)?,
        updated_at: get_time(row, 21)?,
    })
}

/// The column values of a customer, in the order of the INSERT and UPDATE below
/// (stats excluded: only the INSERT writes them).
fn columns(c: &Customer) -> Result<Vec<Value>, StorageError> {
    let opt_text = |v: Option<String>| v.map_or(Value::Null, Value::Text);
    let opt_int = |v: Option<i64>| v.map_or(Value::Null, Value::Integer);
    Ok(vec![
        Value::Blob(id_bytes(c.business_id.as_uuid()).to_vec()),
        Value::Blob(id_bytes(c.id.as_uuid()).to_vec()),
        Value::Text(c.phone.as_str().to_owned()),
        opt_text(c.name.clone()),
        Value::Text(c.search_text()),
        opt_text(c.location.country.clone()),
        opt_text(c.location.city.clone()),
        opt_int(c.birthday.map(|b| i64::from(b.month))),
        opt_int(c.birthday.map(|b| i64::from(b.day))),
        opt_int(c.birthday.and_then(|b| b.year).map(i64::from)),
        Value::Text(enum_to_text(&c.marketing.status)?),
        opt_int(opt_micros(c.marketing.changed_at)),
        opt_text(c.marketing.source.as_ref().map(enum_to_text).transpose()?),
        Value::Text(to_json(&c.attributes)?),
        opt_int(opt_micros(c.first_seen_at)),
        opt_int(opt_micros(c.last_seen_at)),
        opt_int(opt_micros(c.last_inbound_at)),
        Value::Integer(micros(c.created_at)),
        Value::Integer(micros(c.updated_at)),
        opt_text(c.location.city.as_ref().map(|city| city.to_lowercase())),
    ])
}

fn write_tags(tx: &Connection, c: &Customer) -> Result<(), StorageError> {
    let mut stmt = tx
        .prepare_cached("INSERT OR IGNORE INTO customer_tags (business_id, customer_id, tag) VALUES (?1, ?2, ?3)")
        .map_err(|e| map(TAG, e))?;
    for t in &c.tags {
        stmt.execute(params![
            id_bytes(c.business_id.as_uuid()),
            id_bytes(c.id.as_uuid()),
            t.as_str()
        ])
        .map_err(|e| map(TAG, e))?;
    }
    Ok(())
}

fn load(conn: &Connection, business: BusinessId, id: CustomerId) -> Result<Customer, StorageError> {
    let sql = format!("{SELECT} WHERE c.business_id = ?1 AND c.id = ?2");
    let mut stmt = conn.prepare_cached(&sql).map_err(|e| map(CUSTOMER, e))?;
    let mut rows = stmt
        .query(params![id_bytes(business.as_uuid()), id_bytes(id.as_uuid())])
        .map_err(|e| map(CUSTOMER, e))?;
    match rows.next().map_err(|e| map(CUSTOMER, e))? {
        Some(row) => customer_row(row),
        None => Err(StorageError::not_found("customer")),
    }
}

/// Adds or removes tags, stamps `updated_at`, and returns the customer.
fn change_tags(
    tx: &Connection,
    business: BusinessId,
    id: CustomerId,
    tags: &[Tag],
    at: DateTime<Utc>,
    add: bool,
) -> Result<Customer, StorageError> {
    let touched = tx
        .execute(
            "UPDATE customers SET updated_at = ?3 WHERE business_id = ?1 AND id = ?2",
            params![id_bytes(business.as_uuid()), id_bytes(id.as_uuid()), micros(at)],
        )
        .map_err(|e| map(CUSTOMER, e))?;
    if touched == 0 {
        return Err(StorageError::not_found("customer"));
    }
    let sql = if add {
        "INSERT OR IGNORE INTO customer_tags (business_id, customer_id, tag) VALUES (?1, ?2, ?3)"
    } else {
        "DELETE FROM customer_tags WHERE business_id = ?1 AND customer_id = ?2 AND tag = ?3"
    };
    let mut stmt = tx.prepare_cached(sql).map_err(|e| map(TAG, e))?;
    for t in tags {
        stmt.execute(params![id_bytes(business.as_uuid()), id_bytes(id.as_uuid()), t.as_str()])
            .map_err(|e| map(TAG, e))?;
    }
    load(tx, business, id)
}

#[async_trait]
impl CustomerStore for SqliteStorage {
    async fn insert_customer(&self, customer: &Customer) -> Result<(), StorageError> {
        let c = customer.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO customers (business_id, id, phone, name, search_text, country, city,
                   birthday_month, birthday_day, birthday_year, consent_status, consent_changed_at,
                   consent_source, attributes, first_seen_at, last_seen_at, last_inbound_at,
                   created_at, updated_at, city_key, total_spent, order_count, last_order_at,
                   engagement_score)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
                   ?20, ?21, ?22, ?23, ?24)",
                params_from_iter(columns(&c)?.into_iter().chain([
                    Value::Integer(c.stats.total_spent),
                    Value::Integer(i64::from(c.stats.order_count)),
                    opt_micros(c.stats.last_order_at).map_or(Value::Null, Value::Integer),
                    Value::Integer(i64::from(c.stats.engagement_score)),
                ])),
            )
            .map_err(|e| map(CUSTOMER, e))?;
            write_tags(tx, &c)
        })
        .await
    }

    async fn get_customer(
        &self,
        business: BusinessId,
        id: CustomerId,
    ) -> Result<Customer, StorageError> {
        self.read(move |c| load(c, business, id)).await
    }

    async fn get_customers(
        &self,
        business: BusinessId,
        ids: &[CustomerId],
    ) -> Result<Vec<Customer>, StorageError> {
        let ids: Vec<_> = ids.iter().map(|i| i.as_uuid()).collect();
        self.read(move |c| by_ids(c, CUSTOMER, (SELECT, "c."), business, &ids, customer_row)).await
    }

    async fn find_customer_by_phone(
        &self,
        business: BusinessId,
        phone: &PhoneNumber,
    ) -> Result<Option<Customer>, StorageError> {
        let phone = phone.as_str().to_owned();
        self.read(move |c| {
            let sql = format!("{SELECT} WHERE c.business_id = ?1 AND c.phone = ?2");
            let mut stmt = c.prepare_cached(&sql).map_err(|e| map(CUSTOMER, e))?;
            let mut rows = stmt
                .query(params![id_bytes(business.as_uuid()), phone])
                .map_err(|e| map(CUSTOMER, e))?;
            rows.next().map_err(|e| map(CUSTOMER, e))?.map(customer_row).transpose()
        })
        .await
    }

    async fn update_customer(&self, customer: &Customer) -> Result<(), StorageError> {
        let c = customer.clone();
        self.write(move |tx| {
            let changed = tx
                .execute(
                    "UPDATE customers SET phone = ?3, name = ?4, search_text = ?5, country = ?6,
                       city = ?7, birthday_month = ?8, birthday_day = ?9, birthday_year = ?10,
                       consent_status = ?11, consent_changed_at = ?12, consent_source = ?13,
                       attributes = ?14, created_at = ?18, updated_at = ?19, city_key = ?20
                     WHERE business_id = ?1 AND id = ?2",
                    params_from_iter(columns(&c)?),
                )
                .map_err(|e| map(CUSTOMER, e))?;
            if changed == 0 {
                return Err(StorageError::not_found("customer"));
            }
            tx.execute(
                "DELETE FROM customer_tags WHERE business_id = ?1 AND customer_id = ?2",
                params![id_bytes(c.business_id.as_uuid()), id_bytes(c.id.as_uuid())],
            )
            .map_err(|e| map(TAG, e))?;
            write_tags(tx, &c)
        })
        .await
    }

    async fn delete_customer(
        &self,
        business: BusinessId,
        id: CustomerId,
    ) -> Result<(), StorageError> {
        self.write(move |tx| {
            // What their orders reserve goes back on sale before the orders go.
            crate::checkout::release_customer(tx, business, id)?;
            // Conversations, messages and tags go with the customer (ON DELETE CASCADE).
            let gone = tx
                .execute(
                    "DELETE FROM customers WHERE business_id = ?1 AND id = ?2",
                    params![id_bytes(business.as_uuid()), id_bytes(id.as_uuid())],
                )
                .map_err(|e| map(CUSTOMER, e))?;
            if gone == 0 { Err(StorageError::not_found("customer")) } else { Ok(()) }
        })
        .await
    }

    async fn list_customers(
        &self,
        business: BusinessId,
        query: &CustomerQuery,
    ) -> Result<Page<Customer>, StorageError> {
        let mut l = Listing::new(SELECT, "c.", business);
        l.after(query.after.map(|a| a.as_uuid()));
        if let Some(needle) = query.search.as_deref().map(search_needle).filter(|n| !n.is_empty()) {
            // instr() matches the text literally: no LIKE wildcards to escape.
            l.filter("instr(c.search_text, ?) > 0", Value::Text(needle));
        }
        if let Some(tag) = &query.tag {
            l.filter(
                "EXISTS (SELECT 1 FROM customer_tags t WHERE t.business_id = c.business_id
                   AND t.customer_id = c.id AND t.tag = ?)",
                Value::Text(tag.as_str().to_owned()),
            );
        }
        l.page(self, CUSTOMER, clamp_limit(query.limit), customer_row, |c| c.id.to_string()).await
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
        let w = crate::segment::translate(rule, ctx);
        let count_sql =
            format!("SELECT count(*) FROM customers c WHERE c.business_id = ? AND {}", w.sql);
        let mut count_args = vec![Value::Blob(id_bytes(business.as_uuid()).to_vec())];
        count_args.extend(w.args.iter().cloned());
        // Find the matches first (with whatever index the rule allows), then sort
        // that small set: ordering the scan by id instead would test every row.
        let mut page_sql = format!(
            "WITH m AS MATERIALIZED (SELECT c.id FROM customers c WHERE c.business_id = ? AND {}",
            w.sql
        );
        let mut page_args = count_args.clone();
        if let Some(after) = after {
            page_sql.push_str(" AND c.id > ?");
            page_args.push(Value::Blob(id_bytes(after.as_uuid()).to_vec()));
        }
        page_sql.push_str(&format!(
            ") {SELECT} JOIN m ON m.id = c.id WHERE c.business_id = ? ORDER BY c.id LIMIT ?"
        ));
        page_args.push(Value::Blob(id_bytes(business.as_uuid()).to_vec()));
        page_args.push(Value::Integer(i64::from(limit) + 1));
        self.read(move |c| {
            // One snapshot for the count and the page.
            let tx = c.unchecked_transaction().map_err(|e| map(CUSTOMER, e))?;
            let count: i64 = tx
                .prepare_cached(&count_sql)
                .and_then(|mut st| st.query_row(params_from_iter(count_args), |r| r.get(0)))
                .map_err(|e| map(CUSTOMER, e))?;
            let mut stmt = tx.prepare_cached(&page_sql).map_err(|e| map(CUSTOMER, e))?;
            let mut rows = stmt.query(params_from_iter(page_args)).map_err(|e| map(CUSTOMER, e))?;
            let mut items = Vec::new();
            while let Some(row) = rows.next().map_err(|e| map(CUSTOMER, e))? {
                items.push(customer_row(row)?);
            }
            drop(rows);
            drop(stmt);
            tx.commit().map_err(|e| map(CUSTOMER, e))?;
            Ok(SegmentMatch {
                count: u64::try_from(count).unwrap_or(0),
                customers: Page::from_overfetch(items, limit, |c| c.id.to_string()),
            })
        })
        .await
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
        let w = crate::segment::translate(rule, ctx);
        let sql = format!(
            "{SELECT} WHERE c.business_id = ? AND c.created_at <= ? AND c.id > ? AND {}
             ORDER BY c.id LIMIT ?",
            w.sql
        );
        let mut args = vec![
            Value::Blob(id_bytes(business.as_uuid()).to_vec()),
            Value::Integer(micros(created_by)),
            // Every id sorts after the empty blob.
            after.map_or(Value::Blob(Vec::new()), |a| Value::Blob(id_bytes(a.as_uuid()).to_vec())),
        ];
        args.extend(w.args.iter().cloned());
        args.push(Value::Integer(i64::from(limit)));
        self.read(move |c| query_all(c, CUSTOMER, &sql, args, customer_row)).await
    }

    async fn add_customer_tags(
        &self,
        business: BusinessId,
        id: CustomerId,
        tags: &[Tag],
        at: DateTime<Utc>,
    ) -> Result<Customer, StorageError> {
        let tags = tags.to_vec();
        self.write(move |tx| change_tags(tx, business, id, &tags, at, true)).await
    }

    async fn remove_customer_tags(
        &self,
        business: BusinessId,
        id: CustomerId,
        tags: &[Tag],
        at: DateTime<Utc>,
    ) -> Result<Customer, StorageError> {
        let tags = tags.to_vec();
        self.write(move |tx| change_tags(tx, business, id, &tags, at, false)).await
    }
}
