use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::sms_role::{SmsRoleFields, SmsRolePatch};
use crate::http::AppState;
use crate::http::extract::{Auth, IfMatch, JsonBody, created, ok_versioned};
use crate::http::pagination::PageQuery;
use crate::http::problem::ApiError;
use crate::list_response;
use crate::persistence::sms_roles::SmsRoleFilter;
use crate::service::sms_roles::{self, SmsRole};
use crate::text_enum;

list_response!(SmsRoleList, SmsRole);

text_enum! {
    pub enum SmsRoleSort { Name => "name", NameDesc => "-name", CreatedAt => "created_at", CreatedAtDesc => "-created_at" }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SmsRoleQuery {
    /// Text in the name or description.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Only roles this user holds.
    #[param(max_length = 36)]
    pub member_id: Option<String>,
    pub sort: Option<SmsRoleSort>,
}

const ID: &str = "The SMS role's id";

/// List SMS roles.
#[utoipa::path(operation_id = "list_roles", tag = "sms roles", security(("bearer" = ["viewer"])), params(PageQuery, SmsRoleQuery), responses((status = 200, body = SmsRoleList)))]
#[get("/roles")]
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    page: Query<PageQuery>,
    query: Query<SmsRoleQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = SmsRoleFilter {
        q: q.q,
        member_id: q.member_id,
    };
    let sort = q.sort.map(|s| s.as_str());
    SmsRoleList::respond(&req, &page, sort, async move |request| {
        sms_roles::list(&state.db, &caller.0, filter.clone(), &request).await
    })
    .await
}

/// Create an SMS role.
#[utoipa::path(operation_id = "create_role", tag = "sms roles", security(("bearer" = ["manager"])), request_body = SmsRoleFields, responses((status = 201, body = SmsRole)))]
#[post("/roles")]
pub async fn create(
    state: Data<AppState>,
    caller: Auth,
    body: JsonBody<SmsRoleFields>,
) -> Result<HttpResponse, ApiError> {
    let role = sms_roles::create(&state.db, &caller.0, body.0).await?;
    Ok(created(
        format!("/api/v1/roles/{}", role.id),
        &role,
        role.version,
    ))
}

/// Get an SMS role.
#[utoipa::path(operation_id = "get_role", tag = "sms roles", security(("bearer" = ["viewer"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 200, body = SmsRole)))]
#[get("/roles/{id}")]
pub async fn get(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let role = sms_roles::get(&state.db, &caller.0, &id).await?;
    Ok(ok_versioned(&role, role.version))
}

/// Change an SMS role with a JSON merge patch.
#[utoipa::path(operation_id = "update_role", tag = "sms roles", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = SmsRolePatch, responses((status = 200, body = SmsRole)))]
#[patch("/roles/{id}")]
pub async fn update(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<SmsRolePatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let role = sms_roles::update(&state.db, &caller.0, &id, if_match.0, body.0).await?;
    Ok(ok_versioned(&role, role.version))
}

/// Delete an SMS role no process refers to.
#[utoipa::path(operation_id = "delete_role", tag = "sms roles", security(("bearer" = ["manager"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 204, description = "Deleted")))]
#[delete("/roles/{id}")]
pub async fn remove(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    sms_roles::delete(&state.db, &caller.0, &id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
