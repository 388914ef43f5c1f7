//! Users (admin only) and the API keys of service accounts.

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::auth::{hash_password, random_secret, revoke_all_sessions, sha256_hex};
use super::{Caller, audit_trail, begin_write, check_version, new_id};
use crate::clock::Clock;
use crate::domain::DomainError;
use crate::domain::access::AccessRole;
use crate::domain::user::{self, NewUser, UserKind};
use crate::domain::validation::{Validator, dedup};
use crate::error::{Error, Result};
use crate::persistence::entities::{api_key, user as row};
use crate::persistence::page::{self, Page, PageRequest, SortKey};
use crate::persistence::{from_json_text, is_unique_violation, to_json_text, update_versioned};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: String,
    #[schema(example = "ann@example.com")]
    pub email: String,
    pub display_name: String,
    pub kind: UserKind,
    pub roles: Vec<AccessRole>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const ENTITY: &str = "user";

fn view(m: row::Model) -> Result<User> {
    Ok(User {
        kind: UserKind::parse(&m.kind)
            .ok_or_else(|| Error::Internal(format!("unknown user kind {}", m.kind)))?,
        roles: from_json_text::<Vec<String>>(&m.roles)
            .iter()
            .filter_map(|r| AccessRole::parse(r))
            .collect(),
        id: m.id,
        email: m.email,
        display_name: m.display_name,
        active: m.active,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn snapshot(u: &User) -> serde_json::Value {
    serde_json::to_value(u).expect("serializes")
}

async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<User> {
    let m = row::Entity::find_by_id(id.to_string())
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound("user"))?;
    view(m)
}

fn ensure_admin(caller: &Caller) -> Result<(), DomainError> {
    caller.ensure(caller.principal.is_admin(), "manage users")
}

fn email_taken(err: sea_orm::DbErr) -> Error {
    if is_unique_violation(&err) {
        DomainError::Conflict("a user with this email exists already".into()).into()
    } else {
        err.into()
    }
}

/// Creates a user; `caller` is None only for the service's own bootstrap and CLI.
pub async fn create(
    db: &DatabaseConnection,
    caller: Option<&Caller>,
    input: NewUser,
) -> Result<User> {
    if let Some(c) = caller {
        ensure_admin(c)?;
    }
    let input = user::validate_new(input)?;
    let password_hash = match input.password.clone() {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let tx = begin_write(db).await?;
    let at = caller.map_or_else(|| Clock::default().now(), |c| c.now);
    let id = new_id();
    row::ActiveModel {
        id: Set(id.clone()),
        email: Set(input.email),
        display_name: Set(input.display_name),
        kind: Set(input.kind.as_str().to_string()),
        roles: Set(to_json_text(&input.roles)),
        active: Set(true),
        password_hash: Set(password_hash),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&tx)
    .await
    .map_err(email_taken)?;
    let created = load(&tx, &id).await?;
    audit_trail::record(
        &tx,
        caller,
        "create",
        ENTITY,
        &id,
        None,
        Some(&snapshot(&created)),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

pub async fn get(db: &DatabaseConnection, caller: &Caller, id: &str) -> Result<User> {
    ensure_admin(caller)?;
    load(db, id).await
}

/// The calling user, whatever their roles.
pub async fn me(db: &DatabaseConnection, caller: &Caller) -> Result<User> {
    load(db, caller.user_id()).await
}

#[derive(Debug, Clone)]
pub struct UserChanges {
    pub display_name: String,
    pub roles: Vec<AccessRole>,
    pub active: bool,
}

impl User {
    pub fn changes(&self) -> UserChanges {
        UserChanges {
            display_name: self.display_name.clone(),
            roles: self.roles.clone(),
            active: self.active,
        }
    }
}

pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    changes: UserChanges,
) -> Result<User> {
    ensure_admin(caller)?;
    let mut v = Validator::new();
    let display_name = v.required_text("display_name", &changes.display_name, 120);
    if id == caller.user_id() {
        v.check(changes.active, "active", "you cannot deactivate yourself");
        v.check(
            changes.roles.contains(&AccessRole::Admin),
            "roles",
            "you cannot remove your own admin role",
        );
    }
    v.finish()?;
    let tx = begin_write(db).await?;
    let before = load(&tx, id).await?;
    check_version(expected_version, before.version)?;
    let update = row::ActiveModel {
        display_name: Set(display_name),
        roles: Set(to_json_text(&dedup(&changes.roles))),
        active: Set(changes.active),
        version: Set(before.version + 1),
        updated_at: Set(caller.now),
        ..Default::default()
    };
    update_versioned(
        &tx,
        (row::Column::Id, id),
        (row::Column::Version, before.version),
        update,
        Error::from,
    )
    .await?;
    // A change of access ends the user's sessions, as deactivation does: whoever holds a
    // refresh token must log in again. Access tokens keep their roles until they expire.
    let roles = dedup(&changes.roles);
    let same_roles =
        before.roles.len() == roles.len() && roles.iter().all(|r| before.roles.contains(r));
    if !changes.active || !same_roles {
        revoke_all_sessions(&tx, id, caller.now).await?;
    }
    let after = load(&tx, id).await?;
    audit_trail::record(
        &tx,
        Some(caller),
        "update",
        ENTITY,
        id,
        Some(&snapshot(&before)),
        Some(&snapshot(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
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
    let target = load(db, id).await?;
    if target.kind != UserKind::Person {
        return Err(DomainError::invalid(
            "password",
            "service accounts authenticate with API keys, not passwords",
        )
        .into());
    }
    let hash = hash_password(password).await?;
    let tx = begin_write(db).await?;
    let before = load(&tx, id).await?;
    let update = row::ActiveModel {
        password_hash: Set(Some(hash)),
        version: Set(before.version + 1),
        updated_at: Set(caller.now),
        ..Default::default()
    };
    update_versioned(
        &tx,
        (row::Column::Id, id),
        (row::Column::Version, before.version),
        update,
        Error::from,
    )
    .await?;
    revoke_all_sessions(&tx, id, caller.now).await?;
    let (hidden, changed) = (
        json!({"password": "(hidden)"}),
        json!({"password": "(changed)"}),
    );
    audit_trail::record(
        &tx,
        Some(caller),
        "set_password",
        ENTITY,
        id,
        Some(&hidden),
        Some(&changed),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub q: Option<String>,
    pub kind: Option<UserKind>,
    pub active: Option<bool>,
    pub role: Option<AccessRole>,
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: UserFilter,
    request: &PageRequest,
) -> Result<Page<User>> {
    ensure_admin(caller)?;
    let mut select = row::Entity::find();
    if let Some(q) = filter.q {
        let pattern = crate::persistence::contains(&q);
        select = select.filter(
            Expr::col(row::Column::Email)
                .like(pattern.clone())
                .or(Func::lower(Expr::col(row::Column::DisplayName)).like(pattern)),
        );
    }
    if let Some(kind) = filter.kind {
        select = select.filter(row::Column::Kind.eq(kind.as_str()));
    }
    if let Some(active) = filter.active {
        select = select.filter(row::Column::Active.eq(active));
    }
    if let Some(role) = filter.role {
        select = select.filter(row::Column::Roles.like(format!("%\"{}\"%", role.as_str())));
    }
    let sorts = [
        SortKey {
            name: "email",
            column: row::Column::Email,
        },
        SortKey {
            name: "created_at",
            column: row::Column::Id,
        },
    ];
    let page = page::fetch(
        db,
        select,
        &sorts,
        row::Column::Id,
        request,
        |m, sort| match sort {
            "email" => (json!(m.email), m.id.clone()),
            _ => (json!(m.id), m.id.clone()),
        },
    )
    .await?;
    let items = page
        .items
        .into_iter()
        .map(view)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
        total: page.total,
    })
}

pub async fn count(db: &DatabaseConnection) -> Result<u64> {
    Ok(row::Entity::find().count(db).await?)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: String,
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

fn key_view(m: api_key::Model) -> ApiKey {
    ApiKey {
        id: m.id,
        user_id: m.user_id,
        name: m.name,
        prefix: m.prefix,
        expires_at: m.expires_at,
        revoked_at: m.revoked_at,
        last_used_at: m.last_used_at,
        created_at: m.created_at,
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
    let tx = begin_write(db).await?;
    let owner = load(&tx, user_id).await?;
    if owner.kind != UserKind::Service {
        return Err(DomainError::invalid(
            "user_id",
            "API keys belong to service accounts (kind `service`)",
        )
        .into());
    }
    let secret = random_secret();
    let key = format!("itsms_{secret}");
    let m = api_key::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user_id.to_string()),
        name: Set(name),
        prefix: Set(key[..12].to_string()),
        key_hash: Set(sha256_hex(&key)),
        expires_at: Set(expires_at.map(|e| e.trunc_subsecs(6))),
        revoked_at: Set(None),
        last_used_at: Set(None),
        created_at: Set(caller.now),
    }
    .insert(&tx)
    .await?;
    let created = key_view(m);
    let snapshot = serde_json::to_value(&created).expect("serializes");
    audit_trail::record(
        &tx,
        Some(caller),
        "create",
        "api_key",
        &created.id,
        None,
        Some(&snapshot),
    )
    .await?;
    tx.commit().await?;
    Ok(NewApiKey {
        api_key: created,
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
    let rows = api_key::Entity::find()
        .filter(api_key::Column::UserId.eq(user_id))
        .order_by_asc(api_key::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(key_view).collect())
}

pub async fn revoke_api_key(
    db: &DatabaseConnection,
    caller: &Caller,
    user_id: &str,
    key_id: &str,
) -> Result<()> {
    ensure_admin(caller)?;
    let tx = begin_write(db).await?;
    let found = api_key::Entity::find_by_id(key_id.to_string())
        .filter(api_key::Column::UserId.eq(user_id))
        .one(&tx)
        .await?
        .ok_or(DomainError::NotFound("API key"))?;
    if found.revoked_at.is_some() {
        return Ok(());
    }
    let before = serde_json::to_value(key_view(found.clone())).expect("serializes");
    let revoked = api_key::ActiveModel {
        id: Set(found.id.clone()),
        revoked_at: Set(Some(caller.now)),
        ..Default::default()
    }
    .update(&tx)
    .await?;
    let after = serde_json::to_value(key_view(revoked)).expect("serializes");
    audit_trail::record(
        &tx,
        Some(caller),
        "revoke",
        "api_key",
        key_id,
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
