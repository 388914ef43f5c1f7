//! SMS roles (clause 5.3): who runs the SMS.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Caller, audit_trail, begin_write, check_version, new_id};
use crate::domain::DomainError;
use crate::domain::sms_role::{self, SmsRoleInput};
use crate::error::{Error, Result};
use crate::persistence::entities::{
    process, process_raci, sms_role as role, sms_role_member as member, user,
};
use crate::persistence::page::{self, Page, PageRequest, SortKey};
use crate::persistence::{
    delete_versioned, from_json_text, is_unique_violation, to_json_text, update_versioned,
};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SmsRole {
    pub id: String,
    #[schema(example = "Service owner")]
    pub name: String,
    pub description: Option<String>,
    pub responsibilities: Vec<String>,
    pub authorities: Vec<String>,
    pub required_competences: Vec<String>,
    /// Users who hold the role.
    pub member_ids: Vec<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SmsRole {
    pub fn input(&self) -> SmsRoleInput {
        SmsRoleInput {
            name: self.name.clone(),
            description: self.description.clone(),
            responsibilities: self.responsibilities.clone(),
            authorities: self.authorities.clone(),
            required_competences: self.required_competences.clone(),
            member_ids: self.member_ids.clone(),
        }
    }
}

const ENTITY: &str = "sms_role";

fn view(m: role::Model, member_ids: Vec<String>) -> SmsRole {
    SmsRole {
        id: m.id,
        name: m.name,
        description: m.description,
        responsibilities: from_json_text(&m.responsibilities),
        authorities: from_json_text(&m.authorities),
        required_competences: from_json_text(&m.required_competences),
        member_ids,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

async fn members_of<C: ConnectionTrait>(
    conn: &C,
    role_ids: &[String],
) -> Result<HashMap<String, Vec<String>>> {
    let rows = member::Entity::find()
        .filter(member::Column::RoleId.is_in(role_ids.iter().cloned()))
        .order_by_asc(member::Column::UserId)
        .all(conn)
        .await?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for r in rows {
        out.entry(r.role_id).or_default().push(r.user_id);
    }
    Ok(out)
}

async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<SmsRole> {
    let m = role::Entity::find_by_id(id.to_string())
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound("SMS role"))?;
    let mut members = members_of(conn, std::slice::from_ref(&m.id)).await?;
    let ids = members.remove(&m.id).unwrap_or_default();
    Ok(view(m, ids))
}

fn snapshot(r: &SmsRole) -> serde_json::Value {
    serde_json::to_value(r).expect("serializes")
}

async fn ensure_users_exist<C: ConnectionTrait>(conn: &C, ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let found = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().cloned()))
        .count(conn)
        .await?;
    if found != ids.len() as u64 {
        return Err(
            DomainError::invalid("member_ids", "every member must be an existing user").into(),
        );
    }
    Ok(())
}

async fn write_members<C: ConnectionTrait>(
    conn: &C,
    role_id: &str,
    member_ids: &[String],
) -> Result<()> {
    member::Entity::delete_many()
        .filter(member::Column::RoleId.eq(role_id))
        .exec(conn)
        .await?;
    if member_ids.is_empty() {
        return Ok(());
    }
    member::Entity::insert_many(member_ids.iter().map(|u| member::ActiveModel {
        role_id: Set(role_id.to_string()),
        user_id: Set(u.clone()),
    }))
    .exec(conn)
    .await?;
    Ok(())
}

fn name_taken(err: sea_orm::DbErr) -> Error {
    if is_unique_violation(&err) {
        DomainError::Conflict("an SMS role with this name exists already".into()).into()
    } else {
        err.into()
    }
}

fn fields(input: &SmsRoleInput) -> role::ActiveModel {
    role::ActiveModel {
        name_key: Set(input.name.to_lowercase()),
        name: Set(input.name.clone()),
        description: Set(input.description.clone()),
        responsibilities: Set(to_json_text(&input.responsibilities)),
        authorities: Set(to_json_text(&input.authorities)),
        required_competences: Set(to_json_text(&input.required_competences)),
        ..Default::default()
    }
}

fn ensure_may_change(caller: &Caller) -> Result<(), DomainError> {
    caller.ensure(caller.principal.can_manage_sms(), "change SMS roles")
}

pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    input: SmsRoleInput,
) -> Result<SmsRole> {
    ensure_may_change(caller)?;
    let input = sms_role::validate(input)?;
    let tx = begin_write(db).await?;
    ensure_users_exist(&tx, &input.member_ids).await?;
    let at = caller.now;
    let id = new_id();
    role::ActiveModel {
        id: Set(id.clone()),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..fields(&input)
    }
    .insert(&tx)
    .await
    .map_err(name_taken)?;
    write_members(&tx, &id, &input.member_ids).await?;
    let created = load(&tx, &id).await?;
    audit_trail::record(
        &tx,
        Some(caller),
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

pub async fn get(db: &DatabaseConnection, caller: &Caller, id: &str) -> Result<SmsRole> {
    caller.ensure_reads_sms()?;
    load(db, id).await
}

pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    input: SmsRoleInput,
) -> Result<SmsRole> {
    ensure_may_change(caller)?;
    let input = sms_role::validate(input)?;
    let tx = begin_write(db).await?;
    let before = load(&tx, id).await?;
    check_version(expected_version, before.version)?;
    ensure_users_exist(&tx, &input.member_ids).await?;
    let changes = role::ActiveModel {
        version: Set(before.version + 1),
        updated_at: Set(caller.now),
        ..fields(&input)
    };
    update_versioned(
        &tx,
        (role::Column::Id, id),
        (role::Column::Version, before.version),
        changes,
        name_taken,
    )
    .await?;
    write_members(&tx, id, &input.member_ids).await?;
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

/// Deletes a role no process refers to.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
) -> Result<()> {
    ensure_may_change(caller)?;
    let tx = begin_write(db).await?;
    let before = load(&tx, id).await?;
    check_version(expected_version, before.version)?;
    let owned = process::Entity::find()
        .filter(process::Column::OwnerRoleId.eq(id))
        .count(&tx)
        .await?;
    let in_raci = process_raci::Entity::find()
        .filter(process_raci::Column::RoleId.eq(id))
        .count(&tx)
        .await?;
    if owned + in_raci > 0 {
        return Err(DomainError::Conflict(format!(
            "the role owns {owned} process(es) and appears in {in_raci} RACI assignment(s); reassign them first"
        ))
        .into());
    }
    delete_versioned::<role::Entity, _>(
        &tx,
        (role::Column::Id, id),
        (role::Column::Version, before.version),
    )
    .await?;
    audit_trail::record(
        &tx,
        Some(caller),
        "delete",
        ENTITY,
        id,
        Some(&snapshot(&before)),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct SmsRoleFilter {
    pub q: Option<String>,
    pub member_id: Option<String>,
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: SmsRoleFilter,
    request: &PageRequest,
) -> Result<Page<SmsRole>> {
    caller.ensure_reads_sms()?;
    let mut select = role::Entity::find();
    if let Some(q) = filter.q {
        let pattern = crate::persistence::contains(&q);
        select = select.filter(
            Expr::col(role::Column::NameKey)
                .like(pattern.clone())
                .or(Func::lower(Expr::col(role::Column::Description)).like(pattern)),
        );
    }
    if let Some(user_id) = filter.member_id {
        let holders = member::Entity::find()
            .filter(member::Column::UserId.eq(user_id))
            .all(db)
            .await?
            .into_iter()
            .map(|m| m.role_id);
        select = select.filter(role::Column::Id.is_in(holders));
    }
    let sorts: [SortKey<_>; 2] = [
        ("name", role::Column::NameKey, page::Kind::Text),
        ("created_at", role::Column::CreatedAt, page::Kind::Timestamp),
    ];
    let page = page::fetch(db, select, &sorts, role::Column::Id, request).await?;
    let ids: Vec<String> = page.items.iter().map(|m| m.id.clone()).collect();
    let mut members = members_of(db, &ids).await?;
    Ok(page.map(|m| {
        let ids = members.remove(&m.id).unwrap_or_default();
        view(m, ids)
    }))
}

pub async fn exists<C: ConnectionTrait>(conn: &C, id: &str) -> Result<bool> {
    Ok(role::Entity::find_by_id(id.to_string()).count(conn).await? > 0)
}
