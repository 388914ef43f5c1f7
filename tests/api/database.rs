//! Database trouble: what passes by itself answers 503 with `Retry-After`, a fault answers
//! 500, neither shows internals; the service recovers without a restart; replicas migrate
//! an empty database once.

use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, TransactionTrait};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{
    Backend, TestApp, assert_problem, drop_database, itsms_command, postgres_url, with_database,
};

/// Words that would show how the service stores its data.
const INTERNALS: &[&str] = &[
    "select",
    "insert",
    "from ",
    "relation",
    "table",
    "column",
    "sqlx",
    "sqlite",
    "postgres",
    "sqlstate",
    "pool",
    "query error",
    "execution error",
    "connection error",
    "error returned from database",
    "sms_roles",
    "processes",
];

fn assert_no_internals(body: &Value) {
    let mut shown = body.clone();
    // The request path is the caller's own.
    shown.as_object_mut().unwrap().remove("instance");
    let text = shown.to_string().to_lowercase();
    for word in INTERNALS {
        assert!(!text.contains(word), "`{word}` shown in {body}");
    }
}

fn assert_unavailable(status: StatusCode, body: &Value, headers: &HeaderMap) {
    assert_problem(status, body, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert_eq!(
        headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let retry_after: u64 = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After in {headers:?}"));
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert_no_internals(body);
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, Value, HeaderMap) {
    app.call_full(Method::GET, path, &app.admin_token, None, &[])
        .await
}

/// A table locked by another session: the statement gives up after the configured
/// timeout (the lock timeout or the statement timeout, whichever comes first), a request
/// waiting for a pooled connection gives up after the acquire timeout, and each answers
/// 503, while other tables stay reachable.
async fn a_locked_table_answers_503_until_released(settings: &[(&str, &str)]) {
    let Some(app) = TestApp::spawn_with(Backend::Postgres, settings).await else {
        return;
    };
    app.process("LCK", None).await;
    let holder = Database::connect(&app.db_url).await.unwrap();
    let lock = holder.begin().await.unwrap();
    lock.execute_unprepared("LOCK TABLE processes IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    // More requests than the pool has connections: none may be kept waiting for one.
    let pool = app.settings.database.max_connections as usize;
    let requests = (0..pool + 2).map(|_| get(&app, "/api/v1/processes"));
    for (status, body, headers) in futures_util::future::join_all(requests).await {
        assert_unavailable(status, &body, &headers);
    }
    let (status, body, _) = get(&app, "/api/v1/roles").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    lock.rollback().await.unwrap();
    holder.close().await.ok();
    let (status, body, _) = get(&app, "/api/v1/processes").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 1, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_timeout_answers_503() {
    a_locked_table_answers_503_until_released(&[("ITSMS__DATABASE__LOCK_TIMEOUT_MS", "200")]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_timeout_answers_503() {
    a_locked_table_answers_503_until_released(&[
        ("ITSMS__DATABASE__STATEMENT_TIMEOUT_MS", "200"),
        ("ITSMS__DATABASE__LOCK_TIMEOUT_MS", "5000"),
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_starved_pool_answers_503() {
    // One connection, held by a request waiting for the lock: the others get none.
    a_locked_table_answers_503_until_released(&[
        ("ITSMS__DATABASE__MAX_CONNECTIONS", "1"),
        ("ITSMS__DATABASE__ACQUIRE_TIMEOUT_MS", "1000"),
        ("ITSMS__DATABASE__LOCK_TIMEOUT_MS", "3000"),
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_sqlite_write_lock_answers_503_and_writes_nothing() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[("ITSMS__DATABASE__LOCK_TIMEOUT_MS", "200")],
    )
    .await
    .unwrap();
    let mut options = ConnectOptions::new(&app.db_url);
    options.max_connections(1).sqlx_logging(false);
    let holder = Database::connect(options).await.unwrap();
    holder.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
    let (status, body, headers) = app
        .call_full(
            Method::POST,
            "/api/v1/roles",
            &app.admin_token,
            Some(json!({"name": "Waiting"})),
            &[],
        )
        .await;
    assert_unavailable(status, &body, &headers);
    holder.execute_unprepared("ROLLBACK").await.unwrap();
    holder.close().await.ok();
    assert_eq!(app.count_rows("sms_roles").await, 0);
    app.role("Waiting").await;
}

/// PostgreSQL stops taking connections and drops the service's: every call answers 503
/// (not 500), and once the database is back the pool reconnects by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_answers_503_and_the_service_recovers() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let (admin_url, name) = app.pg_database.clone().unwrap();
    let admin = Database::connect(&admin_url).await.unwrap();
    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await
        .unwrap();

    for path in ["/api/v1/processes", "/api/v1/roles", "/api/v1/audit-trail"] {
        let (status, body, headers) = get(&app, path).await;
        assert_unavailable(status, &body, &headers);
    }
    let (status, body, headers) = app
        .call_full(
            Method::POST,
            "/api/v1/roles",
            &app.admin_token,
            Some(json!({"name": "During the outage"})),
            &[],
        )
        .await;
    assert_unavailable(status, &body, &headers);
    let (status, body, headers) = app
        .try_login(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
        .await;
    assert_unavailable(status, &body, &headers);
    let (status, body, headers) = app.anon(Method::GET, "/health/ready", None, &[]).await;
    assert_unavailable(status, &body, &headers);
    let (status, _, _) = app.anon(Method::GET, "/health/live", None, &[]).await;
    assert_eq!(status, StatusCode::OK);

    admin
        .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    admin.close().await.ok();
    let (status, _, _) = app.anon(Method::GET, "/health/ready", None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body, _) = get(&app, "/api/v1/processes").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.role("After the outage").await;
    app.login(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
        .await;
}

both!(
    a_fault_answers_500_without_internals,
    |app: TestApp| async move {
        app.raw_sql("ALTER TABLE sms_roles RENAME TO sms_roles_moved")
            .await;
        let (status, body, headers) = get(&app, "/api/v1/roles").await;
        assert_problem(
            status,
            &body,
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
        );
        assert!(headers.get(RETRY_AFTER).is_none(), "{headers:?}");
        assert_no_internals(&body);
        app.raw_sql("ALTER TABLE sms_roles_moved RENAME TO sms_roles")
            .await;
        let (status, _, _) = get(&app, "/api/v1/roles").await;
        assert_eq!(status, StatusCode::OK);
    }
);

/// An empty PostgreSQL database, dropped at the end.
struct EmptyDatabase {
    admin_url: String,
    name: String,
}

impl Drop for EmptyDatabase {
    fn drop(&mut self) {
        drop_database(self.admin_url.clone(), self.name.clone());
    }
}

/// Three replicas starting at once on an empty database: each exits 0, and the schema
/// and the catalog are there once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_migrating_at_once_do_not_race() {
    let Some(admin_url) = postgres_url() else {
        return;
    };
    let name = format!("itsms_test_migrate_{}", uuid::Uuid::now_v7().simple());
    let admin = Database::connect(&admin_url).await.unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    admin.close().await.ok();
    let database = EmptyDatabase {
        admin_url: admin_url.clone(),
        name: name.clone(),
    };
    let url = with_database(&admin_url, &database.name);

    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let replicas: Vec<std::process::Child> = dirs
        .iter()
        .map(|dir| {
            let dir = dir.path().display().to_string();
            itsms_command(
                &["migrate"],
                &[
                    ("ITSMS__DATABASE__URL", url.as_str()),
                    ("ITSMS__SERVER__DATA_DIR", dir.as_str()),
                ],
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the itsms binary runs")
        })
        .collect();
    for replica in replicas {
        let output = tokio::task::block_in_place(|| replica.wait_with_output()).unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let db = Database::connect(&url).await.unwrap();
    let count = |sql: &'static str| {
        let db = &db;
        async move {
            db.query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                sql,
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap()
        }
    };
    assert_eq!(count("SELECT COUNT(*) AS n FROM clauses").await, 77);
    assert_eq!(
        count("SELECT COUNT(*) AS n FROM seaql_migrations").await,
        <migration::Migrator as migration::MigratorTrait>::migrations().len() as i64
    );
    db.close().await.ok();
}
