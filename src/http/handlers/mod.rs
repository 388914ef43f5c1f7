pub mod audit_trail;
pub mod auth;
pub mod clauses;
pub mod health;
pub mod objectives;
pub mod processes;
pub mod sms_roles;
pub mod users;
