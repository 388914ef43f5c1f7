//! Cross-cutting request handling: request ids, metrics, problem documents for every error,
//! and idempotent POST retries.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use actix_web::{Error, HttpMessage, HttpResponse};
use sha2::{Digest, Sha256};
use tracing::Instrument;

use super::AppState;
use super::extract::{RequestId, bearer_token};
use super::problem::{ApiError, Code, PROBLEM_JSON, problem_response};
use super::route_table::RouteTable;
use crate::service::idempotency::{self, Reservation, StoredResponse};

pub const REQUEST_ID: &str = "x-request-id";

fn valid_request_id(value: &str) -> bool {
    !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic())
}

/// Takes `X-Request-Id` (or makes one), logs the request in a span carrying it, echoes it back.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid_request_id(v))
        .map(str::to_string)
        .unwrap_or_else(crate::service::new_id);
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.path());
    async move {
        let started = Instant::now();
        let mut res = next.call(req).await?.map_into_boxed_body();
        tracing::info!(
            status = res.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "served"
        );
        res.headers_mut().insert(
            HeaderName::from_static(REQUEST_ID),
            HeaderValue::from_str(&id).expect("validated id"),
        );
        Ok(res)
    }
    .instrument(span)
    .await
}

const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request counts and latency histograms by method, route and status, in this process.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut series = self.series.lock().expect("metrics lock");
        let s = series
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        s.count += 1;
        s.sum += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                s.buckets[i] += 1;
            }
        }
    }

    /// Prometheus text exposition format.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let series = self.series.lock().expect("metrics lock");
        let mut out = String::from(
            "# HELP http_requests_total HTTP requests served.\n# TYPE http_requests_total counter\n",
        );
        for ((method, route, status), s) in series.iter() {
            let _ = writeln!(
                out,
                "http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                s.count
            );
        }
        out.push_str("# HELP http_request_duration_seconds Time to serve a request.\n# TYPE http_request_duration_seconds histogram\n");
        for ((method, route, status), s) in series.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
    }
}

pub async fn metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    // Only standard methods become labels, so odd requests cannot grow the series without bound.
    let method = match req.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m.to_string(),
        _ => "OTHER".to_string(),
    };
    let metrics = req.app_data::<Data<Metrics>>().cloned();
    let res = next.call(req).await?.map_into_boxed_body();
    if let Some(metrics) = metrics {
        // The route pattern, not the path, so ids do not explode the label set.
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        metrics.observe(
            &method,
            &route,
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
}

/// Turns every error response into `application/problem+json` with the request path as `instance`.
pub async fn problems(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let path = req.path().to_string();
    let res = next.call(req).await?.map_into_boxed_body();
    if res.status().as_u16() < 400 {
        return Ok(res);
    }
    let api_error = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>());
    let mut replacement = match api_error {
        Some(e) => problem_response(e, &path),
        None if is_problem(&res) => return Ok(res),
        None => {
            let status = res.status();
            let code = Code::for_status(status);
            let detail = match res.response().error() {
                Some(e) if status.is_client_error() => e.to_string(),
                _ => code.describe().2.to_string(),
            };
            problem_response(&ApiError::new(code, detail), &path)
        }
    };
    if let Some(allow) = res.headers().get(header::ALLOW) {
        replacement
            .headers_mut()
            .insert(header::ALLOW, allow.clone());
    }
    Ok(res.into_response(replacement))
}

fn is_problem(res: &ServiceResponse<BoxBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON))
}

/// A GET whose `If-None-Match` holds the response's current `ETag` answers 304 without a body.
pub async fn not_modified(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let held = (req.method() == Method::GET)
        .then(|| <header::IfNoneMatch as header::Header>::parse(req.request()).ok())
        .flatten();
    let res = next.call(req).await?.map_into_boxed_body();
    let Some(held) = held.filter(|_| res.status() == StatusCode::OK) else {
        return Ok(res);
    };
    let current = res
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<header::EntityTag>().ok());
    let Some(current) = current else {
        return Ok(res);
    };
    let matches = match &held {
        header::IfNoneMatch::Any => true,
        header::IfNoneMatch::Items(tags) => tags.iter().any(|t| t.weak_eq(&current)),
    };
    if !matches {
        return Ok(res);
    }
    let not_modified = HttpResponse::NotModified()
        .insert_header(header::ETag(current))
        .finish();
    Ok(res.into_response(not_modified))
}

/// Refuses query parameters longer than documented or off their documented pattern.
pub async fn query_rules(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let table = req
        .app_data::<Data<RouteTable>>()
        .cloned()
        .expect("RouteTable is registered");
    if let Some((field, message)) =
        table.check_query(req.method().as_str(), req.path(), req.query_string())
    {
        return Ok(req.error_response(ApiError::field(Code::ValidationFailed, field, message)));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

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
