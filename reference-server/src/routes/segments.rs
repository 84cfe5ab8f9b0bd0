//! `/v1/segments`: saved segments, previews, and ad-hoc rules in the text form.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_crm_core::ports::{Page, SegmentMatch};
use whatsapp_crm_core::service::{NewSegment, SegmentPatch};
use whatsapp_crm_core::{Segment, SegmentId};

use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

const TAG: &str = "segments";

/// Segment routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_segment, list_segments))
        .routes(routes!(preview_text_rule, preview_rule))
        .routes(routes!(get_segment, update_segment, delete_segment))
        .routes(routes!(preview_segment))
}

/// Paging of lists and previews.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–200 (lists default to 50, previews to 10).
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

/// An ad-hoc rule in the text form.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RuleQuery {
    /// The rule, e.g. `tag has vip and spend >= 10000.00 and active 30d`.
    rule: String,
    /// Sample size, 1–200 (default 10).
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

/// An ad-hoc rule in either form.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    /// Text form (a string) or JSON form (an object).
    #[schema(value_type = Object)]
    rule: serde_json::Value,
    /// Sample size, 1–200 (default 10).
    #[serde(default)]
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    #[serde(default)]
    cursor: Option<String>,
}

/// Save a segment. The rule may be text (`"tag has vip and active 30d"`) or JSON.
#[utoipa::path(
    post, path = "/v1/segments", tag = TAG,
    request_body = NewSegment,
    responses(
        (status = 201, description = "Saved", body = Segment),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 409, description = "A segment with this name exists", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Invalid name or rule (with the column of the error)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn create_segment(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<NewSegment>,
) -> Result<impl IntoResponse, ApiError> {
    let s = state.crm.segments().create(business, input).await?;
    Ok((StatusCode::CREATED, axum::Json(s)))
}

/// List saved segments.
#[utoipa::path(
    get, path = "/v1/segments", tag = TAG,
    params(PageQuery),
    responses(
        (status = 200, description = "One page", body = Page<Segment>),
        (status = 400, description = "Malformed query string", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 422, description = "Invalid limit or cursor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_segments(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<axum::Json<Page<Segment>>, ApiError> {
    Ok(axum::Json(state.crm.segments().list(business, q.limit, q.cursor.as_deref()).await?))
}

/// Preview a rule given in the text form in the query string: how many
/// customers match now, and a sample of them.
#[utoipa::path(
    get, path = "/v1/segments/preview", tag = TAG,
    params(RuleQuery),
    responses(
        (status = 200, description = "Count and sample", body = SegmentMatch),
        (status = 400, description = "Malformed query string", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 422, description = "Malformed rule, with the column of the error", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn preview_text_rule(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiQuery(q): ApiQuery<RuleQuery>,
) -> Result<axum::Json<SegmentMatch>, ApiError> {
    let rule = serde_json::Value::String(q.rule);
    Ok(axum::Json(
        state.crm.segments().preview_rule(business, &rule, q.limit, q.cursor.as_deref()).await?,
    ))
}

/// Preview a rule in either form.
#[utoipa::path(
    post, path = "/v1/segments/preview", tag = TAG,
    request_body = PreviewBody,
    responses(
        (status = 200, description = "Count and sample", body = SegmentMatch),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 422, description = "Malformed rule, with the column or path of the error", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn preview_rule(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(body): ApiJson<PreviewBody>,
) -> Result<axum::Json<SegmentMatch>, ApiError> {
    let segments = state.crm.segments();
    Ok(axum::Json(
        segments.preview_rule(business, &body.rule, body.limit, body.cursor.as_deref()).await?,
    ))
}

/// Get a saved segment.
#[utoipa::path(
    get, path = "/v1/segments/{id}", tag = TAG,
    params(("id" = SegmentId, Path, description = "Segment id")),
    responses(
        (status = 200, description = "The segment", body = Segment),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such segment in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn get_segment(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<SegmentId>,
) -> Result<axum::Json<Segment>, ApiError> {
    Ok(axum::Json(state.crm.segments().get(business, id).await?))
}

/// Update a saved segment's name, description or rule.
#[utoipa::path(
    patch, path = "/v1/segments/{id}", tag = TAG,
    params(("id" = SegmentId, Path, description = "Segment id")),
    request_body = SegmentPatch,
    responses(
        (status = 200, description = "The updated segment", body = Segment),
        (status = 400, description = "Malformed id or JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such segment in this business", body = ErrorBody),
        (status = 409, description = "The new name is taken", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Invalid name or rule", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn update_segment(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<SegmentId>,
    ApiJson(patch): ApiJson<SegmentPatch>,
) -> Result<axum::Json<Segment>, ApiError> {
    Ok(axum::Json(state.crm.segments().update(business, id, patch).await?))
}

/// Delete a saved segment.
#[utoipa::path(
    delete, path = "/v1/segments/{id}", tag = TAG,
    params(("id" = SegmentId, Path, description = "Segment id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such segment in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn delete_segment(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<SegmentId>,
) -> Result<StatusCode, ApiError> {
    state.crm.segments().delete(business, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many customers a saved segment selects now, and a sample of them.
#[utoipa::path(
    get, path = "/v1/segments/{id}/preview", tag = TAG,
    params(("id" = SegmentId, Path, description = "Segment id"), PageQuery),
    responses(
        (status = 200, description = "Count and sample", body = SegmentMatch),
        (status = 400, description = "Malformed id or query", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such segment in this business", body = ErrorBody),
        (status = 422, description = "Invalid limit or cursor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn preview_segment(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<SegmentId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<axum::Json<SegmentMatch>, ApiError> {
    Ok(axum::Json(state.crm.segments().preview(business, id, q.limit, q.cursor.as_deref()).await?))
}
