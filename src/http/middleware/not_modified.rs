//! Conditional GET: `If-None-Match` holding the current `ETag` answers 304.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};
use regex_lite::Regex;

use crate::http::problem::{ApiError, Code};

/// What `If-None-Match` may hold (RFC 9110 entity tags, or `*`), as documented.
pub const IF_NONE_MATCH_PATTERN: &str = r#"^(\*|(W/)?"[!#-~]*"(\s*,\s*(W/)?"[!#-~]*")*)$"#;
pub const IF_NONE_MATCH_MAX_LENGTH: usize = 255;

/// A malformed `If-None-Match` is refused like a malformed `If-Match`: 400 naming it.
fn malformed(req: &ServiceRequest) -> bool {
    static PATTERN: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let pattern = PATTERN.get_or_init(|| Regex::new(IF_NONE_MATCH_PATTERN).expect("valid pattern"));
    req.headers().get_all(header::IF_NONE_MATCH).any(|value| {
        value.to_str().map_or(true, |v| {
            v.is_empty() || v.len() > IF_NONE_MATCH_MAX_LENGTH || !pattern.is_match(v)
        })
    })
}

/// A GET whose `If-None-Match` holds the response's current `ETag` answers 304 without a body.
pub async fn not_modified(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let is_get = req.method() == Method::GET;
    let malformed = is_get && malformed(&req);
    let held = is_get
        .then(|| <header::IfNoneMatch as header::Header>::parse(req.request()).ok())
        .flatten();
    let res = next.call(req).await?.map_into_boxed_body();
    // Judged once the request has passed authentication and found its resource, so a
    // missing token is still a 401 and a missing resource a 404.
    if malformed && res.status() == StatusCode::OK {
        let error = ApiError::field(
            Code::BadRequest,
            "If-None-Match",
            "must be `*` or a list of ETags such as \"3\"",
        );
        let (req, _) = res.into_parts();
        return Ok(ServiceResponse::new(
            req,
            actix_web::ResponseError::error_response(&error),
        ));
    }
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
