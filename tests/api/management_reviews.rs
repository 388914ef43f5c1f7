//! Management reviews (clause 9.3): records, the planned → held → approved workflow, and
//! the corrective actions and improvements decided at a review.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{TestApp, assert_problem, fields};

const BASE: &str = "/api/v1/management-reviews";
const UNKNOWN: &str = "00000000-0000-7000-8000-000000000001";

const INPUTS: [&str; 10] = [
    "previous_actions_status",
    "changes_in_context",
    "sms_performance",
    "objectives",
    "nonconformity_and_audit_trends",
    "service_and_supplier_performance",
    "feedback",
    "resources",
    "risks",
    "improvement_opportunities",
];

fn all_inputs() -> Value {
    let mut inputs = serde_json::Map::new();
    for name in INPUTS {
        inputs.insert(name.into(), json!(format!("Considered: {name}")));
    }
    Value::Object(inputs)
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, created) = app.post(BASE, token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

async fn step(app: &TestApp, token: &str, id: &str, action: &str) -> (StatusCode, Value) {
    app.post(
        &format!("{BASE}/{id}/transitions"),
        token,
        json!({ "action": action }),
    )
    .await
}

/// A review held yesterday with every input and one attendee, ready to `hold`.
async fn ready_review(app: &TestApp, token: &str, attendee: &str) -> String {
    let yesterday = app.clock.today() - Duration::days(1);
    let created = create(
        app,
        token,
        json!({"title": "Review Q1", "held_on": yesterday.to_string(),
               "attendee_ids": [attendee], "inputs": all_inputs()}),
    )
    .await;
    created["id"].as_str().unwrap().to_string()
}

async fn trail(app: &TestApp, entity_id: &str) -> Vec<Value> {
    let (status, body) = app
        .get(
            &format!("/api/v1/audit-trail?entity_id={entity_id}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

fn actions_of(rows: &[Value]) -> Vec<&str> {
    rows.iter().map(|r| r["action"].as_str().unwrap()).collect()
}

both!(
    crud_filters_bad_input_and_refused_roles,
    |app: TestApp| async move {
        let (manager_id, manager) = app.user_with_roles(&["manager"]).await;
        let viewer = app.token_for("viewer").await;
        let (attendee, _) = app.user_with_roles(&["viewer"]).await;
        let robot = app.service_account("robot@example.com", &["viewer"]).await;
        let (leaver, _) = app.user_with_roles(&["viewer"]).await;

        let (status, created, headers) = app
            .call_full(
                Method::POST,
                BASE,
                &manager,
                Some(json!({"title": " Review Q1 ", "planned_for": "2030-03-01",
                    "attendee_ids": [manager_id, attendee, manager_id, leaver],
                    "inputs": {"risks": " Two new risks "},
                    "decisions": [], "minutes_location": "https://docs.example.com/mr/q1"})),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap().to_string();
        let path = format!("{BASE}/{id}");
        assert_eq!(headers["location"], path.as_str());
        assert_eq!(headers["etag"], "\"1\"");
        assert_eq!(created["title"], "Review Q1");
        assert_eq!(created["state"], "planned");
        assert_eq!(
            created["attendee_ids"],
            json!([manager_id, attendee, leaver]),
            "repeats dropped"
        );
        assert_eq!(created["inputs"]["risks"], "Two new risks");
        assert_eq!(created["inputs"]["feedback"], Value::Null);
        assert_eq!(created["corrective_action_ids"], json!([]));
        assert_eq!(created["improvement_ids"], json!([]));
        assert_eq!(created["approved_by"], Value::Null);
        assert_eq!(created["allowed_actions"], json!(["hold", "cancel"]));

        let (status, read, headers) = app.call_full(Method::GET, &path, &viewer, None, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["etag"], "\"1\"");
        assert_eq!(read["allowed_actions"], json!([]), "a viewer may not act");

        // A leaver stays on the list; a newly added attendee must be an active person.
        let (status, _) = app
            .patch(
                &format!("/api/v1/users/{leaver}"),
                &app.admin_token,
                json!({"active": false}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, patched, headers) = app
            .if_match(
                Method::PATCH,
                &path,
                Some(
                    json!({"inputs": {"feedback": "Complaints halved", "risks": null},
                            "held_on": "2030-03-02"}),
                ),
                1,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(headers["etag"], "\"2\"");
        assert_eq!(patched["inputs"]["feedback"], "Complaints halved");
        assert_eq!(patched["inputs"]["risks"], Value::Null, "null clears");
        assert_eq!(patched["attendee_ids"].as_array().unwrap().len(), 3);
        let (status, body, _) = app
            .if_match(Method::PATCH, &path, Some(json!({"title": "Stale"})), 1)
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
        );
        let (status, same) = app
            .patch(&path, &manager, json!({"title": "Review Q1"}))
            .await;
        assert_eq!(
            (status, same["version"].clone()),
            (StatusCode::OK, json!(2)),
            "no change, no write"
        );

        let before = app.count_rows("management_reviews").await;
        let inactive = json!({"title": "t", "attendee_ids": [leaver]});
        for (body, expected) in [
            (json!({"planned_for": "2030-01-01"}), vec!["title"]),
            (json!({"title": " "}), vec!["title"]),
            (json!({"title": "t", "state": "held"}), vec!["state"]),
            (
                json!({"title": "t", "inputs": {"weather": "fine"}}),
                vec!["inputs.weather"],
            ),
            (
                json!({"title": "t", "inputs": {"risks": "a\u{7}b"}}),
                vec!["inputs.risks"],
            ),
            (
                json!({"title": "t", "decisions": ["ok", " "]}),
                vec!["decisions[1]"],
            ),
            (
                json!({"title": "t", "held_on": "yesterday"}),
                vec!["held_on"],
            ),
            (
                json!({"title": "t", "attendee_ids": [attendee, UNKNOWN, robot]}),
                vec!["attendee_ids[1]", "attendee_ids[2]"],
            ),
            (inactive, vec!["attendee_ids[0]"]),
        ] {
            let (status, problem) = app.post(BASE, &manager, body.clone()).await;
            assert_problem(
                status,
                &problem,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            );
            assert_eq!(fields(&problem), expected, "{body}: {problem}");
        }
        let (status, problem) = app
            .patch(&path, &manager, json!({"attendee_ids": [attendee, robot]}))
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(fields(&problem), vec!["attendee_ids[1]"]);
        assert_eq!(app.count_rows("management_reviews").await, before);

        for role in ["viewer", "contributor", "auditor"] {
            let token = app.token_for(role).await;
            let (status, body) = app.post(BASE, &token, json!({"title": "t"})).await;
            assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
            let (status, body) = app.patch(&path, &token, json!({"title": "x"})).await;
            assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
            let (status, body) = app.call(Method::DELETE, &path, &token, None).await;
            assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
            let (status, body) = step(&app, &token, &id, "cancel").await;
            assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        }
        let (_, nobody) = app.user_with_roles(&[]).await;
        let (status, body) = app.get(&path, &nobody).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");

        let missing = format!("{BASE}/{UNKNOWN}");
        for (method, path, body) in [
            (Method::GET, missing.clone(), None),
            (Method::PATCH, missing.clone(), Some(json!({"title": "x"}))),
            (Method::DELETE, missing.clone(), None),
            (
                Method::POST,
                format!("{missing}/transitions"),
                Some(json!({"action": "hold"})),
            ),
        ] {
            let (status, problem) = app.call(method, &path, &manager, body).await;
            assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
        }

        // The list: filters, typed sorts with empty dates last, totals.
        let held_early = ready_review(&app, &manager, &attendee).await;
        let (status, _) = app
            .patch(
                &format!("{BASE}/{held_early}"),
                &manager,
                json!({"title": "Early review", "held_on": "2026-01-15",
                       "decisions": ["Renew the capacity plan"]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = step(&app, &manager, &held_early, "hold").await;
        assert_eq!(status, StatusCode::OK);
        let cancelled = create(&app, &manager, json!({"title": "Called off"})).await;
        let cancelled_id = cancelled["id"].as_str().unwrap();
        let (status, body) = step(&app, &manager, cancelled_id, "cancel").await;
        assert_eq!(
            (status, body["state"].clone()),
            (StatusCode::OK, json!("cancelled"))
        );
        let ids = |body: &Value| -> Vec<String> {
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect()
        };
        for (query, expected) in [
            ("state=held", vec![held_early.clone()]),
            ("state=cancelled", vec![cancelled_id.to_string()]),
            (
                "held_from=2026-01-01&held_to=2026-12-31",
                vec![held_early.clone()],
            ),
            ("held_from=2030-03-02", vec![id.clone()]),
            ("q=CAPACITY", vec![held_early.clone()]),
            ("q=called", vec![cancelled_id.to_string()]),
            (&format!("attendee_id={leaver}"), vec![id.clone()]),
            (
                "sort=held_on",
                vec![held_early.clone(), id.clone(), cancelled_id.to_string()],
            ),
            (
                "sort=-held_on",
                vec![id.clone(), held_early.clone(), cancelled_id.to_string()],
            ),
            (
                "sort=-created_at",
                vec![cancelled_id.to_string(), held_early.clone(), id.clone()],
            ),
        ] {
            let (status, body) = app.get(&format!("{BASE}?{query}"), &viewer).await;
            assert_eq!(status, StatusCode::OK, "{query}: {body}");
            assert_eq!(ids(&body), expected, "{query}");
        }
        let (_, paged) = app
            .get(
                &format!("{BASE}?limit=2&sort=held_on&include_total=true"),
                &viewer,
            )
            .await;
        assert_eq!(paged["total"], 3);
        let cursor = paged["next_cursor"].as_str().unwrap();
        let (_, rest) = app
            .get(
                &format!("{BASE}?limit=2&sort=held_on&cursor={cursor}"),
                &viewer,
            )
            .await;
        assert_eq!(ids(&rest), vec![cancelled_id.to_string()]);
        for query in ["state=gone", "sort=title", "held_from=2026-13-01"] {
            let (status, problem) = app.get(&format!("{BASE}?{query}"), &viewer).await;
            assert_problem(
                status,
                &problem,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            );
        }

        // Deletion only while planned; a cancelled review is frozen.
        let (status, problem) = app
            .call(
                Method::DELETE,
                &format!("{BASE}/{held_early}"),
                &manager,
                None,
            )
            .await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
        let (status, problem) = app
            .patch(
                &format!("{BASE}/{cancelled_id}"),
                &manager,
                json!({"title": "x"}),
            )
            .await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
        let (status, problem) = step(&app, &manager, cancelled_id, "hold").await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "invalid_transition");
        assert_eq!(problem["allowed_actions"], json!([]));
        let (status, _, _) = app.if_match(Method::DELETE, &path, None, 1).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED);
        let (status, _) = app.call(Method::DELETE, &path, &manager, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = app.get(&path, &manager).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            actions_of(&trail(&app, &id).await),
            vec!["create", "update", "delete"]
        );
    }
);

both!(
    hold_names_every_missing_precondition_then_approve,
    |app: TestApp| async move {
        let (manager_id, manager) = app.user_with_roles(&["manager"]).await;
        let (attendee, _) = app.user_with_roles(&["contributor"]).await;
        let created = create(&app, &manager, json!({"title": "Review Q2"})).await;
        let id = created["id"].as_str().unwrap().to_string();
        let path = format!("{BASE}/{id}");

        let (status, problem) = step(&app, &manager, &id, "hold").await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        let mut expected: Vec<String> = INPUTS.iter().map(|n| format!("inputs.{n}")).collect();
        expected.extend(["held_on".into(), "attendee_ids".into()]);
        assert_eq!(fields(&problem), expected, "every missing input at once");
        let (status, problem) = step(&app, &manager, &id, "approve").await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "invalid_transition");
        assert_eq!(problem["allowed_actions"], json!(["hold", "cancel"]));

        // Held the day after tomorrow: not yet, by the service's date.
        let later = app.clock.today() + Duration::days(2);
        let (status, body) = app
            .patch(
                &path,
                &manager,
                json!({"inputs": all_inputs(), "attendee_ids": [attendee],
                       "held_on": later.to_string()}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, problem) = step(&app, &manager, &id, "hold").await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["held_on"]);
        let yesterday = app.clock.today() - Duration::days(1);
        let (status, body) = app
            .patch(&path, &manager, json!({"held_on": yesterday.to_string()}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, problem, _) = app
            .if_match(
                Method::POST,
                &format!("{path}/transitions"),
                Some(json!({"action": "hold"})),
                1,
            )
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
        );
        let (status, held) = step(&app, &manager, &id, "hold").await;
        assert_eq!(status, StatusCode::OK, "{held}");
        assert_eq!(held["state"], "held");
        assert_eq!(held["allowed_actions"], json!(["approve"]));

        // A held review keeps what holding needed.
        let (status, problem) = app
            .patch(
                &path,
                &manager,
                json!({"inputs": {"resources": null}, "attendee_ids": null}),
            )
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["inputs.resources", "attendee_ids"]);
        let (status, problem) = app.call(Method::DELETE, &path, &manager, None).await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
        let (status, problem) = step(&app, &manager, &id, "cancel").await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "invalid_transition");

        let (status, problem) = step(&app, &manager, &id, "approve").await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["decisions"]);
        let (status, body) = app
            .patch(
                &path,
                &manager,
                json!({"decisions": ["Hire a second change manager", "Review supplier B"]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, approved) = step(&app, &manager, &id, "approve").await;
        assert_eq!(status, StatusCode::OK, "{approved}");
        assert_eq!(approved["state"], "approved");
        assert_eq!(approved["approved_by"], manager_id);
        assert!(approved["approved_at"].is_string());
        assert_eq!(approved["allowed_actions"], json!([]));
        let (status, problem) = app.patch(&path, &manager, json!({"title": "x"})).await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");

        let rows = trail(&app, &id).await;
        assert_eq!(
            actions_of(&rows),
            vec!["create", "update", "update", "hold", "update", "approve"]
        );
        let hold = &rows[3];
        assert_eq!(hold["actor_id"], manager_id);
        assert_eq!(
            hold["changes"]["state"],
            json!({"before": "planned", "after": "held"})
        );
        assert_eq!(rows[5]["changes"]["approved_by"]["after"], manager_id);
    }
);

both!(
    actions_decided_at_a_review_become_linked_corrective_actions,
    |app: TestApp| async move {
        let manager = app.token_for("manager").await;
        let viewer = app.token_for("viewer").await;
        let (owner, _) = app.user_with_roles(&["contributor"]).await;
        let (attendee, _) = app.user_with_roles(&["viewer"]).await;
        let process = app.process("CAP", None).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let id = ready_review(&app, &manager, &attendee).await;
        let path = format!("{BASE}/{id}");
        let actions = format!("{path}/actions");
        let action = json!({"kind": "corrective_action", "title": "No capacity plan",
            "nonconformity": "The storage service has no capacity plan", "clause": "8.4.3",
            "process_id": process, "owner_id": owner, "due_date": "2030-06-30"});

        let (status, problem) = app.post(&actions, &manager, action.clone()).await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
        let (status, _) = step(&app, &manager, &id, "hold").await;
        assert_eq!(status, StatusCode::OK);

        let before = app.count_rows("corrective_actions").await;
        let mut unknown_field = action.clone();
        unknown_field["finding_id"] = json!(UNKNOWN);
        let mut no_kind = action.clone();
        no_kind.as_object_mut().unwrap().remove("kind");
        for (body, field, code) in [
            (no_kind, "kind", "validation_failed"),
            (
                json!({"kind": "risk", "title": "t"}),
                "kind",
                "validation_failed",
            ),
            (json!({"kind": 7}), "kind", "validation_failed"),
            (unknown_field, "finding_id", "validation_failed"),
            (
                json!({"kind": "corrective_action", "nonconformity": "n"}),
                "title",
                "validation_failed",
            ),
            (
                json!({"kind": "corrective_action", "title": "t", "nonconformity": "n", "due_date": "soon"}),
                "due_date",
                "validation_failed",
            ),
            (
                json!({"kind": "corrective_action", "title": " ", "nonconformity": "n"}),
                "title",
                "validation_failed",
            ),
            (
                json!({"kind": "corrective_action", "title": "t", "nonconformity": "n", "clause": "99"}),
                "clause",
                "validation_failed",
            ),
            (
                json!({"kind": "corrective_action", "title": "t", "nonconformity": "n", "owner_id": attendee}),
                "owner_id",
                "validation_failed",
            ),
            (
                json!({"kind": "corrective_action", "title": "t", "nonconformity": "n", "process_id": UNKNOWN}),
                "process_id",
                "validation_failed",
            ),
        ] {
            let (status, problem) = app.post(&actions, &manager, body.clone()).await;
            assert_problem(status, &problem, StatusCode::UNPROCESSABLE_ENTITY, code);
            assert_eq!(fields(&problem), vec![field], "{body}: {problem}");
        }
        for role in ["viewer", "contributor", "auditor"] {
            let token = app.token_for(role).await;
            let (status, problem) = app.post(&actions, &token, action.clone()).await;
            assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        }
        let (status, problem) = app
            .post(
                &format!("{BASE}/{UNKNOWN}/actions"),
                &manager,
                action.clone(),
            )
            .await;
        assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
        assert_eq!(app.count_rows("corrective_actions").await, before);
        let (_, unchanged) = app.get(&path, &manager).await;
        assert_eq!(unchanged["version"], 2, "nothing written: {unchanged}");

        let (status, created, headers) = app
            .call_full(
                Method::POST,
                &actions,
                &manager,
                Some(action.clone()),
                &[("Idempotency-Key", "review-action-1")],
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let ca = created["id"].as_str().unwrap().to_string();
        assert_eq!(
            headers["location"],
            format!("/api/v1/corrective-actions/{ca}").as_str()
        );
        assert_eq!(headers["etag"], "\"1\"");
        assert_eq!(created["kind"], "corrective_action");
        assert_eq!(created["source"], "management_review");
        assert_eq!(created["management_review_id"], id);
        assert_eq!(created["state"], "open");
        assert_eq!(created["owner_id"], owner);
        assert_eq!(created["clause"], "8.4.3");
        let (status, replayed, _) = app
            .call_full(
                Method::POST,
                &actions,
                &manager,
                Some(action.clone()),
                &[("Idempotency-Key", "review-action-1")],
            )
            .await;
        assert_eq!(
            (status, replayed["id"].clone()),
            (StatusCode::CREATED, json!(ca))
        );
        assert_eq!(app.count_rows("corrective_actions").await, before + 1);

        let (status, review, headers) = app.call_full(Method::GET, &path, &viewer, None, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(review["corrective_action_ids"], json!([ca]));
        assert_eq!(headers["etag"], "\"3\"", "the review's version moved");
        let (_, read) = app
            .get(&format!("/api/v1/corrective-actions/{ca}"), &viewer)
            .await;
        assert_eq!(read["management_review_id"], id);

        // The link is read-only, and the action keeps its source.
        let ca_path = format!("/api/v1/corrective-actions/{ca}");
        let (status, problem) = app
            .patch(&ca_path, &manager, json!({"management_review_id": null}))
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        let (status, problem) = app
            .patch(&ca_path, &manager, json!({"source": "incident"}))
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(fields(&problem), vec!["source"]);
        let (status, _) = app
            .patch(
                &ca_path,
                &manager,
                json!({"root_cause": "Nobody owned capacity"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);

        // Still taken once the record is approved; the list keeps the order.
        let (status, _) = app
            .patch(&path, &manager, json!({"decisions": ["Plan capacity"]}))
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = step(&app, &manager, &id, "approve").await;
        assert_eq!(status, StatusCode::OK);
        let (status, second) = app
            .post(
                &actions,
                &manager,
                json!({"kind": "corrective_action", "title": "Supplier B late",
                       "nonconformity": "Supplier B missed three deliveries"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{second}");
        let second = second["id"].as_str().unwrap().to_string();
        let (_, review) = app.get(&path, &viewer).await;
        assert_eq!(review["corrective_action_ids"], json!([ca, second]));
        let (_, other_incident) = app
            .post(
                "/api/v1/corrective-actions",
                &manager,
                json!({"title": "t", "nonconformity": "n", "source": "management_review"}),
            )
            .await;
        assert_eq!(other_incident["management_review_id"], Value::Null);
        let (_, listed) = app
            .get(
                &format!("/api/v1/corrective-actions?management_review_id={id}&include_total=true"),
                &viewer,
            )
            .await;
        assert_eq!(listed["total"], 2);

        // Evidence: the review and each action have their rows.
        let review_rows = trail(&app, &id).await;
        assert_eq!(
            actions_of(&review_rows),
            vec![
                "create",
                "hold",
                "add_corrective_action",
                "update",
                "approve",
                "add_corrective_action"
            ]
        );
        assert_eq!(
            review_rows[2]["changes"]["corrective_action_ids"],
            json!({"before": [], "after": [ca]})
        );
        let ca_rows = trail(&app, &ca).await;
        assert_eq!(actions_of(&ca_rows), vec!["create", "update"]);
        assert_eq!(ca_rows[0]["entity_type"], "corrective_action");
        assert_eq!(ca_rows[0]["changes"]["management_review_id"]["after"], id);
        assert_eq!(ca_rows[0]["request_id"], review_rows[2]["request_id"]);

        // A cancelled review decides nothing.
        let called_off = create(&app, &manager, json!({"title": "Called off"})).await;
        let called_off = called_off["id"].as_str().unwrap();
        let (status, _) = step(&app, &manager, called_off, "cancel").await;
        assert_eq!(status, StatusCode::OK);
        let (status, problem) = app
            .post(&format!("{BASE}/{called_off}/actions"), &manager, action)
            .await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
    }
);

both!(
    improvements_decided_at_a_review_are_linked_both_ways,
    |app: TestApp| async move {
        let manager = app.token_for("manager").await;
        let viewer = app.token_for("viewer").await;
        let (owner, _) = app.user_with_roles(&["contributor"]).await;
        let (attendee, _) = app.user_with_roles(&["viewer"]).await;
        let id = ready_review(&app, &manager, &attendee).await;
        let path = format!("{BASE}/{id}");
        let actions = format!("{path}/actions");
        let improvement = json!({"kind": "improvement", "title": "Automate capacity reports",
            "description": "Produce the capacity report from monitoring data",
            "benefit": "Two days saved each month", "owner_id": owner, "due_date": "2030-09-30"});

        let (status, problem) = app.post(&actions, &manager, improvement.clone()).await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
        let (status, _) = step(&app, &manager, &id, "hold").await;
        assert_eq!(status, StatusCode::OK);

        let before = app.count_rows("improvements").await;
        for (body, expected) in [
            (
                json!({"kind": "improvement", "title": " ", "description": " "}),
                vec!["title", "description"],
            ),
            (
                json!({"kind": "improvement", "title": "t", "description": "d", "source": "risk"}),
                vec!["source"],
            ),
            (
                json!({"kind": "improvement", "title": "t", "nonconformity": "n"}),
                vec!["nonconformity"],
            ),
            (
                json!({"kind": "improvement", "title": "t", "description": "d", "benefit": "a\u{7}b"}),
                vec!["benefit"],
            ),
            (
                json!({"kind": "improvement", "title": "t", "description": "d", "due_date": "soon"}),
                vec!["due_date"],
            ),
            (
                json!({"kind": "improvement", "title": "t", "description": "d", "owner_id": attendee}),
                vec!["owner_id"],
            ),
        ] {
            let (status, problem) = app.post(&actions, &manager, body.clone()).await;
            assert_problem(
                status,
                &problem,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            );
            assert_eq!(fields(&problem), expected, "{body}: {problem}");
        }
        for role in ["viewer", "contributor", "auditor"] {
            let token = app.token_for(role).await;
            let (status, problem) = app.post(&actions, &token, improvement.clone()).await;
            assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        }
        assert_eq!(app.count_rows("improvements").await, before);
        let (_, unchanged) = app.get(&path, &manager).await;
        assert_eq!(unchanged["version"], 2, "nothing written: {unchanged}");
        assert_eq!(actions_of(&trail(&app, &id).await), vec!["create", "hold"]);

        let (status, created, headers) = app
            .call_full(Method::POST, &actions, &manager, Some(improvement), &[])
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let imp = created["id"].as_str().unwrap().to_string();
        let imp_path = format!("/api/v1/improvements/{imp}");
        assert_eq!(headers["location"], imp_path.as_str());
        assert_eq!(headers["etag"], "\"1\"");
        assert_eq!(created["kind"], "improvement");
        assert_eq!(created["source"], "management_review");
        assert_eq!(created["management_review_id"], id);
        assert_eq!(created["state"], "proposed");
        assert_eq!(created["owner_id"], owner);
        assert_eq!(created["benefit"], "Two days saved each month");
        assert_eq!(created["due_date"], "2030-09-30");

        // Linked both ways: the review lists it (its version moved), the improvement names
        // the review and is found by it.
        let (_, _) = app
            .post(
                &actions,
                &manager,
                json!({"kind": "corrective_action", "title": "No capacity plan",
                       "nonconformity": "The storage service has no capacity plan"}),
            )
            .await;
        let (status, review, headers) = app.call_full(Method::GET, &path, &viewer, None, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(review["improvement_ids"], json!([imp]));
        assert_eq!(review["corrective_action_ids"].as_array().unwrap().len(), 1);
        assert_eq!(headers["etag"], "\"4\"", "each action moved the version");
        let (_, read) = app.get(&imp_path, &viewer).await;
        assert_eq!(read["management_review_id"], id);
        let (_, unrelated) = app
            .post(
                "/api/v1/improvements",
                &manager,
                json!({"title": "t", "description": "d", "source": "management_review"}),
            )
            .await;
        assert_eq!(unrelated["management_review_id"], Value::Null);
        let (_, listed) = app
            .get(
                &format!("/api/v1/improvements?management_review_id={id}&include_total=true"),
                &viewer,
            )
            .await;
        assert_eq!(listed["total"], 1);
        assert_eq!(listed["items"][0]["id"], imp);
        let (_, all) = app.get(&format!("{BASE}?state=held"), &viewer).await;
        assert_eq!(all["items"][0]["improvement_ids"], json!([imp]));

        // The link is read-only, and the improvement keeps its source.
        for (patch, field) in [
            (
                json!({"management_review_id": null}),
                "management_review_id",
            ),
            (json!({"source": "suggestion"}), "source"),
        ] {
            let (status, problem) = app.patch(&imp_path, &manager, patch).await;
            assert_problem(
                status,
                &problem,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            );
            assert_eq!(fields(&problem), vec![field]);
        }

        // Evidence: a row for the review and one for the improvement, in one request.
        let review_rows = trail(&app, &id).await;
        assert_eq!(
            actions_of(&review_rows),
            vec!["create", "hold", "add_improvement", "add_corrective_action"]
        );
        assert_eq!(
            review_rows[2]["changes"]["improvement_ids"],
            json!({"before": [], "after": [imp]})
        );
        let imp_rows = trail(&app, &imp).await;
        assert_eq!(actions_of(&imp_rows), vec!["create"]);
        assert_eq!(imp_rows[0]["entity_type"], "improvement");
        assert_eq!(imp_rows[0]["changes"]["management_review_id"]["after"], id);
        assert_eq!(imp_rows[0]["request_id"], review_rows[2]["request_id"]);
    }
);
