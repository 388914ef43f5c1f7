//! Use cases: load → domain decision → persist and append to the audit trail, in one transaction.

pub mod assessments;
pub mod audit_trail;
pub mod audits;
pub mod auth;
pub mod bootstrap;
pub mod clauses;
pub mod corrective_actions;
pub mod delivery;
pub mod documents;
pub mod events;
pub mod findings;
pub mod idempotency;
pub mod imports;
pub mod improvements;
pub mod management_reviews;
pub mod objectives;
pub mod processes;
pub mod readiness;
pub mod reports;
pub mod risks;
pub mod seed_demo;
pub mod sms_roles;
pub mod training_records;
pub mod users;
pub mod webhooks;
pub mod write;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};

use crate::domain::DomainError;
use crate::domain::access::Principal;
use crate::error::Result;
use crate::persistence::write_queue::{self, WriteTransaction};

/// The authenticated caller of a use case, and the request it came with (for the audit trail).
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub request_id: Option<String>,
    /// When the request arrived, by the service's clock: one "now" for the whole use case.
    pub now: DateTime<Utc>,
}

impl Caller {
    /// The service itself (bootstrap, command line): an admin that is nobody, recorded in
    /// the audit trail without an actor.
    pub fn service(now: DateTime<Utc>) -> Caller {
        Caller {
            principal: Principal {
                user_id: String::new(),
                roles: vec![crate::domain::access::AccessRole::Admin],
            },
            request_id: None,
            now,
        }
    }

    pub fn user_id(&self) -> &str {
        &self.principal.user_id
    }

    /// Every access role reads the SMS; a user with none reads nothing.
    pub fn ensure_reads_sms(&self) -> Result<(), DomainError> {
        self.ensure(self.principal.can_read_sms(), "read the SMS")
    }

    /// Refuses the caller unless `allowed`; `what` completes "you may not …".
    pub fn ensure(&self, allowed: bool, what: &str) -> Result<(), DomainError> {
        if allowed {
            Ok(())
        } else {
            Err(DomainError::Forbidden(what.to_string()))
        }
    }
}

/// Runs the queries of an answer that takes several (a resource and its children, a page
/// and its children) in one transaction: they all read one snapshot, and share one pooled
/// connection instead of taking one (and the pool pinging it back) per query.
pub async fn read_snapshot<T>(
    db: &DatabaseConnection,
    read: impl AsyncFnOnce(&DatabaseTransaction) -> Result<T>,
) -> Result<T> {
    let snapshot = db.begin().await?;
    let answer = read(&snapshot).await?;
    snapshot.commit().await?;
    Ok(answer)
}

/// Starts a write transaction (see [`write_queue`](crate::persistence::write_queue)).
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTransaction> {
    Ok(write_queue::begin(db).await?)
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Fails with `VersionMismatch` when the client's `If-Match` version is stale.
pub fn check_version(expected: Option<i64>, current: i64) -> Result<(), DomainError> {
    match expected {
        Some(v) if v != current => Err(DomainError::VersionMismatch),
        _ => Ok(()),
    }
}
