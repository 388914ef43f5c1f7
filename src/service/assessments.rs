//! Gap assessments: the assessment, its results clause by clause, completion, and the
//! summary against an earlier assessment.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use utoipa::ToSchema;

use super::{Caller, write};
use crate::domain::DomainError;
use crate::domain::assessment::{
    self as rules, AssessmentAction, AssessmentFacts, AssessmentFields, AssessmentPatch,
    AssessmentResultInput, AssessmentState, GapClauseTally, GapRequirementStatus, GapTally,
    ResultStatus, WORKFLOW,
};
use crate::domain::clause::ClauseNumber;
use crate::domain::workflow::{Relation, allowed_actions, decide};
use crate::error::Result;
use crate::persistence::Aggregate;
use crate::persistence::assessments::{self as stored, AssessmentFilter, StoredAssessment};
use crate::persistence::page::{Page, PageRequest};

/// The recorded result of one requirement clause.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssessmentResult {
    #[schema(value_type = ClauseNumber)]
    pub clause: String,
    /// The clause's title in the catalog.
    pub title: String,
    pub status: ResultStatus,
    pub notes: Option<String>,
    pub evidence: Option<String>,
}

/// A gap assessment as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Assessment {
    #[schema(format = Uuid)]
    pub id: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub fields: AssessmentFields,
    pub state: AssessmentState,
    /// When `complete` was taken.
    pub completed_at: Option<DateTime<Utc>>,
    /// Who took `complete`.
    #[schema(format = Uuid, max_length = 36)]
    pub completed_by: Option<String>,
    /// The recorded results, in catalog order. A requirement clause that is not listed is
    /// `not_assessed`.
    pub results: Vec<AssessmentResult>,
    /// What the calling user may do now (`POST /assessments/{id}/transitions`).
    pub allowed_actions: Vec<AssessmentAction>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(s: StoredAssessment, caller: &Caller) -> Assessment {
    let a = s.assessment;
    let relation = Relation::default();
    Assessment {
        allowed_actions: allowed_actions(WORKFLOW, a.state, &caller.principal, &relation),
        results: a
            .results
            .into_iter()
            .map(|r| AssessmentResult {
                title: rules::requirement(&r.clause)
                    .map(|c| c.title.clone())
                    .unwrap_or_default(),
                clause: r.clause,
                status: r.status,
                notes: r.notes,
                evidence: r.evidence,
            })
            .collect(),
        id: s.id,
        fields: a.fields,
        state: a.state,
        completed_at: a.completed_at,
        completed_by: a.completed_by,
        version: s.version,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

fn ensure_may_change(caller: &Caller) -> Result<(), DomainError> {
    caller.ensure(caller.principal.can_manage_sms(), "change gap assessments")
}

async fn load(db: &DatabaseConnection, id: &str) -> Result<StoredAssessment> {
    Ok(StoredAssessment::load(db, id)
        .await?
        .ok_or(DomainError::NotFound(StoredAssessment::NOUN))?)
}

/// Creates an assessment in `in_progress`, without results (manager).
pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    fields: AssessmentFields,
) -> Result<Assessment> {
    ensure_may_change(caller)?;
    let fields = rules::validate(fields)?;
    let created = write::create::<StoredAssessment>(db, caller, async |tx, id| {
        let assessment = rules::Assessment {
            fields,
            state: AssessmentState::InProgress,
            completed_at: None,
            completed_by: None,
            results: Vec::new(),
        };
        stored::insert(tx, id, &assessment, caller.now).await
    })
    .await?;
    Ok(view(created, caller))
}

pub async fn get(db: &DatabaseConnection, caller: &Caller, id: &str) -> Result<Assessment> {
    caller.ensure_reads_sms()?;
    Ok(view(load(db, id).await?, caller))
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: AssessmentFilter,
    request: &PageRequest,
) -> Result<Page<Assessment>> {
    caller.ensure_reads_sms()?;
    let page = stored::list(db, filter, request).await?;
    Ok(page.map(|s| view(s, caller)))
}

/// Applies a merge patch (manager) while the assessment is in progress; a patch that
/// changes nothing writes nothing.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    patch: AssessmentPatch,
) -> Result<Assessment> {
    ensure_may_change(caller)?;
    let changed = write::modify::<StoredAssessment, _>(
        db,
        caller,
        (id, expected_version),
        "update",
        |before| {
            rules::ensure_open(before.assessment.state)?;
            let fields = rules::validate(patch.apply_to(before.assessment.fields.clone()))?;
            if fields == before.assessment.fields {
                return Ok(None);
            }
            Ok(Some(rules::Assessment {
                fields,
                ..before.assessment.clone()
            }))
        },
        async |tx, edited| stored::update(tx, id, &edited).await,
    )
    .await?;
    Ok(view(changed, caller))
}

/// Deletes an assessment in progress (manager); completed ones are kept.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
) -> Result<()> {
    ensure_may_change(caller)?;
    write::remove::<StoredAssessment>(db, caller, (id, expected_version), async |_, a| {
        Ok(rules::ensure_deletable(a.assessment.state)?)
    })
    .await
}

/// Records, replaces or clears the result of one requirement clause (manager). The
/// assessment's version moves and the audit trail gets one row, `set_result`.
pub async fn set_result(
    db: &DatabaseConnection,
    caller: &Caller,
    (id, clause): (&str, &str),
    expected_version: Option<i64>,
    input: AssessmentResultInput,
) -> Result<Assessment> {
    ensure_may_change(caller)?;
    let changed = write::modify::<StoredAssessment, _>(
        db,
        caller,
        (id, expected_version),
        "set_result",
        |before| {
            rules::requirement(clause)?;
            rules::ensure_open(before.assessment.state)?;
            let result = rules::validate_result(clause, input)?;
            let changes = rules::with_result(&before.assessment, clause, result.clone())?;
            Ok(changes.map(|_| result))
        },
        async |tx, result| stored::write_result(tx, id, clause, result.as_ref()).await,
    )
    .await?;
    Ok(view(changed, caller))
}

/// Takes a workflow step: `complete` freezes the assessment.
pub async fn transition(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    action: AssessmentAction,
) -> Result<Assessment> {
    caller.ensure_reads_sms()?;
    let changed = write::modify::<StoredAssessment, _>(
        db,
        caller,
        (id, expected_version),
        action.as_str(),
        |before| {
            let facts = AssessmentFacts {
                assessment: before.assessment.clone(),
                today: caller.now.date_naive(),
            };
            let to = decide(
                WORKFLOW,
                before.assessment.state,
                action,
                &caller.principal,
                &Relation::default(),
                &facts,
            )?;
            let mut after = before.assessment.clone();
            after.state = to;
            if to == AssessmentState::Completed {
                after.completed_at = Some(caller.now);
                after.completed_by = Some(caller.user_id().to_string()).filter(|u| !u.is_empty());
            }
            Ok(Some(after))
        },
        async |tx, after| stored::update(tx, id, &after).await,
    )
    .await?;
    Ok(view(changed, caller))
}

/// An assessment named in a summary.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssessmentHeading {
    #[schema(format = Uuid)]
    pub id: String,
    pub title: String,
    pub assessed_on: NaiveDate,
    pub state: AssessmentState,
    pub version: i64,
}

impl From<&StoredAssessment> for AssessmentHeading {
    fn from(s: &StoredAssessment) -> Self {
        AssessmentHeading {
            id: s.id.clone(),
            title: s.assessment.fields.title.clone(),
            assessed_on: s.assessment.fields.assessed_on,
            state: s.assessment.state,
            version: s.version,
        }
    }
}

/// Where the SMS stands by an assessment, and how that changed against a baseline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssessmentSummary {
    pub assessment: AssessmentHeading,
    /// The baseline (`compare_to`); null without it.
    pub compared_to: Option<AssessmentHeading>,
    /// Every requirement clause.
    pub overall: GapTally,
    /// Per top-level clause, 4 to 10.
    pub by_clause: Vec<GapClauseTally>,
    /// Every requirement clause in catalog order, with its status (and the baseline's).
    pub requirements: Vec<GapRequirementStatus>,
}

/// The summary of an assessment, against `compare_to` when given (another assessment, in
/// any state and of any date: it is the baseline).
pub async fn summary(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    compare_to: Option<&str>,
) -> Result<AssessmentSummary> {
    caller.ensure_reads_sms()?;
    let current = load(db, id).await?;
    let baseline = match compare_to {
        None => None,
        Some(other) if other == id => {
            return Err(DomainError::invalid(
                "compare_to",
                "must be another assessment than the one summarized",
            )
            .into());
        }
        Some(other) => Some(StoredAssessment::load(db, other).await?.ok_or_else(|| {
            DomainError::invalid("compare_to", "must be the id of an existing assessment")
        })?),
    };
    let tallies = rules::tallies(
        &current.assessment.results,
        baseline.as_ref().map(|b| b.assessment.results.as_slice()),
    );
    Ok(AssessmentSummary {
        assessment: AssessmentHeading::from(&current),
        compared_to: baseline.as_ref().map(AssessmentHeading::from),
        overall: tallies.overall,
        by_clause: tallies.by_clause,
        requirements: tallies.requirements,
    })
}
