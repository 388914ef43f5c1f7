//! The change feed (the outbox read by cursor, with a long poll) and the scheduled check
//! that turns passed dates into events.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Notify;
use utoipa::ToSchema;

use super::{Caller, begin_write};
use crate::domain::access::AccessRole;
use crate::domain::event::{EventType, NewEvent};
use crate::error::{Error, Result};
use crate::persistence::entities::event;
use crate::persistence::events as stored;

/// Wakes the long polls of the feed and the delivery worker of this process when events
/// may have been committed. Other replicas' events are found by the periodic re-check.
#[derive(Debug, Default)]
pub struct EventSignal {
    notify: Notify,
}

impl EventSignal {
    pub fn notify(&self) {
        self.notify.notify_waiters();
    }

    pub fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
    }
}

/// The resource an event is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventResource {
    /// `corrective_action`, `finding`, `audit`, `process`, `objective`, `document` or
    /// `webhook_subscription` (a ping).
    #[serde(rename = "type")]
    pub resource_type: String,
    pub id: String,
}

/// A domain event, as the feed lists it and as a webhook delivers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    /// The event's id; also the `webhook-id` of its deliveries (the same on every retry).
    #[schema(format = Uuid)]
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When the change was made (the time of its audit-trail row), or when a scheduled
    /// check found the date passed.
    pub occurred_at: DateTime<Utc>,
    pub resource: EventResource,
    /// The audit-trail `seq` of the change that caused the event; null for the events of
    /// the scheduled check (`corrective_action.overdue`, `document.review_due`) and pings.
    pub audit_seq: Option<i64>,
    /// Position in the feed: grows in commit order.
    pub seq: i64,
    /// What the event says: the stored record for `*.created`; `{action, from, to}` for
    /// `*.transitioned`; `{from, to, measurement_id, value}` for `objective.off_track`;
    /// `{due_date}` / `{review_due}` for the scheduled ones.
    #[schema(value_type = Object)]
    pub data: Value,
}

impl From<event::Model> for Event {
    fn from(m: event::Model) -> Self {
        Event {
            id: m.id,
            event_type: EventType::parse(&m.event_type).unwrap_or(EventType::WebhookPing),
            occurred_at: m.occurred_at,
            resource: EventResource {
                resource_type: m.resource_type,
                id: m.resource_id,
            },
            audit_seq: m.audit_seq,
            seq: m.seq,
            data: serde_json::from_str(&m.data).unwrap_or(Value::Null),
        }
    }
}

/// A page of the feed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventPage {
    /// The events after the cursor, oldest first.
    pub items: Vec<Event>,
    /// Pass as `after` for the next page: the last event's `seq`, or the cursor given when
    /// the page is empty.
    pub next_after: i64,
}

/// Admins and auditors read the feed, as they read the audit trail it points into.
pub fn ensure_may_read(caller: &Caller) -> Result<()> {
    Ok(caller.ensure(
        caller
            .principal
            .has_any(&[AccessRole::Admin, AccessRole::Auditor]),
        "read the change feed",
    )?)
}

/// How the feed waits.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    /// The longest the call waits for an event.
    pub at_most: Duration,
    /// How often it looks again without a signal (for events of other replicas).
    pub recheck: Duration,
}

/// The events after `after`; with a wait, an empty answer waits until an event is
/// committed or the wait ends.
pub async fn feed(
    db: &DatabaseConnection,
    caller: &Caller,
    signal: &EventSignal,
    after: i64,
    limit: u64,
    wait: Wait,
) -> Result<EventPage> {
    ensure_may_read(caller)?;
    let deadline = tokio::time::Instant::now() + wait.at_most;
    loop {
        // Listen before reading, so a commit between the read and the wait is not missed.
        let notified = signal.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let rows = stored::after(db, after, limit).await?;
        let now = tokio::time::Instant::now();
        if !rows.is_empty() || now >= deadline {
            let next_after = rows.last().map_or(after, |r| r.seq);
            return Ok(EventPage {
                items: rows.into_iter().map(Event::from).collect(),
                next_after,
            });
        }
        let sleep = wait.recheck.min(deadline - now);
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep(sleep) => {}
        }
    }
}

/// Emits the events of dates that passed by `now` (the service's clock), each once: a
/// corrective action overdue (its `due_date` before today, not verified, closed or
/// cancelled) and an approved document due for review (its `review_due` today or before).
/// The emission is remembered per resource and date under a unique key, so replicas and
/// restarts never emit one twice; a changed date is a new date. Returns how many it emitted.
pub async fn emit_passed_dates(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<usize> {
    let today = now.date_naive();
    if stored::passed_dates(db, today).await?.is_empty() {
        return Ok(0);
    }
    let tx = begin_write(db).await?;
    // One checker at a time: emissions are claimed with the head held, so none waits for
    // another while holding it.
    stored::lock_head(&tx).await?;
    let mut emitted = 0;
    for due in stored::passed_dates(&tx, today).await? {
        if !stored::claim_emission(&tx, &due).await? {
            continue;
        }
        let field = match due.event_type {
            EventType::DocumentReviewDue => "review_due",
            _ => "due_date",
        };
        let event = NewEvent {
            event_type: due.event_type,
            resource_type: due.resource_type,
            resource_id: due.resource_id.clone(),
            data: json!({ field: due.due_on }),
        };
        let (row, _) = stored::append(&tx, &event, now, None, None).await?;
        stored::set_emission_seq(&tx, &due, row.seq).await?;
        emitted += 1;
    }
    tx.commit().await?;
    Ok(emitted)
}

/// An event by its seq (for the delivery log and the worker).
pub async fn by_seq(db: &DatabaseConnection, seq: i64) -> Result<Event> {
    stored::by_seq(db, seq)
        .await?
        .map(Event::from)
        .ok_or_else(|| Error::Internal(format!("event {seq} is missing")))
}
