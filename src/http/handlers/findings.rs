use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, get, patch, post};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::domain::finding::{
    FindingAction, FindingFields, FindingPatch, FindingState, FindingType,
};
use crate::http::AppState;
use crate::http::extract::{Auth, IfMatch, JsonBody, created, ok_versioned};
use crate::http::pagination::PageQuery;
use crate::http::problem::ApiError;
use crate::list_response;
use crate::persistence::findings::FindingFilter;
use crate::service::findings::{self, Finding};
use crate::text_enum;

list_response!(FindingList, Finding);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingTransition {
    /// `close` (open → closed): observations and opportunities for improvement only; a
    /// nonconformity closes with its corrective action.
    pub action: FindingAction,
}

text_enum! {
    pub enum FindingSort {
        CreatedAt => "created_at", CreatedAtDesc => "-created_at",
        Clause => "clause", ClauseDesc => "-clause",
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingQuery {
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub finding_type: Option<FindingType>,
    #[param(max_length = 16, pattern = r"^[0-9]+(\.[0-9]+)*$")]
    pub clause: Option<String>,
    #[param(max_length = 36)]
    pub process_id: Option<String>,
    pub state: Option<FindingState>,
    pub sort: Option<FindingSort>,
}

/// The audit filter of the list of every finding.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditIdQuery {
    #[param(max_length = 36)]
    pub audit_id: Option<String>,
}

const AUDIT_ID: &str = "The audit's id";
const ID: &str = "The finding's id";

fn filter(audit_id: Option<String>, q: FindingQuery) -> FindingFilter {
    FindingFilter {
        audit_id,
        finding_type: q.finding_type,
        clause: q.clause,
        process_id: q.process_id,
        state: q.state,
    }
}

/// List the findings of an audit.
#[utoipa::path(operation_id = "list_audit_findings", tag = "audits", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = AUDIT_ID, max_length = 36), PageQuery, FindingQuery), responses((status = 200, body = FindingList)))]
#[get("/audits/{id}/findings")]
pub async fn list_for_audit(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    page: Query<PageQuery>,
    query: Query<FindingQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let sort = q.sort.map(|s| s.as_str());
    let filter = filter(None, q);
    FindingList::respond(&req, &page, sort, async move |request| {
        findings::list_for_audit(&state.db, &caller.0, &id, filter.clone(), &request).await
    })
    .await
}

/// Record a finding (the audit's lead auditor or auditors, while the audit is `in_progress`
/// or `reporting`). A nonconformity names its clause.
#[utoipa::path(operation_id = "create_finding", tag = "audits", security(("bearer" = ["auditor"])), params(("id" = String, Path, description = AUDIT_ID, max_length = 36)), request_body = FindingFields, responses((status = 201, body = Finding)))]
#[post("/audits/{id}/findings")]
pub async fn create(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<FindingFields>,
) -> Result<HttpResponse, ApiError> {
    let finding = findings::create(&state.db, &caller.0, &id, body.0).await?;
    Ok(created(
        format!("/api/v1/findings/{}", finding.id),
        &finding,
        finding.version,
    ))
}

/// List findings of every audit.
#[utoipa::path(operation_id = "list_findings", tag = "audits", security(("bearer" = ["viewer"])), params(PageQuery, AuditIdQuery, FindingQuery), responses((status = 200, body = FindingList)))]
#[get("/findings")]
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    page: Query<PageQuery>,
    audit: Query<AuditIdQuery>,
    query: Query<FindingQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let sort = q.sort.map(|s| s.as_str());
    let filter = filter(audit.into_inner().audit_id, q);
    FindingList::respond(&req, &page, sort, async move |request| {
        findings::list(&state.db, &caller.0, filter.clone(), &request).await
    })
    .await
}

/// Get a finding.
#[utoipa::path(operation_id = "get_finding", tag = "audits", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 200, body = Finding)))]
#[get("/findings/{id}")]
pub async fn get(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let finding = findings::get(&state.db, &caller.0, &id).await?;
    Ok(ok_versioned(&finding, finding.version))
}

/// Change a finding with a JSON merge patch (its audit's lead auditor or auditors, while the
/// audit is `in_progress` or `reporting`).
#[utoipa::path(operation_id = "update_finding", tag = "audits", security(("bearer" = ["auditor"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = FindingPatch, responses((status = 200, body = Finding)))]
#[patch("/findings/{id}")]
pub async fn update(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<FindingPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let finding = findings::update(&state.db, &caller.0, &id, if_match.0, body.0).await?;
    Ok(ok_versioned(&finding, finding.version))
}

/// Close an observation or opportunity for improvement (its audit's lead auditor or auditors).
#[utoipa::path(operation_id = "transition_finding", tag = "audits", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = FindingTransition, responses((status = 200, body = Finding)))]
#[post("/findings/{id}/transitions")]
pub async fn transition(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<FindingTransition>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let finding =
        findings::transition(&state.db, &caller.0, &id, if_match.0, body.0.action).await?;
    Ok(ok_versioned(&finding, finding.version))
}
