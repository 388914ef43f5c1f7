use actix_web::web::{Data, Query};
use actix_web::{HttpRequest, HttpResponse, get};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::http::AppState;
use crate::http::extract::Auth;
use crate::http::pagination::PageQuery;
use crate::http::problem::ApiError;
use crate::list_response;
use crate::service::audit_trail::{self, AuditEntry, AuditFilter, ChainReport};

list_response!(AuditEntryList, AuditEntry);

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// e.g. `process`, `sms_role`, `user`, `api_key`.
    #[param(max_length = 64)]
    pub entity_type: Option<String>,
    #[param(max_length = 64)]
    pub entity_id: Option<String>,
    #[param(max_length = 36)]
    pub actor_id: Option<String>,
    /// Changes at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Changes before this time.
    pub to: Option<DateTime<Utc>>,
}

/// The audit trail, oldest first.
#[utoipa::path(operation_id = "list_audit_trail", tag = "audit trail", security(("bearer" = ["admin", "auditor"])), params(PageQuery, AuditQuery), responses((status = 200, body = AuditEntryList)))]
#[get("/audit-trail")]
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    page: Query<PageQuery>,
    query: Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = AuditFilter {
        entity_type: q.entity_type,
        entity_id: q.entity_id,
        actor_id: q.actor_id,
        from: q.from,
        to: q.to,
    };
    AuditEntryList::respond(&req, &page, None, async move |request| {
        audit_trail::list(&state.db, &caller.0, filter.clone(), &request).await
    })
    .await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// An anchor recorded earlier, `SEQ:HASH` (a head reported by a past check): the chain
    /// is valid only if it still holds that row with that hash.
    #[param(max_length = 84, pattern = "^[0-9]{1,19}:[0-9a-f]{64}$")]
    pub expect: Option<String>,
}

/// Check the hash chain of the whole audit trail. A broken chain is a 200
/// with `valid: false`, naming the first row that does not verify and why.
#[utoipa::path(operation_id = "verify_audit_trail", tag = "audit trail", security(("bearer" = ["admin", "auditor"])), params(VerifyQuery), responses((status = 200, body = ChainReport)))]
#[get("/audit-trail/verify")]
pub async fn verify(
    state: Data<AppState>,
    caller: Auth,
    query: Query<VerifyQuery>,
) -> Result<HttpResponse, ApiError> {
    let report = audit_trail::verify_for(
        &state.db,
        &caller.0,
        state.audit_key.as_ref(),
        query.expect.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(report))
}
