//! Campaigns with a manual clock on every backend: a daily run that follows
//! the clocks across daylight saving, one run per occurrence however many
//! workers, the calendar and the comparison of runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use support::{TestApp, on};
use whatsapp_crm_core::ports::{Clock, ManualClock};
use whatsapp_crm_core::service::{NewCampaign, NewTemplate};
use whatsapp_crm_core::{
    Audience, BroadcastStatus, BusinessId, CampaignStatus, Crm, NewBusiness, NewCustomer, Schedule,
    TemplateId, TemplateStatus,
};

on_every_backend!(
    a_daily_campaign_follows_the_clocks_across_daylight_saving,
    bad_campaigns_are_refused,
);

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

async fn london_shop(t: &TestApp, crm: &Crm) -> BusinessId {
    let b = crm
        .businesses()
        .create(NewBusiness {
            name: "Corner Shop".into(),
            whatsapp_sender: whatsapp_crm_core::testing::unique_sender().to_string(),
            time_zone: "Europe/London".into(),
            currency: "GBP".into(),
        })
        .await
        .unwrap();
    let _ = t;
    b.id
}

async fn approved(t: &TestApp, crm: &Crm, b: BusinessId) -> TemplateId {
    let input: NewTemplate = serde_json::from_value(serde_json::json!({
        "name": "daily_deal", "category": "marketing", "language": "en",
        "content": {"body": "Morning {{name|friend}}! Today's deal is waiting for you in store.",
                    "samples": {"name": "Sam"}}
    }))
    .unwrap();
    let tpl = crm.templates().create(b, input).await.unwrap();
    let tpl = crm.templates().submit(b, tpl.id).await.unwrap();
    t.registry.set_status(tpl.provider_id.as_deref().unwrap(), TemplateStatus::Approved, None);
    crm.templates().sync(b, tpl.id).await.unwrap();
    tpl.id
}

fn daily(template: TemplateId) -> NewCampaign {
    NewCampaign {
        name: "Daily deal".into(),
        template_id: template,
        variables: Default::default(),
        audience: Audience::OptedIn,
        auto_pause: None,
        schedule: Schedule::Cron { expression: "0 9 * * *".into() },
    }
}

async fn a_daily_campaign_follows_the_clocks_across_daylight_saving(t: TestApp) {
    let clock = Arc::new(ManualClock::new(at("2026-03-27T12:00:00Z")));
    let crm = t.crm.clone().with_clock(clock.clone());
    let shop = london_shop(&t, &crm).await;
    let tpl = approved(&t, &crm, shop).await;
    for i in 0..3 {
        let mut c = NewCustomer::with_phone(format!("+4477009000{i:02}"));
        c.marketing_opt_in = Some(true);
        crm.customers().create(shop, c).await.unwrap();
    }
    let campaigns = crm.campaigns();
    let c = campaigns.create(shop, daily(tpl)).await.unwrap();
    // 09:00 GMT on Saturday, then 09:00 BST (08:00 UTC) on Sunday.
    assert_eq!(c.next_run_at, Some(at("2026-03-28T09:00:00Z")));
    clock.set(at("2026-03-28T08:59:59Z"));
    assert_eq!(campaigns.run_due(clock.now()).await.unwrap().started, 0);
    clock.set(at("2026-03-28T09:00:00Z"));
    // Two workers at the same moment start one run.
    let (one, two) = tokio::join!(campaigns.run_due(clock.now()), campaigns.run_due(clock.now()));
    assert_eq!(one.unwrap().started + two.unwrap().started, 1);
    let c = campaigns.get(shop, c.id).await.unwrap();
    assert_eq!((c.runs, c.next_run_at), (1, Some(at("2026-03-29T08:00:00Z"))));
    crm.broadcasts().run_due(clock.now()).await.unwrap();
    clock.set(at("2026-03-29T08:00:00Z"));
    assert_eq!(campaigns.run_due(clock.now()).await.unwrap().started, 1);
    crm.broadcasts().run_due(clock.now()).await.unwrap();
    assert_eq!(
        campaigns.get(shop, c.id).await.unwrap().next_run_at,
        Some(at("2026-03-30T08:00:00Z"))
    );

    // The calendar shows both runs and the ones to come in the range.
    let cal = campaigns
        .calendar(shop, c.id, at("2026-03-27T00:00:00Z"), at("2026-04-01T00:00:00Z"))
        .await
        .unwrap();
    let started: Vec<_> = cal.runs.iter().map(|r| r.launched_at.unwrap()).collect();
    assert_eq!(started, vec![at("2026-03-28T09:00:00Z"), at("2026-03-29T08:00:00Z")]);
    assert_eq!(cal.upcoming, vec![at("2026-03-30T08:00:00Z"), at("2026-03-31T08:00:00Z")]);
    assert_eq!(cal.runs[0].name, "Daily deal · 2026-03-28 09:00");
    assert_eq!(cal.runs[1].name, "Daily deal · 2026-03-29 09:00");
    // Runs side by side.
    let runs = campaigns.compare(shop, c.id).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.queued == 3 && r.status == BroadcastStatus::Sending));

    // Paused, it skips its time; resumed, it runs from the next occurrence.
    campaigns.pause(shop, c.id).await.unwrap();
    clock.set(at("2026-03-30T08:00:00Z"));
    assert_eq!(campaigns.run_due(clock.now()).await.unwrap().started, 0);
    let resumed = campaigns.resume(shop, c.id).await.unwrap();
    assert_eq!(resumed.next_run_at, Some(at("2026-03-31T08:00:00Z")));
    let ended = campaigns.end(shop, c.id).await.unwrap();
    assert_eq!((ended.status, ended.next_run_at), (CampaignStatus::Ended, None));
    assert!(campaigns.resume(shop, c.id).await.is_err());
    // Another business sees none of it.
    assert!(campaigns.get(t.shop_a, c.id).await.is_err());
}

async fn bad_campaigns_are_refused(t: TestApp) {
    let clock = Arc::new(ManualClock::new(at("2026-03-27T12:00:00Z")));
    let crm = t.crm.clone().with_clock(clock.clone());
    let shop = london_shop(&t, &crm).await;
    let tpl = approved(&t, &crm, shop).await;
    let campaigns = crm.campaigns();
    let mut every_minute = daily(tpl);
    every_minute.schedule = Schedule::Cron { expression: "* * * * *".into() };
    let err = campaigns.create(shop, every_minute).await.unwrap_err().to_string();
    assert!(err.contains("schedule") && err.contains("more often"), "{err}");
    let mut past = daily(tpl);
    past.schedule = Schedule::Once { at: at("2026-03-01T09:00:00Z") };
    past.name = " ".into();
    let err = campaigns.create(shop, past).await.unwrap_err().to_string();
    assert!(err.contains("name") && err.contains("schedule"), "{err}");
    assert!(campaigns.create(t.shop_a, daily(tpl)).await.is_err(), "another business's template");
    assert!(campaigns.list(shop, None, None).await.unwrap().items.is_empty());
    // A one-off campaign runs once, then ends.
    let mut once = daily(tpl);
    once.schedule = Schedule::Once { at: at("2026-03-27T15:00:00Z") };
    let c = campaigns.create(shop, once).await.unwrap();
    clock.set(at("2026-03-27T15:00:00Z"));
    assert_eq!(campaigns.run_due(clock.now()).await.unwrap().started, 1);
    let c = campaigns.get(shop, c.id).await.unwrap();
    assert_eq!((c.status, c.runs, c.next_run_at), (CampaignStatus::Ended, 1, None));
    clock.advance(Duration::days(1));
    assert_eq!(campaigns.run_due(clock.now()).await.unwrap().started, 0);
}
