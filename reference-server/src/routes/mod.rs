//! HTTP routes, each module one resource.

pub mod customers;
pub mod system;
pub mod templates;
