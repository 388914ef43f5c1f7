use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::audit_trail::AuditEntryList;
use crate::domain::corrective_action::{
    CorrectiveActionAction, CorrectiveActionFields, CorrectiveActionPatch, CorrectiveActionSource,
    CorrectiveActionState, StepInput,
};
use crate::http::AppState;
use crate::http::extract::{Auth, IfMatch, JsonBody, created, ok_versioned};
use crate::http::pagination::PageQuery;
use crate::http::problem::ApiError;
use crate::list_response;
use crate::persistence::corrective_actions::CorrectiveActionFilter;
use crate::service::corrective_actions::{self, CorrectiveAction};
use crate::text_enum;

list_response!(CorrectiveActionList, CorrectiveAction);

/// A workflow step, with the fields it needs (stored by the same change).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectiveActionTransition {
    /// `investigate` (needs `correction`), `plan` (`root_cause`, `action_plan`), `implement`
    /// (`implementation`), `verify` (`effectiveness_review`, `effective`), `close`, `cancel`
    /// (`reason`).
    pub action: CorrectiveActionAction,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub correction: Option<String>,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub root_cause: Option<String>,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub similar_nonconformities: Option<String>,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub action_plan: Option<String>,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub implementation: Option<String>,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub effectiveness_review: Option<String>,
    /// The verification's verdict: `true` → `verified`, `false` → back to `action_planned`.
    #[serde(default)]
    pub effective: Option<bool>,
    /// Why the corrective action is cancelled.
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub reason: Option<String>,
}

impl CorrectiveActionTransition {
    fn into_step(self) -> (CorrectiveActionAction, StepInput) {
        let input = StepInput {
            correction: self.correction,
            root_cause: self.root_cause,
            similar_nonconformities: self.similar_nonconformities,
            action_plan: self.action_plan,
            implementation: self.implementation,
            effectiveness_review: self.effectiveness_review,
            effective: self.effective,
            reason: self.reason,
        };
        (self.action, input)
    }
}

text_enum! {
    pub enum CorrectiveActionSort {
        CreatedAt => "created_at", CreatedAtDesc => "-created_at",
        DueDate => "due_date", DueDateDesc => "-due_date",
        Title => "title", TitleDesc => "-title",
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CorrectiveActionQuery {
    pub state: Option<CorrectiveActionState>,
    /// Only those this user is responsible for.
    #[param(max_length = 36)]
    pub owner_id: Option<String>,
    pub source: Option<CorrectiveActionSource>,
    #[param(max_length = 16, pattern = r"^[0-9]+(\.[0-9]+)*$")]
    pub clause: Option<String>,
    #[param(max_length = 36)]
    pub process_id: Option<String>,
    #[param(max_length = 36)]
    pub finding_id: Option<String>,
    /// Only the actions decided at this management review.
    #[param(max_length = 36)]
    pub management_review_id: Option<String>,
    /// Only overdue ones (`true`) or only those not overdue (`false`), by today's date.
    pub overdue: Option<bool>,
    /// Text in the title or the nonconformity.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Empty due dates come last in both directions.
    pub sort: Option<CorrectiveActionSort>,
}

const ID: &str = "The corrective action's id";

/// List corrective actions.
#[utoipa::path(operation_id = "list_corrective_actions", tag = "corrective actions", security(("bearer" = ["viewer"])), params(PageQuery, CorrectiveActionQuery), responses((status = 200, body = CorrectiveActionList)))]
#[get("/corrective-actions")]
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    page: Query<PageQuery>,
    query: Query<CorrectiveActionQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = CorrectiveActionFilter {
        state: q.state,
        owner_id: q.owner_id,
        source: q.source,
        clause: q.clause,
        process_id: q.process_id,
        finding_id: q.finding_id,
        management_review_id: q.management_review_id,
        overdue: q.overdue,
        q: q.q,
    };
    let sort = q.sort.map(|s| s.as_str());
    CorrectiveActionList::respond(&req, &page, sort, async move |request| {
        corrective_actions::list(&state.db, &caller.0, filter.clone(), &request).await
    })
    .await
}

/// Create a corrective action in `open` (manager). From an audit finding, `clause` and
/// `process_id` come from the finding; one corrective action per finding.
#[utoipa::path(operation_id = "create_corrective_action", tag = "corrective actions", security(("bearer" = ["manager"])), request_body = CorrectiveActionFields, responses((status = 201, body = CorrectiveAction)))]
#[post("/corrective-actions")]
pub async fn create(
    state: Data<AppState>,
    caller: Auth,
    body: JsonBody<CorrectiveActionFields>,
) -> Result<HttpResponse, ApiError> {
    let action = corrective_actions::create(&state.db, &caller.0, body.0).await?;
    Ok(created(
        format!("/api/v1/corrective-actions/{}", action.id),
        &action,
        action.version,
    ))
}

/// Get a corrective action.
#[utoipa::path(operation_id = "get_corrective_action", tag = "corrective actions", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 200, body = CorrectiveAction)))]
#[get("/corrective-actions/{id}")]
pub async fn get(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let action = corrective_actions::get(&state.db, &caller.0, &id).await?;
    Ok(ok_versioned(&action, action.version))
}

/// Change a corrective action (manager) with a JSON merge patch. Closed and cancelled ones
/// cannot change; a step taken keeps the fields it needed.
#[utoipa::path(operation_id = "update_corrective_action", tag = "corrective actions", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = CorrectiveActionPatch, responses((status = 200, body = CorrectiveAction)))]
#[patch("/corrective-actions/{id}")]
pub async fn update(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<CorrectiveActionPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let action = corrective_actions::update(&state.db, &caller.0, &id, if_match.0, body.0).await?;
    Ok(ok_versioned(&action, action.version))
}

/// Delete an open corrective action (manager); later ones are cancelled instead.
#[utoipa::path(operation_id = "delete_corrective_action", tag = "corrective actions", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 204, description = "Deleted")))]
#[delete("/corrective-actions/{id}")]
pub async fn remove(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    corrective_actions::delete(&state.db, &caller.0, &id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Move a corrective action through clause 10.1: the owner or a manager investigates,
/// plans and implements; an auditor or manager who did not implement it verifies; an
/// ineffective verification returns it to `action_planned`; closing closes its finding.
#[utoipa::path(operation_id = "transition_corrective_action", tag = "corrective actions", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = CorrectiveActionTransition, responses((status = 200, body = CorrectiveAction)))]
#[post("/corrective-actions/{id}/transitions")]
pub async fn transition(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<CorrectiveActionTransition>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (action, input) = body.0.into_step();
    let changed =
        corrective_actions::transition(&state.db, &caller.0, &id, if_match.0, action, input)
            .await?;
    Ok(ok_versioned(&changed, changed.version))
}

/// The audit-trail rows of a corrective action and of its finding's close, oldest first:
/// who took each step, when, with what, under which request id.
#[utoipa::path(operation_id = "corrective_action_history", tag = "corrective actions", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36), PageQuery), responses((status = 200, body = AuditEntryList)))]
#[get("/corrective-actions/{id}/history")]
pub async fn history(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    page: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    AuditEntryList::respond(&req, &page, None, async move |request| {
        corrective_actions::history(&state.db, &caller.0, &id, &request).await
    })
    .await
}
