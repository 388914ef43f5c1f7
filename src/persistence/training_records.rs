//! Training records in the database, their list query, and what the competence-gap report
//! reads: SMS roles with their members, and the members' records.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::Value;

use super::entities::{sms_role, sms_role_member as member, training_record as row, user};
use super::page::{self, Kind, Page, PageRequest, SortKey};
use super::{Aggregate, existing_ids, from_json_text};
use crate::domain::competence::{
    HeldCompetence, RoleRequirements, TrainingRecordFields, competence_key,
};
use crate::error::Result;

/// A stored training record.
#[derive(Debug, Clone)]
pub struct StoredTrainingRecord {
    pub id: String,
    pub fields: TrainingRecordFields,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Aggregate for StoredTrainingRecord {
    type Entity = row::Entity;
    const KIND: &'static str = "training_record";
    const NOUN: &'static str = "training record";

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
        Ok(row::Entity::find_by_id(id.to_string())
            .one(conn)
            .await?
            .map(from_row))
    }
}

pub fn from_row(m: row::Model) -> StoredTrainingRecord {
    StoredTrainingRecord {
        fields: TrainingRecordFields {
            user_id: m.user_id,
            competence: m.competence,
            completed_on: m.completed_on,
            expires_on: m.expires_on,
            evidence: m.evidence,
        },
        id: m.id,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

fn columns(f: &TrainingRecordFields) -> row::ActiveModel {
    row::ActiveModel {
        user_id: Set(f.user_id.clone()),
        competence: Set(f.competence.clone()),
        competence_key: Set(competence_key(&f.competence)),
        completed_on: Set(f.completed_on),
        expires_on: Set(f.expires_on),
        evidence: Set(f.evidence.clone()),
        ..Default::default()
    }
}

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    fields: &TrainingRecordFields,
    at: DateTime<Utc>,
) -> Result<()> {
    row::Entity::insert(row::ActiveModel {
        id: Set(id.to_string()),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..columns(fields)
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Writes an existing record (its version is already bumped).
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    fields: &TrainingRecordFields,
) -> Result<()> {
    row::Entity::update_many()
        .set(columns(fields))
        .filter(row::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn user_exists<C: ConnectionTrait>(conn: &C, user_id: &str) -> Result<bool> {
    Ok(!existing_ids::<user::Entity, _>(conn, &[user_id])
        .await?
        .is_empty())
}

/// What a list of training records is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct TrainingRecordFilter {
    pub user_id: Option<String>,
    /// Compared without regard to case.
    pub competence: Option<String>,
    pub current: Option<bool>,
    /// Records that expire on or before this date (so no longer count on it).
    pub expires_before: Option<NaiveDate>,
}

/// Current on `today`: the same rule as `competence::is_current`, in SQL.
fn current(today: NaiveDate) -> Condition {
    Condition::all()
        .add(row::Column::CompletedOn.lte(today))
        .add(
            Condition::any()
                .add(row::Column::ExpiresOn.is_null())
                .add(row::Column::ExpiresOn.gt(today)),
        )
}

pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: TrainingRecordFilter,
    today: NaiveDate,
    request: &PageRequest,
) -> Result<Page<StoredTrainingRecord>> {
    let mut select = row::Entity::find();
    if let Some(user_id) = filter.user_id {
        select = select.filter(row::Column::UserId.eq(user_id));
    }
    if let Some(competence) = filter.competence {
        select = select.filter(row::Column::CompetenceKey.eq(competence_key(&competence)));
    }
    match filter.current {
        Some(true) => select = select.filter(current(today)),
        Some(false) => select = select.filter(current(today).not()),
        None => {}
    }
    if let Some(before) = filter.expires_before {
        select = select.filter(row::Column::ExpiresOn.lte(before));
    }
    let sorts: [SortKey<_>; 3] = [
        ("created_at", row::Column::CreatedAt, Kind::Timestamp),
        ("completed_on", row::Column::CompletedOn, Kind::Date),
        ("expires_on", row::Column::ExpiresOn, Kind::NullableDate),
    ];
    let page = page::fetch(conn, select, &sorts, row::Column::Id, request).await?;
    Ok(page.map(from_row))
}

/// The memberships the report checks (of `role_id` only, of `user_id` only, when given),
/// selecting `columns`.
fn memberships(
    columns: &[member::Column],
    role_id: Option<&str>,
    user_id: Option<&str>,
) -> SelectStatement {
    let mut query = Query::select();
    for column in columns {
        query.column((member::Entity, *column));
    }
    query.from(member::Entity);
    if let Some(role_id) = role_id {
        query.and_where(Expr::col((member::Entity, member::Column::RoleId)).eq(role_id));
    }
    if let Some(user_id) = user_id {
        query.and_where(Expr::col((member::Entity, member::Column::UserId)).eq(user_id));
    }
    query
}

/// What the competence-gap report is computed from.
#[derive(Debug, Clone, Default)]
pub struct GapInputs {
    /// The SMS roles in scope, by name, with the members in scope.
    pub roles: Vec<RoleRequirements>,
    /// Display names of the members, by user id.
    pub names: HashMap<String, String>,
    /// Every training record of the members.
    pub records: Vec<HeldCompetence>,
}

/// Reads the report's inputs in three queries, whatever the number of roles, people and
/// records: the roles, their memberships with the members' names, the members' records.
pub async fn gap_inputs<C: ConnectionTrait>(
    conn: &C,
    role_id: Option<&str>,
    user_id: Option<&str>,
) -> Result<GapInputs> {
    let mut roles = sms_role::Entity::find().order_by_asc(sms_role::Column::NameKey);
    if let Some(role_id) = role_id {
        roles = roles.filter(sms_role::Column::Id.eq(role_id));
    }
    let roles = roles.all(conn).await?;

    let members = memberships(
        &[member::Column::RoleId, member::Column::UserId],
        role_id,
        user_id,
    )
    .column((user::Entity, user::Column::DisplayName))
    .inner_join(
        user::Entity,
        Expr::col((user::Entity, user::Column::Id))
            .equals((member::Entity, member::Column::UserId)),
    )
    .to_owned();
    let mut member_ids: HashMap<String, Vec<String>> = HashMap::new();
    let mut names = HashMap::new();
    for r in conn.query_all(&members).await? {
        let (role, user): (String, String) = (r.try_get("", "role_id")?, r.try_get("", "user_id")?);
        names.insert(user.clone(), r.try_get("", "display_name")?);
        member_ids.entry(role).or_default().push(user);
    }

    let in_scope = memberships(&[member::Column::UserId], role_id, user_id);
    let records = Query::select()
        .columns([
            row::Column::UserId,
            row::Column::Competence,
            row::Column::CompletedOn,
            row::Column::ExpiresOn,
        ])
        .from(row::Entity)
        .and_where(Expr::col(row::Column::UserId).in_subquery(in_scope))
        .to_owned();
    let records = conn
        .query_all(&records)
        .await?
        .iter()
        .map(|r| {
            Ok(HeldCompetence {
                user_id: r.try_get("", "user_id")?,
                competence: r.try_get("", "competence")?,
                completed_on: r.try_get("", "completed_on")?,
                expires_on: r.try_get("", "expires_on")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;

    let roles = roles
        .into_iter()
        .map(|m| RoleRequirements {
            member_ids: member_ids.remove(&m.id).unwrap_or_default(),
            required_competences: from_json_text(&m.required_competences),
            role_id: m.id,
            role_name: m.name,
        })
        .collect();
    Ok(GapInputs {
        roles,
        names,
        records,
    })
}
