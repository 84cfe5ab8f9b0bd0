//! Message templates and their version history.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Transaction};
use whatsapp_crm_core::ports::{
    Page, TEMPLATE_CHANGED, TemplateQuery, TemplateStore, clamp_limit, enum_to_text,
};
use whatsapp_crm_core::{BusinessId, MessageTemplate, StorageError, TemplateId, TemplateVersion};

use crate::codec::{get, get_enum, get_json, to_json};
use crate::error::{Ctx, corrupt, map};
use crate::listing::Listing;
use crate::storage::PostgresStorage;

const TEMPLATE: Ctx = Ctx::new("template", "business");
const VERSION: Ctx = Ctx::new("template version", "template");

fn version_number(row: &PgRow, col: &str) -> Result<u32, StorageError> {
    let v: i32 = get(row, col)?;
    u32::try_from(v).map_err(|e| corrupt(col, e))
}

fn template_row(row: &PgRow) -> Result<MessageTemplate, StorageError> {
    let approved: Option<i32> = get(row, "approved_version")?;
    Ok(MessageTemplate {
        id: TemplateId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        name: get(row, "name")?,
        category: get_enum(row, "category")?,
        language: get(row, "language")?,
        version: version_number(row, "version")?,
        content: get_json(row, "content")?,
        status: get_enum(row, "status")?,
        provider_id: get(row, "provider_id")?,
        rejection_reason: get(row, "rejection_reason")?,
        approved_version: approved
            .map(|v| u32::try_from(v).map_err(|e| corrupt("approved_version", e)))
            .transpose()?,
        approved_provider_id: get(row, "approved_provider_id")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        archived_at: get(row, "archived_at")?,
    })
}

fn version_row(row: &PgRow) -> Result<TemplateVersion, StorageError> {
    Ok(TemplateVersion {
        template_id: TemplateId::from_uuid(get(row, "template_id")?),
        version: version_number(row, "version")?,
        content: get_json(row, "content")?,
        status: get_enum(row, "status")?,
        provider_id: get(row, "provider_id")?,
        rejection_reason: get(row, "rejection_reason")?,
        created_at: get(row, "created_at")?,
    })
}

fn as_i32(v: u32) -> Result<i32, StorageError> {
    i32::try_from(v).map_err(|_| StorageError::backend("template version out of range", false))
}

/// Binds the columns a save may change, in the order both statements below use.
fn bind_state<'q>(
    q: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    t: &MessageTemplate,
) -> Result<sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>, StorageError> {
    Ok(q.bind(enum_to_text(&t.category)?)
        .bind(as_i32(t.version)?)
        .bind(sqlx::types::Json(to_json(&t.content)?))
        .bind(enum_to_text(&t.status)?)
        .bind(t.provider_id.clone())
        .bind(t.rejection_reason.clone())
        .bind(t.approved_version.map(as_i32).transpose()?)
        .bind(t.approved_provider_id.clone())
        .bind(t.created_at)
        .bind(t.updated_at)
        .bind(t.archived_at))
}

/// Adds the latest version to the history, or records its new status.
async fn record_version(
    tx: &mut Transaction<'_, Postgres>,
    t: &MessageTemplate,
) -> Result<(), StorageError> {
    let v = t.latest_version();
    sqlx::query(
        "INSERT INTO template_versions (business_id, template_id, version, content, status, provider_id,
           rejection_reason, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (business_id, template_id, version) DO UPDATE SET content = excluded.content,
           status = excluded.status, provider_id = excluded.provider_id,
           rejection_reason = excluded.rejection_reason",
    )
    .bind(t.business_id.as_uuid())
    .bind(t.id.as_uuid())
    .bind(as_i32(v.version)?)
    .bind(sqlx::types::Json(to_json(&v.content)?))
    .bind(enum_to_text(&v.status)?)
    .bind(v.provider_id)
    .bind(v.rejection_reason)
    .bind(v.created_at)
    .execute(&mut **tx)
    .await
    .map_err(|e| map(VERSION, e))?;
    Ok(())
}

#[async_trait]
impl TemplateStore for PostgresStorage {
    async fn insert_template(&self, t: &MessageTemplate) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(TEMPLATE, e))?;
        let q = sqlx::query(
            "INSERT INTO templates (business_id, id, name, language, category, version, content, status,
               provider_id, rejection_reason, approved_version, approved_provider_id, created_at, updated_at,
               archived_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(t.business_id.as_uuid())
        .bind(t.id.as_uuid())
        .bind(&t.name)
        .bind(&t.language);
        bind_state(q, t)?.execute(&mut *tx).await.map_err(|e| map(TEMPLATE, e))?;
        record_version(&mut tx, t).await?;
        tx.commit().await.map_err(|e| map(TEMPLATE, e))
    }

    async fn get_template(
        &self,
        business: BusinessId,
        id: TemplateId,
    ) -> Result<MessageTemplate, StorageError> {
        let row = sqlx::query("SELECT * FROM templates WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(TEMPLATE, e))?;
        row.as_ref().map(template_row).transpose()?.ok_or(StorageError::not_found("template"))
    }

    async fn find_template(
        &self,
        business: BusinessId,
        name: &str,
        language: &str,
    ) -> Result<Option<MessageTemplate>, StorageError> {
        let row = sqlx::query(
            "SELECT * FROM templates WHERE business_id = $1 AND name = $2 AND language = $3",
        )
        .bind(business.as_uuid())
        .bind(name)
        .bind(language)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| map(TEMPLATE, e))?;
        row.as_ref().map(template_row).transpose()
    }

    async fn list_templates(
        &self,
        business: BusinessId,
        query: &TemplateQuery,
    ) -> Result<Page<MessageTemplate>, StorageError> {
        let mut l = Listing::new("templates", business)?;
        if let Some(after) = query.after {
            l.filter("id > ?", after.as_uuid())?;
        }
        if let Some(status) = query.status {
            l.filter("status = ?", enum_to_text(&status)?)?;
        }
        if let Some(category) = query.category {
            l.filter("category = ?", enum_to_text(&category)?)?;
        }
        if !query.include_archived {
            l.condition("archived_at IS NULL");
        }
        l.page(self, TEMPLATE, clamp_limit(query.limit), template_row, |t| t.id.to_string()).await
    }

    async fn save_template(
        &self,
        t: &MessageTemplate,
        expected_version: u32,
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(TEMPLATE, e))?;
        // The version check and the row lock are one statement, so two editors
        // racing from the same version cannot both win.
        let q = sqlx::query(
            "UPDATE templates SET category = $4, version = $5, content = $6, status = $7, provider_id = $8,
               rejection_reason = $9, approved_version = $10, approved_provider_id = $11, created_at = $12,
               updated_at = $13, archived_at = $14
             WHERE business_id = $1 AND id = $2 AND version = $3 RETURNING *",
        )
        .bind(t.business_id.as_uuid())
        .bind(t.id.as_uuid())
        .bind(as_i32(expected_version)?);
        let row = bind_state(q, t)?.fetch_optional(&mut *tx).await.map_err(|e| map(TEMPLATE, e))?;
        let Some(row) = row else {
            let exists: Option<i32> =
                sqlx::query_scalar("SELECT 1 FROM templates WHERE business_id = $1 AND id = $2")
                    .bind(t.business_id.as_uuid())
                    .bind(t.id.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| map(TEMPLATE, e))?;
            return Err(match exists {
                Some(_) => StorageError::conflict("template", TEMPLATE_CHANGED),
                None => StorageError::not_found("template"),
            });
        };
        let stored = template_row(&row)?;
        record_version(&mut tx, &stored).await?;
        tx.commit().await.map_err(|e| map(TEMPLATE, e))
    }

    async fn list_template_versions(
        &self,
        business: BusinessId,
        id: TemplateId,
    ) -> Result<Vec<TemplateVersion>, StorageError> {
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM templates WHERE business_id = $1 AND id = $2")
                .bind(business.as_uuid())
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| map(TEMPLATE, e))?;
        if exists.is_none() {
            return Err(StorageError::not_found("template"));
        }
        let rows = sqlx::query("SELECT * FROM template_versions WHERE business_id = $1 AND template_id = $2 ORDER BY version")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map(VERSION, e))?;
        rows.iter().map(version_row).collect()
    }
}
