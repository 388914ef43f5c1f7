//! Wakes the change feed's long polls and the delivery worker once a write has answered:
//! by then its transaction committed, with the events it caused.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::Data;

use crate::http::AppState;

pub async fn signal_events(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let state = req.app_data::<Data<AppState>>().cloned();
    let res = next.call(req).await?;
    if writes
        && res.status().is_success()
        && let Some(state) = state
    {
        state.events.notify();
    }
    Ok(res)
}
