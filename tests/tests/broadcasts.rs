//! Broadcasts through the SDK with a manual clock, on every backend: preview,
//! launch, sending through the dispatcher, metrics, pause, resume, cancel and
//! auto-pause.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use support::{TestApp, on};
use whatsapp_crm_core::policy::RateLimits;
use whatsapp_crm_core::ports::{Clock, ManualClock, to_storage_precision};
use whatsapp_crm_core::service::{
    Broadcasts, DispatchConfig, Dispatcher, NewBroadcast, NewTemplate,
};
use whatsapp_crm_core::testing::tag;
use whatsapp_crm_core::{
    Audience, AutoPause, BroadcastStatus, BusinessId, Crm, MessageStatus, NewCustomer, SkipReason,
    StatusUpdate, StubTransport, TemplateCategory, TemplateId, TemplateStatus, TransportError,
};

on_every_backend!(
    a_broadcast_reaches_its_audience_once_with_exact_counts,
    pause_holds_resume_releases_cancel_withdraws,
    a_failing_broadcast_pauses_itself,
    a_scheduled_broadcast_waits_for_its_time,
    an_ab_test_sends_the_winner_to_the_rest,
);

fn t0() -> DateTime<Utc> {
    to_storage_precision(Utc::now())
}

struct Rig {
    crm: Crm,
    clock: Arc<ManualClock>,
    broadcasts: Broadcasts,
    stub: Arc<StubTransport>,
    dispatcher: Dispatcher,
}

fn rig(t: &TestApp) -> Rig {
    let clock = Arc::new(ManualClock::new(t0()));
    let crm = t.crm.clone().with_clock(clock.clone());
    let stub = Arc::new(StubTransport::new());
    let config =
        DispatchConfig { limits: RateLimits::unlimited(), batch: 500, ..DispatchConfig::default() };
    let dispatcher = Dispatcher::new(crm.storage().clone(), stub.clone(), config);
    Rig { broadcasts: crm.broadcasts(), crm, clock, stub, dispatcher }
}

/// An approved template of `category` with `{{name|rafiki}}` and `{{code}}`.
async fn approved(t: &TestApp, crm: &Crm, name: &str, category: TemplateCategory) -> TemplateId {
    let input: NewTemplate = serde_json::from_value(serde_json::json!({
        "name": name, "category": category, "language": "en",
        "content": {"body": "Hello {{name|rafiki}}, use code {{code}} for 20% off this weekend.",
                    "samples": {"name": "Wanjiku", "code": "MAMA20"}}
    }))
    .unwrap();
    let tpl = crm.templates().create(t.shop_a, input).await.unwrap();
    let tpl = crm.templates().submit(t.shop_a, tpl.id).await.unwrap();
    t.registry.set_status(tpl.provider_id.as_deref().unwrap(), TemplateStatus::Approved, None);
    crm.templates().sync(t.shop_a, tpl.id).await.unwrap();
    tpl.id
}

/// `n` VIP customers of A; every `out`-th opted out, every `never`-th never
/// asked, every `nameless`-th without a name, the rest opted in.
async fn audience(crm: &Crm, b: BusinessId, n: usize, prefix: &str) {
    for i in 0..n {
        let mut c = NewCustomer::with_phone(format!("+2547{prefix}{i:05}"));
        c.tags = vec!["vip".into()];
        c.name = (i % 5 != 4).then(|| format!("Mteja {i}"));
        c.marketing_opt_in = match i % 10 {
            3 => Some(false),
            7 => None,
            _ => Some(true),
        };
        crm.customers().create(b, c).await.unwrap();
    }
}

fn new_broadcast(template: TemplateId, variables: &[(&str, &str)]) -> NewBroadcast {
    NewBroadcast {
        name: "Weekend offer".into(),
        template_id: template,
        variables: variables
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect::<BTreeMap<_, _>>(),
        audience: Audience::Tags { tags: vec![tag("vip")] },
        send_at: None,
        auto_pause: None,
        ab_test: None,
    }
}

async fn run_until_sending(r: &Rig, b: BusinessId, id: whatsapp_crm_core::BroadcastId) {
    for _ in 0..20 {
        r.broadcasts.run_due(r.clock.now()).await.unwrap();
        if r.broadcasts.get(b, id).await.unwrap().status != BroadcastStatus::Launching {
            return;
        }
    }
    panic!("launch did not finish");
}

async fn a_broadcast_reaches_its_audience_once_with_exact_counts(t: TestApp) {
    let r = rig(&t);
    let tpl = approved(&t, &r.crm, "weekend_offer", TemplateCategory::Marketing).await;
    audience(&r.crm, t.shop_a, 1_200, "1").await;
    audience(&r.crm, t.shop_b, 5, "1").await;
    let bc =
        r.broadcasts.create(t.shop_a, new_broadcast(tpl, &[("code", "\"MAMA20\"")])).await.unwrap();
    // 1,200: 120 opted out, 120 never asked; 1,200 - 240 = 960 to send.
    let preview = r.broadcasts.preview(t.shop_a, bc.id).await.unwrap();
    assert_eq!((preview.audience, preview.will_send), (1_200, 960));
    assert_eq!(preview.skipped, vec![(SkipReason::OptedOut, 120), (SkipReason::NotOptedIn, 120)]);
    assert_eq!(preview.samples[0].text, "Hello Mteja 0, use code MAMA20 for 20% off this weekend.");

    let launched = r.broadcasts.launch(t.shop_a, bc.id).await.unwrap();
    assert_eq!(launched.status, BroadcastStatus::Launching);
    // Customers who arrive after the launch are not in its audience.
    r.clock.advance(Duration::seconds(1));
    audience(&r.crm, t.shop_a, 3, "9").await;
    run_until_sending(&r, t.shop_a, bc.id).await;
    let sending = r.broadcasts.get(t.shop_a, bc.id).await.unwrap();
    assert_eq!(
        (sending.status, sending.queued, sending.skipped),
        (BroadcastStatus::Sending, 960, 240)
    );
    // A second launch is refused.
    assert!(r.broadcasts.launch(t.shop_a, bc.id).await.is_err());

    while r.dispatcher.run_due(r.clock.now()).await.unwrap().claimed > 0 {}
    let sent = r.stub.sent();
    assert_eq!(sent.len(), 960);
    let unique: HashSet<_> = sent.iter().map(|m| m.to.clone()).collect();
    assert_eq!(unique.len(), 960, "nobody got two messages");
    let nameless =
        sent.iter().filter(|m| format!("{:?}", m.content).contains("Hello rafiki")).count();
    // Customers 4 and 9 of every ten have no name, and all of them are sent to.
    assert_eq!(nameless, 240, "the fallback fills a missing name");

    // Status callbacks: 900 delivered, 300 of those read, 60 failed.
    let inbox = r.crm.inbox();
    for (i, m) in sent.iter().enumerate() {
        let report = |status, code| StatusUpdate {
            provider_id: format!("SMcb{i:030}"),
            message_id: Some(m.message_id),
            status,
            error_code: code,
            error_message: None,
            reported_at: r.clock.now(),
        };
        if i < 60 {
            inbox
                .apply_status(t.shop_a, report(MessageStatus::Failed, Some(63_016)))
                .await
                .unwrap();
            continue;
        }
        inbox.apply_status(t.shop_a, report(MessageStatus::Delivered, None)).await.unwrap();
        if i < 360 {
            inbox.apply_status(t.shop_a, report(MessageStatus::Read, None)).await.unwrap();
        }
    }
    let m = r.broadcasts.metrics(t.shop_a, bc.id).await.unwrap();
    assert_eq!(
        (m.queued, m.pending, m.sent, m.delivered, m.read, m.failed),
        (960, 0, 960, 900, 300, 60)
    );
    assert_eq!(m.failed_by_code, vec![(Some(63_016), 60)]);
    assert!(
        (m.delivery_rate - 900.0 / 960.0).abs() < 1e-9
            && (m.read_rate - 300.0 / 900.0).abs() < 1e-9
    );
    // 60 of 960 finished sends failed: 6%, under the limit; it completes.
    r.broadcasts.run_due(r.clock.now()).await.unwrap();
    let done = r.broadcasts.get(t.shop_a, bc.id).await.unwrap();
    assert_eq!(done.status, BroadcastStatus::Completed);
    let page = r.broadcasts.recipients(t.shop_a, bc.id, Some(200), None).await.unwrap();
    assert_eq!(page.items.len(), 200);
    // Business B's customers were never in it.
    assert!(r.broadcasts.get(t.shop_b, bc.id).await.is_err());
}

async fn pause_holds_resume_releases_cancel_withdraws(t: TestApp) {
    let r = rig(&t);
    let tpl = approved(&t, &r.crm, "restock", TemplateCategory::Utility).await;
    audience(&r.crm, t.shop_a, 40, "2").await;
    let mut input = new_broadcast(tpl, &[("code", "\"JUMA\"")]);
    input.auto_pause = Some(AutoPause { max_failure_percent: None, ..AutoPause::default() });
    let bc = r.broadcasts.create(t.shop_a, input).await.unwrap();
    r.broadcasts.launch(t.shop_a, bc.id).await.unwrap();
    run_until_sending(&r, t.shop_a, bc.id).await;
    // Utility: only the 4 opted-out are skipped.
    assert_eq!(r.broadcasts.get(t.shop_a, bc.id).await.unwrap().queued, 36);
    let paused = r.broadcasts.pause(t.shop_a, bc.id, "price typo").await.unwrap();
    assert_eq!(paused.pause_reason.as_deref(), Some("price typo"));
    assert_eq!(r.dispatcher.run_due(r.clock.now()).await.unwrap().claimed, 0, "held rows wait");
    r.broadcasts.resume(t.shop_a, bc.id).await.unwrap();
    let config =
        DispatchConfig { limits: RateLimits::unlimited(), batch: 10, ..DispatchConfig::default() };
    let ten = Dispatcher::new(r.crm.storage().clone(), r.stub.clone(), config);
    assert_eq!(ten.run_due(r.clock.now()).await.unwrap().sent, 10);
    let cancelled = r.broadcasts.cancel(t.shop_a, bc.id).await.unwrap();
    assert_eq!(cancelled.status, BroadcastStatus::Cancelled);
    assert_eq!(r.dispatcher.run_due(r.clock.now()).await.unwrap().claimed, 0, "nothing more goes");
    assert_eq!(r.stub.sent().len(), 10);
    let m = r.broadcasts.metrics(t.shop_a, bc.id).await.unwrap();
    assert_eq!((m.cancelled, m.skipped.clone()), (26, vec![(SkipReason::OptedOut, 4)]));
    assert!(r.broadcasts.resume(t.shop_a, bc.id).await.is_err(), "cancelled is final");
}

async fn a_failing_broadcast_pauses_itself(t: TestApp) {
    let r = rig(&t);
    let tpl = approved(&t, &r.crm, "reminder", TemplateCategory::Utility).await;
    audience(&r.crm, t.shop_a, 120, "3").await;
    let bc = r.broadcasts.create(t.shop_a, new_broadcast(tpl, &[("code", "\"X\"")])).await.unwrap();
    r.broadcasts.launch(t.shop_a, bc.id).await.unwrap();
    run_until_sending(&r, t.shop_a, bc.id).await;
    // Every third send fails for good: 33% after 60 sends, over 25%.
    let config =
        DispatchConfig { limits: RateLimits::unlimited(), batch: 1, ..DispatchConfig::default() };
    let one = Dispatcher::new(r.crm.storage().clone(), r.stub.clone(), config);
    for i in 0..60 {
        if i % 3 == 0 {
            r.stub.fail_next(TransportError::Rejected {
                code: Some(63_016),
                message: "outside window".into(),
            });
        }
        one.run_due(r.clock.now()).await.unwrap();
    }
    let report = r.broadcasts.run_due(r.clock.now()).await.unwrap();
    assert_eq!(report.paused, 1);
    let paused = r.broadcasts.get(t.shop_a, bc.id).await.unwrap();
    assert_eq!(paused.status, BroadcastStatus::Paused);
    assert!(paused.pause_reason.unwrap().contains("33% of 60 sends failed"));
    assert_eq!(r.dispatcher.run_due(r.clock.now()).await.unwrap().claimed, 0);
}

async fn a_scheduled_broadcast_waits_for_its_time(t: TestApp) {
    let r = rig(&t);
    let tpl = approved(&t, &r.crm, "morning", TemplateCategory::Utility).await;
    audience(&r.crm, t.shop_a, 5, "4").await;
    let mut input = new_broadcast(tpl, &[("code", "\"ASUBUHI\"")]);
    input.send_at = Some(r.clock.now() + Duration::hours(2));
    let bc = r.broadcasts.create(t.shop_a, input).await.unwrap();
    assert_eq!(
        r.broadcasts.launch(t.shop_a, bc.id).await.unwrap().status,
        BroadcastStatus::Scheduled
    );
    r.clock.advance(Duration::minutes(119));
    assert_eq!(r.broadcasts.run_due(r.clock.now()).await.unwrap().launched, 0);
    // Customers added before the launch time are in it.
    audience(&r.crm, t.shop_a, 2, "5").await;
    r.clock.advance(Duration::minutes(1));
    assert_eq!(r.broadcasts.run_due(r.clock.now()).await.unwrap().launched, 1);
    let sending = r.broadcasts.get(t.shop_a, bc.id).await.unwrap();
    assert_eq!((sending.status, sending.recipients), (BroadcastStatus::Sending, 7));
}

async fn an_ab_test_sends_the_winner_to_the_rest(t: TestApp) {
    use whatsapp_crm_core::{AbMetric, AbPhase, AbTest, AbVariant};
    let r = rig(&t);
    let plain = approved(&t, &r.crm, "offer_plain", TemplateCategory::Marketing).await;
    let bold = approved(&t, &r.crm, "offer_bold", TemplateCategory::Marketing).await;
    audience(&r.crm, t.shop_a, 600, "6").await;
    let variant = |name: &str, template: Option<TemplateId>, code: &str| AbVariant {
        name: name.into(),
        template_id: template,
        variables: BTreeMap::from([("code".into(), format!("\"{code}\""))]),
        percent: 50,
    };
    let mut input = new_broadcast(plain, &[("code", "\"BASE\"")]);
    input.ab_test = Some(AbTest {
        variants: vec![variant("plain", None, "A1"), variant("bold", Some(bold), "B1")],
        sample_percent: 20,
        metric: AbMetric::ReadRate,
        window_hours: 4,
        phase: AbPhase::Rollout,
        decide_at: None,
        winner: Some(0),
    });
    let bc = r.broadcasts.create(t.shop_a, input).await.unwrap();
    let ab = bc.ab_test.clone().unwrap();
    assert_eq!(
        (ab.phase, ab.winner),
        (AbPhase::Testing, None),
        "a new test starts from its beginning"
    );
    r.broadcasts.launch(t.shop_a, bc.id).await.unwrap();
    run_until_sending(&r, t.shop_a, bc.id).await;
    // The sample: every opted-in customer whose slot falls in the first 20%.
    let page = r.broadcasts.recipients(t.shop_a, bc.id, Some(200), None).await.unwrap();
    let mut sample = page.items.clone();
    let mut cursor = page.next_cursor.clone();
    while let Some(c) = cursor {
        let next = r.broadcasts.recipients(t.shop_a, bc.id, Some(200), Some(&c)).await.unwrap();
        sample.extend(next.items);
        cursor = next.next_cursor;
    }
    assert!(sample.iter().all(|x| x.recipient.variant.is_some()));
    assert!((60..=180).contains(&sample.len()), "about a fifth of 600: {}", sample.len());
    while r.dispatcher.run_due(r.clock.now()).await.unwrap().claimed > 0 {}
    let sent = r.stub.sent();
    let queued = r.broadcasts.get(t.shop_a, bc.id).await.unwrap().queued as usize;
    assert_eq!(sent.len(), queued);
    // Bold is read more: every bold message is read, plain ones only delivered.
    let inbox = r.crm.inbox();
    for (i, m) in sent.iter().enumerate() {
        let bold_one = format!("{:?}", m.content).contains("offer_bold");
        for status in [MessageStatus::Delivered, MessageStatus::Read] {
            if status == MessageStatus::Read && !bold_one {
                continue;
            }
            let report = StatusUpdate {
                provider_id: format!("SMab{i:030}"),
                message_id: Some(m.message_id),
                status,
                error_code: None,
                error_message: None,
                reported_at: r.clock.now(),
            };
            inbox.apply_status(t.shop_a, report).await.unwrap();
        }
    }
    // The sample is out: the window starts; nothing is decided before it ends.
    r.broadcasts.run_due(r.clock.now()).await.unwrap();
    let waiting = r.broadcasts.get(t.shop_a, bc.id).await.unwrap();
    let ab = waiting.ab_test.clone().unwrap();
    assert_eq!(
        (ab.phase, ab.decide_at),
        (AbPhase::Waiting, Some(r.clock.now() + Duration::hours(4)))
    );
    r.clock.advance(Duration::hours(3));
    assert_eq!(r.broadcasts.run_due(r.clock.now()).await.unwrap().decided, 0);
    r.clock.advance(Duration::hours(1));
    assert_eq!(r.broadcasts.run_due(r.clock.now()).await.unwrap().decided, 1);
    let decided = r.broadcasts.get(t.shop_a, bc.id).await.unwrap();
    assert_eq!(decided.ab_test.as_ref().unwrap().winner, Some(1), "bold won on read rate");
    let m = r.broadcasts.metrics(t.shop_a, bc.id).await.unwrap();
    assert_eq!(m.variants.len(), 2);
    assert!((m.variants[1].read_rate - 1.0).abs() < 1e-9 && m.variants[0].read_rate == 0.0);
    // The rest of the audience gets the winner, and nobody gets two messages.
    run_until_sending(&r, t.shop_a, bc.id).await;
    while r.dispatcher.run_due(r.clock.now()).await.unwrap().claimed > 0 {}
    let all = r.stub.sent();
    let rollout = &all[sent.len()..];
    assert!(!rollout.is_empty());
    assert!(rollout.iter().all(|m| format!("{:?}", m.content).contains("offer_bold")));
    let unique: HashSet<_> = all.iter().map(|m| m.to.clone()).collect();
    assert_eq!(unique.len(), all.len(), "nobody got two messages");
    let done = r.broadcasts.get(t.shop_a, bc.id).await.unwrap();
    // 600 customers: 60 opted out and 60 never asked are skipped.
    assert_eq!((done.queued, done.skipped, done.recipients), (480, 120, 600));
}
