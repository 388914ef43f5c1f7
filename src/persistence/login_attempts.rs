//! The failed-login counters behind login throttling. Each row is a counter's level as of a
//! time; changes are compare-and-swap on both, so concurrent writers (on any replica)
//! never lose a count.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Statement,
};

use crate::error::Error;
use crate::persistence::entities::login_failure;

/// A counter: `level` failures as of `as_of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub level: u32,
    pub as_of: DateTime<Utc>,
}

pub async fn load(db: &DatabaseConnection, key: &str) -> Result<Option<Counter>, Error> {
    Ok(login_failure::Entity::find_by_id(key.to_string())
        .one(db)
        .await?
        .map(|row| Counter {
            level: u32::try_from(row.failures).unwrap_or(0),
            as_of: row.window_start,
        }))
}

/// Replaces the counter `before` (None: no row) with `after`; false when another writer
/// changed it first, and the caller should read it again.
pub async fn replace(
    db: &DatabaseConnection,
    key: &str,
    before: Option<Counter>,
    after: Counter,
) -> Result<bool, Error> {
    let level = stored(after.level);
    let changed = match before {
        None => {
            let backend = db.get_database_backend();
            let sql = match backend {
                sea_orm::DbBackend::Postgres => INSERT_NEW_SQL
                    .replacen('?', "$1", 1)
                    .replacen('?', "$2", 1)
                    .replacen('?', "$3", 1),
                _ => INSERT_NEW_SQL.to_string(),
            };
            let statement = Statement::from_sql_and_values(
                backend,
                sql,
                [key.into(), after.as_of.into(), level.into()],
            );
            db.execute_raw(statement).await?.rows_affected()
        }
        Some(before) => {
            login_failure::Entity::update_many()
                .col_expr(login_failure::Column::Failures, Expr::value(level))
                .col_expr(login_failure::Column::WindowStart, Expr::value(after.as_of))
                .filter(login_failure::Column::Key.eq(key))
                .filter(login_failure::Column::Failures.eq(stored(before.level)))
                .filter(login_failure::Column::WindowStart.eq(before.as_of))
                .exec(db)
                .await?
                .rows_affected
        }
    };
    Ok(changed == 1)
}

fn stored(level: u32) -> i32 {
    i32::try_from(level).unwrap_or(i32::MAX)
}

/// Placeholders: key, as of, level.
const INSERT_NEW_SQL: &str = "INSERT INTO login_failures (key, window_start, failures) \
     VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING";

pub async fn delete(db: &DatabaseConnection, key: &str) -> Result<(), Error> {
    login_failure::Entity::delete_by_id(key.to_string())
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes counters last changed before `cutoff`.
pub async fn purge(db: &DatabaseConnection, cutoff: DateTime<Utc>) -> Result<(), Error> {
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::WindowStart.lt(cutoff))
        .exec(db)
        .await?;
    Ok(())
}
