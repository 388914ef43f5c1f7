//! Service accounts: an API key is exchanged for an access token.

use sea_orm::DatabaseConnection;

use super::sessions::roles_of;
use super::{Auth, TokenPair, sha256_hex};
use crate::domain::user::UserKind;
use crate::error::{Error, Result};
use crate::persistence::users;

/// Exchanges a service account's API key for an access token (no refresh token: the key is the long-lived secret).
pub async fn exchange_api_key(
    db: &DatabaseConnection,
    auth: &Auth,
    key: &str,
) -> Result<TokenPair> {
    let found = users::api_key_by_hash(db, &sha256_hex(key)).await?;
    let now = auth.clock.now();
    let Some(row) =
        found.filter(|k| k.revoked_at.is_none() && k.expires_at.is_none_or(|e| e > now))
    else {
        return Err(Error::Unauthenticated(
            "unknown, revoked or expired API key",
        ));
    };
    let owner = users::row_by_id(db, &row.user_id).await?;
    let Some(owner) = owner.filter(|u| u.active && u.kind == UserKind::Service.as_str()) else {
        return Err(Error::Unauthenticated("API key owner inactive"));
    };
    users::touch_api_key(db, &row.id, now).await?;
    Ok(TokenPair {
        access_token: auth.issue_access_token(&owner.id, &roles_of(&owner))?,
        token_type: "Bearer".into(),
        expires_in: auth.access_ttl_secs,
        refresh_token: None,
    })
}
