//! What the readiness report reads: one query per kind of record, whatever their number.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entities::{
    assessment, assessment_result, corrective_action, finding, management_review, process,
    process_clause,
};
use crate::domain::assessment::{AssessmentState, ResultStatus};
use crate::domain::corrective_action::CorrectiveActionState;
use crate::domain::finding::{FindingState, FindingType};
use crate::domain::management_review::ManagementReviewState;
use crate::domain::process::ProcessState;
use crate::domain::readiness::{ClauseFacts, RecordKind, RecordRef, Reviewed};
use crate::error::{Error, Result};

/// The facts of every clause that has any, keyed by clause number.
pub type Facts = HashMap<String, ClauseFacts>;

/// Active processes, under each clause they refer to.
pub async fn add_active_processes<C: ConnectionTrait>(conn: &C, facts: &mut Facts) -> Result<()> {
    let query = Query::select()
        .column((process_clause::Entity, process_clause::Column::Clause))
        .columns([
            (process::Entity, process::Column::Id),
            (process::Entity, process::Column::Code),
            (process::Entity, process::Column::ReviewDue),
        ])
        .from(process_clause::Entity)
        .inner_join(
            process::Entity,
            Expr::col((process::Entity, process::Column::Id))
                .equals((process_clause::Entity, process_clause::Column::ProcessId)),
        )
        .and_where(
            Expr::col((process::Entity, process::Column::State)).eq(ProcessState::Active.as_str()),
        )
        .to_owned();
    let rows = conn.query_all(&query).await?;
    for row in rows {
        let (clause, id, code, review_due): (String, String, String, Option<NaiveDate>) = (
            row.try_get("", "clause")?,
            row.try_get("", "id")?,
            row.try_get("", "code")?,
            row.try_get("", "review_due")?,
        );
        facts
            .entry(clause)
            .or_default()
            .active_processes
            .push(Reviewed {
                record: RecordRef::new(RecordKind::Process, id, code),
                review_due,
            });
    }
    Ok(())
}

/// Open major and minor nonconformities, under their clause.
pub async fn add_open_nonconformities<C: ConnectionTrait>(
    conn: &C,
    facts: &mut Facts,
) -> Result<()> {
    let rows: Vec<(String, String, String, String)> = finding::Entity::find()
        .select_only()
        .column(finding::Column::Clause)
        .column(finding::Column::Id)
        .column(finding::Column::FindingType)
        .column(finding::Column::Statement)
        .filter(finding::Column::State.eq(FindingState::Open.as_str()))
        .filter(finding::Column::Clause.is_not_null())
        .filter(finding::Column::FindingType.is_in([
            FindingType::MajorNonconformity.as_str(),
            FindingType::MinorNonconformity.as_str(),
        ]))
        .into_tuple()
        .all(conn)
        .await?;
    for (clause, id, kind, statement) in rows {
        let record = RecordRef::new(RecordKind::Finding, id, label(&statement));
        let entry = facts.entry(clause).or_default();
        if kind == FindingType::MajorNonconformity.as_str() {
            entry.open_major_findings.push(record);
        } else {
            entry.open_minor_findings.push(record);
        }
    }
    Ok(())
}

/// Corrective actions past their due date and not yet verified, closed or cancelled,
/// under their clause.
pub async fn add_overdue_corrective_actions<C: ConnectionTrait>(
    conn: &C,
    today: NaiveDate,
    facts: &mut Facts,
) -> Result<()> {
    let finished = [
        CorrectiveActionState::Verified,
        CorrectiveActionState::Closed,
        CorrectiveActionState::Cancelled,
    ]
    .map(|s| s.as_str());
    let rows: Vec<(String, String, String)> = corrective_action::Entity::find()
        .select_only()
        .column(corrective_action::Column::Clause)
        .column(corrective_action::Column::Id)
        .column(corrective_action::Column::Title)
        .filter(corrective_action::Column::Clause.is_not_null())
        .filter(corrective_action::Column::DueDate.lt(today))
        .filter(corrective_action::Column::State.is_not_in(finished))
        .into_tuple()
        .all(conn)
        .await?;
    for (clause, id, title) in rows {
        let record = RecordRef::new(RecordKind::CorrectiveAction, id, title);
        facts
            .entry(clause)
            .or_default()
            .overdue_corrective_actions
            .push(record);
    }
    Ok(())
}

/// When each clause was last in the scope of a closed internal audit.
pub async fn add_last_audited<C: ConnectionTrait>(conn: &C, facts: &mut Facts) -> Result<()> {
    for (clause, at) in super::audits::clauses_last_covered(conn).await? {
        facts.entry(clause).or_default().last_audited = Some(at);
    }
    Ok(())
}

/// A short label for a record that has no title: the start of its text.
fn label(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The latest management review held (or since approved), with the day it was held.
pub async fn last_management_review<C: ConnectionTrait>(
    conn: &C,
) -> Result<Option<(RecordRef, NaiveDate)>> {
    let held = [ManagementReviewState::Held, ManagementReviewState::Approved].map(|s| s.as_str());
    let latest = management_review::Entity::find()
        .filter(management_review::Column::State.is_in(held))
        .filter(management_review::Column::HeldOn.is_not_null())
        .order_by_desc(management_review::Column::HeldOn)
        .order_by_desc(management_review::Column::Id)
        .one(conn)
        .await?;
    Ok(latest.and_then(|m| {
        let held_on = m.held_on?;
        let record = RecordRef::new(RecordKind::ManagementReview, m.id, m.title);
        Some((record, held_on))
    }))
}

/// The latest completed gap assessment, by the day it assessed, and its result per clause.
pub async fn latest_assessment<C: ConnectionTrait>(
    conn: &C,
    facts: &mut Facts,
) -> Result<Option<RecordRef>> {
    let Some(latest) = assessment::Entity::find()
        .filter(assessment::Column::State.eq(AssessmentState::Completed.as_str()))
        .order_by_desc(assessment::Column::AssessedOn)
        .order_by_desc(assessment::Column::CompletedAt)
        .order_by_desc(assessment::Column::Id)
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let results = assessment_result::Entity::find()
        .filter(assessment_result::Column::AssessmentId.eq(latest.id.as_str()))
        .all(conn)
        .await?;
    for r in results {
        let status = ResultStatus::parse(&r.status)
            .ok_or_else(|| Error::Internal(format!("unknown result status {}", r.status)))?;
        facts.entry(r.clause).or_default().assessed = Some(status);
    }
    Ok(Some(RecordRef::new(
        RecordKind::Assessment,
        latest.id,
        latest.title,
    )))
}
