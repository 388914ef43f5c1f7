//! Write transactions, with a queue for SQLite's single writer.
//!
//! SQLite lets one writer in at a time. A writer that finds the write lock taken sleeps in
//! SQLite's busy handler (1, 2, 5 … 100 ms between tries) and fails with "database is
//! locked" once the busy timeout runs out: under many concurrent writers the lock sits idle
//! while they sleep, and the last in line fail. So the writers of this process first queue
//! on an async lock of their database file, which hands the turn to the next one the moment
//! a transaction ends, and only then take SQLite's lock (which now waits only for other
//! processes). PostgreSQL locks rows, not the database, and needs no queue.

use std::collections::HashMap;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    ExecResult, QueryResult, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// The queue of one SQLite file, and how long a writer waits in it.
struct Queue {
    turn: Arc<AsyncMutex<()>>,
    wait: Duration,
}

static QUEUES: LazyLock<Mutex<HashMap<PathBuf, Arc<Queue>>>> = LazyLock::new(Default::default);

/// Gives the SQLite database of `db` its writer queue (once per file); writers give up
/// with a transient error after waiting `wait` for their turn.
pub fn register(db: &DatabaseConnection, wait: Duration) {
    if db.get_database_backend() != DbBackend::Sqlite {
        return;
    }
    let file = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    let mut queues = QUEUES.lock().expect("the queue registry is never poisoned");
    queues.entry(file).or_insert_with(|| {
        Arc::new(Queue {
            turn: Arc::default(),
            wait,
        })
    });
}

fn queue_of(db: &DatabaseConnection) -> Option<Arc<Queue>> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    let options = db.get_sqlite_connection_pool().connect_options();
    let queues = QUEUES.lock().expect("the queue registry is never poisoned");
    queues.get(options.get_filename()).cloned()
}

/// A write transaction that holds its database's writer turn until it ends.
pub struct WriteTransaction {
    // Declared first, so a dropped transaction rolls back before the turn passes on.
    tx: DatabaseTransaction,
    _turn: Option<OwnedMutexGuard<()>>,
}

/// Starts a write transaction: on SQLite, after waiting for this process's turn, and
/// IMMEDIATE, so it holds the write lock from the start instead of failing when it
/// upgrades from reading.
pub async fn begin(db: &DatabaseConnection) -> Result<WriteTransaction, DbErr> {
    let turn = match queue_of(db) {
        Some(queue) => Some(
            tokio::time::timeout(queue.wait, queue.turn.clone().lock_owned())
                .await
                .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))?,
        ),
        None => None,
    };
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    Ok(WriteTransaction {
        tx: db.begin_with_options(options).await?,
        _turn: turn,
    })
}

impl WriteTransaction {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.tx.rollback().await
    }
}

impl Deref for WriteTransaction {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.tx
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTransaction {
    fn get_database_backend(&self) -> DbBackend {
        self.tx.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.tx.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.tx.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.tx.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.tx.query_all_raw(stmt).await
    }
}
