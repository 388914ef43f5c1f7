//! Query strings checked against the documented parameters before any handler runs.

use actix_web::Error;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Data;

use crate::http::problem::{ApiError, Code};
use crate::http::route_table::RouteTable;

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
