//! Shared helpers: an app over a fresh store with two businesses and their keys.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use reference_server::app::{AppState, app};
use reference_server::auth::generate_api_key;
use reference_server::routes::webhooks::WebhookConfig;
use reference_server::store;
use serde_json::Value;
use tower::ServiceExt;
use whatsapp_crm_core::ports::Storage;
use whatsapp_crm_core::{BusinessId, Crm, NewBusiness, StubTemplateRegistry};

/// Body limit used by the tests, small enough to exceed cheaply.
pub const TEST_BODY_LIMIT: usize = 8 * 1024;
/// The Twilio auth token webhooks are signed with.
pub const TWILIO_TOKEN: &str = "12345-test-auth-token";
/// The URL Twilio is told to call.
pub const PUBLIC_URL: &str = "https://crm.example.com";

/// The app under test, the SDK behind it, and two tenants.
pub struct TestApp {
    /// The router.
    pub router: Router,
    /// The SDK the router serves, for checks that bypass HTTP.
    pub crm: Crm,
    /// First business.
    pub shop_a: BusinessId,
    /// Its API key.
    pub key_a: String,
    /// Second business.
    pub shop_b: BusinessId,
    /// Its API key.
    pub key_b: String,
    /// The template registry the app submits to; tests decide reviews.
    pub registry: Arc<StubTemplateRegistry>,
    /// Storage kind the server reports.
    pub kind: &'static str,
    /// Keeps the backend's files or schema alive.
    pub _guard: Option<Box<dyn std::any::Any + Send>>,
}

/// Creates a business and returns its id and a fresh API key.
pub async fn business(crm: &Crm, name: &str) -> (BusinessId, String) {
    let b = crm
        .businesses()
        .create(NewBusiness {
            name: name.into(),
            whatsapp_sender: whatsapp_crm_core::testing::unique_sender().to_string(),
            time_zone: "Africa/Nairobi".into(),
            currency: "KES".into(),
        })
        .await
        .unwrap();
    let (key, hash) = generate_api_key().unwrap();
    crm.businesses().issue_api_key(b.id, hash, "test").await.unwrap();
    (b.id, key)
}

/// Where a test's data lives.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    /// `InMemoryStorage`.
    Memory,
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh schema on the PostgreSQL server of `DATABASE_URL`.
    Postgres,
}

/// An app over `backend`, opened the way the server opens it (`store::open`);
/// `None` when PostgreSQL is unavailable and tests may skip.
pub async fn test_app(backend: Backend) -> Option<TestApp> {
    let (store, guard): (_, Box<dyn std::any::Any + Send>) = match backend {
        Backend::Memory => (store::open("memory").await.unwrap(), Box::new(())),
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("api.db");
            (store::open(path.to_str().unwrap()).await.unwrap(), Box::new(dir))
        }
        Backend::Postgres => {
            let url = whatsapp_crm_postgres::testing::database_url()?;
            // Create the scratch schema, then open it by URL as an operator would.
            let (scratch, guard) = whatsapp_crm_postgres::testing::scratch_storage(&url).await;
            scratch.close().await;
            let sep = if url.contains('?') { '&' } else { '?' };
            let url = format!("{url}{sep}options=-csearch_path%3D{}", guard.name);
            (store::open(&url).await.unwrap(), Box::new(guard))
        }
    };
    let mut app = test_app_on(store.storage, store.kind).await;
    app._guard = Some(guard);
    Some(app)
}

/// Stamps one test per backend for each listed `async fn(TestApp)`.
#[macro_export]
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod memory { $( #[tokio::test] async fn $case() { super::on(super::support::Backend::Memory, super::$case).await } )* }
        mod sqlite { $( #[tokio::test] async fn $case() { super::on(super::support::Backend::Sqlite, super::$case).await } )* }
        mod postgres { $( #[tokio::test] async fn $case() { super::on(super::support::Backend::Postgres, super::$case).await } )* }
    };
}

/// Runs `case` on `backend`, or skips when the backend is unavailable.
pub async fn on<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if let Some(app) = test_app(backend).await {
        case(app).await;
    }
}

/// An app over `storage`.
pub async fn test_app_on(storage: Arc<dyn Storage>, kind: &'static str) -> TestApp {
    let registry = Arc::new(StubTemplateRegistry::new());
    let crm = Crm::new(storage).with_template_registry(registry.clone());
    let (shop_a, key_a) = business(&crm, "Shop A").await;
    let (shop_b, key_b) = business(&crm, "Shop B").await;
    let state = AppState::new(crm.clone(), kind)
        .with_max_body_bytes(TEST_BODY_LIMIT)
        // Live streams check their key at every event, so a test sees a revocation at once.
        .with_stream_recheck(std::time::Duration::ZERO)
        .with_webhooks(WebhookConfig::new(TWILIO_TOKEN, PUBLIC_URL));
    let router = app(state);
    TestApp { router, crm, shop_a, key_a, shop_b, key_b, kind, registry, _guard: None }
}

/// A response, decoded.
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// JSON body (a string for non-JSON, null when empty).
    pub body: Value,
    /// Content-Type header.
    pub content_type: Option<String>,
    /// WWW-Authenticate header.
    pub www_authenticate: Option<String>,
}

impl TestApp {
    /// Sends a request with an optional key and JSON body.
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        key: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(k) = key {
            req = req.header(header::AUTHORIZATION, format!("Bearer {k}"));
        }
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_owned())
            }
            None => Body::empty(),
        };
        send(&self.router, req.body(body).unwrap()).await
    }

    /// Sends as business A.
    pub async fn as_a(&self, method: &str, uri: &str, body: Option<&str>) -> Reply {
        self.call(method, uri, Some(&self.key_a.clone()), body).await
    }

    /// Sends as business B.
    pub async fn as_b(&self, method: &str, uri: &str, body: Option<&str>) -> Reply {
        self.call(method, uri, Some(&self.key_b.clone()), body).await
    }

    /// Number of customers business A has, read through the SDK, not the API.
    pub async fn count_a(&self) -> usize {
        let page = self
            .crm
            .customers()
            .list(
                self.shop_a,
                whatsapp_crm_core::service::CustomerListParams {
                    limit: Some(200),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        page.items.len()
    }
}

impl TestApp {
    /// Posts a form to a webhook path as Twilio would, signed with `token`
    /// over the public URL (`None`: unsigned).
    pub async fn webhook(
        &self,
        path_and_query: &str,
        form: &[(&str, &str)],
        token: Option<&str>,
    ) -> Reply {
        let body: String =
            form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let mut req = Request::builder()
            .method("POST")
            .uri(path_and_query)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(token) = token {
            let url = format!("{PUBLIC_URL}{path_and_query}");
            let signature =
                whatsapp_crm_twilio::RequestValidator::new(token).sign(&url, form.iter().copied());
            req = req.header("X-Twilio-Signature", signature);
        }
        send(&self.router, req.body(Body::from(body)).unwrap()).await
    }
}

/// Sends one request through the router.
pub async fn send(router: &Router, req: Request<Body>) -> Reply {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let content_type =
        res.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned());
    let www_authenticate =
        res.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_owned());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Reply { status, body, content_type, www_authenticate }
}

/// Asserts the error envelope with `code`.
pub fn assert_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(reply.body["error"]["code"], code, "{:?}", reply.body);
    assert!(reply.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
}

/// A text from `from` to the business's `sender`, as the provider delivers
/// it.
pub fn inbound_text(
    sid: impl Into<String>,
    from: &str,
    sender: &whatsapp_crm_core::PhoneNumber,
    body: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> whatsapp_crm_core::InboundMessage {
    whatsapp_crm_core::InboundMessage {
        provider_id: sid.into(),
        from: whatsapp_crm_core::PhoneNumber::parse(from).unwrap(),
        to: sender.clone(),
        profile_name: None,
        content: whatsapp_crm_core::MessageContent::text(body),
        replied_to: None,
        forwarded: false,
        referral: None,
        received_at: at,
    }
}

impl Reply {
    /// The fields an error's details name, in order.
    pub fn error_fields(&self) -> Vec<&str> {
        self.body["error"]["details"]
            .as_array()
            .map(|d| d.iter().filter_map(|d| d["field"].as_str()).collect())
            .unwrap_or_default()
    }
}
