//! SMS roles in the database: the `sms_roles` row with its member rows.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, QueryTrait, Set,
};
use serde_json::Value;

use super::entities::{process, process_raci, sms_role as row, sms_role_member as member};
use super::page::{self, Page, PageRequest, SortKey};
use super::{Aggregate, from_json_text, is_unique_violation, to_json_text};
use crate::domain::DomainError;
use crate::domain::sms_role::SmsRoleFields;
use crate::error::{Error, Result};

/// A stored SMS role.
#[derive(Debug, Clone)]
pub struct StoredSmsRole {
    pub id: String,
    pub fields: SmsRoleFields,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Aggregate for StoredSmsRole {
    type Entity = row::Entity;
    const KIND: &'static str = "sms_role";
    const NOUN: &'static str = "SMS role";

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn record(&self) -> Value {
        serde_json::to_value(&self.fields).expect("plain data serializes")
    }

    async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Self>> {
        let Some(m) = row::Entity::find_by_id(id.to_string()).one(conn).await? else {
            return Ok(None);
        };
        Ok(load_children(conn, vec![m]).await?.pop())
    }
}

/// Completes a page of rows with their members, in one query.
pub async fn load_children<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<row::Model>,
) -> Result<Vec<StoredSmsRole>> {
    let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
    let mut members = super::children_of::<member::Entity, _, _>(
        conn,
        (member::Column::RoleId, member::Column::UserId),
        &ids,
        |m| (m.role_id, m.user_id),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|m| StoredSmsRole {
            fields: SmsRoleFields {
                member_ids: members.remove(&m.id).unwrap_or_default(),
                name: m.name,
                description: m.description,
                responsibilities: from_json_text(&m.responsibilities),
                authorities: from_json_text(&m.authorities),
                required_competences: from_json_text(&m.required_competences),
            },
            id: m.id,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
        .collect())
}

fn name_taken(err: sea_orm::DbErr) -> Error {
    if is_unique_violation(&err) {
        DomainError::Conflict("an SMS role with this name exists already".into()).into()
    } else {
        err.into()
    }
}

fn columns(fields: &SmsRoleFields) -> row::ActiveModel {
    row::ActiveModel {
        name_key: Set(fields.name.to_lowercase()),
        name: Set(fields.name.clone()),
        description: Set(fields.description.clone()),
        responsibilities: Set(to_json_text(&fields.responsibilities)),
        authorities: Set(to_json_text(&fields.authorities)),
        required_competences: Set(to_json_text(&fields.required_competences)),
        ..Default::default()
    }
}

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    fields: &SmsRoleFields,
    at: DateTime<Utc>,
) -> Result<()> {
    row::ActiveModel {
        id: Set(id.to_string()),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..columns(fields)
    }
    .insert(conn)
    .await
    .map_err(name_taken)?;
    write_members(conn, id, &fields.member_ids).await
}

/// Writes the fields of an existing role (its version is already bumped).
pub async fn update<C: ConnectionTrait>(conn: &C, id: &str, fields: &SmsRoleFields) -> Result<()> {
    row::Entity::update_many()
        .set(columns(fields))
        .filter(row::Column::Id.eq(id))
        .exec(conn)
        .await
        .map_err(name_taken)?;
    write_members(conn, id, &fields.member_ids).await
}

async fn write_members<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    member_ids: &[String],
) -> Result<()> {
    member::Entity::delete_many()
        .filter(member::Column::RoleId.eq(id))
        .exec(conn)
        .await?;
    if member_ids.is_empty() {
        return Ok(());
    }
    member::Entity::insert_many(member_ids.iter().map(|u| member::ActiveModel {
        role_id: Set(id.to_string()),
        user_id: Set(u.clone()),
    }))
    .exec(conn)
    .await?;
    Ok(())
}

/// How many processes the role owns, and in how many RACI lines it appears.
pub async fn references<C: ConnectionTrait>(conn: &C, id: &str) -> Result<(u64, u64)> {
    let owned = process::Entity::find()
        .filter(process::Column::OwnerRoleId.eq(id))
        .count(conn)
        .await?;
    let in_raci = process_raci::Entity::find()
        .filter(process_raci::Column::RoleId.eq(id))
        .count(conn)
        .await?;
    Ok((owned, in_raci))
}

/// What a list of SMS roles is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct SmsRoleFilter {
    pub q: Option<String>,
    pub member_id: Option<String>,
}

/// A page of SMS roles with their members: one query for the page, one for the members.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: SmsRoleFilter,
    request: &PageRequest,
) -> Result<Page<StoredSmsRole>> {
    let mut select = row::Entity::find();
    if let Some(q) = filter.q {
        let pattern = super::contains(&q);
        select = select.filter(
            Expr::col(row::Column::NameKey)
                .like(pattern.clone())
                .or(Func::lower(Expr::col(row::Column::Description)).like(pattern)),
        );
    }
    if let Some(user_id) = filter.member_id {
        let held = member::Entity::find()
            .select_only()
            .column(member::Column::RoleId)
            .filter(member::Column::UserId.eq(user_id))
            .into_query();
        select = select.filter(row::Column::Id.in_subquery(held));
    }
    let sorts: [SortKey<_>; 2] = [
        ("name", row::Column::NameKey, page::Kind::Text),
        ("created_at", row::Column::CreatedAt, page::Kind::Timestamp),
    ];
    let page = page::fetch(db, select, &sorts, row::Column::Id, request).await?;
    let items = load_children(db, page.items).await?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
        total: page.total,
    })
}
