//! End-to-end tests across the whatsapp-crm crates live in `tests/`; this
//! library is empty.
