//! Domain events: what a change of the SMS tells the outside world. Each is written to the
//! outbox in the transaction of the change that caused it (or by a scheduled check, for
//! dates that pass), and read from there by the change feed and the webhook deliveries.

use serde_json::{Value, json};

use crate::text_enum;

text_enum! {
    /// The type of a domain event.
    pub enum EventType {
        CorrectiveActionCreated => "corrective_action.created",
        CorrectiveActionTransitioned => "corrective_action.transitioned",
        CorrectiveActionOverdue => "corrective_action.overdue",
        FindingCreated => "finding.created",
        AuditTransitioned => "audit.transitioned",
        ProcessTransitioned => "process.transitioned",
        ObjectiveOffTrack => "objective.off_track",
        DocumentReviewDue => "document.review_due",
        WebhookPing => "webhook.ping",
    }
}

impl EventType {
    /// The types a subscription may name (a ping goes to the one subscription pinged).
    pub fn subscribable(self) -> bool {
        self != EventType::WebhookPing
    }
}

/// An event not yet stored: its type, the resource it is about and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_type: EventType,
    pub resource_type: &'static str,
    pub resource_id: String,
    pub data: Value,
}

fn state_of(snapshot: Option<&Value>) -> Option<&str> {
    snapshot?.get("state")?.as_str()
}

/// The events a change recorded in the audit trail causes: `action` on the resource
/// `entity_type`/`entity_id`, from the snapshot `before` to `after` (absent on create and
/// delete). A creation tells the stored record; a change of `state` tells the action and
/// both states.
pub fn caused_by(
    action: &str,
    entity_type: &str,
    entity_id: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Vec<NewEvent> {
    let event = |event_type, resource_type, data| NewEvent {
        event_type,
        resource_type,
        resource_id: entity_id.to_string(),
        data,
    };
    let mut events = Vec::new();
    if before.is_none()
        && let Some(record) = after
    {
        match entity_type {
            "corrective_action" => events.push(event(
                EventType::CorrectiveActionCreated,
                "corrective_action",
                record.clone(),
            )),
            "finding" => events.push(event(EventType::FindingCreated, "finding", record.clone())),
            _ => {}
        }
        return events;
    }
    let (Some(from), Some(to)) = (state_of(before), state_of(after)) else {
        return events;
    };
    if from == to {
        return events;
    }
    let transitioned = match entity_type {
        "corrective_action" => Some((EventType::CorrectiveActionTransitioned, "corrective_action")),
        "audit" => Some((EventType::AuditTransitioned, "audit")),
        "process" => Some((EventType::ProcessTransitioned, "process")),
        _ => None,
    };
    if let Some((event_type, resource_type)) = transitioned {
        events.push(event(
            event_type,
            resource_type,
            json!({"action": action, "from": from, "to": to}),
        ));
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creations_of_actions_and_findings_are_events() {
        let record = json!({"state": "open", "title": "T"});
        let events = caused_by("create", "corrective_action", "c1", None, Some(&record));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type, EventType::CorrectiveActionCreated);
        assert_eq!(events[0].data, record);
        assert_eq!(
            caused_by("create", "finding", "f1", None, Some(&record))[0].event_type,
            EventType::FindingCreated
        );
        assert!(caused_by("create", "process", "p1", None, Some(&record)).is_empty());
    }

    #[test]
    fn a_state_change_is_a_transition_event() {
        let before = json!({"state": "draft"});
        let after = json!({"state": "active"});
        let events = caused_by("approve", "process", "p1", Some(&before), Some(&after));
        assert_eq!(events[0].event_type, EventType::ProcessTransitioned);
        assert_eq!(
            events[0].data,
            json!({"action": "approve", "from": "draft", "to": "active"})
        );
        assert!(caused_by("update", "process", "p1", Some(&before), Some(&before)).is_empty());
        assert!(caused_by("delete", "process", "p1", Some(&before), None).is_empty());
        assert!(caused_by("approve", "document", "d1", Some(&before), Some(&after)).is_empty());
    }

    #[test]
    fn pings_are_not_subscribable() {
        assert!(!EventType::WebhookPing.subscribable());
        assert!(EventType::FindingCreated.subscribable());
    }
}
