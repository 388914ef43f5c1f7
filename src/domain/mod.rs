//! The business rules of the SMS: types, invariants, workflows and access policy.
//! Pure Rust: no HTTP, no SQL, unit-tested without I/O.

pub mod access;
pub mod assessment;
pub mod audit;
pub mod clause;
pub mod competence;
pub mod corrective_action;
pub mod document;
pub mod documented_information;
pub mod error;
pub mod event;
pub mod fields;
pub mod finding;
pub mod import;
pub mod improvement;
pub mod management_review;
pub mod objective;
pub mod process;
pub mod readiness;
pub mod report;
pub mod risk;
pub mod sms_role;
pub mod user;
pub mod validation;
pub mod webhook;
pub mod workflow;

pub use error::DomainError;
