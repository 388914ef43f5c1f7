use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::access::AccessRole;
use crate::domain::user::{NewUser, UserKind, UserPatch};
use crate::http::AppState;
use crate::http::extract::{Auth, IfMatch, JsonBody, created, ok_versioned};
use crate::http::pagination::PageQuery;
use crate::http::problem::ApiError;
use crate::list_response;
use crate::persistence::users::UserFilter;
use crate::service::users::{self, ApiKey, NewApiKey, User};
use crate::text_enum;

list_response!(UserList, User);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    #[schema(example = "ann@example.com", max_length = 254)]
    pub email: String,
    #[schema(example = "Ann Example", min_length = 1, max_length = 120)]
    pub display_name: String,
    /// `person` (default) logs in with a password; `service` uses API keys.
    #[serde(default = "person")]
    pub kind: UserKind,
    #[serde(default)]
    #[schema(max_items = 5)]
    pub roles: Vec<AccessRole>,
    /// Required for a person, 12 to 128 characters; not allowed for a service account.
    #[schema(min_length = 12, max_length = 128)]
    pub password: Option<String>,
}

fn person() -> UserKind {
    UserKind::Person
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordSet {
    #[schema(min_length = 12, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCreate {
    #[schema(example = "nightly import", min_length = 1, max_length = 120)]
    pub name: String,
    /// When the key stops working; never when absent.
    pub expires_at: Option<DateTime<Utc>>,
}

text_enum! {
    pub enum UserSort { Email => "email", EmailDesc => "-email", CreatedAt => "created_at", CreatedAtDesc => "-created_at" }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Text in the email or display name.
    #[param(max_length = 200)]
    pub q: Option<String>,
    pub kind: Option<UserKind>,
    pub active: Option<bool>,
    /// Only users holding this access role.
    pub role: Option<AccessRole>,
    pub sort: Option<UserSort>,
}

const ID: &str = "The user's id";

/// List users.
#[utoipa::path(operation_id = "list_users", tag = "users", security(("bearer" = ["admin"])), params(PageQuery, UserQuery), responses((status = 200, body = UserList)))]
#[get("/users")]
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    page: Query<PageQuery>,
    query: Query<UserQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = UserFilter {
        q: q.q,
        kind: q.kind,
        active: q.active,
        role: q.role,
    };
    let sort = q.sort.map(|s| s.as_str());
    UserList::respond(&req, &page, sort, async move |request| {
        users::list(&state.db, &caller.0, filter.clone(), &request).await
    })
    .await
}

/// Create a user or service account.
#[utoipa::path(operation_id = "create_user", tag = "users", security(("bearer" = ["admin"])), request_body = UserCreate, responses((status = 201, body = User)))]
#[post("/users")]
pub async fn create(
    state: Data<AppState>,
    caller: Auth,
    body: JsonBody<UserCreate>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let input = NewUser {
        email: b.email,
        display_name: b.display_name,
        kind: b.kind,
        roles: b.roles,
        password: b.password,
    };
    let user = users::create(&state.db, &caller.0, input).await?;
    Ok(created(
        format!("/api/v1/users/{}", user.id),
        &user,
        user.version,
    ))
}

/// Get a user.
#[utoipa::path(operation_id = "get_user", tag = "users", security(("bearer" = ["admin"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 200, body = User)))]
#[get("/users/{id}")]
pub async fn get(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = users::get(&state.db, &caller.0, &id).await?;
    Ok(ok_versioned(&user, user.version))
}

/// Change a user's name, access roles or active flag with a JSON merge patch.
#[utoipa::path(operation_id = "update_user", tag = "users", security(("bearer" = ["admin"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = UserPatch, responses((status = 200, body = User)))]
#[patch("/users/{id}")]
pub async fn update(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<UserPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let user = users::update(&state.db, &caller.0, &id, if_match.0, body.0).await?;
    Ok(ok_versioned(&user, user.version))
}

/// Set a person's password; their sessions end.
#[utoipa::path(operation_id = "set_user_password", tag = "users", security(("bearer" = ["admin"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = PasswordSet, responses((status = 204, description = "Password set")))]
#[post("/users/{id}/password")]
pub async fn set_password(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<PasswordSet>,
) -> Result<HttpResponse, ApiError> {
    users::set_password(&state.db, &caller.0, &id, body.0.password).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    #[schema(max_items = 1000)]
    pub items: Vec<ApiKey>,
}

/// List a service account's API keys. The secrets are never shown again.
#[utoipa::path(operation_id = "list_api_keys", tag = "users", security(("bearer" = ["admin"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 200, body = ApiKeyList)))]
#[get("/users/{id}/api-keys")]
pub async fn list_api_keys(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let items = users::list_api_keys(&state.db, &caller.0, &id).await?;
    Ok(HttpResponse::Ok().json(ApiKeyList { items }))
}

/// Create an API key for a service account. The response shows the key once.
#[utoipa::path(operation_id = "create_api_key", tag = "users", security(("bearer" = ["admin"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = ApiKeyCreate, responses((status = 201, body = NewApiKey)))]
#[post("/users/{id}/api-keys")]
pub async fn create_api_key(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<ApiKeyCreate>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let key = users::create_api_key(&state.db, &caller.0, &id, &b.name, b.expires_at).await?;
    let location = format!("/api/v1/users/{}/api-keys/{}", id, key.api_key.id);
    Ok(HttpResponse::Created()
        .insert_header(("Location", location))
        .json(key))
}

/// Revoke an API key.
#[utoipa::path(operation_id = "revoke_api_key", tag = "users", security(("bearer" = ["admin"])), params(("id" = String, Path, description = ID, max_length = 36), ("key_id" = String, Path, description = "The API key's id", max_length = 36)), responses((status = 204, description = "Revoked")))]
#[delete("/users/{id}/api-keys/{key_id}")]
pub async fn revoke_api_key(
    state: Data<AppState>,
    caller: Auth,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, key_id) = path.into_inner();
    users::revoke_api_key(&state.db, &caller.0, &id, &key_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
