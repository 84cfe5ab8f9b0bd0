//! `/v1/commerce`: a business's commerce settings and its delivery partner
//! webhook.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_crm_core::{CommerceSettings, CommerceSettingsInput};

use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;

const TAG: &str = "orders";

/// Settings routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(rotate_delivery_secret))
}

/// The commerce settings, with the delivery webhook's token (its URL is
/// `/webhooks/delivery/{token}`) and signing secret.
#[utoipa::path(
    get, path = "/v1/commerce", tag = TAG,
    responses((status = 200, description = "The settings", body = CommerceSettings)),
    security(("api_key" = []))
)]
async fn get_settings(
    State(state): State<AppState>,
    Tenant(business): Tenant,
) -> Result<axum::Json<CommerceSettings>, ApiError> {
    Ok(axum::Json(state.crm.commerce().get(business).await?))
}

/// Replace the commerce settings. Turning commerce on the first time makes
/// the delivery webhook's token and secret.
#[utoipa::path(
    put, path = "/v1/commerce", tag = TAG,
    request_body = CommerceSettingsInput,
    responses(
        (status = 200, description = "The settings", body = CommerceSettings),
        (status = 422, description = "Invalid fields, each named", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn put_settings(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<CommerceSettingsInput>,
) -> Result<axum::Json<CommerceSettings>, ApiError> {
    Ok(axum::Json(state.crm.commerce().set(business, input).await?))
}

/// A new signing secret for the delivery webhook; the old one stops
/// working at once.
#[utoipa::path(
    post, path = "/v1/commerce/delivery-secret", tag = TAG,
    responses((status = 200, description = "The settings with the new secret", body = CommerceSettings)),
    security(("api_key" = []))
)]
async fn rotate_delivery_secret(
    State(state): State<AppState>,
    Tenant(business): Tenant,
) -> Result<axum::Json<CommerceSettings>, ApiError> {
    Ok(axum::Json(state.crm.commerce().rotate_delivery_secret(business).await?))
}
