//! Authentication: passwords (argon2id), access tokens (JWT), rotating refresh tokens,
//! API keys for service accounts, and login throttling kept in the database (so it holds
//! across replicas).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm as JwtAlgorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use utoipa::ToSchema;

use super::{begin_write, new_id};
use crate::clock::Clock;
use crate::domain::access::{AccessRole, Principal};
use crate::domain::user::UserKind;
use crate::error::{Error, Result};
use crate::persistence::entities::{api_key, login_failure, refresh_token, user};
use crate::persistence::{from_json_text, login_attempts};

/// Signing and checking of access tokens, plus the auth settings the use cases need.
pub struct Auth {
    algorithm: JwtAlgorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub issuer: String,
    pub audience: String,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub max_failures_per_account: u32,
    pub max_failures_per_address: u32,
    pub login_window_secs: u64,
    pub clock: Clock,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub roles: Vec<AccessRole>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// How tokens are signed and checked: HS256 with a shared secret, or EdDSA / RS256 with a
/// key pair (replicas then need only the public key to check tokens).
pub struct SigningKeys {
    algorithm: JwtAlgorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl SigningKeys {
    pub fn hs256(secret: &[u8]) -> Self {
        SigningKeys {
            algorithm: JwtAlgorithm::HS256,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// A key pair from PEM text; the error says which key is unreadable.
    pub fn key_pair(
        algorithm: crate::config::JwtAlgorithm,
        private_pem: &[u8],
        public_pem: &[u8],
    ) -> std::result::Result<Self, String> {
        use crate::config::JwtAlgorithm as Configured;
        let (algorithm, encoding, decoding) = match algorithm {
            Configured::EdDSA => (
                JwtAlgorithm::EdDSA,
                EncodingKey::from_ed_pem(private_pem),
                DecodingKey::from_ed_pem(public_pem),
            ),
            Configured::RS256 => (
                JwtAlgorithm::RS256,
                EncodingKey::from_rsa_pem(private_pem),
                DecodingKey::from_rsa_pem(public_pem),
            ),
            Configured::HS256 => return Err("HS256 takes a secret, not a key pair".into()),
        };
        Ok(SigningKeys {
            algorithm,
            encoding: encoding.map_err(|e| format!("auth.jwt_private_key_file: {e}"))?,
            decoding: decoding.map_err(|e| format!("auth.jwt_public_key_file: {e}"))?,
        })
    }
}

impl Auth {
    pub fn new(
        keys: SigningKeys,
        settings: &crate::config::AuthSettings,
        clock: Clock,
    ) -> Arc<Self> {
        let mut validation = Validation::new(keys.algorithm);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Arc::new(Auth {
            algorithm: keys.algorithm,
            encoding: keys.encoding,
            decoding: keys.decoding,
            validation,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            access_ttl_secs: settings.access_token_ttl_secs,
            refresh_ttl_secs: settings.refresh_token_ttl_secs,
            max_failures_per_account: settings.login_max_failures_per_account,
            max_failures_per_address: settings.login_max_failures_per_address,
            login_window_secs: settings.login_window_secs,
            clock,
        })
    }

    pub fn issue_access_token(&self, user_id: &str, roles: &[AccessRole]) -> Result<String> {
        let iat = self.clock.now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            roles: roles.to_vec(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat,
            exp: iat + self.access_ttl_secs as i64,
            jti: new_id(),
        };
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, &self.encoding)
            .map_err(|e| Error::Internal(format!("signing a token: {e}")))
    }

    /// The caller a bearer token stands for; the algorithm is pinned, `iss`, `aud`, `exp` checked.
    pub fn verify_access_token(&self, token: &str) -> Result<Principal> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| Error::Unauthenticated("invalid or expired access token"))?;
        Ok(Principal {
            user_id: data.claims.sub,
            roles: data.claims.roles,
        })
    }
}

/// A new random secret: 32 bytes, URL-safe base64.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn argon2() -> Argon2<'static> {
    // OWASP: argon2id, 19 MiB, 2 iterations, 1 lane.
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19_456, 2, 1, None).expect("valid argon2 parameters"),
    )
}

/// Bounds the argon2 work running at once (each check takes ~19 MiB and a core), so a burst
/// of logins queues instead of exhausting memory and the blocking thread pool.
fn argon2_permits() -> &'static Arc<Semaphore> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Arc::new(Semaphore::new(cores))
    })
}

/// Runs argon2 work on the blocking pool once a permit is free. The permit moves into the
/// task, so it is held until the work ends even when the request is abandoned.
async fn run_argon2<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let permit = argon2_permits()
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| Error::Internal(format!("argon2 permits: {e}")))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))
}

/// Hashes a password off the async workers.
pub async fn hash_password(password: String) -> Result<String> {
    run_argon2(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("hashing a password: {e}")))
    })
    .await?
}

/// Checks a password off the async workers. With no stored hash it checks against a dummy,
/// so an unknown account takes as long as a wrong password.
async fn verify_password(password: String, stored: Option<String>) -> Result<bool> {
    run_argon2(move || {
        static DUMMY: OnceLock<String> = OnceLock::new();
        let dummy = DUMMY.get_or_init(|| {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            argon2()
                .hash_password(b"not a password", &salt)
                .expect("hashing works")
                .to_string()
        });
        let known = stored.is_some();
        let hash_text = stored.unwrap_or_else(|| dummy.clone());
        let Ok(hash) = PasswordHash::new(&hash_text) else {
            return false;
        };
        argon2().verify_password(password.as_bytes(), &hash).is_ok() && known
    })
    .await
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque; exchange it at `/auth/refresh`. Each one works once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

fn roles_of(u: &user::Model) -> Vec<AccessRole> {
    from_json_text::<Vec<String>>(&u.roles)
        .iter()
        .filter_map(|r| AccessRole::parse(r))
        .collect()
}

async fn issue_pair<C: sea_orm::ConnectionTrait>(
    auth: &Auth,
    conn: &C,
    u: &user::Model,
    family_id: String,
) -> Result<TokenPair> {
    let refresh = format!("rt_{}", random_secret());
    let created = auth.clock.now();
    refresh_token::ActiveModel {
        id: Set(new_id()),
        user_id: Set(u.id.clone()),
        family_id: Set(family_id),
        token_hash: Set(sha256_hex(&refresh)),
        expires_at: Set(created + Duration::seconds(auth.refresh_ttl_secs as i64)),
        used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(created),
    }
    .insert(conn)
    .await?;
    Ok(TokenPair {
        access_token: auth.issue_access_token(&u.id, &roles_of(u))?,
        token_type: "Bearer".into(),
        expires_in: auth.access_ttl_secs,
        refresh_token: Some(refresh),
    })
}

/// The throttle key of an account: fixed length whatever the email, so it fits the column.
fn account_key(normalized_email: &str) -> String {
    format!("account:{}", sha256_hex(normalized_email))
}

/// Counts one login attempt against `key`; see [`login_attempts::count`].
async fn count_attempt(
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
async fn purge_expired_attempts(
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
fn refuse_over_limit(
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

/// Password login. Unknown account, wrong password, inactive account and service account
/// all get the same answer.
///
/// Every attempt is counted before the password is checked, per account and per client
/// address; over either limit the answer is 429 and the password is not looked at. A
/// successful login clears the account's count and gives its attempt back to the address.
pub async fn login(
    db: &DatabaseConnection,
    auth: &Auth,
    email: &str,
    password: &str,
    client_addr: &str,
) -> Result<TokenPair> {
    let email = email.trim().to_lowercase();
    let account_key = account_key(&email);
    let address_key = format!("address:{client_addr}");
    let now = auth.clock.now();
    purge_expired_attempts(db, auth, now).await?;
    let by_account = count_attempt(db, auth, &account_key, now).await?;
    let by_address = count_attempt(db, auth, &address_key, now).await?;
    refuse_over_limit(auth, by_account, auth.max_failures_per_account, now)?;
    refuse_over_limit(auth, by_address, auth.max_failures_per_address, now)?;
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await?;
    let stored_hash = found.as_ref().and_then(|u| u.password_hash.clone());
    let password_ok = verify_password(password.to_string(), stored_hash).await?;
    let user = match found {
        Some(u) if password_ok && u.active && u.kind == UserKind::Person.as_str() => u,
        _ => return Err(Error::Unauthenticated("login failed")),
    };
    login_failure::Entity::delete_by_id(account_key)
        .exec(db)
        .await?;
    login_failure::Entity::update_many()
        .col_expr(
            login_failure::Column::Failures,
            Expr::col(login_failure::Column::Failures).sub(1),
        )
        .filter(login_failure::Column::Key.eq(address_key))
        .filter(login_failure::Column::Failures.gt(0))
        .exec(db)
        .await?;
    issue_pair(auth, db, &user, new_id()).await
}

/// Exchanges a refresh token for a new pair. A token works once: presenting a spent one
/// revokes its whole family (someone else may hold a copy).
pub async fn refresh(db: &DatabaseConnection, auth: &Auth, token: &str) -> Result<TokenPair> {
    let tx = begin_write(db).await?;
    let found = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(sha256_hex(token)))
        .one(&tx)
        .await?;
    let Some(row) = found else {
        return Err(Error::Unauthenticated("unknown refresh token"));
    };
    if row.used_at.is_some() || row.revoked_at.is_some() {
        revoke_family(&tx, &row.family_id, auth.clock.now()).await?;
        tx.commit().await?;
        return Err(Error::Unauthenticated(
            "refresh token reused; its family is revoked",
        ));
    }
    if row.expires_at <= auth.clock.now() {
        return Err(Error::Unauthenticated("refresh token expired"));
    }
    let owner = user::Entity::find_by_id(row.user_id.clone())
        .one(&tx)
        .await?;
    let Some(owner) = owner.filter(|u| u.active) else {
        return Err(Error::Unauthenticated("account inactive"));
    };
    // Spends the token only if nobody else did meanwhile: on PostgreSQL a concurrent
    // refresh with the same token waits for this row and then finds it used.
    let spent = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(auth.clock.now()))
        .filter(refresh_token::Column::Id.eq(row.id.clone()))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&tx)
        .await?;
    if spent.rows_affected == 0 {
        revoke_family(&tx, &row.family_id, auth.clock.now()).await?;
        tx.commit().await?;
        return Err(Error::Unauthenticated(
            "refresh token reused; its family is revoked",
        ));
    }
    let pair = issue_pair(auth, &tx, &owner, row.family_id).await?;
    tx.commit().await?;
    Ok(pair)
}

async fn revoke_family<C: sea_orm::ConnectionTrait>(
    conn: &C,
    family_id: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(at))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Revokes the session (token family) of one of the caller's refresh tokens. Unknown tokens
/// are ignored, so the answer does not tell whether a token exists.
pub async fn logout(
    db: &DatabaseConnection,
    auth: &Auth,
    user_id: &str,
    token: &str,
) -> Result<()> {
    let found = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(sha256_hex(token)))
        .filter(refresh_token::Column::UserId.eq(user_id))
        .one(db)
        .await?;
    if let Some(row) = found {
        revoke_family(db, &row.family_id, auth.clock.now()).await?;
    }
    Ok(())
}

/// Revokes every refresh token of a user (deactivation, password reset).
pub async fn revoke_all_sessions<C: sea_orm::ConnectionTrait>(
    conn: &C,
    user_id: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(at))
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Exchanges a service account's API key for an access token (no refresh token: the key is the long-lived secret).
pub async fn exchange_api_key(
    db: &DatabaseConnection,
    auth: &Auth,
    key: &str,
) -> Result<TokenPair> {
    let found = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(sha256_hex(key)))
        .one(db)
        .await?;
    let now = auth.clock.now();
    let Some(row) =
        found.filter(|k| k.revoked_at.is_none() && k.expires_at.is_none_or(|e| e > now))
    else {
        return Err(Error::Unauthenticated(
            "unknown, revoked or expired API key",
        ));
    };
    let owner = user::Entity::find_by_id(row.user_id.clone())
        .one(db)
        .await?;
    let Some(owner) = owner.filter(|u| u.active && u.kind == UserKind::Service.as_str()) else {
        return Err(Error::Unauthenticated("API key owner inactive"));
    };
    api_key::Entity::update_many()
        .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
        .filter(api_key::Column::Id.eq(row.id))
        .exec(db)
        .await?;
    Ok(TokenPair {
        access_token: auth.issue_access_token(&owner.id, &roles_of(&owner))?,
        token_type: "Bearer".into(),
        expires_in: auth.access_ttl_secs,
        refresh_token: None,
    })
}
