//! Conditional GET: `If-None-Match` holding the current `ETag` answers 304.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};

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
