//! `Idempotency-Key` reservations and the responses they keep.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::entities::idempotency_key::{self as row, Entity, Model};
use super::is_unique_violation;
use crate::error::Result;

/// Forgets reservations made before `before`.
pub async fn purge<C: ConnectionTrait>(db: &C, before: DateTime<Utc>) -> Result<()> {
    Entity::delete_many()
        .filter(row::Column::CreatedAt.lt(before))
        .exec(db)
        .await?;
    Ok(())
}

/// Reserves (user, key); false when it is reserved already.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    (user_id, key): (&str, &str),
    request_hash: &str,
    at: DateTime<Utc>,
) -> Result<bool> {
    let inserted = row::ActiveModel {
        user_id: Set(user_id.to_string()),
        key: Set(key.to_string()),
        request_hash: Set(request_hash.to_string()),
        status: Set(None),
        response_body: Set(None),
        response_headers: Set(None),
        created_at: Set(at),
    }
    .insert(db)
    .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    (user_id, key): (&str, &str),
) -> Result<Option<Model>> {
    Ok(Entity::find_by_id((user_id.to_string(), key.to_string()))
        .one(db)
        .await?)
}

/// Renews a reservation that has no response and was made before `stale_before`, in one
/// statement, so of two retries racing for it only one wins. True for the winner.
pub async fn take_over<C: ConnectionTrait>(
    db: &C,
    (user_id, key): (&str, &str),
    stale_before: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<bool> {
    let taken = Entity::update_many()
        .col_expr(row::Column::CreatedAt, Expr::value(at))
        .filter(row::Column::UserId.eq(user_id))
        .filter(row::Column::Key.eq(key))
        .filter(row::Column::Status.is_null())
        .filter(row::Column::CreatedAt.lt(stale_before))
        .exec(db)
        .await?;
    Ok(taken.rows_affected == 1)
}

pub async fn store_response<C: ConnectionTrait>(
    db: &C,
    (user_id, key): (&str, &str),
    status: u16,
    body: &str,
    headers: &str,
) -> Result<()> {
    row::ActiveModel {
        user_id: Set(user_id.to_string()),
        key: Set(key.to_string()),
        status: Set(Some(i32::from(status))),
        response_body: Set(Some(body.to_string())),
        response_headers: Set(Some(headers.to_string())),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

pub async fn delete<C: ConnectionTrait>(db: &C, (user_id, key): (&str, &str)) -> Result<()> {
    Entity::delete_by_id((user_id.to_string(), key.to_string()))
        .exec(db)
        .await?;
    Ok(())
}
