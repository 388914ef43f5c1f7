use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::webhook::{
    DeliveryStatus, SubscribedEventType, SubscriptionFields, SubscriptionPatch, SubscriptionStatus,
};
use crate::http::AppState;
use crate::http::extract::{Auth, IfMatch, JsonBody, created, ok_versioned};
use crate::http::pagination::PageQuery;
use crate::http::problem::ApiError;
use crate::list_response;
use crate::persistence::webhooks::SubscriptionFilter;
use crate::service::webhooks::{
    self, WebhookDelivery, WebhookSubscription, WebhookSubscriptionWithSecret,
};
use crate::text_enum;

list_response!(WebhookSubscriptionList, WebhookSubscription);
list_response!(WebhookDeliveryList, WebhookDelivery);

text_enum! {
    pub enum WebhookSort {
        CreatedAt => "created_at", CreatedAtDesc => "-created_at",
        Url => "url", UrlDesc => "-url",
    }
}

text_enum! {
    pub enum WebhookDeliverySort {
        CreatedAtDesc => "-created_at", CreatedAt => "created_at",
        EventSeqDesc => "-event_seq", EventSeq => "event_seq",
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebhookQuery {
    pub status: Option<SubscriptionStatus>,
    /// Subscriptions that receive this type (those naming it, and those naming `*`).
    pub event_type: Option<SubscribedEventType>,
    /// `created_at` (the default) or `url`; `-` for descending.
    pub sort: Option<WebhookSort>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    pub status: Option<DeliveryStatus>,
    /// `-created_at` (newest first, the default), `created_at`, `event_seq` or `-event_seq`.
    pub sort: Option<WebhookDeliverySort>,
}

const ID: &str = "The webhook subscription's id";

/// List webhook subscriptions.
#[utoipa::path(operation_id = "list_webhooks", tag = "webhooks", security(("bearer" = ["admin"])), params(PageQuery, WebhookQuery), responses((status = 200, body = WebhookSubscriptionList)))]
#[get("/webhooks")]
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    page: Query<PageQuery>,
    query: Query<WebhookQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let sort = q.sort.map(|s| s.as_str());
    let filter = SubscriptionFilter {
        status: q.status,
        event_type: q.event_type,
    };
    WebhookSubscriptionList::respond(&req, &page, sort, async move |request| {
        webhooks::list(&state.db, &caller.0, filter.clone(), &request).await
    })
    .await
}

/// Subscribe a URL to domain events. The answer holds the signing `secret`, shown only
/// this once (and after a rotation); a retry with the same `Idempotency-Key` is not
/// replayed, as that would show the secret again.
///
/// The URL must be `http` or `https`, and its host must resolve to public addresses only:
/// loopback, private, link-local and other non-global addresses are refused (422 on `url`)
/// unless the service sets `webhooks.allow_private_targets`.
#[utoipa::path(operation_id = "create_webhook", tag = "webhooks", security(("bearer" = ["admin"])), request_body = SubscriptionFields, responses((status = 201, body = WebhookSubscriptionWithSecret)))]
#[post("/webhooks")]
pub async fn create(
    state: Data<AppState>,
    caller: Auth,
    body: JsonBody<SubscriptionFields>,
) -> Result<HttpResponse, ApiError> {
    let made = webhooks::create(&state.db, &caller.0, state.allow_private_targets, body.0).await?;
    let mut res = created(
        format!("/api/v1/webhooks/{}", made.subscription.id),
        &made,
        made.subscription.version,
    );
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

/// Get a webhook subscription (without its secret).
#[utoipa::path(operation_id = "get_webhook", tag = "webhooks", security(("bearer" = ["admin"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 200, body = WebhookSubscription)))]
#[get("/webhooks/{id}")]
pub async fn get(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = webhooks::get(&state.db, &caller.0, &id).await?;
    Ok(ok_versioned(&s, s.version))
}

/// Change a webhook subscription with a JSON merge patch: pause or resume it (`status`),
/// point it elsewhere, change its event types or description.
#[utoipa::path(operation_id = "update_webhook", tag = "webhooks", security(("bearer" = ["admin"])), params(("id" = String, Path, description = ID, max_length = 36)), request_body = SubscriptionPatch, responses((status = 200, body = WebhookSubscription)))]
#[patch("/webhooks/{id}")]
pub async fn update(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    body: JsonBody<SubscriptionPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let s = webhooks::update(
        &state.db,
        &caller.0,
        state.allow_private_targets,
        &id,
        if_match.0,
        body.0,
    )
    .await?;
    Ok(ok_versioned(&s, s.version))
}

/// Delete a webhook subscription and its delivery log.
#[utoipa::path(operation_id = "delete_webhook", tag = "webhooks", security(("bearer" = ["admin"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 204, description = "Deleted")))]
#[delete("/webhooks/{id}")]
pub async fn remove(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    webhooks::delete(&state.db, &caller.0, &id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Issue a new signing secret, shown this once; the old one signs nothing more.
#[utoipa::path(operation_id = "rotate_webhook_secret", tag = "webhooks", security(("bearer" = ["admin"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 200, body = WebhookSubscriptionWithSecret)))]
#[post("/webhooks/{id}/rotate-secret")]
pub async fn rotate_secret(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let s = webhooks::rotate_secret(&state.db, &caller.0, &id, if_match.0).await?;
    let mut res = ok_versioned(&s, s.subscription.version);
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

/// Send a `webhook.ping` event to this subscription only (it must be active); the answer
/// is the queued delivery.
#[utoipa::path(operation_id = "ping_webhook", tag = "webhooks", security(("bearer" = ["admin"])), params(("id" = String, Path, description = ID, max_length = 36)), responses((status = 202, description = "Queued", body = WebhookDelivery)))]
#[post("/webhooks/{id}/ping")]
pub async fn ping(
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let d = webhooks::ping(&state.db, &caller.0, &id).await?;
    Ok(HttpResponse::Accepted().json(d))
}

/// The delivery log of a subscription: each delivery with its event, attempts, last
/// answer and next attempt.
#[utoipa::path(operation_id = "list_webhook_deliveries", tag = "webhooks", security(("bearer" = ["admin"])), params(("id" = String, Path, description = ID, max_length = 36), PageQuery, DeliveryQuery), responses((status = 200, body = WebhookDeliveryList)))]
#[get("/webhooks/{id}/deliveries")]
pub async fn deliveries(
    req: HttpRequest,
    state: Data<AppState>,
    caller: Auth,
    id: Path<String>,
    page: Query<PageQuery>,
    query: Query<DeliveryQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let sort = q.sort.unwrap_or(WebhookDeliverySort::CreatedAtDesc);
    let id = id.into_inner();
    WebhookDeliveryList::respond(&req, &page, Some(sort.as_str()), async move |request| {
        webhooks::deliveries(&state.db, &caller.0, &id, q.status, &request).await
    })
    .await
}

/// Deliver a delivery's event again, as a new delivery queued now (the log keeps the
/// first). Refused with 409 while the event still waits for delivery to this subscription.
#[utoipa::path(operation_id = "redeliver_webhook_delivery", tag = "webhooks", security(("bearer" = ["admin"])), params(("id" = String, Path, description = ID, max_length = 36), ("delivery_id" = String, Path, description = "The delivery's id", max_length = 36)), responses((status = 202, description = "Queued", body = WebhookDelivery)))]
#[post("/webhooks/{id}/deliveries/{delivery_id}/redeliver")]
pub async fn redeliver(
    state: Data<AppState>,
    caller: Auth,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery_id) = path.into_inner();
    let d = webhooks::redeliver(&state.db, &caller.0, &id, &delivery_id).await?;
    Ok(HttpResponse::Accepted().json(d))
}
