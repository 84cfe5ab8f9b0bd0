//! Campaigns.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use whatsapp_crm_core::ports::{
    CAMPAIGN_CHANGED, CampaignSpec, CampaignStore, Page, clamp_limit, enum_to_text,
};
use whatsapp_crm_core::{Broadcast, BusinessId, Campaign, CampaignId, StorageError, TemplateId};

use crate::broadcasts::broadcast_row;
use crate::codec::{get, get_enum, get_json, to_json};
use crate::error::{Ctx, map};
use crate::listing::Listing;
use crate::storage::PostgresStorage;

const CAMPAIGN: Ctx = Ctx::new("campaign", "template");

fn campaign_row(row: &PgRow) -> Result<Campaign, StorageError> {
    let spec: CampaignSpec = get_json(row, "spec")?;
    Ok(Campaign {
        id: CampaignId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        name: get(row, "name")?,
        template_id: TemplateId::from_uuid(get(row, "template_id")?),
        variables: spec.variables,
        audience: spec.audience,
        auto_pause: spec.auto_pause,
        schedule: spec.schedule,
        status: get_enum(row, "status")?,
        next_run_at: get(row, "next_run_at")?,
        runs: u32::try_from(get::<i32>(row, "runs")?).unwrap_or(0),
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// Binds every column a campaign writes, `$1`..`$10`.
fn bind_all<'q>(
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    c: &'q Campaign,
) -> Result<sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>, StorageError> {
    Ok(q.bind(c.business_id.as_uuid())
        .bind(c.id.as_uuid())
        .bind(c.template_id.as_uuid())
        .bind(&c.name)
        .bind(sqlx::types::Json(to_json(&CampaignSpec::of(c))?))
        .bind(enum_to_text(&c.status)?)
        .bind(c.next_run_at)
        .bind(i32::try_from(c.runs).unwrap_or(i32::MAX))
        .bind(c.created_at)
        .bind(c.updated_at))
}

#[async_trait]
impl CampaignStore for PostgresStorage {
    async fn insert_campaign(&self, c: &Campaign) -> Result<(), StorageError> {
        let q = sqlx::query(
            "INSERT INTO campaigns (business_id, id, template_id, name, spec, status, next_run_at,
               runs, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        );
        bind_all(q, c)?.execute(&self.pool).await.map_err(|e| map(CAMPAIGN, e))?;
        Ok(())
    }

    async fn get_campaign(
        &self,
        business: BusinessId,
        id: CampaignId,
    ) -> Result<Campaign, StorageError> {
        let row = sqlx::query("SELECT * FROM campaigns WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(CAMPAIGN, e))?;
        row.as_ref().map(campaign_row).transpose()?.ok_or(StorageError::not_found("campaign"))
    }

    async fn list_campaigns(
        &self,
        business: BusinessId,
        limit: u32,
        after: Option<CampaignId>,
    ) -> Result<Page<Campaign>, StorageError> {
        let mut l = Listing::new("campaigns", business)?;
        if let Some(after) = after {
            l.filter("id > ?", after.as_uuid())?;
        }
        l.page(self, CAMPAIGN, clamp_limit(limit), campaign_row, |c| c.id.to_string()).await
    }

    async fn update_campaign(
        &self,
        c: &Campaign,
        read_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let q = sqlx::query(
            "UPDATE campaigns SET template_id = $3, name = $4, spec = $5, status = $6,
               next_run_at = $7, runs = $8, updated_at = $10
             WHERE business_id = $1 AND id = $2 AND updated_at = $11 AND created_at = $9",
        );
        let done = bind_all(q, c)?
            .bind(read_at)
            .execute(&self.pool)
            .await
            .map_err(|e| map(CAMPAIGN, e))?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        self.get_campaign(c.business_id, c.id).await?;
        Err(StorageError::conflict("campaign", CAMPAIGN_CHANGED))
    }

    async fn due_campaigns(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(BusinessId, CampaignId)>, StorageError> {
        let rows: Vec<(uuid::Uuid, uuid::Uuid)> = sqlx::query_as(
            "SELECT business_id, id FROM campaigns
             WHERE status = 'active' AND next_run_at <= $1 ORDER BY id",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(CAMPAIGN, e))?;
        Ok(rows
            .into_iter()
            .map(|(b, id)| (BusinessId::from_uuid(b), CampaignId::from_uuid(id)))
            .collect())
    }

    async fn campaign_runs(
        &self,
        business: BusinessId,
        id: CampaignId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Broadcast>, StorageError> {
        self.get_campaign(business, id).await?;
        let rows = sqlx::query(
            "SELECT * FROM broadcasts WHERE business_id = $1 AND campaign_id = $2
               AND launched_at >= $3 AND launched_at < $4 ORDER BY launched_at, id",
        )
        .bind(business.as_uuid())
        .bind(id.as_uuid())
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(CAMPAIGN, e))?;
        rows.iter().map(broadcast_row).collect()
    }
}
