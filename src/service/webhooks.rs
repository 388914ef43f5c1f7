//! Webhook subscriptions (admin): their life, their signing secret, the delivery log, a ping
//! and a redelivery. Where a subscription may point is checked here and again by the
//! delivery worker.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sea_orm::DatabaseConnection;
use serde::Serialize;
use serde_json::json;
use url::Host;
use utoipa::ToSchema;

use super::events::{Event, by_seq};
use super::{Caller, audit_trail, begin_write, write};
use crate::domain::DomainError;
use crate::domain::event::{EventType, NewEvent};
use crate::domain::webhook::{
    self as rules, DeliveryStatus, SECRET_PREFIX, SubscriptionFields, SubscriptionPatch,
    SubscriptionStatus, is_global, parse_target,
};
use crate::error::Result;
use crate::persistence::Aggregate;
use crate::persistence::entities::webhook_delivery;
use crate::persistence::events as outbox;
use crate::persistence::page::{Page, PageRequest};
use crate::persistence::webhooks::{self as stored, StoredSubscription, SubscriptionFilter};

/// A webhook subscription as the API shows it; its secret is shown only on create and on
/// rotation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookSubscription {
    #[schema(format = Uuid)]
    pub id: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub fields: SubscriptionFields,
    /// When the signing secret was issued.
    pub secret_rotated_at: DateTime<Utc>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A subscription with its signing secret, shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookSubscriptionWithSecret {
    #[serde(flatten)]
    #[schema(inline)]
    pub subscription: WebhookSubscription,
    /// The signing secret, `whsec_` + base64 of 32 random bytes: the key of the
    /// `webhook-signature` HMAC is the base64-decoded part. Shown only now.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", max_length = 128)]
    pub secret: String,
}

fn view(s: StoredSubscription) -> WebhookSubscription {
    WebhookSubscription {
        id: s.id,
        fields: s.fields,
        secret_rotated_at: s.secret_rotated_at,
        version: s.version,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

fn with_secret(s: StoredSubscription) -> WebhookSubscriptionWithSecret {
    let secret = s.secret.clone();
    WebhookSubscriptionWithSecret {
        subscription: view(s),
        secret,
    }
}

/// One delivery of an event to a subscription: its attempts so far and their outcome.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookDelivery {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub subscription_id: String,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: i32,
    /// When the next attempt is due; null once `delivered` or `failed`.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last answer; null when there was none (timeout, connection
    /// refused, a target refused).
    pub response_status: Option<i32>,
    /// How long the last attempt took, in milliseconds.
    pub latency_ms: Option<i64>,
    /// The start of the last answer's body (at most 1,024 characters).
    pub response_body: Option<String>,
    /// Why the last attempt failed, when it did.
    pub error: Option<String>,
    /// The delivery this one repeats (a redelivery).
    #[schema(format = Uuid)]
    pub redelivery_of: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When it was delivered or given up.
    pub completed_at: Option<DateTime<Utc>>,
    pub event: Event,
}

fn delivery_view(d: webhook_delivery::Model, event: Event) -> WebhookDelivery {
    let status = DeliveryStatus::parse(&d.status).unwrap_or(DeliveryStatus::Pending);
    WebhookDelivery {
        next_attempt_at: (status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
        id: d.id,
        subscription_id: d.subscription_id,
        status,
        attempts: d.attempts,
        last_attempt_at: d.last_attempt_at,
        response_status: d.response_status,
        latency_ms: d.latency_ms,
        response_body: d.response_body,
        error: d.error,
        redelivery_of: d.redelivery_of,
        created_at: d.created_at,
        completed_at: d.completed_at,
        event,
    }
}

/// Only admins manage webhooks and read their deliveries.
fn ensure_admin(caller: &Caller) -> Result<(), DomainError> {
    caller.ensure(caller.principal.is_admin(), "manage webhooks")
}

/// A new signing secret: 32 random bytes.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// How long a target's name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// Where a URL may lead: its addresses when every one is global (or private ones are
/// allowed), else why not.
pub async fn check_target(url: &str, allow_private: bool) -> Result<Vec<SocketAddr>, String> {
    let parsed = parse_target(url).map_err(str::to_string)?;
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match parsed.host() {
        Some(Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(Host::Domain(name)) => {
            let lookup = tokio::net::lookup_host((name, port));
            match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                Ok(Ok(found)) => found.collect(),
                Ok(Err(_)) | Err(_) => return Err(format!("the host `{name}` does not resolve")),
            }
        }
        None => return Err("must name a host".into()),
    };
    if addrs.is_empty() {
        return Err("the host does not resolve".into());
    }
    if !allow_private && let Some(bad) = addrs.iter().find(|a| !is_global(a.ip())) {
        return Err(format!(
            "must lead to a public address; the host resolves to {}, which is loopback, \
             private, link-local or otherwise not globally routable",
            bad.ip()
        ));
    }
    Ok(addrs)
}

async fn ensure_target(url: &str, allow_private: bool) -> Result<()> {
    check_target(url, allow_private)
        .await
        .map(|_| ())
        .map_err(|message| DomainError::invalid("url", message).into())
}

pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    allow_private: bool,
    fields: SubscriptionFields,
) -> Result<WebhookSubscriptionWithSecret> {
    ensure_admin(caller)?;
    let fields = rules::validate(fields)?;
    ensure_target(&fields.url, allow_private).await?;
    let secret = new_secret();
    let created = write::create::<StoredSubscription>(db, caller, async |tx, id| {
        stored::insert(tx, id, &fields, &secret, caller.now).await
    })
    .await?;
    Ok(with_secret(created))
}

async fn load(db: &DatabaseConnection, id: &str) -> Result<StoredSubscription> {
    Ok(StoredSubscription::load(db, id)
        .await?
        .ok_or(DomainError::NotFound(StoredSubscription::NOUN))?)
}

pub async fn get(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
) -> Result<WebhookSubscription> {
    ensure_admin(caller)?;
    Ok(view(load(db, id).await?))
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: SubscriptionFilter,
    request: &PageRequest,
) -> Result<Page<WebhookSubscription>> {
    ensure_admin(caller)?;
    Ok(stored::list(db, filter, request).await?.map(view))
}

/// Applies a merge patch; a new URL is checked like a created one. The change is made at
/// the version the patch was judged on.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    allow_private: bool,
    id: &str,
    expected_version: Option<i64>,
    patch: SubscriptionPatch,
) -> Result<WebhookSubscription> {
    ensure_admin(caller)?;
    let current = load(db, id).await?;
    super::check_version(expected_version, current.version)?;
    let fields = rules::validate(patch.apply_to(current.fields.clone()))?;
    if fields.url != current.fields.url {
        ensure_target(&fields.url, allow_private).await?;
    }
    let changed = write::modify::<StoredSubscription, _>(
        db,
        caller,
        (id, Some(current.version)),
        "update",
        |before| Ok((fields != before.fields).then_some(fields)),
        async |tx, fields| stored::update(tx, id, &fields).await,
    )
    .await?;
    Ok(view(changed))
}

/// Issues a new signing secret; the old one stops signing at once.
pub async fn rotate_secret(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
) -> Result<WebhookSubscriptionWithSecret> {
    ensure_admin(caller)?;
    let secret = new_secret();
    let changed = write::modify::<StoredSubscription, _>(
        db,
        caller,
        (id, expected_version),
        "rotate_secret",
        |_| Ok(Some(())),
        async |tx, ()| stored::set_secret(tx, id, &secret, caller.now).await,
    )
    .await?;
    Ok(with_secret(changed))
}

/// Deletes a subscription with its delivery log; deliveries in flight are dropped.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
) -> Result<()> {
    ensure_admin(caller)?;
    // The audit head first, as every writer takes it: a change appending events meanwhile
    // could otherwise queue a delivery for this subscription while it goes.
    write::remove::<StoredSubscription>(db, caller, (id, expected_version), async |tx, _| {
        audit_trail::hold_head(tx).await
    })
    .await
}

async fn with_events(
    db: &DatabaseConnection,
    rows: Vec<webhook_delivery::Model>,
) -> Result<Vec<WebhookDelivery>> {
    let seqs: Vec<i64> = rows.iter().map(|d| d.event_seq).collect();
    let events = outbox::by_seqs(db, &seqs).await?;
    let mut out = Vec::with_capacity(rows.len());
    for d in rows {
        let event = match events.iter().find(|e| e.seq == d.event_seq) {
            Some(e) => Event::from(e.clone()),
            None => by_seq(db, d.event_seq).await?,
        };
        out.push(delivery_view(d, event));
    }
    Ok(out)
}

pub async fn deliveries(
    db: &DatabaseConnection,
    caller: &Caller,
    subscription_id: &str,
    status: Option<DeliveryStatus>,
    request: &PageRequest,
) -> Result<Page<WebhookDelivery>> {
    ensure_admin(caller)?;
    load(db, subscription_id).await?;
    let page = stored::deliveries(db, subscription_id, status, request).await?;
    let items = with_events(db, page.items).await?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
        total: page.total,
    })
}

/// Queues a `webhook.ping` event for this subscription only.
pub async fn ping(
    db: &DatabaseConnection,
    caller: &Caller,
    subscription_id: &str,
) -> Result<WebhookDelivery> {
    ensure_admin(caller)?;
    let subscription = load(db, subscription_id).await?;
    if subscription.fields.status != SubscriptionStatus::Active {
        return Err(DomainError::Conflict(
            "the subscription is paused: activate it to ping it".into(),
        )
        .into());
    }
    let event = NewEvent {
        event_type: EventType::WebhookPing,
        resource_type: "webhook_subscription",
        resource_id: subscription_id.to_string(),
        data: json!({"url": subscription.fields.url}),
    };
    let tx = begin_write(db).await?;
    let (row, mut deliveries) =
        outbox::append(&tx, &event, caller.now, None, Some(subscription_id)).await?;
    tx.commit().await?;
    let delivery = deliveries.pop().expect("a ping has its delivery");
    Ok(delivery_view(delivery, Event::from(row)))
}

/// Queues the event of a delivery again, as a new delivery (the log keeps the first).
pub async fn redeliver(
    db: &DatabaseConnection,
    caller: &Caller,
    subscription_id: &str,
    delivery_id: &str,
) -> Result<WebhookDelivery> {
    ensure_admin(caller)?;
    load(db, subscription_id).await?;
    let original = stored::delivery(db, subscription_id, delivery_id)
        .await?
        .ok_or(DomainError::NotFound("webhook delivery"))?;
    let tx = begin_write(db).await?;
    if stored::pending_for_event(&tx, subscription_id, original.event_seq).await? {
        return Err(DomainError::Conflict(
            "this event is still waiting for delivery to this subscription".into(),
        )
        .into());
    }
    let queued = outbox::insert_delivery(
        &tx,
        subscription_id,
        original.event_seq,
        caller.now,
        Some(delivery_id),
    )
    .await?;
    tx.commit().await?;
    let event = by_seq(db, queued.event_seq).await?;
    Ok(delivery_view(queued, event))
}
