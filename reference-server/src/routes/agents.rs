//! `/v1/agents`: the people who answer customers, their availability, and
//! their own API keys; `/v1/queues`: the routing queues they are reached
//! by. The business's key manages both; an agent's key may read itself and
//! set its own availability, nothing more here.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_crm_core::ports::Page;
use whatsapp_crm_core::service::AgentListParams;
use whatsapp_crm_core::{
    Agent, AgentId, ApiKey, ApiKeyId, Availability, NewAgent, NewQueue, Queue, QueueId, Routing,
};

use super::PageQuery;
use crate::app::AppState;
use crate::auth::{Actor, Tenant, generate_api_key};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

const TAG: &str = "agents";

/// Agent routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_agent, list_agents))
        .routes(routes!(get_agent, replace_agent))
        .routes(routes!(set_availability))
        .routes(routes!(issue_key, list_keys))
        .routes(routes!(revoke_key))
}

/// Query of `GET /v1/agents`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only agents with this availability.
    availability: Option<Availability>,
    /// Page size, 1–200 (default 50).
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

/// A new availability.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityInput {
    /// `online` takes new conversations; `away` keeps its own; `offline`.
    availability: Availability,
}

/// What a new agent key is for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyInput {
    /// A label (1–100 characters): `Achieng's phone`.
    #[schema(min_length = 1, max_length = 100)]
    label: String,
}

/// A new agent key, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedKey {
    /// The key record.
    #[schema(value_type = String, format = Uuid)]
    id: ApiKeyId,
    /// The agent it acts as.
    #[schema(value_type = String, format = Uuid)]
    agent_id: AgentId,
    /// Its label.
    label: String,
    /// The key itself (`wcrm_…`): shown this once, only its hash is kept.
    api_key: String,
}

/// One of an agent's keys; the key itself is never shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentKey {
    /// The key record.
    #[schema(value_type = String, format = Uuid)]
    id: ApiKeyId,
    /// The agent it acts as.
    #[schema(value_type = String, format = Uuid)]
    agent_id: AgentId,
    /// Its label.
    label: String,
    /// When it was issued.
    created_at: DateTime<Utc>,
    /// When it was revoked; a revoked key authenticates nothing.
    revoked_at: Option<DateTime<Utc>>,
}

impl AgentKey {
    fn of(agent_id: AgentId, k: ApiKey) -> Self {
        Self {
            id: k.id,
            agent_id,
            label: k.label,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// An agent may act on itself only.
fn own(actor: &Actor, id: AgentId) -> Result<(), ApiError> {
    match actor.agent {
        Some(me) if me != id => Err(ApiError::forbidden("an agent's key acts on that agent only")),
        _ => Ok(()),
    }
}

/// Add an agent.
#[utoipa::path(
    post, path = "/v1/agents", tag = TAG,
    request_body = NewAgent,
    responses((status = 201, description = "Created", body = Agent)),
    security(("api_key" = []))
)]
async fn create_agent(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<NewAgent>,
) -> Result<impl IntoResponse, ApiError> {
    let agent = state.crm.agents().create(business, input).await?;
    Ok((StatusCode::CREATED, axum::Json(agent)))
}

/// List agents, oldest first.
#[utoipa::path(
    get, path = "/v1/agents", tag = TAG,
    params(ListQuery),
    responses(
        (status = 200, description = "One page", body = Page<Agent>),
        (status = 422, description = "Invalid limit or cursor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_agents(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<axum::Json<Page<Agent>>, ApiError> {
    let params = AgentListParams { availability: q.availability, limit: q.limit, cursor: q.cursor };
    Ok(axum::Json(state.crm.agents().list(business, params).await?))
}

/// One agent (an agent's key reads only itself).
#[utoipa::path(
    get, path = "/v1/agents/{id}", tag = TAG,
    params(("id" = String, Path, description = "Agent id")),
    responses(
        (status = 200, description = "The agent", body = Agent),
        (status = 404, description = "No such agent in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn get_agent(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<AgentId>,
) -> Result<axum::Json<Agent>, ApiError> {
    own(&actor, id)?;
    Ok(axum::Json(state.crm.agents().get(actor.business, id).await?))
}

/// Replace an agent's name, skills, languages, capacity and (when given)
/// availability.
#[utoipa::path(
    put, path = "/v1/agents/{id}", tag = TAG,
    params(("id" = String, Path, description = "Agent id")),
    request_body = NewAgent,
    responses(
        (status = 200, description = "The agent", body = Agent),
        (status = 404, description = "No such agent in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn replace_agent(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<AgentId>,
    ApiJson(input): ApiJson<NewAgent>,
) -> Result<axum::Json<Agent>, ApiError> {
    Ok(axum::Json(state.crm.agents().replace(business, id, input).await?))
}

/// Set whether the agent takes new conversations (the business's key, or
/// the agent's own).
#[utoipa::path(
    put, path = "/v1/agents/{id}/availability", tag = TAG,
    params(("id" = String, Path, description = "Agent id")),
    request_body = AvailabilityInput,
    responses(
        (status = 200, description = "The agent", body = Agent),
        (status = 404, description = "No such agent in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn set_availability(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<AgentId>,
    ApiJson(input): ApiJson<AvailabilityInput>,
) -> Result<axum::Json<Agent>, ApiError> {
    own(&actor, id)?;
    let agent = state.crm.agents().set_availability(actor.business, id, input.availability).await?;
    Ok(axum::Json(agent))
}

/// Issue an API key that acts as the agent: replies, notes and assignments
/// made with it are the agent's. The key is shown once.
#[utoipa::path(
    post, path = "/v1/agents/{id}/keys", tag = TAG,
    params(("id" = String, Path, description = "Agent id")),
    request_body = KeyInput,
    responses(
        (status = 201, description = "The key, shown once", body = IssuedKey),
        (status = 404, description = "No such agent in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn issue_key(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<AgentId>,
    ApiJson(input): ApiJson<KeyInput>,
) -> Result<impl IntoResponse, ApiError> {
    let (api_key, hash) = generate_api_key().map_err(|e| {
        tracing::error!(error = %e, "no randomness for an API key");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    })?;
    let key = state.crm.agents().issue_key(business, id, hash, &input.label).await?;
    let issued = IssuedKey { id: key.id, agent_id: id, label: key.label, api_key };
    Ok((StatusCode::CREATED, axum::Json(issued)))
}

/// The agent's keys, oldest first, revoked ones included (never the keys
/// themselves).
#[utoipa::path(
    get, path = "/v1/agents/{id}/keys", tag = TAG,
    params(("id" = String, Path, description = "Agent id")),
    responses(
        (status = 200, description = "The agent's keys", body = Vec<AgentKey>),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 403, description = "An agent's key", body = ErrorBody),
        (status = 404, description = "No such agent in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_keys(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<AgentId>,
) -> Result<axum::Json<Vec<AgentKey>>, ApiError> {
    let keys = state.crm.agents().keys(business, id).await?;
    Ok(axum::Json(keys.into_iter().map(|k| AgentKey::of(id, k)).collect()))
}

/// Revoke one of the agent's keys, for a lost phone or a colleague who
/// left: from now on it authenticates nothing, and live streams opened
/// with it end at their next event. Revoking again is harmless.
#[utoipa::path(
    delete, path = "/v1/agents/{id}/keys/{key_id}", tag = TAG,
    params(
        ("id" = String, Path, description = "Agent id"),
        ("key_id" = String, Path, description = "Key id, from the agent's keys"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 403, description = "An agent's key", body = ErrorBody),
        (status = 404, description = "No such agent, or no such key of this agent", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn revoke_key(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath((id, key)): ApiPath<(AgentId, ApiKeyId)>,
) -> Result<StatusCode, ApiError> {
    state.crm.agents().revoke_key(business, id, key).await?;
    Ok(StatusCode::NO_CONTENT)
}

const QUEUES: &str = "queues";

/// Queue routes.
pub fn queue_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_queue, list_queues))
        .routes(routes!(get_queue, replace_queue))
}

/// Add a routing queue. Its target (`skills HAS 'billing' AND languages
/// HAS 'sw'`) is read now: one that cannot be read is refused with 422,
/// its column as the error's `position`.
#[utoipa::path(
    post, path = "/v1/queues", tag = QUEUES,
    request_body = NewQueue,
    responses(
        (status = 201, description = "Created", body = Queue),
        (status = 409, description = "The name is taken", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn create_queue(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<NewQueue>,
) -> Result<impl IntoResponse, ApiError> {
    let q = state.crm.queues().create(business, input).await?;
    Ok((StatusCode::CREATED, axum::Json(q)))
}

/// List queues, oldest first.
#[utoipa::path(
    get, path = "/v1/queues", tag = QUEUES,
    params(PageQuery),
    responses(
        (status = 200, description = "One page", body = Page<Queue>),
        (status = 422, description = "Invalid limit or cursor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_queues(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<axum::Json<Page<Queue>>, ApiError> {
    Ok(axum::Json(state.crm.queues().list(business, q.limit, q.cursor.as_deref()).await?))
}

/// One queue.
#[utoipa::path(
    get, path = "/v1/queues/{id}", tag = QUEUES,
    params(("id" = String, Path, description = "Queue id")),
    responses(
        (status = 200, description = "The queue", body = Queue),
        (status = 404, description = "No such queue in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn get_queue(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<QueueId>,
) -> Result<axum::Json<Queue>, ApiError> {
    Ok(axum::Json(state.crm.queues().get(business, id).await?))
}

/// Replace a queue's fields.
#[utoipa::path(
    put, path = "/v1/queues/{id}", tag = QUEUES,
    params(("id" = String, Path, description = "Queue id")),
    request_body = NewQueue,
    responses(
        (status = 200, description = "The queue", body = Queue),
        (status = 404, description = "No such queue in this business", body = ErrorBody),
        (status = 409, description = "Renamed onto a taken name", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn replace_queue(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<QueueId>,
    ApiJson(input): ApiJson<NewQueue>,
) -> Result<axum::Json<Queue>, ApiError> {
    Ok(axum::Json(state.crm.queues().replace(business, id, input).await?))
}

/// Routing rule routes.
pub fn routing_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_routing, put_routing))
}

/// The routing rules, in the order they are tried, and the default.
#[utoipa::path(
    get, path = "/v1/routing-rules", tag = QUEUES,
    responses((status = 200, description = "The rules and default", body = Routing)),
    security(("api_key" = []))
)]
async fn get_routing(
    State(state): State<AppState>,
    Tenant(business): Tenant,
) -> Result<axum::Json<Routing>, ApiError> {
    Ok(axum::Json(state.crm.queues().routing(business).await?))
}

/// Replace the routing rules and default at once. Each condition is read
/// now (one that cannot be read is refused with its column as the error's
/// `position`); each queue must be the business's.
#[utoipa::path(
    put, path = "/v1/routing-rules", tag = QUEUES,
    request_body = Routing,
    responses((status = 200, description = "The rules as stored (conditions as read back)", body = Routing)),
    security(("api_key" = []))
)]
async fn put_routing(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<Routing>,
) -> Result<axum::Json<Routing>, ApiError> {
    Ok(axum::Json(state.crm.queues().set_routing(business, input).await?))
}
