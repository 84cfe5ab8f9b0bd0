//! `/v1/carts`: customers' carts as they build them in chat.

use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_crm_core::ports::Page;
use whatsapp_crm_core::service::{CartListParams, CartView};
use whatsapp_crm_core::{CartId, CartStatus, CustomerId};

use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};

const TAG: &str = "orders";

/// Cart routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_carts)).routes(routes!(get_cart))
}

/// Query of `GET /v1/carts`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this customer's carts.
    #[param(value_type = Option<String>, format = Uuid)]
    customer_id: Option<CustomerId>,
    /// Only carts in this status.
    status: Option<CartStatus>,
    /// Only abandoned carts (`true`: open, with lines, untouched for the
    /// business's abandon time) or only others.
    abandoned: Option<bool>,
    /// Page size, 1–200 (default 50).
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

/// List carts, oldest first.
#[utoipa::path(
    get, path = "/v1/carts", tag = TAG,
    params(ListQuery),
    responses(
        (status = 200, description = "One page", body = Page<CartView>),
        (status = 422, description = "Invalid limit or cursor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_carts(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<axum::Json<Page<CartView>>, ApiError> {
    let params = CartListParams {
        customer: q.customer_id,
        status: q.status,
        abandoned: q.abandoned,
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(axum::Json(state.crm.carts().list(business, params).await?))
}

/// Get one cart.
#[utoipa::path(
    get, path = "/v1/carts/{id}", tag = TAG,
    params(("id" = String, Path, description = "Cart id")),
    responses(
        (status = 200, description = "The cart", body = CartView),
        (status = 404, description = "No such cart in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn get_cart(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<CartId>,
) -> Result<axum::Json<CartView>, ApiError> {
    Ok(axum::Json(state.crm.carts().get(business, id).await?))
}
