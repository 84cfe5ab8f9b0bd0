//! `/v1/discounts`: discount codes, made by the business or generated.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_crm_core::ports::Page;
use whatsapp_crm_core::{Discount, DiscountId, NewDiscount};

use super::PageQuery;
use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

const TAG: &str = "orders";

/// Discount routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_discount, list_discounts))
        .routes(routes!(get_discount))
        .routes(routes!(disable_discount))
        .routes(routes!(enable_discount))
}

/// Create a code. Without `code`, one is generated: 16 characters from 80
/// random bits, single-use unless `max_uses` says otherwise.
#[utoipa::path(
    post, path = "/v1/discounts", tag = TAG,
    request_body = NewDiscount,
    responses(
        (status = 201, description = "Created", body = Discount),
        (status = 404, description = "No such customer in this business", body = ErrorBody),
        (status = 409, description = "The code is taken", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn create_discount(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<NewDiscount>,
) -> Result<impl IntoResponse, ApiError> {
    let d = state.crm.discounts().create(business, input).await?;
    Ok((StatusCode::CREATED, axum::Json(d)))
}

/// List codes, oldest first.
#[utoipa::path(
    get, path = "/v1/discounts", tag = TAG,
    params(PageQuery),
    responses(
        (status = 200, description = "One page", body = Page<Discount>),
        (status = 422, description = "Invalid limit or cursor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_discounts(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<axum::Json<Page<Discount>>, ApiError> {
    Ok(axum::Json(state.crm.discounts().list(business, q.limit, q.cursor.as_deref()).await?))
}

/// Get one code.
#[utoipa::path(
    get, path = "/v1/discounts/{id}", tag = TAG,
    params(("id" = String, Path, description = "Discount id")),
    responses(
        (status = 200, description = "The code", body = Discount),
        (status = 404, description = "No such code in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn get_discount(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<DiscountId>,
) -> Result<axum::Json<Discount>, ApiError> {
    Ok(axum::Json(state.crm.discounts().get(business, id).await?))
}

/// Switch a code off: checkouts refuse it from now on.
#[utoipa::path(
    post, path = "/v1/discounts/{id}/disable", tag = TAG,
    params(("id" = String, Path, description = "Discount id")),
    responses(
        (status = 200, description = "The code", body = Discount),
        (status = 404, description = "No such code in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn disable_discount(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<DiscountId>,
) -> Result<axum::Json<Discount>, ApiError> {
    Ok(axum::Json(state.crm.discounts().set_disabled(business, id, true).await?))
}

/// Switch a code back on.
#[utoipa::path(
    post, path = "/v1/discounts/{id}/enable", tag = TAG,
    params(("id" = String, Path, description = "Discount id")),
    responses(
        (status = 200, description = "The code", body = Discount),
        (status = 404, description = "No such code in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn enable_discount(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<DiscountId>,
) -> Result<axum::Json<Discount>, ApiError> {
    Ok(axum::Json(state.crm.discounts().set_disabled(business, id, false).await?))
}
