//! The whole storage conformance suite against a real PostgreSQL server, each
//! case in a fresh schema.

whatsapp_crm_core::storage_conformance_tests!(whatsapp_crm_postgres::testing::conformance_storage);
