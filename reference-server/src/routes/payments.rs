//! `/v1/payments` and the payment actions on orders: payment links, starting
//! a payment, listing attempts with the provider events behind them, and
//! asking the provider again.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_crm_core::ports::Page;
use whatsapp_crm_core::service::{PayWith, PaymentDetail, PaymentListParams, SentLink};
use whatsapp_crm_core::{OrderId, PaymentAttempt, PaymentId, PaymentStatus};

use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

const TAG: &str = "payments";

/// Payment routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_payment_link))
        .routes(routes!(start_payment))
        .routes(routes!(list_payments))
        .routes(routes!(get_payment))
        .routes(routes!(refresh_payment))
}

/// How the customer pays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum StartPayment {
    /// An M-Pesa PIN prompt.
    Mpesa {
        /// The number to prompt (`+2547…`, `07…` is read as Kenyan).
        #[schema(max_length = 32)]
        phone: String,
    },
    /// A card checkout page.
    Card {
        /// The payer's email (else the customer's `email` attribute).
        #[serde(default)]
        #[schema(max_length = 254)]
        email: Option<String>,
    },
}

/// Query of `GET /v1/payments`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this order's attempts.
    #[param(value_type = Option<String>, format = Uuid)]
    order_id: Option<OrderId>,
    /// Only attempts in this status.
    status: Option<PaymentStatus>,
    /// Page size, 1–200 (default 50).
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

/// Make the order's payment link (`/pay/{token}`) and send it to the
/// customer: a button inside the 24-hour window, the business's
/// `payment_link` template outside it. When neither can go the link is
/// still made, with `not_sent` saying why, and gets no reminders.
#[utoipa::path(
    post, path = "/v1/orders/{id}/payment-links", tag = TAG,
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 201, description = "The link, and the message carrying it", body = SentLink),
        (status = 404, description = "No such order in this business", body = ErrorBody),
        (status = 409, description = "The order is not awaiting payment, commerce is off, or the server has no public URL", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn send_payment_link(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<OrderId>,
) -> Result<impl IntoResponse, ApiError> {
    let link = state.crm.payments().send_link(business, id).await?;
    Ok((StatusCode::CREATED, axum::Json(link)))
}

/// Start paying the order for what it still owes: an M-Pesa prompt to a
/// phone, or a card checkout page (its URL is in `checkout_url`).
#[utoipa::path(
    post, path = "/v1/orders/{id}/payments", tag = TAG,
    params(("id" = String, Path, description = "Order id")),
    request_body = StartPayment,
    responses(
        (status = 201, description = "The attempt, prompted", body = PaymentAttempt),
        (status = 404, description = "No such order in this business", body = ErrorBody),
        (status = 409, description = "The order is not awaiting payment, or the provider is not configured", body = ErrorBody),
        (status = 422, description = "Invalid phone or email, or the provider refused (`payment_refused`)", body = ErrorBody),
        (status = 502, description = "The provider failed", body = ErrorBody),
        (status = 503, description = "The provider is unavailable", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn start_payment(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<OrderId>,
    ApiJson(input): ApiJson<StartPayment>,
) -> Result<impl IntoResponse, ApiError> {
    let with = match input {
        StartPayment::Mpesa { phone } => PayWith::Mpesa { phone },
        StartPayment::Card { email } => PayWith::Card { email },
    };
    let p = state.crm.payments().start(business, id, with).await?;
    Ok((StatusCode::CREATED, axum::Json(p)))
}

/// List payment attempts, oldest first.
#[utoipa::path(
    get, path = "/v1/payments", tag = TAG,
    params(ListQuery),
    responses(
        (status = 200, description = "One page", body = Page<PaymentAttempt>),
        (status = 422, description = "Invalid limit or cursor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_payments(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<axum::Json<Page<PaymentAttempt>>, ApiError> {
    let params =
        PaymentListParams { order: q.order_id, status: q.status, limit: q.limit, cursor: q.cursor };
    Ok(axum::Json(state.crm.payments().list(business, params).await?))
}

/// One attempt, with every provider event behind it as received.
#[utoipa::path(
    get, path = "/v1/payments/{id}", tag = TAG,
    params(("id" = String, Path, description = "Payment id")),
    responses(
        (status = 200, description = "The attempt and its events", body = PaymentDetail),
        (status = 404, description = "No such payment in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn get_payment(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<PaymentId>,
) -> Result<axum::Json<PaymentDetail>, ApiError> {
    Ok(axum::Json(state.crm.payments().get(business, id).await?))
}

/// Ask the provider about an open attempt now; a final one is returned as
/// it is.
#[utoipa::path(
    post, path = "/v1/payments/{id}/refresh", tag = TAG,
    params(("id" = String, Path, description = "Payment id")),
    responses(
        (status = 200, description = "The attempt after it", body = PaymentAttempt),
        (status = 404, description = "No such payment in this business", body = ErrorBody),
        (status = 409, description = "The attempt's provider is not configured", body = ErrorBody),
        (status = 502, description = "The provider failed", body = ErrorBody),
        (status = 503, description = "The provider is unavailable", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn refresh_payment(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<PaymentId>,
) -> Result<axum::Json<PaymentAttempt>, ApiError> {
    Ok(axum::Json(state.crm.payments().refresh(business, id).await?))
}
