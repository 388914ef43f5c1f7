//! Database access: connection, migrations, seed data and the sea-orm entities.

pub mod aggregate;
pub mod assessments;
pub mod audits;
pub mod clauses;
pub mod corrective_actions;
pub mod demo;
pub mod documents;
pub mod entities;
pub mod events;
pub mod findings;
pub mod history;
pub mod idempotency_keys;
pub mod imports;
pub mod improvements;
pub mod login_attempts;
pub mod management_reviews;
pub mod objectives;
pub mod page;
pub mod processes;
pub mod readiness;
pub mod refresh_tokens;
pub mod reports;
pub mod risks;
pub mod sms_roles;
pub mod training_records;
pub mod users;
pub mod webhooks;
pub mod write_queue;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, QueryFilter, QueryOrder, RuntimeErr, Set, SqlErr, TransactionTrait,
};

pub use aggregate::Aggregate;

use crate::config::DatabaseSettings;
use crate::domain::clause;
use crate::error::Error;

/// Connects to SQLite or PostgreSQL. SQLite gets WAL, foreign keys and a busy timeout,
/// which sqlx does not set by default. Every PostgreSQL connection gets a statement and a
/// lock timeout, so a blocked query gives its connection back instead of holding it
/// while the pool runs dry.
pub async fn connect(url: &str, settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    let db = Database::connect(connect_options(url, settings)?).await?;
    write_queue::register(&db, Duration::from_millis(settings.lock_timeout_ms));
    Ok(db)
}

/// `connect` for a command that runs many short transactions one after the other
/// (`seed-demo`): one connection, so SQLite keeps its page cache from one transaction to the
/// next.
pub async fn connect_for_batch(
    url: &str,
    settings: &DatabaseSettings,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = connect_options(url, settings)?;
    options.max_connections(1);
    let db = Database::connect(options).await?;
    write_queue::register(&db, Duration::from_millis(settings.lock_timeout_ms));
    Ok(db)
}

/// How long a pooled connection may sit idle before it is pinged again before it is lent.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// How many rows a SQLite connection's worker thread may read ahead of the query's reader.
/// sqlx's default of 50 made the worker stop and wait for the reader in the middle of every
/// page and every child query, and each stop cost two thread switches.
const MAX_ROWS_IN_FLIGHT: usize = 1024;

fn connect_options(url: &str, settings: &DatabaseSettings) -> Result<ConnectOptions, DbErr> {
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
    let acquire_timeout = Duration::from_millis(settings.acquire_timeout_ms);
    let lock_timeout = Duration::from_millis(settings.lock_timeout_ms);
    let pg_timeouts = [
        ("statement_timeout", settings.statement_timeout_ms),
        ("lock_timeout", settings.lock_timeout_ms),
    ];
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(settings.max_connections)
        .connect_timeout(acquire_timeout)
        .acquire_timeout(acquire_timeout)
        .sqlx_logging(false)
        // The pool pings every connection as it comes back. One idle for longer than
        // `PING_AFTER_IDLE` is pinged again before it is lent (a PostgreSQL server may have
        // dropped it meanwhile); pinging every one cost a round trip per request.
        .test_before_acquire(false)
        .test_before_acquire_if_idle_for(PING_AFTER_IDLE)
        .map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(lock_timeout)
                .create_if_missing(true)
                .row_buffer_size(MAX_ROWS_IN_FLIGHT)
                // 1 MiB of page cache per connection instead of SQLite's 2: the file stays in
                // the system's cache anyway, and a report filled every pooled connection's.
                .pragma("cache_size", "-1024")
        })
        .map_sqlx_sqlite_pool_opts(|o| o.after_connect(|conn, _| Box::pin(keep_plans(conn))))
        .map_sqlx_postgres_opts(move |o| o.options(pg_timeouts));
    Ok(options)
}

/// Turns on SQLite's query planner stability guarantee for a new connection. Without it
/// SQLite plans a statement again whenever a bound value might change the plan, and a bound
/// `LIMIT ?` (every `find_by_id().one()`, every page) always counts: each execution of a
/// cached statement would parse and plan it anew, which took a tenth to a fifth of the
/// service's time.
async fn keep_plans(
    conn: &mut sea_orm::sqlx::SqliteConnection,
) -> Result<(), sea_orm::sqlx::Error> {
    use libsqlite3_sys::{SQLITE_DBCONFIG_ENABLE_QPSG, SQLITE_OK, sqlite3_db_config};
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is this open connection's handle, locked for the call; the option takes
    // an int to set and a nullable pointer to report back through.
    let rc = unsafe {
        sqlite3_db_config(
            db,
            SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as std::ffi::c_int,
            std::ptr::null_mut::<std::ffi::c_int>(),
        )
    };
    if rc != SQLITE_OK {
        return Err(sea_orm::sqlx::Error::Configuration(
            format!("SQLite refused the query planner stability guarantee (code {rc})").into(),
        ));
    }
    Ok(())
}

/// Any fixed number, the same in every replica: the key of the advisory lock that
/// serializes migrations.
const MIGRATION_LOCK_KEY: i64 = 0x6974_736d_735f_6d67;

/// Applies the migrations and loads the clause catalog.
///
/// On PostgreSQL this is one transaction holding an advisory lock, so replicas starting
/// together on an empty database take turns: the first applies everything, the others
/// wait and then find nothing left to do; a failure leaves nothing half applied. (Every
/// migration must therefore be able to run inside a transaction.) SQLite is one file with
/// one writer and needs no lock.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        Migrator::up(db, None).await?;
        return seed_clauses(db).await;
    }
    let txn = db.begin().await?;
    // Waiting for another replica's migrations may take longer than any request may.
    txn.execute_unprepared("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0")
        .await?;
    txn.execute_unprepared(&format!(
        "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
    ))
    .await?;
    Migrator::up(&txn, None).await?;
    seed_clauses(&txn).await?;
    txn.commit().await
}

/// Loads the clause catalog; existing clauses are left as they are.
async fn seed_clauses(db: &impl ConnectionTrait) -> Result<(), DbErr> {
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

/// Database trouble that passes by itself, so the same request may succeed when retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transient {
    /// Contention with other work: a deadlock, a serialization failure, a lock or statement
    /// timeout, SQLite busy or locked. Clears in moments.
    Contention,
    /// The database cannot be reached, takes no connections now, or the pool has none to
    /// hand out. The pool reconnects by itself once the database is back.
    Unavailable,
}

pub fn is_transient(err: &DbErr) -> bool {
    transient(err).is_some()
}

/// Whether a database error is passing trouble (see [`Transient`]) rather than a fault
/// that a retry would meet again.
pub fn transient(err: &DbErr) -> Option<Transient> {
    match err {
        DbErr::ConnectionAcquire(_) => Some(Transient::Unavailable),
        // Errors from acquiring a connection, which opens one when the pool has none idle.
        DbErr::Conn(RuntimeErr::SqlxError(e)) => sqlx_transient(e, true),
        // sea-orm's own "disconnected": the pool was closed.
        DbErr::Conn(_) => Some(Transient::Unavailable),
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            sqlx_transient(e, false)
        }
        _ => None,
    }
}

fn sqlx_transient(err: &sea_orm::sqlx::Error, connecting: bool) -> Option<Transient> {
    use sea_orm::sqlx::Error as E;
    match err {
        // I/O covers a refused, reset or dropped connection; a crashed worker is a SQLite
        // connection the pool replaces.
        E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::WorkerCrashed => {
            Some(Transient::Unavailable)
        }
        E::Database(e) => {
            let code = e.code()?;
            if e.try_downcast_ref::<sea_orm::sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                postgres_transient(&code, connecting)
            } else if e
                .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
                .is_some()
            {
                sqlite_transient(&code)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// PostgreSQL SQLSTATEs that pass. `connecting`: raised while opening a connection.
fn postgres_transient(sqlstate: &str, connecting: bool) -> Option<Transient> {
    match sqlstate {
        // serialization_failure, deadlock_detected, query_canceled (statement_timeout),
        // lock_not_available (lock_timeout)
        "40001" | "40P01" | "57014" | "55P03" => Some(Transient::Contention),
        // admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections
        "57P01" | "57P02" | "57P03" | "53300" => Some(Transient::Unavailable),
        // object_not_in_prerequisite_state, when connecting: "database … is not currently
        // accepting connections" (ALTER DATABASE … ALLOW_CONNECTIONS false). From a
        // statement it is a fault of the statement.
        "55000" if connecting => Some(Transient::Unavailable),
        // connection_exception and its subclasses
        s if s.starts_with("08") => Some(Transient::Unavailable),
        _ => None,
    }
}

/// SQLite reports extended result codes; the primary code is the low byte.
fn sqlite_transient(code: &str) -> Option<Transient> {
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    match code.parse::<i32>().ok()? & 0xff {
        SQLITE_BUSY | SQLITE_LOCKED => Some(Transient::Contention),
        _ => None,
    }
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

/// The child rows of `parent_ids` in `E`, in `order`, grouped by parent: one query for a
/// whole page. `split` gives a row's parent id and the value to keep.
pub async fn children_of<E, C, V>(
    conn: &C,
    (parent_column, order): (E::Column, E::Column),
    parent_ids: &[String],
    split: impl Fn(E::Model) -> (String, V),
) -> Result<HashMap<String, Vec<V>>, Error>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let mut out: HashMap<String, Vec<V>> = HashMap::new();
    for row in E::find()
        .filter(parent_column.is_in(parent_ids.iter().cloned()))
        .order_by_asc(order)
        .all(conn)
        .await?
    {
        let (parent, value) = split(row);
        out.entry(parent).or_default().push(value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sea_orm::ConnAcquireErr;
    use sea_orm::sqlx::Error as SqlxError;

    use super::*;

    fn sqlx(err: SqlxError) -> RuntimeErr {
        RuntimeErr::SqlxError(Arc::new(err))
    }

    #[test]
    fn postgres_sqlstates() {
        use Transient::*;
        for (code, connecting, expected) in [
            ("40001", false, Some(Contention)),
            ("40P01", false, Some(Contention)),
            ("57014", false, Some(Contention)),
            ("55P03", false, Some(Contention)),
            ("57P01", false, Some(Unavailable)),
            ("57P03", true, Some(Unavailable)),
            ("53300", true, Some(Unavailable)),
            ("08006", false, Some(Unavailable)),
            ("08001", true, Some(Unavailable)),
            ("55000", true, Some(Unavailable)),
            ("55000", false, None),
            ("23505", false, None),
            ("42P01", false, None),
            ("28P01", true, None),
            ("40002", false, None),
        ] {
            assert_eq!(
                postgres_transient(code, connecting),
                expected,
                "{code} {connecting}"
            );
        }
    }

    #[test]
    fn sqlite_result_codes() {
        for code in ["5", "261", "517", "773", "6", "262"] {
            assert_eq!(
                sqlite_transient(code),
                Some(Transient::Contention),
                "{code}"
            );
        }
        for code in ["1", "19", "2067", "787", "x"] {
            assert_eq!(sqlite_transient(code), None, "{code}");
        }
    }

    #[test]
    fn pool_and_connection_errors_are_transient() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        for err in [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            DbErr::Conn(sqlx(SqlxError::Io(refused))),
            DbErr::Query(sqlx(SqlxError::PoolTimedOut)),
            DbErr::Conn(RuntimeErr::Internal("Disconnected".into())),
        ] {
            assert_eq!(transient(&err), Some(Transient::Unavailable), "{err}");
        }
        for err in [
            DbErr::Query(sqlx(SqlxError::RowNotFound)),
            DbErr::Exec(sqlx(SqlxError::ColumnNotFound("x".into()))),
            DbErr::Custom("x".into()),
            DbErr::RecordNotFound("x".into()),
            DbErr::Type("x".into()),
        ] {
            assert!(!is_transient(&err), "{err}");
        }
    }

    #[tokio::test]
    async fn a_held_sqlite_write_lock_is_contention() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let settings = DatabaseSettings {
            url: url.clone(),
            max_connections: 1,
            statement_timeout_ms: 1000,
            lock_timeout_ms: 1,
            acquire_timeout_ms: 1000,
        };
        let holder = connect(&url, &settings).await.unwrap();
        holder
            .execute_unprepared("CREATE TABLE t (x INTEGER)")
            .await
            .unwrap();
        holder.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
        let other = connect(&url, &settings).await.unwrap();
        let busy = other
            .execute_unprepared("INSERT INTO t VALUES (1)")
            .await
            .unwrap_err();
        assert_eq!(transient(&busy), Some(Transient::Contention), "{busy}");
        holder.execute_unprepared("ROLLBACK").await.unwrap();
        let missing = other
            .execute_unprepared("INSERT INTO missing VALUES (1)")
            .await
            .unwrap_err();
        assert!(!is_transient(&missing), "{missing}");
        other
            .execute_unprepared("INSERT INTO t VALUES (1)")
            .await
            .unwrap();
    }
}
