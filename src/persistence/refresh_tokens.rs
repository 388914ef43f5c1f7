//! Refresh tokens in the database: stored hashed, spent once, revoked by family or user.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::entities::refresh_token::{self as row, Model};
use crate::error::Result;

pub struct NewRefreshToken<'a> {
    pub id: String,
    pub user_id: &'a str,
    pub family_id: String,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert<C: ConnectionTrait>(conn: &C, new: NewRefreshToken<'_>) -> Result<()> {
    row::ActiveModel {
        id: Set(new.id),
        user_id: Set(new.user_id.to_string()),
        family_id: Set(new.family_id),
        token_hash: Set(new.token_hash),
        expires_at: Set(new.expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(new.created_at),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// The token with this hash, of this user when one is named.
pub async fn find_by_hash<C: ConnectionTrait>(
    conn: &C,
    token_hash: &str,
    user_id: Option<&str>,
) -> Result<Option<Model>> {
    let mut select = row::Entity::find().filter(row::Column::TokenHash.eq(token_hash));
    if let Some(user_id) = user_id {
        select = select.filter(row::Column::UserId.eq(user_id));
    }
    Ok(select.one(conn).await?)
}

/// Spends the token only if nobody else did meanwhile: on PostgreSQL a concurrent refresh
/// with the same token waits for this row and then finds it used. False when it was spent.
pub async fn spend<C: ConnectionTrait>(conn: &C, id: &str, at: DateTime<Utc>) -> Result<bool> {
    let spent = row::Entity::update_many()
        .col_expr(row::Column::UsedAt, Expr::value(at))
        .filter(row::Column::Id.eq(id))
        .filter(row::Column::UsedAt.is_null())
        .filter(row::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(spent.rows_affected > 0)
}

pub async fn revoke_family<C: ConnectionTrait>(
    conn: &C,
    family_id: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    row::Entity::update_many()
        .col_expr(row::Column::RevokedAt, Expr::value(at))
        .filter(row::Column::FamilyId.eq(family_id))
        .filter(row::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn revoke_all<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    row::Entity::update_many()
        .col_expr(row::Column::RevokedAt, Expr::value(at))
        .filter(row::Column::UserId.eq(user_id))
        .filter(row::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}
