//! `/v1/orders`: orders placed in chat or by staff, their actions, their
//! timeline and notices, and their shipments.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_crm_core::ports::Page;
use whatsapp_crm_core::service::{
    NewOrder, OrderAction, OrderActionInput, OrderListParams, StaffReport,
};
use whatsapp_crm_core::{
    CustomerId, NewShipment, Order, OrderEvent, OrderId, OrderNotification, OrderStatus, Shipment,
    ShipmentEvent, ShipmentId,
};

use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};

const TAG: &str = "orders";

/// Order routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_order, list_orders))
        .routes(routes!(get_order))
        .routes(routes!(confirm_order))
        .routes(routes!(pay_order))
        .routes(routes!(cancel_order))
        .routes(routes!(fulfil_order))
        .routes(routes!(refund_order))
        .routes(routes!(order_events))
        .routes(routes!(order_notices))
        .routes(routes!(create_shipment, list_shipments))
        .routes(routes!(report_shipment))
        .routes(routes!(shipment_events))
}

/// Query of `GET /v1/orders`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this customer's orders.
    #[param(value_type = Option<String>, format = Uuid)]
    customer_id: Option<CustomerId>,
    /// Only orders in this status.
    status: Option<OrderStatus>,
    /// Page size, 1–200 (default 50).
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

/// Create a draft order for a customer, priced from the catalog.
#[utoipa::path(
    post, path = "/v1/orders", tag = TAG,
    request_body = NewOrder,
    responses(
        (status = 201, description = "Created as a draft", body = Order),
        (status = 404, description = "No such customer in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn create_order(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiJson(input): ApiJson<NewOrder>,
) -> Result<impl IntoResponse, ApiError> {
    let o = state.crm.orders().create(business, input).await?;
    Ok((StatusCode::CREATED, axum::Json(o)))
}

/// List orders, oldest first.
#[utoipa::path(
    get, path = "/v1/orders", tag = TAG,
    params(ListQuery),
    responses(
        (status = 200, description = "One page", body = Page<Order>),
        (status = 422, description = "Invalid limit or cursor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_orders(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<axum::Json<Page<Order>>, ApiError> {
    let params = OrderListParams {
        customer: q.customer_id,
        status: q.status,
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(axum::Json(state.crm.orders().list(business, params).await?))
}

/// Get one order.
#[utoipa::path(
    get, path = "/v1/orders/{id}", tag = TAG,
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = Order),
        (status = 404, description = "No such order in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn get_order(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<OrderId>,
) -> Result<axum::Json<Order>, ApiError> {
    Ok(axum::Json(state.crm.orders().get(business, id).await?))
}

macro_rules! action {
    ($fn:ident, $path:literal, $what:literal, $action:expr) => {
        #[doc = $what]
        #[utoipa::path(
            post, path = $path, tag = TAG,
            params(("id" = String, Path, description = "Order id")),
            request_body(content = Option<OrderActionInput>, description = "Optional reason; the body may be empty"),
            responses(
                (status = 200, description = "The order after it", body = Order),
                (status = 404, description = "No such order in this business", body = ErrorBody),
                (status = 409, description = "The order's status or stock does not allow it (`invalid_state`)", body = ErrorBody),
            ),
            security(("api_key" = []))
        )]
        async fn $fn(
            State(state): State<AppState>,
            Tenant(business): Tenant,
            ApiPath(id): ApiPath<OrderId>,
            OptionalJson(input): OptionalJson<OrderActionInput>,
        ) -> Result<axum::Json<Order>, ApiError> {
            let input = input.unwrap_or_default();
            Ok(axum::Json(state.crm.orders().act(business, id, $action, input, "staff").await?))
        }
    };
}

action!(
    confirm_order,
    "/v1/orders/{id}/confirm",
    "Confirm a draft: its stock is reserved for the payment window and the customer is told.",
    OrderAction::Confirm
);
action!(
    pay_order,
    "/v1/orders/{id}/pay",
    "Record a payment taken in full outside the SDK (cash, a till): the order is paid.",
    OrderAction::Pay
);
action!(
    cancel_order,
    "/v1/orders/{id}/cancel",
    "Cancel a draft or unpaid order: its stock goes back and the customer is told.",
    OrderAction::Cancel
);
action!(
    fulfil_order,
    "/v1/orders/{id}/fulfil",
    "Mark a paid order handed over (collected, or delivered without a tracked shipment).",
    OrderAction::Fulfil
);
action!(
    refund_order,
    "/v1/orders/{id}/refund",
    "Refund a paid or fulfilled order in full; stock that never left goes back.",
    OrderAction::Refund
);

/// The order's timeline: each change with who, when, from, to and why.
#[utoipa::path(
    get, path = "/v1/orders/{id}/events", tag = TAG,
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "Oldest first", body = Vec<OrderEvent>),
        (status = 404, description = "No such order in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn order_events(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<OrderId>,
) -> Result<axum::Json<Vec<OrderEvent>>, ApiError> {
    Ok(axum::Json(state.crm.orders().events(business, id).await?))
}

/// What the customer was told about the order, or why not.
#[utoipa::path(
    get, path = "/v1/orders/{id}/notices", tag = TAG,
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "In the order they were decided", body = Vec<OrderNotification>),
        (status = 404, description = "No such order in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn order_notices(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<OrderId>,
) -> Result<axum::Json<Vec<OrderNotification>>, ApiError> {
    Ok(axum::Json(state.crm.orders().notices(business, id).await?))
}

/// Hand a paid order's parcel to a carrier: the customer is told, with
/// the tracking link.
#[utoipa::path(
    post, path = "/v1/orders/{id}/shipments", tag = TAG,
    params(("id" = String, Path, description = "Order id")),
    request_body = NewShipment,
    responses(
        (status = 201, description = "In transit", body = Shipment),
        (status = 404, description = "No such order in this business", body = ErrorBody),
        (status = 409, description = "The order is not paid, or the tracking number is taken", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn create_shipment(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<OrderId>,
    ApiJson(input): ApiJson<NewShipment>,
) -> Result<impl IntoResponse, ApiError> {
    let s = state.crm.shipments().create(business, id, input).await?;
    Ok((StatusCode::CREATED, axum::Json(s)))
}

/// The order's shipments, oldest first.
#[utoipa::path(
    get, path = "/v1/orders/{id}/shipments", tag = TAG,
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "Oldest first", body = Vec<Shipment>),
        (status = 404, description = "No such order in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn list_shipments(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<OrderId>,
) -> Result<axum::Json<Vec<Shipment>>, ApiError> {
    Ok(axum::Json(state.crm.shipments().list(business, id).await?))
}

/// Report where a parcel is, as staff see it. Reports never move it back.
#[utoipa::path(
    post, path = "/v1/orders/{id}/shipments/{shipment_id}/reports", tag = TAG,
    params(
        ("id" = String, Path, description = "Order id"),
        ("shipment_id" = String, Path, description = "Shipment id"),
    ),
    request_body = StaffReport,
    responses(
        (status = 200, description = "The shipment after it", body = Shipment),
        (status = 404, description = "No such order or shipment in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn report_shipment(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath((id, shipment)): ApiPath<(OrderId, ShipmentId)>,
    ApiJson(input): ApiJson<StaffReport>,
) -> Result<axum::Json<Shipment>, ApiError> {
    Ok(axum::Json(state.crm.shipments().report(business, id, shipment, input).await?))
}

/// A parcel's reports, in the order they arrived.
#[utoipa::path(
    get, path = "/v1/orders/{id}/shipments/{shipment_id}/events", tag = TAG,
    params(
        ("id" = String, Path, description = "Order id"),
        ("shipment_id" = String, Path, description = "Shipment id"),
    ),
    responses(
        (status = 200, description = "Oldest first", body = Vec<ShipmentEvent>),
        (status = 404, description = "No such order or shipment in this business", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn shipment_events(
    State(state): State<AppState>,
    Tenant(business): Tenant,
    ApiPath((id, shipment)): ApiPath<(OrderId, ShipmentId)>,
) -> Result<axum::Json<Vec<ShipmentEvent>>, ApiError> {
    Ok(axum::Json(state.crm.shipments().events(business, id, shipment).await?))
}
