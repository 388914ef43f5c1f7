//! What the one write path (`service::write`) needs to know of a stored resource.

use std::future::Future;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, EntityName, EntityTrait};
use serde_json::Value;

use crate::domain::DomainError;
use crate::error::Result;

/// A resource as it is stored: its row (with `id`, `version` and `updated_at` columns) and
/// its child rows.
pub trait Aggregate: Sized + Send + Sync {
    /// The table of the root row.
    type Entity: EntityTrait + Default;
    /// Its entity type in the audit trail.
    const KIND: &'static str;
    /// What a person calls it ("not found" answers).
    const NOUN: &'static str;

    fn id(&self) -> &str;
    fn version(&self) -> i64;
    /// The stored fields, as the audit trail records them: never computed or
    /// caller-specific ones.
    fn record(&self) -> Value;
    /// Loads the resource with its children, in a fixed number of queries.
    fn load<C: ConnectionTrait>(
        conn: &C,
        id: &str,
    ) -> impl Future<Output = Result<Option<Self>>> + Send;
}

/// Moves the row to the next version while it is still at the version just read, so of two
/// concurrent writers one wins and the other gets `VersionMismatch`. On PostgreSQL this takes
/// the row lock before any child row is touched.
pub async fn bump_version<A: Aggregate, C: ConnectionTrait>(
    conn: &C,
    before: &A,
    at: DateTime<Utc>,
) -> Result<()> {
    let bumped = conn
        .execute(
            Query::update()
                .table(A::Entity::default().table_ref())
                .value("version", before.version() + 1)
                .value("updated_at", at)
                .and_where(Expr::col("id").eq(before.id()))
                .and_where(Expr::col("version").eq(before.version())),
        )
        .await?;
    if bumped.rows_affected() == 0 {
        return Err(DomainError::VersionMismatch.into());
    }
    Ok(())
}

/// Deletes the row (its children go with it) while it is still at the version just read.
pub async fn delete_at_version<A: Aggregate, C: ConnectionTrait>(
    conn: &C,
    before: &A,
) -> Result<()> {
    let deleted = conn
        .execute(
            Query::delete()
                .from_table(A::Entity::default().table_ref())
                .and_where(Expr::col("id").eq(before.id()))
                .and_where(Expr::col("version").eq(before.version())),
        )
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(DomainError::VersionMismatch.into());
    }
    Ok(())
}
