use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::domain::management_review::{
    ManagementReviewAction, ManagementReviewFields, ManagementReviewPatch, ManagementReviewState,
    NewReviewAction, ReviewActionKind,
};
use crate::http::AppState;
use crate::http::extract::{Auth, IfMatch, JsonBody, created, ok_versioned, parse_json};
use crate::http::pagination::PageQuery;
use crate::http::problem::{ApiError, Code};
use crate::list_response;
use crate::persistence::management_reviews::ManagementReviewFilter;
use crate::service::management_reviews::{self, ManagementReview, ReviewAction};
use crate::text_enum;

list_response!(ManagementReviewList, ManagementReview);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManagementReviewTransition {
    /// `hold` (planned → held; needs every input, `held_on` not after today and an
    /// attendee), `approve` (held → approved; needs a decision) or `cancel` (planned →
    /// cancelled).
    pub action: ManagementReviewAction,
}

text_enum! {
    pub enum ManagementReviewSort {
        CreatedAt => "created_at", CreatedAtDesc => "-created_at",
        HeldOn => "held_on", HeldOnDesc => "-held_on",
        PlannedFor => "planned_for", PlannedForDesc => "-planned_for",
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ManagementReviewQuery {
    pub state: Option<ManagementReviewState>,
    /// Only reviews held on or after this date.
    pub held_from: Option<NaiveDate>,
    /// Only reviews held on or before this date.
    pub held_to: Option<NaiveDate>,
    /// Only reviews this user attended.
    #[param(max_length = 36)]
    pub attendee_id: Option<String>,
    /// Text in the title or the decisions.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// `created_at` (the default), `held_on` or `planned_for` (reviews without the date
    /// last in both directions); `-` for descending.
    pub sort: Option<ManagementReviewSort>,
}

const ID: &str = "The management review's id";

/// The body of `POST /management-reviews/{id}/actions`: `kind` picks the member, which is
/// then read as itself, so an error names the field.
fn read_action(body: Map<String, Value>) -> Result<NewReviewAction, ApiError> {
    let kind = match body.get("kind") {
        Some(Value::String(kind)) => ReviewActionKind::parse(kind),
        Some(_) => None,
        None => {
            return Err(ApiError::field(
                Code::ValidationFailed,
                "kind",
                "missing field `kind`",
            ));
        }
    };
    let rest = serde_json::to_vec(&body).expect("a JSON object serializes");
    match kind {
        Some(ReviewActionKind::CorrectiveAction) => {
            Ok(NewReviewAction::CorrectiveAction(parse_json(&rest)?))
        }
        Some(ReviewActionKind::Improvement) => Ok(NewReviewAction::Improvement(parse_json(&rest)?)),
        None => {
            let kinds: Vec<&str> = ReviewActionKind::ALL.iter().map(|k| k.as_str()).collect();
            Err(ApiError::field(
                Code::ValidationFailed,
                "kind",
                format!("must be one of: {}", kinds.join(", ")),
            ))
        }
    }
}

/// List management reviews.
#[utoipa::path(operation_id = "list_management_reviews", tag = "management reviews", security(("bearer" = ["viewer"])), params(PageQuery, ManagementReviewQuery), responses((status = 200, body = ManagementReviewList)))]
#[get("/management-reviews")]
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    page: Query<PageQuery>,
    query: Query<ManagementReviewQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let sort = q.sort.map(|s| s.as_str());
    let filter = ManagementReviewFilter {
        state: q.state,
        held_from: q.held_from,
        held_to: q.held_to,
        attendee_id: q.attendee_id,
        q: q.q,
    };
    ManagementReviewList::respond(&req, &page, sort, async move |request| {
        management_reviews::list(&state.db, &caller.0, filter.clone(), &request).await
    })
    .await
}

/// Plan a management review in `planned` (manager). Attendees must be active persons.
#[utoipa::path(operation_id = "create_management_review", tag = "management reviews", security(("bearer" = ["manager"])), request_body = ManagementReviewFields, responses((status = 201, body = ManagementReview)))]
#[post("/management-reviews")]
pub async fn create(
    state: Data<AppState>,
    caller: Auth,
    body: JsonBody<ManagementReviewFields>,
) -> Result<HttpResponse, ApiError> {
    let review = management_reviews::create(&state.db, &caller.0, body.0).await?;
    Ok(created(
        format!("/api/v1/management-reviews/{}", review.id),
        &review,
        review.version,
    ))
}

/// Get a management review, with the corrective actions and improvements decided at it.
#[utoipa::path(operation_id = "get_management_review", tag = "management reviews", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 200, body = ManagementReview)))]
#[get("/management-reviews/{id}")]
pub async fn get(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let review = management_reviews::get(&state.db, &caller.0, &id).await?;
    Ok(ok_versioned(&review, review.version))
}

/// Change a management review (manager) with a JSON merge patch; `inputs` merges field by
/// field. Approved and cancelled reviews cannot change; a held one keeps what holding it
/// needed.
#[utoipa::path(operation_id = "update_management_review", tag = "management reviews", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = ManagementReviewPatch, responses((status = 200, body = ManagementReview)))]
#[patch("/management-reviews/{id}")]
pub async fn update(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<ManagementReviewPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let review = management_reviews::update(&state.db, &caller.0, &id, if_match.0, body.0).await?;
    Ok(ok_versioned(&review, review.version))
}

/// Delete a planned management review (manager); one that will not take place may also be
/// cancelled, which keeps it.
#[utoipa::path(operation_id = "delete_management_review", tag = "management reviews", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 204, description = "Deleted")))]
#[delete("/management-reviews/{id}")]
pub async fn remove(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    management_reviews::delete(&state.db, &caller.0, &id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Move a management review through its workflow (manager): `hold` names every missing
/// input, `held_on` and the attendees at once; `approve` records who approved and when.
#[utoipa::path(operation_id = "transition_management_review", tag = "management reviews", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = ManagementReviewTransition, responses((status = 200, body = ManagementReview)))]
#[post("/management-reviews/{id}/transitions")]
pub async fn transition(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<ManagementReviewTransition>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let review =
        management_reviews::transition(&state.db, &caller.0, &id, if_match.0, body.0.action)
            .await?;
    Ok(ok_versioned(&review, review.version))
}

/// Record an action decided at a held or approved management review (manager; 409 for a
/// planned or cancelled one). `kind: corrective_action` creates a corrective action in
/// `open`, `kind: improvement` an improvement in `proposed`, each with
/// `source: management_review` and linked back by `management_review_id`; the review lists
/// it in `corrective_action_ids` or `improvement_ids` and its version moves. The answer is
/// the created record with its `kind`; `Location` and `ETag` are the record's.
#[utoipa::path(operation_id = "add_management_review_action", tag = "management reviews", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = NewReviewAction, responses((status = 201, body = ReviewAction)))]
#[post("/management-reviews/{id}/actions")]
pub async fn add_action(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let request = read_action(body.0)?;
    let action = management_reviews::add_action(&state.db, &caller.0, &id, request).await?;
    let (location, version) = action.location();
    Ok(created(location, &action, version))
}
