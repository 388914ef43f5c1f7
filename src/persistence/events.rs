//! The event outbox: events are appended in the transaction of the change that caused them,
//! numbered under the event head's row lock (so `seq` grows in commit order), and fanned out
//! to a delivery row for each active subscription that wants them.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::entities::{
    corrective_action, document, event, webhook_delivery as delivery,
    webhook_subscription as subscription,
};
use crate::domain::corrective_action::CorrectiveActionState;
use crate::domain::document::DocumentState;
use crate::domain::event::{EventType, NewEvent};
use crate::domain::webhook::{DeliveryStatus, SubscriptionStatus, wants};
use crate::error::{Error, Result};

const HEAD: &str = "event_head";

/// Takes the event head's row lock (held until the transaction ends) and returns the next
/// seq. A writer that appends to the audit trail holds its head first, so the two locks are
/// always taken in the same order.
async fn next_seq<C: ConnectionTrait>(conn: &C) -> Result<i64> {
    conn.execute(
        Query::update()
            .table(HEAD)
            .value("seq", Expr::col("seq").add(1))
            .and_where(Expr::col("id").eq(1)),
    )
    .await?;
    head(conn).await
}

/// The seq of the last event committed (or written by this transaction).
pub async fn head<C: ConnectionTrait>(conn: &C) -> Result<i64> {
    let row = conn
        .query_one(
            Query::select()
                .expr_as(Expr::col((HEAD, "seq")), "seq")
                .from(HEAD)
                .and_where(Expr::col((HEAD, "id")).eq(1)),
        )
        .await?
        .ok_or_else(|| Error::Internal("the event head row is missing".into()))?;
    Ok(row.try_get("", "seq")?)
}

/// Appends an event and a delivery for each subscription that wants it: every active
/// subscription naming its type, or only `to_subscription` (a ping). Returns the stored row.
pub async fn append<C: ConnectionTrait>(
    conn: &C,
    new: &NewEvent,
    occurred_at: DateTime<Utc>,
    audit_seq: Option<i64>,
    to_subscription: Option<&str>,
) -> Result<(event::Model, Vec<delivery::Model>)> {
    let seq = next_seq(conn).await?;
    let row = event::Model {
        seq,
        id: crate::service::new_id(),
        event_type: new.event_type.as_str().to_string(),
        occurred_at,
        resource_type: new.resource_type.to_string(),
        resource_id: new.resource_id.clone(),
        audit_seq,
        data: serde_json::to_string(&new.data).expect("JSON serializes"),
    };
    event::ActiveModel {
        seq: Set(row.seq),
        id: Set(row.id.clone()),
        event_type: Set(row.event_type.clone()),
        occurred_at: Set(row.occurred_at),
        resource_type: Set(row.resource_type.clone()),
        resource_id: Set(row.resource_id.clone()),
        audit_seq: Set(row.audit_seq),
        data: Set(row.data.clone()),
    }
    .insert(conn)
    .await?;
    let targets: Vec<String> = match to_subscription {
        Some(id) => vec![id.to_string()],
        None => subscription::Entity::find()
            .select_only()
            .column(subscription::Column::Id)
            .column(subscription::Column::EventTypes)
            .filter(subscription::Column::Status.eq(SubscriptionStatus::Active.as_str()))
            .into_tuple::<(String, String)>()
            .all(conn)
            .await?
            .into_iter()
            .filter(|(_, types)| wants(types, new.event_type))
            .map(|(id, _)| id)
            .collect(),
    };
    let mut deliveries = Vec::with_capacity(targets.len());
    for subscription_id in targets {
        deliveries.push(insert_delivery(conn, &subscription_id, seq, occurred_at, None).await?);
    }
    Ok((row, deliveries))
}

/// Queues a delivery of event `event_seq` to a subscription, due at once.
pub async fn insert_delivery<C: ConnectionTrait>(
    conn: &C,
    subscription_id: &str,
    event_seq: i64,
    now: DateTime<Utc>,
    redelivery_of: Option<&str>,
) -> Result<delivery::Model> {
    let model = delivery::ActiveModel {
        id: Set(crate::service::new_id()),
        subscription_id: Set(subscription_id.to_string()),
        event_seq: Set(event_seq),
        status: Set(DeliveryStatus::Pending.as_str().to_string()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        leased_until: Set(None),
        leased_by: Set(None),
        last_attempt_at: Set(None),
        response_status: Set(None),
        latency_ms: Set(None),
        response_body: Set(None),
        error: Set(None),
        redelivery_of: Set(redelivery_of.map(str::to_string)),
        created_at: Set(now),
        completed_at: Set(None),
    };
    Ok(model.insert(conn).await?)
}

/// The events after `after`, oldest first (pings, which go to one subscription, are not in
/// the feed).
pub async fn after<C: ConnectionTrait>(
    conn: &C,
    after: i64,
    limit: u64,
) -> Result<Vec<event::Model>> {
    Ok(event::Entity::find()
        .filter(event::Column::Seq.gt(after))
        .filter(event::Column::EventType.ne(EventType::WebhookPing.as_str()))
        .order_by_asc(event::Column::Seq)
        .limit(limit)
        .all(conn)
        .await?)
}

pub async fn by_seq<C: ConnectionTrait>(conn: &C, seq: i64) -> Result<Option<event::Model>> {
    Ok(event::Entity::find_by_id(seq).one(conn).await?)
}

pub async fn by_seqs<C: ConnectionTrait>(conn: &C, seqs: &[i64]) -> Result<Vec<event::Model>> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    Ok(event::Entity::find()
        .filter(event::Column::Seq.is_in(seqs.iter().copied()))
        .all(conn)
        .await?)
}

/// A date that passed for a resource, which a scheduled check turns into an event once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDate {
    pub event_type: EventType,
    pub resource_type: &'static str,
    pub resource_id: String,
    pub due_on: NaiveDate,
}

/// The corrective actions overdue on `today` and the approved documents whose review is
/// due, whose date has not been emitted yet.
pub async fn passed_dates<C: ConnectionTrait>(conn: &C, today: NaiveDate) -> Result<Vec<DueDate>> {
    let done = CorrectiveActionState::NOT_OVERDUE
        .iter()
        .map(|s| s.as_str());
    let actions: Vec<(String, NaiveDate)> = corrective_action::Entity::find()
        .select_only()
        .column(corrective_action::Column::Id)
        .column(corrective_action::Column::DueDate)
        .filter(corrective_action::Column::DueDate.is_not_null())
        .filter(corrective_action::Column::DueDate.lt(today))
        .filter(corrective_action::Column::State.is_not_in(done))
        .into_tuple()
        .all(conn)
        .await?;
    let documents: Vec<(String, NaiveDate)> = document::Entity::find()
        .select_only()
        .column(document::Column::Id)
        .column(document::Column::ReviewDue)
        .filter(document::Column::ReviewDue.is_not_null())
        .filter(document::Column::ReviewDue.lte(today))
        .filter(document::Column::State.eq(DocumentState::Approved.as_str()))
        .into_tuple()
        .all(conn)
        .await?;
    let mut due: Vec<DueDate> = actions
        .into_iter()
        .map(|(id, on)| DueDate {
            event_type: EventType::CorrectiveActionOverdue,
            resource_type: "corrective_action",
            resource_id: id,
            due_on: on,
        })
        .chain(documents.into_iter().map(|(id, on)| DueDate {
            event_type: EventType::DocumentReviewDue,
            resource_type: "document",
            resource_id: id,
            due_on: on,
        }))
        .collect();
    if due.is_empty() {
        return Ok(due);
    }
    let ids: Vec<String> = due.iter().map(|d| d.resource_id.clone()).collect();
    let emitted: Vec<(String, String, NaiveDate)> = conn
        .query_all(
            Query::select()
                .columns(["kind", "resource_id", "due_on"])
                .from(EMISSIONS)
                .and_where(Expr::col("resource_id").is_in(ids)),
        )
        .await?
        .into_iter()
        .map(|r| {
            Ok((
                r.try_get("", "kind")?,
                r.try_get("", "resource_id")?,
                r.try_get("", "due_on")?,
            ))
        })
        .collect::<Result<_>>()?;
    due.retain(|d| {
        !emitted.iter().any(|(kind, id, on)| {
            kind == d.event_type.as_str() && *id == d.resource_id && *on == d.due_on
        })
    });
    Ok(due)
}

const EMISSIONS: &str = "event_emissions";

/// Records that `due` is emitted, unless it already was (by another replica); true when this
/// call recorded it. The caller holds the event head lock, so emissions never wait for each
/// other while holding it.
pub async fn claim_emission<C: ConnectionTrait>(conn: &C, due: &DueDate) -> Result<bool> {
    let inserted = conn
        .execute(
            Query::insert()
                .into_table(EMISSIONS)
                .columns(["kind", "resource_id", "due_on", "event_seq"])
                .values_panic([
                    due.event_type.as_str().into(),
                    due.resource_id.clone().into(),
                    due.due_on.into(),
                    0i64.into(),
                ])
                .on_conflict(
                    OnConflict::columns(["kind", "resource_id", "due_on"])
                        .do_nothing()
                        .to_owned(),
                ),
        )
        .await?;
    Ok(inserted.rows_affected() == 1)
}

pub async fn set_emission_seq<C: ConnectionTrait>(conn: &C, due: &DueDate, seq: i64) -> Result<()> {
    conn.execute(
        Query::update()
            .table(EMISSIONS)
            .value("event_seq", seq)
            .and_where(Expr::col("kind").eq(due.event_type.as_str()))
            .and_where(Expr::col("resource_id").eq(due.resource_id.clone()))
            .and_where(Expr::col("due_on").eq(due.due_on)),
    )
    .await?;
    Ok(())
}

/// Takes the event head's lock without moving it.
pub async fn lock_head<C: ConnectionTrait>(conn: &C) -> Result<()> {
    conn.execute(
        Query::update()
            .table(HEAD)
            .value("seq", Expr::col("seq"))
            .and_where(Expr::col("id").eq(1)),
    )
    .await?;
    Ok(())
}
