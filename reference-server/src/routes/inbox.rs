//! The team inbox: what people do with a conversation
//! (`/v1/conversations/{id}/assign`, `…/reply`, `…/notes`, `…/resolve`…),
//! its events, `POST /v1/queues/{id}/next`, and `GET /v1/inbox/events`,
//! the live stream. The business's key may do all of it; an agent's key
//! acts on the conversations it holds, takes offered or waiting ones, and
//! streams only what concerns the agent and the queues they are in.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_crm_core::ports::Page;
use whatsapp_crm_core::service::{InboxUpdate, Reply};
use whatsapp_crm_core::{
    AgentId, Conversation, ConversationEvent, ConversationId, ConversationStatus, Message, QueueId,
};

use super::PageQuery;
use crate::app::AppState;
use crate::auth::Actor;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

const TAG: &str = "inbox";
/// How often an idle stream says it is alive.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Team inbox routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(assign))
        .routes(routes!(unassign))
        .routes(routes!(set_status))
        .routes(routes!(set_priority))
        .routes(routes!(snooze))
        .routes(routes!(resolve))
        .routes(routes!(hand_back))
        .routes(routes!(reply))
        .routes(routes!(add_note))
        .routes(routes!(list_events))
        .routes(routes!(next))
        .routes(routes!(stream))
}

/// Who takes the conversation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    /// The agent. Required with the business's key; with an agent's key,
    /// left out or the agent's own id.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    agent_id: Option<AgentId>,
}

/// The statuses set by hand (snoozing and resolving have their own actions).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettableStatus {
    /// Waiting for the business.
    Open,
    /// Waiting for the customer.
    Pending,
}

/// A new status.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {
    /// `open` or `pending`.
    status: SettableStatus,
}

/// A new priority.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriorityInput {
    /// 0 (normal) to 3; higher is served first.
    #[schema(minimum = 0, maximum = 3)]
    priority: u8,
}

/// Until when.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeInput {
    /// In the future, at most 90 days ahead.
    until: DateTime<Utc>,
}

/// An internal note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    /// 1–4096 characters, not only spaces.
    #[schema(min_length = 1, max_length = 4096)]
    text: String,
}

type Acted = Result<axum::Json<Conversation>, ApiError>;

/// Give a conversation to an agent, or take it (an agent's key).
#[utoipa::path(
    post, path = "/v1/conversations/{id}/assign", tag = TAG,
    params(("id" = String, Path, description = "Conversation id")),
    request_body = AssignInput,
    responses(
        (status = 200, description = "The conversation, assigned", body = Conversation),
        (status = 403, description = "An agent's key naming another agent, or a conversation another agent holds", body = ErrorBody),
        (status = 404, description = "No such conversation in this business", body = ErrorBody),
        (status = 409, description = "Resolved, or the agent holds as many as they take", body = ErrorBody),
        (status = 422, description = "No such agent, or none named with the business's key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn assign(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(input): ApiJson<AssignInput>,
) -> Acted {
    let team = state.crm.team_inbox();
    Ok(axum::Json(team.assign(actor.business, actor.who(), id, input.agent_id).await?))
}

/// Let go of a conversation; it goes back to its queue when it still
/// waits for a person.
#[utoipa::path(
    post, path = "/v1/conversations/{id}/unassign", tag = TAG,
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation, unassigned", body = Conversation),
        (status = 403, description = "Another agent's conversation", body = ErrorBody),
        (status = 404, description = "No such conversation in this business", body = ErrorBody),
        (status = 409, description = "Not assigned", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn unassign(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<ConversationId>,
) -> Acted {
    Ok(axum::Json(state.crm.team_inbox().unassign(actor.business, actor.who(), id).await?))
}

/// Mark a conversation open (waiting for the business) or pending
/// (waiting for the customer).
#[utoipa::path(
    post, path = "/v1/conversations/{id}/status", tag = TAG,
    params(("id" = String, Path, description = "Conversation id")),
    request_body = StatusInput,
    responses(
        (status = 200, description = "The conversation", body = Conversation),
        (status = 403, description = "Another agent's conversation", body = ErrorBody),
        (status = 404, description = "No such conversation in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn set_status(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(input): ApiJson<StatusInput>,
) -> Acted {
    let status = match input.status {
        SettableStatus::Open => ConversationStatus::Open,
        SettableStatus::Pending => ConversationStatus::Pending,
    };
    let team = state.crm.team_inbox();
    Ok(axum::Json(team.set_status(actor.business, actor.who(), id, status).await?))
}

/// Set a conversation's priority.
#[utoipa::path(
    post, path = "/v1/conversations/{id}/priority", tag = TAG,
    params(("id" = String, Path, description = "Conversation id")),
    request_body = PriorityInput,
    responses(
        (status = 200, description = "The conversation", body = Conversation),
        (status = 403, description = "Another agent's conversation", body = ErrorBody),
        (status = 404, description = "No such conversation in this business", body = ErrorBody),
        (status = 422, description = "Priority out of range", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn set_priority(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(input): ApiJson<PriorityInput>,
) -> Acted {
    let team = state.crm.team_inbox();
    Ok(axum::Json(team.set_priority(actor.business, actor.who(), id, input.priority).await?))
}

/// Put a conversation aside until a time; it opens again then, or when the
/// customer writes.
#[utoipa::path(
    post, path = "/v1/conversations/{id}/snooze", tag = TAG,
    params(("id" = String, Path, description = "Conversation id")),
    request_body = SnoozeInput,
    responses(
        (status = 200, description = "The conversation, snoozed", body = Conversation),
        (status = 403, description = "Another agent's conversation", body = ErrorBody),
        (status = 404, description = "No such conversation in this business", body = ErrorBody),
        (status = 409, description = "The conversation is resolved", body = ErrorBody),
        (status = 422, description = "`until` is not in the next 90 days", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn snooze(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(input): ApiJson<SnoozeInput>,
) -> Acted {
    let team = state.crm.team_inbox();
    Ok(axum::Json(team.snooze(actor.business, actor.who(), id, input.until).await?))
}

/// Resolve a conversation: its agent lets go (and is remembered for the
/// customer's return), and the assistant answers again.
#[utoipa::path(
    post, path = "/v1/conversations/{id}/resolve", tag = TAG,
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation, resolved", body = Conversation),
        (status = 403, description = "Another agent's conversation", body = ErrorBody),
        (status = 404, description = "No such conversation in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn resolve(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<ConversationId>,
) -> Acted {
    Ok(axum::Json(state.crm.team_inbox().resolve(actor.business, actor.who(), id).await?))
}

/// Return a conversation to the assistant: its agent lets go, it leaves
/// its queue, and the handoff stays on record, resolved now.
#[utoipa::path(
    post, path = "/v1/conversations/{id}/hand-back", tag = TAG,
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation", body = Conversation),
        (status = 403, description = "Another agent's conversation", body = ErrorBody),
        (status = 404, description = "No such conversation in this business", body = ErrorBody),
        (status = 409, description = "No person has it or waits to", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn hand_back(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<ConversationId>,
) -> Acted {
    Ok(axum::Json(state.crm.team_inbox().hand_back(actor.business, actor.who(), id).await?))
}

/// Reply to the customer: queued through the outbox (free-form inside the
/// 24-hour window, an approved template anytime), authored `staff` and
/// attributed to the agent by a `reply` event.
#[utoipa::path(
    post, path = "/v1/conversations/{id}/reply", tag = TAG,
    params(("id" = String, Path, description = "Conversation id")),
    request_body = Reply,
    responses(
        (status = 202, description = "Queued", body = Message),
        (status = 403, description = "Another agent's conversation", body = ErrorBody),
        (status = 404, description = "No such conversation in this business", body = ErrorBody),
        (status = 409, description = "The template has no approved version", body = ErrorBody),
        (status = 422, description = "Invalid content, or refused by the send policy (outside the window)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn reply(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(input): ApiJson<Reply>,
) -> Result<impl IntoResponse, ApiError> {
    let team = state.crm.team_inbox();
    let message = team.reply(actor.business, actor.who(), id, input).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(message)))
}

/// Add an internal note; never sent to the customer.
#[utoipa::path(
    post, path = "/v1/conversations/{id}/notes", tag = TAG,
    params(("id" = String, Path, description = "Conversation id")),
    request_body = NoteInput,
    responses(
        (status = 201, description = "The note's event", body = ConversationEvent),
        (status = 403, description = "A conversation this agent may not read", body = ErrorBody),
        (status = 404, description = "No such conversation in this business", body = ErrorBody),
        (status = 422, description = "Empty or too long", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn add_note(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(input): ApiJson<NoteInput>,
) -> Result<impl IntoResponse, ApiError> {
    let team = state.crm.team_inbox();
    let event = team.note(actor.business, actor.who(), id, &input.text).await?;
    Ok((StatusCode::CREATED, axum::Json(event)))
}

/// A conversation's events (assignments, status and priority changes,
/// handoff, first response, escalation, replies, notes), oldest first.
#[utoipa::path(
    get, path = "/v1/conversations/{id}/events", tag = TAG,
    params(("id" = String, Path, description = "Conversation id"), PageQuery),
    responses(
        (status = 200, description = "One page", body = Page<ConversationEvent>),
        (status = 403, description = "A conversation this agent may not read", body = ErrorBody),
        (status = 404, description = "No such conversation in this business", body = ErrorBody),
        (status = 422, description = "Invalid limit or cursor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_events(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<ConversationId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<axum::Json<Page<ConversationEvent>>, ApiError> {
    let team = state.crm.team_inbox();
    let page = team.events(actor.business, actor.who(), id, q.limit, q.cursor.as_deref()).await?;
    Ok(axum::Json(page))
}

/// Take the top of a queue (highest priority, longest waiting, held by
/// nobody); an agent's key. 204 when nothing waits there.
#[utoipa::path(
    post, path = "/v1/queues/{id}/next", tag = TAG,
    params(("id" = String, Path, description = "Queue id")),
    responses(
        (status = 200, description = "The conversation, now the agent's", body = Conversation),
        (status = 204, description = "Nothing waits in the queue"),
        (status = 403, description = "The business's key, or an agent outside the queue's target", body = ErrorBody),
        (status = 404, description = "No such queue in this business", body = ErrorBody),
        (status = 409, description = "The agent holds as many as they take", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn next(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<QueueId>,
) -> Result<axum::response::Response, ApiError> {
    let Some(agent) = actor.agent else {
        return Err(ApiError::forbidden("taking the next conversation needs an agent's key"));
    };
    Ok(match state.crm.team_inbox().next(actor.business, agent, id).await? {
        Some(c) => axum::Json(c).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// The live inbox as server-sent events: `message` for a message in or a
/// person's reply out, and each conversation event by its kind
/// (`assigned`, `status`, `offered`…), each `data` an `InboxUpdate`. An
/// agent's key streams only what concerns the agent: their conversations,
/// changes about them, and conversations waiting in the queues whose target
/// they match. The key is checked again at the next event once a few
/// seconds have passed: a revoked key's stream ends there, and an agent
/// whose skills changed sees their new queues. A reconnecting client reads
/// what it missed from the REST endpoints.
#[utoipa::path(
    get, path = "/v1/inbox/events", tag = TAG,
    responses(
        (status = 200, description = "An endless `text/event-stream`; each event's data", content_type = "text/event-stream", body = InboxUpdate),
    ),
    security(("api_key" = []))
)]
async fn stream(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<impl IntoResponse, ApiError> {
    let mut watch = Watch { queues: Vec::new(), checked: Instant::now(), state, actor };
    if let Some(agent) = actor.agent {
        watch.queues = agent_queues(&watch.state, actor, agent).await?;
    }
    let updates = watch.state.crm.feed().subscribe(actor.business);
    let events =
        futures_util::stream::unfold((updates, watch), |(mut updates, mut w)| async move {
            loop {
                let u = updates.next().await?;
                if w.checked.elapsed() >= w.state.stream_recheck && !w.still_allowed().await {
                    return None;
                }
                if w.actor.agent.is_none_or(|agent| u.concerns(agent, &w.queues)) {
                    let event = Event::default()
                        .event(u.name())
                        .json_data(&u)
                        .unwrap_or_else(|_| Event::default());
                    return Some((Ok::<_, Infallible>(event), (updates, w)));
                }
            }
        });
    // Fused: a body polled again after its end stays ended.
    Ok(Sse::new(events.fuse()).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// What a live stream knows of its key, checked again now and then: a
/// revoked key or a removed agent ends the stream, and an agent's changed
/// skills change the queues it sees.
struct Watch {
    state: AppState,
    actor: Actor,
    queues: Vec<QueueId>,
    checked: Instant,
}

impl Watch {
    /// Whether the key still acts for the same business and agent; any
    /// failure to tell ends the stream (the client reconnects and
    /// authenticates afresh).
    async fn still_allowed(&mut self) -> bool {
        let same = matches!(
            self.state.crm.businesses().authenticate(&self.actor.key).await,
            Ok(Some(p)) if p.business == self.actor.business && p.agent == self.actor.agent
        );
        if !same {
            return false;
        }
        if let Some(agent) = self.actor.agent {
            match agent_queues(&self.state, self.actor, agent).await {
                Ok(queues) => self.queues = queues,
                Err(_) => return false,
            }
        }
        self.checked = Instant::now();
        true
    }
}

/// The queues whose target the agent matches.
async fn agent_queues(
    state: &AppState,
    actor: Actor,
    agent: AgentId,
) -> Result<Vec<QueueId>, ApiError> {
    let a = state.crm.agents().get(actor.business, agent).await?;
    let attributes = a.attributes();
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = state.crm.queues().list(actor.business, Some(200), cursor.as_deref()).await?;
        out.extend(page.items.iter().filter(|q| q.target_expr().eval(&attributes)).map(|q| q.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}
