//! Login throttling: failure counters per account and per client address, kept in the
//! database so every replica sees the same counts.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::{Auth, sha256_hex};
use crate::error::{Error, Result};
use crate::persistence::entities::login_failure;
use crate::persistence::login_attempts;

/// The throttle key of an account: fixed length whatever the email, so it fits the column.
pub(super) fn account_key(normalized_email: &str) -> String {
    format!("account:{}", sha256_hex(normalized_email))
}

/// Counts one login attempt against `key`; see [`login_attempts::count`].
pub(super) async fn count_attempt(
    db: &DatabaseConnection,
    auth: &Auth,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(u32, DateTime<Utc>)> {
    let cutoff = now - Duration::seconds(auth.login_window_secs as i64);
    login_attempts::count(db, key, now, cutoff).await
}

/// Deletes expired throttle rows, at most once a minute per process, so attempts on
/// unknown emails do not grow the table for ever.
pub(super) async fn purge_expired_attempts(
    db: &DatabaseConnection,
    auth: &Auth,
    now: DateTime<Utc>,
) -> Result<()> {
    static LAST_PURGE: AtomicI64 = AtomicI64::new(i64::MIN);
    let last = LAST_PURGE.load(Ordering::Relaxed);
    let due = last == i64::MIN || now.timestamp() - last >= 60;
    if !due
        || LAST_PURGE
            .compare_exchange(last, now.timestamp(), Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return Ok(());
    }
    let cutoff = now - Duration::seconds(auth.login_window_secs as i64);
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::WindowStart.lt(cutoff))
        .exec(db)
        .await?;
    Ok(())
}

/// 429 when `count` attempts exceed `max`; Retry-After is the end of the window.
pub(super) fn refuse_over_limit(
    auth: &Auth,
    (count, window_start): (u32, DateTime<Utc>),
    max: u32,
    now: DateTime<Utc>,
) -> Result<()> {
    if count <= max {
        return Ok(());
    }
    let window_end = window_start + Duration::seconds(auth.login_window_secs as i64);
    let retry_after_secs = std::cmp::max((window_end - now).num_seconds(), 1) as u64;
    Err(Error::RateLimited { retry_after_secs })
}
