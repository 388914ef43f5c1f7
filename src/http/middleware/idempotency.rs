//! Idempotent POST retries keyed by `Idempotency-Key`.

use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use actix_web::{Error, HttpResponse};
use sha2::{Digest, Sha256};

use crate::http::AppState;
use crate::http::extract::bearer_token;
use crate::http::problem::{ApiError, Code};
use crate::service::idempotency::{self, Reservation, StoredResponse};

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Responses that carry secrets (tokens, a new API key) are never stored for replay: a
/// retry of those runs again.
pub fn is_replayable(path: &str) -> bool {
    !path.starts_with("/api/v1/auth/") && !path.ends_with("/api-keys")
}

fn valid_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// Idempotent POSTs: the first response to a user's `Idempotency-Key` is stored and replayed
/// for a retry with the same request within 24 hours; the same key with another request is 422.
pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let key = match req.headers().get(IDEMPOTENCY_KEY) {
        Some(value) if req.method() == Method::POST && is_replayable(req.path()) => {
            value.to_str().unwrap_or_default().to_string()
        }
        _ => return Ok(next.call(req).await?.map_into_boxed_body()),
    };
    if !valid_key(&key) {
        let error = ApiError::field(
            Code::BadRequest,
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        );
        return Ok(req.error_response(error));
    }
    let state = req
        .app_data::<Data<AppState>>()
        .cloned()
        .expect("AppState is registered");
    let user = bearer_token(req.request()).and_then(|t| state.auth.verify_access_token(t).ok());
    let Some(user) = user else {
        // Unauthenticated requests are refused by their handler; nothing to remember.
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let body = match req.extract::<Bytes>().await {
        Ok(body) => body,
        Err(e) => return Ok(req.error_response(e)),
    };
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update(req.uri().to_string());
    hasher.update(&body);
    let request_hash = hex::encode(hasher.finalize());
    req.set_payload(body.into());
    let db = &state.db;
    let refusal =
        match idempotency::reserve(db, &user.user_id, &key, &request_hash, state.clock.now()).await
        {
            Ok(Reservation::New) => None,
            Ok(Reservation::Replay(stored)) => return Ok(req.into_response(replay(stored))),
            Ok(Reservation::InProgress) => Some(ApiError::new(
                Code::IdempotencyInProgress,
                "a request with this Idempotency-Key is still running",
            )),
            Ok(Reservation::Mismatch) => Some(ApiError::new(
                Code::IdempotencyKeyReused,
                "this Idempotency-Key was used with a different request",
            )),
            Err(e) => Some(ApiError::from(e)),
        };
    if let Some(error) = refusal {
        return Ok(req.error_response(error));
    }
    let res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        Err(e) => {
            idempotency::release(db, &user.user_id, &key)
                .await
                .map_err(ApiError::from)?;
            return Err(e);
        }
    };
    if res.status().is_server_error() {
        idempotency::release(db, &user.user_id, &key)
            .await
            .map_err(ApiError::from)?;
        return Ok(res);
    }
    let (http_req, response) = res.into_parts();
    let status = response.status();
    let mut kept = serde_json::Map::new();
    for name in [header::CONTENT_TYPE, header::LOCATION, header::ETAG] {
        if let Some(v) = response.headers().get(&name).and_then(|v| v.to_str().ok()) {
            kept.insert(name.to_string(), v.into());
        }
    }
    let (response, body) = response.into_parts();
    let bytes = to_bytes(body)
        .await
        .map_err(|_| ApiError::new(Code::InternalError, "could not read the response"))?;
    let stored = StoredResponse {
        status: status.as_u16(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        headers: serde_json::Value::Object(kept).to_string(),
    };
    idempotency::complete(db, &user.user_id, &key, stored)
        .await
        .map_err(ApiError::from)?;
    Ok(ServiceResponse::new(
        http_req,
        response.set_body(BoxBody::new(bytes)),
    ))
}

fn replay(stored: StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    if let Ok(serde_json::Value::Object(headers)) = serde_json::from_str(&stored.headers) {
        for (name, value) in headers {
            if let (Ok(n), Some(v)) = (HeaderName::try_from(name.as_str()), value.as_str()) {
                response.insert_header((n, v.to_string()));
            }
        }
    }
    response.insert_header(("idempotent-replayed", "true"));
    response.body(stored.body)
}
