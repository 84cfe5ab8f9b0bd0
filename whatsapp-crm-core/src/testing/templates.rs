//! Conformance cases for message templates and their versions.

use std::collections::BTreeMap;

use crate::domain::{
    BusinessId, HeaderMediaKind, MessageTemplate, TemplateButton, TemplateCategory,
    TemplateContent, TemplateHeader, TemplateId, TemplateStatus,
};
use crate::ports::{Storage, StorageError, TemplateQuery};

use super::is_not_found;
use super::{at, new_business, ok, t0};
use futures_util::future::join_all;

/// A template with every field set.
pub fn template(business: BusinessId, name: &str) -> MessageTemplate {
    MessageTemplate {
        id: TemplateId::new(),
        business_id: business,
        name: name.to_owned(),
        category: TemplateCategory::Utility,
        language: "en".into(),
        version: 1,
        content: TemplateContent {
            header: Some(TemplateHeader::Media {
                kind: HeaderMediaKind::Image,
                sample_url: Some("https://cdn.example.com/a.jpg".into()),
            }),
            body: "Hello {{name|there}}, order {{order}} ships today — asante!".into(),
            footer: Some("Reply STOP to opt out".into()),
            buttons: vec![
                TemplateButton::QuickReply { label: "Thanks".into() },
                TemplateButton::Url {
                    label: "Track".into(),
                    url: "https://t.example.com/{{order}}".into(),
                },
            ],
            samples: BTreeMap::from([
                ("name".into(), "Wanjiku".into()),
                ("order".into(), "#42".into()),
            ]),
            code_expiration_minutes: None,
        },
        status: TemplateStatus::Draft,
        provider_id: None,
        rejection_reason: None,
        approved_version: None,
        approved_provider_id: None,
        created_at: t0(),
        updated_at: t0(),
        archived_at: None,
    }
}

/// An edited copy: next version, new body, later time.
fn edited(t: &MessageTemplate, body: &str, seconds: i64) -> MessageTemplate {
    let mut next = t.clone();
    next.version += 1;
    next.content.body = body.to_owned();
    next.updated_at = at(seconds);
    next
}

/// A template and its first version read back unchanged.
pub async fn template_round_trip(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let t = template(b.id, "order_update");
    ok(s.insert_template(&t).await, "insert");
    assert_eq!(ok(s.get_template(b.id, t.id).await, "get"), t);
    let versions = ok(s.list_template_versions(b.id, t.id).await, "versions");
    assert_eq!(versions, [t.latest_version()]);
    let err = s.get_template(b.id, TemplateId::new()).await.unwrap_err();
    assert!(matches!(err, StorageError::NotFound { entity: "template" }), "{err:?}");
}

/// Name and language are unique per business; other languages and businesses may reuse them.
pub async fn template_name_unique_per_business_and_language(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    ok(s.insert_template(&template(a.id, "welcome")).await, "first");
    let err = s.insert_template(&template(a.id, "welcome")).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict { entity: "template", .. }), "{err:?}");
    let mut swahili = template(a.id, "welcome");
    swahili.language = "sw".into();
    ok(s.insert_template(&swahili).await, "other language");
    ok(s.insert_template(&template(b.id, "welcome")).await, "other business");
    let found = ok(s.find_template(a.id, "welcome", "sw").await, "find");
    assert_eq!(found.map(|t| t.id), Some(swahili.id));
    assert_eq!(ok(s.find_template(a.id, "welcome", "fr").await, "find none"), None);
    assert!(is_not_found(s.insert_template(&template(BusinessId::new(), "orphan")).await));
}

/// Each edit adds a version; the history keeps every one, oldest first.
pub async fn template_edits_keep_every_version(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let v1 = template(b.id, "receipt");
    ok(s.insert_template(&v1).await, "insert");
    let v2 = edited(&v1, "Thanks {{name}}, we got payment for order {{order}} today.", 10);
    ok(s.save_template(&v2, 1).await, "edit 1");
    let v3 = edited(&v2, "Thanks {{name}}, payment for order {{order}} arrived today.", 20);
    ok(s.save_template(&v3, 2).await, "edit 2");
    assert_eq!(ok(s.get_template(b.id, v1.id).await, "get"), v3);
    let history = ok(s.list_template_versions(b.id, v1.id).await, "versions");
    let bodies: Vec<(u32, &str)> =
        history.iter().map(|v| (v.version, v.content.body.as_str())).collect();
    assert_eq!(
        bodies,
        [
            (1, v1.content.body.as_str()),
            (2, v2.content.body.as_str()),
            (3, v3.content.body.as_str())
        ]
    );
    assert_eq!(history[1].created_at, at(10));
}

/// Saving the same version records status changes on that version without adding one.
pub async fn template_status_changes_update_the_version(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let mut t = template(b.id, "promo");
    ok(s.insert_template(&t).await, "insert");
    t.status = TemplateStatus::Rejected;
    t.provider_id = Some("HX00000000000000000000000000000001".into());
    t.rejection_reason = Some("INVALID_FORMAT".into());
    t.updated_at = at(30);
    ok(s.save_template(&t, 1).await, "reject");
    t.status = TemplateStatus::Approved;
    t.rejection_reason = None;
    t.approved_version = Some(1);
    t.approved_provider_id = t.provider_id.clone();
    ok(s.save_template(&t, 1).await, "approve");
    assert_eq!(ok(s.get_template(b.id, t.id).await, "get"), t);
    let history = ok(s.list_template_versions(b.id, t.id).await, "versions");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].status, TemplateStatus::Approved);
    assert_eq!(history[0].provider_id, t.provider_id);
    assert_eq!(history[0].created_at, t0(), "a status change keeps the version's time");
}

/// Two edits racing from the same version: one wins, the other conflicts; a
/// stale version always conflicts; nothing is half-written.
pub async fn template_concurrent_edits_one_wins(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let t = template(b.id, "race");
    ok(s.insert_template(&t).await, "insert");
    let edits: Vec<MessageTemplate> = (0..4)
        .map(|i| {
            edited(
                &t,
                &format!("Edit number {i} for order {{{{order}}}} by {{{{name}}}} today."),
                i,
            )
        })
        .collect();
    let results = join_all(edits.iter().map(|e| s.save_template(e, 1))).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().all(|r| r.is_ok() || matches!(r, Err(StorageError::Conflict { .. }))));
    let winner = &edits[results.iter().position(Result::is_ok).unwrap_or(0)];
    assert_eq!(ok(s.get_template(b.id, t.id).await, "get"), *winner);
    assert_eq!(ok(s.list_template_versions(b.id, t.id).await, "versions").len(), 2);
    let stale = edited(&t, "Stale edit for order {{order}} by {{name}} today.", 99);
    assert!(matches!(s.save_template(&stale, 1).await, Err(StorageError::Conflict { .. })));
}

/// Name and language never change through a save.
pub async fn template_save_keeps_name_and_language(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let t = template(b.id, "fixed_name");
    ok(s.insert_template(&t).await, "insert");
    let mut renamed = edited(&t, "Another body for {{order}} and {{name}} to read today.", 5);
    renamed.name = "other_name".into();
    renamed.language = "fr".into();
    ok(s.save_template(&renamed, 1).await, "save");
    let stored = ok(s.get_template(b.id, t.id).await, "get");
    assert_eq!((stored.name.as_str(), stored.language.as_str()), ("fixed_name", "en"));
}

/// Listing filters by status and category, hides archived templates unless asked, and pages.
pub async fn template_list_filters_and_pages(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let mut all = Vec::new();
    for i in 0..5 {
        let mut t = template(b.id, &format!("t{i}"));
        if i % 2 == 0 {
            t.category = TemplateCategory::Marketing;
        }
        if i == 1 {
            t.status = TemplateStatus::Approved;
        }
        if i == 4 {
            t.archived_at = Some(at(1));
        }
        ok(s.insert_template(&t).await, "insert");
        all.push(t);
    }
    let ids = |p: crate::ports::Page<MessageTemplate>| {
        p.items.into_iter().map(|t| t.id).collect::<Vec<_>>()
    };
    let q = |f: fn(&mut TemplateQuery)| {
        let mut q = TemplateQuery { limit: 50, ..Default::default() };
        f(&mut q);
        q
    };
    assert_eq!(
        ids(ok(s.list_templates(b.id, &q(|_| {})).await, "all")),
        [all[0].id, all[1].id, all[2].id, all[3].id]
    );
    assert_eq!(
        ids(ok(s.list_templates(b.id, &q(|q| q.include_archived = true)).await, "archived")).len(),
        5
    );
    assert_eq!(
        ids(ok(
            s.list_templates(b.id, &q(|q| q.status = Some(TemplateStatus::Approved))).await,
            "approved"
        )),
        [all[1].id]
    );
    assert_eq!(
        ids(ok(
            s.list_templates(b.id, &q(|q| q.category = Some(TemplateCategory::Marketing))).await,
            "marketing"
        )),
        [all[0].id, all[2].id]
    );
    let first = ok(
        s.list_templates(b.id, &TemplateQuery { limit: 3, ..Default::default() }).await,
        "page 1",
    );
    let after = first.next_cursor.as_deref().map(|c| c.parse().unwrap());
    let rest = ok(
        s.list_templates(b.id, &TemplateQuery { limit: 3, after, ..Default::default() }).await,
        "page 2",
    );
    assert_eq!(first.items.len() + rest.items.len(), 4);
    assert_eq!(rest.next_cursor, None);
}

/// Templates of business A are invisible and immutable through business B.
pub async fn template_tenant_isolation(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    let t = template(a.id, "secret_offer");
    ok(s.insert_template(&t).await, "insert");
    assert!(is_not_found(s.get_template(b.id, t.id).await));
    assert_eq!(ok(s.find_template(b.id, "secret_offer", "en").await, "find"), None);
    assert!(
        ok(
            s.list_templates(
                b.id,
                &TemplateQuery { limit: 50, include_archived: true, ..Default::default() }
            )
            .await,
            "list"
        )
        .items
        .is_empty()
    );
    assert!(is_not_found(s.list_template_versions(b.id, t.id).await));
    let mut hijack = edited(&t, "Hijacked body for {{order}} and {{name}} right now.", 9);
    hijack.business_id = b.id;
    assert!(is_not_found(s.save_template(&hijack, 1).await));
    assert_eq!(ok(s.get_template(a.id, t.id).await, "unchanged"), t);
    assert_eq!(ok(s.list_template_versions(a.id, t.id).await, "versions").len(), 1);
}
