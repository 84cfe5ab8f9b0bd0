//! Conformance cases for campaigns and their runs.

use std::collections::BTreeMap;

use crate::domain::{
    Audience, AutoPause, Broadcast, BroadcastId, BroadcastStatus, Business, Campaign, CampaignId,
    CampaignStatus, Schedule,
};
use crate::ports::{CAMPAIGN_CHANGED, Storage, StorageError};

use super::{at, new_business, ok, template};

async fn campaign(s: &dyn Storage, b: &Business, next: i64) -> Campaign {
    let t = template(b.id, &format!("weekly_{}", CampaignId::new().as_uuid().simple()));
    ok(s.insert_template(&t).await, "template");
    let c = Campaign {
        id: CampaignId::new(),
        business_id: b.id,
        name: "Monday offers".into(),
        template_id: t.id,
        variables: BTreeMap::from([("order".into(), "\"-\"".into())]),
        audience: Audience::OptedIn,
        auto_pause: AutoPause::default(),
        schedule: Schedule::Cron { expression: "0 9 * * MON".into() },
        status: CampaignStatus::Active,
        next_run_at: Some(at(next)),
        runs: 0,
        created_at: at(0),
        updated_at: at(0),
    };
    ok(s.insert_campaign(&c).await, "insert campaign");
    c
}

/// A campaign reads back as stored; an update needs the version it read;
/// another business sees none of it.
pub async fn campaign_round_trip_and_guarded_updates(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let mut c = campaign(s, &b, 100).await;
    assert_eq!(ok(s.get_campaign(b.id, c.id).await, "get"), c);
    let read_at = c.updated_at;
    c.runs = 1;
    c.next_run_at = Some(at(700));
    c.updated_at = at(5);
    ok(s.update_campaign(&c, read_at).await, "update");
    assert_eq!(ok(s.get_campaign(b.id, c.id).await, "get"), c);
    // A second worker that read the old version starts nothing.
    let mut stale = c.clone();
    stale.runs = 2;
    let r = s.update_campaign(&stale, read_at).await;
    assert!(
        matches!(&r, Err(StorageError::Conflict { constraint, .. }) if constraint == CAMPAIGN_CHANGED),
        "{r:?}"
    );
    let second = campaign(s, &b, 200).await;
    let page = ok(s.list_campaigns(b.id, 1, None).await, "list");
    assert_eq!(page.items, vec![c.clone()]);
    let rest = ok(s.list_campaigns(b.id, 5, page.next_cursor.unwrap().parse().ok()).await, "rest");
    assert_eq!(rest.items, vec![second]);
    let other = new_business(s, "Other").await;
    assert!(matches!(s.get_campaign(other.id, c.id).await, Err(StorageError::NotFound { .. })));
    let mut hijack = c.clone();
    hijack.business_id = other.id;
    assert!(matches!(
        s.update_campaign(&hijack, c.updated_at).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(matches!(s.insert_campaign(&hijack).await, Err(StorageError::NotFound { .. })));
    assert!(ok(s.list_campaigns(other.id, 5, None).await, "other").items.is_empty());
}

/// Due campaigns are the active ones whose time came; runs are listed by
/// launch time within a range.
pub async fn campaign_due_ones_and_runs(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    let soon = campaign(s, &a, 100).await;
    let later = campaign(s, &b, 200).await;
    let mut paused = campaign(s, &a, 50).await;
    let read_at = paused.updated_at;
    paused.status = CampaignStatus::Paused;
    ok(s.update_campaign(&paused, read_at).await, "pause");
    let ids = |v: Vec<(crate::domain::BusinessId, CampaignId)>| {
        v.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    };
    assert_eq!(ids(ok(s.due_campaigns(at(99)).await, "none")), Vec::<CampaignId>::new());
    assert_eq!(ids(ok(s.due_campaigns(at(200)).await, "both")), vec![soon.id, later.id]);
    // Runs are broadcasts that carry the campaign's id.
    let run = |launched: i64| Broadcast {
        id: BroadcastId::new(),
        business_id: a.id,
        name: format!("Monday offers · {launched}"),
        template_id: soon.template_id,
        variables: soon.variables.clone(),
        audience: soon.audience.clone(),
        send_at: None,
        status: BroadcastStatus::Launching,
        pause_reason: None,
        auto_pause: soon.auto_pause,
        ab_test: None,
        recipients: 0,
        queued: 0,
        skipped: 0,
        launch_cursor: None,
        launch_complete: false,
        campaign_id: Some(soon.id),
        created_at: at(launched),
        updated_at: at(launched),
        launched_at: Some(at(launched)),
        finished_at: None,
    };
    let (first, second, third) = (run(100), run(700), run(1_300));
    for r in [&third, &first, &second] {
        ok(s.insert_broadcast(r).await, "run");
    }
    assert_eq!(ok(s.get_broadcast(a.id, first.id).await, "read"), first);
    let runs = ok(s.campaign_runs(a.id, soon.id, at(100), at(1_300)).await, "runs");
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), vec![first.id, second.id]);
    assert!(ok(s.campaign_runs(a.id, paused.id, at(0), at(2_000)).await, "none").is_empty());
    assert!(matches!(
        s.campaign_runs(b.id, soon.id, at(0), at(2_000)).await,
        Err(StorageError::NotFound { .. })
    ));
}
