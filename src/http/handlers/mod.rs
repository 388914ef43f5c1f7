pub mod audit_trail;
pub mod auth;
pub mod clauses;
pub mod corrective_actions;
pub mod health;
pub mod processes;
pub mod sms_roles;
pub mod users;
