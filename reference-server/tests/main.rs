//! The server's end-to-end tests as one binary: each module drives the real
//! `reference-server` executable; one link instead of one per file.

mod common;

mod assistant_e2e;
mod broadcast_e2e;
mod commerce_e2e;
mod crash;
mod eval_intents;
mod eval_recommendations;
mod inbox_e2e;
mod payments_e2e;
mod process;
