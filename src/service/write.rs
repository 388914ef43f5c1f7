//! The one write path. Every change of a stored resource goes through `create`, `modify` or
//! `remove`, which fix the order of the steps:
//! begin → load → check the expected version → bump the version (taking the row lock
//! before anything else) → apply the change → append the audit row last → commit.
//! A change that changes nothing writes nothing.

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction};

use super::{Caller, audit_trail, begin_write, check_version, new_id};
use crate::domain::DomainError;
use crate::error::Result;
use crate::persistence::aggregate::{Aggregate, bump_version, delete_at_version};

async fn load_existing<A: Aggregate, C: ConnectionTrait>(conn: &C, id: &str) -> Result<A> {
    Ok(A::load(conn, id)
        .await?
        .ok_or(DomainError::NotFound(A::NOUN))?)
}

/// Inserts a new resource: `insert` writes its rows under the new id.
pub async fn create<A: Aggregate>(
    db: &DatabaseConnection,
    caller: &Caller,
    insert: impl AsyncFnOnce(&DatabaseTransaction, &str) -> Result<()>,
) -> Result<A> {
    let tx = begin_write(db).await?;
    let created = create_in(&tx, caller, insert).await?;
    tx.commit().await?;
    Ok(created)
}

/// `create` inside a transaction the caller holds, for a resource created as part of a
/// change of another one (which takes its version bump first), such as an action decided
/// by a management review.
pub async fn create_in<A: Aggregate>(
    tx: &DatabaseTransaction,
    caller: &Caller,
    insert: impl AsyncFnOnce(&DatabaseTransaction, &str) -> Result<()>,
) -> Result<A> {
    let id = new_id();
    insert(tx, &id).await?;
    let created: A = load_existing(tx, &id).await?;
    audit_trail::record(
        tx,
        Some(caller),
        "create",
        A::KIND,
        &id,
        None,
        Some(&created.record()),
    )
    .await?;
    Ok(created)
}

/// Changes a resource. `decide` sees the stored resource and returns the change to make, or
/// `None` when there is nothing to change (then nothing is written and the resource is
/// returned as it is); `apply` writes the change after the version is bumped.
pub async fn modify<A: Aggregate, P>(
    db: &DatabaseConnection,
    caller: &Caller,
    target: (&str, Option<i64>),
    action: &str,
    decide: impl FnOnce(&A) -> Result<Option<P>>,
    apply: impl AsyncFnOnce(&DatabaseTransaction, P) -> Result<()>,
) -> Result<A> {
    let tx = begin_write(db).await?;
    let (after, changed) = modify_in(&tx, caller, target, action, decide, apply).await?;
    if changed {
        tx.commit().await?;
    }
    Ok(after)
}

/// `modify` inside a transaction the caller holds, for a change that moves several
/// resources at once (each gets its own version bump and audit row). Returns the resource
/// and whether anything changed.
pub async fn modify_in<A: Aggregate, P>(
    tx: &DatabaseTransaction,
    caller: &Caller,
    (id, expected_version): (&str, Option<i64>),
    action: &str,
    decide: impl FnOnce(&A) -> Result<Option<P>>,
    apply: impl AsyncFnOnce(&DatabaseTransaction, P) -> Result<()>,
) -> Result<(A, bool)> {
    let before: A = load_existing(tx, id).await?;
    check_version(expected_version, before.version())?;
    let Some(change) = decide(&before)? else {
        return Ok((before, false));
    };
    bump_version(tx, &before, caller.now).await?;
    apply(tx, change).await?;
    let after: A = load_existing(tx, id).await?;
    audit_trail::record(
        tx,
        Some(caller),
        action,
        A::KIND,
        id,
        Some(&before.record()),
        Some(&after.record()),
    )
    .await?;
    Ok((after, true))
}

/// Deletes a resource (its children go with it) once `check` allows it.
pub async fn remove<A: Aggregate>(
    db: &DatabaseConnection,
    caller: &Caller,
    (id, expected_version): (&str, Option<i64>),
    check: impl AsyncFnOnce(&DatabaseTransaction, &A) -> Result<()>,
) -> Result<()> {
    let tx = begin_write(db).await?;
    let before: A = load_existing(&tx, id).await?;
    check_version(expected_version, before.version())?;
    check(&tx, &before).await?;
    delete_at_version(&tx, &before).await?;
    audit_trail::record(
        &tx,
        Some(caller),
        "delete",
        A::KIND,
        id,
        Some(&before.record()),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
