//! `Idempotency-Key` bookkeeping: the first response to a (user, key) is kept for 24 hours
//! and returned again for a retry with the same request. A reservation whose request has
//! not answered within its lease (the server died) is taken over by the next retry.

use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::persistence::entities::idempotency_key::{self as row, Entity};
use crate::persistence::is_unique_violation;
use chrono::{DateTime, Utc};

pub const RETENTION_HOURS: i64 = 24;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    /// JSON object of the headers to replay, each a text or a list of texts.
    pub headers: String,
}

pub enum Reservation {
    /// First time, or a takeover of a reservation whose lease ran out: go ahead, then
    /// `complete` or `release`.
    New,
    Replay(StoredResponse),
    /// The first request with this key has not finished yet.
    InProgress,
    /// The key was used with a different request.
    Mismatch,
}

/// What makes two requests the same: method, target and body. A JSON body counts as parsed,
/// so neither key order nor whitespace makes another request.
pub fn fingerprint(method: &str, target: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method);
    hasher.update(b" ");
    hasher.update(target);
    hasher.update(b"\n");
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => hasher.update(canonical(value).to_string()),
        Err(_) => hasher.update(body),
    }
    hex::encode(hasher.finalize())
}

/// The same JSON with every object's keys sorted.
fn canonical(value: Value) -> Value {
    match value {
        Value::Object(fields) => {
            let mut fields: Vec<(String, Value)> = fields.into_iter().collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(fields.into_iter().map(|(k, v)| (k, canonical(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// Reserves (user, key) for this request. `lease` is how long a reservation without a
/// response stands before a retry may take it over; it is counted from `created_at`, which
/// a takeover renews.
pub async fn reserve(
    db: &DatabaseConnection,
    user_id: &str,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
    lease: Duration,
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
                e if e.created_at < now - lease => take_over(db, user_id, key, now, lease).await?,
                _ => Reservation::InProgress,
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// One statement, so of two retries racing for a dead reservation only one wins.
async fn take_over(
    db: &DatabaseConnection,
    user_id: &str,
    key: &str,
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<Reservation> {
    let taken = Entity::update_many()
        .col_expr(row::Column::CreatedAt, Expr::value(now))
        .filter(row::Column::UserId.eq(user_id))
        .filter(row::Column::Key.eq(key))
        .filter(row::Column::Status.is_null())
        .filter(row::Column::CreatedAt.lt(now - lease))
        .exec(db)
        .await?;
    Ok(if taken.rows_affected == 1 {
        Reservation::New
    } else {
        Reservation::InProgress
    })
}

pub async fn complete(
    db: &DatabaseConnection,
    user_id: &str,
    key: &str,
    response: &StoredResponse,
) -> Result<()> {
    row::ActiveModel {
        user_id: Set(user_id.to_string()),
        key: Set(key.to_string()),
        status: Set(Some(response.status as i32)),
        response_body: Set(Some(response.body.clone())),
        response_headers: Set(Some(response.headers.clone())),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_reads_json_as_parsed() {
        let a = fingerprint("POST", "/x", br#"{"a": 1, "b": {"c": [1, 2], "d": null}}"#);
        let b = fingerprint("POST", "/x", br#"{"b":{"d":null,"c":[1,2]},"a":1}"#);
        assert_eq!(a, b);
        assert_ne!(
            a,
            fingerprint("POST", "/x", br#"{"a": 1, "b": {"c": [2, 1], "d": null}}"#)
        );
        assert_ne!(
            a,
            fingerprint("POST", "/y", br#"{"a": 1, "b": {"c": [1, 2], "d": null}}"#)
        );
        assert_ne!(
            fingerprint("POST", "/x", b"not json"),
            fingerprint("POST", "/x", b"not  json")
        );
    }
}
