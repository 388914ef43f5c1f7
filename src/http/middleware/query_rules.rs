//! Paths and query strings checked before any handler runs: no NUL character (PostgreSQL
//! cannot store one), and query parameters as documented.

use actix_web::Error;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Data;

use crate::http::problem::{ApiError, Code};
use crate::http::route_table::RouteTable;

const NO_NUL: &str = "must not contain the NUL character";

/// A NUL in the path is no id of anything: 404. In the query string it is a 422 naming the
/// parameter. Otherwise, parameters longer than documented or off their pattern are 422.
pub async fn query_rules(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if req.path().contains("%00") || req.path().contains('\0') {
        let error = ApiError::new(
            Code::NotFound,
            "no resource has a NUL character in its path",
        );
        return Ok(req.error_response(error));
    }
    if let Some(name) = nul_parameter(req.query_string()) {
        return Ok(req.error_response(ApiError::field(Code::ValidationFailed, name, NO_NUL)));
    }
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

/// The first query parameter whose name or value holds a NUL.
fn nul_parameter(query: &str) -> Option<String> {
    if !query.contains("%00") {
        return None;
    }
    let pairs: Vec<(String, String)> = match serde_urlencoded::from_str(query) {
        Ok(pairs) => pairs,
        // Not UTF-8 once decoded: no parameter can be named.
        Err(_) => return Some("query".into()),
    };
    pairs
        .into_iter()
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| name.replace('\0', "\\u0000"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_parameter_with_a_nul() {
        assert_eq!(nul_parameter("q=a&limit=5"), None);
        assert_eq!(nul_parameter("limit=5&q=%00x").as_deref(), Some("q"));
        assert_eq!(nul_parameter("a%00b=1").as_deref(), Some("a\\u0000b"));
        assert_eq!(nul_parameter("q=%00%FF").as_deref(), Some("q"));
        assert_eq!(nul_parameter("q=%2500"), None);
    }
}
