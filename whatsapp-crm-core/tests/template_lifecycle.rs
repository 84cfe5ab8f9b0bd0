//! The template lifecycle through the service: draft, submit, approve, edit
//! (the approved version stays sendable), reject, archive, preview.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration};
use whatsapp_crm_core::ports::{ManualClock, RegistryError};
use whatsapp_crm_core::service::{NewTemplate, PreviewRequest, TemplateEdit, TemplateListParams};
use whatsapp_crm_core::{
    BusinessId, Crm, InMemoryStorage, NewBusiness, NewCustomer, ServiceError, StubTemplateRegistry,
    TemplateCategory, TemplateContent, TemplateStatus,
};

struct Setup {
    crm: Crm,
    registry: Arc<StubTemplateRegistry>,
    clock: Arc<ManualClock>,
    shop: BusinessId,
}

async fn setup() -> Setup {
    let registry = Arc::new(StubTemplateRegistry::new());
    let clock = Arc::new(ManualClock::new(DateTime::from_timestamp(1_767_254_400, 0).unwrap()));
    let crm = Crm::new(Arc::new(InMemoryStorage::new()))
        .with_clock(clock.clone())
        .with_template_registry(registry.clone());
    let shop = crm
        .businesses()
        .create(NewBusiness {
            name: "Duka".into(),
            whatsapp_sender: "+254700000001".into(),
            time_zone: "Africa/Nairobi".into(),
            currency: "KES".into(),
        })
        .await
        .unwrap()
        .id;
    Setup { crm, registry, clock, shop }
}

fn content(body: &str) -> TemplateContent {
    TemplateContent {
        body: body.into(),
        samples: BTreeMap::from([
            ("name".into(), "Wanjiku".into()),
            ("order".into(), "#42".into()),
        ]),
        ..TemplateContent::default()
    }
}

fn new_template() -> NewTemplate {
    NewTemplate {
        name: "order_update".into(),
        category: TemplateCategory::Utility,
        language: "en".into(),
        content: content("Hello {{name|rafiki}}, your order {{order}} is on its way today."),
    }
}

#[tokio::test]
async fn approve_edit_reject_keeps_the_approved_version_sendable() {
    let s = setup().await;
    let templates = s.crm.templates();
    let t = templates.create(s.shop, new_template()).await.unwrap();
    assert_eq!((t.version, t.status), (1, TemplateStatus::Draft));

    let submitted = templates.submit(s.shop, t.id).await.unwrap();
    assert_eq!(submitted.status, TemplateStatus::Pending);
    let hx1 = submitted.provider_id.clone().unwrap();
    let (_, provider) = &s.registry.created()[0];
    assert_eq!(
        provider.samples,
        BTreeMap::from([("1".into(), "Wanjiku".into()), ("2".into(), "#42".into())])
    );
    assert_eq!(
        s.registry.submitted()[0],
        (hx1.clone(), "order_update".into(), TemplateCategory::Utility)
    );

    s.registry.set_status(&hx1, TemplateStatus::Approved, None);
    s.clock.advance(Duration::hours(1));
    let approved = templates.sync(s.shop, t.id).await.unwrap();
    assert_eq!((approved.status, approved.approved_version), (TemplateStatus::Approved, Some(1)));
    assert!(approved.is_sendable());

    let edited = templates
        .update(
            s.shop,
            t.id,
            TemplateEdit {
                content: content(
                    "Hi {{name|rafiki}}, order {{order}} left our shop and arrives today.",
                ),
                category: None,
                expected_version: Some(1),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (edited.version, edited.status),
        (2, TemplateStatus::Pending),
        "back to review at once"
    );
    assert_eq!(edited.approved_version, Some(1));
    assert_eq!(edited.approved_provider_id.as_deref(), Some(hx1.as_str()));
    assert!(edited.is_sendable(), "the approved version stays sendable while v2 is reviewed");

    let hx2 = edited.provider_id.clone().unwrap();
    s.registry.set_status(&hx2, TemplateStatus::Rejected, Some("INVALID_FORMAT"));
    let rejected = templates.sync(s.shop, t.id).await.unwrap();
    assert_eq!(rejected.status, TemplateStatus::Rejected);
    assert_eq!(rejected.rejection_reason.as_deref(), Some("INVALID_FORMAT"));
    assert_eq!(rejected.approved_version, Some(1));

    let history = templates.versions(s.shop, t.id).await.unwrap();
    let statuses: Vec<_> = history.iter().map(|v| (v.version, v.status)).collect();
    assert_eq!(statuses, [(1, TemplateStatus::Approved), (2, TemplateStatus::Rejected)]);
}

#[tokio::test]
async fn refusals_change_nothing() {
    let s = setup().await;
    let templates = s.crm.templates();
    let t = templates.create(s.shop, new_template()).await.unwrap();

    // Stale edit.
    let stale = TemplateEdit {
        content: content("Hello {{name}}, order {{order}} is packed and ready now."),
        category: None,
        expected_version: Some(7),
    };
    assert!(matches!(
        templates.update(s.shop, t.id, stale).await,
        Err(ServiceError::Conflict { .. })
    ));
    // Invalid content names each problem.
    let bad = TemplateEdit {
        content: content("{{name}} {{order}}"),
        category: None,
        expected_version: None,
    };
    let Err(ServiceError::Invalid(v)) = templates.update(s.shop, t.id, bad).await else {
        panic!("expected invalid")
    };
    assert!(v.errors.iter().any(
        |e| e.code.as_deref() == Some("body_starts_with_variable") && e.field == "content.body"
    ));
    // Sync before submit.
    assert!(matches!(templates.sync(s.shop, t.id).await, Err(ServiceError::InvalidState { .. })));
    // Provider down: the submit fails and the draft stays a draft.
    s.registry.fail_next(RegistryError::Unavailable { message: "down".into(), retry_after: None });
    assert!(matches!(templates.submit(s.shop, t.id).await, Err(ServiceError::Provider(_))));
    // Duplicate name.
    assert!(matches!(
        templates.create(s.shop, new_template()).await,
        Err(ServiceError::Conflict { .. })
    ));

    let after = templates.get(s.shop, t.id).await.unwrap();
    assert_eq!(after, t);
    assert_eq!(templates.versions(s.shop, t.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn without_a_provider_drafts_work_and_submit_says_why_not() {
    let crm = Crm::new(Arc::new(InMemoryStorage::new()));
    let shop = crm
        .businesses()
        .create(NewBusiness {
            name: "D".into(),
            whatsapp_sender: "+254700000001".into(),
            time_zone: "UTC".into(),
            currency: "KES".into(),
        })
        .await
        .unwrap()
        .id;
    let t = crm.templates().create(shop, new_template()).await.unwrap();
    assert!(matches!(
        crm.templates().submit(shop, t.id).await,
        Err(ServiceError::ProviderNotConfigured)
    ));
}

#[tokio::test]
async fn preview_with_samples_or_for_a_customer() {
    let s = setup().await;
    let templates = s.crm.templates();
    let t = templates.create(s.shop, new_template()).await.unwrap();
    let sample = templates.preview(s.shop, t.id, PreviewRequest::default()).await.unwrap();
    assert_eq!(sample.body, "Hello Wanjiku, your order #42 is on its way today.");

    let nameless =
        s.crm.customers().create(s.shop, NewCustomer::with_phone("+254712000001")).await.unwrap();
    let req = PreviewRequest {
        customer_id: Some(nameless.id),
        values: BTreeMap::from([("order".into(), "#7".into())]),
        version: None,
    };
    let p = templates.preview(s.shop, t.id, req).await.unwrap();
    assert_eq!(p.body, "Hello rafiki, your order #7 is on its way today.");
    assert_eq!(p.fallbacks_used, ["name"]);

    // No value and no fallback: a clear 422-style error.
    let req = PreviewRequest { customer_id: Some(nameless.id), ..Default::default() };
    assert!(matches!(templates.preview(s.shop, t.id, req).await, Err(ServiceError::Invalid(_))));
}

#[tokio::test]
async fn archive_hides_and_blocks_edits() {
    let s = setup().await;
    let templates = s.crm.templates();
    let t = templates.create(s.shop, new_template()).await.unwrap();
    templates.archive(s.shop, t.id).await.unwrap();
    assert!(templates.list(s.shop, TemplateListParams::default()).await.unwrap().items.is_empty());
    let all = templates
        .list(s.shop, TemplateListParams { include_archived: true, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(all.items.len(), 1);
    let edit = TemplateEdit {
        content: content("Hello {{name}}, order {{order}} is packed and ready now."),
        category: None,
        expected_version: None,
    };
    assert!(matches!(
        templates.update(s.shop, t.id, edit).await,
        Err(ServiceError::InvalidState { .. })
    ));
}
