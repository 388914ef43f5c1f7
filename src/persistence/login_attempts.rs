//! The login-attempt counters behind login throttling.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::error::Error;

/// Counts one login attempt against `key` in a single statement (so concurrent attempts
/// cannot all slip under the limit) and returns the attempts in the current window and the
/// window's start. A window that started before `cutoff` starts over.
pub async fn count(
    db: &DatabaseConnection,
    key: &str,
    now: DateTime<Utc>,
    cutoff: DateTime<Utc>,
) -> Result<(u32, DateTime<Utc>), Error> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => COUNT_ATTEMPT_SQL
            .replacen('?', "$1", 1)
            .replacen('?', "$2", 1)
            .replacen('?', "$3", 1)
            .replacen('?', "$4", 1),
        _ => COUNT_ATTEMPT_SQL.to_string(),
    };
    let statement = Statement::from_sql_and_values(
        backend,
        sql,
        [key.into(), now.into(), cutoff.into(), cutoff.into()],
    );
    let row = db
        .query_one_raw(statement)
        .await?
        .ok_or_else(|| Error::Internal("counting a login attempt returned no row".into()))?;
    let failures: i32 = row.try_get("", "failures")?;
    let window_start: DateTime<Utc> = row.try_get("", "window_start")?;
    Ok((u32::try_from(failures).unwrap_or(0), window_start))
}

/// Placeholders: key, now, window cutoff, window cutoff.
const COUNT_ATTEMPT_SQL: &str = "INSERT INTO login_failures (key, window_start, failures) \
     VALUES (?, ?, 1) \
     ON CONFLICT (key) DO UPDATE SET \
     failures = CASE WHEN login_failures.window_start > ? \
         THEN login_failures.failures + 1 ELSE 1 END, \
     window_start = CASE WHEN login_failures.window_start > ? \
         THEN login_failures.window_start ELSE excluded.window_start END \
     RETURNING failures, window_start";
