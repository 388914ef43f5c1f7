use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::sms_role::SmsRoleInput;
use crate::http::extract::{Auth, IfMatch, JsonBody, created, ok_versioned};
use crate::http::pagination::PageQuery;
use crate::http::patch::{self, MergePatch};
use crate::http::problem::ApiError;
use crate::http::{AppState, csv};
use crate::list_response;
use crate::service::check_version;
use crate::service::sms_roles::{self, SmsRole, SmsRoleFilter};
use crate::text_enum;

list_response!(SmsRoleList, SmsRole);

/// The editable fields of an SMS role.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsRoleFields {
    #[schema(example = "Service owner", min_length = 1, max_length = 120)]
    pub name: String,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub responsibilities: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub authorities: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub required_competences: Vec<String>,
    /// Users who hold the role.
    #[serde(default)]
    #[schema(max_items = 200)]
    pub member_ids: Vec<String>,
}

impl From<SmsRoleFields> for SmsRoleInput {
    fn from(f: SmsRoleFields) -> Self {
        SmsRoleInput {
            name: f.name,
            description: f.description,
            responsibilities: f.responsibilities,
            authorities: f.authorities,
            required_competences: f.required_competences,
            member_ids: f.member_ids,
        }
    }
}

impl From<SmsRoleInput> for SmsRoleFields {
    fn from(i: SmsRoleInput) -> Self {
        SmsRoleFields {
            name: i.name,
            description: i.description,
            responsibilities: i.responsibilities,
            authorities: i.authorities,
            required_competences: i.required_competences,
            member_ids: i.member_ids,
        }
    }
}

/// A JSON merge patch of an SMS role: the fields to change; `null` clears an optional field.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Only type-checks a patch; the merge works on the raw document.
pub struct SmsRolePatch {
    #[schema(min_length = 1, max_length = 120)]
    #[serde(default)]
    name: String,
    #[schema(max_length = 2000)]
    description: Option<String>,
    #[schema(max_items = 50)]
    responsibilities: Option<Vec<String>>,
    #[schema(max_items = 50)]
    authorities: Option<Vec<String>>,
    #[schema(max_items = 50)]
    required_competences: Option<Vec<String>>,
    #[schema(max_items = 200)]
    member_ids: Option<Vec<String>>,
}

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
#[utoipa::path(operation_id = "list_roles", tag = "sms roles", params(PageQuery, SmsRoleQuery), responses((status = 200, body = SmsRoleList)))]
#[get("/roles")]
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    page: Query<PageQuery>,
    query: Query<SmsRoleQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let request = page.request(q.sort.map(|s| s.as_str()))?;
    let page = sms_roles::list(
        &state.db,
        &caller.0,
        SmsRoleFilter {
            q: q.q,
            member_id: q.member_id,
        },
        &request,
    )
    .await?;
    Ok(csv::list_response(&req, &SmsRoleList::from(page)))
}

/// Create an SMS role (manager).
#[utoipa::path(operation_id = "create_role", tag = "sms roles", request_body = SmsRoleFields, responses((status = 201, body = SmsRole)))]
#[post("/roles")]
pub async fn create(
    state: Data<AppState>,
    caller: Auth,
    body: JsonBody<SmsRoleFields>,
) -> Result<HttpResponse, ApiError> {
    let role = sms_roles::create(&state.db, &caller.0, body.0.into()).await?;
    Ok(created(
        format!("/api/v1/roles/{}", role.id),
        &role,
        role.version,
    ))
}

/// Get an SMS role.
#[utoipa::path(operation_id = "get_role", tag = "sms roles", params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 200, body = SmsRole)))]
#[get("/roles/{id}")]
pub async fn get(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let role = sms_roles::get(&state.db, &caller.0, &id).await?;
    Ok(ok_versioned(&role, role.version))
}

/// Change an SMS role (manager) with a JSON merge patch.
#[utoipa::path(operation_id = "update_role", tag = "sms roles", params(("id" = String, Path, description = ID, max_length = 36)), request_body = SmsRolePatch, responses((status = 200, body = SmsRole)))]
#[patch("/roles/{id}")]
pub async fn update(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: MergePatch<SmsRolePatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let current = sms_roles::get(&state.db, &caller.0, &id).await?;
    check_version(if_match.0, current.version)?;
    let fields = patch::apply(&SmsRoleFields::from(current.input()), body.0)?;
    let role = sms_roles::update(
        &state.db,
        &caller.0,
        &id,
        Some(current.version),
        fields.into(),
    )
    .await?;
    Ok(ok_versioned(&role, role.version))
}

/// Delete an SMS role no process refers to (manager).
#[utoipa::path(operation_id = "delete_role", tag = "sms roles", params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 204, description = "Deleted")))]
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
