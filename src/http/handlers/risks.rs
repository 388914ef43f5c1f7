use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::audit_trail::AuditEntryList;
use crate::domain::risk::{
    RiskAction, RiskFields, RiskKind, RiskLevel, RiskPatch, RiskState, StepInput,
};
use crate::http::AppState;
use crate::http::extract::{Auth, IfMatch, JsonBody, created, ok_versioned};
use crate::http::pagination::PageQuery;
use crate::http::problem::ApiError;
use crate::list_response;
use crate::persistence::risks::RiskFilter;
use crate::service::risks::{self, Risk};
use crate::text_enum;

list_response!(RiskList, Risk);

/// A workflow step, with the fields it needs (stored by the same change).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskTransition {
    /// `treat` (needs `treatment` and `owner_role_id`, here or already recorded), `accept`
    /// (`acceptance_rationale`), `close`.
    pub action: RiskAction,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub treatment: Option<String>,
    /// The SMS role that owns the treatment.
    #[serde(default)]
    #[schema(format = Uuid, max_length = 36)]
    pub owner_role_id: Option<String>,
    /// Why the risk is accepted as it is.
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub acceptance_rationale: Option<String>,
}

impl RiskTransition {
    fn into_step(self) -> (RiskAction, StepInput) {
        let input = StepInput {
            treatment: self.treatment,
            owner_role_id: self.owner_role_id,
            acceptance_rationale: self.acceptance_rationale,
        };
        (self.action, input)
    }
}

text_enum! {
    pub enum RiskSort {
        CreatedAt => "created_at", CreatedAtDesc => "-created_at",
        Score => "score", ScoreDesc => "-score",
        ReviewDue => "review_due", ReviewDueDesc => "-review_due",
        Title => "title", TitleDesc => "-title",
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RiskQuery {
    pub state: Option<RiskState>,
    pub kind: Option<RiskKind>,
    /// Only this level: `low` (score 1–6), `medium` (8–12), `high` (15–25).
    pub level: Option<RiskLevel>,
    /// Only scores of at least this.
    #[param(minimum = 1, maximum = 25)]
    pub min_score: Option<i32>,
    #[param(max_length = 36)]
    pub owner_role_id: Option<String>,
    #[param(max_length = 36)]
    pub process_id: Option<String>,
    /// Only those whose treatment this corrective action carries out.
    #[param(max_length = 36)]
    pub corrective_action_id: Option<String>,
    /// Only those whose treatment this improvement carries out.
    #[param(max_length = 36)]
    pub improvement_id: Option<String>,
    /// Text in the title, the description or the treatment.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// `-score` puts the highest scores first; empty review dates come last in both
    /// directions; ties are broken by id.
    pub sort: Option<RiskSort>,
}

const ID: &str = "The risk's id";

/// List risks and opportunities.
#[utoipa::path(operation_id = "list_risks", tag = "risks", security(("bearer" = ["viewer"])), params(PageQuery, RiskQuery), responses((status = 200, body = RiskList)))]
#[get("/risks")]
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    page: Query<PageQuery>,
    query: Query<RiskQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = RiskFilter {
        state: q.state,
        kind: q.kind,
        level: q.level,
        min_score: q.min_score,
        owner_role_id: q.owner_role_id,
        process_id: q.process_id,
        corrective_action_id: q.corrective_action_id,
        improvement_id: q.improvement_id,
        q: q.q,
    };
    let sort = q.sort.map(|s| s.as_str());
    RiskList::respond(&req, &page, sort, async move |request| {
        risks::list(&state.db, &caller.0, filter.clone(), &request).await
    })
    .await
}

/// Record a risk or opportunity (manager); it starts in `identified`. `likelihood` and
/// `impact` are rated 1 to 5; `score` is their product and `level` its band.
#[utoipa::path(operation_id = "create_risk", tag = "risks", security(("bearer" = ["manager"])), request_body = RiskFields, responses((status = 201, body = Risk)))]
#[post("/risks")]
pub async fn create(
    state: Data<AppState>,
    caller: Auth,
    body: JsonBody<RiskFields>,
) -> Result<HttpResponse, ApiError> {
    let risk = risks::create(&state.db, &caller.0, body.0).await?;
    Ok(created(
        format!("/api/v1/risks/{}", risk.id),
        &risk,
        risk.version,
    ))
}

/// Get a risk or opportunity.
#[utoipa::path(operation_id = "get_risk", tag = "risks", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 200, body = Risk)))]
#[get("/risks/{id}")]
pub async fn get(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let risk = risks::get(&state.db, &caller.0, &id).await?;
    Ok(ok_versioned(&risk, risk.version))
}

/// Change a risk (manager) with a JSON merge patch. Closed risks cannot change; one being
/// treated keeps its treatment and owner role, an accepted one its rationale.
#[utoipa::path(operation_id = "update_risk", tag = "risks", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = RiskPatch, responses((status = 200, body = Risk)))]
#[patch("/risks/{id}")]
pub async fn update(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<RiskPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let risk = risks::update(&state.db, &caller.0, &id, if_match.0, body.0).await?;
    Ok(ok_versioned(&risk, risk.version))
}

/// Delete an identified risk (manager); later ones are closed instead.
#[utoipa::path(operation_id = "delete_risk", tag = "risks", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 204, description = "Deleted")))]
#[delete("/risks/{id}")]
pub async fn remove(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    risks::delete(&state.db, &caller.0, &id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Move a risk through clause 6.1 (manager): `treat` (identified or accepted → treating),
/// `accept` (identified or treating → accepted: accepting an identified risk directly is
/// allowed, for a risk within what the organization accepts), `close` (any open state →
/// closed). `treat` clears an earlier `acceptance_rationale`.
#[utoipa::path(operation_id = "transition_risk", tag = "risks", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = RiskTransition, responses((status = 200, body = Risk)))]
#[post("/risks/{id}/transitions")]
pub async fn transition(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<RiskTransition>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (action, input) = body.0.into_step();
    let changed = risks::transition(&state.db, &caller.0, &id, if_match.0, action, input).await?;
    Ok(ok_versioned(&changed, changed.version))
}

/// The audit-trail rows of a risk, oldest first: who took each step, when, with what,
/// under which request id.
#[utoipa::path(operation_id = "risk_history", tag = "risks", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36), PageQuery), responses((status = 200, body = AuditEntryList)))]
#[get("/risks/{id}/history")]
pub async fn history(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    page: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let request = page.request(None)?;
    let page = risks::history(&state.db, &caller.0, &id, &request).await?;
    Ok(HttpResponse::Ok().json(AuditEntryList::from(page)))
}
