//! The end-to-end suite as one test binary: one link instead of one per file,
//! and the shared helpers compiled once.

#[macro_use]
mod support;

mod agents_api;
mod assistant;
mod assistant_api;
mod assistant_sockets;
mod broadcasts;
mod broadcasts_api;
mod campaigns;
mod campaigns_api;
mod commerce_api;
mod contract_api;
mod customers_api;
mod dispatch;
mod dispatch_restart;
mod inbox;
mod inbox_api;
mod messaging_api;
mod payments;
mod recommend_api;
mod segments_api;
mod system_api;
mod team_inbox;
mod templates_api;
mod webhooks_api;
