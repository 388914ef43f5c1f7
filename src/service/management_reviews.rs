//! Management reviews (clause 9.3): the review and its inputs, its workflow, and the
//! actions decided at it.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use utoipa::ToSchema;

use super::corrective_actions::{self, CorrectiveAction};
use super::improvements::{self, Improvement};
use super::{Caller, begin_write, write};
use crate::domain::DomainError;
use crate::domain::corrective_action::{self as corrective_rules, CorrectiveActionFields};
use crate::domain::improvement::{self as improvement_rules, ImprovementFields};
use crate::domain::management_review::{
    self as rules, CorrectiveActionKind, ImprovementKind, ManagementReviewAction,
    ManagementReviewFields, ManagementReviewPatch, ManagementReviewState, NewReviewAction,
    ReviewFacts, WORKFLOW,
};
use crate::domain::validation::FieldError;
use crate::domain::workflow::{Relation, allowed_actions, decide};
use crate::error::Result;
use crate::persistence::Aggregate;
use crate::persistence::management_reviews::{
    self as stored, ManagementReviewFilter, StoredManagementReview,
};
use crate::persistence::page::{Page, PageRequest};

/// A management review as the API shows it: what is stored, the actions decided at it,
/// and what the caller may do.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ManagementReview {
    #[schema(format = Uuid)]
    pub id: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub fields: ManagementReviewFields,
    pub state: ManagementReviewState,
    /// Who approved the record (`approve`).
    #[schema(format = Uuid)]
    pub approved_by: Option<String>,
    /// When the record was approved.
    pub approved_at: Option<DateTime<Utc>>,
    /// The corrective actions decided at the review (`POST /management-reviews/{id}/actions`),
    /// oldest first.
    pub corrective_action_ids: Vec<String>,
    /// The improvements decided at the review (`POST /management-reviews/{id}/actions`),
    /// oldest first.
    pub improvement_ids: Vec<String>,
    /// What the calling user may do now (`POST /management-reviews/{id}/transitions`).
    pub allowed_actions: Vec<ManagementReviewAction>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The corrective action created at a review, with `source: management_review` and the
/// review's id as `management_review_id`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewCorrectiveActionCreated {
    pub kind: CorrectiveActionKind,
    #[serde(flatten)]
    pub corrective_action: CorrectiveAction,
}

/// The improvement created at a review, with `source: management_review` and the review's
/// id as `management_review_id`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewImprovementCreated {
    pub kind: ImprovementKind,
    #[serde(flatten)]
    pub improvement: Improvement,
}

/// An action recorded at a management review: the created record, told apart by `kind`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(discriminator(property_name = "kind", mapping(
    ("corrective_action" = "#/components/schemas/ReviewCorrectiveActionCreated"),
    ("improvement" = "#/components/schemas/ReviewImprovementCreated")
)))]
pub enum ReviewAction {
    CorrectiveAction(ReviewCorrectiveActionCreated),
    Improvement(ReviewImprovementCreated),
}

impl ReviewAction {
    /// Where the created record lives, and its version.
    pub fn location(&self) -> (String, i64) {
        match self {
            ReviewAction::CorrectiveAction(created) => {
                let a = &created.corrective_action;
                (format!("/api/v1/corrective-actions/{}", a.id), a.version)
            }
            ReviewAction::Improvement(created) => {
                let i = &created.improvement;
                (format!("/api/v1/improvements/{}", i.id), i.version)
            }
        }
    }
}

fn view(s: StoredManagementReview, caller: &Caller) -> ManagementReview {
    let r = s.review;
    ManagementReview {
        allowed_actions: allowed_actions(
            WORKFLOW,
            r.state,
            &caller.principal,
            &Relation::default(),
        ),
        id: s.id,
        fields: r.fields,
        state: r.state,
        approved_by: r.approved_by,
        approved_at: r.approved_at,
        corrective_action_ids: s.corrective_action_ids,
        improvement_ids: s.improvement_ids,
        version: s.version,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

fn ensure_may_change(caller: &Caller) -> Result<(), DomainError> {
    caller.ensure(
        caller.principal.can_manage_sms(),
        "change management reviews",
    )
}

/// The attendees added by this change (not on `previous`) must be active persons; those
/// already on the list stay, even if they have left since.
async fn check_attendees<C: ConnectionTrait>(
    conn: &C,
    fields: &ManagementReviewFields,
    previous: &[String],
) -> Result<()> {
    let added: Vec<(usize, &str)> = fields
        .attendee_ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !previous.contains(id))
        .map(|(i, id)| (i, id.as_str()))
        .collect();
    let ids: Vec<&str> = added.iter().map(|(_, id)| *id).collect();
    let found = stored::active_persons(conn, &ids).await?;
    let errors: Vec<FieldError> = added
        .iter()
        .filter(|(_, id)| !found.contains(*id))
        .map(|(i, _)| {
            FieldError::new(
                format!("attendee_ids[{i}]"),
                "must be the id of an active person (not a service account)",
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Validation(errors).into())
    }
}

/// Plan a management review (manager).
pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    fields: ManagementReviewFields,
) -> Result<ManagementReview> {
    ensure_may_change(caller)?;
    let review = rules::ManagementReview {
        fields: rules::validate(fields)?,
        state: ManagementReviewState::Planned,
        approved_by: None,
        approved_at: None,
    };
    let created = write::create::<StoredManagementReview>(db, caller, async |tx, id| {
        check_attendees(tx, &review.fields, &[]).await?;
        stored::insert(tx, id, &review, caller.now).await
    })
    .await?;
    Ok(view(created, caller))
}

async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<StoredManagementReview> {
    Ok(StoredManagementReview::load(conn, id)
        .await?
        .ok_or(DomainError::NotFound(StoredManagementReview::NOUN))?)
}

pub async fn get(db: &DatabaseConnection, caller: &Caller, id: &str) -> Result<ManagementReview> {
    caller.ensure_reads_sms()?;
    Ok(view(load(db, id).await?, caller))
}

/// Applies a merge patch (manager); `inputs` merges field by field. A patch that changes
/// nothing writes nothing.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    patch: ManagementReviewPatch,
) -> Result<ManagementReview> {
    ensure_may_change(caller)?;
    let today = caller.now.date_naive();
    let changed = write::modify::<StoredManagementReview, _>(
        db,
        caller,
        (id, expected_version),
        "update",
        |before| {
            let fields = rules::validate(patch.apply_to(before.review.fields.clone()))?;
            if fields == before.review.fields {
                return Ok(None);
            }
            let edited = rules::ManagementReview {
                fields,
                ..before.review.clone()
            };
            rules::check_edit(&edited, today)?;
            Ok(Some((edited, before.review.fields.attendee_ids.clone())))
        },
        async |tx, (edited, previous)| {
            check_attendees(tx, &edited.fields, &previous).await?;
            stored::update(tx, id, &edited).await
        },
    )
    .await?;
    Ok(view(changed, caller))
}

/// Deletes a planned review (manager); one that will not take place may be cancelled instead.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
) -> Result<()> {
    ensure_may_change(caller)?;
    write::remove::<StoredManagementReview>(db, caller, (id, expected_version), async |_, r| {
        Ok(rules::ensure_deletable(r.review.state)?)
    })
    .await
}

/// Moves a review through its workflow: `hold` needs every input, `held_on` (not after
/// today) and an attendee; `approve` needs a decision and records who approved, and when.
pub async fn transition(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    action: ManagementReviewAction,
) -> Result<ManagementReview> {
    caller.ensure_reads_sms()?;
    let today = caller.now.date_naive();
    let changed = write::modify::<StoredManagementReview, _>(
        db,
        caller,
        (id, expected_version),
        action.as_str(),
        |before| {
            let facts = ReviewFacts {
                review: before.review.clone(),
                today,
            };
            let to = decide(
                WORKFLOW,
                before.review.state,
                action,
                &caller.principal,
                &Relation::default(),
                &facts,
            )?;
            let mut after = facts.review;
            after.state = to;
            if to == ManagementReviewState::Approved {
                after.approved_by = Some(caller.user_id().to_string());
                after.approved_at = Some(caller.now);
            }
            Ok(Some(after))
        },
        async |tx, after| stored::update(tx, id, &after).await,
    )
    .await?;
    Ok(view(changed, caller))
}

/// An action's fields, validated before anything is written.
enum Decided {
    CorrectiveAction(CorrectiveActionFields),
    Improvement(ImprovementFields),
}

/// Records an action decided at a held or approved review (manager): the corrective action
/// or improvement is created linked to the review, and the review's version moves (its
/// list of actions changed), in one transaction with an audit row for each.
pub async fn add_action(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    request: NewReviewAction,
) -> Result<ReviewAction> {
    ensure_may_change(caller)?;
    let (decided, audit_action) = match request {
        NewReviewAction::CorrectiveAction(body) => (
            Decided::CorrectiveAction(corrective_rules::validate(body.into_fields())?),
            "add_corrective_action",
        ),
        NewReviewAction::Improvement(body) => (
            Decided::Improvement(improvement_rules::validate(body.into_fields())?),
            "add_improvement",
        ),
    };
    let tx = begin_write(db).await?;
    let mut created = None;
    write::modify_in::<StoredManagementReview, _>(
        &tx,
        caller,
        (id, None),
        audit_action,
        |before| {
            rules::ensure_takes_actions(before.review.state)?;
            Ok(Some(decided))
        },
        async |tx, decided| {
            created = Some(match decided {
                Decided::CorrectiveAction(fields) => {
                    let action = corrective_actions::create_for_review(tx, caller, fields, id);
                    ReviewAction::CorrectiveAction(ReviewCorrectiveActionCreated {
                        kind: CorrectiveActionKind::CorrectiveAction,
                        corrective_action: corrective_actions::view(action.await?, caller),
                    })
                }
                Decided::Improvement(fields) => {
                    let improvement = improvements::create_for_review(tx, caller, fields, id);
                    ReviewAction::Improvement(ReviewImprovementCreated {
                        kind: ImprovementKind::Improvement,
                        improvement: improvements::view(improvement.await?, caller),
                    })
                }
            });
            Ok(())
        },
    )
    .await?;
    tx.commit().await?;
    Ok(created.expect("the action is created when the review changes"))
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: ManagementReviewFilter,
    request: &PageRequest,
) -> Result<Page<ManagementReview>> {
    caller.ensure_reads_sms()?;
    let page = stored::list(db, filter, request).await?;
    Ok(page.map(|s| view(s, caller)))
}
