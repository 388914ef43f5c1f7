use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::process::{ProcessAction, ProcessInput, ProcessState, Raci, RaciAssignment};
use crate::http::extract::{Auth, IfMatch, JsonBody, created, ok_versioned};
use crate::http::pagination::PageQuery;
use crate::http::patch::{self, MergePatch};
use crate::http::problem::ApiError;
use crate::http::{AppState, csv};
use crate::list_response;
use crate::service::check_version;
use crate::service::processes::{self, Process, ProcessFilter};
use crate::text_enum;

list_response!(ProcessList, Process);

/// A clause catalog number such as `8.6.1` (schema only).
pub struct ClauseNumber;

impl utoipa::PartialSchema for ClauseNumber {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .max_length(Some(16))
            .pattern(Some(r"^[0-9]+(\.[0-9]+)*$"))
            .examples(["8.6.1"])
            .into()
    }
}

impl utoipa::ToSchema for ClauseNumber {}

/// The editable fields of a process.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessFields {
    /// Unique short code: an upper-case letter, then A-Z, 0-9, `-` or `_`.
    #[schema(
        example = "INC",
        min_length = 1,
        max_length = 16,
        pattern = "^[A-Z][A-Z0-9_-]*$"
    )]
    pub code: String,
    #[schema(example = "Incident management", min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(max_length = 2000)]
    pub purpose: Option<String>,
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// Clause catalog numbers, e.g. `8.6.1`.
    #[serde(default)]
    #[schema(value_type = Vec<ClauseNumber>, max_items = 100)]
    pub clauses: Vec<String>,
    /// The SMS role that owns the process.
    pub owner_role_id: Option<String>,
    pub review_due: Option<NaiveDate>,
}

impl From<ProcessFields> for ProcessInput {
    fn from(f: ProcessFields) -> Self {
        ProcessInput {
            code: f.code,
            name: f.name,
            purpose: f.purpose,
            description: f.description,
            clauses: f.clauses,
            owner_role_id: f.owner_role_id,
            review_due: f.review_due,
        }
    }
}

impl From<ProcessInput> for ProcessFields {
    fn from(i: ProcessInput) -> Self {
        ProcessFields {
            code: i.code,
            name: i.name,
            purpose: i.purpose,
            description: i.description,
            clauses: i.clauses,
            owner_role_id: i.owner_role_id,
            review_due: i.review_due,
        }
    }
}

/// A JSON merge patch of a process: the fields to change; `null` clears an optional field.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Only type-checks a patch; the merge works on the raw document.
pub struct ProcessPatch {
    #[schema(min_length = 1, max_length = 16, pattern = "^[A-Z][A-Z0-9_-]*$")]
    #[serde(default)]
    code: String,
    #[schema(min_length = 1, max_length = 200)]
    #[serde(default)]
    name: String,
    #[schema(max_length = 2000)]
    purpose: Option<String>,
    #[schema(max_length = 10000)]
    description: Option<String>,
    #[schema(value_type = Vec<ClauseNumber>, max_items = 100)]
    clauses: Option<Vec<String>>,
    owner_role_id: Option<String>,
    review_due: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RaciAssignmentBody {
    pub role_id: String,
    /// The activity; absent or null for the process as a whole.
    #[schema(max_length = 200)]
    pub activity: Option<String>,
    pub responsibility: Raci,
}

/// The whole RACI matrix: per activity exactly one `A`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RaciBody {
    #[schema(max_items = 500)]
    pub assignments: Vec<RaciAssignmentBody>,
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
#[utoipa::path(operation_id = "list_processes", tag = "processes", params(PageQuery, ProcessQuery), responses((status = 200, body = ProcessList)))]
#[get("/processes")]
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    page: Query<PageQuery>,
    query: Query<ProcessQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let request = page.request(q.sort.map(|s| s.as_str()))?;
    let filter = ProcessFilter {
        state: q.state,
        clause: q.clause,
        owner_role_id: q.owner_role_id,
        q: q.q,
        review_due_from: q.review_due_from,
        review_due_to: q.review_due_to,
    };
    let page = processes::list(&state.db, &caller.0, filter, &request).await?;
    Ok(csv::list_response(&req, &ProcessList::from(page)))
}

/// Create a process in `draft` (manager).
#[utoipa::path(operation_id = "create_process", tag = "processes", request_body = ProcessFields, responses((status = 201, body = Process)))]
#[post("/processes")]
pub async fn create(
    state: Data<AppState>,
    caller: Auth,
    body: JsonBody<ProcessFields>,
) -> Result<HttpResponse, ApiError> {
    let process = processes::create(&state.db, &caller.0, body.0.into()).await?;
    Ok(created(
        format!("/api/v1/processes/{}", process.id),
        &process,
        process.version,
    ))
}

/// Get a process.
#[utoipa::path(operation_id = "get_process", tag = "processes", params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 200, body = Process)))]
#[get("/processes/{id}")]
pub async fn get(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let process = processes::get(&state.db, &caller.0, &id).await?;
    Ok(ok_versioned(&process, process.version))
}

/// Change a process (manager) with a JSON merge patch. Retired processes cannot change.
#[utoipa::path(operation_id = "update_process", tag = "processes", params(("id" = String, Path, description = ID, max_length = 36)), request_body = ProcessPatch, responses((status = 200, body = Process)))]
#[patch("/processes/{id}")]
pub async fn update(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: MergePatch<ProcessPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let current = processes::get(&state.db, &caller.0, &id).await?;
    check_version(if_match.0, current.version)?;
    let fields = patch::apply(&ProcessFields::from(current.input()), body.0)?;
    let process = processes::update(
        &state.db,
        &caller.0,
        &id,
        Some(current.version),
        fields.into(),
    )
    .await?;
    Ok(ok_versioned(&process, process.version))
}

/// Delete a draft process (manager); approved processes are retired instead.
#[utoipa::path(operation_id = "delete_process", tag = "processes", params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 204, description = "Deleted")))]
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

/// Replace the RACI matrix (manager).
#[utoipa::path(operation_id = "set_process_raci", tag = "processes", params(("id" = String, Path, description = ID, max_length = 36)), request_body = RaciBody, responses((status = 200, body = Process)))]
#[put("/processes/{id}/raci")]
pub async fn set_raci(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<RaciBody>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let assignments = body
        .0
        .assignments
        .into_iter()
        .map(|a| RaciAssignment {
            role_id: a.role_id,
            activity: a.activity,
            responsibility: a.responsibility,
        })
        .collect();
    let process = processes::set_raci(&state.db, &caller.0, &id, if_match.0, assignments).await?;
    Ok(ok_versioned(&process, process.version))
}

/// Move a process through its workflow. `approve` needs an owner role, a clause and a RACI with an `A`.
#[utoipa::path(operation_id = "transition_process", tag = "processes", params(("id" = String, Path, description = ID, max_length = 36)), request_body = ProcessTransition, responses((status = 200, body = Process)))]
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
