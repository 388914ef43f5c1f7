use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::domain::assessment::{
    AssessmentAction, AssessmentFields, AssessmentPatch, AssessmentResultInput, AssessmentState,
};
use crate::http::AppState;
use crate::http::extract::{Auth, IfMatch, JsonBody, created, ok_versioned};
use crate::http::pagination::PageQuery;
use crate::http::problem::ApiError;
use crate::list_response;
use crate::persistence::assessments::AssessmentFilter;
use crate::service::assessments::{self, Assessment, AssessmentSummary};
use crate::text_enum;

list_response!(AssessmentList, Assessment);

/// A workflow step.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessmentTransition {
    /// `complete` (in_progress → completed): needs a judged requirement clause and an
    /// `assessed_on` that is not in the future. A completed assessment is frozen.
    pub action: AssessmentAction,
}

text_enum! {
    pub enum AssessmentSort {
        AssessedOn => "assessed_on", AssessedOnDesc => "-assessed_on",
        CreatedAt => "created_at", CreatedAtDesc => "-created_at",
        Title => "title", TitleDesc => "-title",
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssessmentQuery {
    pub state: Option<AssessmentState>,
    /// Text in the title, description or scope note.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Only assessments carried out on or after this date.
    pub assessed_from: Option<NaiveDate>,
    /// Only assessments carried out on or before this date.
    pub assessed_to: Option<NaiveDate>,
    /// `assessed_on` (the default, oldest first), `created_at` or `title`; `-` for
    /// descending.
    pub sort: Option<AssessmentSort>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// The id of another assessment to compare with (the baseline, usually an earlier
    /// one). An unknown id, or this assessment's own, is 422 naming `compare_to`.
    #[param(format = Uuid, max_length = 36)]
    pub compare_to: Option<String>,
}

const ID: &str = "The assessment's id";
const CLAUSE: &str = "A requirement clause: a leaf clause of the catalog, such as `8.6.1`";

/// List gap assessments, each with its results.
#[utoipa::path(operation_id = "list_assessments", tag = "assessments", security(("bearer" = ["viewer"])), params(PageQuery, AssessmentQuery), responses((status = 200, body = AssessmentList)))]
#[get("/assessments")]
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    page: Query<PageQuery>,
    query: Query<AssessmentQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let sort = q.sort.map(|s| s.as_str());
    let filter = AssessmentFilter {
        state: q.state,
        q: q.q,
        assessed_from: q.assessed_from,
        assessed_to: q.assessed_to,
    };
    AssessmentList::respond(&req, &page, sort, async move |request| {
        assessments::list(&state.db, &caller.0, filter.clone(), &request).await
    })
    .await
}

/// Start a gap assessment, in `in_progress` and without results (manager).
#[utoipa::path(operation_id = "create_assessment", tag = "assessments", security(("bearer" = ["manager"])), request_body = AssessmentFields, responses((status = 201, body = Assessment)))]
#[post("/assessments")]
pub async fn create(
    state: Data<AppState>,
    caller: Auth,
    body: JsonBody<AssessmentFields>,
) -> Result<HttpResponse, ApiError> {
    let assessment = assessments::create(&state.db, &caller.0, body.0).await?;
    Ok(created(
        format!("/api/v1/assessments/{}", assessment.id),
        &assessment,
        assessment.version,
    ))
}

/// Get a gap assessment with its results.
#[utoipa::path(operation_id = "get_assessment", tag = "assessments", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 200, body = Assessment)))]
#[get("/assessments/{id}")]
pub async fn get(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let assessment = assessments::get(&state.db, &caller.0, &id).await?;
    Ok(ok_versioned(&assessment, assessment.version))
}

/// Change a gap assessment in progress (manager) with a JSON merge patch; a completed one
/// is frozen (409 `conflict`).
#[utoipa::path(operation_id = "update_assessment", tag = "assessments", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = AssessmentPatch, responses((status = 200, body = Assessment)))]
#[patch("/assessments/{id}")]
pub async fn update(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<AssessmentPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let assessment = assessments::update(&state.db, &caller.0, &id, if_match.0, body.0).await?;
    Ok(ok_versioned(&assessment, assessment.version))
}

/// Delete a gap assessment in progress (manager), with its results; a completed one is
/// kept as evidence (409 `conflict`).
#[utoipa::path(operation_id = "delete_assessment", tag = "assessments", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 204, description = "Deleted")))]
#[delete("/assessments/{id}")]
pub async fn remove(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    assessments::delete(&state.db, &caller.0, &id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Record the result of one requirement clause (manager).
///
/// Returns the assessment. `If-Match` takes the assessment's `ETag`; the assessment's
/// version moves and the audit trail gets one `set_result` row holding `results.<clause>`.
/// A result of `not_assessed` without notes and evidence clears the clause (it is then no
/// longer listed). An unknown clause is 404; a heading clause (one with sub-clauses, such
/// as `8.5.1`) is 422 naming its requirement clauses; a completed assessment is 409
/// `conflict`.
#[utoipa::path(operation_id = "set_assessment_result", tag = "assessments", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36), ("clause" = String, Path, description = CLAUSE, max_length = 16)), request_body = AssessmentResultInput, responses((status = 200, body = Assessment)))]
#[put("/assessments/{id}/results/{clause}")]
pub async fn set_result(
    state: Data<AppState>,
    caller: Auth,
    path: Path<(String, String)>,
    body: JsonBody<AssessmentResultInput>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (id, clause) = path.into_inner();
    let assessment =
        assessments::set_result(&state.db, &caller.0, (&id, &clause), if_match.0, body.0).await?;
    Ok(ok_versioned(&assessment, assessment.version))
}

/// Move a gap assessment: `complete` (manager) freezes it; there is no way back.
#[utoipa::path(operation_id = "transition_assessment", tag = "assessments", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = AssessmentTransition, responses((status = 200, body = Assessment)))]
#[post("/assessments/{id}/transitions")]
pub async fn transition(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<AssessmentTransition>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let assessment =
        assessments::transition(&state.db, &caller.0, &id, if_match.0, body.0.action).await?;
    Ok(ok_versioned(&assessment, assessment.version))
}

/// The gap analysis of an assessment, and its change against an earlier one.
///
/// For every top-level clause (4 to 10) and overall: the number of requirement clauses —
/// the catalog's leaf clauses, those without sub-clauses (57 in all) — the count per status
/// (a clause without a result counts as `not_assessed`), `share_met` = `met` / requirement
/// clauses (0 to 1, 4 decimals; `partially_met` counts as not met, as an auditor would
/// count it), and the gaps (`not_met` and `partially_met` clauses with their notes).
/// `requirements` lists every requirement clause with its status.
///
/// With `compare_to` (the baseline, usually an earlier assessment): each requirement
/// clause's status `before`, its `movement`, and per tally the baseline's share met, the
/// change, and the clauses `improved` and `regressed` by rank `not_met` < `partially_met` <
/// `met`. A clause `not_assessed` in either assessment is `not_compared`: neither improved
/// nor regressed (it still counts in the shares).
#[utoipa::path(operation_id = "assessment_summary", tag = "assessments", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36), SummaryQuery), responses((status = 200, body = AssessmentSummary)))]
#[get("/assessments/{id}/summary")]
pub async fn summary(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    query: Query<SummaryQuery>,
) -> Result<HttpResponse, ApiError> {
    let compare_to = query.into_inner().compare_to;
    let summary = assessments::summary(&state.db, &caller.0, &id, compare_to.as_deref()).await?;
    Ok(HttpResponse::Ok().json(summary))
}
