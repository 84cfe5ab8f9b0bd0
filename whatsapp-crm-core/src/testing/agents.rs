//! Conformance cases for agents and their keys.

use crate::domain::{Agent, AgentId, ApiKey, ApiKeyHash, ApiKeyId, Availability, NewAgent};
use crate::ports::{AgentQuery, Storage, StorageError};

use super::{at, new_business, ok, t0};

fn agent(business: crate::domain::BusinessId, name: &str, skills: &[&str]) -> Agent {
    NewAgent {
        name: name.into(),
        skills: skills.iter().map(|s| (*s).to_owned()).collect(),
        languages: vec!["en".into(), "sw".into()],
        max_concurrent: Some(3),
        availability: Some(Availability::Online),
    }
    .validate(business, AgentId::new(), t0())
    .unwrap()
}

/// Agents read back as stored, list in id order (filtered by
/// availability, paged), change only in the fields an update names, and
/// are invisible to another business.
pub async fn agents_round_trip_and_stay_in_their_business(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let other = new_business(s, "Other").await;
    let achieng = agent(b.id, "Achieng", &["billing"]);
    let baraka = agent(b.id, "Baraka", &["support", "delivery"]);
    for a in [&achieng, &baraka] {
        ok(s.insert_agent(a).await, "insert agent");
    }
    assert_eq!(ok(s.get_agent(b.id, achieng.id).await, "get"), achieng);
    let err = s.insert_agent(&achieng).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict { .. }), "{err:?}");

    let all =
        ok(s.list_agents(b.id, &AgentQuery { limit: 50, ..Default::default() }).await, "list");
    assert_eq!(all.items, vec![achieng.clone(), baraka.clone()]);
    let first =
        ok(s.list_agents(b.id, &AgentQuery { limit: 1, ..Default::default() }).await, "page");
    assert_eq!(first.items, vec![achieng.clone()]);
    assert!(first.next_cursor.is_some());
    let rest = ok(
        s.list_agents(
            b.id,
            &AgentQuery { limit: 1, after: Some(achieng.id), ..Default::default() },
        )
        .await,
        "next page",
    );
    assert_eq!(rest.items, vec![baraka.clone()]);

    let mut away = baraka.clone();
    away.availability = Availability::Away;
    away.skills = vec!["support".into()];
    away.updated_at = at(60);
    // What the update does not own stays: when they were last assigned.
    away.last_assigned_at = Some(at(30));
    ok(s.update_agent(&away).await, "update");
    let stored = ok(s.get_agent(b.id, baraka.id).await, "updated");
    assert_eq!(stored, Agent { last_assigned_at: None, ..away.clone() });
    let online = AgentQuery { availability: Some(Availability::Online), limit: 50, after: None };
    assert_eq!(ok(s.list_agents(b.id, &online).await, "online").items, vec![achieng.clone()]);

    // Another business sees and changes nothing.
    assert!(matches!(s.get_agent(other.id, achieng.id).await, Err(StorageError::NotFound { .. })));
    assert!(
        ok(s.list_agents(other.id, &AgentQuery { limit: 50, ..Default::default() }).await, "other")
            .items
            .is_empty()
    );
    let theirs = Agent { business_id: other.id, name: "Taken".into(), ..achieng.clone() };
    assert!(matches!(s.update_agent(&theirs).await, Err(StorageError::NotFound { .. })));
    assert_eq!(ok(s.get_agent(b.id, achieng.id).await, "unchanged").name, "Achieng");
    let missing = agent(b.id, "Nobody", &[]);
    assert!(matches!(s.update_agent(&missing).await, Err(StorageError::NotFound { .. })));
}

/// A key may act for an agent of its own business only, and says which
/// agent when found.
pub async fn agent_keys_act_for_an_agent_of_their_business(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let other = new_business(s, "Other").await;
    let achieng = agent(b.id, "Achieng", &["billing"]);
    let theirs = agent(other.id, "Theirs", &[]);
    ok(s.insert_agent(&achieng).await, "agent");
    ok(s.insert_agent(&theirs).await, "their agent");
    let key = |agent: Option<AgentId>, byte: u8| ApiKey {
        id: ApiKeyId::new(),
        business_id: b.id,
        hash: ApiKeyHash([byte; 32]),
        label: "agent".into(),
        agent_id: agent,
        created_at: t0(),
        revoked_at: None,
    };
    let mine = key(Some(achieng.id), 201);
    ok(s.insert_api_key(&mine).await, "agent key");
    assert_eq!(ok(s.find_api_key(&mine.hash).await, "find"), Some(mine.clone()));
    for (k, what) in [
        (key(Some(theirs.id), 202), "another business's agent"),
        (key(Some(AgentId::new()), 203), "no agent"),
    ] {
        let err = s.insert_api_key(&k).await.unwrap_err();
        assert!(matches!(err, StorageError::NotFound { .. }), "{what}: {err:?}");
        assert_eq!(ok(s.find_api_key(&k.hash).await, "not stored"), None, "{what}");
    }
    let listed = ok(s.list_api_keys(b.id).await, "list");
    assert_eq!(listed.iter().find(|k| k.id == mine.id).and_then(|k| k.agent_id), Some(achieng.id));
}

fn queue(business: crate::domain::BusinessId, name: &str, target: &str) -> crate::domain::Queue {
    crate::domain::NewQueue {
        name: name.into(),
        target: Some(target.into()),
        strategy: Some(crate::routing::Strategy::LeastLoaded),
        offer_timeout_secs: Some(90),
        escalate_to: None,
    }
    .validate(business, crate::domain::QueueId::new(), t0())
    .unwrap()
}

/// Queues read back as stored with their target, keep their names unique
/// in the business, escalate only to a queue of their own business, and
/// are invisible to another business.
pub async fn queues_round_trip_with_unique_names(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let other = new_business(s, "Other").await;
    let general = queue(b.id, "General", "true");
    let billing = crate::domain::Queue {
        escalate_to: Some(general.id),
        ..queue(b.id, "Billing", "skills HAS 'billing' AND languages HAS 'sw'")
    };
    // Escalating to a queue not yet stored: refused.
    assert!(matches!(s.insert_queue(&billing).await, Err(StorageError::NotFound { .. })));
    ok(s.insert_queue(&general).await, "general");
    ok(s.insert_queue(&billing).await, "billing");
    assert_eq!(ok(s.get_queue(b.id, billing.id).await, "get"), billing);
    let taken = queue(b.id, "Billing", "true");
    let err = s.insert_queue(&taken).await.unwrap_err();
    assert!(
        matches!(&err, StorageError::Conflict { constraint, .. } if constraint == crate::ports::QUEUE_NAME_TAKEN),
        "{err:?}"
    );
    // The same name in another business is fine; its queue is not ours.
    let theirs = queue(other.id, "Billing", "true");
    ok(s.insert_queue(&theirs).await, "their billing");
    let across =
        crate::domain::Queue { escalate_to: Some(theirs.id), ..queue(b.id, "Late", "true") };
    assert!(matches!(s.insert_queue(&across).await, Err(StorageError::NotFound { .. })));

    let page = ok(s.list_queues(b.id, 50, None).await, "list");
    assert_eq!(page.items, vec![general.clone(), billing.clone()]);
    let first = ok(s.list_queues(b.id, 1, None).await, "page");
    assert_eq!((first.items.len(), first.next_cursor.is_some()), (1, true));
    assert_eq!(
        ok(s.list_queues(b.id, 1, Some(general.id)).await, "next").items,
        vec![billing.clone()]
    );

    let renamed = crate::domain::Queue { name: "General".into(), ..billing.clone() };
    assert!(matches!(s.update_queue(&renamed).await, Err(StorageError::Conflict { .. })));
    let edited = crate::domain::Queue {
        target: "skills HAS 'billing'".into(),
        offer_timeout_secs: 30,
        escalate_to: None,
        updated_at: at(60),
        ..billing.clone()
    };
    ok(s.update_queue(&edited).await, "update");
    assert_eq!(ok(s.get_queue(b.id, billing.id).await, "updated"), edited);
    assert!(matches!(s.get_queue(other.id, billing.id).await, Err(StorageError::NotFound { .. })));
    let hijack = crate::domain::Queue { business_id: other.id, ..edited.clone() };
    assert!(matches!(s.update_queue(&hijack).await, Err(StorageError::NotFound { .. })));
    assert_eq!(ok(s.get_queue(b.id, billing.id).await, "unchanged"), edited);
}

/// Routing reads back as set, empty until then, and per business.
pub async fn routing_round_trips_per_business(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let other = new_business(s, "Other").await;
    assert_eq!(ok(s.get_routing(b.id).await, "empty"), crate::domain::Routing::default());
    let general = queue(b.id, "General", "true");
    ok(s.insert_queue(&general).await, "queue");
    let routing = crate::domain::Routing {
        rules: vec![crate::domain::RoutingRule {
            name: "Payments".into(),
            when: "intent IN ['refund']".into(),
            queue_id: general.id,
            priority: 1,
            first_response_secs: 600,
        }],
        default: Some(crate::domain::DefaultRoute {
            queue_id: general.id,
            priority: 0,
            first_response_secs: 900,
        }),
        return_to_previous_agent: false,
    };
    ok(s.set_routing(b.id, &routing, at(10)).await, "set");
    assert_eq!(ok(s.get_routing(b.id).await, "get"), routing);
    let shorter = crate::domain::Routing { rules: Vec::new(), ..routing.clone() };
    ok(s.set_routing(b.id, &shorter, at(20)).await, "replace");
    assert_eq!(ok(s.get_routing(b.id).await, "replaced"), shorter);
    assert_eq!(ok(s.get_routing(other.id).await, "other"), crate::domain::Routing::default());
    let missing = crate::domain::BusinessId::new();
    assert!(matches!(
        s.set_routing(missing, &routing, at(30)).await,
        Err(StorageError::NotFound { .. })
    ));
}
