use chrono::Duration;
use futures_util::future::join_all;

use crate::domain::{
    Actor, AgentId, Availability, Change, ConversationEvent, ConversationStatus, Desk, NewAgent,
    QueueId,
};
use crate::ports::{DeskCommit, DeskOutcome, Storage};

use super::{at, full_customer, insert, is_not_found, new_business, new_conversation, ok, t0};

async fn agent(s: &dyn Storage, business: crate::domain::BusinessId, max: u32) -> AgentId {
    let a = NewAgent {
        name: "Achieng".into(),
        skills: vec!["billing".into()],
        languages: vec!["sw".into()],
        max_concurrent: Some(max),
        availability: Some(Availability::Online),
    }
    .validate(business, AgentId::new(), t0())
    .unwrap();
    ok(s.insert_agent(&a).await, "agent");
    a.id
}

fn offer(c: &crate::domain::Conversation, agent: AgentId, second: i64) -> DeskCommit {
    let mut desk = c.desk.clone();
    desk.offer_expires_at = Some(at(second) + Duration::seconds(60));
    desk.remember_offer(agent);
    DeskCommit {
        business: c.business_id,
        conversation: c.id,
        from_rev: c.desk.rev,
        status: c.status,
        assigned_agent: Some(agent),
        desk,
        claim: Some(agent),
        events: vec![ConversationEvent::new(
            c.business_id,
            c.id,
            at(second),
            Actor::System,
            Change::Offered { agent_id: agent, expires_at: at(second) + Duration::seconds(60) },
        )],
        at: at(second),
    }
}

/// A desk change is written only from the revision it was read at, with its
/// events; the worker finds due businesses and their board; agents' loads
/// count what they hold; another business sees none of it.
pub async fn desk_commits_against_its_revision_with_events(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let other = new_business(s, "Other").await;
    let customer = full_customer(b.id, "+254712000001", "Wanjiku");
    insert(s, &customer).await;
    let conv = new_conversation(s, &customer).await;
    assert_eq!(conv.desk, Desk::default());
    let queue = QueueId::new();
    let desk = Desk {
        queue_id: Some(queue),
        priority: 2,
        rule: Some("Payments".into()),
        waiting_since: Some(at(10)),
        first_response_due: Some(at(900)),
        ..Desk::default()
    };
    let queued = ConversationEvent::new(
        b.id,
        conv.id,
        at(10),
        Actor::Assistant,
        Change::Queued {
            queue_id: queue,
            priority: 2,
            rule: Some("Payments".into()),
            first_response_due: at(900),
        },
    );
    let commit = DeskCommit {
        business: b.id,
        conversation: conv.id,
        from_rev: 0,
        status: ConversationStatus::Open,
        assigned_agent: None,
        desk: desk.clone(),
        claim: None,
        events: vec![queued.clone()],
        at: at(10),
    };
    assert_eq!(ok(s.commit_desk(&commit).await, "queue"), DeskOutcome::Written);
    let stored = ok(s.get_conversation(b.id, conv.id).await, "read");
    assert_eq!(stored.desk, Desk { rev: 1, ..desk.clone() });
    assert_eq!(stored.updated_at, at(10));
    // The same change again is stale and writes nothing, events included.
    assert_eq!(ok(s.commit_desk(&commit).await, "stale"), DeskOutcome::Moved);
    let events = ok(s.list_events(b.id, conv.id, 50, None).await, "events");
    assert_eq!(events.items, std::slice::from_ref(&queued));

    // Due: waiting unassigned is due at once while one of the business's
    // agents is online (another business's do not count); its deadline is
    // due whoever is online. The board lists it.
    assert_eq!(ok(s.desk_due(at(9), None, 10).await, "not yet"), Vec::new());
    agent(s, other.id, 1).await;
    assert!(!ok(s.desk_due(at(10), None, 1000).await, "nobody online").contains(&b.id));
    assert!(ok(s.desk_due(at(900), None, 1000).await, "deadline").contains(&b.id));
    let achieng = agent(s, b.id, 1).await;
    assert!(ok(s.desk_due(at(10), None, 1000).await, "due").contains(&b.id));
    // Paging: a worker continues after the last business it served.
    assert!(!ok(s.desk_due(at(10), Some(b.id), 1000).await, "after").contains(&b.id));
    let before = crate::domain::BusinessId::from_uuid(uuid::Uuid::nil());
    assert!(ok(s.desk_due(at(10), Some(before), 1000).await, "from the start").contains(&b.id));
    let board = ok(s.desk_board(b.id, 10).await, "board");
    assert_eq!(board.iter().map(|c| c.id).collect::<Vec<_>>(), [conv.id]);
    assert!(ok(s.desk_board(other.id, 10).await, "other board").is_empty());

    // Offered: due at the offer's expiry; the agent holds one.
    let offered = offer(&stored, achieng, 11);
    assert_eq!(ok(s.commit_desk(&offered).await, "offer"), DeskOutcome::Written);
    let stored = ok(s.get_conversation(b.id, conv.id).await, "read");
    assert_eq!((stored.assigned_agent, stored.desk.rev), (Some(achieng), 2));
    assert_eq!(ok(s.get_agent(b.id, achieng).await, "agent").last_assigned_at, Some(at(11)));
    assert_eq!(ok(s.agent_loads(b.id).await, "loads"), [(achieng, 1)]);
    assert!(ok(s.agent_loads(other.id).await, "other loads").is_empty());
    assert!(!ok(s.desk_due(at(70), None, 1000).await, "offer runs").contains(&b.id));
    assert!(ok(s.desk_due(at(71), None, 1000).await, "offer lapsed").contains(&b.id));
    // Her one place taken, another customer waiting is not due (nobody
    // online has room); the offer's timer still is.
    let otieno = full_customer(b.id, "+254712000002", "Otieno");
    insert(s, &otieno).await;
    let second = new_conversation(s, &otieno).await;
    let waits = DeskCommit {
        business: b.id,
        conversation: second.id,
        from_rev: 0,
        status: ConversationStatus::Open,
        assigned_agent: None,
        desk: Desk { queue_id: Some(queue), waiting_since: Some(at(15)), ..Desk::default() },
        claim: None,
        events: Vec::new(),
        at: at(15),
    };
    assert_eq!(ok(s.commit_desk(&waits).await, "second waits"), DeskOutcome::Written);
    assert!(!ok(s.desk_due(at(20), None, 1000).await, "all full").contains(&b.id));
    assert!(ok(s.desk_due(at(71), None, 1000).await, "timer").contains(&b.id));

    // Resolved: not held, off the board; her place is free again.
    let resolve = DeskCommit {
        business: b.id,
        conversation: conv.id,
        from_rev: 2,
        status: ConversationStatus::Resolved,
        assigned_agent: None,
        desk: Desk::default(),
        claim: None,
        events: Vec::new(),
        at: at(12),
    };
    assert_eq!(ok(s.commit_desk(&resolve).await, "resolve"), DeskOutcome::Written);
    let board = ok(s.desk_board(b.id, 10).await, "board");
    assert_eq!(board.iter().map(|c| c.id).collect::<Vec<_>>(), [second.id]);
    assert!(ok(s.agent_loads(b.id).await, "loads").is_empty());
    assert!(ok(s.desk_due(at(20), None, 1000).await, "room again").contains(&b.id));

    // Notes are events alone; pages run in id order.
    let notes: Vec<ConversationEvent> = (0..3)
        .map(|i| {
            ConversationEvent::new(
                b.id,
                conv.id,
                at(20 + i),
                Actor::Agent { agent_id: achieng },
                Change::Note { text: format!("note {i}") },
            )
        })
        .collect();
    ok(s.add_events(b.id, &notes).await, "notes");
    let first = ok(s.list_events(b.id, conv.id, 3, None).await, "page 1");
    assert_eq!(first.items.len(), 3);
    let after = first.next_cursor.map(|c| c.parse().unwrap());
    let rest = ok(s.list_events(b.id, conv.id, 10, after).await, "page 2");
    assert_eq!(rest.items, notes[1..]);
    assert_eq!(rest.next_cursor, None);

    // Another business can neither read nor write any of it.
    assert!(ok(s.list_events(other.id, conv.id, 10, None).await, "other").items.is_empty());
    let foreign = ConversationEvent { business_id: other.id, ..notes[0].clone() };
    assert!(is_not_found(s.add_events(other.id, &[foreign]).await));
    let hijack = DeskCommit { business: other.id, from_rev: 3, ..resolve.clone() };
    assert!(is_not_found(s.commit_desk(&hijack).await));
    let stranger = agent(s, other.id, 5).await;
    let fresh = ok(s.get_conversation(b.id, conv.id).await, "read");
    assert!(is_not_found(s.commit_desk(&offer(&fresh, stranger, 30)).await));
    assert_eq!(ok(s.get_conversation(b.id, conv.id).await, "unchanged"), fresh);
    assert_eq!(ok(s.list_events(b.id, conv.id, 50, None).await, "events").items.len(), 5);
}

/// Two workers (or servers) offering one conversation at once: exactly one
/// offer is written. Two conversations racing for an agent's last place:
/// exactly one gets it.
pub async fn desk_concurrent_assignment_assigns_once(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let customer = full_customer(b.id, "+254712000001", "Wanjiku");
    let second = full_customer(b.id, "+254712000002", "Otieno");
    insert(s, &customer).await;
    insert(s, &second).await;
    let (one, two) = (agent(s, b.id, 5).await, agent(s, b.id, 1).await);
    for round in 0..4 {
        let conv = new_conversation(s, &customer).await;
        let commits: Vec<DeskCommit> =
            [one, one, one, one].iter().map(|a| offer(&conv, *a, round)).collect();
        let outcomes = join_all(commits.iter().map(|c| s.commit_desk(c))).await;
        let written = outcomes
            .into_iter()
            .map(|o| ok(o, "race"))
            .filter(|o| *o == DeskOutcome::Written)
            .count();
        assert_eq!(written, 1, "round {round}");
        let events = ok(s.list_events(b.id, conv.id, 50, None).await, "events");
        assert_eq!(events.items.len(), 1, "one offer recorded");
    }
    assert_eq!(ok(s.agent_loads(b.id).await, "loads"), [(one, 4)].to_vec());

    let (a, c) = (new_conversation(s, &customer).await, new_conversation(s, &second).await);
    let race = [offer(&a, two, 9), offer(&c, two, 9)];
    let outcomes: Vec<DeskOutcome> = join_all(race.iter().map(|x| s.commit_desk(x)))
        .await
        .into_iter()
        .map(|o| ok(o, "race"))
        .collect();
    assert_eq!(outcomes.iter().filter(|o| **o == DeskOutcome::Written).count(), 1);
    assert_eq!(outcomes.iter().filter(|o| **o == DeskOutcome::Full).count(), 1);
    let loads = ok(s.agent_loads(b.id).await, "loads");
    assert!(loads.contains(&(two, 1)), "{loads:?}");
}
