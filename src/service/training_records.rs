//! Competence (clause 7.2): training records, and the gaps between what SMS roles require
//! and what their members hold.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Caller, write};
use crate::domain::DomainError;
use crate::domain::competence::{
    self as rules, CompetenceGap, CompetenceGapSummary, TrainingRecordFields, TrainingRecordPatch,
};
use crate::error::Result;
use crate::persistence::Aggregate;
use crate::persistence::page::{Page, PageRequest};
use crate::persistence::training_records::{
    self as stored, StoredTrainingRecord, TrainingRecordFilter,
};

/// A training record as the API shows it. A record is a fact: it has no workflow.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrainingRecord {
    #[schema(format = Uuid)]
    pub id: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub fields: TrainingRecordFields,
    /// Completed, and not yet at its `expires_on`, by the service's date (UTC): the record
    /// counts on its expiry date no longer.
    pub current: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(s: StoredTrainingRecord, today: NaiveDate) -> TrainingRecord {
    TrainingRecord {
        current: rules::is_current(s.fields.completed_on, s.fields.expires_on, today),
        id: s.id,
        fields: s.fields,
        version: s.version,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

/// Managers (and admins) record competence, as they manage the SMS roles that require it.
fn ensure_may_change(caller: &Caller) -> Result<(), DomainError> {
    caller.ensure(caller.principal.can_manage_sms(), "change training records")
}

async fn check_user<C: ConnectionTrait>(conn: &C, user_id: &str) -> Result<()> {
    if stored::user_exists(conn, user_id).await? {
        Ok(())
    } else {
        Err(DomainError::invalid("user_id", "must be the id of an existing user").into())
    }
}

pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    fields: TrainingRecordFields,
) -> Result<TrainingRecord> {
    ensure_may_change(caller)?;
    let today = caller.now.date_naive();
    let fields = rules::validate(fields, today)?;
    let created = write::create::<StoredTrainingRecord>(db, caller, async |tx, id| {
        check_user(tx, &fields.user_id).await?;
        stored::insert(tx, id, &fields, caller.now).await
    })
    .await?;
    Ok(view(created, today))
}

async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<StoredTrainingRecord> {
    Ok(StoredTrainingRecord::load(conn, id)
        .await?
        .ok_or(DomainError::NotFound(StoredTrainingRecord::NOUN))?)
}

pub async fn get(db: &DatabaseConnection, caller: &Caller, id: &str) -> Result<TrainingRecord> {
    caller.ensure_reads_sms()?;
    Ok(view(load(db, id).await?, caller.now.date_naive()))
}

/// Applies a merge patch (manager); a patch that changes nothing writes nothing. The user
/// is checked when it changes.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    patch: TrainingRecordPatch,
) -> Result<TrainingRecord> {
    ensure_may_change(caller)?;
    let today = caller.now.date_naive();
    let changed = write::modify::<StoredTrainingRecord, _>(
        db,
        caller,
        (id, expected_version),
        "update",
        |before| {
            let fields = rules::validate(patch.apply_to(before.fields.clone()), today)?;
            if fields == before.fields {
                return Ok(None);
            }
            let user_changed = fields.user_id != before.fields.user_id;
            Ok(Some((fields, user_changed)))
        },
        async |tx, (fields, user_changed)| {
            if user_changed {
                check_user(tx, &fields.user_id).await?;
            }
            stored::update(tx, id, &fields).await
        },
    )
    .await?;
    Ok(view(changed, today))
}

/// Deletes a record (manager), for one entered by mistake; the audit trail keeps it.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
) -> Result<()> {
    ensure_may_change(caller)?;
    write::remove::<StoredTrainingRecord>(db, caller, (id, expected_version), async |_, _| Ok(()))
        .await
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: TrainingRecordFilter,
    request: &PageRequest,
) -> Result<Page<TrainingRecord>> {
    caller.ensure_reads_sms()?;
    let today = caller.now.date_naive();
    let page = stored::list(db, filter, today, request).await?;
    Ok(page.map(|s| view(s, today)))
}

/// The competence gaps of the SMS on the service's date.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompetenceGaps {
    /// The date the report judges by (the service's date, UTC).
    pub as_of: NaiveDate,
    pub summary: CompetenceGapSummary,
    /// One row per requirement not met, by person, then role, then the role's order of
    /// competences.
    pub gaps: Vec<CompetenceGap>,
}

/// People holding SMS roles without a current record of each competence the role requires,
/// in three queries whatever the number of roles, people and records (four when an unknown
/// `user_id` must be told from a user who holds no role).
pub async fn gaps(
    db: &DatabaseConnection,
    caller: &Caller,
    role_id: Option<&str>,
    user_id: Option<&str>,
) -> Result<CompetenceGaps> {
    caller.ensure_reads_sms()?;
    let inputs = stored::gap_inputs(db, role_id, user_id).await?;
    if role_id.is_some() && inputs.roles.is_empty() {
        return Err(
            DomainError::invalid("role_id", "must be the id of an existing SMS role").into(),
        );
    }
    if let Some(user_id) = user_id
        && !inputs.names.contains_key(user_id)
    {
        check_user(db, user_id).await?;
    }
    let today = caller.now.date_naive();
    let report = rules::competence_gaps(&inputs.roles, &inputs.names, &inputs.records, today);
    Ok(CompetenceGaps {
        as_of: today,
        summary: report.summary,
        gaps: report.gaps,
    })
}
