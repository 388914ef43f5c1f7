//! Corrective actions (clause 10.1): records, the react–find the cause–act–check workflow,
//! and the history that is their evidence.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction};
use serde::Serialize;
use utoipa::ToSchema;

use super::audit_trail::AuditEntry;
use super::{Caller, begin_write, write};
use crate::domain::DomainError;
use crate::domain::access::{AccessRole, Principal};
use crate::domain::corrective_action::{
    self as rules, Attempt, CorrectiveActionAction, CorrectiveActionFields, CorrectiveActionPatch,
    CorrectiveActionState, StepInput, WORKFLOW,
};
use crate::domain::finding::FindingState;
use crate::domain::workflow::{Relation, allowed_actions, decide};
use crate::error::Result;
use crate::persistence::corrective_actions::{
    self as stored, CLOSE_FINDING, CorrectiveActionFilter, StoredCorrectiveAction,
};
use crate::persistence::entities::process;
use crate::persistence::findings::{self, StoredFinding};
use crate::persistence::page::{Page, PageRequest};
use crate::persistence::users::StoredUser;
use crate::persistence::{Aggregate, existing_ids};

/// A corrective action as the API shows it: what is stored, and what the caller may do.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CorrectiveAction {
    #[schema(format = Uuid)]
    pub id: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub fields: CorrectiveActionFields,
    pub state: CorrectiveActionState,
    /// The user who took `implement` last; they may not verify.
    #[schema(format = Uuid)]
    pub implemented_by: Option<String>,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
    /// The management review that decided the action (read-only: set when the action is
    /// recorded with `POST /management-reviews/{id}/actions`).
    #[schema(format = Uuid)]
    pub management_review_id: Option<String>,
    /// The due date has passed (by the service's clock) and the action is not yet
    /// verified, closed or cancelled.
    pub overdue: bool,
    /// What the calling user may do now (`POST /corrective-actions/{id}/transitions`).
    pub allowed_actions: Vec<CorrectiveActionAction>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The caller's relation to the record: its owner, and whether they implemented it.
fn relation(s: &StoredCorrectiveAction, caller: &Caller) -> Relation<CorrectiveActionAction> {
    let me = Some(caller.user_id());
    Relation {
        is_assignee: s.action.fields.owner_id.as_deref() == me,
        performed: if s.action.implemented_by.as_deref() == me {
            vec![CorrectiveActionAction::Implement]
        } else {
            vec![]
        },
    }
}

pub fn view(s: StoredCorrectiveAction, caller: &Caller) -> CorrectiveAction {
    let relation = relation(&s, caller);
    let a = s.action;
    CorrectiveAction {
        overdue: rules::is_overdue(a.fields.due_date, a.state, caller.now.date_naive()),
        allowed_actions: allowed_actions(WORKFLOW, a.state, &caller.principal, &relation),
        id: s.id,
        fields: a.fields,
        state: a.state,
        implemented_by: a.implemented_by,
        cancel_reason: a.cancel_reason,
        management_review_id: s.management_review_id,
        version: s.version,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

fn ensure_may_change(caller: &Caller) -> Result<(), DomainError> {
    caller.ensure(
        caller.principal.can_manage_sms(),
        "change corrective actions",
    )
}

/// Checks what the record refers to and takes the clause and process of its finding.
/// The owner is checked only when it changes (`previous_owner`), so a record whose owner
/// left can still be edited.
async fn resolve_references<C: ConnectionTrait>(
    conn: &C,
    fields: CorrectiveActionFields,
    previous_owner: Option<&str>,
) -> Result<CorrectiveActionFields> {
    let fields = match fields.finding_id.clone() {
        Some(finding_id) => {
            let finding = StoredFinding::load(conn, &finding_id).await?;
            let finding = finding.ok_or_else(|| {
                DomainError::invalid("finding_id", "must be the id of an existing finding")
            })?;
            if !finding.finding_type.is_nonconformity() {
                return Err(DomainError::invalid(
                    "finding_id",
                    format!(
                        "the finding is an {}; only nonconformities get a corrective action",
                        finding.finding_type
                    ),
                )
                .into());
            }
            rules::inherit_from_finding(
                fields,
                finding.clause.as_deref(),
                finding.process_id.as_deref(),
            )?
        }
        None => fields,
    };
    if let Some(process_id) = &fields.process_id
        && existing_ids::<process::Entity, _>(conn, &[process_id])
            .await?
            .is_empty()
    {
        return Err(
            DomainError::invalid("process_id", "must be the id of an existing process").into(),
        );
    }
    if let Some(owner_id) = fields
        .owner_id
        .as_deref()
        .filter(|o| Some(*o) != previous_owner)
    {
        let fits = StoredUser::load(conn, owner_id).await?.is_some_and(|u| {
            let principal = Principal {
                user_id: u.id,
                roles: u.fields.roles,
            };
            u.fields.active && principal.has(AccessRole::Contributor)
        });
        if !fits {
            return Err(DomainError::invalid(
                "owner_id",
                "must be an active user holding at least the contributor role",
            )
            .into());
        }
    }
    Ok(fields)
}

pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    fields: CorrectiveActionFields,
) -> Result<CorrectiveAction> {
    ensure_may_change(caller)?;
    let fields = rules::validate(fields)?;
    let created = write::create::<StoredCorrectiveAction>(db, caller, async |tx, id| {
        let fields = resolve_references(tx, fields, None).await?;
        let action = rules::CorrectiveAction {
            fields,
            state: CorrectiveActionState::Open,
            implemented_by: None,
            cancel_reason: None,
        };
        stored::insert(tx, id, &action, None, caller.now).await
    })
    .await?;
    Ok(view(created, caller))
}

/// Creates a corrective action decided at a management review, in the transaction that
/// records it at the review (`fields` already validated, with the source
/// `management_review`).
pub async fn create_for_review(
    tx: &DatabaseTransaction,
    caller: &Caller,
    fields: CorrectiveActionFields,
    management_review_id: &str,
) -> Result<StoredCorrectiveAction> {
    ensure_may_change(caller)?;
    write::create_in::<StoredCorrectiveAction>(tx, caller, async |tx, id| {
        let fields = resolve_references(tx, fields, None).await?;
        let action = rules::CorrectiveAction {
            fields,
            state: CorrectiveActionState::Open,
            implemented_by: None,
            cancel_reason: None,
        };
        stored::insert(tx, id, &action, Some(management_review_id), caller.now).await
    })
    .await
}

async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<StoredCorrectiveAction> {
    Ok(StoredCorrectiveAction::load(conn, id)
        .await?
        .ok_or(DomainError::NotFound(StoredCorrectiveAction::NOUN))?)
}

pub async fn get(db: &DatabaseConnection, caller: &Caller, id: &str) -> Result<CorrectiveAction> {
    caller.ensure_reads_sms()?;
    Ok(view(load(db, id).await?, caller))
}

/// Applies a merge patch (manager); a patch that changes nothing writes nothing.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    patch: CorrectiveActionPatch,
) -> Result<CorrectiveAction> {
    ensure_may_change(caller)?;
    let changed = write::modify::<StoredCorrectiveAction, _>(
        db,
        caller,
        (id, expected_version),
        "update",
        |before| {
            let fields = rules::validate(patch.apply_to(before.action.fields.clone()))?;
            if fields == before.action.fields {
                return Ok(None);
            }
            rules::check_review_source(&fields, before.management_review_id.is_some())?;
            let edited = rules::CorrectiveAction {
                fields,
                ..before.action.clone()
            };
            rules::check_edit(&edited)?;
            Ok(Some((edited, before.action.fields.owner_id.clone())))
        },
        async |tx, (mut edited, previous_owner)| {
            edited.fields =
                resolve_references(tx, edited.fields, previous_owner.as_deref()).await?;
            stored::update(tx, id, &edited).await
        },
    )
    .await?;
    Ok(view(changed, caller))
}

/// Deletes an open corrective action (manager); later ones are cancelled instead.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
) -> Result<()> {
    ensure_may_change(caller)?;
    write::remove::<StoredCorrectiveAction>(db, caller, (id, expected_version), async |_, a| {
        Ok(rules::ensure_deletable(a.action.state)?)
    })
    .await
}

/// Takes a workflow step. The fields the step needs may come with it and are stored by the
/// same change; the workflow judges the record as the request leaves it. Closing closes
/// the finding in the same transaction, each with its own audit row.
pub async fn transition(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    action: CorrectiveActionAction,
    input: StepInput,
) -> Result<CorrectiveAction> {
    caller.ensure_reads_sms()?;
    let tx = begin_write(db).await?;
    let finding_id = load(&tx, id).await?.action.fields.finding_id;
    let from_certification_audit = match &finding_id {
        Some(f) => stored::from_certification_audit(&tx, f).await?,
        None => false,
    };
    let effective = input.effective;
    let (after, _) = write::modify_in::<StoredCorrectiveAction, _>(
        &tx,
        caller,
        (id, expected_version),
        action.as_str(),
        |before| {
            if before.action.fields.finding_id != finding_id {
                return Err(DomainError::VersionMismatch.into());
            }
            let relation = relation(before, caller);
            let (state, principal) = (before.action.state, &caller.principal);
            let attempt = match rules::apply_step(&before.action, action, input) {
                Ok(record) => Attempt {
                    record,
                    effective,
                    from_certification_audit,
                },
                Err(invalid) => {
                    // Who may not take the step, or not now, learns that first.
                    let as_is = Attempt {
                        record: before.action.clone(),
                        effective,
                        from_certification_audit,
                    };
                    return match decide(WORKFLOW, state, action, principal, &relation, &as_is) {
                        Err(
                            e @ (DomainError::InvalidTransition { .. } | DomainError::Forbidden(_)),
                        ) => Err(e.into()),
                        _ => Err(invalid.into()),
                    };
                }
            };
            let to = decide(WORKFLOW, state, action, principal, &relation, &attempt)?;
            let mut after = attempt.record;
            after.state = to;
            if action == CorrectiveActionAction::Implement {
                after.implemented_by = Some(caller.user_id().to_string());
            }
            Ok(Some(after))
        },
        async |tx, after| {
            stored::update(tx, id, &after).await?;
            match &after.fields.finding_id {
                Some(finding_id) if after.state == CorrectiveActionState::Closed => {
                    close_finding(tx, caller, finding_id).await
                }
                _ => Ok(()),
            }
        },
    )
    .await?;
    tx.commit().await?;
    Ok(view(after, caller))
}

/// A nonconformity finding is closed when its corrective action is closed.
async fn close_finding(
    tx: &sea_orm::DatabaseTransaction,
    caller: &Caller,
    finding_id: &str,
) -> Result<()> {
    write::modify_in::<StoredFinding, _>(
        tx,
        caller,
        (finding_id, None),
        CLOSE_FINDING,
        |finding| Ok((finding.state != FindingState::Closed).then_some(())),
        async |tx, ()| findings::set_state(tx, finding_id, FindingState::Closed).await,
    )
    .await?;
    Ok(())
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: CorrectiveActionFilter,
    request: &PageRequest,
) -> Result<Page<CorrectiveAction>> {
    caller.ensure_reads_sms()?;
    let page = stored::list(db, filter, caller.now.date_naive(), request).await?;
    Ok(page.map(|s| view(s, caller)))
}

/// The audit-trail rows of a corrective action (and of its finding's close): whoever may
/// read the record may read its history.
pub async fn history(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    request: &PageRequest,
) -> Result<Page<AuditEntry>> {
    caller.ensure_reads_sms()?;
    let found = load(db, id).await?;
    let finding_id = found.action.fields.finding_id.as_deref();
    let page = stored::history(db, id, finding_id, request).await?;
    Ok(page.map(AuditEntry::from))
}
