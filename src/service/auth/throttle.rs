//! Login throttling: failed logins per account and per client address, counted in the
//! database so every replica sees the same counts.
//!
//! Each counter is a leaky bucket: a failure adds one, and one drains away every
//! `window / limit`, so a counter at its limit gives an attempt back after that interval
//! instead of locking for a whole window. Successful logins never count against an address.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};
use sea_orm::DatabaseConnection;

use super::{Auth, sha256_hex};
use crate::error::{Error, Result};
use crate::persistence::login_attempts::{self, Counter};

/// How many failures a counter allows in how long.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limit {
    pub max: u32,
    pub window: Duration,
}

impl Limit {
    pub fn per_account(auth: &Auth) -> Self {
        Limit {
            max: auth.max_failures_per_account,
            window: Duration::seconds(auth.login_window_secs as i64),
        }
    }

    pub fn per_address(auth: &Auth) -> Self {
        Limit {
            max: auth.max_failures_per_address,
            window: Duration::seconds(auth.login_window_secs as i64),
        }
    }

    /// How long one failure takes to drain away.
    fn drain_interval(&self) -> Duration {
        let micros =
            self.window.num_microseconds().unwrap_or(i64::MAX) / i64::from(self.max.max(1));
        Duration::microseconds(micros.max(1))
    }

    /// The counter at `now`, with whole intervals drained; the remainder of a partly
    /// drained interval is kept in `as_of`.
    fn drained(&self, counter: Option<Counter>, now: DateTime<Utc>) -> Counter {
        let Some(counter) = counter else {
            return Counter {
                level: 0,
                as_of: now,
            };
        };
        let interval = self.drain_interval();
        let elapsed = (now - counter.as_of).max(Duration::zero());
        let intervals = elapsed.num_microseconds().unwrap_or(i64::MAX)
            / interval.num_microseconds().unwrap_or(1);
        if intervals >= i64::from(counter.level) {
            return Counter {
                level: 0,
                as_of: now,
            };
        }
        Counter {
            level: counter.level - intervals as u32,
            as_of: counter.as_of + interval * intervals as i32,
        }
    }

    /// 429 when the drained counter is at the limit; Retry-After is when it drops below.
    fn refuse_at_limit(&self, counter: Counter, now: DateTime<Utc>) -> Result<()> {
        if counter.level < self.max {
            return Ok(());
        }
        let over = (counter.level - self.max + 1) as i32;
        let free_at = counter.as_of + self.drain_interval() * over;
        let secs = (free_at - now).num_milliseconds().saturating_add(999) / 1000;
        Err(Error::RateLimited {
            retry_after_secs: secs.max(1) as u64,
        })
    }
}

/// The throttle key of an account: fixed length whatever the email, so it fits the column.
pub(super) fn account_key(normalized_email: &str) -> String {
    format!("account:{}", sha256_hex(normalized_email))
}

pub(super) fn address_key(client_addr: &str) -> String {
    format!("address:{client_addr}")
}

/// Changes a counter with `change` (None refuses, leaving it as it is), retrying when
/// another writer got there first.
async fn update(
    db: &DatabaseConnection,
    key: &str,
    limit: Limit,
    now: DateTime<Utc>,
    change: impl Fn(Counter) -> Result<Counter>,
) -> Result<()> {
    loop {
        let stored = login_attempts::load(db, key).await?;
        let after = change(limit.drained(stored, now))?;
        if login_attempts::replace(db, key, stored, after).await? {
            return Ok(());
        }
    }
}

/// Lets a login attempt go ahead, or answers 429. The address is refused at its limit of
/// failures; the account takes the attempt as a failure up front (so parallel guesses
/// cannot slip past its limit), given back by [`succeeded`].
pub(super) async fn admit(
    db: &DatabaseConnection,
    auth: &Auth,
    account_key: &str,
    address_key: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    purge_expired(db, auth, now).await?;
    let by_address = Limit::per_address(auth);
    let stored = login_attempts::load(db, address_key).await?;
    by_address.refuse_at_limit(by_address.drained(stored, now), now)?;
    let by_account = Limit::per_account(auth);
    update(db, account_key, by_account, now, |counter| {
        by_account.refuse_at_limit(counter, now)?;
        Ok(Counter {
            level: counter.level + 1,
            ..counter
        })
    })
    .await
}

/// A failed login: counts against the address (the account counted it on admission).
pub(super) async fn failed(
    db: &DatabaseConnection,
    auth: &Auth,
    address_key: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    update(db, address_key, Limit::per_address(auth), now, |counter| {
        Ok(Counter {
            level: counter.level.saturating_add(1),
            ..counter
        })
    })
    .await
}

/// A successful login clears the account's failures.
pub(super) async fn succeeded(db: &DatabaseConnection, account_key: &str) -> Result<()> {
    login_attempts::delete(db, account_key).await
}

/// Deletes counters idle for a whole window (drained by then), at most once a minute per
/// process, so attempts on unknown emails do not grow the table for ever.
async fn purge_expired(db: &DatabaseConnection, auth: &Auth, now: DateTime<Utc>) -> Result<()> {
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
    login_attempts::purge(db, cutoff).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit() -> Limit {
        Limit {
            max: 5,
            window: Duration::seconds(900),
        }
    }

    #[test]
    fn failures_drain_one_per_interval() {
        let t0 = Utc::now();
        let full = Counter {
            level: 5,
            as_of: t0,
        };
        let l = limit();
        assert_eq!(l.drained(Some(full), t0).level, 5);
        assert_eq!(l.drained(Some(full), t0 + Duration::seconds(179)).level, 5);
        let one_out = l.drained(Some(full), t0 + Duration::seconds(200));
        assert_eq!(one_out.level, 4);
        assert_eq!(
            one_out.as_of,
            t0 + Duration::seconds(180),
            "keeps the part drained"
        );
        assert_eq!(l.drained(Some(full), t0 + Duration::seconds(900)).level, 0);
        assert_eq!(l.drained(None, t0).level, 0);
    }

    #[test]
    fn at_the_limit_retry_after_is_the_next_drain() {
        let t0 = Utc::now();
        let l = limit();
        let full = Counter {
            level: 5,
            as_of: t0,
        };
        match l.refuse_at_limit(full, t0 + Duration::seconds(30)) {
            Err(Error::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 150),
            other => panic!("{other:?}"),
        }
        assert!(
            l.refuse_at_limit(
                Counter {
                    level: 4,
                    as_of: t0
                },
                t0
            )
            .is_ok()
        );
    }
}
