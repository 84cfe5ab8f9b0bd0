//! `/v1/customers`: create, read, list, update, tag, delete.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_crm_core::ports::Page;
use whatsapp_crm_core::service::CustomerListParams;
use whatsapp_crm_core::{Customer, CustomerId, CustomerPatch, NewCustomer, Tag};

use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

const TAG: &str = "customers";

/// Customer routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_customer, list_customers))
        .routes(routes!(get_customer, update_customer, delete_customer))
        .routes(routes!(add_tags))
        .routes(routes!(remove_tag))
}

/// Query of `GET /v1/customers`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Case-insensitive text found in the name or phone number.
    #[param(max_length = 100)]
    search: Option<String>,
    /// Only customers with this tag.
    #[param(value_type = Option<Tag>)]
    tag: Option<String>,
    /// Page size, 1–200 (default 50).
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

/// Tags to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagsRequest {
    /// Tags (letters, digits, `-_.:/`; case-insensitive).
    #[schema(value_type = Vec<Tag>, min_items = 1)]
    tags: Vec<String>,
}

/// Create a customer.
#[utoipa::path(
    post, path = "/v1/customers", tag = TAG,
    request_body = NewCustomer,
    responses(
        (status = 201, description = "Created", body = Customer),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 409, description = "Phone number already used in this business", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Invalid fields, each named", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn create_customer(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<NewCustomer>,
) -> Result<impl IntoResponse, ApiError> {
    let customer = state.crm.customers().create(business, input).await?;
    Ok((StatusCode::CREATED, axum::Json(customer)))
}

/// List customers, oldest first, with optional search and tag filter.
#[utoipa::path(
    get, path = "/v1/customers", tag = TAG,
    params(ListQuery),
    responses(
        (status = 200, description = "One page", body = Page<Customer>),
        (status = 400, description = "Malformed query string", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 422, description = "Invalid limit, tag or cursor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_customers(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<axum::Json<Page<Customer>>, ApiError> {
    let params =
        CustomerListParams { search: q.search, tag: q.tag, limit: q.limit, cursor: q.cursor };
    Ok(axum::Json(state.crm.customers().list(business, params).await?))
}

/// Get one customer.
#[utoipa::path(
    get, path = "/v1/customers/{id}", tag = TAG,
    params(("id" = CustomerId, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The customer", body = Customer),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such customer in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn get_customer(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<CustomerId>,
) -> Result<axum::Json<Customer>, ApiError> {
    Ok(axum::Json(state.crm.customers().get(business, id).await?))
}

/// Update a customer: absent fields stay, `null` clears.
#[utoipa::path(
    patch, path = "/v1/customers/{id}", tag = TAG,
    params(("id" = CustomerId, Path, description = "Customer id")),
    request_body = CustomerPatch,
    responses(
        (status = 200, description = "The updated customer", body = Customer),
        (status = 400, description = "Malformed id or JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such customer in this business", body = ErrorBody),
        (status = 409, description = "New phone number already used", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Invalid fields, each named", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn update_customer(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(patch): ApiJson<CustomerPatch>,
) -> Result<axum::Json<Customer>, ApiError> {
    Ok(axum::Json(state.crm.customers().update(business, id, patch).await?))
}

/// Delete a customer and their conversation history.
#[utoipa::path(
    delete, path = "/v1/customers/{id}", tag = TAG,
    params(("id" = CustomerId, Path, description = "Customer id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such customer in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn delete_customer(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<CustomerId>,
) -> Result<StatusCode, ApiError> {
    state.crm.customers().delete(business, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add tags to a customer.
#[utoipa::path(
    post, path = "/v1/customers/{id}/tags", tag = TAG,
    params(("id" = CustomerId, Path, description = "Customer id")),
    request_body = TagsRequest,
    responses(
        (status = 200, description = "The customer with the tags added", body = Customer),
        (status = 400, description = "Malformed id or JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such customer in this business", body = ErrorBody),
        (status = 422, description = "Invalid tags", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn add_tags(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(body): ApiJson<TagsRequest>,
) -> Result<axum::Json<Customer>, ApiError> {
    Ok(axum::Json(state.crm.customers().add_tags(business, id, &body.tags).await?))
}

/// Remove one tag from a customer.
#[utoipa::path(
    delete, path = "/v1/customers/{id}/tags/{tag}", tag = TAG,
    params(
        ("id" = CustomerId, Path, description = "Customer id"),
        ("tag" = Tag, Path, description = "Tag to remove"),
    ),
    responses(
        (status = 200, description = "The customer without the tag", body = Customer),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 404, description = "No such customer in this business", body = ErrorBody),
        (status = 422, description = "Invalid tag", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn remove_tag(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath((id, tag)): ApiPath<(CustomerId, String)>,
) -> Result<axum::Json<Customer>, ApiError> {
    Ok(axum::Json(state.crm.customers().remove_tags(business, id, &[tag]).await?))
}
