//! Campaigns.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::Row;
use rusqlite::types::Value;
use whatsapp_crm_core::ports::{
    CAMPAIGN_CHANGED, CampaignSpec, CampaignStore, Page, clamp_limit, enum_to_text,
};
use whatsapp_crm_core::{Broadcast, BusinessId, Campaign, CampaignId, StorageError, TemplateId};

use crate::broadcasts::broadcast_row;
use crate::codec::{get, get_enum, get_json, get_opt_time, get_time, get_uuid, micros, to_json};
use crate::error::{Ctx, map};
use crate::listing::{Listing, blob, query_all, query_one};
use crate::storage::SqliteStorage;

const CAMPAIGN: Ctx = Ctx::new("campaign", "template");

fn campaign_row(row: &Row<'_>) -> Result<Campaign, StorageError> {
    let spec: CampaignSpec = get_json(row, "spec")?;
    Ok(Campaign {
        id: CampaignId::from_uuid(get_uuid(row, "id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        name: get(row, "name")?,
        template_id: TemplateId::from_uuid(get_uuid(row, "template_id")?),
        variables: spec.variables,
        audience: spec.audience,
        auto_pause: spec.auto_pause,
        schedule: spec.schedule,
        status: get_enum(row, "status")?,
        next_run_at: get_opt_time(row, "next_run_at")?,
        runs: u32::try_from(get::<i64>(row, "runs")?).unwrap_or(0),
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

fn columns(c: &Campaign) -> Result<Vec<Value>, StorageError> {
    Ok(vec![
        blob(c.business_id.as_uuid()),
        blob(c.id.as_uuid()),
        blob(c.template_id.as_uuid()),
        Value::Text(c.name.clone()),
        Value::Text(to_json(&CampaignSpec::of(c))?),
        Value::Text(enum_to_text(&c.status)?),
        c.next_run_at.map_or(Value::Null, |t| Value::Integer(micros(t))),
        Value::Integer(i64::from(c.runs)),
        Value::Integer(micros(c.created_at)),
        Value::Integer(micros(c.updated_at)),
    ])
}

#[async_trait]
impl CampaignStore for SqliteStorage {
    async fn insert_campaign(&self, campaign: &Campaign) -> Result<(), StorageError> {
        let args = columns(campaign)?;
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO campaigns (business_id, id, template_id, name, spec, status,
                   next_run_at, runs, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                rusqlite::params_from_iter(args),
            )
            .map_err(|e| map(CAMPAIGN, e))?;
            Ok(())
        })
        .await
    }

    async fn get_campaign(
        &self,
        business: BusinessId,
        id: CampaignId,
    ) -> Result<Campaign, StorageError> {
        self.read(move |c| {
            query_one(
                c,
                CAMPAIGN,
                "SELECT * FROM campaigns WHERE business_id = ?1 AND id = ?2",
                vec![blob(business.as_uuid()), blob(id.as_uuid())],
                campaign_row,
            )
        })
        .await
    }

    async fn list_campaigns(
        &self,
        business: BusinessId,
        limit: u32,
        after: Option<CampaignId>,
    ) -> Result<Page<Campaign>, StorageError> {
        let mut l = Listing::new("SELECT * FROM campaigns", "", business);
        l.after(after.map(|a| a.as_uuid()));
        l.page(self, CAMPAIGN, clamp_limit(limit), campaign_row, |c| c.id.to_string()).await
    }

    async fn update_campaign(
        &self,
        campaign: &Campaign,
        read_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let mut args = columns(campaign)?;
        args.push(Value::Integer(micros(read_at)));
        self.write(move |tx| {
            let key = args[..2].to_vec();
            let n = tx
                .execute(
                    "UPDATE campaigns SET template_id = ?3, name = ?4, spec = ?5, status = ?6,
                       next_run_at = ?7, runs = ?8, updated_at = ?10
                     WHERE business_id = ?1 AND id = ?2 AND updated_at = ?11",
                    rusqlite::params_from_iter(args),
                )
                .map_err(|e| map(CAMPAIGN, e))?;
            if n == 1 {
                return Ok(());
            }
            query_one(
                tx,
                CAMPAIGN,
                "SELECT * FROM campaigns WHERE business_id = ?1 AND id = ?2",
                key,
                campaign_row,
            )?;
            Err(StorageError::conflict("campaign", CAMPAIGN_CHANGED))
        })
        .await
    }

    async fn due_campaigns(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(BusinessId, CampaignId)>, StorageError> {
        self.read(move |c| {
            query_all(
                c,
                CAMPAIGN,
                "SELECT business_id, id FROM campaigns
                 WHERE status = 'active' AND next_run_at <= ?1 ORDER BY id",
                vec![Value::Integer(micros(now))],
                |r| {
                    Ok((
                        BusinessId::from_uuid(get_uuid(r, "business_id")?),
                        CampaignId::from_uuid(get_uuid(r, "id")?),
                    ))
                },
            )
        })
        .await
    }

    async fn campaign_runs(
        &self,
        business: BusinessId,
        id: CampaignId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Broadcast>, StorageError> {
        let key = vec![blob(business.as_uuid()), blob(id.as_uuid())];
        let mut args = key.clone();
        args.extend([Value::Integer(micros(from)), Value::Integer(micros(to))]);
        self.read(move |c| {
            query_one(
                c,
                CAMPAIGN,
                "SELECT id FROM campaigns WHERE business_id = ?1 AND id = ?2",
                key,
                |r| get_uuid(r, "id"),
            )?;
            query_all(
                c,
                CAMPAIGN,
                "SELECT * FROM broadcasts WHERE business_id = ?1 AND campaign_id = ?2
                   AND launched_at >= ?3 AND launched_at < ?4 ORDER BY launched_at, id",
                args,
                broadcast_row,
            )
        })
        .await
    }
}
