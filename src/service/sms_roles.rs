//! SMS roles (clause 5.3): who runs the SMS.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Caller, write};
use crate::domain::DomainError;
use crate::domain::sms_role::{self, SmsRoleFields, SmsRolePatch};
use crate::error::Result;
use crate::persistence::entities::user;
use crate::persistence::page::{Page, PageRequest};
use crate::persistence::sms_roles::{self as stored, SmsRoleFilter, StoredSmsRole};
use crate::persistence::{Aggregate, existing_ids};

/// An SMS role as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SmsRole {
    #[schema(format = Uuid)]
    pub id: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub fields: SmsRoleFields,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(s: StoredSmsRole) -> SmsRole {
    SmsRole {
        id: s.id,
        fields: s.fields,
        version: s.version,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

async fn ensure_users_exist<C: ConnectionTrait>(conn: &C, ids: &[String]) -> Result<()> {
    let wanted: Vec<&str> = ids.iter().map(String::as_str).collect();
    let found = existing_ids::<user::Entity, _>(conn, &wanted).await?;
    if found.len() != wanted.len() {
        return Err(
            DomainError::invalid("member_ids", "every member must be an existing user").into(),
        );
    }
    Ok(())
}

fn ensure_may_change(caller: &Caller) -> Result<(), DomainError> {
    caller.ensure(caller.principal.can_manage_sms(), "change SMS roles")
}

pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    fields: SmsRoleFields,
) -> Result<SmsRole> {
    ensure_may_change(caller)?;
    let fields = sms_role::validate(fields)?;
    let created = write::create::<StoredSmsRole>(db, caller, async |tx, id| {
        ensure_users_exist(tx, &fields.member_ids).await?;
        stored::insert(tx, id, &fields, caller.now).await
    })
    .await?;
    Ok(view(created))
}

pub async fn get(db: &DatabaseConnection, caller: &Caller, id: &str) -> Result<SmsRole> {
    caller.ensure_reads_sms()?;
    let found = StoredSmsRole::load(db, id)
        .await?
        .ok_or(DomainError::NotFound(StoredSmsRole::NOUN))?;
    Ok(view(found))
}

/// Applies a merge patch; a patch that changes nothing writes nothing.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    patch: SmsRolePatch,
) -> Result<SmsRole> {
    ensure_may_change(caller)?;
    let changed = write::modify::<StoredSmsRole, _>(
        db,
        caller,
        (id, expected_version),
        "update",
        |before| {
            let fields = sms_role::validate(patch.apply_to(before.fields.clone()))?;
            Ok((fields != before.fields).then_some(fields))
        },
        async |tx, fields| {
            ensure_users_exist(tx, &fields.member_ids).await?;
            stored::update(tx, id, &fields).await
        },
    )
    .await?;
    Ok(view(changed))
}

/// Deletes a role no process refers to.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
) -> Result<()> {
    ensure_may_change(caller)?;
    write::remove::<StoredSmsRole>(db, caller, (id, expected_version), async |tx, _| {
        Ok(sms_role::ensure_deletable(
            stored::references(tx, id).await?,
        )?)
    })
    .await
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: SmsRoleFilter,
    request: &PageRequest,
) -> Result<Page<SmsRole>> {
    caller.ensure_reads_sms()?;
    Ok(stored::list(db, filter, request).await?.map(view))
}
