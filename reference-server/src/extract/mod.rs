//! Extractors that answer every bad request with the error envelope.
//!
//! JSON bodies must be objects. serde would read a struct from a JSON array
//! (field by field, in order), so `[]` could otherwise pass as an all-defaults
//! value and overwrite settings; the type of the body is checked before it is
//! read.

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

mod strict;

pub use strict::Strict;

/// A JSON object body: bad syntax → 400 `malformed_json`, another JSON type
/// or wrong fields → 422 `validation_failed`, a missing or non-JSON
/// `Content-Type` → 415, too large → 413.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json_content_type(req.headers())?;
        let body = read_body(req, state).await?;
        parse_object(&body).map(Self)
    }
}

/// A JSON object body that may be left out: an empty body, or `null`, is
/// `None` (the document types it as an optional, nullable object); any other
/// body is held to the rules of [`ApiJson`].
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // Judged now, raised only for a body: no body needs no content type.
        let content_type = require_json_content_type(req.headers());
        let body = read_body(req, state).await?;
        if body.is_empty() {
            return Ok(Self(None));
        }
        content_type?;
        match parse_json(&body)? {
            Value::Null => Ok(Self(None)),
            value => object_into(&value).map(Some).map(Self),
        }
    }
}

/// A CSV file body: a `Content-Type` other than `text/csv` → 415, too large
/// → 413, not UTF-8 → 400.
#[derive(Debug, Clone, Default)]
pub struct CsvBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for CsvBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let csv = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/csv"));
        if !csv {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the file as Content-Type: text/csv",
            ));
        }
        let body = read_body(req, state).await?;
        if std::str::from_utf8(&body).is_err() {
            return Err(ApiError::invalid_request("the file is not UTF-8 text"));
        }
        Ok(Self(body))
    }
}

/// The raw body, with a body over the limit answered 413 in the envelope.
pub async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body is larger than the server accepts",
            )
        } else {
            ApiError::invalid_request(r.body_text())
        }
    })
}

/// `application/json`, or any `application/*+json`, with optional parameters.
fn require_json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let json = essence.as_deref().is_some_and(|t| {
        t == "application/json"
            || t.strip_prefix("application/").is_some_and(|sub| sub.ends_with("+json"))
    });
    if json {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ))
    }
}

/// Reads a JSON object into `T`, telling bad syntax (400) from a body of
/// another JSON type or with the wrong fields (422).
pub fn parse_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    object_into(&parse_json(body)?)
}

fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(malformed)
}

fn object_into<T: DeserializeOwned>(value: &Value) -> Result<T, ApiError> {
    let kind = match value {
        Value::Object(_) => None,
        Value::Array(_) => Some("an array"),
        Value::String(_) => Some("a string"),
        Value::Bool(_) => Some("a boolean"),
        Value::Null => Some("null"),
        Value::Number(_) => Some("a number"),
    };
    if let Some(kind) = kind {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("request body must be a JSON object, not {kind}"),
        ));
    }
    T::deserialize(Strict(value)).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("request body does not fit this endpoint: {e}"),
        )
    })
}

fn malformed(e: serde_json::Error) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "malformed_json",
        format!("request body is not valid JSON: {e}"),
    )
}

/// `Path<T>` answering a malformed id with 400 and the envelope.
#[derive(Debug, Clone, Copy)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|r: PathRejection| ApiError::invalid_request(r.body_text()))
    }
}

/// `Query<T>` answering a malformed query string with 400 and the envelope.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|r: QueryRejection| ApiError::invalid_request(r.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize)]
    #[allow(dead_code)]
    struct AllDefaults {
        #[serde(default)]
        a: Option<u32>,
        #[serde(default)]
        b: Vec<String>,
    }

    fn status(body: &str) -> (u16, &'static str) {
        match parse_object::<AllDefaults>(body.as_bytes()) {
            Ok(_) => (200, "ok"),
            Err(e) => (e.status().as_u16(), e.code()),
        }
    }

    #[test]
    fn only_objects_are_read() {
        assert_eq!(status(r#"{"a": 1}"#), (200, "ok"));
        assert_eq!(status(" \n{}"), (200, "ok"));
        for other in ["[]", "[1, []]", "\"x\"", "1", "-2.5", "null", "true", "false"] {
            assert_eq!(status(other), (422, "validation_failed"), "{other}");
        }
        for broken in ["", "   ", "[1,", "{", "nul", "{\"a\": }", "{} {}"] {
            assert_eq!(status(broken), (400, "malformed_json"), "{broken}");
        }
        assert_eq!(status(r#"{"a": "x"}"#), (422, "validation_failed"));
    }

    #[test]
    fn json_content_types_are_recognised() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, v.parse().unwrap());
            require_json_content_type(&h).is_ok()
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/jsonx"));
        assert!(!with("text/json+json"));
        assert!(require_json_content_type(&HeaderMap::new()).is_err());
    }
}
