//! HTTP routes, each module one resource.

pub mod broadcasts;
pub mod campaigns;
pub mod customers;
pub mod messaging;
pub mod segments;
pub mod system;
pub mod templates;
pub mod webhooks;
