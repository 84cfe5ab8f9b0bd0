//! Message templates and their version history.

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use whatsapp_crm_core::ports::{
    Page, TEMPLATE_CHANGED, TemplateQuery, TemplateStore, clamp_limit, enum_to_text,
};
use whatsapp_crm_core::{BusinessId, MessageTemplate, StorageError, TemplateId, TemplateVersion};

use crate::codec::{
    get, get_enum, get_json, get_opt_time, get_time, get_uuid, id_bytes, micros, opt_micros,
    to_json,
};
use crate::error::{Ctx, map};
use crate::listing::{Listing, blob, query_all, query_one};
use crate::storage::SqliteStorage;

const TEMPLATE: Ctx = Ctx::new("template", "business");
const VERSION: Ctx = Ctx::new("template version", "template");

fn template_row(row: &Row<'_>) -> Result<MessageTemplate, StorageError> {
    Ok(MessageTemplate {
        id: TemplateId::from_uuid(get_uuid(row, "id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        name: get(row, "name")?,
        category: get_enum(row, "category")?,
        language: get(row, "language")?,
        version: get(row, "version")?,
        content: get_json(row, "content")?,
        status: get_enum(row, "status")?,
        provider_id: get(row, "provider_id")?,
        rejection_reason: get(row, "rejection_reason")?,
        approved_version: get(row, "approved_version")?,
        approved_provider_id: get(row, "approved_provider_id")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
        archived_at: get_opt_time(row, "archived_at")?,
    })
}

fn version_row(row: &Row<'_>) -> Result<TemplateVersion, StorageError> {
    Ok(TemplateVersion {
        template_id: TemplateId::from_uuid(get_uuid(row, "template_id")?),
        version: get(row, "version")?,
        content: get_json(row, "content")?,
        status: get_enum(row, "status")?,
        provider_id: get(row, "provider_id")?,
        rejection_reason: get(row, "rejection_reason")?,
        created_at: get_time(row, "created_at")?,
    })
}

/// The columns a save may change, in the order both statements below use.
fn state(t: &MessageTemplate) -> Result<Vec<Value>, StorageError> {
    let opt_text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Text);
    let opt_int = |v: Option<i64>| v.map_or(Value::Null, Value::Integer);
    Ok(vec![
        Value::Text(enum_to_text(&t.category)?),
        Value::Integer(i64::from(t.version)),
        Value::Text(to_json(&t.content)?),
        Value::Text(enum_to_text(&t.status)?),
        opt_text(&t.provider_id),
        opt_text(&t.rejection_reason),
        opt_int(t.approved_version.map(i64::from)),
        opt_text(&t.approved_provider_id),
        Value::Integer(micros(t.created_at)),
        Value::Integer(micros(t.updated_at)),
        opt_int(opt_micros(t.archived_at)),
    ])
}

/// Adds the latest version to the history, or records its new status.
fn record_version(tx: &Connection, t: &MessageTemplate) -> Result<(), StorageError> {
    let v = t.latest_version();
    tx.execute(
        "INSERT INTO template_versions (business_id, template_id, version, content, status, provider_id,
           rejection_reason, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (business_id, template_id, version) DO UPDATE SET content = excluded.content,
           status = excluded.status, provider_id = excluded.provider_id,
           rejection_reason = excluded.rejection_reason",
        params![
            id_bytes(t.business_id.as_uuid()),
            id_bytes(t.id.as_uuid()),
            v.version,
            to_json(&v.content)?,
            enum_to_text(&v.status)?,
            v.provider_id,
            v.rejection_reason,
            micros(v.created_at)
        ],
    )
    .map_err(|e| map(VERSION, e))?;
    Ok(())
}

#[async_trait]
impl TemplateStore for SqliteStorage {
    async fn insert_template(&self, template: &MessageTemplate) -> Result<(), StorageError> {
        let t = template.clone();
        self.write(move |tx| {
            let mut args = vec![
                blob(t.business_id.as_uuid()),
                blob(t.id.as_uuid()),
                Value::Text(t.name.clone()),
                Value::Text(t.language.clone()),
            ];
            args.extend(state(&t)?);
            tx.execute(
                "INSERT INTO templates (business_id, id, name, language, category, version, content, status,
                   provider_id, rejection_reason, approved_version, approved_provider_id, created_at,
                   updated_at, archived_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                params_from_iter(args),
            )
            .map_err(|e| map(TEMPLATE, e))?;
            record_version(tx, &t)
        })
        .await
    }

    async fn get_template(
        &self,
        business: BusinessId,
        id: TemplateId,
    ) -> Result<MessageTemplate, StorageError> {
        self.read(move |c| {
            query_one(
                c,
                TEMPLATE,
                "SELECT * FROM templates WHERE business_id = ?1 AND id = ?2",
                vec![blob(business.as_uuid()), blob(id.as_uuid())],
                template_row,
            )
        })
        .await
    }

    async fn find_template(
        &self,
        business: BusinessId,
        name: &str,
        language: &str,
    ) -> Result<Option<MessageTemplate>, StorageError> {
        let args = vec![
            blob(business.as_uuid()),
            Value::Text(name.to_owned()),
            Value::Text(language.to_owned()),
        ];
        self.read(move |c| {
            Ok(query_all(
                c,
                TEMPLATE,
                "SELECT * FROM templates WHERE business_id = ?1 AND name = ?2 AND language = ?3",
                args,
                template_row,
            )?
            .pop())
        })
        .await
    }

    async fn list_templates(
        &self,
        business: BusinessId,
        query: &TemplateQuery,
    ) -> Result<Page<MessageTemplate>, StorageError> {
        let mut l = Listing::new("SELECT * FROM templates", "", business);
        l.after(query.after.map(|a| a.as_uuid()));
        if let Some(status) = query.status {
            l.filter("status = ?", Value::Text(enum_to_text(&status)?));
        }
        if let Some(category) = query.category {
            l.filter("category = ?", Value::Text(enum_to_text(&category)?));
        }
        if !query.include_archived {
            l.condition("archived_at IS NULL");
        }
        l.page(self, TEMPLATE, clamp_limit(query.limit), template_row, |t| t.id.to_string()).await
    }

    async fn save_template(
        &self,
        template: &MessageTemplate,
        expected_version: u32,
    ) -> Result<(), StorageError> {
        let t = template.clone();
        self.write(move |tx| {
            let mut args = vec![blob(t.business_id.as_uuid()), blob(t.id.as_uuid()), Value::Integer(i64::from(expected_version))];
            args.extend(state(&t)?);
            let changed = tx
                .execute(
                    "UPDATE templates SET category = ?4, version = ?5, content = ?6, status = ?7,
                       provider_id = ?8, rejection_reason = ?9, approved_version = ?10,
                       approved_provider_id = ?11, created_at = ?12, updated_at = ?13, archived_at = ?14
                     WHERE business_id = ?1 AND id = ?2 AND version = ?3",
                    params_from_iter(args),
                )
                .map_err(|e| map(TEMPLATE, e))?;
            if changed == 0 {
                let exists = tx
                    .query_row(
                        "SELECT 1 FROM templates WHERE business_id = ?1 AND id = ?2",
                        params![id_bytes(t.business_id.as_uuid()), id_bytes(t.id.as_uuid())],
                        |_| Ok(()),
                    )
                    .optional()
                    .map_err(|e| map(TEMPLATE, e))?;
                return Err(match exists {
                    Some(()) => StorageError::conflict("template", TEMPLATE_CHANGED),
                    None => StorageError::not_found("template"),
                });
            }
            // Name and language are fixed: read them back so the history matches.
            let stored = query_all(tx, TEMPLATE, "SELECT * FROM templates WHERE business_id = ?1 AND id = ?2", vec![blob(t.business_id.as_uuid()), blob(t.id.as_uuid())], template_row)?;
            match stored.first() {
                Some(s) => record_version(tx, s),
                None => Err(StorageError::not_found("template")),
            }
        })
        .await
    }

    async fn list_template_versions(
        &self,
        business: BusinessId,
        id: TemplateId,
    ) -> Result<Vec<TemplateVersion>, StorageError> {
        self.read(move |c| {
            let exists = c
                .query_row(
                    "SELECT 1 FROM templates WHERE business_id = ?1 AND id = ?2",
                    params![id_bytes(business.as_uuid()), id_bytes(id.as_uuid())],
                    |_| Ok(()),
                )
                .optional()
                .map_err(|e| map(TEMPLATE, e))?;
            if exists.is_none() {
                return Err(StorageError::not_found("template"));
            }
            let mut stmt = c
                .prepare_cached(
                    "SELECT * FROM template_versions WHERE business_id = ?1 AND template_id = ?2 ORDER BY version",
                )
                .map_err(|e| map(VERSION, e))?;
            let mut rows = stmt.query(params![id_bytes(business.as_uuid()), id_bytes(id.as_uuid())]).map_err(|e| map(VERSION, e))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(|e| map(VERSION, e))? {
                out.push(version_row(row)?);
            }
            Ok(out)
        })
        .await
    }
}
