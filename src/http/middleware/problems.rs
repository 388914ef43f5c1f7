//! Every error response becomes an `application/problem+json` document.

use actix_web::Error;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;

use crate::http::problem::{ApiError, Code, PROBLEM_JSON, problem_response};

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
