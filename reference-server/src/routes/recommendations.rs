//! `GET /v1/customers/{id}/recommendations` and
//! `GET /v1/products/{id}/related`: picks from the business's model, each
//! with its reason; inactive and out-of-stock products never appear.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_crm_core::ports::RecommenderInfo;
use whatsapp_crm_core::service::{RECOMMEND_K_MAX, Recommendation};
use whatsapp_crm_core::{BusinessId, CustomerId, ProductId, ServiceError, ValidationError};

use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};

/// Recommendation routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(for_customer)).routes(routes!(related))
}

/// How many picks.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PicksQuery {
    /// 1–20 (default 5).
    #[param(minimum = 1, maximum = 20)]
    k: Option<u32>,
}

/// Picks and the model they came from.
#[derive(Debug, Serialize, ToSchema)]
pub struct Picks {
    /// Best first.
    items: Vec<Recommendation>,
    /// The model (`null` until the business has paid orders and the worker
    /// built one; then there are no picks).
    model: Option<RecommenderInfo>,
}

fn k_of(q: &PicksQuery) -> Result<usize, ApiError> {
    match q.k.unwrap_or(5) {
        k @ 1..=20 => Ok(k as usize),
        _ => Err(ServiceError::from(ValidationError::field(
            "k",
            format!("must be 1 to {RECOMMEND_K_MAX}"),
        ))
        .into()),
    }
}

async fn picks(
    state: &AppState,
    business: BusinessId,
    items: Vec<Recommendation>,
) -> Result<axum::Json<Picks>, ApiError> {
    let model = state.crm.recommendations().info(business).await?;
    Ok(axum::Json(Picks { items, model }))
}

/// Products to suggest to a customer: what they named lately, what goes
/// with that and with what they bought, then trending and popular ones.
#[utoipa::path(
    get, path = "/v1/customers/{id}/recommendations", tag = "products",
    params(("id" = String, Path, description = "Customer id"), PicksQuery),
    responses(
        (status = 200, description = "Picks, best first", body = Picks),
        (status = 404, description = "No such customer in this business", body = ErrorBody),
        (status = 422, description = "`k` out of range", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn for_customer(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<CustomerId>,
    ApiQuery(q): ApiQuery<PicksQuery>,
) -> Result<axum::Json<Picks>, ApiError> {
    let k = k_of(&q)?;
    let items = state.crm.recommendations().for_customer(business, id, k).await?;
    picks(&state, business, items).await
}

/// Products bought together with this one, then trending and popular ones.
#[utoipa::path(
    get, path = "/v1/products/{id}/related", tag = "products",
    params(("id" = String, Path, description = "Product id"), PicksQuery),
    responses(
        (status = 200, description = "Picks, best first", body = Picks),
        (status = 404, description = "No such product in this business", body = ErrorBody),
        (status = 422, description = "`k` out of range", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn related(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<ProductId>,
    ApiQuery(q): ApiQuery<PicksQuery>,
) -> Result<axum::Json<Picks>, ApiError> {
    let k = k_of(&q)?;
    let items = state.crm.recommendations().related(business, id, k).await?;
    picks(&state, business, items).await
}
