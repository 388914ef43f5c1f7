//! `X-Request-Id`: taken from the request or made, logged with the request, echoed back.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Instrument;

use crate::http::extract::RequestId;

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
