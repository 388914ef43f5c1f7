//! `Idempotency-Key` bookkeeping: the first response to a (user, key) is kept for 24 hours
//! and returned again for a retry with the same request. A reservation whose request has
//! not answered within its lease (the server died) is taken over by the next retry.

use chrono::{DateTime, Duration, Utc};
use sea_orm::DatabaseConnection;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::persistence::entities::idempotency_key as row;
use crate::persistence::idempotency_keys as stored;

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
    let id = (user_id, key);
    stored::purge(db, now - Duration::hours(RETENTION_HOURS)).await?;
    if stored::insert(db, id, request_hash, now).await? {
        return Ok(Reservation::New);
    }
    let Some(existing) = stored::find(db, id).await? else {
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
        e if e.created_at < now - lease => {
            if stored::take_over(db, id, now - lease, now).await? {
                Reservation::New
            } else {
                Reservation::InProgress
            }
        }
        _ => Reservation::InProgress,
    })
}

pub async fn complete(
    db: &DatabaseConnection,
    user_id: &str,
    key: &str,
    response: &StoredResponse,
) -> Result<()> {
    let (status, body, headers) = (response.status, &response.body, &response.headers);
    stored::store_response(db, (user_id, key), status, body, headers).await
}

/// Forgets a reservation whose request failed on the server, so a retry runs again.
pub async fn release(db: &DatabaseConnection, user_id: &str, key: &str) -> Result<()> {
    stored::delete(db, (user_id, key)).await
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
