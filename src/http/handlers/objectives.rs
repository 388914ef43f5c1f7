use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::domain::objective::{
    Attainment, MeasurementInput, ObjectiveAction, ObjectiveFields, ObjectivePatch, ObjectiveState,
    Outcome,
};
use crate::http::AppState;
use crate::http::extract::{Auth, IfMatch, JsonBody, created, ok_versioned};
use crate::http::pagination::PageQuery;
use crate::http::problem::ApiError;
use crate::list_response;
use crate::persistence::objectives::ObjectiveFilter;
use crate::service::objectives::{self, Measurement, Objective};
use crate::text_enum;

list_response!(ObjectiveList, Objective);
list_response!(MeasurementList, Measurement);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveTransition {
    /// `activate` (draft → active; needs the whole plan, `metric`, `target` and
    /// `comparator`), `close` (active → achieved or missed, by `outcome`) or `cancel`
    /// (draft or active → cancelled).
    pub action: ObjectiveAction,
    /// For `close` only: how the objective ended.
    #[serde(default)]
    pub outcome: Option<Outcome>,
}

text_enum! {
    pub enum ObjectiveSort {
        DueDate => "due_date", DueDateDesc => "-due_date", Title => "title",
        TitleDesc => "-title", CreatedAt => "created_at", CreatedAtDesc => "-created_at",
    }
}

text_enum! {
    pub enum MeasurementSort { MeasuredAtDesc => "-measured_at", MeasuredAt => "measured_at" }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ObjectiveQuery {
    pub state: Option<ObjectiveState>,
    /// Only objectives about this process.
    #[param(max_length = 36)]
    pub process_id: Option<String>,
    /// Only objectives owned by this SMS role.
    #[param(max_length = 36)]
    pub owner_role_id: Option<String>,
    /// Only objectives that refer to this clause.
    #[param(max_length = 16, pattern = r"^[0-9]+(\.[0-9]+)*$")]
    pub clause: Option<String>,
    /// Only objectives due on or before this date.
    pub due_before: Option<NaiveDate>,
    /// Only objectives due on or after this date.
    pub due_after: Option<NaiveDate>,
    /// Only objectives with this computed attainment (as of the request).
    pub attainment: Option<Attainment>,
    /// Text in the title, description or metric.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// `due_date` (the default; objectives without one come last), `title` or `created_at`;
    /// `-` for descending.
    pub sort: Option<ObjectiveSort>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeasurementQuery {
    /// `-measured_at` (newest first, the default) or `measured_at`.
    pub sort: Option<MeasurementSort>,
}

const ID: &str = "The objective's id";

/// List objectives.
#[utoipa::path(operation_id = "list_objectives", tag = "objectives", security(("bearer" = ["viewer"])), params(PageQuery, ObjectiveQuery), responses((status = 200, body = ObjectiveList)))]
#[get("/objectives")]
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    page: Query<PageQuery>,
    query: Query<ObjectiveQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = ObjectiveFilter {
        state: q.state,
        process_id: q.process_id,
        owner_role_id: q.owner_role_id,
        clause: q.clause,
        due_before: q.due_before,
        due_after: q.due_after,
        q: q.q,
    };
    let (sort, attainment) = (q.sort.map(|s| s.as_str()), q.attainment);
    ObjectiveList::respond(&req, &page, sort, async move |request| {
        objectives::list(&state.db, &caller.0, filter.clone(), attainment, &request).await
    })
    .await
}

/// Create an objective in `draft` (manager).
#[utoipa::path(operation_id = "create_objective", tag = "objectives", security(("bearer" = ["manager"])), request_body = ObjectiveFields, responses((status = 201, body = Objective)))]
#[post("/objectives")]
pub async fn create(
    state: Data<AppState>,
    caller: Auth,
    body: JsonBody<ObjectiveFields>,
) -> Result<HttpResponse, ApiError> {
    let objective = objectives::create(&state.db, &caller.0, body.0).await?;
    Ok(created(
        format!("/api/v1/objectives/{}", objective.id),
        &objective,
        objective.version,
    ))
}

/// Get an objective with its latest value, attainment and trend.
#[utoipa::path(operation_id = "get_objective", tag = "objectives", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 200, body = Objective)))]
#[get("/objectives/{id}")]
pub async fn get(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let objective = objectives::get(&state.db, &caller.0, &id).await?;
    Ok(ok_versioned(&objective, objective.version))
}

/// Change an objective (manager) with a JSON merge patch; `plan` merges field by field.
/// Achieved, missed and cancelled objectives cannot change; an active one keeps its plan,
/// metric, target and comparator.
#[utoipa::path(operation_id = "update_objective", tag = "objectives", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = ObjectivePatch, responses((status = 200, body = Objective)))]
#[patch("/objectives/{id}")]
pub async fn update(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<ObjectivePatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let objective = objectives::update(&state.db, &caller.0, &id, if_match.0, body.0).await?;
    Ok(ok_versioned(&objective, objective.version))
}

/// Delete a draft objective (manager); others are cancelled instead.
#[utoipa::path(operation_id = "delete_objective", tag = "objectives", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 204, description = "Deleted")))]
#[delete("/objectives/{id}")]
pub async fn remove(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    objectives::delete(&state.db, &caller.0, &id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Move an objective through its workflow (manager).
#[utoipa::path(operation_id = "transition_objective", tag = "objectives", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = ObjectiveTransition, responses((status = 200, body = Objective)))]
#[post("/objectives/{id}/transitions")]
pub async fn transition(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<ObjectiveTransition>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let ObjectiveTransition { action, outcome } = body.0;
    let objective =
        objectives::transition(&state.db, &caller.0, &id, if_match.0, action, outcome).await?;
    Ok(ok_versioned(&objective, objective.version))
}

/// Record a measurement of an active objective (409 otherwise): managers, and contributors
/// who are members of the objective's owner role. `measured_at` may not be in the future.
#[utoipa::path(operation_id = "add_measurement", tag = "objectives", security(("bearer" = ["contributor"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = MeasurementInput, responses((status = 201, body = Measurement)))]
#[post("/objectives/{id}/measurements")]
pub async fn add_measurement(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<MeasurementInput>,
) -> Result<HttpResponse, ApiError> {
    let m = objectives::add_measurement(&state.db, &caller.0, &id, body.0).await?;
    // Measurements are read in their list; no URL of their own.
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/objectives/{id}/measurements"),
        ))
        .json(m))
}

/// List an objective's measurements, newest first.
#[utoipa::path(operation_id = "list_measurements", tag = "objectives", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36), PageQuery, MeasurementQuery), responses((status = 200, body = MeasurementList)))]
#[get("/objectives/{id}/measurements")]
pub async fn list_measurements(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    page: Query<PageQuery>,
    query: Query<MeasurementQuery>,
) -> Result<HttpResponse, ApiError> {
    let sort = query.sort.unwrap_or(MeasurementSort::MeasuredAtDesc);
    MeasurementList::respond(&req, &page, Some(sort.as_str()), async move |request| {
        objectives::list_measurements(&state.db, &caller.0, &id, &request).await
    })
    .await
}
