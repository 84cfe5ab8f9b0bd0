//! `/v1/assistant`: settings, FAQs, intents, training and the dry run; and
//! handing a conversation back to the assistant.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_crm_core::ports::Page;
use whatsapp_crm_core::service::{AssistantListParams, ClassifyOutcome};
use whatsapp_crm_core::{
    AssistantSettings, Faq, FaqId, Intent, IntentId, NewFaq, NewIntent, ServiceError,
    TrainingStatus,
};

use super::PageQuery;
use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

const TAG: &str = "assistant";

/// Assistant routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(create_faq, list_faqs))
        .routes(routes!(get_faq, replace_faq, delete_faq))
        .routes(routes!(create_intent, list_intents))
        .routes(routes!(get_intent, replace_intent, delete_intent))
        .routes(routes!(train))
        .routes(routes!(training))
        .routes(routes!(classify))
}

impl From<PageQuery> for AssistantListParams {
    fn from(q: PageQuery) -> Self {
        Self { limit: q.limit, cursor: q.cursor }
    }
}

/// Where training stands.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct TrainingView {
    /// Versions, counts and the model.
    #[serde(flatten)]
    status: TrainingStatus,
    /// True when FAQs or intents changed since the model was trained (the
    /// worker retrains it shortly).
    stale: bool,
}

impl From<TrainingStatus> for TrainingView {
    fn from(status: TrainingStatus) -> Self {
        Self { stale: status.stale(), status }
    }
}

/// A text to try.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifyInput {
    /// What a customer might write (1–4096 characters).
    #[schema(min_length = 1, max_length = 4096)]
    text: String,
}

/// The business's assistant settings.
#[utoipa::path(
    get, path = "/v1/assistant/settings", tag = TAG,
    responses((status = 200, description = "The settings", body = AssistantSettings)),
    security(("api_key" = []))
)]
async fn get_settings(
    State(state): State<AppState>,
    Tenant(business): Tenant,
) -> Result<axum::Json<AssistantSettings>, ApiError> {
    Ok(axum::Json(state.crm.assistant().settings(business).await?))
}

/// Replace the settings; fields left out take their defaults. Turning the
/// assistant on for the first time, with no intents, adds the starter
/// intents (greeting, thanks, talk to a person, and product questions when
/// the business sells in chat).
#[utoipa::path(
    put, path = "/v1/assistant/settings", tag = TAG,
    request_body = AssistantSettings,
    responses(
        (status = 200, description = "The settings as stored", body = AssistantSettings),
        (status = 409, description = "The Groq classifier was chosen and this server has no GROQ_API_KEY (`provider_not_configured`)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn put_settings(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<AssistantSettings>,
) -> Result<axum::Json<AssistantSettings>, ApiError> {
    Ok(axum::Json(state.crm.assistant().set_settings(business, input).await?))
}

/// Add an FAQ. The model is retrained from it shortly after (or at once by
/// `POST /v1/assistant/train`).
#[utoipa::path(
    post, path = "/v1/assistant/faqs", tag = TAG,
    request_body = NewFaq,
    responses(
        (status = 201, description = "Created", body = Faq),
        (status = 409, description = "The business keeps 1,000 FAQs already", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn create_faq(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<NewFaq>,
) -> Result<impl IntoResponse, ApiError> {
    let faq = state.crm.assistant().create_faq(business, input).await?;
    Ok((StatusCode::CREATED, axum::Json(faq)))
}

/// List FAQs, oldest first.
#[utoipa::path(
    get, path = "/v1/assistant/faqs", tag = TAG,
    params(PageQuery),
    responses(
        (status = 200, description = "One page", body = Page<Faq>),
        (status = 422, description = "Invalid limit or cursor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_faqs(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<axum::Json<Page<Faq>>, ApiError> {
    Ok(axum::Json(state.crm.assistant().faqs(business, q.into()).await?))
}

/// One FAQ.
#[utoipa::path(
    get, path = "/v1/assistant/faqs/{id}", tag = TAG,
    params(("id" = String, Path, description = "FAQ id")),
    responses(
        (status = 200, description = "The FAQ", body = Faq),
        (status = 404, description = "No such FAQ in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn get_faq(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<FaqId>,
) -> Result<axum::Json<Faq>, ApiError> {
    Ok(axum::Json(state.crm.assistant().faq(business, id).await?))
}

/// Replace an FAQ's fields.
#[utoipa::path(
    put, path = "/v1/assistant/faqs/{id}", tag = TAG,
    params(("id" = String, Path, description = "FAQ id")),
    request_body = NewFaq,
    responses(
        (status = 200, description = "The FAQ", body = Faq),
        (status = 404, description = "No such FAQ in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn replace_faq(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<FaqId>,
    ApiJson(input): ApiJson<NewFaq>,
) -> Result<axum::Json<Faq>, ApiError> {
    Ok(axum::Json(state.crm.assistant().replace_faq(business, id, input).await?))
}

/// Delete an FAQ.
#[utoipa::path(
    delete, path = "/v1/assistant/faqs/{id}", tag = TAG,
    params(("id" = String, Path, description = "FAQ id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such FAQ in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn delete_faq(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<FaqId>,
) -> Result<StatusCode, ApiError> {
    state.crm.assistant().delete_faq(business, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add an intent: examples of what customers write, and what it does (FAQ
/// answers, a reply, a product lookup, or a handoff).
#[utoipa::path(
    post, path = "/v1/assistant/intents", tag = TAG,
    request_body = NewIntent,
    responses(
        (status = 201, description = "Created", body = Intent),
        (status = 409, description = "The name is taken, or the business keeps 200 intents already", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn create_intent(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<NewIntent>,
) -> Result<impl IntoResponse, ApiError> {
    let intent = state.crm.assistant().create_intent(business, input).await?;
    Ok((StatusCode::CREATED, axum::Json(intent)))
}

/// List intents, oldest first.
#[utoipa::path(
    get, path = "/v1/assistant/intents", tag = TAG,
    params(PageQuery),
    responses(
        (status = 200, description = "One page", body = Page<Intent>),
        (status = 422, description = "Invalid limit or cursor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_intents(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<axum::Json<Page<Intent>>, ApiError> {
    Ok(axum::Json(state.crm.assistant().intents(business, q.into()).await?))
}

/// One intent.
#[utoipa::path(
    get, path = "/v1/assistant/intents/{id}", tag = TAG,
    params(("id" = String, Path, description = "Intent id")),
    responses(
        (status = 200, description = "The intent", body = Intent),
        (status = 404, description = "No such intent in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn get_intent(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<IntentId>,
) -> Result<axum::Json<Intent>, ApiError> {
    Ok(axum::Json(state.crm.assistant().intent(business, id).await?))
}

/// Replace an intent's fields.
#[utoipa::path(
    put, path = "/v1/assistant/intents/{id}", tag = TAG,
    params(("id" = String, Path, description = "Intent id")),
    request_body = NewIntent,
    responses(
        (status = 200, description = "The intent", body = Intent),
        (status = 404, description = "No such intent in this business", body = ErrorBody),
        (status = 409, description = "Renamed onto a taken name", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn replace_intent(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<IntentId>,
    ApiJson(input): ApiJson<NewIntent>,
) -> Result<axum::Json<Intent>, ApiError> {
    Ok(axum::Json(state.crm.assistant().replace_intent(business, id, input).await?))
}

/// Delete an intent (FAQs naming it become intents of their own).
#[utoipa::path(
    delete, path = "/v1/assistant/intents/{id}", tag = TAG,
    params(("id" = String, Path, description = "Intent id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such intent in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn delete_intent(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<IntentId>,
) -> Result<StatusCode, ApiError> {
    state.crm.assistant().delete_intent(business, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Train the business's model now from its FAQs and intents (the worker
/// also does it shortly after every change). Deterministic: the same data
/// gives the same model.
#[utoipa::path(
    post, path = "/v1/assistant/train", tag = TAG,
    responses(
        (status = 200, description = "Trained; where training stands", body = TrainingView),
        (status = 409, description = "Fewer than two intents with examples to choose between", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn train(
    State(state): State<AppState>,
    Tenant(business): Tenant,
) -> Result<axum::Json<TrainingView>, ApiError> {
    let assistant = state.crm.assistant();
    let job = assistant.training_job(business).await?;
    // Seconds of CPU for large example sets: off the async threads.
    let trained = tokio::task::spawn_blocking(move || job.run(Utc::now()))
        .await
        .map_err(|e| ServiceError::InvalidState { message: format!("training stopped: {e}") })?;
    assistant.save_trained(&trained).await?;
    assistant.check_trained(business, &trained).await?;
    Ok(axum::Json(assistant.training(business).await?.into()))
}

/// Where training stands: the data version, counts, and the model in use
/// (`stale` when FAQs or intents changed since).
#[utoipa::path(
    get, path = "/v1/assistant/training", tag = TAG,
    responses((status = 200, description = "Training status", body = TrainingView)),
    security(("api_key" = []))
)]
async fn training(
    State(state): State<AppState>,
    Tenant(business): Tenant,
) -> Result<axum::Json<TrainingView>, ApiError> {
    Ok(axum::Json(state.crm.assistant().training(business).await?.into()))
}

/// What the assistant would do with a text in a fresh conversation now:
/// the ranking, the decision with its reason, and the replies. Nothing is
/// stored or sent.
#[utoipa::path(
    post, path = "/v1/assistant/classify", tag = TAG,
    request_body = ClassifyInput,
    responses((status = 200, description = "The outcome", body = ClassifyOutcome)),
    security(("api_key" = []))
)]
async fn classify(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<ClassifyInput>,
) -> Result<axum::Json<ClassifyOutcome>, ApiError> {
    Ok(axum::Json(state.crm.assistant().classify(business, &input.text).await?))
}
