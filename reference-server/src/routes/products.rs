//! `/v1/products`: the catalog (create, read, replace, delete, list), CSV
//! import, ranked search, and product messages (a card, a list, a catalog
//! message) sent to a customer.

use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_crm_core::commerce::search::QUERY_MAX_CHARS;
use whatsapp_crm_core::ports::PAGE_LIMIT_MAX;
use whatsapp_crm_core::ports::{Page, ProductQuery};
use whatsapp_crm_core::service::{CatalogSend, ProductCardSend, ProductListSend, page_params};
use whatsapp_crm_core::{
    Message, NewProduct, PRODUCT_CATEGORY_MAX_CHARS, Product, ProductId, ServiceError,
    ValidationError,
};

use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CsvBody};

const TAG: &str = "products";
/// Largest CSV file an import reads (about 100,000 rows of a typical
/// catalog); other bodies keep the server's limit.
pub const IMPORT_MAX_BYTES: usize = 8 * 1024 * 1024;

/// Product routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_product, list_products))
        .routes(routes!(get_product, replace_product, delete_product))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(import_products))
                .layer(DefaultBodyLimit::max(IMPORT_MAX_BYTES)),
        )
        .routes(routes!(search_products))
        .routes(routes!(send_card))
        .routes(routes!(send_list))
        .routes(routes!(send_catalog))
}

/// Query of `GET /v1/products`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this category (exact).
    #[param(max_length = 100)]
    category: Option<String>,
    /// Only products for sale (`true`) or not (`false`).
    active: Option<bool>,
    /// Page size, 1–200 (default 50).
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

/// Query of `GET /v1/products/search`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQueryParams {
    /// What the customer typed: English or Swahili words, typos welcome.
    #[param(min_length = 1, max_length = 200)]
    q: String,
    /// Results wanted (default 10); at most 50 are returned.
    limit: Option<u32>,
    /// Include products not for sale (default false).
    include_inactive: Option<bool>,
}

/// One search result.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResult {
    /// The product.
    product: Product,
    /// How well it matches; higher is better.
    score: f64,
}

/// What an import stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    /// Products stored.
    imported: usize,
}

/// Add a product.
#[utoipa::path(
    post, path = "/v1/products", tag = TAG,
    request_body = NewProduct,
    responses(
        (status = 201, description = "Created", body = Product),
        (status = 409, description = "SKU already in the catalog", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn create_product(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<NewProduct>,
) -> Result<impl IntoResponse, ApiError> {
    let p = state.crm.catalog().create(business, input).await?;
    Ok((StatusCode::CREATED, axum::Json(p)))
}

/// List products, oldest first.
#[utoipa::path(
    get, path = "/v1/products", tag = TAG,
    params(ListQuery),
    responses(
        (status = 200, description = "One page", body = Page<Product>),
        (status = 422, description = "Invalid limit, cursor or category", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_products(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<axum::Json<Page<Product>>, ApiError> {
    if q.category.as_ref().is_some_and(|c| c.chars().count() > PRODUCT_CATEGORY_MAX_CHARS) {
        let invalid = ValidationError::field(
            "category",
            format!("must be at most {PRODUCT_CATEGORY_MAX_CHARS} characters"),
        );
        return Err(ServiceError::from(invalid).into());
    }
    let (limit, after) =
        page_params::<ProductId>(q.limit, q.cursor.as_deref()).map_err(ServiceError::from)?;
    let query = ProductQuery { category: q.category, active: q.active, limit, after };
    Ok(axum::Json(state.crm.catalog().list(business, &query).await?))
}

/// Get one product.
#[utoipa::path(
    get, path = "/v1/products/{id}", tag = TAG,
    params(("id" = String, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product", body = Product),
        (status = 404, description = "No such product in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn get_product(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<ProductId>,
) -> Result<axum::Json<Product>, ApiError> {
    Ok(axum::Json(state.crm.catalog().get(business, id).await?))
}

/// Replace a product's fields; the units reserved by open orders stay, and
/// on hand cannot go below them.
#[utoipa::path(
    put, path = "/v1/products/{id}", tag = TAG,
    params(("id" = String, Path, description = "Product id")),
    request_body = NewProduct,
    responses(
        (status = 200, description = "The product", body = Product),
        (status = 404, description = "No such product in this business", body = ErrorBody),
        (status = 409, description = "SKU taken, or units reserved", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn replace_product(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<ProductId>,
    ApiJson(input): ApiJson<NewProduct>,
) -> Result<axum::Json<Product>, ApiError> {
    Ok(axum::Json(state.crm.catalog().replace(business, id, input).await?))
}

/// Delete a product that no open order holds units of.
#[utoipa::path(
    delete, path = "/v1/products/{id}", tag = TAG,
    params(("id" = String, Path, description = "Product id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such product in this business", body = ErrorBody),
        (status = 409, description = "Units of it are reserved by open orders", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn delete_product(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<ProductId>,
) -> Result<StatusCode, ApiError> {
    state.crm.catalog().delete(business, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Import products from CSV (`text/csv`; a header row of `sku`, `name`,
/// `price` and any of `description`, `category`, `image_url`, `currency`,
/// `active`, `on_hand`, `attr:<name>`). All or nothing: any bad row stores
/// nothing, and every bad cell is named by line and column.
#[utoipa::path(
    post, path = "/v1/products/import", tag = TAG,
    request_body(content = String, content_type = "text/csv", description = "The CSV file"),
    responses(
        (status = 201, description = "Every row stored", body = ImportResult),
        (status = 400, description = "Not UTF-8", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Content-Type is not text/csv", body = ErrorBody),
        (status = 422, description = "Bad rows, each cell named by line and column; nothing stored", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn import_products(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    CsvBody(body): CsvBody,
) -> Result<impl IntoResponse, ApiError> {
    let products = state.crm.catalog().import_csv(business, &body).await?;
    Ok((StatusCode::CREATED, axum::Json(ImportResult { imported: products.len() })))
}

/// Search the catalog: ranked, tolerant of typos, English and Swahili.
#[utoipa::path(
    get, path = "/v1/products/search", tag = TAG,
    params(SearchQueryParams),
    responses(
        (status = 200, description = "Best first", body = Vec<SearchResult>),
        (status = 422, description = "Empty query, or invalid limit", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn search_products(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiQuery(q): ApiQuery<SearchQueryParams>,
) -> Result<axum::Json<Vec<SearchResult>>, ApiError> {
    let limit = q.limit.unwrap_or(10);
    let mut v = ValidationError::default();
    if !(1..=PAGE_LIMIT_MAX).contains(&limit) {
        v.push("limit", format!("must be 1 to {PAGE_LIMIT_MAX}"));
    }
    if q.q.is_empty() || q.q.chars().count() > QUERY_MAX_CHARS {
        v.push("q", format!("must be 1 to {QUERY_MAX_CHARS} characters"));
    }
    v.into_result(|| ()).map_err(ServiceError::from)?;
    let hits = state
        .crm
        .catalog()
        .search(business, &q.q, limit, q.include_inactive.unwrap_or(false))
        .await?;
    Ok(axum::Json(
        hits.into_iter().map(|h| SearchResult { product: h.product, score: h.score }).collect(),
    ))
}

/// Send a product's card (image, name, price, *Add to cart* and *View*)
/// inside the customer's 24-hour window.
#[utoipa::path(
    post, path = "/v1/products/{id}/send", tag = TAG,
    params(("id" = String, Path, description = "Product id")),
    request_body = ProductCardSend,
    responses(
        (status = 202, description = "Queued", body = Message),
        (status = 404, description = "No such product in this business", body = ErrorBody),
        (status = 409, description = "The product is not for sale", body = ErrorBody),
        (status = 422, description = "Outside the 24-hour window (`send_refused`), no such customer in this business, or invalid", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn send_card(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<ProductId>,
    ApiJson(input): ApiJson<ProductCardSend>,
) -> Result<impl IntoResponse, ApiError> {
    let m = state.crm.product_messages().send_card(business, id, input).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(m)))
}

/// Send a list of up to 10 products; choosing one adds it to the cart.
#[utoipa::path(
    post, path = "/v1/products/send-list", tag = TAG,
    request_body = ProductListSend,
    responses(
        (status = 202, description = "Queued", body = Message),
        (status = 422, description = "Outside the 24-hour window (`send_refused`), no such customer in this business, or invalid", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn send_list(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<ProductListSend>,
) -> Result<impl IntoResponse, ApiError> {
    let m = state.crm.product_messages().send_list(business, input).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(m)))
}

/// Send products from the business's Meta catalog: one, or up to 30 in up
/// to 10 sections.
#[utoipa::path(
    post, path = "/v1/products/send-catalog", tag = TAG,
    request_body = CatalogSend,
    responses(
        (status = 202, description = "Queued", body = Message),
        (status = 409, description = "No Meta catalog id is set", body = ErrorBody),
        (status = 422, description = "Outside the 24-hour window (`send_refused`), no such customer in this business, or invalid", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn send_catalog(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<CatalogSend>,
) -> Result<impl IntoResponse, ApiError> {
    let m = state.crm.product_messages().send_catalog(business, input).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(m)))
}
