//! Database access: connection, migrations, seed data and the sea-orm entities.

pub mod aggregate;
pub mod entities;
pub mod login_attempts;
pub mod page;
pub mod processes;
pub mod sms_roles;
pub mod users;

use std::collections::HashSet;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DbErr, EntityTrait, QueryFilter, Set, SqlErr,
};

pub use aggregate::Aggregate;

use crate::domain::{DomainError, clause};
use crate::error::Error;

/// Connects to SQLite or PostgreSQL. SQLite gets WAL, foreign keys and a busy timeout,
/// which sqlx does not set by default.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or_default();
        if let Some(dir) = std::path::Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
        }
    }
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(max_connections)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .create_if_missing(true)
        });
    Database::connect(options).await
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Loads the clause catalog; existing clauses are left as they are.
pub async fn seed_clauses(db: &DatabaseConnection) -> Result<(), DbErr> {
    use entities::clause::{ActiveModel, Column, Entity};
    let rows = clause::catalog()
        .iter()
        .enumerate()
        .map(|(i, c)| ActiveModel {
            clause: Set(c.clause.clone()),
            title: Set(c.title.clone()),
            parent: Set(c.parent.clone()),
            is_process: Set(c.is_process),
            position: Set(i as i32),
        });
    Entity::insert_many(rows)
        .on_conflict_do_nothing_on([Column::Clause])
        .exec(db)
        .await?;
    Ok(())
}

/// Writes `changes` only while the row is still at `version`, so of two concurrent writers
/// one wins and the other gets `VersionMismatch` (this holds under PostgreSQL's READ
/// COMMITTED too). `changes` sets the next version; `on_error` maps database errors.
pub async fn update_versioned<A, C>(
    conn: &C,
    (id_column, id): (<A::Entity as EntityTrait>::Column, &str),
    (version_column, version): (<A::Entity as EntityTrait>::Column, i64),
    changes: A,
    on_error: impl FnOnce(DbErr) -> Error,
) -> Result<(), Error>
where
    A: ActiveModelTrait + Send,
    C: ConnectionTrait,
{
    let result = <A::Entity as EntityTrait>::update_many()
        .set(changes)
        .filter(id_column.eq(id))
        .filter(version_column.eq(version))
        .exec(conn)
        .await
        .map_err(on_error)?;
    if result.rows_affected == 0 {
        return Err(DomainError::VersionMismatch.into());
    }
    Ok(())
}

/// Deletes the row only while it is still at `version`.
pub async fn delete_versioned<E, C>(
    conn: &C,
    (id_column, id): (E::Column, &str),
    (version_column, version): (E::Column, i64),
) -> Result<(), Error>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let result = E::delete_many()
        .filter(id_column.eq(id))
        .filter(version_column.eq(version))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Err(DomainError::VersionMismatch.into());
    }
    Ok(())
}

/// A case-insensitive "contains" pattern for `LIKE` over a lower-cased column; `%`, `_` and
/// `\` in the text match themselves.
pub fn contains(text: &str) -> sea_orm::sea_query::LikeExpr {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\')
}

pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

pub fn is_foreign_key_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(SqlErr::ForeignKeyConstraintViolation(_))
    )
}

/// Lists are stored as JSON text so both backends hold them the same way.
pub fn to_json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serializes")
}

pub fn from_json_text<T: serde::de::DeserializeOwned + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}

/// Which of `ids` exist in the table of `E` (whose key column is `id`), in one query.
pub async fn existing_ids<E, C>(conn: &C, ids: &[&str]) -> Result<HashSet<String>, Error>
where
    E: EntityTrait + Default,
    C: ConnectionTrait,
{
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let rows = conn
        .query_all(
            Query::select()
                .column("id")
                .from(E::default().table_ref())
                .and_where(Expr::col("id").is_in(ids.iter().copied())),
        )
        .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String>("", "id")?))
        .collect()
}
