//! The application: shared state and the router.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use whatsapp_crm_core::Crm;

use crate::error::ApiError;
use crate::openapi::ApiDoc;
use crate::routes;
use crate::routes::webhooks::WebhookConfig;

/// Largest request body accepted by default (bytes).
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
/// How often a live stream checks by default that its key still stands.
pub const DEFAULT_STREAM_RECHECK: Duration = Duration::from_secs(5);

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The SDK.
    pub crm: Crm,
    /// Name of the storage backend, for `/health`.
    pub storage_kind: &'static str,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// How Twilio's webhooks are checked; `None` refuses them (503).
    pub webhooks: Option<Arc<WebhookConfig>>,
    /// How often a live stream checks its key again (at its next event).
    pub stream_recheck: Duration,
}

impl AppState {
    /// State over `crm` with default limits.
    pub fn new(crm: Crm, storage_kind: &'static str) -> Self {
        Self {
            crm,
            storage_kind,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            webhooks: None,
            stream_recheck: DEFAULT_STREAM_RECHECK,
        }
    }

    /// Accepts Twilio's webhooks, checked with `config`.
    pub fn with_webhooks(mut self, config: WebhookConfig) -> Self {
        self.webhooks = Some(Arc::new(config));
        self
    }

    /// Sets how often a live stream checks its key again; zero checks at
    /// every event.
    pub fn with_stream_recheck(mut self, every: Duration) -> Self {
        self.stream_recheck = every;
        self
    }

    /// Sets the request body limit.
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }
}

/// The API router with its OpenAPI document, before state is attached.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::system::router())
        .merge(routes::customers::router())
        .merge(routes::templates::router())
        .merge(routes::segments::router())
        .merge(routes::messaging::router())
        .merge(routes::broadcasts::router())
        .merge(routes::campaigns::router())
        .merge(routes::products::router())
        .merge(routes::carts::router())
        .merge(routes::orders::router())
        .merge(routes::discounts::router())
        .merge(routes::commerce::router())
        .merge(routes::payments::router())
        .merge(routes::assistant::router())
        .merge(routes::agents::router())
        .merge(routes::agents::queue_router())
        .merge(routes::agents::routing_router())
        .merge(routes::inbox::router())
        .merge(routes::recommendations::router())
}

/// The OpenAPI document of every endpoint.
pub fn openapi() -> utoipa::openapi::OpenApi {
    crate::openapi::complete(api().into_openapi())
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let (router, doc) = api().split_for_parts();
    let doc = Arc::new(crate::openapi::complete(doc));
    let max_body = state.max_body_bytes;
    router
        .route("/openapi.json", get(move || async move { axum::Json(doc.as_ref().clone()) }))
        .route("/docs", get(routes::system::docs_page))
        .merge(routes::webhooks::router())
        .merge(routes::pay::router())
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
