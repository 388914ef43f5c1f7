//! sea-orm entities, one per table. Hand-written code lives beside them, not in them.

pub mod api_key;
pub mod audit_entry;
pub mod clause;
pub mod idempotency_key;
pub mod login_failure;
pub mod process;
pub mod process_clause;
pub mod process_raci;
pub mod refresh_token;
pub mod sms_role;
pub mod sms_role_member;
pub mod user;
