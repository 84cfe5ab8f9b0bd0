//! Agents in memory.

use async_trait::async_trait;

use super::{InMemoryStorage, page_after};
use crate::domain::{Agent, AgentId, Availability, BusinessId, ConversationStatus};
use crate::ports::{AgentQuery, AgentStore, Page, StorageError, clamp_limit};

#[async_trait]
impl AgentStore for InMemoryStorage {
    async fn insert_agent(&self, agent: &Agent) -> Result<(), StorageError> {
        let mut inner = self.write();
        let t = inner.tenant_mut(agent.business_id, "business")?;
        if t.agents.contains_key(&agent.id) {
            return Err(StorageError::conflict("agent", "id already exists"));
        }
        t.agents.insert(agent.id, agent.clone());
        Ok(())
    }

    async fn get_agent(&self, business: BusinessId, id: AgentId) -> Result<Agent, StorageError> {
        let inner = self.read();
        inner
            .tenant(business)
            .and_then(|t| t.agents.get(&id))
            .cloned()
            .ok_or(StorageError::not_found("agent"))
    }

    async fn list_agents(
        &self,
        business: BusinessId,
        query: &AgentQuery,
    ) -> Result<Page<Agent>, StorageError> {
        let inner = self.read();
        let Some(t) = inner.tenant(business) else {
            return Ok(Page { items: Vec::new(), next_cursor: None });
        };
        let limit = clamp_limit(query.limit);
        let rows: Vec<Agent> = page_after(&t.agents, query.after)
            .filter(|a| query.availability.is_none_or(|v| a.availability == v))
            .take(limit as usize + 1)
            .cloned()
            .collect();
        Ok(Page::from_overfetch(rows, limit, |a| a.id.to_string()))
    }

    async fn update_agent(&self, agent: &Agent) -> Result<(), StorageError> {
        let mut inner = self.write();
        let stored = inner
            .tenant_mut(agent.business_id, "agent")
            .ok()
            .and_then(|t| t.agents.get_mut(&agent.id))
            .ok_or(StorageError::not_found("agent"))?;
        *stored = Agent {
            created_at: stored.created_at,
            last_assigned_at: stored.last_assigned_at,
            ..agent.clone()
        };
        Ok(())
    }
}

fn check_queue(t: &super::Tenant, q: &crate::domain::Queue) -> Result<(), StorageError> {
    if t.queues.values().any(|o| o.id != q.id && o.name == q.name) {
        return Err(StorageError::conflict("queue", crate::ports::QUEUE_NAME_TAKEN));
    }
    if q.escalate_to.is_some_and(|e| !t.queues.contains_key(&e)) {
        return Err(StorageError::not_found("queue"));
    }
    Ok(())
}

#[async_trait]
impl crate::ports::QueueStore for InMemoryStorage {
    async fn insert_queue(&self, queue: &crate::domain::Queue) -> Result<(), StorageError> {
        let mut inner = self.write();
        let t = inner.tenant_mut(queue.business_id, "business")?;
        if t.queues.contains_key(&queue.id) {
            return Err(StorageError::conflict("queue", "id already exists"));
        }
        check_queue(t, queue)?;
        t.queues.insert(queue.id, queue.clone());
        Ok(())
    }

    async fn get_queue(
        &self,
        business: BusinessId,
        id: crate::domain::QueueId,
    ) -> Result<crate::domain::Queue, StorageError> {
        let inner = self.read();
        inner
            .tenant(business)
            .and_then(|t| t.queues.get(&id))
            .cloned()
            .ok_or(StorageError::not_found("queue"))
    }

    async fn list_queues(
        &self,
        business: BusinessId,
        limit: u32,
        after: Option<crate::domain::QueueId>,
    ) -> Result<Page<crate::domain::Queue>, StorageError> {
        let inner = self.read();
        let Some(t) = inner.tenant(business) else {
            return Ok(Page { items: Vec::new(), next_cursor: None });
        };
        let limit = clamp_limit(limit);
        let rows = page_after(&t.queues, after).take(limit as usize + 1).cloned().collect();
        Ok(Page::from_overfetch(rows, limit, |q: &crate::domain::Queue| q.id.to_string()))
    }

    async fn update_queue(&self, queue: &crate::domain::Queue) -> Result<(), StorageError> {
        let mut inner = self.write();
        let t = inner
            .tenant_mut(queue.business_id, "queue")
            .map_err(|_| StorageError::not_found("queue"))?;
        if !t.queues.contains_key(&queue.id) {
            return Err(StorageError::not_found("queue"));
        }
        check_queue(t, queue)?;
        if let Some(stored) = t.queues.get_mut(&queue.id) {
            *stored = crate::domain::Queue { created_at: stored.created_at, ..queue.clone() };
        }
        Ok(())
    }
}

#[async_trait]
impl crate::ports::RoutingStore for InMemoryStorage {
    async fn get_routing(
        &self,
        business: BusinessId,
    ) -> Result<crate::domain::Routing, StorageError> {
        let inner = self.read();
        let t = inner.tenant(business).ok_or(StorageError::not_found("business"))?;
        Ok(t.routing.clone())
    }

    async fn set_routing(
        &self,
        business: BusinessId,
        routing: &crate::domain::Routing,
        _at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StorageError> {
        let mut inner = self.write();
        inner.tenant_mut(business, "business")?.routing = routing.clone();
        Ok(())
    }
}

#[async_trait]
impl crate::ports::DeskStore for InMemoryStorage {
    async fn commit_desk(
        &self,
        commit: &crate::ports::DeskCommit,
    ) -> Result<crate::ports::DeskOutcome, StorageError> {
        use crate::ports::DeskOutcome;
        let mut inner = self.write();
        let t = inner.tenant_mut(commit.business, "conversation")?;
        let stored = t
            .conversations
            .get(&commit.conversation)
            .ok_or(StorageError::not_found("conversation"))?;
        if let Some(agent) = commit.claim {
            let max = t.agents.get(&agent).ok_or(StorageError::not_found("agent"))?.max_concurrent;
            let held = t
                .conversations
                .values()
                .filter(|c| c.id != commit.conversation && holder(c) == Some(agent))
                .count();
            if stored.desk.rev == commit.from_rev && held >= max as usize {
                return Ok(DeskOutcome::Full);
            }
        }
        if stored.desk.rev != commit.from_rev {
            return Ok(DeskOutcome::Moved);
        }
        let c = t
            .conversations
            .get_mut(&commit.conversation)
            .ok_or(StorageError::not_found("conversation"))?;
        c.status = commit.status;
        c.assigned_agent = commit.assigned_agent;
        c.desk = crate::domain::Desk { rev: commit.from_rev + 1, ..commit.desk.clone() };
        c.updated_at = commit.at;
        if let Some(agent) = commit.claim.and_then(|a| t.agents.get_mut(&a)) {
            agent.last_assigned_at = Some(commit.at);
        }
        for e in &commit.events {
            t.events.insert(e.id, e.clone());
        }
        Ok(DeskOutcome::Written)
    }

    async fn add_events(
        &self,
        business: BusinessId,
        events: &[crate::domain::ConversationEvent],
    ) -> Result<(), StorageError> {
        let mut inner = self.write();
        let t = inner.tenant_mut(business, "conversation")?;
        if events
            .iter()
            .any(|e| e.business_id != business || !t.conversations.contains_key(&e.conversation_id))
        {
            return Err(StorageError::not_found("conversation"));
        }
        for e in events {
            t.events.insert(e.id, e.clone());
        }
        Ok(())
    }

    async fn list_events(
        &self,
        business: BusinessId,
        conversation: crate::domain::ConversationId,
        limit: u32,
        after: Option<crate::domain::EventId>,
    ) -> Result<Page<crate::domain::ConversationEvent>, StorageError> {
        let inner = self.read();
        let Some(t) = inner.tenant(business) else {
            return Ok(Page { items: Vec::new(), next_cursor: None });
        };
        let limit = clamp_limit(limit);
        let rows: Vec<_> = page_after(&t.events, after)
            .filter(|e| e.conversation_id == conversation)
            .take(limit as usize + 1)
            .cloned()
            .collect();
        Ok(Page::from_overfetch(rows, limit, |e| e.id.to_string()))
    }

    async fn desk_due(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        after: Option<BusinessId>,
        limit: u32,
    ) -> Result<Vec<BusinessId>, StorageError> {
        let inner = self.read();
        let mut due: Vec<BusinessId> = inner
            .tenants
            .iter()
            .filter(|(b, _)| after.is_none_or(|a| **b > a))
            .filter(|(_, t)| {
                let loads = loads(t);
                let online = t.agents.values().any(|a| {
                    a.availability == Availability::Online
                        && loads.get(&a.id).copied().unwrap_or(0) < a.max_concurrent
                });
                t.conversations.values().any(|c| {
                    let at = |due: Option<_>| due.is_some_and(|at| at <= now);
                    at(c.desk.timer_at(c.status, c.assigned_agent))
                        || (online && at(c.desk.due_at(c.status, c.assigned_agent)))
                })
            })
            .map(|(b, _)| *b)
            .collect();
        due.sort();
        due.truncate(limit as usize);
        Ok(due)
    }

    async fn desk_board(
        &self,
        business: BusinessId,
        limit: u32,
    ) -> Result<Vec<crate::domain::Conversation>, StorageError> {
        let inner = self.read();
        let Some(t) = inner.tenant(business) else { return Ok(Vec::new()) };
        let mut rows: Vec<_> = t
            .conversations
            .values()
            .filter_map(|c| c.desk.due_at(c.status, c.assigned_agent).map(|at| (at, c)))
            .collect();
        rows.sort_by_key(|(at, c)| (*at, c.id));
        Ok(rows.into_iter().take(limit as usize).map(|(_, c)| c.clone()).collect())
    }

    async fn agent_loads(&self, business: BusinessId) -> Result<Vec<(AgentId, u32)>, StorageError> {
        let inner = self.read();
        let Some(t) = inner.tenant(business) else { return Ok(Vec::new()) };
        Ok(loads(t).into_iter().collect())
    }
}

/// The agent whose capacity a conversation counts against: its agent,
/// until it is resolved.
fn holder(c: &crate::domain::Conversation) -> Option<AgentId> {
    c.assigned_agent.filter(|_| c.status != ConversationStatus::Resolved)
}

/// How many conversations each agent of the tenant holds.
fn loads(t: &super::Tenant) -> std::collections::BTreeMap<AgentId, u32> {
    let mut loads = std::collections::BTreeMap::new();
    for a in t.conversations.values().filter_map(holder) {
        *loads.entry(a).or_default() += 1;
    }
    loads
}

#[async_trait]
impl crate::ports::RecommendStore for InMemoryStorage {
    async fn recommenders_due(
        &self,
        built_before: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<BusinessId>, StorageError> {
        use crate::domain::OrderStatus;
        let inner = self.read();
        let mut due: Vec<BusinessId> = inner
            .tenants
            .iter()
            .filter(|(_, t)| {
                let built = t.recommender.as_ref().map(|(i, _)| i.built_at);
                built.is_none_or(|b| b <= built_before)
                    && t.orders.values().any(|o| {
                        matches!(o.status, OrderStatus::Paid | OrderStatus::Fulfilled)
                            && built.is_none_or(|b| o.updated_at > b)
                    })
            })
            .map(|(b, _)| *b)
            .collect();
        due.sort();
        due.truncate(limit as usize);
        Ok(due)
    }

    async fn save_recommender(
        &self,
        business: BusinessId,
        info: &crate::ports::RecommenderInfo,
        bytes: &[u8],
    ) -> Result<bool, StorageError> {
        let mut inner = self.write();
        let t = inner.tenant_mut(business, "business")?;
        if t.recommender.as_ref().is_some_and(|(i, _)| i.built_at > info.built_at) {
            return Ok(false);
        }
        t.recommender = Some((info.clone(), bytes.to_vec()));
        Ok(true)
    }

    async fn recommender_info(
        &self,
        business: BusinessId,
    ) -> Result<Option<crate::ports::RecommenderInfo>, StorageError> {
        let inner = self.read();
        Ok(inner.tenant(business).and_then(|t| t.recommender.as_ref()).map(|(i, _)| i.clone()))
    }

    async fn load_recommender(
        &self,
        business: BusinessId,
    ) -> Result<Option<(crate::ports::RecommenderInfo, Vec<u8>)>, StorageError> {
        let inner = self.read();
        Ok(inner.tenant(business).and_then(|t| t.recommender.clone()))
    }
}
