//! Starts the application on a free port with its own database and talks to it over HTTP.

use std::sync::atomic::{AtomicU64, Ordering};

use itsms::clock::Clock;
use itsms::config::Settings;
use itsms::startup::Application;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "correct-horse-battery-staple";
pub const PASSWORD: &str = "another-long-password";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs the test body once per backend: `both!(name, |app| async move { ... });`
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite)
                    .await
                    .unwrap();
                ($body)(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) =
                    $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await
                else {
                    return;
                };
                ($body)(app).await;
            }
        }
    };
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub admin_token: String,
    pub db_url: String,
    pub settings: Settings,
    /// The service's clock: move it forward instead of sleeping.
    pub clock: Clock,
    _data_dir: tempfile::TempDir,
    /// On PostgreSQL: the server's admin URL and the name of this test's database.
    pub pg_database: Option<(String, String)>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub fn postgres_url() -> Option<String> {
    std::env::var("ITSMS_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Swaps the database name at the end of a PostgreSQL URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map(|(b, q)| (b, Some(q)))
        .unwrap_or((url, None));
    let prefix = &base[..base.rfind('/').expect("URL has a path")];
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

impl TestApp {
    /// None when the backend is PostgreSQL and no URL is configured. With a URL configured,
    /// an unreachable server fails the test.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, &[]).await
    }

    /// Like `spawn`, with further settings as `ITSMS__...` variables.
    pub async fn spawn_with(backend: Backend, extra_env: &[(&str, &str)]) -> Option<TestApp> {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut pg_database = None;
        let db_url = match backend {
            Backend::Sqlite => format!(
                "sqlite://{}?mode=rwc",
                data_dir.path().join("itsms.db").display()
            ),
            Backend::Postgres => {
                let admin_url = postgres_url()?;
                let name = format!(
                    "itsms_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    uuid::Uuid::now_v7().simple()
                );
                let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
                    panic!("ITSMS_TEST_POSTGRES_URL is set but PostgreSQL is unreachable: {e}")
                });
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                pg_database = Some((admin_url.clone(), name.clone()));
                with_database(&admin_url, &name)
            }
        };
        Some(Self::start(data_dir, db_url, pg_database, extra_env).await)
    }

    /// Another instance of the service on this test's database (a replica, or the service
    /// after a restart), with further settings. Its database is dropped with this one.
    pub async fn replica(&self, extra_env: &[(&str, &str)]) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        Self::start(data_dir, self.db_url.clone(), None, extra_env).await
    }

    /// Starts the service on `db_url` with the test settings and `extra_env`, and signs in
    /// as the first admin.
    async fn start(
        data_dir: tempfile::TempDir,
        db_url: String,
        pg_database: Option<(String, String)>,
        extra_env: &[(&str, &str)],
    ) -> TestApp {
        let mut env: Vec<(String, String)> = vec![
            ("ITSMS__SERVER__PORT".into(), "0".into()),
            ("ITSMS__SERVER__WORKERS".into(), "2".into()),
            (
                "ITSMS__SERVER__DATA_DIR".into(),
                data_dir.path().display().to_string(),
            ),
            ("ITSMS__DATABASE__URL".into(), db_url.clone()),
            ("ITSMS__DATABASE__MAX_CONNECTIONS".into(), "5".into()),
            ("ITSMS__BOOTSTRAP__ADMIN_EMAIL".into(), ADMIN_EMAIL.into()),
            (
                "ITSMS__BOOTSTRAP__ADMIN_PASSWORD".into(),
                ADMIN_PASSWORD.into(),
            ),
            ("ITSMS__LIMITS__MAX_BODY_BYTES".into(), "4096".into()),
            ("ITSMS__LOG__LEVEL".into(), "warn".into()),
            // Background work only where a test asks for it.
            ("ITSMS__WEBHOOKS__DELIVER".into(), "false".into()),
            ("ITSMS__EVENTS__SCHEDULED_CHECKS".into(), "false".into()),
        ];
        env.extend(
            extra_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let settings = Settings::load_from(None, env).expect("test settings");
        let app = Application::build(settings.clone())
            .await
            .expect("application starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let clock = app.clock();
        tokio::spawn(app.run_until_stopped());
        let mut test_app = TestApp {
            base,
            client: reqwest::Client::new(),
            admin_token: String::new(),
            db_url,
            settings,
            clock,
            _data_dir: data_dir,
            pg_database,
        };
        test_app.admin_token = test_app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        test_app
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let mut r = self.client.request(method, self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let res = self
            .request(Method::POST, "/api/v1/auth/login", None)
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "login of {email}");
        res.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Creates a person with the given access roles and returns (id, access token).
    pub async fn user_with_roles(&self, roles: &[&str]) -> (String, String) {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let email = format!("user{n}-{}@example.com", roles.join("-"));
        let res = self
            .request(Method::POST, "/api/v1/users", Some(&self.admin_token))
            .json(&json!({"email": email, "display_name": format!("User {n}"), "roles": roles, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let id = res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        (id, self.login(&email, PASSWORD).await)
    }

    pub async fn token_for(&self, role: &str) -> String {
        self.user_with_roles(&[role]).await.1
    }

    /// Sends JSON (or nothing) and returns status, body (JSON or null) and the response.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, body, _) = self.call_full(method, path, token, body, &[]).await;
        (status, body)
    }

    pub async fn call_full(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut r = self.request(method, path, Some(token));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let res = r.send().await.unwrap();
        read(res).await
    }

    /// Sends a change as admin with `If-Match: "<version>"`.
    pub async fn if_match(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        version: i64,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let tag = format!("\"{version}\"");
        self.call_full(method, path, &self.admin_token, body, &[("If-Match", &tag)])
            .await
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    /// Creates an SMS role as admin and returns its id.
    pub async fn role(&self, name: &str) -> String {
        let (status, body) = self
            .post("/api/v1/roles", &self.admin_token, json!({"name": name}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_string()
    }

    /// Creates a draft process as admin and returns it.
    pub async fn process(&self, code: &str, owner_role_id: Option<&str>) -> Value {
        let (status, body) = self
            .post(
                "/api/v1/processes",
                &self.admin_token,
                json!({"code": code, "name": format!("Process {code}"), "clauses": ["8.6.1"], "owner_role_id": owner_role_id}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Runs raw SQL against the application's database (for tamper tests).
    pub async fn raw_sql(&self, sql: &str) {
        let db = Database::connect(&self.db_url).await.unwrap();
        db.execute_unprepared(sql).await.unwrap();
        db.close().await.ok();
    }

    /// Counts the rows of a table.
    pub async fn count_rows(&self, table: &str) -> i64 {
        let db = Database::connect(&self.db_url).await.unwrap();
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        db.close().await.ok();
        row.try_get::<i64>("", "n").unwrap()
    }
}

pub async fn read(res: Response) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, body, headers)
}

/// Asserts an RFC 9457 problem with the given status and code.
pub fn assert_problem(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], expected.as_u16(), "{body}");
    assert!(
        body["type"].is_string() && body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg_database.take() {
            drop_database(admin_url, name);
        }
    }
}

/// Drops a PostgreSQL test database, even while something is still connected to it.
pub fn drop_database(admin_url: String, name: String) {
    // Dropping needs async I/O; do it on a thread of its own so any runtime state is fine.
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            if let Ok(db) = Database::connect(&admin_url).await {
                let _ = db
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                db.close().await.ok();
            }
        });
    })
    .join();
}

/// The `itsms` binary with only the given configuration.
pub fn itsms_command(args: &[&str], env: &[(&str, &str)]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_itsms"));
    for (key, _) in std::env::vars() {
        if key.starts_with("ITSMS") {
            command.env_remove(key);
        }
    }
    command
        .args(args)
        .envs(env.iter().copied())
        .env("ITSMS__LOG__LEVEL", "warn");
    command
}

/// Generic helpers for requests without a token, raw bodies and direct database checks.
impl TestApp {
    /// Sends a request without `Authorization`, with a JSON body when given.
    pub async fn anon(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut r = self.request(method, path, None);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        read(r.send().await.unwrap()).await
    }

    /// Sends a raw body with the given `Content-Type` (none when `None`).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut r = self.request(method, path, token);
        if let Some(ct) = content_type {
            r = r.header(reqwest::header::CONTENT_TYPE, ct);
        }
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        read(r.body(body).send().await.unwrap()).await
    }

    /// `POST /auth/login`, whatever the outcome.
    pub async fn try_login(
        &self,
        email: &str,
        password: &str,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        self.anon(
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": email, "password": password})),
            &[],
        )
        .await
    }

    /// `POST /auth/refresh`, whatever the outcome.
    pub async fn try_refresh(&self, refresh_token: &str) -> (StatusCode, Value) {
        let (status, body, _) = self
            .anon(
                Method::POST,
                "/api/v1/auth/refresh",
                Some(json!({"refresh_token": refresh_token})),
                &[],
            )
            .await;
        (status, body)
    }

    /// Creates a person with this email, the password `PASSWORD` and these access roles.
    pub async fn person(&self, email: &str, roles: &[&str]) -> String {
        let (status, body) = self
            .post(
                "/api/v1/users",
                &self.admin_token,
                json!({"email": email, "display_name": email, "roles": roles, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_string()
    }

    /// Creates a service account (no password) with these access roles.
    pub async fn service_account(&self, email: &str, roles: &[&str]) -> String {
        let (status, body) = self
            .post(
                "/api/v1/users",
                &self.admin_token,
                json!({"email": email, "display_name": email, "kind": "service", "roles": roles}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_string()
    }

    /// The user a token stands for (`GET /auth/me`).
    pub async fn me(&self, token: &str) -> Value {
        let (status, body) = self.get("/api/v1/auth/me", token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// The JWT signing secret the application generated in its data folder.
    pub fn jwt_secret(&self) -> Vec<u8> {
        let path = self.settings.server.data_dir.join("jwt_secret");
        std::fs::read_to_string(path)
            .expect("the generated JWT secret")
            .trim()
            .as_bytes()
            .to_vec()
    }

    /// Runs a query whose single row has an integer column `n`.
    pub async fn query_i64(&self, sql: &str) -> i64 {
        let db = Database::connect(&self.db_url).await.unwrap();
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                sql.to_string(),
            ))
            .await
            .unwrap()
            .unwrap();
        db.close().await.ok();
        row.try_get::<i64>("", "n").unwrap()
    }
}

/// Asserts an RFC 9457 problem response: status, code, media type and `instance`.
pub fn assert_problem_at(
    status: StatusCode,
    body: &Value,
    headers: &reqwest::header::HeaderMap,
    expected: StatusCode,
    code: &str,
    path: &str,
) {
    assert_problem(status, body, expected, code);
    assert_eq!(
        headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "{expected} {body}"
    );
    assert_eq!(body["instance"], path, "{body}");
}

/// The `field` of each entry of a problem document's `errors`.
pub fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {problem}"))
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect()
}

/// The `id` of a representation.
pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// POSTs and asserts a 2xx answer, which it returns.
pub async fn ok(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let (status, answer) = app.post(path, token, body).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}
