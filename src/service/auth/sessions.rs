//! Sessions: password login, rotating refresh tokens, logout and revocation.

use chrono::{DateTime, Duration, Utc};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use utoipa::ToSchema;

use super::{Auth, passwords, random_secret, sha256_hex, throttle};
use crate::domain::access::AccessRole;
use crate::domain::user::UserKind;
use crate::error::{Error, Result};
use crate::persistence::entities::user;
use crate::persistence::refresh_tokens::{self, NewRefreshToken};
use crate::persistence::{from_json_text, users};
use crate::service::{begin_write, new_id};

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

pub(super) fn roles_of(u: &user::Model) -> Vec<AccessRole> {
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
    let token = NewRefreshToken {
        id: new_id(),
        user_id: &u.id,
        family_id,
        token_hash: sha256_hex(&refresh),
        expires_at: created + Duration::seconds(auth.refresh_ttl_secs as i64),
        created_at: created,
    };
    refresh_tokens::insert(conn, token).await?;
    Ok(TokenPair {
        access_token: auth.issue_access_token(&u.id, &roles_of(u))?,
        token_type: "Bearer".into(),
        expires_in: auth.access_ttl_secs,
        refresh_token: Some(refresh),
    })
}

/// Password login. Unknown account, wrong password, inactive account and service account
/// all get the same answer.
///
/// The throttle is checked with an argon2 permit in hand, so at most one attempt per core
/// is in flight between the check and the count. Over either limit the answer is 429 and
/// the password is not looked at; only failures count.
pub async fn login(
    db: &DatabaseConnection,
    auth: &Auth,
    email: &str,
    password: &str,
    client_addr: &str,
) -> Result<TokenPair> {
    let email = email.trim().to_lowercase();
    let account_key = throttle::account_key(&email);
    let address_key = throttle::address_key(client_addr);
    let permit = passwords::permit().await?;
    throttle::admit(db, auth, &account_key, &address_key, auth.clock.now()).await?;
    let found = users::row_by_email(db, &email).await?;
    let stored_hash = found.as_ref().and_then(|u| u.password_hash.clone());
    let password_ok = passwords::verify_password(permit, password.to_string(), stored_hash).await?;
    let user = match found {
        Some(u) if password_ok && u.active && u.kind == UserKind::Person.as_str() => u,
        _ => {
            throttle::failed(db, auth, &address_key, auth.clock.now()).await?;
            return Err(Error::Unauthenticated("login failed"));
        }
    };
    throttle::succeeded(db, &account_key).await?;
    issue_pair(auth, db, &user, new_id()).await
}

/// Exchanges a refresh token for a new pair. A token works once: presenting a spent one
/// revokes its whole family (someone else may hold a copy).
pub async fn refresh(db: &DatabaseConnection, auth: &Auth, token: &str) -> Result<TokenPair> {
    let tx = begin_write(db).await?;
    let found = refresh_tokens::find_by_hash(&tx, &sha256_hex(token), None).await?;
    let Some(row) = found else {
        return Err(Error::Unauthenticated("unknown refresh token"));
    };
    if row.used_at.is_some() || row.revoked_at.is_some() {
        refresh_tokens::revoke_family(&tx, &row.family_id, auth.clock.now()).await?;
        tx.commit().await?;
        return Err(Error::Unauthenticated(
            "refresh token reused; its family is revoked",
        ));
    }
    if row.expires_at <= auth.clock.now() {
        return Err(Error::Unauthenticated("refresh token expired"));
    }
    let owner = users::row_by_id(&tx, &row.user_id).await?;
    let Some(owner) = owner.filter(|u| u.active) else {
        return Err(Error::Unauthenticated("account inactive"));
    };
    if !refresh_tokens::spend(&tx, &row.id, auth.clock.now()).await? {
        refresh_tokens::revoke_family(&tx, &row.family_id, auth.clock.now()).await?;
        tx.commit().await?;
        return Err(Error::Unauthenticated(
            "refresh token reused; its family is revoked",
        ));
    }
    let pair = issue_pair(auth, &tx, &owner, row.family_id).await?;
    tx.commit().await?;
    Ok(pair)
}

/// Revokes the session (token family) of one of the caller's refresh tokens. Unknown tokens
/// are ignored, so the answer does not tell whether a token exists.
pub async fn logout(
    db: &DatabaseConnection,
    auth: &Auth,
    user_id: &str,
    token: &str,
) -> Result<()> {
    let found = refresh_tokens::find_by_hash(db, &sha256_hex(token), Some(user_id)).await?;
    if let Some(row) = found {
        refresh_tokens::revoke_family(db, &row.family_id, auth.clock.now()).await?;
    }
    Ok(())
}

/// Revokes every refresh token of a user (deactivation, a new password, new access roles).
pub async fn revoke_all_sessions<C: sea_orm::ConnectionTrait>(
    conn: &C,
    user_id: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    refresh_tokens::revoke_all(conn, user_id, at).await
}
