use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::domain::process::{
    ProcessAction, ProcessFields, ProcessPatch, ProcessState, RaciAssignment,
};
use crate::http::AppState;
use crate::http::extract::{Auth, IfMatch, JsonBody, created, ok_versioned};
use crate::http::pagination::PageQuery;
use crate::http::problem::ApiError;
use crate::list_response;
use crate::persistence::processes::ProcessFilter;
use crate::service::processes::{self, Process};
use crate::text_enum;

list_response!(ProcessList, Process);

/// The whole RACI matrix: per activity exactly one `A`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RaciBody {
    #[schema(max_items = 500)]
    pub assignments: Vec<RaciAssignment>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessTransition {
    /// `approve` (draft → active), `retire` (active → retired) or `revise` (active → draft).
    pub action: ProcessAction,
}

text_enum! {
    pub enum ProcessSort {
        Code => "code", CodeDesc => "-code", Name => "name", NameDesc => "-name",
        CreatedAt => "created_at", CreatedAtDesc => "-created_at",
        ReviewDue => "review_due", ReviewDueDesc => "-review_due",
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProcessQuery {
    pub state: Option<ProcessState>,
    /// Only processes that implement this clause.
    #[param(max_length = 16, pattern = r"^[0-9]+(\.[0-9]+)*$")]
    pub clause: Option<String>,
    /// Only processes owned by this SMS role.
    #[param(max_length = 36)]
    pub owner_role_id: Option<String>,
    /// Text in the code, name or purpose.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Only processes whose review is due on or after this date.
    pub review_due_from: Option<NaiveDate>,
    /// Only processes whose review is due on or before this date.
    pub review_due_to: Option<NaiveDate>,
    pub sort: Option<ProcessSort>,
}

const ID: &str = "The process's id";

/// List processes.
#[utoipa::path(operation_id = "list_processes", tag = "processes", security(("bearer" = ["viewer"])), params(PageQuery, ProcessQuery), responses((status = 200, body = ProcessList)))]
#[get("/processes")]
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    page: Query<PageQuery>,
    query: Query<ProcessQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = ProcessFilter {
        state: q.state,
        clause: q.clause,
        owner_role_id: q.owner_role_id,
        q: q.q,
        review_due_from: q.review_due_from,
        review_due_to: q.review_due_to,
    };
    let sort = q.sort.map(|s| s.as_str());
    ProcessList::respond(&req, &page, sort, async move |request| {
        processes::list(&state.db, &caller.0, filter.clone(), &request).await
    })
    .await
}

/// Create a process in `draft`.
#[utoipa::path(operation_id = "create_process", tag = "processes", security(("bearer" = ["manager"])), request_body = ProcessFields, responses((status = 201, body = Process)))]
#[post("/processes")]
pub async fn create(
    state: Data<AppState>,
    caller: Auth,
    body: JsonBody<ProcessFields>,
) -> Result<HttpResponse, ApiError> {
    let process = processes::create(&state.db, &caller.0, body.0).await?;
    Ok(created(
        format!("/api/v1/processes/{}", process.id),
        &process,
        process.version,
    ))
}

/// Get a process.
#[utoipa::path(operation_id = "get_process", tag = "processes", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 200, body = Process)))]
#[get("/processes/{id}")]
pub async fn get(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let process = processes::get(&state.db, &caller.0, &id).await?;
    Ok(ok_versioned(&process, process.version))
}

/// Change a process with a JSON merge patch. Retired processes cannot change; a
/// patch that changes nothing leaves the version as it is.
#[utoipa::path(operation_id = "update_process", tag = "processes", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = ProcessPatch, responses((status = 200, body = Process)))]
#[patch("/processes/{id}")]
pub async fn update(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<ProcessPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let process = processes::update(&state.db, &caller.0, &id, if_match.0, body.0).await?;
    Ok(ok_versioned(&process, process.version))
}

/// Delete a draft process; approved processes are retired instead.
#[utoipa::path(operation_id = "delete_process", tag = "processes", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 204, description = "Deleted")))]
#[delete("/processes/{id}")]
pub async fn remove(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    processes::delete(&state.db, &caller.0, &id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replace the RACI matrix.
#[utoipa::path(operation_id = "set_process_raci", tag = "processes", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = RaciBody, responses((status = 200, body = Process)))]
#[put("/processes/{id}/raci")]
pub async fn set_raci(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<RaciBody>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let assignments = body.0.assignments;
    let process = processes::set_raci(&state.db, &caller.0, &id, if_match.0, assignments).await?;
    Ok(ok_versioned(&process, process.version))
}

/// Move a process through its workflow. `approve` needs an owner role, a clause and a RACI with an `A`.
#[utoipa::path(operation_id = "transition_process", tag = "processes", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = ProcessTransition, responses((status = 200, body = Process)))]
#[post("/processes/{id}/transitions")]
pub async fn transition(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<ProcessTransition>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let process =
        processes::transition(&state.db, &caller.0, &id, if_match.0, body.0.action).await?;
    Ok(ok_versioned(&process, process.version))
}
