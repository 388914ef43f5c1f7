//! Idempotent POST retries keyed by `Idempotency-Key`.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use actix_web::{Error, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use crate::http::AppState;
use crate::http::extract::bearer_token;
use crate::http::import_body::{IMPORTS, ImportLimit, read_body};
use crate::http::problem::{ApiError, Code};
use crate::service::idempotency::{self, Reservation, StoredResponse};

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Responses that carry secrets (tokens, a new API key, a webhook's signing secret) are never stored for replay: a
/// retry of those runs again.
pub fn is_replayable(path: &str) -> bool {
    !path.starts_with("/api/v1/auth/")
        && !path.ends_with("/api-keys")
        && path != "/api/v1/webhooks"
        && !path.ends_with("/rotate-secret")
}

/// The body limit of an import request (`limits.max_import_bytes`), None for the others.
fn import_limit(req: &ServiceRequest) -> Option<usize> {
    let limit = req.app_data::<Data<ImportLimit>>()?;
    req.path().starts_with(IMPORTS).then_some(limit.0)
}

fn valid_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// At most this many unstored responses are held; past it the oldest is forgotten.
const MAX_UNSTORED: usize = 1024;

/// The lease of reservations, and the responses of writes that committed while their
/// response could not be stored (the database refused the second write): those are held
/// here so that a retry reaching this process replays them, and stores them then.
pub struct Idempotency {
    lease: Duration,
    unstored: Mutex<HashMap<(String, String), Unstored>>,
}

struct Unstored {
    request_hash: String,
    response: StoredResponse,
    at: DateTime<Utc>,
}

impl Idempotency {
    pub fn new(lease: Duration) -> Self {
        Idempotency {
            lease,
            unstored: Mutex::default(),
        }
    }

    fn hold(&self, id: (String, String), request_hash: String, response: StoredResponse) {
        let mut unstored = self.unstored.lock().expect("idempotency lock");
        if unstored.len() >= MAX_UNSTORED
            && let Some(oldest) = unstored
                .iter()
                .min_by_key(|(_, u)| u.at)
                .map(|(k, _)| k.clone())
        {
            unstored.remove(&oldest);
        }
        let at = Utc::now();
        unstored.insert(
            id,
            Unstored {
                request_hash,
                response,
                at,
            },
        );
    }

    fn take(&self, id: &(String, String), request_hash: &str) -> Option<StoredResponse> {
        let mut unstored = self.unstored.lock().expect("idempotency lock");
        match unstored.get(id) {
            Some(u) if u.request_hash == request_hash => unstored.remove(id).map(|u| u.response),
            _ => None,
        }
    }
}

/// Headers that describe the connection or the message framing, not the response.
fn replayed(name: &HeaderName) -> bool {
    ![
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
        header::DATE,
    ]
    .contains(name)
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
    let store = req
        .app_data::<Data<Idempotency>>()
        .cloned()
        .expect("Idempotency is registered");
    let user = bearer_token(req.request()).and_then(|t| state.auth.verify_access_token(t).ok());
    let Some(user) = user else {
        // Unauthenticated requests are refused by their handler; nothing to remember.
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let body = match import_limit(&req) {
        // An import has its own, larger limit.
        Some(limit) => {
            let (http, payload) = req.parts_mut();
            match read_body(http, payload, limit).await {
                Ok(body) => body,
                Err(e) => return Ok(req.error_response(e)),
            }
        }
        None => match req.extract::<Bytes>().await {
            Ok(body) => body,
            Err(e) => return Ok(req.error_response(e)),
        },
    };
    let request_hash =
        idempotency::fingerprint(req.method().as_str(), &req.uri().to_string(), &body);
    req.set_payload(body.into());
    let db = &state.db;
    let id = (user.user_id.clone(), key.clone());
    if let Some(stored) = store.take(&id, &request_hash) {
        // The write committed, but its response could not be stored then: store it now.
        if let Err(e) = idempotency::complete(db, &id.0, &id.1, &stored).await {
            tracing::warn!(error = %e, "the response is still not stored for replay");
            store.hold(id, request_hash, stored.clone());
        }
        return Ok(req.into_response(replay(stored)));
    }
    let reservation = idempotency::reserve(
        db,
        &id.0,
        &id.1,
        &request_hash,
        state.clock.now(),
        store.lease,
    )
    .await;
    let refusal = match reservation {
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
            idempotency::release(db, &id.0, &id.1)
                .await
                .map_err(ApiError::from)?;
            return Err(e);
        }
    };
    if res.status().is_server_error() {
        idempotency::release(db, &id.0, &id.1)
            .await
            .map_err(ApiError::from)?;
        return Ok(res);
    }
    let (http_req, response) = res.into_parts();
    let status = response.status();
    let mut kept = Map::new();
    for (name, value) in response.headers().iter().filter(|(n, _)| replayed(n)) {
        let Ok(value) = value.to_str() else { continue };
        match kept.get_mut(name.as_str()) {
            Some(Value::Array(values)) => values.push(value.into()),
            Some(first) => *first = Value::Array(vec![first.take(), value.into()]),
            None => {
                kept.insert(name.to_string(), value.into());
            }
        }
    }
    let (response, body) = response.into_parts();
    let bytes = to_bytes(body)
        .await
        .map_err(|_| ApiError::new(Code::InternalError, "could not read the response"))?;
    let stored = StoredResponse {
        status: status.as_u16(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        headers: Value::Object(kept).to_string(),
    };
    // The request's own work is done (and committed): its response goes out whatever
    // happens to the bookkeeping.
    if let Err(e) = idempotency::complete(db, &id.0, &id.1, &stored).await {
        tracing::warn!(error = %e, "the response could not be stored for replay; held in memory");
        store.hold(id, request_hash, stored);
    }
    Ok(ServiceResponse::new(
        http_req,
        response.set_body(BoxBody::new(bytes)),
    ))
}

fn replay(stored: StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    if let Ok(Value::Object(headers)) = serde_json::from_str(&stored.headers) {
        for (name, value) in headers {
            let Ok(name) = HeaderName::try_from(name.as_str()) else {
                continue;
            };
            let values = match value {
                Value::Array(values) => values,
                value => vec![value],
            };
            for value in values.iter().filter_map(Value::as_str) {
                response.append_header((name.clone(), value.to_string()));
            }
        }
    }
    response.insert_header(("idempotent-replayed", "true"));
    response.body(stored.body)
}
