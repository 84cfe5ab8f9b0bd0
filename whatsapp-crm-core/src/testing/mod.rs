//! The storage conformance suite (feature `testing`).
//!
//! One `pub async fn` per behaviour, each taking `&dyn Storage` and panicking on a
//! violation, plus [`storage_conformance_tests!`](crate::storage_conformance_tests)
//! which stamps one `#[tokio::test]` per case. Every backend runs the whole suite:
//!
//! ```ignore
//! whatsapp_crm_core::storage_conformance_tests!(|| async {
//!     TestStorage::new(Arc::new(MyStorage::connect().await))
//! });
//! ```
//!
//! The calling crate needs `tokio` (with `macros` and `rt-multi-thread`) as a
//! dev-dependency. Each case creates its own businesses, so cases may share one
//! database, but a fresh store per case is what the backends here use.

// Test support: a failed expectation is meant to panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agents;
mod assistant;
mod broadcasts;
mod campaigns;
mod catalog;
mod checkout;
mod customers;
mod desk;
mod fixtures;
mod fulfilment;
mod identity;
mod messaging;
mod orders;
mod outbox;
mod payments;
mod segments;
mod senders;
mod templates;

use std::any::Any;
use std::sync::Arc;

pub use agents::*;
pub use assistant::*;
pub use broadcasts::*;
pub use campaigns::*;
pub use catalog::*;
pub use checkout::*;
pub use customers::*;
pub use desk::*;
pub use fixtures::*;
pub use fulfilment::*;
pub use identity::*;
pub use messaging::*;
pub use orders::*;
pub use outbox::*;
pub use payments::*;
pub use segments::*;
pub use senders::*;
pub use templates::*;

use crate::ports::Storage;

/// A store under test, plus whatever must live as long as it (a temporary
/// directory, a scratch database that is dropped afterwards).
pub struct TestStorage {
    storage: Arc<dyn Storage>,
    _guard: Option<Box<dyn Any + Send + Sync>>,
}

impl TestStorage {
    /// Wraps a store.
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self { storage, _guard: None }
    }

    /// Keeps `guard` alive until the test ends.
    pub fn with_guard(mut self, guard: impl Any + Send + Sync) -> Self {
        self._guard = Some(Box::new(guard));
        self
    }

    /// The store.
    pub fn storage(&self) -> &dyn Storage {
        &*self.storage
    }

    /// A shared handle to the store.
    pub fn shared(&self) -> Arc<dyn Storage> {
        Arc::clone(&self.storage)
    }
}

/// Stamps one `#[tokio::test]` per conformance case. The argument is a closure
/// returning a future of [`TestStorage`] (or `Option<TestStorage>`, `None`
/// meaning the backend is unavailable here), called once per case.
#[macro_export]
macro_rules! storage_conformance_tests {
    ($factory:expr) => {
        $crate::__storage_conformance_cases!($factory;
            business_round_trip,
            business_missing_is_not_found,
            business_duplicate_id_conflicts,
            business_found_by_sender_and_senders_are_unique,
            batch_reads_stay_in_their_business,
            sender_ledger_is_shared_by_every_caller,
            sender_ledger_keeps_pairs_tier_and_pauses,
            api_key_found_by_hash,
            api_key_unknown_hash_is_none,
            api_key_duplicate_hash_conflicts,
            api_key_needs_existing_business,
            api_key_list_and_revoke_are_tenant_scoped,
            customer_round_trip_keeps_every_field,
            customer_missing_is_not_found,
            customer_phone_unique_per_business,
            customer_same_phone_in_two_businesses,
            customer_needs_existing_business,
            customer_concurrent_inserts_one_phone_one_winner,
            customer_update_round_trip,
            customer_update_keeps_stats,
            customer_update_to_taken_phone_conflicts,
            customer_update_missing_is_not_found,
            customer_delete_removes_conversations_and_messages,
            customer_find_by_phone,
            customer_tags_add_and_remove,
            customer_concurrent_tagging_loses_nothing,
            customer_list_pages_in_order,
            customer_list_search_name_and_phone,
            customer_list_filter_by_tag,
            customer_tenant_isolation,
            conversation_round_trip,
            conversation_needs_customer_of_same_business,
            conversation_latest,
            conversation_list_filters_and_pages,
            conversation_update_round_trip,
            conversation_tenant_isolation,
            message_round_trip_every_kind,
            message_needs_conversation_of_same_customer,
            message_provider_id_unique_per_business,
            message_find_by_provider_id,
            message_update_status,
            message_list_pages_in_order,
            message_tenant_isolation,
            order_round_trip,
            order_status_drives_customer_stats,
            order_list_filters_and_pages,
            order_tenant_isolation,
            inbound_messages_update_customer_activity,
            outbox_enqueue_is_atomic,
            outbox_claims_due_rows_in_order,
            outbox_concurrent_claimers_never_share_a_row,
            outbox_finish_records_outcomes,
            outbox_lapsed_claims_become_pending_or_unknown,
            outbox_cancel_pending_only,
            outbox_tenant_isolation,
            outbox_rows_go_with_their_customer,
            outbox_recent_marketing_counts_sent_marketing,
            outbox_defer_and_unknown_outcomes,
            outbox_queue_messages_is_atomic,
            outbox_finish_many_records_outcomes_and_messages,
            segment_selection_matches_the_evaluator,
            segment_values_are_data_not_sql,
            segment_pages_and_stays_in_its_business,
            saved_segment_round_trip_and_unique_name,
            saved_segment_update_and_delete,
            saved_segment_tenant_isolation,
            template_round_trip,
            template_name_unique_per_business_and_language,
            template_edits_keep_every_version,
            template_status_changes_update_the_version,
            template_concurrent_edits_one_wins,
            template_save_keeps_name_and_language,
            template_list_filters_and_pages,
            template_tenant_isolation,
            broadcast_round_trip_and_guarded_updates,
            broadcast_launch_batches_are_atomic,
            broadcast_rows_move_and_counts_add_up,
            broadcast_active_ones_are_found,
            broadcast_reads_for_a_launch,
            campaign_round_trip_and_guarded_updates,
            campaign_due_ones_and_runs,
            product_round_trip_and_batches_are_all_or_nothing,
            product_update_keeps_reservations_and_delete,
            product_list_search_and_tenant_isolation,
            product_search_finds_each_query_in_the_top_three,
            cart_save_open_and_tenant_isolation,
            checkout_is_idempotent_and_moves_stock,
            checkout_race_for_the_last_units,
            discount_single_use_race_and_rules,
            customer_delete_releases_reservations,
            commerce_settings_and_delivery_round_trip,
            shipment_round_trip_tracking_and_isolation,
            shipment_reports_are_stored_once_and_never_go_back,
            order_notices_are_recorded_once,
            idle_carts_expire,
            payment_round_trip_references_and_isolation,
            payment_events_are_stored_once_per_key,
            receipts_reminders_and_due_checks,
            assistant_faqs_and_intents_round_trip,
            assistant_models_are_saved_per_data_version,
            assistant_turns_commit_once_per_revision,
            agents_round_trip_and_stay_in_their_business,
            agent_keys_act_for_an_agent_of_their_business,
            queues_round_trip_with_unique_names,
            routing_round_trips_per_business,
            desk_commits_against_its_revision_with_events,
            desk_concurrent_assignment_assigns_once,
            recommenders_round_trip_and_fall_due_on_paid_orders,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __storage_conformance_cases {
    ($factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                // `None` means the backend is unavailable and allowed to skip.
                let fixture: ::std::option::Option<$crate::testing::TestStorage> =
                    ($factory)().await.into();
                let ::std::option::Option::Some(fixture) = fixture else { return };
                $crate::testing::$case(fixture.storage()).await;
            }
        )*
    };
}
