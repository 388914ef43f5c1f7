//! `Idempotency-Key` bookkeeping: the first response to a (user, key) is kept for 24 hours
//! and returned again for a retry with the same request.

use chrono::Duration;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use crate::error::Result;
use crate::persistence::entities::idempotency_key::{self as row, Entity};
use crate::persistence::is_unique_violation;
use chrono::{DateTime, Utc};

pub const RETENTION_HOURS: i64 = 24;

pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    /// JSON object of the headers to replay (content type, location, ETag).
    pub headers: String,
}

pub enum Reservation {
    /// First time: go ahead, then `complete` or `release`.
    New,
    Replay(StoredResponse),
    /// The first request with this key has not finished yet.
    InProgress,
    /// The key was used with a different request.
    Mismatch,
}

pub async fn reserve(
    db: &DatabaseConnection,
    user_id: &str,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
) -> Result<Reservation> {
    let expired_before = now - Duration::hours(RETENTION_HOURS);
    Entity::delete_many()
        .filter(row::Column::CreatedAt.lt(expired_before))
        .exec(db)
        .await?;
    let inserted = row::ActiveModel {
        user_id: Set(user_id.to_string()),
        key: Set(key.to_string()),
        request_hash: Set(request_hash.to_string()),
        status: Set(None),
        response_body: Set(None),
        response_headers: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await;
    match inserted {
        Ok(_) => Ok(Reservation::New),
        Err(e) if is_unique_violation(&e) => {
            let Some(existing) = Entity::find_by_id((user_id.to_string(), key.to_string()))
                .one(db)
                .await?
            else {
                return Ok(Reservation::InProgress);
            };
            Ok(match existing {
                e if e.request_hash != request_hash => Reservation::Mismatch,
                row::Model {
                    status: Some(status),
                    response_body,
                    response_headers,
                    ..
                } => Reservation::Replay(StoredResponse {
                    status: status as u16,
                    body: response_body.unwrap_or_default(),
                    headers: response_headers.unwrap_or_else(|| "{}".into()),
                }),
                _ => Reservation::InProgress,
            })
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn complete(
    db: &DatabaseConnection,
    user_id: &str,
    key: &str,
    response: StoredResponse,
) -> Result<()> {
    row::ActiveModel {
        user_id: Set(user_id.to_string()),
        key: Set(key.to_string()),
        status: Set(Some(response.status as i32)),
        response_body: Set(Some(response.body)),
        response_headers: Set(Some(response.headers)),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

/// Forgets a reservation whose request failed on the server, so a retry runs again.
pub async fn release(db: &DatabaseConnection, user_id: &str, key: &str) -> Result<()> {
    Entity::delete_by_id((user_id.to_string(), key.to_string()))
        .exec(db)
        .await?;
    Ok(())
}
