//! Improvements (clause 10.2): proposals, the approve–implement–evaluate workflow, and the
//! history that is their evidence.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction};
use serde::Serialize;
use utoipa::ToSchema;

use super::audit_trail::AuditEntry;
use super::{Caller, write};
use crate::domain::DomainError;
use crate::domain::access::{AccessRole, Principal};
use crate::domain::improvement::{
    self as rules, ImprovementAction, ImprovementFields, ImprovementPatch, ImprovementState,
    StepInput, WORKFLOW,
};
use crate::domain::workflow::{Relation, allowed_actions, decide};
use crate::error::Result;
use crate::persistence::improvements::{self as stored, ImprovementFilter, StoredImprovement};
use crate::persistence::page::{Page, PageRequest};
use crate::persistence::users::StoredUser;
use crate::persistence::{Aggregate, history};

/// An improvement as the API shows it: what is stored, and what the caller may do.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Improvement {
    #[schema(format = Uuid)]
    pub id: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub fields: ImprovementFields,
    pub state: ImprovementState,
    /// The management review that decided this improvement, if one did. Set by the review;
    /// read-only here.
    #[schema(format = Uuid)]
    pub management_review_id: Option<String>,
    /// Why it was rejected.
    pub reject_reason: Option<String>,
    /// What the calling user may do now (`POST /improvements/{id}/transitions`).
    pub allowed_actions: Vec<ImprovementAction>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The caller's relation to the record: whether it is assigned to them.
fn relation(s: &StoredImprovement, caller: &Caller) -> Relation<ImprovementAction> {
    Relation {
        is_assignee: s.improvement.fields.owner_id.as_deref() == Some(caller.user_id()),
        performed: vec![],
    }
}

pub fn view(s: StoredImprovement, caller: &Caller) -> Improvement {
    let relation = relation(&s, caller);
    let i = s.improvement;
    Improvement {
        allowed_actions: allowed_actions(WORKFLOW, i.state, &caller.principal, &relation),
        id: s.id,
        fields: i.fields,
        state: i.state,
        management_review_id: i.management_review_id,
        reject_reason: i.reject_reason,
        version: s.version,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

fn ensure_manager(caller: &Caller, what: &str) -> Result<(), DomainError> {
    caller.ensure(caller.principal.can_manage_sms(), what)
}

/// The owner must be an active user holding at least `contributor`. It is checked only when
/// it changes (`previous_owner`), so a record whose owner left can still be edited.
async fn check_owner<C: ConnectionTrait>(
    conn: &C,
    fields: &ImprovementFields,
    previous_owner: Option<&str>,
) -> Result<()> {
    let Some(owner_id) = fields
        .owner_id
        .as_deref()
        .filter(|o| Some(*o) != previous_owner)
    else {
        return Ok(());
    };
    let fits = StoredUser::load(conn, owner_id).await?.is_some_and(|u| {
        let principal = Principal {
            user_id: u.id,
            roles: u.fields.roles,
        };
        u.fields.active && principal.has(AccessRole::Contributor)
    });
    if fits {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "owner_id",
            "must be an active user holding at least the contributor role",
        )
        .into())
    }
}

async fn insert_new(
    tx: &DatabaseTransaction,
    caller: &Caller,
    fields: ImprovementFields,
    management_review_id: Option<String>,
) -> Result<StoredImprovement> {
    write::create_in::<StoredImprovement>(tx, caller, async |tx, id| {
        check_owner(tx, &fields, None).await?;
        let improvement = rules::Improvement {
            fields,
            state: ImprovementState::Proposed,
            management_review_id,
            reject_reason: None,
        };
        stored::insert(tx, id, &improvement, caller.now).await
    })
    .await
}

pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    fields: ImprovementFields,
) -> Result<Improvement> {
    ensure_manager(caller, "create improvements")?;
    let fields = rules::validate(fields)?;
    let tx = super::begin_write(db).await?;
    let created = insert_new(&tx, caller, fields, None).await?;
    tx.commit().await?;
    Ok(view(created, caller))
}

/// Creates an improvement decided by a management review, in the review's transaction:
/// the one way `management_review_id` is set.
pub async fn create_for_review(
    tx: &DatabaseTransaction,
    caller: &Caller,
    fields: ImprovementFields,
    management_review_id: &str,
) -> Result<StoredImprovement> {
    ensure_manager(caller, "create improvements")?;
    let fields = rules::validate(fields)?;
    insert_new(tx, caller, fields, Some(management_review_id.to_string())).await
}

async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<StoredImprovement> {
    Ok(StoredImprovement::load(conn, id)
        .await?
        .ok_or(DomainError::NotFound(StoredImprovement::NOUN))?)
}

pub async fn get(db: &DatabaseConnection, caller: &Caller, id: &str) -> Result<Improvement> {
    caller.ensure_reads_sms()?;
    Ok(view(load(db, id).await?, caller))
}

/// Applies a merge patch: a manager changes any field, the owner the improvement's text.
/// A patch that changes nothing writes nothing.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    patch: ImprovementPatch,
) -> Result<Improvement> {
    caller.ensure_reads_sms()?;
    let changed = write::modify::<StoredImprovement, _>(
        db,
        caller,
        (id, expected_version),
        "update",
        |before| {
            let fields = patch.apply_to(before.improvement.fields.clone());
            rules::check_editor(&caller.principal, &before.improvement, &fields)?;
            let fields = rules::validate(fields)?;
            if fields == before.improvement.fields {
                return Ok(None);
            }
            rules::check_review_source(&fields, before.improvement.management_review_id.is_some())?;
            let edited = rules::Improvement {
                fields,
                ..before.improvement.clone()
            };
            rules::check_edit(&edited)?;
            Ok(Some((edited, before.improvement.fields.owner_id.clone())))
        },
        async |tx, (edited, previous_owner)| {
            check_owner(tx, &edited.fields, previous_owner.as_deref()).await?;
            stored::update(tx, id, &edited).await
        },
    )
    .await?;
    Ok(view(changed, caller))
}

/// Deletes a proposed improvement no risk refers to (manager); later ones are rejected.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
) -> Result<()> {
    ensure_manager(caller, "delete improvements")?;
    write::remove::<StoredImprovement>(db, caller, (id, expected_version), async |tx, i| {
        rules::ensure_deletable(i.improvement.state)?;
        if stored::risks_linked(tx, id).await? > 0 {
            return Err(DomainError::Conflict(
                "a risk names this improvement as its treatment; unlink it first".into(),
            )
            .into());
        }
        Ok(())
    })
    .await
}

/// Takes a workflow step. The fields the step needs may come with it and are stored by the
/// same change; the workflow judges the record as the request leaves it.
pub async fn transition(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    action: ImprovementAction,
    input: StepInput,
) -> Result<Improvement> {
    caller.ensure_reads_sms()?;
    let changed = write::modify::<StoredImprovement, _>(
        db,
        caller,
        (id, expected_version),
        action.as_str(),
        |before| {
            let relation = relation(before, caller);
            let (state, principal) = (before.improvement.state, &caller.principal);
            let record = match rules::apply_step(&before.improvement, action, input) {
                Ok(record) => record,
                Err(invalid) => {
                    // Who may not take the step, or not now, learns that first.
                    let as_is = &before.improvement;
                    return match decide(WORKFLOW, state, action, principal, &relation, as_is) {
                        Err(
                            e @ (DomainError::InvalidTransition { .. } | DomainError::Forbidden(_)),
                        ) => Err(e.into()),
                        _ => Err(invalid.into()),
                    };
                }
            };
            let to = decide(WORKFLOW, state, action, principal, &relation, &record)?;
            Ok(Some(rules::Improvement {
                state: to,
                ..record
            }))
        },
        async |tx, after| stored::update(tx, id, &after).await,
    )
    .await?;
    Ok(view(changed, caller))
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: ImprovementFilter,
    request: &PageRequest,
) -> Result<Page<Improvement>> {
    caller.ensure_reads_sms()?;
    let page = stored::list(db, filter, request).await?;
    Ok(page.map(|s| view(s, caller)))
}

/// The audit-trail rows of an improvement: whoever may read it may read its history.
pub async fn history(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    request: &PageRequest,
) -> Result<Page<AuditEntry>> {
    caller.ensure_reads_sms()?;
    load(db, id).await?;
    let page = history::of::<StoredImprovement, _>(db, id, request).await?;
    Ok(page.map(AuditEntry::from))
}
