//! # reference-server
//!
//! A thin HTTP server over the whatsapp-crm SDK: API-key authentication (the
//! business comes from the key), a JSON REST API described by an OpenAPI 3.1
//! document at `/openapi.json` with a reference page at `/docs`, one JSON
//! error envelope for every failure, Twilio's webhooks checked by signature,
//! and the outbox dispatcher on a timer.
//!
//! ```
//! use std::sync::Arc;
//! use whatsapp_crm_core::{Crm, InMemoryStorage};
//! use reference_server::app::{AppState, app};
//!
//! let crm = Crm::new(Arc::new(InMemoryStorage::new()));
//! let router: axum::Router = app(AppState::new(crm, "memory"));
//! ```

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod eval;
pub mod extract;
pub mod openapi;
pub mod routes;
pub mod store;
pub mod worker;
