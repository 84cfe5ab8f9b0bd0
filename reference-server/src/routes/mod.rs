//! HTTP routes, each module one resource.

pub mod agents;
pub mod assistant;
pub mod broadcasts;
pub mod campaigns;
pub mod carts;
pub mod commerce;
pub mod customers;
pub mod discounts;
pub mod messaging;
pub mod orders;
pub mod pay;
pub mod payments;
pub mod products;
pub mod segments;
pub mod system;
pub mod templates;
pub mod webhooks;
