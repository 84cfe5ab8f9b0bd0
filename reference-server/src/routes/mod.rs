//! HTTP routes, each module one resource.

pub mod agents;
pub mod assistant;
pub mod broadcasts;
pub mod campaigns;
pub mod carts;
pub mod commerce;
pub mod customers;
pub mod discounts;
pub mod inbox;
pub mod messaging;
pub mod orders;
pub mod pay;
pub mod payments;
pub mod products;
pub mod recommendations;
pub mod segments;
pub mod system;
pub mod templates;
pub mod webhooks;

/// Paging of a list.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}
