//! `/v1/messages` and `/v1/conversations`: sending to a customer, the
//! conversation list and each conversation's history; and the business's
//! consent keywords.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_crm_core::policy::KeywordConfig;
use whatsapp_crm_core::ports::Page;
use whatsapp_crm_core::service::{ConversationListParams, MessageView, SendMessage};
use whatsapp_crm_core::{
    Business, Conversation, ConversationId, ConversationStatus, CustomerId, Message, MessageId,
};

use crate::app::AppState;
use crate::auth::{Actor, Tenant};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

const TAG: &str = "conversations";

/// Messaging routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_message))
        .routes(routes!(get_message))
        .routes(routes!(list_conversations))
        .routes(routes!(get_conversation))
        .routes(routes!(list_messages))
        .routes(routes!(set_keywords))
}

/// Query of `GET /v1/conversations`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationsQuery {
    /// Only this customer's conversations.
    #[param(value_type = Option<String>, format = Uuid)]
    customer_id: Option<CustomerId>,
    /// Only conversations in this status.
    status: Option<ConversationStatus>,
    /// `true`: only those waiting for a person (handed off by the
    /// assistant); `false`: only the others.
    waiting: Option<bool>,
    /// Only those this agent holds (an agent's key always lists its own).
    #[param(value_type = Option<String>, format = Uuid)]
    agent_id: Option<whatsapp_crm_core::AgentId>,
    /// Page size, 1–200 (default 50).
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

/// Paging of a conversation's messages.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// Page size, 1–200 (default 50).
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

/// Send a message to a customer: free-form content inside their 24-hour
/// window, or an approved template anytime. It is queued and sent by the
/// dispatcher; follow it with `GET /v1/messages/{id}`.
#[utoipa::path(
    post, path = "/v1/messages", tag = TAG,
    request_body = SendMessage,
    responses(
        (status = 202, description = "Queued", body = Message),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such customer or template in this business", body = ErrorBody),
        (status = 409, description = "The template has no approved version", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Content over WhatsApp's limits, or refused by the send policy (`send_refused`: outside the window, no marketing consent)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn send_message(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<SendMessage>,
) -> Result<impl IntoResponse, ApiError> {
    let message = state.crm.outbound().send(business, input).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(message)))
}

/// Get a message with its delivery row (state, attempts, last error and code).
#[utoipa::path(
    get, path = "/v1/messages/{id}", tag = TAG,
    params(("id" = String, Path, description = "Message id")),
    responses(
        (status = 200, description = "The message", body = MessageView),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such message in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn get_message(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<MessageId>,
) -> Result<axum::Json<MessageView>, ApiError> {
    Ok(axum::Json(state.crm.conversations().message(business, id).await?))
}

/// List conversations, oldest first.
#[utoipa::path(
    get, path = "/v1/conversations", tag = TAG,
    params(ConversationsQuery),
    responses(
        (status = 200, description = "One page", body = Page<Conversation>),
        (status = 400, description = "Malformed query string", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 422, description = "Invalid limit or cursor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_conversations(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(q): ApiQuery<ConversationsQuery>,
) -> Result<axum::Json<Page<Conversation>>, ApiError> {
    let params = ConversationListParams {
        customer_id: q.customer_id,
        status: q.status,
        waiting: q.waiting,
        // An agent's key lists the agent's own.
        agent: actor.agent.or(q.agent_id),
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(axum::Json(state.crm.conversations().list(actor.business, params).await?))
}

/// Get a conversation.
#[utoipa::path(
    get, path = "/v1/conversations/{id}", tag = TAG,
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation", body = Conversation),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such conversation in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn get_conversation(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<axum::Json<Conversation>, ApiError> {
    Ok(axum::Json(state.crm.team_inbox().get(actor.business, actor.who(), id).await?))
}

/// A conversation's messages, oldest first.
#[utoipa::path(
    get, path = "/v1/conversations/{id}/messages", tag = TAG,
    params(("id" = String, Path, description = "Conversation id"), MessagesQuery),
    responses(
        (status = 200, description = "One page", body = Page<Message>),
        (status = 400, description = "Malformed id or query string", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such conversation in this business", body = ErrorBody),
        (status = 422, description = "Invalid limit or cursor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_messages(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<ConversationId>,
    ApiQuery(q): ApiQuery<MessagesQuery>,
) -> Result<axum::Json<Page<Message>>, ApiError> {
    let business = actor.business;
    state.crm.team_inbox().get(business, actor.who(), id).await?;
    let page =
        state.crm.conversations().messages(business, id, q.limit, q.cursor.as_deref()).await?;
    Ok(axum::Json(page))
}

/// Replace the consent keywords (opt-out and opt-in words, any language) and
/// the replies that confirm them.
#[utoipa::path(
    put, path = "/v1/business/keywords", tag = "system",
    request_body = KeywordConfig,
    responses(
        (status = 200, description = "The business with its new keywords", body = Business),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 422, description = "Invalid keywords or replies, each named", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn set_keywords(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<KeywordConfig>,
) -> Result<axum::Json<Business>, ApiError> {
    Ok(axum::Json(state.crm.businesses().set_keywords(business, input).await?))
}
