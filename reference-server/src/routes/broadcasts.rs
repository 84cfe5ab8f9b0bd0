//! `/v1/broadcasts`: create, preview, launch, pause, resume, cancel, and
//! follow a broadcast by snapshot or as a live stream of server-sent events.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_crm_core::ports::{Page, RecipientStatus};
use whatsapp_crm_core::service::{BroadcastMetrics, BroadcastPreview, NewBroadcast};
use whatsapp_crm_core::{Broadcast, BroadcastId};

use super::PageQuery;
use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};

const TAG: &str = "broadcasts";
/// How often the event stream looks for progress.
pub const EVENTS_POLL: Duration = Duration::from_millis(500);

/// Broadcast routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_broadcast, list_broadcasts))
        .routes(routes!(get_broadcast))
        .routes(routes!(preview_broadcast))
        .routes(routes!(launch_broadcast))
        .routes(routes!(pause_broadcast))
        .routes(routes!(resume_broadcast))
        .routes(routes!(cancel_broadcast))
        .routes(routes!(broadcast_progress))
        .routes(routes!(broadcast_recipients))
        .routes(routes!(broadcast_events))
}

/// Why a broadcast is paused.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PauseRequest {
    /// Shown on the broadcast; "paused by a person" when absent.
    #[serde(default)]
    reason: Option<String>,
}

/// Create a draft broadcast of an approved template.
#[utoipa::path(
    post, path = "/v1/broadcasts", tag = TAG,
    request_body = NewBroadcast,
    responses(
        (status = 201, description = "Created as a draft", body = Broadcast),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such template or segment in this business", body = ErrorBody),
        (status = 409, description = "The template has no approved version", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Invalid fields, each named", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn create_broadcast(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<NewBroadcast>,
) -> Result<impl IntoResponse, ApiError> {
    let b = state.crm.broadcasts().create(business, input).await?;
    Ok((StatusCode::CREATED, axum::Json(b)))
}

/// List broadcasts, oldest first.
#[utoipa::path(
    get, path = "/v1/broadcasts", tag = TAG,
    params(PageQuery),
    responses(
        (status = 200, description = "One page", body = Page<Broadcast>),
        (status = 400, description = "Malformed query string", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 422, description = "Invalid limit or cursor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_broadcasts(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<axum::Json<Page<Broadcast>>, ApiError> {
    Ok(axum::Json(state.crm.broadcasts().list(business, q.limit, q.cursor.as_deref()).await?))
}

/// Get a broadcast.
#[utoipa::path(
    get, path = "/v1/broadcasts/{id}", tag = TAG,
    params(("id" = String, Path, description = "Broadcast id")),
    responses(
        (status = 200, description = "The broadcast", body = Broadcast),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such broadcast in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn get_broadcast(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<BroadcastId>,
) -> Result<axum::Json<Broadcast>, ApiError> {
    Ok(axum::Json(state.crm.broadcasts().get(business, id).await?))
}

/// Who launching now would reach, who would be skipped and why, and sample
/// messages. Nothing is stored.
#[utoipa::path(
    get, path = "/v1/broadcasts/{id}/preview", tag = TAG,
    params(("id" = String, Path, description = "Broadcast id")),
    responses(
        (status = 200, description = "The preview", body = BroadcastPreview),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such broadcast in this business", body = ErrorBody),
        (status = 409, description = "The template is no longer approved", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn preview_broadcast(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<BroadcastId>,
) -> Result<axum::Json<BroadcastPreview>, ApiError> {
    Ok(axum::Json(state.crm.broadcasts().preview(business, id).await?))
}

macro_rules! action {
    ($fn:ident, $path:literal, $what:literal, $method:ident) => {
        #[doc = $what]
        #[utoipa::path(
            post, path = $path, tag = TAG,
            params(("id" = String, Path, description = "Broadcast id")),
            responses(
                (status = 200, description = "The broadcast after it", body = Broadcast),
                (status = 400, description = "Malformed id", body = ErrorBody),
                (status = 401, description = "Missing or invalid API key", body = ErrorBody),
                (status = 404, description = "No such broadcast in this business", body = ErrorBody),
                (status = 409, description = "Not possible in its current status", body = ErrorBody),
            ),
            security(("api_key" = []))
        )]
        async fn $fn(
            State(state): State<AppState>,
            Tenant(business): Tenant,
            ApiPath(id): ApiPath<BroadcastId>,
        ) -> Result<axum::Json<Broadcast>, ApiError> {
            Ok(axum::Json(state.crm.broadcasts().$method(business, id).await?))
        }
    };
}

action!(
    launch_broadcast,
    "/v1/broadcasts/{id}/launch",
    "Launch a draft: now, or at its `send_at`. Its audience is fixed then.",
    launch
);
action!(
    resume_broadcast,
    "/v1/broadcasts/{id}/resume",
    "Resume a paused broadcast where it stopped.",
    resume
);
action!(
    cancel_broadcast,
    "/v1/broadcasts/{id}/cancel",
    "Cancel a broadcast for good: nothing more is queued or sent.",
    cancel
);

/// Pause a scheduled, launching or sending broadcast.
#[utoipa::path(
    post, path = "/v1/broadcasts/{id}/pause", tag = TAG,
    params(("id" = String, Path, description = "Broadcast id")),
    request_body(content = Option<PauseRequest>, description = "Optional reason; the body may be empty"),
    responses(
        (status = 200, description = "The paused broadcast", body = Broadcast),
        (status = 400, description = "Malformed id or JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such broadcast in this business", body = ErrorBody),
        (status = 409, description = "Not possible in its current status", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn pause_broadcast(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<BroadcastId>,
    OptionalJson(request): OptionalJson<PauseRequest>,
) -> Result<axum::Json<Broadcast>, ApiError> {
    let request = request.unwrap_or_default();
    let reason = request.reason.unwrap_or_else(|| "paused by a person".into());
    Ok(axum::Json(state.crm.broadcasts().pause(business, id, &reason).await?))
}

/// Where the broadcast stands: counts per stage, failures by code, skips by
/// reason, replies, clicks and rates.
#[utoipa::path(
    get, path = "/v1/broadcasts/{id}/progress", tag = TAG,
    params(("id" = String, Path, description = "Broadcast id")),
    responses(
        (status = 200, description = "The snapshot", body = BroadcastMetrics),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such broadcast in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn broadcast_progress(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<BroadcastId>,
) -> Result<axum::Json<BroadcastMetrics>, ApiError> {
    Ok(axum::Json(state.crm.broadcasts().metrics(business, id).await?))
}

/// Each recipient with their message's status, or why they were skipped.
#[utoipa::path(
    get, path = "/v1/broadcasts/{id}/recipients", tag = TAG,
    params(("id" = String, Path, description = "Broadcast id"), PageQuery),
    responses(
        (status = 200, description = "One page", body = Page<RecipientStatus>),
        (status = 400, description = "Malformed id or query string", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such broadcast in this business", body = ErrorBody),
        (status = 422, description = "Invalid limit or cursor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn broadcast_recipients(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<BroadcastId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<axum::Json<Page<RecipientStatus>>, ApiError> {
    let page =
        state.crm.broadcasts().recipients(business, id, q.limit, q.cursor.as_deref()).await?;
    Ok(axum::Json(page))
}

/// A live stream of progress as server-sent events: a `progress` event with
/// the snapshot of `/progress` whenever it changes, and a last one when the
/// broadcast completes or is cancelled, after which the stream ends.
#[utoipa::path(
    get, path = "/v1/broadcasts/{id}/events", tag = TAG,
    params(("id" = String, Path, description = "Broadcast id")),
    responses(
        (status = 200, description = "`text/event-stream` of `progress` events", content_type = "text/event-stream", body = BroadcastMetrics),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such broadcast in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn broadcast_events(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<BroadcastId>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // The first snapshot is read now, so a wrong id is a plain 404.
    let first = state.crm.broadcasts().metrics(business, id).await?;
    let broadcasts = state.crm.broadcasts();
    let stream = futures_util::stream::unfold(
        (Some(first), None::<String>, false),
        move |(next, last_sent, done)| {
            let broadcasts = broadcasts.clone();
            async move {
                if done {
                    return None;
                }
                let mut snapshot = next;
                loop {
                    let m = match snapshot.take() {
                        Some(m) => m,
                        None => {
                            tokio::time::sleep(EVENTS_POLL).await;
                            match broadcasts.metrics(business, id).await {
                                Ok(m) => m,
                                Err(e) => {
                                    let event = Event::default().event("error").data(e.to_string());
                                    return Some((Ok(event), (None, last_sent, true)));
                                }
                            }
                        }
                    };
                    let json = serde_json::to_string(&m).unwrap_or_default();
                    let finished = m.broadcast.status.is_final();
                    if last_sent.as_deref() != Some(json.as_str()) || finished {
                        let event = Event::default().event("progress").data(json.clone());
                        return Some((Ok(event), (None, Some(json), finished)));
                    }
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
