//! `/v1/campaigns`: broadcasts on a schedule, their calendar and their runs
//! side by side.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_crm_core::ports::Page;
use whatsapp_crm_core::service::{CampaignCalendar, NewCampaign, RunSummary};
use whatsapp_crm_core::{Campaign, CampaignId};

use super::PageQuery;
use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

const TAG: &str = "campaigns";

/// Campaign routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_campaign, list_campaigns))
        .routes(routes!(get_campaign))
        .routes(routes!(pause_campaign))
        .routes(routes!(resume_campaign))
        .routes(routes!(end_campaign))
        .routes(routes!(campaign_calendar))
        .routes(routes!(campaign_runs))
}

/// A date range.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// Start (RFC 3339), inclusive.
    from: DateTime<Utc>,
    /// End (RFC 3339), exclusive.
    to: DateTime<Utc>,
}

/// Create an active campaign.
#[utoipa::path(
    post, path = "/v1/campaigns", tag = TAG,
    request_body = NewCampaign,
    responses(
        (status = 201, description = "Created, active", body = Campaign),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such template or segment in this business", body = ErrorBody),
        (status = 409, description = "The template has no approved version", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Invalid fields, each named (schedule included)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn create_campaign(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<NewCampaign>,
) -> Result<impl IntoResponse, ApiError> {
    let c = state.crm.campaigns().create(business, input).await?;
    Ok((StatusCode::CREATED, axum::Json(c)))
}

/// List campaigns, oldest first.
#[utoipa::path(
    get, path = "/v1/campaigns", tag = TAG,
    params(PageQuery),
    responses(
        (status = 200, description = "One page", body = Page<Campaign>),
        (status = 400, description = "Malformed query string", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 422, description = "Invalid limit or cursor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_campaigns(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<axum::Json<Page<Campaign>>, ApiError> {
    Ok(axum::Json(state.crm.campaigns().list(business, q.limit, q.cursor.as_deref()).await?))
}

/// Get a campaign.
#[utoipa::path(
    get, path = "/v1/campaigns/{id}", tag = TAG,
    params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign", body = Campaign),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such campaign in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn get_campaign(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<CampaignId>,
) -> Result<axum::Json<Campaign>, ApiError> {
    Ok(axum::Json(state.crm.campaigns().get(business, id).await?))
}

macro_rules! action {
    ($fn:ident, $path:literal, $what:literal, $method:ident) => {
        #[doc = $what]
        #[utoipa::path(
            post, path = $path, tag = TAG,
            params(("id" = String, Path, description = "Campaign id")),
            responses(
                (status = 200, description = "The campaign after it", body = Campaign),
                (status = 400, description = "Malformed id", body = ErrorBody),
                (status = 401, description = "Missing or invalid API key", body = ErrorBody),
                (status = 404, description = "No such campaign in this business", body = ErrorBody),
                (status = 409, description = "Not possible in its current status", body = ErrorBody),
            ),
            security(("api_key" = []))
        )]
        async fn $fn(
            State(state): State<AppState>,
            Tenant(business): Tenant,
            ApiPath(id): ApiPath<CampaignId>,
        ) -> Result<axum::Json<Campaign>, ApiError> {
            Ok(axum::Json(state.crm.campaigns().$method(business, id).await?))
        }
    };
}

action!(pause_campaign, "/v1/campaigns/{id}/pause", "Skip runs until resumed.", pause);
action!(
    resume_campaign,
    "/v1/campaigns/{id}/resume",
    "Run again from the next occurrence after now.",
    resume
);
action!(end_campaign, "/v1/campaigns/{id}/end", "Run no more; started runs go on.", end);

/// Runs started in a date range, and the ones the schedule will start in it.
#[utoipa::path(
    get, path = "/v1/campaigns/{id}/calendar", tag = TAG,
    params(("id" = String, Path, description = "Campaign id"), RangeQuery),
    responses(
        (status = 200, description = "The calendar", body = CampaignCalendar),
        (status = 400, description = "Malformed id or dates", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such campaign in this business", body = ErrorBody),
        (status = 422, description = "`to` is not after `from`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn campaign_calendar(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<CampaignId>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<axum::Json<CampaignCalendar>, ApiError> {
    Ok(axum::Json(state.crm.campaigns().calendar(business, id, q.from, q.to).await?))
}

/// The latest runs side by side: counts and rates per run.
#[utoipa::path(
    get, path = "/v1/campaigns/{id}/runs", tag = TAG,
    params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "Runs, oldest first", body = Vec<RunSummary>),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such campaign in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn campaign_runs(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<CampaignId>,
) -> Result<axum::Json<Vec<RunSummary>>, ApiError> {
    Ok(axum::Json(state.crm.campaigns().compare(business, id).await?))
}
