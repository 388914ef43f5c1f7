use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, get, post};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::AppState;
use crate::http::extract::{Auth, JsonBody, client_addr};
use crate::http::problem::{ApiError, Code};
use crate::service::auth::{self, TokenPair};
use crate::service::users::{self, User};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "admin@example.com", max_length = 254)]
    pub email: String,
    #[schema(max_length = 128)]
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(max_length = 128)]
    pub refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyExchange {
    #[schema(max_length = 128)]
    pub api_key: String,
}

/// Log in with email and password.
///
/// Too many failures for an account or a client address answer 429 with `Retry-After`.
#[utoipa::path(operation_id = "login", tag = "auth", security(()), request_body = LoginRequest, responses((status = 200, body = TokenPair)))]
#[post("/auth/login")]
pub async fn login(
    state: Data<AppState>,
    req: HttpRequest,
    body: JsonBody<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    within("email", &b.email, 254)?;
    within("password", &b.password, 128)?;
    let pair = auth::login(
        &state.db,
        &state.auth,
        &b.email,
        &b.password,
        &client_addr(&req),
    )
    .await?;
    Ok(tokens(pair))
}

/// Exchange a refresh token for a new token pair (the old refresh token is spent).
#[utoipa::path(operation_id = "refresh_token", tag = "auth", security(()), request_body = RefreshRequest, responses((status = 200, body = TokenPair)))]
#[post("/auth/refresh")]
pub async fn refresh(
    state: Data<AppState>,
    body: JsonBody<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    within("refresh_token", &body.0.refresh_token, 128)?;
    let pair = auth::refresh(&state.db, &state.auth, &body.0.refresh_token).await?;
    Ok(tokens(pair))
}

/// Log out: revoke the session the refresh token belongs to.
#[utoipa::path(operation_id = "logout", tag = "auth", request_body = RefreshRequest, responses((status = 204, description = "Logged out")))]
#[post("/auth/logout")]
pub async fn logout(
    state: Data<AppState>,
    caller: Auth,
    body: JsonBody<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    within("refresh_token", &body.0.refresh_token, 128)?;
    auth::logout(
        &state.db,
        &state.auth,
        caller.0.user_id(),
        &body.0.refresh_token,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Exchange a service account's API key for an access token.
#[utoipa::path(operation_id = "exchange_api_key", tag = "auth", security(()), request_body = ApiKeyExchange, responses((status = 200, body = TokenPair)))]
#[post("/auth/token")]
pub async fn token(
    state: Data<AppState>,
    body: JsonBody<ApiKeyExchange>,
) -> Result<HttpResponse, ApiError> {
    within("api_key", &body.0.api_key, 128)?;
    let pair = auth::exchange_api_key(&state.db, &state.auth, &body.0.api_key).await?;
    Ok(tokens(pair))
}

/// The calling user.
#[utoipa::path(operation_id = "get_me", tag = "auth", responses((status = 200, body = User)))]
#[get("/auth/me")]
pub async fn me(state: Data<AppState>, caller: Auth) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(users::me(&state.db, &caller.0).await?))
}

/// A token response: never stored by a browser or a proxy (RFC 6749 §5.1).
fn tokens(pair: TokenPair) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(pair)
}

/// Credentials longer than their documented limit are refused before any lookup.
fn within(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::field(
            Code::ValidationFailed,
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}
