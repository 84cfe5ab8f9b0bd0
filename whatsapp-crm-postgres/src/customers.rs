//! Customers; tags live in a sorted `text[]` column under a GIN index.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Arguments;
use sqlx::Postgres;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use whatsapp_crm_core::ports::{
    CustomerQuery, CustomerStore, Page, SegmentMatch, clamp_limit, enum_to_text,
};
use whatsapp_crm_core::segment::{Rule, SegmentContext};

use crate::segment::{Where, translate};
use whatsapp_crm_core::{
    Birthday, BusinessId, Customer, CustomerId, CustomerStats, Location, MarketingConsent,
    PhoneNumber, StorageError, Tag, search_needle,
};

use crate::codec::{get, get_enum, get_json, get_opt_enum, get_parsed, to_json};
use crate::error::{Ctx, corrupt, map};
use crate::listing::{Listing, by_ids};
use crate::storage::PostgresStorage;

const CUSTOMER: Ctx = Ctx::new("customer", "business");

fn customer_row(row: &PgRow) -> Result<Customer, StorageError> {
    let tags: Vec<String> = get(row, "tags")?;
    let tags = tags
        .iter()
        .map(|t| Tag::parse(t).map_err(|e| corrupt("tags", e)))
        .collect::<Result<BTreeSet<_>, _>>()?;
    let month: Option<i16> = get(row, "birthday_month")?;
    let day: Option<i16> = get(row, "birthday_day")?;
    let year: Option<i16> = get(row, "birthday_year")?;
    let small = |v: i16, col| u8::try_from(v).map_err(|e| corrupt(col, e));
    let birthday = match (month, day) {
        (Some(m), Some(d)) => Some(Birthday {
            month: small(m, "birthday_month")?,
            day: small(d, "birthday_day")?,
            year: year
                .map(|y| u16::try_from(y).map_err(|e| corrupt("birthday_year", e)))
                .transpose()?,
        }),
        _ => None,
    };
    Ok(Customer {
        id: CustomerId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        phone: get_parsed(row, "phone")?,
        name: get(row, "name")?,
        tags,
        location: Location { country: get(row, "country")?, city: get(row, "city")? },
        birthday,
        marketing: MarketingConsent {
            status: get_enum(row, "consent_status")?,
            changed_at: get(row, "consent_changed_at")?,
            source: get_opt_enum(row, "consent_source")?,
        },
        attributes: get_json(row, "attributes")?,
        first_seen_at: get(row, "first_seen_at")?,
        last_seen_at: get(row, "last_seen_at")?,
        last_inbound_at: get(row, "last_inbound_at")?,
        stats: CustomerStats {
            total_spent: get(row, "total_spent")?,
            order_count: u32::try_from(get::<i32>(row, "order_count")?)
                .map_err(|e| corrupt("order_count", e))?,
            last_order_at: get(row, "last_order_at")?,
            engagement_score: u8::try_from(get::<i16>(row, "engagement_score")?)
                .map_err(|e| corrupt("engagement_score", e))?,
        },
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// Binds every column of a customer but its stats as $1..$21, in the order of
/// the statements below.
fn bind_customer<'q>(
    q: Query<'q, Postgres, PgArguments>,
    c: &Customer,
) -> Result<Query<'q, Postgres, PgArguments>, StorageError> {
    let tags: Vec<String> = c.tags.iter().map(|t| t.as_str().to_owned()).collect();
    Ok(q.bind(c.business_id.as_uuid())
        .bind(c.id.as_uuid())
        .bind(c.phone.as_str().to_owned())
        .bind(c.name.clone())
        .bind(c.search_text())
        .bind(tags)
        .bind(c.location.country.clone())
        .bind(c.location.city.clone())
        .bind(c.birthday.map(|b| i16::from(b.month)))
        .bind(c.birthday.map(|b| i16::from(b.day)))
        .bind(c.birthday.and_then(|b| b.year).map(|y| y as i16))
        .bind(enum_to_text(&c.marketing.status)?)
        .bind(c.marketing.changed_at)
        .bind(c.marketing.source.as_ref().map(enum_to_text).transpose()?)
        .bind(sqlx::types::Json(to_json(&c.attributes)?))
        .bind(c.first_seen_at)
        .bind(c.last_seen_at)
        .bind(c.last_inbound_at)
        .bind(c.created_at)
        .bind(c.updated_at)
        .bind(c.location.city.as_ref().map(|city| city.to_lowercase())))
}

fn tag_texts(tags: &[Tag]) -> Vec<String> {
    tags.iter().map(|t| t.as_str().to_owned()).collect()
}

impl PostgresStorage {
    /// Rewrites the tag array in one statement, so concurrent tag changes serialise
    /// on the row lock and none is lost.
    async fn change_tags(
        &self,
        business: BusinessId,
        id: CustomerId,
        tags: &[Tag],
        at: DateTime<Utc>,
        sql: &'static str,
    ) -> Result<Customer, StorageError> {
        let row = sqlx::query(sql)
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .bind(tag_texts(tags))
            .bind(at)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(CUSTOMER, e))?;
        row.as_ref().map(customer_row).transpose()?.ok_or(StorageError::not_found("customer"))
    }
}

#[async_trait]
impl CustomerStore for PostgresStorage {
    async fn insert_customer(&self, c: &Customer) -> Result<(), StorageError> {
        let q = sqlx::query(
            "INSERT INTO customers (business_id, id, phone, name, search_text, tags, country, city,
               birthday_month, birthday_day, birthday_year, consent_status, consent_changed_at,
               consent_source, attributes, first_seen_at, last_seen_at, last_inbound_at,
               created_at, updated_at, city_key, total_spent, order_count, last_order_at,
               engagement_score)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
               $18, $19, $20, $21, $22, $23, $24, $25)",
        );
        bind_customer(q, c)?
            .bind(c.stats.total_spent)
            .bind(i32::try_from(c.stats.order_count).unwrap_or(i32::MAX))
            .bind(c.stats.last_order_at)
            .bind(i16::from(c.stats.engagement_score))
            .execute(&self.pool)
            .await
            .map_err(|e| map(CUSTOMER, e))?;
        Ok(())
    }

    async fn get_customer(
        &self,
        business: BusinessId,
        id: CustomerId,
    ) -> Result<Customer, StorageError> {
        let row = sqlx::query("SELECT * FROM customers WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(CUSTOMER, e))?;
        row.as_ref().map(customer_row).transpose()?.ok_or(StorageError::not_found("customer"))
    }

    async fn get_customers(
        &self,
        business: BusinessId,
        ids: &[CustomerId],
    ) -> Result<Vec<Customer>, StorageError> {
        let ids: Vec<uuid::Uuid> = ids.iter().map(|i| i.as_uuid()).collect();
        by_ids(self, CUSTOMER, "customers", business, &ids, customer_row).await
    }

    async fn find_customer_by_phone(
        &self,
        business: BusinessId,
        phone: &PhoneNumber,
    ) -> Result<Option<Customer>, StorageError> {
        let row = sqlx::query("SELECT * FROM customers WHERE business_id = $1 AND phone = $2")
            .bind(business.as_uuid())
            .bind(phone.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(CUSTOMER, e))?;
        row.as_ref().map(customer_row).transpose()
    }

    async fn update_customer(&self, c: &Customer) -> Result<(), StorageError> {
        let q = sqlx::query(
            "UPDATE customers SET phone = $3, name = $4, search_text = $5, tags = $6, country = $7,
               city = $8, birthday_month = $9, birthday_day = $10, birthday_year = $11,
               consent_status = $12, consent_changed_at = $13, consent_source = $14,
               attributes = $15, created_at = $19, updated_at = $20, city_key = $21
             WHERE business_id = $1 AND id = $2",
        );
        let done = bind_customer(q, c)?.execute(&self.pool).await.map_err(|e| map(CUSTOMER, e))?;
        if done.rows_affected() == 0 { Err(StorageError::not_found("customer")) } else { Ok(()) }
    }

    async fn delete_customer(
        &self,
        business: BusinessId,
        id: CustomerId,
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(CUSTOMER, e))?;
        // What their orders reserve goes back on sale before the orders go.
        crate::checkout::release_customer(&mut tx, business, id).await?;
        // Conversations and messages go with the customer (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM customers WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(|e| map(CUSTOMER, e))?;
        if done.rows_affected() == 0 {
            return Err(StorageError::not_found("customer"));
        }
        tx.commit().await.map_err(|e| map(CUSTOMER, e))
    }

    async fn list_customers(
        &self,
        business: BusinessId,
        query: &CustomerQuery,
    ) -> Result<Page<Customer>, StorageError> {
        let mut l = Listing::new("customers", business)?;
        if let Some(after) = query.after {
            l.filter("id > ?", after.as_uuid())?;
        }
        if let Some(needle) = query.search.as_deref().map(search_needle).filter(|n| !n.is_empty()) {
            // strpos() matches the text literally: no LIKE wildcards to escape.
            l.filter("strpos(search_text, ?) > 0", needle)?;
        }
        if let Some(tag) = &query.tag {
            // Array containment uses the GIN index.
            l.filter("tags @> ARRAY[?]::text[]", tag.as_str().to_owned())?;
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
        let prepared = |after: Option<CustomerId>| -> Result<Where, StorageError> {
            let mut args = PgArguments::default();
            args.add(business.as_uuid()).map_err(|e| StorageError::backend(e, false))?;
            let mut w = Where::new(args, 1);
            translate(rule, ctx, &mut w)?;
            if let Some(after) = after {
                w.sql.push_str(" AND c.id > ");
                w.arg(after.as_uuid(), "")?;
            }
            Ok(w)
        };
        let count_where = prepared(None)?;
        let mut page_where = prepared(after)?;
        page_where.sql.push_str(" ORDER BY c.id LIMIT ");
        page_where.arg(i64::from(limit) + 1, "")?;
        // One snapshot for the count and the page.
        let mut tx = self.pool.begin().await.map_err(|e| map(CUSTOMER, e))?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(|e| map(CUSTOMER, e))?;
        // Only fixed SQL and $n placeholders are spliced; every value is bound.
        let count: i64 = sqlx::query_scalar_with(
            sqlx::AssertSqlSafe(format!(
                "SELECT count(*) FROM customers c WHERE c.business_id = $1 AND {}",
                count_where.sql
            )),
            count_where.args,
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map(CUSTOMER, e))?;
        let rows = sqlx::query_with(
            sqlx::AssertSqlSafe(format!(
                "SELECT * FROM customers c WHERE c.business_id = $1 AND {}",
                page_where.sql
            )),
            page_where.args,
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| map(CUSTOMER, e))?;
        tx.commit().await.map_err(|e| map(CUSTOMER, e))?;
        let items = rows.iter().map(customer_row).collect::<Result<Vec<_>, _>>()?;
        Ok(SegmentMatch {
            count: u64::try_from(count).unwrap_or(0),
            customers: Page::from_overfetch(items, limit, |c| c.id.to_string()),
        })
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
        let mut args = PgArguments::default();
        args.add(business.as_uuid()).map_err(|e| StorageError::backend(e, false))?;
        args.add(created_by).map_err(|e| StorageError::backend(e, false))?;
        // Every id sorts after the nil id, and a plain `>` keeps the key range.
        let after = after.map_or(uuid::Uuid::nil(), |a| a.as_uuid());
        args.add(after).map_err(|e| StorageError::backend(e, false))?;
        args.add(i64::from(limit)).map_err(|e| StorageError::backend(e, false))?;
        let mut w = Where::new(args, 4);
        translate(rule, ctx, &mut w)?;
        // Only fixed SQL and $n placeholders are spliced; every value is bound.
        let rows = sqlx::query_with(
            sqlx::AssertSqlSafe(format!(
                "SELECT * FROM customers c WHERE c.business_id = $1 AND c.created_at <= $2
                   AND c.id > $3 AND {} ORDER BY c.id LIMIT $4",
                w.sql
            )),
            w.args,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(CUSTOMER, e))?;
        rows.iter().map(customer_row).collect()
    }

    async fn add_customer_tags(
        &self,
        business: BusinessId,
        id: CustomerId,
        tags: &[Tag],
        at: DateTime<Utc>,
    ) -> Result<Customer, StorageError> {
        self.change_tags(
            business,
            id,
            tags,
            at,
            "UPDATE customers SET updated_at = $4,
               tags = ARRAY(SELECT DISTINCT t FROM unnest(tags || $3::text[]) AS t ORDER BY t)
             WHERE business_id = $1 AND id = $2 RETURNING *",
        )
        .await
    }

    async fn remove_customer_tags(
        &self,
        business: BusinessId,
        id: CustomerId,
        tags: &[Tag],
        at: DateTime<Utc>,
    ) -> Result<Customer, StorageError> {
        self.change_tags(
            business,
            id,
            tags,
            at,
            "UPDATE customers SET updated_at = $4,
               tags = ARRAY(SELECT t FROM unnest(tags) AS t WHERE t <> ALL ($3::text[]) ORDER BY t)
             WHERE business_id = $1 AND id = $2 RETURNING *",
        )
        .await
    }
}
