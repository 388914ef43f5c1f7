use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::competence::{TrainingRecordFields, TrainingRecordPatch};
use crate::http::extract::{Auth, IfMatch, JsonBody, created, ok_versioned};
use crate::http::pagination::PageQuery;
use crate::http::problem::ApiError;
use crate::http::{AppState, csv};
use crate::list_response;
use crate::persistence::training_records::TrainingRecordFilter;
use crate::service::training_records::{self, CompetenceGaps, TrainingRecord};
use crate::text_enum;

list_response!(TrainingRecordList, TrainingRecord);

text_enum! {
    pub enum TrainingRecordSort {
        CreatedAt => "created_at", CreatedAtDesc => "-created_at",
        CompletedOn => "completed_on", CompletedOnDesc => "-completed_on",
        ExpiresOn => "expires_on", ExpiresOnDesc => "-expires_on",
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrainingRecordQuery {
    /// Only this person's records.
    #[param(max_length = 36)]
    pub user_id: Option<String>,
    /// Only records of this competence (the whole name, without regard to case).
    #[param(max_length = 200)]
    pub competence: Option<String>,
    /// Only records that count today (`true`) or only those that do not (`false`).
    pub current: Option<bool>,
    /// Only records that expire on or before this date (so no longer count on it).
    pub expires_before: Option<NaiveDate>,
    /// `created_at` (the default), `completed_on` or `expires_on` (records that never
    /// expire come last in both directions); `-` for descending.
    pub sort: Option<TrainingRecordSort>,
}

const ID: &str = "The training record's id";

/// List training records.
#[utoipa::path(operation_id = "list_training_records", tag = "competence", security(("bearer" = ["viewer"])), params(PageQuery, TrainingRecordQuery), responses((status = 200, body = TrainingRecordList)))]
#[get("/training-records")]
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    page: Query<PageQuery>,
    query: Query<TrainingRecordQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let sort = q.sort.map(|s| s.as_str());
    let filter = TrainingRecordFilter {
        user_id: q.user_id,
        competence: q.competence,
        current: q.current,
        expires_before: q.expires_before,
    };
    TrainingRecordList::respond(&req, &page, sort, async move |request| {
        training_records::list(&state.db, &caller.0, filter.clone(), &request).await
    })
    .await
}

/// Record that a person completed a training or showed a competence (manager).
#[utoipa::path(operation_id = "create_training_record", tag = "competence", security(("bearer" = ["manager"])), request_body = TrainingRecordFields, responses((status = 201, body = TrainingRecord)))]
#[post("/training-records")]
pub async fn create(
    state: Data<AppState>,
    caller: Auth,
    body: JsonBody<TrainingRecordFields>,
) -> Result<HttpResponse, ApiError> {
    let record = training_records::create(&state.db, &caller.0, body.0).await?;
    Ok(created(
        format!("/api/v1/training-records/{}", record.id),
        &record,
        record.version,
    ))
}

/// Get a training record.
#[utoipa::path(operation_id = "get_training_record", tag = "competence", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 200, body = TrainingRecord)))]
#[get("/training-records/{id}")]
pub async fn get(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = training_records::get(&state.db, &caller.0, &id).await?;
    Ok(ok_versioned(&record, record.version))
}

/// Change a training record (manager) with a JSON merge patch.
#[utoipa::path(operation_id = "update_training_record", tag = "competence", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = TrainingRecordPatch, responses((status = 200, body = TrainingRecord)))]
#[patch("/training-records/{id}")]
pub async fn update(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<TrainingRecordPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let record = training_records::update(&state.db, &caller.0, &id, if_match.0, body.0).await?;
    Ok(ok_versioned(&record, record.version))
}

/// Delete a training record entered by mistake (manager); the audit trail keeps what it
/// held. A record that lapsed is kept: it shows the competence was held until then.
#[utoipa::path(operation_id = "delete_training_record", tag = "competence", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 204, description = "Deleted")))]
#[delete("/training-records/{id}")]
pub async fn remove(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    training_records::delete(&state.db, &caller.0, &id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompetenceGapQuery {
    /// Only the members of this SMS role.
    #[param(max_length = 36)]
    pub role_id: Option<String>,
    /// Only this person.
    #[param(max_length = 36)]
    pub user_id: Option<String>,
}

/// Competence gaps (clause 7.2): people holding an SMS role without a current training
/// record of each competence the role requires.
///
/// One row per person, role and required competence not met on the service's date, with
/// `status` `missing` (no record of it) or `expired` (only records that lapsed; `expired_on`
/// is the latest expiry). Competences are compared without regard to case; a record no
/// longer counts on its expiry date.
#[utoipa::path(operation_id = "competence_gaps_report", tag = "reports", security(("bearer" = ["viewer"])), params(CompetenceGapQuery), responses((status = 200, body = CompetenceGaps)))]
#[get("/reports/competence-gaps")]
pub async fn gaps(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    query: Query<CompetenceGapQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let report = training_records::gaps(
        &state.db,
        &caller.0,
        q.role_id.as_deref(),
        q.user_id.as_deref(),
    )
    .await?;
    Ok(csv::report(&req, &report, |r| r.gaps.clone()))
}
