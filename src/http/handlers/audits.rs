use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::domain::audit::{AuditAction, AuditFields, AuditKind, AuditPatch, AuditState};
use crate::http::extract::{Auth, IfMatch, JsonBody, created, ok_versioned};
use crate::http::pagination::PageQuery;
use crate::http::problem::ApiError;
use crate::http::{AppState, csv};
use crate::list_response;
use crate::persistence::audits::AuditFilter;
use crate::service::audits::{self, Audit, AuditCoverage};
use crate::text_enum;

list_response!(AuditList, Audit);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditTransition {
    /// `start` (planned → in_progress), `report` (in_progress → reporting), `close`
    /// (reporting → closed) or `cancel` (planned or in_progress → cancelled).
    pub action: AuditAction,
}

text_enum! {
    pub enum AuditSort {
        PlannedStart => "planned_start", PlannedStartDesc => "-planned_start",
        CreatedAt => "created_at", CreatedAtDesc => "-created_at",
        Title => "title", TitleDesc => "-title",
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only audits whose planned period ends on or after this date.
    pub from: Option<NaiveDate>,
    /// Only audits whose planned period starts on or before this date.
    pub to: Option<NaiveDate>,
    pub state: Option<AuditState>,
    pub kind: Option<AuditKind>,
    /// Only audits with this clause in scope.
    #[param(max_length = 16, pattern = r"^[0-9]+(\.[0-9]+)*$")]
    pub clause: Option<String>,
    /// Only audits with this process in scope.
    #[param(max_length = 36)]
    pub process_id: Option<String>,
    #[param(max_length = 36)]
    pub lead_auditor_id: Option<String>,
    /// Only audits this user is the lead auditor or an auditor of.
    #[param(max_length = 36)]
    pub auditor_id: Option<String>,
    pub sort: Option<AuditSort>,
}

const ID: &str = "The audit's id";

/// The audit programme: audits whose planned period overlaps `from`–`to`, and other filters.
#[utoipa::path(operation_id = "list_audits", tag = "audits", security(("bearer" = ["viewer"])), params(PageQuery, AuditQuery), responses((status = 200, body = AuditList)))]
#[get("/audits")]
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    page: Query<PageQuery>,
    query: Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = AuditFilter {
        state: q.state,
        kind: q.kind,
        clause: q.clause,
        process_id: q.process_id,
        lead_auditor_id: q.lead_auditor_id,
        auditor_id: q.auditor_id,
        from: q.from,
        to: q.to,
    };
    let sort = q.sort.map(|s| s.as_str());
    AuditList::respond(&req, &page, sort, async move |request| {
        audits::list(&state.db, &caller.0, filter.clone(), &request).await
    })
    .await
}

/// Plan an audit (auditor). The lead auditor and auditors must be active auditors who own
/// no process in scope through an SMS role (impartiality).
#[utoipa::path(operation_id = "create_audit", tag = "audits", security(("bearer" = ["auditor"])), request_body = AuditFields, responses((status = 201, body = Audit)))]
#[post("/audits")]
pub async fn create(
    state: Data<AppState>,
    caller: Auth,
    body: JsonBody<AuditFields>,
) -> Result<HttpResponse, ApiError> {
    let audit = audits::create(&state.db, &caller.0, body.0).await?;
    Ok(created(
        format!("/api/v1/audits/{}", audit.id),
        &audit,
        audit.version,
    ))
}

/// Get an audit.
#[utoipa::path(operation_id = "get_audit", tag = "audits", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 200, body = Audit)))]
#[get("/audits/{id}")]
pub async fn get(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let audit = audits::get(&state.db, &caller.0, &id).await?;
    Ok(ok_versioned(&audit, audit.version))
}

/// Change an audit with a JSON merge patch (its lead auditor or auditors; any auditor while
/// nobody is assigned). Closed and cancelled audits cannot change.
#[utoipa::path(operation_id = "update_audit", tag = "audits", security(("bearer" = ["auditor"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = AuditPatch, responses((status = 200, body = Audit)))]
#[patch("/audits/{id}")]
pub async fn update(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<AuditPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let audit = audits::update(&state.db, &caller.0, &id, if_match.0, body.0).await?;
    Ok(ok_versioned(&audit, audit.version))
}

/// Delete a planned audit; a started one is cancelled instead.
#[utoipa::path(operation_id = "delete_audit", tag = "audits", security(("bearer" = ["auditor"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 204, description = "Deleted")))]
#[delete("/audits/{id}")]
pub async fn remove(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    audits::delete(&state.db, &caller.0, &id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Move an audit through its workflow (its lead auditor or auditors; managers may cancel).
/// `start` needs a lead auditor, a scope and an impartial team; `close` needs a corrective
/// action for every nonconformity found.
#[utoipa::path(operation_id = "transition_audit", tag = "audits", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = AuditTransition, responses((status = 200, body = Audit)))]
#[post("/audits/{id}/transitions")]
pub async fn transition(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<AuditTransition>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let audit = audits::transition(&state.db, &caller.0, &id, if_match.0, body.0.action).await?;
    Ok(ok_versioned(&audit, audit.version))
}

/// Audit coverage: per clause and per process, when a closed internal audit last covered
/// it, and what no internal audit has covered.
///
/// As CSV (`GET /api/v1/exports/reports/audit-coverage`): one row per clause, then one per
/// process: `kind` (`clause` or `process`), `key` (the clause number or the process id),
/// `code` (the process code), `title` (the clause title or the process name),
/// `last_covered_at` (empty when never covered).
#[utoipa::path(operation_id = "audit_coverage_report", tag = "audits", security(("bearer" = ["viewer"])), responses((status = 200, body = AuditCoverage)))]
#[get("/reports/audit-coverage")]
pub async fn coverage(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
) -> Result<HttpResponse, ApiError> {
    let report = audits::coverage(&state.db, &caller.0).await?;
    Ok(csv::report(&req, &report, super::reports::coverage_rows))
}
