//! `/v1/templates`: create, read, list, edit (new version), archive, submit for
//! WhatsApp approval, sync the review status, preview, version history.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_crm_core::ports::Page;
use whatsapp_crm_core::service::{NewTemplate, PreviewRequest, TemplateEdit, TemplateListParams};
use whatsapp_crm_core::template::Preview;
use whatsapp_crm_core::{
    MessageTemplate, TemplateCategory, TemplateId, TemplateStatus, TemplateVersion,
};

use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

const TAG: &str = "templates";

/// Template routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_template, list_templates))
        .routes(routes!(get_template, update_template, archive_template))
        .routes(routes!(submit_template))
        .routes(routes!(sync_template))
        .routes(routes!(preview_template))
        .routes(routes!(template_versions))
}

/// Query of `GET /v1/templates`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only templates whose latest version has this status.
    status: Option<TemplateStatus>,
    /// Only this category.
    category: Option<TemplateCategory>,
    /// Include archived templates.
    #[serde(default)]
    include_archived: bool,
    /// Page size, 1–200 (default 50).
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

/// Create a template (version 1, a draft). Every WhatsApp rule is checked and
/// every problem reported with its field, position and rule code.
#[utoipa::path(
    post, path = "/v1/templates", tag = TAG,
    request_body = NewTemplate,
    responses(
        (status = 201, description = "Created as a draft", body = MessageTemplate),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 409, description = "A template with this name and language exists", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Rules broken (or server-managed fields such as status sent)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn create_template(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<NewTemplate>,
) -> Result<impl IntoResponse, ApiError> {
    let t = state.crm.templates().create(business, input).await?;
    Ok((StatusCode::CREATED, axum::Json(t)))
}

/// List templates, filtered by status and category.
#[utoipa::path(
    get, path = "/v1/templates", tag = TAG,
    params(ListQuery),
    responses(
        (status = 200, description = "One page", body = Page<MessageTemplate>),
        (status = 400, description = "Malformed query (unknown status or category)", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 422, description = "Invalid limit or cursor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_templates(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<axum::Json<Page<MessageTemplate>>, ApiError> {
    let params = TemplateListParams {
        status: q.status,
        category: q.category,
        include_archived: q.include_archived,
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(axum::Json(state.crm.templates().list(business, params).await?))
}

/// Get a template: its latest version, status and the approved version.
#[utoipa::path(
    get, path = "/v1/templates/{id}", tag = TAG,
    params(("id" = TemplateId, Path, description = "Template id")),
    responses(
        (status = 200, description = "The template", body = MessageTemplate),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such template in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn get_template(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<TemplateId>,
) -> Result<axum::Json<MessageTemplate>, ApiError> {
    Ok(axum::Json(state.crm.templates().get(business, id).await?))
}

/// Edit a template: the content becomes a new version. A template that was
/// submitted before goes back to review at once; its approved version stays
/// the one that is sent.
#[utoipa::path(
    put, path = "/v1/templates/{id}", tag = TAG,
    params(("id" = TemplateId, Path, description = "Template id")),
    request_body = TemplateEdit,
    responses(
        (status = 200, description = "The template with its new version", body = MessageTemplate),
        (status = 400, description = "Malformed id or JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such template in this business", body = ErrorBody),
        (status = 409, description = "Edited by someone else since expected_version, archived, or no provider is configured (`provider_not_configured`)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Rules broken", body = ErrorBody),
        (status = 502, description = "The provider refused the new version", body = ErrorBody),
        (status = 503, description = "The provider is unavailable; retry later", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn update_template(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<TemplateId>,
    ApiJson(edit): ApiJson<TemplateEdit>,
) -> Result<axum::Json<MessageTemplate>, ApiError> {
    Ok(axum::Json(state.crm.templates().update(business, id, edit).await?))
}

/// Archive (delete) a template: it is never sent again.
#[utoipa::path(
    delete, path = "/v1/templates/{id}", tag = TAG,
    params(("id" = TemplateId, Path, description = "Template id")),
    responses(
        (status = 204, description = "Archived"),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such template in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn archive_template(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<TemplateId>,
) -> Result<StatusCode, ApiError> {
    state.crm.templates().archive(business, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Submit the latest version for WhatsApp approval.
#[utoipa::path(
    post, path = "/v1/templates/{id}/submit", tag = TAG,
    params(("id" = TemplateId, Path, description = "Template id")),
    responses(
        (status = 200, description = "Submitted; usually pending", body = MessageTemplate),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such template in this business", body = ErrorBody),
        (status = 409, description = "Already submitted or archived, or no provider is configured (`provider_not_configured`)", body = ErrorBody),
        (status = 502, description = "The provider refused it", body = ErrorBody),
        (status = 503, description = "The provider is unavailable; retry later", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn submit_template(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<TemplateId>,
) -> Result<axum::Json<MessageTemplate>, ApiError> {
    Ok(axum::Json(state.crm.templates().submit(business, id).await?))
}

/// Read the review status from the provider and record it.
#[utoipa::path(
    post, path = "/v1/templates/{id}/sync", tag = TAG,
    params(("id" = TemplateId, Path, description = "Template id")),
    responses(
        (status = 200, description = "The template with its current status", body = MessageTemplate),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such template in this business", body = ErrorBody),
        (status = 409, description = "Never submitted, or no provider is configured (`provider_not_configured`)", body = ErrorBody),
        (status = 502, description = "The provider refused the request", body = ErrorBody),
        (status = 503, description = "The provider is unavailable; retry later", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn sync_template(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<TemplateId>,
) -> Result<axum::Json<MessageTemplate>, ApiError> {
    Ok(axum::Json(state.crm.templates().sync(business, id).await?))
}

/// Render a version with its sample values, or for a customer (showing which
/// fallbacks were used). Send `{}` for the latest version with its samples.
#[utoipa::path(
    post, path = "/v1/templates/{id}/preview", tag = TAG,
    params(("id" = TemplateId, Path, description = "Template id")),
    request_body = PreviewRequest,
    responses(
        (status = 200, description = "What the customer will see", body = Preview),
        (status = 400, description = "Malformed id or JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such template, version or customer in this business", body = ErrorBody),
        (status = 422, description = "A variable has no value and no fallback", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn preview_template(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<TemplateId>,
    ApiJson(req): ApiJson<PreviewRequest>,
) -> Result<axum::Json<Preview>, ApiError> {
    Ok(axum::Json(state.crm.templates().preview(business, id, req).await?))
}

/// Every version of a template, oldest first.
#[utoipa::path(
    get, path = "/v1/templates/{id}/versions", tag = TAG,
    params(("id" = TemplateId, Path, description = "Template id")),
    responses(
        (status = 200, description = "The history", body = Vec<TemplateVersion>),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such template in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn template_versions(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<TemplateId>,
) -> Result<axum::Json<Vec<TemplateVersion>>, ApiError> {
    Ok(axum::Json(state.crm.templates().versions(business, id).await?))
}
