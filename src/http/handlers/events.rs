use std::time::Duration;

use actix_web::web::{Data, Query};
use actix_web::{HttpResponse, get};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::http::AppState;
use crate::http::extract::Auth;
use crate::http::problem::{ApiError, Code};
use crate::persistence::page::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::service::events::{self, EventPage, Wait};

/// The longest wait a request may ask for; `events.max_wait_secs` may shorten it.
const WAIT_MAX: i64 = 300;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The cursor: events with a greater `seq` are returned (0, the default, from the
    /// first). Pass the previous page's `next_after`.
    #[param(minimum = 0, default = 0)]
    pub after: Option<i64>,
    /// Page size, 1 to 200; 50 when absent.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<i64>,
    /// Seconds to wait for an event when there is none after the cursor (a long poll): the
    /// answer comes as soon as one is committed, or empty when the time is up. At most 300,
    /// and at most the service's `events.max_wait_secs` (30 by default); 0, the default,
    /// answers at once.
    #[param(minimum = 0, maximum = 300, default = 0)]
    pub wait: Option<i64>,
}

fn out_of_range(field: &str, message: &str) -> ApiError {
    ApiError::field(Code::ValidationFailed, field, message)
}

/// The change feed: domain events, oldest first, after a cursor.
///
/// The same events the webhooks deliver, numbered by `seq` in the order their changes
/// committed, so a client that keeps `next_after` sees every event once. With `wait`, an
/// empty answer waits for the next event (a long poll).
#[utoipa::path(operation_id = "list_events", tag = "events", security(("bearer" = ["admin", "auditor"])), params(FeedQuery), responses((status = 200, body = EventPage)))]
#[get("/events")]
pub async fn feed(
    state: Data<AppState>,
    caller: Auth,
    query: Query<FeedQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let after = q.after.unwrap_or(0);
    if after < 0 {
        return Err(out_of_range("after", "must be 0 or more"));
    }
    let limit = match q.limit {
        None => DEFAULT_LIMIT,
        Some(l) if (1..=MAX_LIMIT as i64).contains(&l) => l as u64,
        Some(_) => return Err(out_of_range("limit", "must be between 1 and 200")),
    };
    let wait = match q.wait.unwrap_or(0) {
        w @ 0..=WAIT_MAX => (w as u64).min(state.feed_wait.max_wait_secs),
        _ => return Err(out_of_range("wait", "must be between 0 and 300")),
    };
    let page = events::feed(
        &state.db,
        &caller.0,
        &state.events,
        after,
        limit,
        Wait {
            at_most: Duration::from_secs(wait),
            recheck: Duration::from_millis(state.feed_wait.recheck_ms),
        },
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(page))
}
