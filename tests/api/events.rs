//! The change feed: events in commit order by cursor, the long poll, the scheduled events.

use std::time::{Duration, Instant};

use chrono::Duration as Days;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{TestApp, assert_problem};
use crate::webhooks::corrective_action;

const FEED: &str = "/api/v1/events";

async fn feed(app: &TestApp, query: &str) -> Value {
    let (status, body) = app.get(&format!("{FEED}?{query}"), &app.admin_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn types(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

both!(cursor_payload_and_access, |app: TestApp| async move {
    let empty = feed(&app, "").await;
    assert_eq!(empty, json!({"items": [], "next_after": 0}));

    let first = corrective_action(&app, "First").await;
    let (status, _) = app
        .post(
            &format!("/api/v1/corrective-actions/{first}/transitions"),
            &app.admin_token,
            json!({"action": "cancel", "reason": "Duplicate"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let second = corrective_action(&app, "Second").await;
    // A change that causes no event (a process) adds nothing.
    app.process("INC", None).await;

    let page = feed(&app, "").await;
    assert_eq!(
        types(&page),
        [
            "corrective_action.created",
            "corrective_action.transitioned",
            "corrective_action.created"
        ]
    );
    let items = page["items"].as_array().unwrap();
    let seqs: Vec<i64> = items.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(page["next_after"], 3);
    let created = &items[0];
    assert_eq!(
        created["resource"],
        json!({"type": "corrective_action", "id": first})
    );
    assert_eq!(created["data"]["title"], "First");
    assert_eq!(created["data"]["state"], "open");
    assert!(created["occurred_at"].is_string());
    assert_eq!(created["id"].as_str().unwrap().len(), 36);
    assert_eq!(items[2]["resource"]["id"], second);

    // audit_seq points at the audit-trail row of the change.
    let (_, trail) = app
        .get(
            &format!("/api/v1/audit-trail?entity_id={first}"),
            &app.admin_token,
        )
        .await;
    let rows = trail["items"].as_array().unwrap();
    assert_eq!(items[0]["audit_seq"], rows[0]["seq"]);
    assert_eq!(items[1]["audit_seq"], rows[1]["seq"]);
    assert_eq!(rows[1]["action"], "cancel");

    // The cursor.
    let page = feed(&app, "after=1&limit=1").await;
    assert_eq!(types(&page), ["corrective_action.transitioned"]);
    assert_eq!(page["next_after"], 2);
    let page = feed(&app, "after=3").await;
    assert_eq!(page, json!({"items": [], "next_after": 3}));

    // Auditors read it too; the other roles do not.
    let auditor = app.token_for("auditor").await;
    let (status, page) = app.get(FEED, &auditor).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    for role in ["viewer", "contributor", "manager"] {
        let token = app.token_for(role).await;
        let (status, problem) = app.get(FEED, &token).await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
    }
    let (status, _, _) = app.anon(Method::GET, FEED, None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    for (query, field) in [
        ("after=-1", "after"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("wait=301", "wait"),
        ("wait=-1", "wait"),
        ("after=x", "after"),
    ] {
        let (status, problem) = app.get(&format!("{FEED}?{query}"), &app.admin_token).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }
});

both!(
    long_poll_answers_when_an_event_commits,
    |app: TestApp| async move {
        corrective_action(&app, "Before").await;
        let head = feed(&app, "").await["next_after"].as_i64().unwrap();

        // Nothing comes: an empty page once the wait is over.
        let started = Instant::now();
        let page = feed(&app, &format!("after={head}&wait=1")).await;
        assert_eq!(page, json!({"items": [], "next_after": head}));
        assert!(started.elapsed() >= Duration::from_millis(900));

        // An event comes: the poll answers at once, long before its wait.
        let poller = {
            let url = app.url(&format!("{FEED}?after={head}&wait=20"));
            let request = app.client.get(url).bearer_auth(&app.admin_token);
            tokio::spawn(async move {
                let started = Instant::now();
                let body: Value = request.send().await.unwrap().json().await.unwrap();
                (started.elapsed(), body)
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        corrective_action(&app, "During").await;
        let (took, page) = poller.await.unwrap();
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert_eq!(types(&page), ["corrective_action.created"]);
        assert_eq!(page["items"][0]["data"]["title"], "During");

        // An event written by another replica is found by the re-check.
        let other = app.replica(&[]).await;
        let head = page["next_after"].as_i64().unwrap();
        let poller = {
            let url = app.url(&format!("{FEED}?after={head}&wait=20"));
            let request = app.client.get(url).bearer_auth(&app.admin_token);
            tokio::spawn(
                async move { request.send().await.unwrap().json::<Value>().await.unwrap() },
            )
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        corrective_action(&other, "Elsewhere").await;
        let page = tokio::time::timeout(Duration::from_secs(10), poller)
            .await
            .expect("the re-check finds it")
            .unwrap();
        assert_eq!(page["items"][0]["data"]["title"], "Elsewhere");
    }
);

/// Waits until the feed holds an event of `event_type` (at most 15 s).
async fn wait_for_type(app: &TestApp, event_type: &str) -> Vec<Value> {
    for _ in 0..300 {
        let page = feed(app, "limit=200").await;
        let found: Vec<Value> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == event_type)
            .cloned()
            .collect();
        if !found.is_empty() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {event_type} event");
}

const CHECKING: &[(&str, &str)] = &[
    ("ITSMS__EVENTS__SCHEDULED_CHECKS", "true"),
    ("ITSMS__EVENTS__SCHEDULE_INTERVAL_SECS", "1"),
];

both!(overdue_is_emitted_once, |app: TestApp| async move {
    let tomorrow = app.clock.today() + Days::days(1);
    let (status, action) = app
        .post(
            "/api/v1/corrective-actions",
            &app.admin_token,
            json!({"title": "Late", "nonconformity": "Found", "source": "incident",
                   "due_date": tomorrow}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{action}");
    let id = action["id"].as_str().unwrap();

    // Two checkers on one database (replicas), with the clock of the first moved past the
    // due date; the second's clock reaches it later.
    let one = app.replica(CHECKING).await;
    let two = app.replica(CHECKING).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        types(&feed(&app, "limit=200").await)
            .iter()
            .all(|t| t != "corrective_action.overdue")
    );
    one.clock.advance(Days::days(2));
    let overdue = wait_for_type(&app, "corrective_action.overdue").await;
    assert_eq!(overdue.len(), 1);
    assert_eq!(
        overdue[0]["resource"],
        json!({"type": "corrective_action", "id": id})
    );
    assert_eq!(overdue[0]["data"], json!({"due_date": tomorrow}));
    assert_eq!(overdue[0]["audit_seq"], Value::Null);
    two.clock.advance(Days::days(3));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let overdue = wait_for_type(&app, "corrective_action.overdue").await;
    assert_eq!(overdue.len(), 1, "emitted once: {overdue:#?}");
});

both!(off_track_and_review_due, |app: TestApp| async move {
    let due = app.clock.today() + Days::days(365);
    let (status, objective) = app
        .post(
            "/api/v1/objectives",
            &app.admin_token,
            json!({"title": "Restore P1 within 4 h", "metric": "P1 restored", "unit": "%",
                   "baseline": 80.0, "target": 90.0, "comparator": "gte", "due_date": due,
                   "plan": {"what": "Automate triage", "resources": "Two engineers",
                            "responsible": "Lead", "completion": "Year end",
                            "evaluation": "Monthly"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{objective}");
    let id = objective["id"].as_str().unwrap();
    let (status, _) = app
        .post(
            &format!("/api/v1/objectives/{id}/transitions"),
            &app.admin_token,
            json!({"action": "activate"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // on track, off track (an event), still off track, met, off track again (an event).
    for value in [85.0, 50.0, 40.0, 95.0, 10.0] {
        let at = app.clock.now().to_rfc3339();
        let (status, body) = app
            .post(
                &format!("/api/v1/objectives/{id}/measurements"),
                &app.admin_token,
                json!({"value": value, "measured_at": at}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let events = wait_for_type(&app, "objective.off_track").await;
    assert_eq!(events.len(), 2, "{events:#?}");
    assert_eq!(
        events[0]["resource"],
        json!({"type": "objective", "id": id})
    );
    assert_eq!(events[0]["data"]["from"], "on_track");
    assert_eq!(events[0]["data"]["to"], "off_track");
    assert_eq!(events[0]["data"]["value"], 50.0);
    assert_eq!(events[1]["data"]["from"], "met");
    let (_, trail) = app
        .get(
            &format!(
                "/api/v1/audit-trail?entity_id={}",
                events[0]["data"]["measurement_id"].as_str().unwrap()
            ),
            &app.admin_token,
        )
        .await;
    assert_eq!(events[0]["audit_seq"], trail["items"][0]["seq"]);

    // An approved document due for review tomorrow: one event once the day has come.
    let role = app.role("Document owner").await;
    let tomorrow = app.clock.today() + Days::days(1);
    let (status, doc) = app
        .post(
            "/api/v1/documents",
            &app.admin_token,
            json!({"title": "SMS policy", "kind": "policy", "clauses": ["5.2"],
                   "owner_role_id": role, "version_label": "1.0",
                   "location": "https://dms.example.com/policy.pdf", "review_due": tomorrow}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    let doc_id = doc["id"].as_str().unwrap();
    let (status, body) = app
        .post(
            &format!("/api/v1/documents/{doc_id}/transitions"),
            &app.admin_token,
            json!({"action": "approve"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let checker = app.replica(CHECKING).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        types(&feed(&app, "limit=200").await)
            .iter()
            .all(|t| t != "document.review_due")
    );
    checker.clock.advance(Days::days(1));
    let due = wait_for_type(&app, "document.review_due").await;
    assert_eq!(due.len(), 1);
    assert_eq!(due[0]["data"], json!({"review_due": tomorrow}));
    assert_eq!(
        due[0]["resource"],
        json!({"type": "document", "id": doc_id})
    );
});
