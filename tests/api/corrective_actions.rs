//! Corrective actions (clause 10.1): records, findings, the workflow and its evidence.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, TestApp, assert_problem, fields};

const BASE: &str = "/api/v1/corrective-actions";

static IDS: AtomicUsize = AtomicUsize::new(1);

fn test_id() -> String {
    format!(
        "00000000-0000-7000-8000-{:012}",
        IDS.fetch_add(1, Ordering::SeqCst)
    )
}

/// Records an audit of `kind` with one finding, in SQL (findings have their own API).
async fn finding(
    app: &TestApp,
    kind: &str,
    finding_type: &str,
    clause: Option<&str>,
    process_id: Option<&str>,
) -> String {
    let (audit, finding) = (test_id(), test_id());
    let text = |v: Option<&str>| v.map_or("NULL".to_string(), |v| format!("'{v}'"));
    let at = "'2026-11-25T10:00:00Z'";
    app.raw_sql(&format!(
        "INSERT INTO audits (id, title, kind, state, version, created_at, updated_at) \
         VALUES ('{audit}', 'Audit', '{kind}', 'in_progress', 1, {at}, {at})"
    ))
    .await;
    app.raw_sql(&format!(
        "INSERT INTO findings (id, audit_id, type, clause, process_id, statement, state, version, created_at, updated_at) \
         VALUES ('{finding}', '{audit}', '{finding_type}', {}, {}, 'Found', 'open', 1, {at}, {at})",
        text(clause),
        text(process_id)
    ))
    .await;
    finding
}

async fn finding_state(app: &TestApp, id: &str) -> (i64, i64) {
    let closed = app
        .query_i64(&format!(
            "SELECT COUNT(*) AS n FROM findings WHERE id = '{id}' AND state = 'closed'"
        ))
        .await;
    let version = app
        .query_i64(&format!(
            "SELECT version AS n FROM findings WHERE id = '{id}'"
        ))
        .await;
    (closed, version)
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, created) = app.post(BASE, token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

fn incident(title: &str, owner: Option<&str>) -> Value {
    json!({"title": title, "nonconformity": "A change went live without approval",
           "source": "incident", "owner_id": owner})
}

async fn step(app: &TestApp, token: &str, id: &str, body: Value) -> (StatusCode, Value) {
    app.post(&format!("{BASE}/{id}/transitions"), token, body)
        .await
}

both!(
    crud_bad_input_and_refused_roles,
    |app: TestApp| async move {
        let manager = app.token_for("manager").await;
        let viewer = app.token_for("viewer").await;
        let (owner, _) = app.user_with_roles(&["contributor"]).await;
        let (only_viewer, _) = app.user_with_roles(&["viewer"]).await;
        let process = app.process("CHG", None).await["id"]
            .as_str()
            .unwrap()
            .to_string();

        let created = create(
            &app,
            &manager,
            json!({"title": " Unapproved change ", "nonconformity": "Deployed without CAB",
               "source": "incident", "clause": "8.5.1", "process_id": process,
               "owner_id": owner, "due_date": "2030-01-31", "correction": "Rolled back"}),
        )
        .await;
        assert_eq!(created["state"], "open");
        assert_eq!(created["title"], "Unapproved change");
        assert_eq!(created["correction"], "Rolled back");
        assert_eq!(created["overdue"], false);
        assert_eq!(created["implemented_by"], Value::Null);
        assert_eq!(created["allowed_actions"], json!(["investigate", "cancel"]));
        let id = created["id"].as_str().unwrap();
        let path = format!("{BASE}/{id}");

        let (status, read, headers) = app.call_full(Method::GET, &path, &viewer, None, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["etag"], "\"1\"");
        assert_eq!(read["process_id"], process);
        assert_eq!(read["allowed_actions"], json!([]), "a viewer may not act");

        let (status, patched, headers) = app
            .if_match(
                Method::PATCH,
                &path,
                Some(json!({"root_cause": "No gate", "due_date": null})),
                1,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(
            (patched["root_cause"].clone(), patched["due_date"].clone()),
            (json!("No gate"), Value::Null)
        );
        assert_eq!(headers["etag"], "\"2\"");
        let (status, body, _) = app
            .if_match(Method::PATCH, &path, Some(json!({"title": "Stale"})), 1)
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
        );

        let before = app.count_rows("corrective_actions").await;
        for (body, field) in [
            (json!({"nonconformity": "x", "source": "incident"}), None),
            (
                json!({"title": "t", "nonconformity": "x", "source": "rumour"}),
                None,
            ),
            (
                json!({"title": "t", "nonconformity": "x", "source": "incident", "state": "closed"}),
                None,
            ),
            (
                json!({"title": " ", "nonconformity": "x", "source": "incident"}),
                Some("title"),
            ),
            (
                json!({"title": "t", "nonconformity": "x", "source": "audit_finding"}),
                Some("finding_id"),
            ),
            (
                json!({"title": "t", "nonconformity": "x", "source": "incident", "finding_id": test_id()}),
                Some("finding_id"),
            ),
            (
                json!({"title": "t", "nonconformity": "x", "source": "incident", "clause": "99.9"}),
                Some("clause"),
            ),
            (
                json!({"title": "t", "nonconformity": "x", "source": "incident", "process_id": test_id()}),
                Some("process_id"),
            ),
            (
                json!({"title": "t", "nonconformity": "x", "source": "incident", "owner_id": only_viewer}),
                Some("owner_id"),
            ),
            (
                json!({"title": "t", "nonconformity": "x", "source": "incident", "owner_id": test_id()}),
                Some("owner_id"),
            ),
        ] {
            let (status, problem) = app.post(BASE, &manager, body.clone()).await;
            assert_problem(
                status,
                &problem,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            );
            if let Some(field) = field {
                assert_eq!(fields(&problem), vec![field], "{body}: {problem}");
            }
        }
        assert_eq!(
            app.count_rows("corrective_actions").await,
            before,
            "nothing written"
        );

        for role in ["viewer", "contributor", "auditor"] {
            let token = app.token_for(role).await;
            let (status, body) = app.post(BASE, &token, incident("t", None)).await;
            assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
            let (status, body) = app.patch(&path, &token, json!({"title": "x"})).await;
            assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
            let (status, body) = app.call(Method::DELETE, &path, &token, None).await;
            assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        }
        let (_, nobody) = app.user_with_roles(&[]).await;
        let (status, body) = app.get(&path, &nobody).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");

        let missing = format!("{BASE}/{}", test_id());
        for (method, body) in [
            (Method::GET, None),
            (Method::PATCH, Some(json!({"title": "x"}))),
            (Method::DELETE, None),
        ] {
            let (status, problem) = app.call(method, &missing, &manager, body).await;
            assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
        }
        let (status, problem) = app.get(&format!("{missing}/history"), &viewer).await;
        assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
        let (status, problem) =
            step(&app, &manager, &test_id(), json!({"action": "investigate"})).await;
        assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");

        let (status, _) = step(&app, &manager, id, json!({"action": "investigate"})).await;
        assert_eq!(status, StatusCode::OK);
        let (status, problem) = app.call(Method::DELETE, &path, &manager, None).await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
        let (status, problem) = app
            .patch(&path, &manager, json!({"correction": null}))
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["correction"]);

        let other = create(&app, &manager, incident("Delete me", None)).await;
        let other_path = format!("{BASE}/{}", other["id"].as_str().unwrap());
        let (status, _) = app.call(Method::DELETE, &other_path, &manager, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = app.get(&other_path, &manager).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
);

both!(created_from_a_finding, |app: TestApp| async move {
    let manager = app.token_for("manager").await;
    let process = app.process("CHG", None).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let nc = finding(
        &app,
        "internal",
        "major_nonconformity",
        Some("8.5.1"),
        Some(&process),
    )
    .await;
    let from_finding = |extra: Value| {
        let mut body = json!({"title": "From the audit", "nonconformity": "Found", "source": "audit_finding", "finding_id": nc});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    for (extra, field) in [
        (json!({"clause": "8.6.1"}), "clause"),
        (
            json!({"process_id": app.process("INC", None).await["id"]}),
            "process_id",
        ),
    ] {
        let (status, problem) = app.post(BASE, &manager, from_finding(extra)).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(fields(&problem), vec![field]);
    }
    let created = create(&app, &manager, from_finding(json!({"clause": "8.5.1"}))).await;
    assert_eq!(created["clause"], "8.5.1");
    assert_eq!(created["process_id"], process);
    assert_eq!(created["finding_id"], nc);

    let (status, problem) = app.post(BASE, &manager, from_finding(json!({}))).await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
    assert_eq!(app.count_rows("corrective_actions").await, 1);

    let observation = finding(&app, "internal", "observation", None, None).await;
    for finding_id in [observation, test_id()] {
        let (status, problem) = app
            .post(BASE, &manager, json!({"title": "t", "nonconformity": "x", "source": "audit_finding", "finding_id": finding_id}))
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(fields(&problem), vec!["finding_id"]);
    }
    let (_, listed) = app
        .get(
            &format!("{BASE}?finding_id={nc}&include_total=true"),
            &manager,
        )
        .await;
    assert_eq!(listed["total"], 1);
});

both!(
    the_whole_cycle_with_separation_of_duties,
    |app: TestApp| async move {
        let manager = app.token_for("manager").await;
        let viewer = app.token_for("viewer").await;
        let (owner_id, owner) = app.user_with_roles(&["contributor"]).await;
        let (_, stranger) = app.user_with_roles(&["contributor"]).await;
        let (implementer_id, implementer) = app.user_with_roles(&["manager", "auditor"]).await;
        let (_, auditor) = app.user_with_roles(&["auditor"]).await;
        let (_, second_auditor) = app.user_with_roles(&["auditor"]).await;
        let nc = finding(&app, "internal", "minor_nonconformity", Some("8.5.1"), None).await;
        let created = create(
            &app,
            &manager,
            json!({"title": "Change gate", "nonconformity": "Found", "source": "audit_finding",
               "finding_id": nc, "owner_id": owner_id}),
        )
        .await;
        let id = created["id"].as_str().unwrap().to_string();

        let (status, problem) = step(
            &app,
            &stranger,
            &id,
            json!({"action": "investigate", "correction": "x"}),
        )
        .await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        let (status, problem) = step(
            &app,
            &viewer,
            &id,
            json!({"action": "investigate", "correction": "x"}),
        )
        .await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        let (status, problem) = step(&app, &auditor, &id, json!({"action": "investigate"})).await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        let (status, problem) = step(&app, &owner, &id, json!({"action": "investigate"})).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["correction"]);
        let (status, problem) = step(
            &app,
            &owner,
            &id,
            json!({"action": "investigate", "correction": "x", "effective": true}),
        )
        .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(fields(&problem), vec!["effective"]);
        let (status, problem) = step(&app, &owner, &id, json!({"action": "verify"})).await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "invalid_transition");
        assert_eq!(problem["allowed_actions"], json!(["investigate"]));

        let (status, body) = step(
            &app,
            &owner,
            &id,
            json!({"action": "investigate", "correction": "Paused deployments"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (body["state"].clone(), body["correction"].clone()),
            (json!("investigating"), json!("Paused deployments"))
        );
        assert_eq!(
            body["allowed_actions"],
            json!(["plan"]),
            "the owner plans; cancelling is for managers"
        );

        let (status, problem) = step(&app, &owner, &id, json!({"action": "plan"})).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["root_cause", "action_plan"]);
        let (status, problem) = step(
            &app,
            &stranger,
            &id,
            json!({"action": "plan", "root_cause": "r", "action_plan": "p"}),
        )
        .await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        let (status, body) = step(&app, &owner, &id, json!({"action": "plan", "root_cause": "No approval gate", "similar_nonconformities": "None found", "action_plan": "Add a gate"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["state"], "action_planned");

        let (status, problem) = step(&app, &owner, &id, json!({"action": "implement"})).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["implementation"]);
        // The owner moves on; a manager who also audits implements.
        let (status, body) = app
            .patch(
                &format!("{BASE}/{id}"),
                &manager,
                json!({"implementation": "Gate added"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = step(&app, &implementer, &id, json!({"action": "implement"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (body["state"].clone(), body["implemented_by"].clone()),
            (json!("implemented"), json!(implementer_id))
        );
        assert_eq!(
            body["allowed_actions"],
            json!(["cancel"]),
            "the implementer may not verify"
        );
        let (status, problem) = step(
            &app,
            &implementer,
            &id,
            json!({"action": "verify", "effectiveness_review": "Fine", "effective": true}),
        )
        .await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        let (status, problem) = step(
            &app,
            &owner,
            &id,
            json!({"action": "verify", "effectiveness_review": "Fine", "effective": true}),
        )
        .await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");

        let (status, problem) = step(&app, &auditor, &id, json!({"action": "verify"})).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["effective"]);
        let (status, problem) = step(
            &app,
            &auditor,
            &id,
            json!({"action": "verify", "effective": false}),
        )
        .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["effectiveness_review"]);
        let (status, body) = step(&app, &auditor, &id, json!({"action": "verify", "effectiveness_review": "Changes still bypass the gate", "effective": false})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["state"], "action_planned",
            "an ineffective action is planned again"
        );

        let (status, body) = step(
            &app,
            &implementer,
            &id,
            json!({"action": "implement", "implementation": "Gate enforced in the pipeline"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["effectiveness_review"],
            Value::Null,
            "a new implementation needs a new review"
        );
        let (status, problem) = step(
            &app,
            &implementer,
            &id,
            json!({"action": "verify", "effectiveness_review": "Fine", "effective": true}),
        )
        .await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        let (status, body) = step(&app, &second_auditor, &id, json!({"action": "verify", "effectiveness_review": "No bypass in 30 days", "effective": true})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["state"], "verified");
        assert_eq!(
            body["allowed_actions"],
            json!(["close"]),
            "an auditor closes; cancelling is for managers: {body}"
        );

        let (status, problem) = step(&app, &owner, &id, json!({"action": "close"})).await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(finding_state(&app, &nc).await, (0, 1));
        let (status, body) = step(&app, &auditor, &id, json!({"action": "close"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (body["state"].clone(), body["allowed_actions"].clone()),
            (json!("closed"), json!([]))
        );
        assert_eq!(
            finding_state(&app, &nc).await,
            (1, 2),
            "the finding closes with it"
        );
        let (status, problem) = step(
            &app,
            &manager,
            &id,
            json!({"action": "cancel", "reason": "x"}),
        )
        .await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "invalid_transition");
        let (status, problem) = app
            .patch(&format!("{BASE}/{id}"), &manager, json!({"title": "x"}))
            .await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");

        // The evidence: every step with who, when, what and the request id, readable by a viewer.
        let (status, history) = app.get(&format!("{BASE}/{id}/history"), &viewer).await;
        assert_eq!(status, StatusCode::OK, "{history}");
        let rows = history["items"].as_array().unwrap();
        let actions: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| {
                (
                    r["entity_type"].as_str().unwrap(),
                    r["action"].as_str().unwrap(),
                )
            })
            .collect();
        let ca = "corrective_action";
        assert_eq!(
            actions,
            vec![
                (ca, "create"),
                (ca, "investigate"),
                (ca, "plan"),
                (ca, "update"),
                (ca, "implement"),
                (ca, "verify"),
                (ca, "implement"),
                (ca, "verify"),
                ("finding", "close"),
                (ca, "close"),
            ]
        );
        assert!(rows.iter().all(|r| r["actor_id"].is_string()
            && r["request_id"].is_string()
            && r["at"].is_string()));
        let plan = &rows[2]["changes"];
        assert_eq!(plan["root_cause"]["after"], "No approval gate");
        assert_eq!(plan["action_plan"]["after"], "Add a gate");
        let verifications: Vec<(Value, Value)> = [&rows[5], &rows[7]]
            .iter()
            .map(|r| {
                (
                    r["changes"]["state"]["after"].clone(),
                    r["changes"]["effectiveness_review"]["after"].clone(),
                )
            })
            .collect();
        assert_eq!(
            verifications,
            vec![
                (
                    json!("action_planned"),
                    json!("Changes still bypass the gate")
                ),
                (json!("verified"), json!("No bypass in 30 days")),
            ]
        );
        assert_eq!(
            rows[8]["changes"]["state"],
            json!({"before": "open", "after": "closed"})
        );
        assert_eq!(
            rows[8]["request_id"], rows[9]["request_id"],
            "one request, one transaction"
        );
    }
);

both!(
    cancelling_needs_a_reason_and_spares_certification_findings,
    |app: TestApp| async move {
        let manager = app.token_for("manager").await;
        let (owner_id, owner) = app.user_with_roles(&["contributor"]).await;
        let stage2 = finding(
            &app,
            "certification_stage2",
            "major_nonconformity",
            Some("8.5.1"),
            None,
        )
        .await;
        let certified = create(
        &app,
        &manager,
        json!({"title": "Certification", "nonconformity": "x", "source": "audit_finding", "finding_id": stage2}),
    )
    .await;
        let (status, problem) = step(
            &app,
            &manager,
            certified["id"].as_str().unwrap(),
            json!({"action": "cancel", "reason": "Too hard"}),
        )
        .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["finding_id"]);

        let internal = finding(&app, "internal", "major_nonconformity", Some("8.5.1"), None).await;
        let from_internal = create(
        &app,
        &manager,
        json!({"title": "Internal", "nonconformity": "x", "source": "audit_finding", "finding_id": internal}),
    )
    .await;
        let (status, body) = step(
            &app,
            &manager,
            from_internal["id"].as_str().unwrap(),
            json!({"action": "cancel", "reason": "Duplicate"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            finding_state(&app, &internal).await,
            (0, 1),
            "only closing closes the finding"
        );

        let plain = create(&app, &manager, incident("Plain", Some(&owner_id))).await;
        let id = plain["id"].as_str().unwrap();
        let (status, problem) = step(
            &app,
            &owner,
            id,
            json!({"action": "cancel", "reason": "Mine"}),
        )
        .await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        let (status, problem) = step(
            &app,
            &manager,
            id,
            json!({"action": "cancel", "reason": " "}),
        )
        .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["reason"]);
        let (status, body) = step(
            &app,
            &manager,
            id,
            json!({"action": "cancel", "reason": "Not a nonconformity"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (body["state"].clone(), body["cancel_reason"].clone()),
            (json!("cancelled"), json!("Not a nonconformity"))
        );
        let (_, history) = app.get(&format!("{BASE}/{id}/history"), &manager).await;
        let cancel = &history["items"][1];
        assert_eq!(cancel["action"], "cancel");
        assert_eq!(
            cancel["changes"]["cancel_reason"]["after"],
            "Not a nonconformity"
        );
    }
);

both!(
    overdue_filters_sorts_and_allowed_actions,
    |app: TestApp| async move {
        let manager = app.token_for("manager").await;
        let owner_email = format!("owner-{}@example.com", test_id());
        let owner_id = app.person(&owner_email, &["contributor"]).await;
        let owner = app.login(&owner_email, PASSWORD).await;
        let process = app.process("CHG", None).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let today = app.clock.today();
        let soon = (today + chrono::Duration::days(1)).to_string();
        let later = (today + chrono::Duration::days(10)).to_string();
        let mut ids = Vec::new();
        for (title, due, source, owned) in [
            ("Bravo", Some(soon.as_str()), "incident", true),
            ("Alpha", Some(later.as_str()), "complaint", false),
            ("Charlie", None, "monitoring", true),
            ("Delta", Some(soon.as_str()), "other", false),
        ] {
            let body = json!({"title": title, "nonconformity": format!("About {title}"), "source": source,
                          "due_date": due, "owner_id": owned.then_some(&owner_id),
                          "clause": owned.then_some("8.5.1"), "process_id": owned.then_some(&process)});
            ids.push(
                create(&app, &manager, body).await["id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        // Delta is done: verified items are not overdue.
        app.raw_sql(&format!(
            "UPDATE corrective_actions SET state = 'verified' WHERE id = '{}'",
            ids[3]
        ))
        .await;

        let titles = |page: &Value| -> Vec<String> {
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["title"].as_str().unwrap().to_string())
                .collect()
        };
        let (_, none) = app.get(&format!("{BASE}?overdue=true"), &owner).await;
        assert_eq!(titles(&none), Vec::<String>::new());

        app.clock.advance(chrono::Duration::days(3));
        let owner = app.login(&owner_email, PASSWORD).await;
        let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let (_, overdue) = app.get(&format!("{BASE}?overdue=true"), &owner).await;
        assert_eq!(titles(&overdue), vec!["Bravo"]);
        assert_eq!(overdue["items"][0]["overdue"], true);
        let (_, not_overdue) = app
            .get(&format!("{BASE}?overdue=false&sort=title"), &owner)
            .await;
        assert_eq!(titles(&not_overdue), vec!["Alpha", "Charlie", "Delta"]);

        let (_, by_due) = app.get(&format!("{BASE}?sort=due_date"), &owner).await;
        assert_eq!(titles(&by_due), vec!["Bravo", "Delta", "Alpha", "Charlie"]);
        let (_, by_due_desc) = app.get(&format!("{BASE}?sort=-due_date"), &owner).await;
        assert_eq!(
            titles(&by_due_desc),
            vec!["Alpha", "Delta", "Bravo", "Charlie"],
            "empty due dates last"
        );
        let (_, paged) = app
            .get(&format!("{BASE}?sort=due_date&limit=3"), &owner)
            .await;
        let cursor = paged["next_cursor"].as_str().unwrap();
        let (_, rest) = app
            .get(
                &format!("{BASE}?sort=due_date&limit=3&cursor={cursor}"),
                &owner,
            )
            .await;
        assert_eq!(titles(&rest), vec!["Charlie"]);
        let (_, by_created) = app.get(&format!("{BASE}?sort=-created_at"), &owner).await;
        assert_eq!(
            titles(&by_created),
            vec!["Delta", "Charlie", "Alpha", "Bravo"]
        );

        for (query, expected) in [
            (format!("owner_id={owner_id}"), vec!["Bravo", "Charlie"]),
            ("source=complaint".to_string(), vec!["Alpha"]),
            ("clause=8.5.1".to_string(), vec!["Bravo", "Charlie"]),
            (format!("process_id={process}"), vec!["Bravo", "Charlie"]),
            ("state=verified".to_string(), vec!["Delta"]),
            ("state=open&q=ABOUT%20c".to_string(), vec!["Charlie"]),
            ("q=%25".to_string(), vec![]),
        ] {
            let (status, page) = app.get(&format!("{BASE}?{query}&sort=title"), &owner).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            assert_eq!(titles(&page), expected, "{query}");
        }
        for bad in ["overdue=maybe", "sort=owner", "source=rumour", "state=done"] {
            let (status, problem) = app.get(&format!("{BASE}?{bad}"), &owner).await;
            assert_problem(
                status,
                &problem,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            );
        }

        // A contributor sees buttons only on their own corrective actions.
        let (_, listed) = app.get(&format!("{BASE}?sort=title"), &owner).await;
        let buttons: Vec<Value> = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["allowed_actions"].clone())
            .collect();
        assert_eq!(
            buttons,
            vec![
                json!([]),
                json!(["investigate"]),
                json!(["investigate"]),
                json!([])
            ]
        );
        let (_, as_admin) = app.get(&format!("{BASE}?sort=title"), &admin).await;
        assert_eq!(
            as_admin["items"][0]["allowed_actions"],
            json!(["investigate", "cancel"])
        );
        assert_eq!(
            as_admin["items"][3]["allowed_actions"],
            json!(["close", "cancel"])
        );
        let (_, other) = app.get(&format!("{BASE}/{}", ids[1]), &owner).await;
        assert_eq!(other["allowed_actions"], json!([]));
        let (status, problem) = step(
            &app,
            &owner,
            &ids[1],
            json!({"action": "investigate", "correction": "x"}),
        )
        .await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
    }
);

both!(
    concurrent_transitions_with_one_if_match,
    |app: TestApp| async move {
        let app = Arc::new(app);
        let manager = app.token_for("manager").await;
        let id = create(&app, &manager, incident("Contested", None)).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let path = format!("{BASE}/{id}/transitions");
        let writers = (0..6).map(|i| {
            let (app, path) = (app.clone(), path.clone());
            tokio::spawn(async move {
                let body = json!({"action": "investigate", "correction": format!("writer {i}")});
                app.if_match(Method::POST, &path, Some(body), 1).await.0
            })
        });
        let statuses: Vec<StatusCode> = futures_util::future::join_all(writers)
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        let won = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        let refused = statuses
            .iter()
            .filter(|s| **s == StatusCode::PRECONDITION_FAILED)
            .count();
        assert_eq!((won, refused), (1, 5), "{statuses:?}");
        let (_, history) = app.get(&format!("{BASE}/{id}/history"), &manager).await;
        assert_eq!(history["items"].as_array().unwrap().len(), 2, "{history}");
    }
);
