//! Health, the authenticated business, the OpenAPI document and its docs page.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_crm_core::{Business, BusinessId};

use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::{ApiError, ErrorBody};

/// Health and identity routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health)).routes(routes!(current_business))
}

/// Health report.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the storage answers.
    status: &'static str,
    /// Which storage backend is configured.
    storage: &'static str,
    /// Server version.
    version: &'static str,
}

/// Liveness and storage check. Needs no API key.
#[utoipa::path(
    get, path = "/health", tag = "system",
    responses(
        (status = 200, description = "Serving", body = Health),
        (status = 503, description = "Storage is not answering", body = ErrorBody),
    )
)]
async fn health(State(state): State<AppState>) -> Result<axum::Json<Health>, ApiError> {
    // Any answer from storage proves it is reachable; a missing row is an answer.
    match state.crm.storage().get_business(BusinessId::new()).await {
        Ok(_) | Err(whatsapp_crm_core::StorageError::NotFound { .. }) => Ok(axum::Json(Health {
            status: "ok",
            storage: state.storage_kind,
            version: env!("CARGO_PKG_VERSION"),
        })),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "storage is not answering",
            ))
        }
    }
}

/// The business the API key acts for.
#[utoipa::path(
    get, path = "/v1/business", tag = "system",
    responses(
        (status = 200, description = "The business", body = Business),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn current_business(
    State(state): State<AppState>,
    Tenant(business): Tenant,
) -> Result<axum::Json<Business>, ApiError> {
    Ok(axum::Json(state.crm.businesses().get(business).await?))
}

/// The API reference page: a self-contained renderer of `/openapi.json`, so it
/// works offline and needs no download at build or run time.
pub async fn docs_page() -> impl IntoResponse {
    Html(include_str!("docs.html"))
}
