//! Reports: JSON, or their table as CSV (`Accept: text/csv`, or the report's export at
//! `/api/v1/exports/reports/{report}`).

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, get};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::readiness::Readiness;
use crate::domain::readiness::{CheckStatus, ReadinessCheck};
use crate::http::extract::Auth;
use crate::http::problem::ApiError;
use crate::http::{AppState, csv};
use crate::service::audits::AuditCoverage;
use crate::service::reports::{self, CorrectiveActionsReport, ObjectivesReport};
use crate::text_enum;

/// Objectives report: every objective with its process, owner role, metric, target,
/// latest value, attainment and trend (computed as the objective shows them, at the time of
/// the request), and how many objectives there are per attainment and per state.
///
/// As CSV (`GET /api/v1/exports/reports/objectives`): one row per objective, the fields of
/// `ObjectiveRow`.
#[utoipa::path(operation_id = "objectives_report", tag = "reports", security(("bearer" = ["viewer"])), responses((status = 200, body = ObjectivesReport)))]
#[get("/reports/objectives")]
pub async fn objectives(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
) -> Result<HttpResponse, ApiError> {
    let report = reports::objectives(&state.db, &caller.0).await?;
    Ok(csv::report(&req, &report, |r| r.objectives.clone()))
}

/// Corrective-actions report: the open corrective actions (every state but `closed` and
/// `cancelled`), how many are overdue, and both by age since creation (0–30, 31–60, 61–90
/// and over 90 days, on the service's date), by clause, by source and by state.
///
/// As CSV (`GET /api/v1/exports/reports/corrective-actions`): one row per count,
/// `dimension,key,open,overdue`, where `dimension` is `total` (key `all`), `ageing` (key the
/// bucket), `clause` (key the clause, empty for actions without one), `source` or `state`.
#[utoipa::path(operation_id = "corrective_actions_report", tag = "reports", security(("bearer" = ["viewer"])), responses((status = 200, body = CorrectiveActionsReport)))]
#[get("/reports/corrective-actions")]
pub async fn corrective_actions(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
) -> Result<HttpResponse, ApiError> {
    let report = reports::corrective_actions(&state.db, &caller.0).await?;
    Ok(csv::report(&req, &report, corrective_action_rows))
}

text_enum! {
    /// What a row of the corrective-actions report's CSV counts by.
    pub enum CorrectiveActionsDimension {
        Total => "total",
        Ageing => "ageing",
        Clause => "clause",
        Source => "source",
        State => "state",
    }
}

/// A row of the corrective-actions report's CSV.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CorrectiveActionsRow {
    pub dimension: CorrectiveActionsDimension,
    pub key: Option<String>,
    pub open: u64,
    pub overdue: u64,
}

fn corrective_action_rows(report: &CorrectiveActionsReport) -> Vec<CorrectiveActionsRow> {
    use CorrectiveActionsDimension::*;
    let row = |dimension, key: Option<&str>, open, overdue| CorrectiveActionsRow {
        dimension,
        key: key.map(str::to_string),
        open,
        overdue,
    };
    let mut rows = vec![row(Total, Some("all"), report.open, report.overdue)];
    rows.extend(
        (report.ageing.iter()).map(|a| row(Ageing, Some(a.bucket.as_str()), a.open, a.overdue)),
    );
    rows.extend(
        (report.by_clause.iter()).map(|c| row(Clause, c.clause.as_deref(), c.open, c.overdue)),
    );
    rows.extend(
        (report.by_source.iter()).map(|s| row(Source, Some(s.source.as_str()), s.open, s.overdue)),
    );
    rows.extend(
        (report.by_state.iter()).map(|s| row(State, Some(s.state.as_str()), s.open, s.overdue)),
    );
    rows
}

text_enum! {
    /// What a row of the audit-coverage CSV is about.
    pub enum CoverageKind { Clause => "clause", Process => "process" }
}

/// A row of the audit-coverage report's CSV: a clause (`key` its number) or a process
/// (`key` its id, `code` its code).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CoverageRow {
    pub kind: CoverageKind,
    pub key: String,
    pub code: Option<String>,
    /// The clause's title or the process's name.
    pub title: String,
    /// Empty when no closed internal audit covered it.
    pub last_covered_at: Option<DateTime<Utc>>,
}

/// The audit-coverage CSV: one row per clause of the catalog, then one per process.
pub fn coverage_rows(report: &AuditCoverage) -> Vec<CoverageRow> {
    let clauses = report.clauses.iter().map(|c| CoverageRow {
        kind: CoverageKind::Clause,
        key: c.clause.clone(),
        code: None,
        title: c.title.clone(),
        last_covered_at: c.last_covered_at,
    });
    let processes = report.processes.iter().map(|p| CoverageRow {
        kind: CoverageKind::Process,
        key: p.process_id.clone(),
        code: Some(p.code.clone()),
        title: p.name.clone(),
        last_covered_at: p.last_covered_at,
    });
    clauses.chain(processes).collect()
}

/// A row of the readiness report's CSV: one check of one clause.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadinessRow {
    pub clause: String,
    pub title: String,
    /// The clause's score (0 to 1).
    pub clause_score: f64,
    pub check: ReadinessCheck,
    pub status: CheckStatus,
    pub detail: String,
}

/// The readiness CSV: one row per clause and check that applies to it.
pub fn readiness_rows(report: &Readiness) -> Vec<ReadinessRow> {
    report
        .clauses
        .iter()
        .flat_map(|c| {
            c.checks.iter().map(|check| ReadinessRow {
                clause: c.clause.clone(),
                title: c.title.clone(),
                clause_score: c.score,
                check: check.check,
                status: check.status,
                detail: check.detail.clone(),
            })
        })
        .collect()
}
