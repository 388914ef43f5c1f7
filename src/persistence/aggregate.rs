//! What the one write path (`service::write`) needs to know of a stored resource.

use std::future::Future;

use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::Value;

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
