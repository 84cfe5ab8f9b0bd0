//! The JSON error envelope every failure is answered with.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use whatsapp_crm_core::ports::PaymentProviderError;
use whatsapp_crm_core::{FieldError, ServiceError, StorageError};

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: `unauthorized`, `not_found`, `malformed_json`,
    /// `invalid_request`, `validation_failed`, `conflict`, `invalid_state`,
    /// `payload_too_large`, `unsupported_media_type`, `method_not_allowed`,
    /// `provider_not_configured`, `provider_unavailable`, `provider_error`,
    /// `send_refused`, `forbidden`, `payment_refused`, `gone`,
    /// `unavailable`, `internal`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// Per-field problems, for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldError>,
}

/// An error response: status, code, message and optional field details.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: ErrorDetail,
}

impl ApiError {
    /// An error with no field details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, detail: ErrorDetail { code, message: message.into(), details: Vec::new() } }
    }

    /// 401: missing, malformed, unknown or revoked API key.
    pub fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: the key is valid but may not do this (an agent's key on a
    /// business operation, or on another agent).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 400: a request that cannot be understood (bad id, bad query string).
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 404 for a path nothing is routed to.
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
    }

    /// 405 for a known path with another method.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed on this endpoint",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable error code.
    pub fn code(&self) -> &'static str {
        self.detail.code
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, axum::Json(ErrorBody { error: self.detail })).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(v) => Self {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                detail: ErrorDetail {
                    code: "validation_failed",
                    message: v.to_string(),
                    details: v.errors,
                },
            },
            ServiceError::NotFound { entity } => {
                Self::new(StatusCode::NOT_FOUND, "not_found", format!("{entity} not found"))
            }
            e @ ServiceError::Conflict { .. } => {
                Self::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            ServiceError::InvalidState { message } => {
                Self::new(StatusCode::CONFLICT, "invalid_state", message)
            }
            ServiceError::Forbidden { message } => Self::forbidden(message),
            // The server's setup, not an outage: retrying cannot help, so a 4xx.
            ServiceError::ProviderNotConfigured => Self::new(
                StatusCode::CONFLICT,
                "provider_not_configured",
                "no WhatsApp provider is configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
            ),
            ServiceError::Provider(e) if e.is_retryable() => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "provider_unavailable", e.to_string())
            }
            ServiceError::Provider(e) => {
                Self::new(StatusCode::BAD_GATEWAY, "provider_error", e.to_string())
            }
            ServiceError::Refused(r) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "send_refused",
                format!("{}: {r}", r.code()),
            ),
            ServiceError::Import(e) => Self {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                detail: ErrorDetail {
                    code: "validation_failed",
                    message: format!("{} bad cells; nothing was imported", e.problems.len()),
                    details: e
                        .problems
                        .into_iter()
                        .map(|p| FieldError {
                            field: format!("line {} column {}", p.line, p.column),
                            message: p.message,
                            code: Some("bad_cell".into()),
                            position: None,
                        })
                        .collect(),
                },
            },
            ServiceError::PaymentsNotConfigured { what } => Self::new(
                StatusCode::CONFLICT,
                "provider_not_configured",
                format!("payments need {what}, which this server has not configured"),
            ),
            e @ ServiceError::NotConfigured { .. } => {
                Self::new(StatusCode::CONFLICT, "provider_not_configured", e.to_string())
            }
            ServiceError::Payment(e) => match e {
                PaymentProviderError::Rejected { .. } => {
                    Self::new(StatusCode::UNPROCESSABLE_ENTITY, "payment_refused", e.to_string())
                }
                PaymentProviderError::Unavailable { .. } => Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "provider_unavailable",
                    e.to_string(),
                ),
                other => Self::new(StatusCode::BAD_GATEWAY, "provider_error", other.to_string()),
            },
            ServiceError::Gone { message } => Self::new(StatusCode::GONE, "gone", message),
            ServiceError::Storage(e) => e.into(),
            other => {
                tracing::error!(error = %other, "unexpected service error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
            }
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        tracing::error!(error = %e, "storage failure");
        if e.is_retryable() {
            Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "storage is unavailable, retry later",
            )
        } else {
            Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
        }
    }
}
