use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::audit_trail::AuditEntryList;
use crate::domain::improvement::{
    ImprovementAction, ImprovementFields, ImprovementPatch, ImprovementSource, ImprovementState,
    StepInput,
};
use crate::http::AppState;
use crate::http::extract::{Auth, IfMatch, JsonBody, created, ok_versioned};
use crate::http::pagination::PageQuery;
use crate::http::problem::ApiError;
use crate::list_response;
use crate::persistence::improvements::ImprovementFilter;
use crate::service::improvements::{self, Improvement};
use crate::text_enum;

list_response!(ImprovementList, Improvement);

/// A workflow step, with the fields it needs (stored by the same change).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImprovementTransition {
    /// `approve` (needs `benefit`), `implement` (`implementation`), `evaluate`
    /// (`evaluation`), `reject` (`reason`).
    pub action: ImprovementAction,
    /// The expected benefit, if not yet recorded.
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub benefit: Option<String>,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub implementation: Option<String>,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub evaluation: Option<String>,
    /// Why the improvement is rejected.
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub reason: Option<String>,
}

impl ImprovementTransition {
    fn into_step(self) -> (ImprovementAction, StepInput) {
        let input = StepInput {
            benefit: self.benefit,
            implementation: self.implementation,
            evaluation: self.evaluation,
            reason: self.reason,
        };
        (self.action, input)
    }
}

text_enum! {
    pub enum ImprovementSort {
        CreatedAt => "created_at", CreatedAtDesc => "-created_at",
        DueDate => "due_date", DueDateDesc => "-due_date",
        Title => "title", TitleDesc => "-title",
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImprovementQuery {
    pub state: Option<ImprovementState>,
    /// Only those this user is responsible for.
    #[param(max_length = 36)]
    pub owner_id: Option<String>,
    pub source: Option<ImprovementSource>,
    /// Only those decided by this management review.
    #[param(max_length = 36)]
    pub management_review_id: Option<String>,
    /// Text in the title or the description.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Empty due dates come last in both directions.
    pub sort: Option<ImprovementSort>,
}

const ID: &str = "The improvement's id";

/// List improvements.
#[utoipa::path(operation_id = "list_improvements", tag = "improvements", security(("bearer" = ["viewer"])), params(PageQuery, ImprovementQuery), responses((status = 200, body = ImprovementList)))]
#[get("/improvements")]
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    page: Query<PageQuery>,
    query: Query<ImprovementQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = ImprovementFilter {
        state: q.state,
        owner_id: q.owner_id,
        source: q.source,
        management_review_id: q.management_review_id,
        q: q.q,
    };
    let sort = q.sort.map(|s| s.as_str());
    ImprovementList::respond(&req, &page, sort, async move |request| {
        improvements::list(&state.db, &caller.0, filter.clone(), &request).await
    })
    .await
}

/// Propose an improvement (manager); it starts in `proposed`.
#[utoipa::path(operation_id = "create_improvement", tag = "improvements", security(("bearer" = ["manager"])), request_body = ImprovementFields, responses((status = 201, body = Improvement)))]
#[post("/improvements")]
pub async fn create(
    state: Data<AppState>,
    caller: Auth,
    body: JsonBody<ImprovementFields>,
) -> Result<HttpResponse, ApiError> {
    let improvement = improvements::create(&state.db, &caller.0, body.0).await?;
    Ok(created(
        format!("/api/v1/improvements/{}", improvement.id),
        &improvement,
        improvement.version,
    ))
}

/// Get an improvement.
#[utoipa::path(operation_id = "get_improvement", tag = "improvements", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 200, body = Improvement)))]
#[get("/improvements/{id}")]
pub async fn get(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let improvement = improvements::get(&state.db, &caller.0, &id).await?;
    Ok(ok_versioned(&improvement, improvement.version))
}

/// Change an improvement with a JSON merge patch: a manager any field; its owner (a
/// contributor) its text, not `owner_id`, `source` or `due_date`. Evaluated and rejected
/// ones cannot change; a step taken keeps the fields it needed.
#[utoipa::path(operation_id = "update_improvement", tag = "improvements", security(("bearer" = ["contributor"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = ImprovementPatch, responses((status = 200, body = Improvement)))]
#[patch("/improvements/{id}")]
pub async fn update(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<ImprovementPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let improvement = improvements::update(&state.db, &caller.0, &id, if_match.0, body.0).await?;
    Ok(ok_versioned(&improvement, improvement.version))
}

/// Delete a proposed improvement that no risk names (manager); later ones are rejected
/// instead.
#[utoipa::path(operation_id = "delete_improvement", tag = "improvements", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 204, description = "Deleted")))]
#[delete("/improvements/{id}")]
pub async fn remove(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    improvements::delete(&state.db, &caller.0, &id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Move an improvement through clause 10.2: a manager approves it on its expected benefit,
/// the owner or a manager implements it, a manager evaluates the benefit achieved; a
/// manager rejects a proposed or approved one, with a reason.
#[utoipa::path(operation_id = "transition_improvement", tag = "improvements", security(("bearer" = ["contributor"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = ImprovementTransition, responses((status = 200, body = Improvement)))]
#[post("/improvements/{id}/transitions")]
pub async fn transition(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<ImprovementTransition>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (action, input) = body.0.into_step();
    let changed =
        improvements::transition(&state.db, &caller.0, &id, if_match.0, action, input).await?;
    Ok(ok_versioned(&changed, changed.version))
}

/// The audit-trail rows of an improvement, oldest first: who took each step, when, with
/// what, under which request id.
#[utoipa::path(operation_id = "improvement_history", tag = "improvements", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36), PageQuery), responses((status = 200, body = AuditEntryList)))]
#[get("/improvements/{id}/history")]
pub async fn history(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    page: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let request = page.request(None)?;
    let page = improvements::history(&state.db, &caller.0, &id, &request).await?;
    Ok(HttpResponse::Ok().json(AuditEntryList::from(page)))
}
