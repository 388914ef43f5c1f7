//! Users (admin only) and the API keys of service accounts.

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{hash_password, random_secret, revoke_all_sessions, sha256_hex};
use super::{Caller, write};
use crate::domain::DomainError;
use crate::domain::user::{self, NewUser, UserFields, UserKind, UserPatch};
use crate::domain::validation::Validator;
use crate::error::{Error, Result};
use crate::persistence::Aggregate;
use crate::persistence::page::{Page, PageRequest};
use crate::persistence::users::{
    self as stored, NewApiKeyRow, NewUserRow, StoredApiKey, StoredUser, UserFilter,
};

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(example = "ann@example.com")]
    pub email: String,
    pub kind: UserKind,
    #[serde(flatten)]
    #[schema(inline)]
    pub fields: UserFields,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(u: StoredUser) -> User {
    User {
        id: u.id,
        email: u.email,
        kind: u.kind,
        fields: u.fields,
        version: u.version,
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<StoredUser> {
    Ok(StoredUser::load(conn, id)
        .await?
        .ok_or(DomainError::NotFound(StoredUser::NOUN))?)
}

fn ensure_admin(caller: &Caller) -> Result<(), DomainError> {
    caller.ensure(caller.principal.is_admin(), "manage users")
}

/// Creates a user (admin, or the service itself at bootstrap and from the CLI).
pub async fn create(db: &DatabaseConnection, caller: &Caller, input: NewUser) -> Result<User> {
    ensure_admin(caller)?;
    let input = user::validate_new(input)?;
    let password_hash = match input.password.clone() {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let fields = UserFields {
        display_name: input.display_name,
        roles: input.roles,
        active: true,
    };
    let created = write::create::<StoredUser>(db, caller, async |tx, id| {
        let new = NewUserRow {
            email: &input.email,
            kind: input.kind,
            fields: &fields,
            password_hash,
        };
        stored::insert(tx, id, new, caller.now).await
    })
    .await?;
    Ok(view(created))
}

pub async fn get(db: &DatabaseConnection, caller: &Caller, id: &str) -> Result<User> {
    ensure_admin(caller)?;
    Ok(view(load(db, id).await?))
}

/// The calling user, whatever their roles.
pub async fn me(db: &DatabaseConnection, caller: &Caller) -> Result<User> {
    Ok(view(load(db, caller.user_id()).await?))
}

/// Applies a merge patch. Deactivation ends the user's sessions; a patch that changes
/// nothing writes nothing.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    patch: UserPatch,
) -> Result<User> {
    ensure_admin(caller)?;
    let changed = write::modify::<StoredUser, _>(
        db,
        caller,
        (id, expected_version),
        "update",
        |before| {
            let is_self = id == caller.user_id();
            let fields = user::validate_fields(patch.apply_to(before.fields.clone()), is_self)?;
            let ends_sessions = user::ends_sessions(&before.fields, &fields);
            Ok((fields != before.fields).then_some((fields, ends_sessions)))
        },
        async |tx, (fields, ends_sessions)| {
            stored::update(tx, id, &fields).await?;
            if ends_sessions {
                revoke_all_sessions(tx, id, caller.now).await?;
            }
            Ok(())
        },
    )
    .await?;
    Ok(view(changed))
}

/// Sets a person's password and ends their sessions.
pub async fn set_password(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    password: String,
) -> Result<()> {
    ensure_admin(caller)?;
    let mut v = Validator::new();
    user::check_password(&mut v, "password", &password);
    v.finish()?;
    if load(db, id).await?.kind != UserKind::Person {
        return Err(not_a_person());
    }
    let hash = hash_password(password).await?;
    write::modify::<StoredUser, _>(
        db,
        caller,
        (id, None),
        "set_password",
        |target| match target.kind {
            UserKind::Person => Ok(Some(hash)),
            UserKind::Service => Err(not_a_person()),
        },
        async |tx, hash| {
            stored::set_password_hash(tx, id, hash).await?;
            revoke_all_sessions(tx, id, caller.now).await
        },
    )
    .await?;
    Ok(())
}

fn not_a_person() -> Error {
    DomainError::invalid(
        "password",
        "service accounts authenticate with API keys, not passwords",
    )
    .into()
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: UserFilter,
    request: &PageRequest,
) -> Result<Page<User>> {
    ensure_admin(caller)?;
    Ok(stored::list(db, filter, request).await?.map(view))
}

pub async fn count(db: &DatabaseConnection) -> Result<u64> {
    stored::count(db).await
}

/// An API key as the API shows it; the secret is never shown again.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKey {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub user_id: String,
    pub name: String,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NewApiKey {
    #[serde(flatten)]
    pub api_key: ApiKey,
    /// The secret, shown only in this response. Exchange it at `POST /auth/token`.
    pub key: String,
}

fn key_view(k: StoredApiKey) -> ApiKey {
    ApiKey {
        id: k.id,
        user_id: k.user_id,
        name: k.name,
        prefix: k.prefix,
        expires_at: k.expires_at,
        revoked_at: k.revoked_at,
        last_used_at: k.last_used_at,
        created_at: k.created_at,
    }
}

pub async fn create_api_key(
    db: &DatabaseConnection,
    caller: &Caller,
    user_id: &str,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<NewApiKey> {
    ensure_admin(caller)?;
    let mut v = Validator::new();
    let name = v.required_text("name", name, 120);
    if let Some(e) = expires_at {
        v.check(e > caller.now, "expires_at", "must be in the future");
    }
    v.finish()?;
    let key = format!("itsms_{}", random_secret());
    let created = write::create::<StoredApiKey>(db, caller, async |tx, id| {
        if load(tx, user_id).await?.kind != UserKind::Service {
            return Err(DomainError::invalid(
                "user_id",
                "API keys belong to service accounts (kind `service`)",
            )
            .into());
        }
        let new = NewApiKeyRow {
            user_id,
            name: &name,
            prefix: &key[..12],
            key_hash: sha256_hex(&key),
            expires_at: expires_at.map(|e| e.trunc_subsecs(6)),
        };
        stored::insert_api_key(tx, id, new, caller.now).await
    })
    .await?;
    Ok(NewApiKey {
        api_key: key_view(created),
        key,
    })
}

pub async fn list_api_keys(
    db: &DatabaseConnection,
    caller: &Caller,
    user_id: &str,
) -> Result<Vec<ApiKey>> {
    ensure_admin(caller)?;
    load(db, user_id).await?;
    let keys = stored::api_keys(db, user_id).await?;
    Ok(keys.into_iter().map(key_view).collect())
}

/// Revokes a key; revoking a revoked key changes nothing.
pub async fn revoke_api_key(
    db: &DatabaseConnection,
    caller: &Caller,
    user_id: &str,
    key_id: &str,
) -> Result<()> {
    ensure_admin(caller)?;
    write::modify::<StoredApiKey, _>(
        db,
        caller,
        (key_id, None),
        "revoke",
        |key| {
            if key.user_id != user_id {
                return Err(DomainError::NotFound(StoredApiKey::NOUN).into());
            }
            Ok(key.revoked_at.is_none().then_some(()))
        },
        async |tx, ()| stored::revoke_api_key(tx, key_id, caller.now).await,
    )
    .await?;
    Ok(())
}
