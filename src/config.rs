//! Typed settings: built-in defaults < TOML file named by `ITSMS_CONFIG` < `ITSMS__SECTION__KEY`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub bootstrap: BootstrapSettings,
    pub cors: CorsSettings,
    pub limits: LimitSettings,
    pub log: LogSettings,
    pub audit: AuditSettings,
    pub webhooks: WebhookSettings,
    pub events: EventSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// Folder for the SQLite file and the generated JWT secret.
    pub data_dir: PathBuf,
    /// `development` or `production`; production refuses weak secrets.
    pub mode: Mode,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    pub shutdown_timeout_secs: u64,
    /// Addresses of reverse proxies / load balancers whose `X-Forwarded-For` is believed
    /// when working out the client address (for login throttling). Empty: none.
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Development,
    Production,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Empty: SQLite at `<data_dir>/itsms.db`.
    pub url: String,
    pub max_connections: u32,
    /// PostgreSQL: the longest a statement may run before it is cancelled.
    pub statement_timeout_ms: u64,
    /// The longest a statement waits for a lock: PostgreSQL's `lock_timeout`, SQLite's
    /// busy timeout.
    pub lock_timeout_ms: u64,
    /// The longest a request waits for a pooled connection (or for a new one to open).
    pub acquire_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// `HS256` (a shared secret), or `EdDSA` / `RS256` (a key pair from PEM files).
    pub jwt_algorithm: JwtAlgorithm,
    /// For HS256. Empty: generated once and kept in `<data_dir>/jwt_secret`.
    pub jwt_secret: String,
    /// For EdDSA and RS256: PEM files of the signing key and of the key that checks it.
    pub jwt_private_key_file: String,
    pub jwt_public_key_file: String,
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// Failed logins allowed per account, and per client address, in one window; failures
    /// drain away evenly over the window.
    pub login_max_failures_per_account: u32,
    pub login_max_failures_per_address: u32,
    pub login_window_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum JwtAlgorithm {
    HS256,
    EdDSA,
    RS256,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapSettings {
    pub admin_email: String,
    /// Empty: a password is generated and printed once to the log.
    pub admin_password: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSettings {
    /// Origins allowed to call the API from a browser; `*` allows any.
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub max_body_bytes: usize,
    /// The body limit of bulk imports (`POST /api/v1/imports/{resource}`), which carry whole
    /// spreadsheets; every other request keeps `max_body_bytes`.
    pub max_import_bytes: usize,
    /// How long an `Idempotency-Key` stays "in progress" without a response before a retry
    /// takes it over (the server handling it died).
    pub idempotency_lease_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `itsms=debug,info`.
    pub level: String,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Keys the audit trail's hash chain (HMAC-SHA256), at least 32 bytes. Empty: not keyed.
    pub hmac_key: String,
    /// A file holding the key instead (surrounding whitespace is ignored).
    pub hmac_key_file: String,
}

impl std::fmt::Debug for AuditSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSettings")
            .field("hmac_key", &(!self.hmac_key.is_empty()).then_some("***"))
            .field("hmac_key_file", &self.hmac_key_file)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Whether this process runs the delivery worker.
    pub deliver: bool,
    /// How often the worker looks for due deliveries when nothing wakes it.
    pub poll_interval_ms: u64,
    pub connect_timeout_ms: u64,
    /// The longest one attempt may take, from connecting to the end of the answer.
    pub timeout_ms: u64,
    /// Attempts per delivery before it is `failed`.
    pub max_attempts: u32,
    /// The delay before the first retry; it doubles for each further one, up to
    /// `backoff_max_ms`, with jitter.
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// How long a worker holds a delivery it claimed; another replica takes it over after.
    pub lease_secs: u64,
    /// Deliveries attempted at once (each to another subscription).
    pub concurrency: u32,
    /// Allows targets on loopback, private and other non-global addresses.
    pub allow_private_targets: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSettings {
    /// The longest `GET /events?wait=` waits.
    pub max_wait_secs: u64,
    /// How often a waiting feed looks for events written by other replicas.
    pub poll_interval_ms: u64,
    /// Whether this process runs the scheduled check (overdue corrective actions, documents
    /// due for review).
    pub scheduled_checks: bool,
    pub schedule_interval_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Plain,
    Json,
}

const DEFAULTS: &str = r#"
[server]
host = "127.0.0.1"
port = 8080
data_dir = "./data"
mode = "development"
workers = 0
shutdown_timeout_secs = 30
trusted_proxies = []

[database]
url = ""
max_connections = 10
statement_timeout_ms = 5000
lock_timeout_ms = 3000
acquire_timeout_ms = 3000

[auth]
jwt_algorithm = "HS256"
jwt_secret = ""
jwt_private_key_file = ""
jwt_public_key_file = ""
issuer = "itsms"
audience = "itsms-api"
access_token_ttl_secs = 900
refresh_token_ttl_secs = 2592000
login_max_failures_per_account = 5
login_max_failures_per_address = 100
login_window_secs = 900

[bootstrap]
admin_email = "admin@example.com"
admin_password = ""

[cors]
allowed_origins = []

[limits]
max_body_bytes = 65536
max_import_bytes = 10485760
idempotency_lease_secs = 60

[log]
format = "plain"
level = "info"

[audit]
hmac_key = ""
hmac_key_file = ""

[webhooks]
deliver = true
poll_interval_ms = 1000
connect_timeout_ms = 5000
timeout_ms = 10000
max_attempts = 8
backoff_base_ms = 10000
backoff_max_ms = 3600000
lease_secs = 60
concurrency = 8
allow_private_targets = false

[events]
max_wait_secs = 30
poll_interval_ms = 1000
scheduled_checks = true
schedule_interval_secs = 60
"#;

/// Settings given in the environment as comma-separated lists.
const LIST_KEYS: &[&str] = &["cors.allowed_origins", "server.trusted_proxies"];

impl Settings {
    /// Loads the settings from the defaults, the file named by `ITSMS_CONFIG` and the environment.
    pub fn load() -> anyhow::Result<Self> {
        let file = std::env::var("ITSMS_CONFIG").ok().filter(|f| !f.is_empty());
        Self::load_from(file.as_deref().map(Path::new), std::env::vars())
    }

    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(file) = file {
            if !file.exists() {
                bail!(
                    "ITSMS_CONFIG names {}, which does not exist",
                    file.display()
                );
            }
            builder = builder.add_source(config::File::from(file).format(config::FileFormat::Toml));
        }
        // Values stay text (numbers and booleans are converted when deserialized), so a
        // string setting such as a password keeps leading zeros; list settings are split
        // on commas here.
        let mut env_values = config::Map::new();
        let mut env_lists = Vec::new();
        for (name, value) in env.into_iter().filter(|(k, _)| k.starts_with("ITSMS__")) {
            let key = name["ITSMS__".len()..].to_lowercase().replace("__", ".");
            if LIST_KEYS.contains(&key.as_str()) {
                let items: Vec<String> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_string)
                    .collect();
                env_lists.push((key, items));
            } else {
                env_values.insert(name, value);
            }
        }
        builder = builder.add_source(
            config::Environment::with_prefix("ITSMS")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(false)
                .source(Some(env_values)),
        );
        for (key, items) in env_lists {
            builder = builder
                .set_override(&key, items)
                .with_context(|| format!("reading {key} from the environment"))?;
        }
        let settings: Settings = builder
            .build()
            .context("reading configuration")?
            .try_deserialize()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        let secret = &self.auth.jwt_secret;
        if !secret.is_empty() && secret.len() < 32 {
            bail!("invalid configuration: auth.jwt_secret must be at least 32 bytes");
        }
        let audit = &self.audit;
        if !audit.hmac_key.is_empty() && audit.hmac_key.len() < 32 {
            bail!("invalid configuration: audit.hmac_key must be at least 32 bytes");
        }
        if !audit.hmac_key.is_empty() && !audit.hmac_key_file.is_empty() {
            bail!("invalid configuration: set audit.hmac_key or audit.hmac_key_file, not both");
        }
        if self.auth.access_token_ttl_secs == 0 {
            bail!("invalid configuration: auth.access_token_ttl_secs must be positive");
        }
        if self.auth.refresh_token_ttl_secs == 0 {
            bail!("invalid configuration: auth.refresh_token_ttl_secs must be positive");
        }
        if self.limits.max_body_bytes < 1024 {
            bail!("invalid configuration: limits.max_body_bytes must be at least 1024");
        }
        if self.limits.max_import_bytes < 1024 {
            bail!("invalid configuration: limits.max_import_bytes must be at least 1024");
        }
        if self.limits.idempotency_lease_secs == 0 {
            bail!("invalid configuration: limits.idempotency_lease_secs must be positive");
        }
        if self.database.max_connections == 0 {
            bail!("invalid configuration: database.max_connections must be positive");
        }
        for (key, value) in [
            ("statement_timeout_ms", self.database.statement_timeout_ms),
            ("lock_timeout_ms", self.database.lock_timeout_ms),
            ("acquire_timeout_ms", self.database.acquire_timeout_ms),
        ] {
            if value == 0 {
                bail!("invalid configuration: database.{key} must be positive");
            }
        }
        let w = &self.webhooks;
        for (key, value) in [
            ("webhooks.poll_interval_ms", w.poll_interval_ms),
            ("webhooks.connect_timeout_ms", w.connect_timeout_ms),
            ("webhooks.timeout_ms", w.timeout_ms),
            ("webhooks.max_attempts", w.max_attempts.into()),
            ("webhooks.backoff_max_ms", w.backoff_max_ms),
            ("webhooks.concurrency", w.concurrency.into()),
            ("events.poll_interval_ms", self.events.poll_interval_ms),
            (
                "events.schedule_interval_secs",
                self.events.schedule_interval_secs,
            ),
        ] {
            if value == 0 {
                bail!("invalid configuration: {key} must be positive");
            }
        }
        if w.lease_secs.saturating_mul(1000) <= w.timeout_ms {
            bail!(
                "invalid configuration: webhooks.lease_secs must be longer than webhooks.timeout_ms"
            );
        }
        if self.events.max_wait_secs > 300 {
            bail!("invalid configuration: events.max_wait_secs must be at most 300");
        }
        if !self.bootstrap.admin_email.contains('@') {
            bail!("invalid configuration: bootstrap.admin_email must be an email address");
        }
        let key_pair = self.auth.jwt_algorithm != JwtAlgorithm::HS256;
        if key_pair
            && (self.auth.jwt_private_key_file.is_empty()
                || self.auth.jwt_public_key_file.is_empty())
        {
            bail!(
                "invalid configuration: auth.jwt_private_key_file and auth.jwt_public_key_file must be set for auth.jwt_algorithm = {:?}",
                self.auth.jwt_algorithm
            );
        }
        if self.mode_is_production() && !key_pair && self.auth.jwt_secret.is_empty() {
            bail!("invalid configuration: auth.jwt_secret must be set in production mode");
        }
        if let Err(e) = self.log.level.parse::<tracing_subscriber::EnvFilter>() {
            bail!("invalid configuration: log.level: {e}");
        }
        for proxy in &self.server.trusted_proxies {
            if proxy.trim().parse::<IpAddr>().is_err() {
                bail!(
                    "invalid configuration: server.trusted_proxies: `{proxy}` is not an IP address"
                );
            }
        }
        Ok(())
    }

    /// The trusted proxies' addresses (validated at load), IPv4-mapped IPv6 as IPv4.
    pub fn trusted_proxies(&self) -> Vec<IpAddr> {
        self.server
            .trusted_proxies
            .iter()
            .filter_map(|p| p.trim().parse::<IpAddr>().ok())
            .map(|ip| ip.to_canonical())
            .collect()
    }

    pub fn mode_is_production(&self) -> bool {
        self.server.mode == Mode::Production
    }

    /// The database URL, SQLite under the data folder when none is configured.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.server.data_dir.join("itsms.db").display()
            )
        } else {
            self.database.url.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_load() {
        let s = Settings::load_from(None, env(&[])).unwrap();
        assert_eq!(s.server.port, 8080);
        assert_eq!(s.limits.max_body_bytes, 65536);
        assert_eq!(s.limits.max_import_bytes, 10 * 1024 * 1024);
        assert!(s.database_url().starts_with("sqlite://"));
    }

    #[test]
    fn environment_overrides_defaults() {
        let s = Settings::load_from(
            None,
            env(&[
                ("ITSMS__SERVER__PORT", "9000"),
                (
                    "ITSMS__CORS__ALLOWED_ORIGINS",
                    "https://a.example,https://b.example",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.port, 9000);
        assert_eq!(s.cors.allowed_origins.len(), 2);
    }

    #[test]
    fn bad_value_names_the_key() {
        let err = Settings::load_from(None, env(&[("ITSMS__SERVER__PORT", "many")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("port"), "{err}");
    }

    #[test]
    fn string_settings_keep_their_exact_text() {
        let s = Settings::load_from(
            None,
            env(&[
                ("ITSMS__BOOTSTRAP__ADMIN_PASSWORD", "0123456789012"),
                ("ITSMS__AUTH__ISSUER", "true"),
                ("ITSMS__AUTH__AUDIENCE", "1e3"),
                ("ITSMS__SERVER__WORKERS", "04"),
                ("ITSMS__SERVER__MODE", "development"),
                ("ITSMS__AUTH__LOGIN_WINDOW_SECS", "60"),
            ]),
        )
        .unwrap();
        assert_eq!(s.bootstrap.admin_password, "0123456789012");
        assert_eq!(s.auth.issuer, "true");
        assert_eq!(s.auth.audience, "1e3");
        assert_eq!(s.server.workers, 4);
        assert_eq!(s.server.mode, Mode::Development);
        assert_eq!(s.auth.login_window_secs, 60);
    }

    #[test]
    fn list_settings_split_on_commas() {
        let s = Settings::load_from(
            None,
            env(&[
                ("ITSMS__CORS__ALLOWED_ORIGINS", "https://a.example"),
                ("ITSMS__SERVER__TRUSTED_PROXIES", "10.0.0.1, ::1,"),
            ]),
        )
        .unwrap();
        assert_eq!(s.cors.allowed_origins, vec!["https://a.example"]);
        assert_eq!(s.server.trusted_proxies, vec!["10.0.0.1", "::1"]);
        assert_eq!(
            s.trusted_proxies(),
            vec![
                "10.0.0.1".parse::<IpAddr>().unwrap(),
                "::1".parse::<IpAddr>().unwrap()
            ]
        );
        let s = Settings::load_from(None, env(&[])).unwrap();
        assert!(s.server.trusted_proxies.is_empty());
        let s = Settings::load_from(None, env(&[("ITSMS__SERVER__TRUSTED_PROXIES", "")])).unwrap();
        assert!(s.server.trusted_proxies.is_empty());
    }

    #[test]
    fn a_bad_trusted_proxy_names_the_key() {
        let err = Settings::load_from(
            None,
            env(&[("ITSMS__SERVER__TRUSTED_PROXIES", "10.0.0.1,load-balancer")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("server.trusted_proxies"), "{err}");
        assert!(err.contains("load-balancer"), "{err}");
    }

    #[test]
    fn database_timeouts_must_be_positive() {
        let s = Settings::load_from(
            None,
            env(&[("ITSMS__DATABASE__STATEMENT_TIMEOUT_MS", "1500")]),
        )
        .unwrap();
        assert_eq!(s.database.statement_timeout_ms, 1500);
        assert_eq!(s.database.lock_timeout_ms, 3000);
        for key in [
            "STATEMENT_TIMEOUT_MS",
            "LOCK_TIMEOUT_MS",
            "ACQUIRE_TIMEOUT_MS",
        ] {
            let name = format!("ITSMS__DATABASE__{key}");
            let err = Settings::load_from(None, env(&[(name.as_str(), "0")]))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("database.{}", key.to_lowercase())),
                "{err}"
            );
        }
    }

    #[test]
    fn webhook_and_event_settings_are_checked() {
        let s = Settings::load_from(None, env(&[("ITSMS__WEBHOOKS__DELIVER", "false")])).unwrap();
        assert!(!s.webhooks.deliver);
        assert_eq!(s.events.max_wait_secs, 30);
        for (key, value, named) in [
            (
                "ITSMS__WEBHOOKS__MAX_ATTEMPTS",
                "0",
                "webhooks.max_attempts",
            ),
            ("ITSMS__WEBHOOKS__LEASE_SECS", "5", "webhooks.lease_secs"),
            (
                "ITSMS__EVENTS__MAX_WAIT_SECS",
                "301",
                "events.max_wait_secs",
            ),
        ] {
            let err = Settings::load_from(None, env(&[(key, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(named), "{err}");
        }
    }

    #[test]
    fn short_secret_is_refused() {
        let err = Settings::load_from(None, env(&[("ITSMS__AUTH__JWT_SECRET", "short")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("auth.jwt_secret"), "{err}");
    }

    #[test]
    fn a_short_or_doubled_audit_key_is_refused() {
        let err = Settings::load_from(None, env(&[("ITSMS__AUDIT__HMAC_KEY", "short")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("audit.hmac_key"), "{err}");
        let key = "k".repeat(32);
        let err = Settings::load_from(
            None,
            env(&[
                ("ITSMS__AUDIT__HMAC_KEY", &key),
                ("ITSMS__AUDIT__HMAC_KEY_FILE", "/etc/itsms/audit.key"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("not both"), "{err}");
        let s = Settings::load_from(None, env(&[("ITSMS__AUDIT__HMAC_KEY", &key)])).unwrap();
        assert_eq!(s.audit.hmac_key, key);
        assert!(
            !format!("{s:?}").contains(&key),
            "the key stays out of debug output"
        );
    }

    #[test]
    fn a_key_pair_algorithm_needs_both_files() {
        let err = Settings::load_from(None, env(&[("ITSMS__AUTH__JWT_ALGORITHM", "EdDSA")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("auth.jwt_private_key_file"), "{err}");
        let err = Settings::load_from(None, env(&[("ITSMS__AUTH__JWT_ALGORITHM", "none")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("jwt_algorithm") || err.contains("variant"),
            "{err}"
        );
    }
}
