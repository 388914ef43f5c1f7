use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{TestApp, assert_problem, id};

/// An auditor: (user id, token).
async fn auditor(app: &TestApp) -> (String, String) {
    app.user_with_roles(&["auditor"]).await
}

async fn plan(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, audit) = app.post("/api/v1/audits", token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{audit}");
    audit
}

async fn act(app: &TestApp, token: &str, audit: &str, action: &str) -> (StatusCode, Value) {
    app.post(
        &format!("/api/v1/audits/{audit}/transitions"),
        token,
        json!({"action": action}),
    )
    .await
}

both!(crud_with_every_field, |app: TestApp| async move {
    let (lead, token) = auditor(&app).await;
    let (other, _) = auditor(&app).await;
    let process = id(&app.process("INC", None).await);
    let audit = plan(
        &app,
        &token,
        json!({"title": " Internal audit Q1 ", "kind": "internal", "scope_clauses": ["8.6.1", "8.6.1"],
               "scope_process_ids": [process], "criteria": "ISO/IEC 20000-1:2018",
               "planned_start": "2027-03-01", "planned_end": "2027-03-03",
               "lead_auditor_id": lead, "auditor_ids": [other, lead], "summary": null}),
    )
    .await;
    assert_eq!(audit["title"], "Internal audit Q1");
    assert_eq!(audit["state"], "planned");
    assert_eq!(audit["scope_clauses"], json!(["8.6.1"]));
    assert_eq!(audit["scope_process_ids"], json!([process]));
    assert_eq!(
        audit["auditor_ids"],
        json!([other]),
        "the lead is named once"
    );
    assert_eq!(audit["allowed_actions"], json!(["start", "cancel"]));
    assert_eq!(
        (audit["findings_count"].as_u64(), audit["version"].as_i64()),
        (Some(0), Some(1))
    );
    let audit_id = id(&audit);
    let path = format!("/api/v1/audits/{audit_id}");

    let viewer = app.token_for("viewer").await;
    let (status, read, headers) = app.call_full(Method::GET, &path, &viewer, None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["etag"], "\"1\"");
    assert_eq!(read["allowed_actions"], json!([]));
    assert_eq!(read["planned_end"], "2027-03-03");

    let (status, changed) = app
        .patch(
            &path,
            &token,
            json!({"summary": "All good", "criteria": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (changed["version"].as_i64(), changed["criteria"].is_null()),
        (Some(2), true)
    );
    let (status, body, _) = app
        .if_match(Method::PATCH, &path, Some(json!({"title": "x"})), 1)
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    );

    // Someone else's audit: another auditor, a manager, a viewer.
    let (_, outsider) = auditor(&app).await;
    let manager = app.token_for("manager").await;
    for who in [&outsider, &manager, &viewer] {
        let (status, body) = app.patch(&path, who, json!({"title": "Mine"})).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, body) = app.call(Method::DELETE, &path, who, None).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    }
    for role in ["viewer", "contributor", "manager"] {
        let token = app.token_for(role).await;
        let (status, body) = app
            .post(
                "/api/v1/audits",
                &token,
                json!({"title": "A", "kind": "internal"}),
            )
            .await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    }
    // Unassigned audits belong to the programme: any auditor plans them.
    let open = plan(
        &app,
        &outsider,
        json!({"title": "Later", "kind": "surveillance"}),
    )
    .await;
    let (status, _) = app
        .patch(
            &format!("/api/v1/audits/{}", id(&open)),
            &token,
            json!({"planned_start": "2027-06-01"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let unknown = "/api/v1/audits/00000000-0000-7000-8000-000000000000";
    let (status, body) = app.get(unknown, &viewer).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = app.patch(unknown, &token, json!({"title": "x"})).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");

    let (status, _, _) = app.if_match(Method::DELETE, &path, None, 2).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&path, &viewer).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});

both!(bad_input_writes_nothing, |app: TestApp| async move {
    let (lead, token) = auditor(&app).await;
    let (manager_id, _) = app.user_with_roles(&["manager"]).await;
    let before = app.count_rows("audits").await;
    let trail = app.count_rows("audit_trail").await;
    let cases = [
        (
            json!({"title": "A", "kind": "internal", "planned_start": "2027-03-02", "planned_end": "2027-03-01"}),
            "planned_end",
        ),
        (json!({"title": " ", "kind": "internal"}), "title"),
        (
            json!({"title": "A", "kind": "internal", "scope_clauses": ["12.1"]}),
            "scope_clauses[0]",
        ),
        (
            json!({"title": "A", "kind": "internal", "lead_auditor_id": manager_id}),
            "lead_auditor_id",
        ),
        (
            json!({"title": "A", "kind": "internal", "lead_auditor_id": lead, "auditor_ids": ["00000000-0000-7000-8000-000000000000"]}),
            "auditor_ids[0]",
        ),
        (
            json!({"title": "A", "kind": "internal", "scope_process_ids": ["00000000-0000-7000-8000-000000000000"]}),
            "scope_process_ids[0]",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = app.post("/api/v1/audits", &token, body).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    for body in [
        json!({"title": "A", "kind": "audit"}),
        json!({"title": "A", "kind": "internal", "state": "closed"}),
        json!({"kind": "internal"}),
    ] {
        let (status, problem) = app.post("/api/v1/audits", &token, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    }
    // A deactivated auditor cannot join a team.
    let (inactive, _) = auditor(&app).await;
    let (status, _) = app
        .patch(
            &format!("/api/v1/users/{inactive}"),
            &app.admin_token,
            json!({"active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = app
        .post(
            "/api/v1/audits",
            &token,
            json!({"title": "A", "kind": "internal", "lead_auditor_id": inactive}),
        )
        .await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(app.count_rows("audits").await, before);
    assert_eq!(
        app.count_rows("audit_trail").await,
        trail + 2,
        "only the new user and its deactivation"
    );
    let (status, problem) = app.get("/api/v1/audits?from=soon", &token).await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let (status, _) = app.get("/api/v1/audits?sort=state", &token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
});

/// An SMS role "Incident manager" held by the returned auditor, owning process INC.
async fn owner_of_inc(app: &TestApp) -> (String, String, String, String) {
    let (owner, owner_token) = auditor(app).await;
    let (status, role) = app
        .post(
            "/api/v1/roles",
            &app.admin_token,
            json!({"name": "Incident manager", "member_ids": [owner]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    let role = id(&role);
    let process = id(&app.process("INC", Some(&role)).await);
    (owner, owner_token, role, process)
}

both!(
    impartiality_on_create_change_and_start,
    |app: TestApp| async move {
        let (owner, _, role, inc) = owner_of_inc(&app).await;
        let (lead, token) = auditor(&app).await;
        let other = id(&app.process("CHG", None).await);

        let (status, problem) = app
        .post("/api/v1/audits", &token, json!({"title": "A", "kind": "internal", "scope_process_ids": [inc], "lead_auditor_id": lead, "auditor_ids": [owner]}))
        .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(problem["errors"][0]["field"], "auditor_ids[0]", "{problem}");
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("process INC") && message.contains("SMS role Incident manager"),
            "{message}"
        );

        // Out of scope, the owner may audit; bringing INC into scope is refused.
        let audit = plan(&app, &token, json!({"title": "A", "kind": "internal", "scope_process_ids": [other], "lead_auditor_id": lead, "auditor_ids": [owner]})).await;
        let path = format!("/api/v1/audits/{}", id(&audit));
        let (status, problem) = app
            .patch(&path, &token, json!({"scope_process_ids": [other, inc]}))
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(problem["errors"][0]["field"], "auditor_ids[0]");

        // With INC in scope, the owner may not join the team, not even as lead.
        let (status, body) = app
            .patch(
                &path,
                &token,
                json!({"scope_process_ids": [inc], "auditor_ids": null}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, problem) = app
            .patch(&path, &token, json!({"auditor_ids": [owner]}))
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        let (status, problem) = app
            .patch(&path, &token, json!({"lead_auditor_id": owner}))
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(problem["errors"][0]["field"], "lead_auditor_id");

        // The lead takes the role over after planning: the start is refused.
        let (status, body) = app
            .patch(
                &format!("/api/v1/roles/{role}"),
                &app.admin_token,
                json!({"member_ids": [owner, lead]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, problem) = act(&app, &token, &id(&audit), "start").await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(
            problem["errors"][0]["field"], "lead_auditor_id",
            "{problem}"
        );
        let (_, still) = app.get(&path, &token).await;
        assert_eq!(still["state"], "planned");
    }
);

both!(workflow_and_who_moves_it, |app: TestApp| async move {
    let (lead, token) = auditor(&app).await;
    let (member, member_token) = auditor(&app).await;
    let (_, outsider) = auditor(&app).await;
    let manager = app.token_for("manager").await;
    let viewer = app.token_for("viewer").await;
    let audit = plan(&app, &token, json!({"title": "A", "kind": "internal"})).await;
    let audit = id(&audit);
    let path = format!("/api/v1/audits/{audit}");

    let (status, problem) = act(&app, &app.admin_token, &audit, "start").await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "precondition_missing",
    );
    let fields: Vec<_> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(fields, [json!("lead_auditor_id"), json!("scope_clauses")]);

    let (status, _) = app
        .patch(
            &path,
            &token,
            json!({"lead_auditor_id": lead, "auditor_ids": [member], "scope_clauses": ["9.2"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for who in [&outsider, &manager, &viewer] {
        let (status, problem) = act(&app, who, &audit, "start").await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
    }
    let (status, problem) = act(&app, &token, &audit, "close").await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "invalid_transition");
    assert_eq!(problem["allowed_actions"], json!(["start", "cancel"]));
    let (status, body, _) = app
        .if_match(
            Method::POST,
            &format!("{path}/transitions"),
            Some(json!({"action": "start"})),
            1,
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    );

    let (status, body) = act(&app, &member_token, &audit, "start").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["state"].as_str(), body["started_at"].is_string()),
        (Some("in_progress"), true)
    );
    assert_eq!(body["allowed_actions"], json!(["report", "cancel"]));
    // A started audit keeps its lead and scope.
    let (status, problem) = app
        .patch(&path, &token, json!({"lead_auditor_id": null}))
        .await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "precondition_missing",
    );

    let (status, finding) = app
        .post(&format!("{path}/findings"), &member_token, json!({"type": "minor_nonconformity", "clause": "9.2", "statement": "The programme misses 8.6"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{finding}");
    let (status, body) = act(&app, &token, &audit, "report").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["findings_count"].as_u64(),
            body["open_nonconformities"].as_u64()
        ),
        (Some(1), Some(1))
    );

    let (status, problem) = act(&app, &token, &audit, "close").await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "precondition_missing",
    );
    assert_eq!(problem["errors"][0]["field"], "findings");
    app.raw_sql(&format!(
        "INSERT INTO corrective_actions (id, title, nonconformity, source, finding_id, state, version, created_at, updated_at) \
         VALUES ('{}', 'Fix the programme', 'The programme misses 8.6', 'audit_finding', '{}', 'open', 1, '2026-11-25T00:00:00Z', '2026-11-25T00:00:00Z')",
        uuid::Uuid::now_v7(), id(&finding)
    )).await;
    let (status, closed) = act(&app, &token, &audit, "close").await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(
        (closed["state"].as_str(), closed["closed_at"].is_string()),
        (Some("closed"), true)
    );
    assert_eq!(closed["allowed_actions"], json!([]));
    let (status, problem) = act(&app, &token, &audit, "cancel").await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "invalid_transition");
    let (status, problem) = app.patch(&path, &token, json!({"summary": "late"})).await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
    let (status, problem) = app.call(Method::DELETE, &path, &token, None).await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");

    // Managers cancel, but do not run audits.
    let other = plan(&app, &token, json!({"title": "B", "kind": "external"})).await;
    let (status, body) = act(&app, &manager, &id(&other), "cancel").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "cancelled");
    let (_, trail) = app
        .get(
            &format!("/api/v1/audit-trail?entity_id={audit}"),
            &app.admin_token,
        )
        .await;
    let actions: Vec<_> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert!(
        actions.contains(&"close".to_string()) && actions.contains(&"start".to_string()),
        "{actions:?}"
    );
    assert!(
        !trail.to_string().contains("findings_count"),
        "computed fields stay out of the trail"
    );
});

both!(findings_rules, |app: TestApp| async move {
    let (lead, token) = auditor(&app).await;
    let (_, outsider) = auditor(&app).await;
    let viewer = app.token_for("viewer").await;
    let process = id(&app.process("INC", None).await);
    let audit = plan(
        &app,
        &token,
        json!({"title": "A", "kind": "internal", "scope_clauses": ["8"], "lead_auditor_id": lead}),
    )
    .await;
    let audit = id(&audit);
    let findings = format!("/api/v1/audits/{audit}/findings");
    let nc = json!({"type": "major_nonconformity", "clause": "8.6.1", "process_id": process, "statement": "Incidents are not\nclassified", "evidence": "INC-1, INC-7"});

    let (status, problem) = app.post(&findings, &token, nc.clone()).await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
    let (status, _) = act(&app, &token, &audit, "start").await;
    assert_eq!(status, StatusCode::OK);
    for who in [&outsider, &viewer, &app.admin_token] {
        let (status, problem) = app.post(&findings, who, nc.clone()).await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
    }
    let before = app.count_rows("findings").await;
    for (body, field) in [
        (
            json!({"type": "minor_nonconformity", "statement": "x"}),
            "clause",
        ),
        (
            json!({"type": "observation", "clause": "99", "statement": "x"}),
            "clause",
        ),
        (
            json!({"type": "observation", "statement": "  "}),
            "statement",
        ),
        (
            json!({"type": "observation", "statement": "x", "process_id": "00000000-0000-7000-8000-000000000000"}),
            "process_id",
        ),
    ] {
        let (status, problem) = app.post(&findings, &token, body).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let (status, problem) = app
        .post(
            &findings,
            &token,
            json!({"type": "defect", "statement": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(app.count_rows("findings").await, before);
    let (status, problem) = app
        .post(
            "/api/v1/audits/00000000-0000-7000-8000-000000000000/findings",
            &token,
            nc.clone(),
        )
        .await;
    assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");

    let (status, major) = app.post(&findings, &token, nc.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{major}");
    assert_eq!(
        (major["state"].as_str(), major["recorded_by"].as_str()),
        (Some("open"), Some(lead.as_str()))
    );
    assert_eq!(
        major["allowed_actions"],
        json!(["close"]),
        "shown; its answer names what is missing"
    );
    let (_, observation) = app
        .post(
            &findings,
            &token,
            json!({"type": "observation", "statement": "Runbooks are old"}),
        )
        .await;

    let (_, all) = app
        .get(&format!("{findings}?include_total=true"), &viewer)
        .await;
    assert_eq!(all["total"], 2);
    let (_, by_type) = app
        .get(&format!("{findings}?type=observation"), &viewer)
        .await;
    assert_eq!(by_type["items"][0]["id"], observation["id"]);
    let (_, by_clause) = app
        .get(
            &format!("/api/v1/findings?clause=8.6.1&audit_id={audit}"),
            &viewer,
        )
        .await;
    assert_eq!(by_clause["items"].as_array().unwrap().len(), 1);
    let (_, by_process) = app
        .get(&format!("/api/v1/findings?process_id={process}"), &viewer)
        .await;
    assert_eq!(by_process["items"][0]["id"], major["id"]);
    let (status, problem) = app
        .get(
            "/api/v1/audits/00000000-0000-7000-8000-000000000000/findings",
            &viewer,
        )
        .await;
    assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");

    let major_path = format!("/api/v1/findings/{}", id(&major));
    let (status, read, headers) = app
        .call_full(Method::GET, &major_path, &viewer, None, &[])
        .await;
    assert_eq!(
        (status, headers["etag"].to_str().unwrap()),
        (StatusCode::OK, "\"1\"")
    );
    assert_eq!(read["allowed_actions"], json!([]));
    let (status, problem) = app
        .patch(&major_path, &outsider, json!({"evidence": "mine"}))
        .await;
    assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
    let (status, problem) = app
        .patch(&major_path, &token, json!({"clause": null}))
        .await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let (status, changed) = app
        .patch(&major_path, &token, json!({"type": "minor_nonconformity"}))
        .await;
    assert_eq!(
        (status, changed["version"].as_i64()),
        (StatusCode::OK, Some(2)),
        "{changed}"
    );
    let (status, problem, _) = app
        .if_match(
            Method::PATCH,
            &major_path,
            Some(json!({"evidence": "x"})),
            1,
        )
        .await;
    assert_problem(
        status,
        &problem,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    );
    let (status, problem) = app
        .get(
            "/api/v1/findings/00000000-0000-7000-8000-000000000000",
            &viewer,
        )
        .await;
    assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");

    let (status, problem) = app
        .post(
            &format!("{major_path}/transitions"),
            &token,
            json!({"action": "close"}),
        )
        .await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "precondition_missing",
    );
    let observation_path = format!("/api/v1/findings/{}", id(&observation));
    let (status, problem) = app
        .post(
            &format!("{observation_path}/transitions"),
            &outsider,
            json!({"action": "close"}),
        )
        .await;
    assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
    let (status, closed) = app
        .post(
            &format!("{observation_path}/transitions"),
            &token,
            json!({"action": "close"}),
        )
        .await;
    assert_eq!(
        (status, closed["state"].as_str()),
        (StatusCode::OK, Some("closed")),
        "{closed}"
    );
    let (_, open) = app.get("/api/v1/findings?state=open", &viewer).await;
    assert_eq!(open["items"].as_array().unwrap().len(), 1);

    // Once the audit is cancelled, its findings are kept as they are.
    let (status, _) = act(&app, &token, &audit, "cancel").await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = app
        .patch(&major_path, &token, json!({"evidence": "later"}))
        .await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
    let (status, problem) = app.post(&findings, &token, nc).await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
});

both!(programme_by_period_and_filters, |app: TestApp| async move {
    let (lead, token) = auditor(&app).await;
    let process = id(&app.process("INC", None).await);
    let mut ids = Vec::new();
    for (title, kind, start, end) in [
        ("march", "internal", Some("2027-03-01"), Some("2027-03-05")),
        (
            "mid-march",
            "external",
            Some("2027-03-10"),
            Some("2027-03-12"),
        ),
        ("april", "internal", Some("2027-04-01"), None),
        ("undated", "internal", None, None),
    ] {
        let audit = plan(&app, &token, json!({"title": title, "kind": kind, "planned_start": start, "planned_end": end, "scope_clauses": ["9.2"], "scope_process_ids": if title == "march" { vec![process.clone()] } else { vec![] }, "lead_auditor_id": if title == "april" { Some(&lead) } else { None }})).await;
        ids.push(id(&audit));
    }
    let titles = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, page) = app
        .get(
            "/api/v1/audits?from=2027-03-05&to=2027-03-10&sort=planned_start",
            &token,
        )
        .await;
    assert_eq!(titles(&page), ["march", "mid-march"]);
    let (_, page) = app
        .get("/api/v1/audits?from=2027-03-06&to=2027-03-09", &token)
        .await;
    assert_eq!(titles(&page), Vec::<String>::new());
    let (_, page) = app.get("/api/v1/audits?from=2027-04-01", &token).await;
    assert_eq!(titles(&page), ["april"]);
    let (_, page) = app.get("/api/v1/audits?sort=-planned_start", &token).await;
    assert_eq!(
        titles(&page),
        ["april", "mid-march", "march", "undated"],
        "no date comes last"
    );
    let (_, page) = app.get("/api/v1/audits?kind=external", &token).await;
    assert_eq!(titles(&page), ["mid-march"]);
    let (_, page) = app
        .get(&format!("/api/v1/audits?process_id={process}"), &token)
        .await;
    assert_eq!(titles(&page), ["march"]);
    let (_, page) = app
        .get(&format!("/api/v1/audits?lead_auditor_id={lead}"), &token)
        .await;
    assert_eq!(titles(&page), ["april"]);
    let (_, page) = app
        .get(&format!("/api/v1/audits?auditor_id={lead}"), &token)
        .await;
    assert_eq!(titles(&page), ["april"]);
    let (_, page) = app
        .get(
            "/api/v1/audits?clause=9.2&state=planned&include_total=true",
            &token,
        )
        .await;
    assert_eq!(page["total"], 4);
    let (_, page) = app.get("/api/v1/audits?clause=8.6.1", &token).await;
    assert_eq!(titles(&page), Vec::<String>::new());
    let (_, page) = app
        .get("/api/v1/audits?sort=created_at&limit=3", &token)
        .await;
    assert_eq!(titles(&page), ["march", "mid-march", "april"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = app
        .get(
            &format!("/api/v1/audits?sort=created_at&limit=3&cursor={cursor}"),
            &token,
        )
        .await;
    assert_eq!(titles(&rest), ["undated"]);
});

both!(
    coverage_by_closed_internal_audits,
    |app: TestApp| async move {
        let (lead, token) = auditor(&app).await;
        let inc = id(&app.process("INC", None).await);
        let chg = id(&app.process("CHG", None).await);
        let run = |kind: &'static str, clauses: Value, processes: Value| {
            let (app, token, lead) = (&app, &token, &lead);
            async move {
                let audit = plan(app, token, json!({"title": kind, "kind": kind, "scope_clauses": clauses, "scope_process_ids": processes, "lead_auditor_id": lead})).await;
                for action in ["start", "report", "close"] {
                    let (status, body) = act(app, token, &id(&audit), action).await;
                    assert_eq!(status, StatusCode::OK, "{body}");
                }
            }
        };
        let (status, empty) = app
            .get(
                "/api/v1/reports/audit-coverage",
                &app.token_for("viewer").await,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{empty}");
        assert_eq!(empty["uncovered_clauses"].as_array().unwrap().len(), 77);
        assert_eq!(empty["uncovered_process_ids"].as_array().unwrap().len(), 2);

        run("external", json!(["9.2"]), json!([chg])).await;
        app.clock.advance(chrono::Duration::minutes(1));
        run("internal", json!(["8.6"]), json!([inc])).await;
        // A planned internal audit covers nothing yet.
        plan(&app, &token, json!({"title": "next", "kind": "internal", "scope_clauses": ["9.2"], "scope_process_ids": [chg]})).await;

        let (_, report) = app.get("/api/v1/reports/audit-coverage", &token).await;
        let clause = |n: &str| {
            report["clauses"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["clause"] == n)
                .unwrap()
                .clone()
        };
        assert!(clause("8.6").get("last_covered_at").unwrap().is_string());
        assert_eq!(
            clause("8.6.1")["last_covered_at"],
            clause("8.6")["last_covered_at"],
            "a clause covers its sub-clauses"
        );
        assert!(
            clause("9.2")["last_covered_at"].is_null(),
            "external audits do not count"
        );
        assert!(clause("8")["last_covered_at"].is_null());
        let uncovered = report["uncovered_clauses"].as_array().unwrap();
        assert!(uncovered.contains(&json!("9.2")) && !uncovered.contains(&json!("8.6.2")));
        assert_eq!(report["uncovered_process_ids"], json!([chg]));
        let process = report["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["process_id"] == inc)
            .unwrap();
        assert_eq!(process["code"], "INC");
        assert!(process["last_covered_at"].is_string());
        let (status, problem) = app
            .get("/api/v1/reports/audit-coverage", "not-a-token")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    }
);
