//! Webhook subscriptions and their deliveries in the database: the subscription's list, the
//! delivery log, and the queue the delivery worker claims from with a lease.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, IntoIden, JoinType, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityName, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, Set,
};
use serde::Serialize;
use serde_json::Value;

use super::Aggregate;
use super::entities::{webhook_delivery as delivery, webhook_subscription as row};
use super::page::{self, Kind, Page, PageRequest, SortKey};
use crate::domain::webhook::{
    DeliveryStatus, SubscribedEventType, SubscriptionFields, SubscriptionStatus,
};
use crate::error::Result;

/// A stored subscription. The secret is never part of its record.
#[derive(Debug, Clone)]
pub struct StoredSubscription {
    pub id: String,
    pub fields: SubscriptionFields,
    pub secret: String,
    pub secret_rotated_at: DateTime<Utc>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct Record<'a> {
    #[serde(flatten)]
    fields: &'a SubscriptionFields,
    secret_rotated_at: DateTime<Utc>,
}

impl Aggregate for StoredSubscription {
    type Entity = row::Entity;
    const KIND: &'static str = "webhook_subscription";
    const NOUN: &'static str = "webhook subscription";

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn record(&self) -> Value {
        serde_json::to_value(Record {
            fields: &self.fields,
            secret_rotated_at: self.secret_rotated_at,
        })
        .expect("plain data serializes")
    }

    async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Self>> {
        Ok(row::Entity::find_by_id(id.to_string())
            .one(conn)
            .await?
            .map(from_row))
    }
}

pub fn from_row(m: row::Model) -> StoredSubscription {
    let event_types: Vec<SubscribedEventType> = serde_json::from_str::<Vec<String>>(&m.event_types)
        .unwrap_or_default()
        .iter()
        .filter_map(|t| SubscribedEventType::parse(t))
        .collect();
    StoredSubscription {
        fields: SubscriptionFields {
            url: m.url,
            event_types,
            status: SubscriptionStatus::parse(&m.status).unwrap_or(SubscriptionStatus::Paused),
            description: m.description,
        },
        id: m.id,
        secret: m.secret,
        secret_rotated_at: m.secret_rotated_at,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

fn event_types_text(types: &[SubscribedEventType]) -> String {
    let texts: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    serde_json::to_string(&texts).expect("JSON serializes")
}

fn columns(f: &SubscriptionFields) -> row::ActiveModel {
    row::ActiveModel {
        url: Set(f.url.clone()),
        description: Set(f.description.clone()),
        event_types: Set(event_types_text(&f.event_types)),
        status: Set(f.status.as_str().to_string()),
        ..Default::default()
    }
}

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    fields: &SubscriptionFields,
    secret: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    row::Entity::insert(row::ActiveModel {
        id: Set(id.to_string()),
        secret: Set(secret.to_string()),
        secret_rotated_at: Set(at),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..columns(fields)
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Writes an existing subscription (its version is already bumped).
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    fields: &SubscriptionFields,
) -> Result<()> {
    row::Entity::update_many()
        .set(columns(fields))
        .filter(row::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn set_secret<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    secret: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    row::Entity::update_many()
        .set(row::ActiveModel {
            secret: Set(secret.to_string()),
            secret_rotated_at: Set(at),
            ..Default::default()
        })
        .filter(row::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct SubscriptionFilter {
    pub status: Option<SubscriptionStatus>,
    /// Subscriptions that receive this type (naming it, or `*`).
    pub event_type: Option<SubscribedEventType>,
}

pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: SubscriptionFilter,
    request: &PageRequest,
) -> Result<Page<StoredSubscription>> {
    let mut select = row::Entity::find();
    if let Some(status) = filter.status {
        select = select.filter(row::Column::Status.eq(status.as_str()));
    }
    if let Some(event_type) = filter.event_type {
        // The column is a JSON array of quoted names: match the quoted name.
        let quoted = |t: &str| format!("%\"{t}\"%");
        let mut any = sea_orm::Condition::any().add(row::Column::EventTypes.like(quoted("*")));
        if event_type != SubscribedEventType::All {
            any = any.add(row::Column::EventTypes.like(quoted(event_type.as_str())));
        }
        select = select.filter(any);
    }
    let sorts: [SortKey<_>; 2] = [
        ("created_at", row::Column::CreatedAt, Kind::Timestamp),
        ("url", row::Column::Url, Kind::Text),
    ];
    let page = page::fetch(conn, select, &sorts, row::Column::Id, request).await?;
    Ok(page.map(from_row))
}

pub async fn delivery<C: ConnectionTrait>(
    conn: &C,
    subscription_id: &str,
    id: &str,
) -> Result<Option<delivery::Model>> {
    Ok(delivery::Entity::find_by_id(id.to_string())
        .filter(delivery::Column::SubscriptionId.eq(subscription_id))
        .one(conn)
        .await?)
}

pub async fn deliveries<C: ConnectionTrait>(
    conn: &C,
    subscription_id: &str,
    status: Option<DeliveryStatus>,
    request: &PageRequest,
) -> Result<Page<delivery::Model>> {
    let mut select =
        delivery::Entity::find().filter(delivery::Column::SubscriptionId.eq(subscription_id));
    if let Some(status) = status {
        select = select.filter(delivery::Column::Status.eq(status.as_str()));
    }
    let sorts: [SortKey<_>; 2] = [
        ("created_at", delivery::Column::CreatedAt, Kind::Timestamp),
        ("event_seq", delivery::Column::EventSeq, Kind::Integer),
    ];
    page::fetch(conn, select, &sorts, delivery::Column::Id, request).await
}

/// Whether a delivery of `event_seq` to the subscription is still pending.
pub async fn pending_for_event<C: ConnectionTrait>(
    conn: &C,
    subscription_id: &str,
    event_seq: i64,
) -> Result<bool> {
    Ok(delivery::Entity::find()
        .filter(delivery::Column::SubscriptionId.eq(subscription_id))
        .filter(delivery::Column::EventSeq.eq(event_seq))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .one(conn)
        .await?
        .is_some())
}

/// A delivery the worker may attempt: the first pending one of an active subscription
/// (by event, then id), due and not leased.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Due {
    pub id: String,
    pub subscription_id: String,
    pub event_seq: i64,
    pub attempts: i32,
    pub url: String,
    pub secret: String,
}

fn pending() -> String {
    DeliveryStatus::Pending.as_str().to_string()
}

/// No pending delivery of the same subscription comes before the delivery `d`.
fn first_in_queue<T: IntoIden + Clone>(d: T) -> sea_orm::sea_query::SimpleExpr {
    let e = Alias::new("e");
    let earlier = Query::select()
        .expr(Expr::val(1))
        .from_as(delivery::Entity, e.clone())
        .and_where(
            Expr::col((e.clone(), delivery::Column::SubscriptionId))
                .equals((d.clone(), delivery::Column::SubscriptionId)),
        )
        .and_where(Expr::col((e.clone(), delivery::Column::Status)).eq(pending()))
        .and_where(
            Expr::col((e.clone(), delivery::Column::EventSeq))
                .lt(Expr::col((d.clone(), delivery::Column::EventSeq)))
                .or(Expr::col((e.clone(), delivery::Column::EventSeq))
                    .equals((d.clone(), delivery::Column::EventSeq))
                    .and(
                        Expr::col((e.clone(), delivery::Column::Id))
                            .lt(Expr::col((d.clone(), delivery::Column::Id))),
                    )),
        )
        .to_owned();
    Expr::exists(earlier).not()
}

fn claimable<T: IntoIden + Clone>(d: T, now: DateTime<Utc>) -> sea_orm::sea_query::SimpleExpr {
    Expr::col((d.clone(), delivery::Column::Status))
        .eq(pending())
        .and(Expr::col((d.clone(), delivery::Column::NextAttemptAt)).lte(now))
        .and(
            Expr::col((d.clone(), delivery::Column::LeasedUntil))
                .is_null()
                .or(Expr::col((d.clone(), delivery::Column::LeasedUntil)).lte(now)),
        )
}

/// Up to `limit` deliveries to attempt now, at most one per subscription (the first of its
/// queue), for active subscriptions.
pub async fn due<C: ConnectionTrait>(conn: &C, now: DateTime<Utc>, limit: u64) -> Result<Vec<Due>> {
    let d = Alias::new("d");
    let s = Alias::new("s");
    let query = Query::select()
        .column((d.clone(), delivery::Column::Id))
        .column((d.clone(), delivery::Column::SubscriptionId))
        .column((d.clone(), delivery::Column::EventSeq))
        .column((d.clone(), delivery::Column::Attempts))
        .column((s.clone(), row::Column::Url))
        .column((s.clone(), row::Column::Secret))
        .from_as(delivery::Entity, d.clone())
        .join_as(
            JoinType::InnerJoin,
            row::Entity,
            s.clone(),
            Expr::col((s.clone(), row::Column::Id))
                .equals((d.clone(), delivery::Column::SubscriptionId)),
        )
        .and_where(
            Expr::col((s.clone(), row::Column::Status)).eq(SubscriptionStatus::Active.as_str()),
        )
        .and_where(claimable(d.clone(), now))
        .and_where(first_in_queue(d.clone()))
        .order_by(
            (d.clone(), delivery::Column::NextAttemptAt),
            sea_orm::Order::Asc,
        )
        .limit(limit)
        .to_owned();
    let rows = conn.query_all(&query).await?;
    rows.iter()
        .map(|r| Ok(Due::from_query_result(r, "")?))
        .collect()
}

/// Takes the lease of a delivery (compare-and-set): true when this worker got it, which
/// only happens while it is pending, due, unleased (or its lease ran out) and first in its
/// subscription's queue.
pub async fn claim<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<bool> {
    let d = Alias::new(delivery::Entity.table_name());
    let claimed = conn
        .execute(
            Query::update()
                .table(delivery::Entity)
                .value(delivery::Column::LeasedUntil, lease_until)
                .value(delivery::Column::LeasedBy, worker)
                .and_where(Expr::col((d.clone(), delivery::Column::Id)).eq(id))
                .and_where(claimable(d.clone(), now))
                .and_where(first_in_queue(d)),
        )
        .await?;
    Ok(claimed.rows_affected() == 1)
}

/// The outcome of one attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub status: DeliveryStatus,
    pub next_attempt_at: DateTime<Utc>,
    pub response_status: Option<i32>,
    pub latency_ms: Option<i64>,
    pub response_body: Option<String>,
    pub error: Option<String>,
}

/// Records an attempt and gives the lease back, if this worker still holds it.
pub async fn record_attempt<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    worker: &str,
    attempt: Attempt,
) -> Result<bool> {
    let done = attempt.status != DeliveryStatus::Pending;
    let updated = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Attempts,
            Expr::col(delivery::Column::Attempts).add(1),
        )
        .set(delivery::ActiveModel {
            status: Set(attempt.status.as_str().to_string()),
            next_attempt_at: Set(attempt.next_attempt_at),
            leased_until: Set(None),
            leased_by: Set(None),
            last_attempt_at: Set(Some(attempt.at)),
            response_status: Set(attempt.response_status),
            latency_ms: Set(attempt.latency_ms),
            response_body: Set(attempt.response_body),
            error: Set(attempt.error),
            completed_at: Set(done.then_some(attempt.at)),
            ..Default::default()
        })
        .filter(delivery::Column::Id.eq(id))
        .filter(delivery::Column::LeasedBy.eq(worker))
        .filter(delivery::Column::Status.eq(pending()))
        .exec(conn)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Deliveries of a subscription, oldest event first (the worker's order).
pub async fn queue_of<C: ConnectionTrait>(
    conn: &C,
    subscription_id: &str,
) -> Result<Vec<delivery::Model>> {
    Ok(delivery::Entity::find()
        .filter(delivery::Column::SubscriptionId.eq(subscription_id))
        .order_by_asc(delivery::Column::EventSeq)
        .order_by_asc(delivery::Column::Id)
        .all(conn)
        .await?)
}
