//! Users and their API keys in the database.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Serialize;
use serde_json::Value;

use super::entities::{api_key, user as row};
use super::page::{self, Page, PageRequest, SortKey};
use super::{Aggregate, from_json_text, is_unique_violation, to_json_text};
use crate::domain::DomainError;
use crate::domain::access::AccessRole;
use crate::domain::user::{UserFields, UserKind};
use crate::error::{Error, Result};

/// A stored user. The password hash stays in the database layer.
#[derive(Debug, Clone, Serialize)]
pub struct StoredUser {
    #[serde(skip)]
    pub id: String,
    pub email: String,
    pub kind: UserKind,
    #[serde(flatten)]
    pub fields: UserFields,
    #[serde(skip)]
    pub version: i64,
    #[serde(skip)]
    pub created_at: DateTime<Utc>,
    #[serde(skip)]
    pub updated_at: DateTime<Utc>,
}

impl Aggregate for StoredUser {
    type Entity = row::Entity;
    const KIND: &'static str = "user";
    const NOUN: &'static str = "user";

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn record(&self) -> Value {
        serde_json::to_value(self).expect("plain data serializes")
    }

    async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Self>> {
        row::Entity::find_by_id(id.to_string())
            .one(conn)
            .await?
            .map(from_row)
            .transpose()
    }
}

pub fn from_row(m: row::Model) -> Result<StoredUser> {
    Ok(StoredUser {
        kind: UserKind::parse(&m.kind)
            .ok_or_else(|| Error::Internal(format!("unknown user kind {}", m.kind)))?,
        fields: UserFields {
            display_name: m.display_name,
            roles: from_json_text::<Vec<String>>(&m.roles)
                .iter()
                .filter_map(|r| AccessRole::parse(r))
                .collect(),
            active: m.active,
        },
        id: m.id,
        email: m.email,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn email_taken(err: sea_orm::DbErr) -> Error {
    if is_unique_violation(&err) {
        DomainError::Conflict("a user with this email exists already".into()).into()
    } else {
        err.into()
    }
}

pub struct NewUserRow<'a> {
    pub email: &'a str,
    pub kind: UserKind,
    pub fields: &'a UserFields,
    pub password_hash: Option<String>,
}

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    new: NewUserRow<'_>,
    at: DateTime<Utc>,
) -> Result<()> {
    row::ActiveModel {
        id: Set(id.to_string()),
        email: Set(new.email.to_string()),
        display_name: Set(new.fields.display_name.clone()),
        kind: Set(new.kind.as_str().to_string()),
        roles: Set(to_json_text(&new.fields.roles)),
        active: Set(new.fields.active),
        password_hash: Set(new.password_hash),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(conn)
    .await
    .map_err(email_taken)?;
    Ok(())
}

/// Writes the changeable fields of an existing user (its version is already bumped).
pub async fn update<C: ConnectionTrait>(conn: &C, id: &str, fields: &UserFields) -> Result<()> {
    row::Entity::update_many()
        .set(row::ActiveModel {
            display_name: Set(fields.display_name.clone()),
            roles: Set(to_json_text(&fields.roles)),
            active: Set(fields.active),
            ..Default::default()
        })
        .filter(row::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn set_password_hash<C: ConnectionTrait>(conn: &C, id: &str, hash: String) -> Result<()> {
    row::Entity::update_many()
        .set(row::ActiveModel {
            password_hash: Set(Some(hash)),
            ..Default::default()
        })
        .filter(row::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// A stored API key; its secret exists only as a hash.
#[derive(Debug, Clone, Serialize)]
pub struct StoredApiKey {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub last_used_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub created_at: DateTime<Utc>,
    #[serde(skip)]
    pub version: i64,
}

impl From<api_key::Model> for StoredApiKey {
    fn from(m: api_key::Model) -> Self {
        StoredApiKey {
            id: m.id,
            user_id: m.user_id,
            name: m.name,
            prefix: m.prefix,
            expires_at: m.expires_at,
            revoked_at: m.revoked_at,
            last_used_at: m.last_used_at,
            created_at: m.created_at,
            version: m.version,
        }
    }
}

impl Aggregate for StoredApiKey {
    type Entity = api_key::Entity;
    const KIND: &'static str = "api_key";
    const NOUN: &'static str = "API key";

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn record(&self) -> Value {
        serde_json::to_value(self).expect("plain data serializes")
    }

    async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Self>> {
        Ok(api_key::Entity::find_by_id(id.to_string())
            .one(conn)
            .await?
            .map(Into::into))
    }
}

pub struct NewApiKeyRow<'a> {
    pub user_id: &'a str,
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: String,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert_api_key<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    new: NewApiKeyRow<'_>,
    at: DateTime<Utc>,
) -> Result<()> {
    api_key::ActiveModel {
        id: Set(id.to_string()),
        user_id: Set(new.user_id.to_string()),
        name: Set(new.name.to_string()),
        prefix: Set(new.prefix.to_string()),
        key_hash: Set(new.key_hash),
        expires_at: Set(new.expires_at),
        revoked_at: Set(None),
        last_used_at: Set(None),
        created_at: Set(at),
        version: Set(1),
        updated_at: Set(Some(at)),
    }
    .insert(conn)
    .await?;
    Ok(())
}

pub async fn revoke_api_key<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    api_key::Entity::update_many()
        .set(api_key::ActiveModel {
            revoked_at: Set(Some(at)),
            ..Default::default()
        })
        .filter(api_key::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// What a list of users is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub q: Option<String>,
    pub kind: Option<UserKind>,
    pub active: Option<bool>,
    pub role: Option<AccessRole>,
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: UserFilter,
    request: &PageRequest,
) -> Result<Page<StoredUser>> {
    let mut select = row::Entity::find();
    if let Some(q) = filter.q {
        let pattern = super::contains(&q);
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
    let sorts: [SortKey<_>; 2] = [
        ("email", row::Column::Email, page::Kind::Text),
        ("created_at", row::Column::CreatedAt, page::Kind::Timestamp),
    ];
    let page = page::fetch(db, select, &sorts, row::Column::Id, request).await?;
    let items = page
        .items
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
        total: page.total,
    })
}

/// The API keys of a user, oldest first.
pub async fn api_keys<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<Vec<StoredApiKey>> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::UserId.eq(user_id))
        .order_by_asc(api_key::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

pub async fn count<C: ConnectionTrait>(db: &C) -> Result<u64> {
    Ok(row::Entity::find().count(db).await?)
}

/// A user's row by (lower-cased) email, password hash included, for logging in.
pub async fn row_by_email<C: ConnectionTrait>(db: &C, email: &str) -> Result<Option<row::Model>> {
    Ok(row::Entity::find()
        .filter(row::Column::Email.eq(email))
        .one(db)
        .await?)
}

/// A user's row by id, for issuing tokens.
pub async fn row_by_id<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<row::Model>> {
    Ok(row::Entity::find_by_id(id.to_string()).one(db).await?)
}

/// The API key with this hash.
pub async fn api_key_by_hash<C: ConnectionTrait>(
    db: &C,
    key_hash: &str,
) -> Result<Option<StoredApiKey>> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(key_hash))
        .one(db)
        .await?
        .map(Into::into))
}

/// Notes when a key was last exchanged (bookkeeping, not a change of the key).
pub async fn touch_api_key<C: ConnectionTrait>(db: &C, id: &str, at: DateTime<Utc>) -> Result<()> {
    api_key::Entity::update_many()
        .col_expr(api_key::Column::LastUsedAt, Expr::value(at))
        .filter(api_key::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
