//! Webhooks. Twilio's (inbound messages and delivery reports) are checked
//! against `X-Twilio-Signature` over the configured public URL before
//! anything is read from them; a request that fails is answered 403 and
//! nothing is stored. The business is the one that owns the WhatsApp number.
//!
//! Delivery partners post shipment reports to `/webhooks/delivery/{token}`,
//! signed with the business's secret (`X-Signature-Timestamp`,
//! `X-Signature`; see `whatsapp_crm_core::commerce::signature`). A wrong
//! token, a wrong or stale signature gets 401 and nothing is stored.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, OriginalUri, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use whatsapp_crm_core::{Business, PhoneNumber};
use whatsapp_crm_twilio::{RequestValidator, WebhookParams, parse_inbound, parse_status};

use crate::app::AppState;
use crate::error::ApiError;

/// Path of the inbound-message webhook.
pub const INBOUND_PATH: &str = "/webhooks/twilio/inbound";
/// Path of the status-callback webhook.
pub const STATUS_PATH: &str = "/webhooks/twilio/status";
/// Path of the delivery partner webhook.
pub const DELIVERY_PATH: &str = "/webhooks/delivery/{token}";
/// Path of an M-Pesa attempt's own callback URL.
pub const MPESA_PATH: &str = "/webhooks/mpesa/{token}";
/// Path of Paystack's webhook.
pub const PAYSTACK_PATH: &str = "/webhooks/paystack";

/// What checking webhooks needs: the account's auth token and the URL the
/// world reaches this server at.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    validator: RequestValidator,
    public_url: String,
}

impl WebhookConfig {
    /// Webhooks signed with `auth_token`, called at `public_url` (scheme,
    /// host, optional port; the webhook path is appended).
    pub fn new(auth_token: impl Into<String>, public_url: &str) -> Self {
        Self {
            validator: RequestValidator::new(auth_token),
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The status-callback URL to give Twilio with each message.
    pub fn status_callback_url(&self) -> String {
        format!("{}{STATUS_PATH}", self.public_url)
    }

    /// The inbound-message URL to set on the WhatsApp sender.
    pub fn inbound_url(&self) -> String {
        format!("{}{INBOUND_PATH}", self.public_url)
    }
}

/// Webhook routes (outside the OpenAPI document: Twilio calls them, not
/// API clients).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(INBOUND_PATH, post(inbound))
        .route(STATUS_PATH, post(status))
        .route(DELIVERY_PATH, post(delivery))
        .route(MPESA_PATH, post(mpesa))
        .route(PAYSTACK_PATH, post(paystack))
}

/// The caller's address: the first `X-Forwarded-For` hop when a proxy sets
/// it, else the connection's peer.
fn remote(headers: &HeaderMap, req_peer: Option<std::net::SocketAddr>) -> Option<std::net::IpAddr> {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|ip| ip.trim().parse().ok())
        .or(req_peer.map(|p| p.ip()))
}

/// An M-Pesa callback. Daraja signs nothing and retries on anything but a
/// quick acceptance, so it is accepted at once and handled after: stored
/// raw, then applied only when an STK query agrees.
async fn mpesa(
    State(state): State<AppState>,
    Path(token): Path<String>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ip = remote(&headers, peer.map(|c| c.0.0));
    let payments = state.crm.payments();
    tokio::spawn(async move {
        match payments.mpesa_callback(&token, ip, &body).await {
            Ok(r) => tracing::info!(result = ?std::mem::discriminant(&r), "M-Pesa callback"),
            Err(e) => {
                tracing::warn!(error = %e, "M-Pesa callback not handled; reconciliation will ask Daraja")
            }
        }
    });
    axum::Json(serde_json::json!({"ResultCode": 0, "ResultDesc": "Accepted"})).into_response()
}

/// Paystack's webhook: refused with 401 unless `x-paystack-signature`
/// signs the raw body; otherwise stored once and applied when `verify`
/// agrees.
async fn paystack(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    use whatsapp_crm_core::service::WebhookRefused;
    let signature = headers.get("x-paystack-signature").and_then(|v| v.to_str().ok());
    match state.crm.payments().provider_webhook("paystack", signature, &body).await {
        Ok(r) => {
            tracing::info!(result = ?std::mem::discriminant(&r), "Paystack webhook");
            Ok(StatusCode::OK.into_response())
        }
        Err(WebhookRefused::Signature) => {
            Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "invalid signature"))
        }
        Err(WebhookRefused::Malformed(m)) => {
            Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", m))
        }
        Err(WebhookRefused::Service(e)) => Err(e.into()),
        Err(other) => {
            Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", other.to_string()))
        }
    }
}

/// A delivery partner's signed shipment report.
async fn delivery(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    use whatsapp_crm_core::service::{DELIVERY_BODY_MAX_BYTES, DeliveryWebhookError as E};
    if body.len() > DELIVERY_BODY_MAX_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body is larger than the server accepts",
        ));
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let (timestamp, signature) = (header("x-signature-timestamp"), header("x-signature"));
    let unauthorized = |m: String| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m);
    match state.crm.shipments().partner_report(&token, timestamp, signature, &body).await {
        Ok(receipt) => {
            tracing::info!(shipment = %receipt.shipment.id, duplicate = receipt.duplicate, moved = receipt.moved, "delivery report");
            Ok(axum::Json(receipt).into_response())
        }
        Err(E::UnknownToken) => {
            Err(unauthorized("invalid delivery webhook token or signature".into()))
        }
        Err(E::Signature(e)) => Err(unauthorized(e.to_string())),
        Err(E::Body(m)) => {
            Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", m))
        }
        Err(E::UnknownShipment) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no shipment has this tracking number",
        )),
        Err(E::Service(e)) => Err(e.into()),
        Err(other) => {
            Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", other.to_string()))
        }
    }
}

fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

/// A webhook whose signature checked out: its form and URL query. Nothing
/// else is read from a request before this.
pub struct SignedWebhook {
    params: WebhookParams,
    query: Option<String>,
}

impl FromRequest<AppState> for SignedWebhook {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let config = state.webhooks.clone().ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "provider_not_configured",
                "webhooks need TWILIO_AUTH_TOKEN and WCRM_PUBLIC_URL",
            )
        })?;
        let uri = req
            .extensions()
            .get::<OriginalUri>()
            .map_or_else(|| req.uri().clone(), |u| u.0.clone());
        let signature = req
            .headers()
            .get("x-twilio-signature")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| forbidden("missing X-Twilio-Signature"))?;
        let body = Bytes::from_request(req, state).await.map_err(|r| {
            ApiError::new(
                r.status(),
                "payload_too_large",
                "request body is larger than the server accepts",
            )
        })?;
        let params =
            WebhookParams::parse_form(&body).map_err(|_| forbidden("invalid signature"))?;
        let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        let url = format!("{}{path}", config.public_url);
        if !config.validator.validate(&url, params.pairs(), &signature) {
            return Err(forbidden("invalid signature"));
        }
        Ok(Self { params, query: uri.query().map(str::to_owned) })
    }
}

async fn business_of(state: &AppState, number: &PhoneNumber) -> Result<Business, ApiError> {
    state.crm.storage().find_business_by_sender(number).await?.ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no business sends from this number")
    })
}

fn bad_webhook(e: whatsapp_crm_twilio::WebhookError) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", e.to_string())
}

/// An empty TwiML answer: received, no reply from here (replies go through
/// the outbox).
fn twiml_ok() -> Response {
    ([(header::CONTENT_TYPE, "text/xml")], "<Response/>").into_response()
}

async fn inbound(
    State(state): State<AppState>,
    webhook: SignedWebhook,
) -> Result<Response, ApiError> {
    let message = parse_inbound(&webhook.params, Utc::now()).map_err(bad_webhook)?;
    let business = business_of(&state, &message.to).await?;
    let received = state.crm.inbox().receive(business.id, message).await?;
    tracing::info!(
        business = %business.id,
        message = %received.message.id,
        duplicate = received.duplicate,
        "inbound message"
    );
    Ok(twiml_ok())
}

async fn status(
    State(state): State<AppState>,
    webhook: SignedWebhook,
) -> Result<Response, ApiError> {
    let SignedWebhook { params, query } = webhook;
    let report = parse_status(&params, query.as_deref(), Utc::now()).map_err(bad_webhook)?;
    // A status callback comes from our number.
    let from = params
        .get("From")
        .map(PhoneNumber::parse)
        .transpose()
        .map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("From: {e}"),
            )
        })?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "webhook is missing From",
            )
        })?;
    let business = business_of(&state, &from).await?;
    state.crm.inbox().apply_status(business.id, report).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
