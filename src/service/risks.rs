//! Risks and opportunities (clause 6.1): the register, its score, the treat–accept–close
//! workflow, and the links to the corrective action or improvement that carries out a
//! treatment.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use utoipa::ToSchema;

use super::audit_trail::AuditEntry;
use super::{Caller, write};
use crate::domain::DomainError;
use crate::domain::risk::{
    self as rules, RiskAction, RiskFields, RiskLevel, RiskPatch, RiskState, StepInput, WORKFLOW,
};
use crate::domain::validation::FieldError;
use crate::domain::workflow::{Relation, allowed_actions, decide};
use crate::error::Result;
use crate::persistence::entities::{corrective_action, improvement, process, sms_role};
use crate::persistence::page::{Page, PageRequest};
use crate::persistence::risks::{self as stored, RiskFilter, StoredRisk};
use crate::persistence::{Aggregate, existing_ids, history};

/// A risk or opportunity as the API shows it: what is stored, its score and level, and
/// what the caller may do.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Risk {
    #[schema(format = Uuid)]
    pub id: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub fields: RiskFields,
    /// `likelihood` × `impact`, 1 to 25.
    #[schema(minimum = 1, maximum = 25, format = Int32)]
    pub score: i32,
    /// The score's level: `low` 1–6, `medium` 8–12, `high` 15–25.
    pub level: RiskLevel,
    pub state: RiskState,
    /// Why the risk is accepted as it is (set by `accept`, cleared by `treat`).
    pub acceptance_rationale: Option<String>,
    /// What the calling user may do now (`POST /risks/{id}/transitions`).
    pub allowed_actions: Vec<RiskAction>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(s: StoredRisk, caller: &Caller) -> Risk {
    let r = s.risk;
    Risk {
        allowed_actions: allowed_actions(
            WORKFLOW,
            r.state,
            &caller.principal,
            &Relation::default(),
        ),
        score: r.score(),
        level: r.level(),
        id: s.id,
        fields: r.fields,
        state: r.state,
        acceptance_rationale: r.acceptance_rationale,
        version: s.version,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

fn ensure_may_change(caller: &Caller) -> Result<(), DomainError> {
    caller.ensure(caller.principal.can_manage_sms(), "change risks")
}

/// Whether `id` is a row of `E`; None when there is nothing to check.
async fn missing<E, C>(conn: &C, id: Option<&String>) -> Result<bool>
where
    E: sea_orm::EntityTrait + Default,
    C: ConnectionTrait,
{
    Ok(match id {
        Some(id) => existing_ids::<E, _>(conn, &[id]).await?.is_empty(),
        None => false,
    })
}

/// Every record the risk names must exist; each one that does not is named.
async fn ensure_references_exist<C: ConnectionTrait>(conn: &C, f: &RiskFields) -> Result<()> {
    let mut errors = Vec::new();
    let checks = [
        (
            "owner_role_id",
            missing::<sms_role::Entity, _>(conn, f.owner_role_id.as_ref()).await?,
            "must be the id of an existing SMS role",
        ),
        (
            "process_id",
            missing::<process::Entity, _>(conn, f.process_id.as_ref()).await?,
            "must be the id of an existing process",
        ),
        (
            "corrective_action_id",
            missing::<corrective_action::Entity, _>(conn, f.corrective_action_id.as_ref()).await?,
            "must be the id of an existing corrective action",
        ),
        (
            "improvement_id",
            missing::<improvement::Entity, _>(conn, f.improvement_id.as_ref()).await?,
            "must be the id of an existing improvement",
        ),
    ];
    for (field, is_missing, message) in checks {
        if is_missing {
            errors.push(FieldError::new(field, message));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Validation(errors).into())
    }
}

pub async fn create(db: &DatabaseConnection, caller: &Caller, fields: RiskFields) -> Result<Risk> {
    ensure_may_change(caller)?;
    let risk = rules::Risk {
        fields: rules::validate(fields)?,
        state: RiskState::Identified,
        acceptance_rationale: None,
    };
    let created = write::create::<StoredRisk>(db, caller, async |tx, id| {
        ensure_references_exist(tx, &risk.fields).await?;
        stored::insert(tx, id, &risk, caller.now).await
    })
    .await?;
    Ok(view(created, caller))
}

async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<StoredRisk> {
    Ok(StoredRisk::load(conn, id)
        .await?
        .ok_or(DomainError::NotFound(StoredRisk::NOUN))?)
}

pub async fn get(db: &DatabaseConnection, caller: &Caller, id: &str) -> Result<Risk> {
    caller.ensure_reads_sms()?;
    Ok(view(load(db, id).await?, caller))
}

/// Applies a merge patch (manager); a patch that changes nothing writes nothing.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    patch: RiskPatch,
) -> Result<Risk> {
    ensure_may_change(caller)?;
    let changed = write::modify::<StoredRisk, _>(
        db,
        caller,
        (id, expected_version),
        "update",
        |before| {
            let fields = rules::validate(patch.apply_to(before.risk.fields.clone()))?;
            if fields == before.risk.fields {
                return Ok(None);
            }
            let edited = rules::Risk {
                fields,
                ..before.risk.clone()
            };
            rules::check_edit(&edited)?;
            Ok(Some(edited))
        },
        async |tx, edited| {
            ensure_references_exist(tx, &edited.fields).await?;
            stored::update(tx, id, &edited).await
        },
    )
    .await?;
    Ok(view(changed, caller))
}

/// Deletes an identified risk (manager); later ones are closed instead.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
) -> Result<()> {
    ensure_may_change(caller)?;
    write::remove::<StoredRisk>(db, caller, (id, expected_version), async |_, r| {
        Ok(rules::ensure_deletable(r.risk.state)?)
    })
    .await
}

/// Takes a workflow step (manager). The fields the step needs may come with it and are
/// stored by the same change; the workflow judges the record as the request leaves it.
pub async fn transition(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    action: RiskAction,
    input: StepInput,
) -> Result<Risk> {
    caller.ensure_reads_sms()?;
    let relation = Relation::default();
    let changed = write::modify::<StoredRisk, _>(
        db,
        caller,
        (id, expected_version),
        action.as_str(),
        |before| {
            let (state, principal) = (before.risk.state, &caller.principal);
            let record = match rules::apply_step(&before.risk, action, input) {
                Ok(record) => record,
                Err(invalid) => {
                    // Who may not take the step, or not now, learns that first.
                    return match decide(WORKFLOW, state, action, principal, &relation, &before.risk)
                    {
                        Err(
                            e @ (DomainError::InvalidTransition { .. } | DomainError::Forbidden(_)),
                        ) => Err(e.into()),
                        _ => Err(invalid.into()),
                    };
                }
            };
            let to = decide(WORKFLOW, state, action, principal, &relation, &record)?;
            Ok(Some(rules::Risk {
                state: to,
                ..record
            }))
        },
        async |tx, after| {
            ensure_references_exist(tx, &after.fields).await?;
            stored::update(tx, id, &after).await
        },
    )
    .await?;
    Ok(view(changed, caller))
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: RiskFilter,
    request: &PageRequest,
) -> Result<Page<Risk>> {
    caller.ensure_reads_sms()?;
    if filter.min_score.is_some_and(|s| !(1..=25).contains(&s)) {
        return Err(DomainError::invalid("min_score", "must be between 1 and 25").into());
    }
    let page = stored::list(db, filter, request).await?;
    Ok(page.map(|s| view(s, caller)))
}

/// The audit-trail rows of a risk: whoever may read it may read its history.
pub async fn history(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    request: &PageRequest,
) -> Result<Page<AuditEntry>> {
    caller.ensure_reads_sms()?;
    load(db, id).await?;
    let page = history::of::<StoredRisk, _>(db, id, request).await?;
    Ok(page.map(AuditEntry::from))
}
