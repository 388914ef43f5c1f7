use chrono::{Duration, SecondsFormat};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, assert_problem, id};

fn plan() -> Value {
    json!({"what": "Automate triage", "resources": "Two engineers", "responsible": "Service desk lead", "completion": "By year end", "evaluation": "Monthly report"})
}

/// A complete objective body, ready to activate.
fn complete(title: &str) -> Value {
    json!({"title": title, "metric": "P1 restored within 4 h", "unit": "%", "baseline": 80.0, "target": 90.0, "comparator": "gte", "plan": plan()})
}

async fn create(app: &TestApp, body: Value) -> Value {
    let (status, created) = app.post("/api/v1/objectives", &app.admin_token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

async fn act(app: &TestApp, id: &str, body: Value) -> (StatusCode, Value) {
    app.post(
        &format!("/api/v1/objectives/{id}/transitions"),
        &app.admin_token,
        body,
    )
    .await
}

async fn active(app: &TestApp, body: Value) -> String {
    let id = id(&create(app, body).await);
    let (status, body) = act(app, &id, json!({"action": "activate"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

fn now_text(app: &TestApp) -> String {
    app.clock.now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

async fn measure(
    app: &TestApp,
    token: &str,
    id: &str,
    value: f64,
    at: &str,
) -> (StatusCode, Value) {
    app.post(
        &format!("/api/v1/objectives/{id}/measurements"),
        token,
        json!({"value": value, "measured_at": at}),
    )
    .await
}

fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["title"].as_str().unwrap().to_string())
        .collect()
}

both!(crud_with_every_field, |app: TestApp| async move {
    let manager = app.token_for("manager").await;
    let viewer = app.token_for("viewer").await;
    let owner = app.role("Service desk").await;
    let process = id(&app.process("INC", Some(&owner)).await);
    let mut body = complete("Restore P1 within 4 h");
    body["description"] = json!("Faster restoration");
    body["process_id"] = json!(process);
    body["owner_role_id"] = json!(owner);
    body["due_date"] = json!("2027-01-31");
    let (status, created, headers) = app
        .call_full(
            Method::POST,
            "/api/v1/objectives",
            &manager,
            Some(body),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = id(&created);
    assert_eq!(
        headers["location"],
        format!("/api/v1/objectives/{id}").as_str()
    );
    assert_eq!(created["state"], "draft");
    assert_eq!(created["clauses"], json!(["6.2"]));
    assert_eq!(created["plan"], plan());
    assert_eq!(created["comparator"], "gte");
    assert_eq!(created["attainment"], "no_data");
    assert_eq!(created["latest_value"], Value::Null);
    assert_eq!(created["trend"], Value::Null);
    assert_eq!(created["allowed_actions"], json!(["activate", "cancel"]));

    let (status, read, headers) = app
        .call_full(
            Method::GET,
            &format!("/api/v1/objectives/{id}"),
            &viewer,
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["etag"], "\"1\"");
    assert_eq!(read["due_date"], "2027-01-31");
    assert_eq!(read["process_id"], process.as_str());
    assert_eq!(read["allowed_actions"], json!([]));

    // The plan merges field by field.
    let (status, patched) = app
        .patch(
            &format!("/api/v1/objectives/{id}"),
            &manager,
            json!({"plan": {"what": "Automate triage and routing", "resources": null}, "clauses": ["6.2", "9.1"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["plan"]["what"], "Automate triage and routing");
    assert_eq!(patched["plan"]["resources"], Value::Null);
    assert_eq!(patched["plan"]["evaluation"], "Monthly report");
    assert_eq!(patched["clauses"], json!(["6.2", "9.1"]));
    assert_eq!(patched["version"], 2);
    let (_, same) = app
        .patch(
            &format!("/api/v1/objectives/{id}"),
            &manager,
            json!({"title": "Restore P1 within 4 h"}),
        )
        .await;
    assert_eq!(
        same["version"], 2,
        "a patch that changes nothing writes nothing"
    );

    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/objectives/{id}"),
            &manager,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.get(&format!("/api/v1/objectives/{id}"), &viewer).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.count_rows("objective_clauses").await, 0);
});

both!(references_and_bad_input, |app: TestApp| async move {
    let missing = "0190a0a0-0000-7000-8000-000000000000";
    let mut body = complete("Ghost");
    body["process_id"] = json!(missing);
    body["owner_role_id"] = json!(missing);
    let (status, problem) = app.post("/api/v1/objectives", &app.admin_token, body).await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let fields: Vec<_> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["process_id", "owner_role_id"]);
    for bad in [
        json!({"title": ""}),
        json!({"title": "x", "clauses": []}),
        json!({"title": "x", "clauses": ["99.9"]}),
        json!({"title": "x", "comparator": "eq"}),
        json!({"title": "x", "target": "high"}),
        json!({"title": "x", "due_date": "soon"}),
        json!({"title": "x", "plan": {"who": "me"}}),
        json!({"title": "x", "state": "active"}),
        json!({"title": "x", "plan": {"what": "a".repeat(2001)}}),
    ] {
        let (status, problem) = app
            .post("/api/v1/objectives", &app.admin_token, bad.clone())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {problem}");
    }
    assert_eq!(app.count_rows("objectives").await, 0);
    let created = create(&app, json!({"title": "Real"})).await;
    let (status, problem) = app
        .patch(
            &format!("/api/v1/objectives/{}", id(&created)),
            &app.admin_token,
            json!({"plan": null}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, problem) = app
        .patch(
            &format!("/api/v1/objectives/{}", id(&created)),
            &app.admin_token,
            json!({"owner_role_id": missing}),
        )
        .await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(problem["errors"][0]["field"], "owner_role_id");
    let (status, problem) = app
        .get(&format!("/api/v1/objectives/{missing}"), &app.admin_token)
        .await;
    assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
});

both!(filters_and_sorts, |app: TestApp| async move {
    let viewer = app.token_for("viewer").await;
    let owner = app.role("Owner").await;
    let process = id(&app.process("INC", None).await);
    let mut a = complete("Alpha uptime");
    a["due_date"] = json!("2027-03-01");
    a["process_id"] = json!(process);
    a["owner_role_id"] = json!(owner);
    a["clauses"] = json!(["9.1"]);
    active(&app, a).await;
    let mut b = complete("Bravo latency");
    b["due_date"] = json!("2027-01-01");
    create(&app, b).await;
    create(&app, json!({"title": "Charlie without date"})).await;
    create(&app, json!({"title": "Delta without date"})).await;

    let (_, page) = app.get("/api/v1/objectives", &viewer).await;
    assert_eq!(
        titles(&page),
        vec![
            "Bravo latency",
            "Alpha uptime",
            "Charlie without date",
            "Delta without date"
        ]
    );
    let (_, page) = app.get("/api/v1/objectives?sort=-due_date", &viewer).await;
    assert_eq!(
        titles(&page)[..2],
        ["Alpha uptime", "Bravo latency"],
        "NULLs last descending too"
    );
    // Paging through the NULL dates.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/api/v1/objectives?sort=due_date&limit=1".to_string();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = app.get(&path, &viewer).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(titles(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
    let (_, page) = app.get("/api/v1/objectives?sort=-title", &viewer).await;
    assert_eq!(titles(&page)[0], "Delta without date");
    let (_, page) = app.get("/api/v1/objectives?sort=created_at", &viewer).await;
    assert_eq!(titles(&page)[0], "Alpha uptime");

    for (query, expected) in [
        ("state=active", vec!["Alpha uptime"]),
        (
            "state=draft&include_total=true",
            vec![
                "Bravo latency",
                "Charlie without date",
                "Delta without date",
            ],
        ),
        (
            &format!("process_id={process}") as &str,
            vec!["Alpha uptime"],
        ),
        (&format!("owner_role_id={owner}"), vec!["Alpha uptime"]),
        ("clause=9.1", vec!["Alpha uptime"]),
        (
            "clause=6.2",
            vec![
                "Bravo latency",
                "Charlie without date",
                "Delta without date",
            ],
        ),
        ("due_before=2027-01-01", vec!["Bravo latency"]),
        ("due_after=2027-01-02", vec!["Alpha uptime"]),
        ("q=LATENCY", vec!["Bravo latency"]),
        ("q=%25", vec![]),
        (
            "attainment=no_data",
            vec![
                "Bravo latency",
                "Alpha uptime",
                "Charlie without date",
                "Delta without date",
            ],
        ),
        ("attainment=met", vec![]),
    ] {
        let (status, page) = app
            .get(&format!("/api/v1/objectives?{query}"), &viewer)
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        assert_eq!(titles(&page), expected, "{query}");
    }
    for bad in [
        "state=open",
        "attainment=great",
        "due_before=soon",
        "sort=metric",
        "clause=x",
    ] {
        let (status, body) = app.get(&format!("/api/v1/objectives?{bad}"), &viewer).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
});

both!(
    attainment_filter_pages_among_the_matches,
    |app: TestApp| async move {
        let mut ids = Vec::new();
        for i in 0..5 {
            let mut body = complete(&format!("Objective {i}"));
            body["due_date"] = json!((app.clock.today() + Duration::days(100 + i)).to_string());
            ids.push(active(&app, body).await);
        }
        let at = now_text(&app);
        // Met: 0, 2, 4. Ahead of the line from baseline to target, however long the test
        // takes (the line rises with the clock): 1, 3.
        for (i, id) in ids.iter().enumerate() {
            let value = if i % 2 == 0 { 95.0 } else { 85.0 };
            let (status, body) = measure(&app, &app.admin_token, id, value, &at).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path =
                "/api/v1/objectives?attainment=met&limit=2&include_total=true".to_string();
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let (_, page) = app.get(&path, &app.admin_token).await;
            assert_eq!(page["total"], 3);
            seen.extend(titles(&page));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!(seen, vec!["Objective 0", "Objective 2", "Objective 4"]);
        let (_, page) = app
            .get("/api/v1/objectives?attainment=on_track", &app.admin_token)
            .await;
        assert_eq!(titles(&page), vec!["Objective 1", "Objective 3"]);
    }
);

both!(workflow, |app: TestApp| async move {
    let draft = id(&create(&app, json!({"title": "Bare"})).await);
    let (status, problem) = act(&app, &draft, json!({"action": "activate"})).await;
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
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec![
            "plan.what",
            "plan.resources",
            "plan.responsible",
            "plan.completion",
            "plan.evaluation",
            "metric",
            "target",
            "comparator"
        ]
    );
    let (status, problem) = act(
        &app,
        &draft,
        json!({"action": "close", "outcome": "achieved"}),
    )
    .await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "invalid_transition");
    assert_eq!(problem["allowed_actions"], json!(["activate", "cancel"]));
    let (status, problem) = act(
        &app,
        &draft,
        json!({"action": "activate", "outcome": "achieved"}),
    )
    .await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let (status, problem) = act(&app, &draft, json!({"action": "activate", "reason": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, cancelled) = act(&app, &draft, json!({"action": "cancel"})).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["state"], "cancelled");
    let (status, problem) = app
        .patch(
            &format!("/api/v1/objectives/{draft}"),
            &app.admin_token,
            json!({"title": "Again"}),
        )
        .await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");

    let achieved = active(&app, complete("Will be achieved")).await;
    let (status, problem) = act(&app, &achieved, json!({"action": "close"})).await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "precondition_missing",
    );
    assert_eq!(problem["errors"][0]["field"], "outcome");
    // An active objective keeps what activation needed.
    let (status, problem) = app
        .patch(
            &format!("/api/v1/objectives/{achieved}"),
            &app.admin_token,
            json!({"plan": {"what": null}}),
        )
        .await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "precondition_missing",
    );
    let (status, problem) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/objectives/{achieved}"),
            &app.admin_token,
            None,
        )
        .await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
    // Stale If-Match.
    let (status, problem, _) = app
        .if_match(
            Method::POST,
            &format!("/api/v1/objectives/{achieved}/transitions"),
            Some(json!({"action": "close", "outcome": "achieved"})),
            1,
        )
        .await;
    assert_problem(
        status,
        &problem,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    );
    let (status, problem, _) = app
        .if_match(
            Method::PATCH,
            &format!("/api/v1/objectives/{achieved}"),
            Some(json!({"title": "T"})),
            1,
        )
        .await;
    assert_problem(
        status,
        &problem,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    );
    let (status, closed, _) = app
        .if_match(
            Method::POST,
            &format!("/api/v1/objectives/{achieved}/transitions"),
            Some(json!({"action": "close", "outcome": "achieved"})),
            2,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["state"], "achieved");
    assert_eq!(closed["allowed_actions"], json!([]));

    let missed = active(&app, complete("Will be missed")).await;
    let (_, closed) = act(
        &app,
        &missed,
        json!({"action": "close", "outcome": "missed"}),
    )
    .await;
    assert_eq!(closed["state"], "missed");
    let cancelled = active(&app, complete("Will be cancelled")).await;
    let (_, body) = act(&app, &cancelled, json!({"action": "cancel"})).await;
    assert_eq!(body["state"], "cancelled");
    let (status, problem) = act(&app, &cancelled, json!({"action": "cancel"})).await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "invalid_transition");
    let (status, problem, _) = app
        .if_match(
            Method::DELETE,
            &format!("/api/v1/objectives/{cancelled}"),
            None,
            1,
        )
        .await;
    assert_problem(
        status,
        &problem,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    );
});

both!(every_refused_role, |app: TestApp| async move {
    let id = id(&create(&app, complete("Guarded")).await);
    for role in ["viewer", "contributor", "auditor"] {
        let token = app.token_for(role).await;
        let (status, body) = app.post("/api/v1/objectives", &token, complete("No")).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, body) = app
            .patch(
                &format!("/api/v1/objectives/{id}"),
                &token,
                json!({"title": "No"}),
            )
            .await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, body) = app
            .post(
                &format!("/api/v1/objectives/{id}/transitions"),
                &token,
                json!({"action": "activate"}),
            )
            .await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, body) = app
            .call(
                Method::DELETE,
                &format!("/api/v1/objectives/{id}"),
                &token,
                None,
            )
            .await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, _) = app.get(&format!("/api/v1/objectives/{id}"), &token).await;
        assert_eq!(status, StatusCode::OK, "{role} reads");
        let (status, _) = app
            .get(&format!("/api/v1/objectives/{id}/measurements"), &token)
            .await;
        assert_eq!(status, StatusCode::OK, "{role} reads measurements");
    }
    for role in ["viewer", "auditor"] {
        let token = app.token_for(role).await;
        let (status, body) = measure(&app, &token, &id, 1.0, &now_text(&app)).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    }
    let (_, read) = app
        .get(&format!("/api/v1/objectives/{id}"), &app.admin_token)
        .await;
    assert_eq!(read["version"], 1);
    assert_eq!(read["state"], "draft");
});

both!(measurement_rules, |app: TestApp| async move {
    let owner = app.role("Service desk").await;
    let mut body = complete("Measured");
    body["owner_role_id"] = json!(owner);
    let draft = id(&create(&app, body.clone()).await);
    let at = now_text(&app);
    let (status, problem) = measure(&app, &app.admin_token, &draft, 81.0, &at).await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");

    let objective = active(&app, body).await;
    let future = (app.clock.now() + Duration::minutes(1)).to_rfc3339();
    let (status, problem) = measure(&app, &app.admin_token, &objective, 81.0, &future).await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(problem["errors"][0]["field"], "measured_at");
    for bad in [
        json!({"value": "high", "measured_at": at}),
        json!({"value": 1.0}),
        json!({"value": 1.0, "measured_at": "yesterday"}),
        json!({"value": 1.0, "measured_at": at, "by": "me"}),
    ] {
        let (status, problem) = app
            .post(
                &format!("/api/v1/objectives/{objective}/measurements"),
                &app.admin_token,
                bad.clone(),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {problem}");
    }
    assert_eq!(app.count_rows("measurements").await, 0);

    let (contributor_id, contributor) = app.user_with_roles(&["contributor"]).await;
    let (status, problem) = measure(&app, &contributor, &objective, 82.0, &at).await;
    assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
    let (status, role) = app
        .patch(
            &format!("/api/v1/roles/{owner}"),
            &app.admin_token,
            json!({"member_ids": [contributor_id]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{role}");
    let (status, m) = measure(&app, &contributor, &objective, 82.0, &at).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    assert_eq!(m["recorded_by"], contributor_id.as_str());
    assert_eq!(m["objective_id"], objective.as_str());
    let (status, problem) = measure(
        &app,
        &contributor,
        "0190a0a0-0000-7000-8000-000000000000",
        1.0,
        &at,
    )
    .await;
    assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");

    // Older measurements may come later: the latest is by measured_at.
    for days in [3, 1, 2] {
        let earlier = (app.clock.now() - Duration::days(days)).to_rfc3339();
        let (status, _) = measure(
            &app,
            &app.admin_token,
            &objective,
            80.0 + days as f64,
            &earlier,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, read, headers) = app
        .call_full(
            Method::GET,
            &format!("/api/v1/objectives/{objective}"),
            &app.admin_token,
            None,
            &[],
        )
        .await;
    assert_eq!(read["latest_value"], 82.0);
    assert_eq!(
        headers["etag"], "\"2\"",
        "a measurement leaves the objective's version"
    );
    assert_eq!(
        app.query_i64("SELECT COUNT(*) AS n FROM audit_trail WHERE entity_type = 'measurement'")
            .await,
        4
    );

    let mut values = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/objectives/{objective}/measurements?limit=3");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = app.get(&path, &app.admin_token).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        values.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["value"].as_f64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(values, vec![82.0, 81.0, 82.0, 83.0]);
    let (_, oldest) = app
        .get(
            &format!("/api/v1/objectives/{objective}/measurements?sort=measured_at&limit=1"),
            &app.admin_token,
        )
        .await;
    assert_eq!(oldest["items"][0]["value"], 83.0);
    let (status, _) = app
        .get(
            "/api/v1/objectives/0190a0a0-0000-7000-8000-000000000000/measurements",
            &app.admin_token,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, closed) = act(
        &app,
        &objective,
        json!({"action": "close", "outcome": "missed"}),
    )
    .await;
    assert_eq!(closed["state"], "missed");
    let (status, problem) = measure(&app, &contributor, &objective, 90.0, &at).await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
});

both!(a_year_of_monthly_measurements, |app: TestApp| async move {
    let mut body = complete("Availability");
    body["baseline"] = json!(80.0);
    body["target"] = json!(92.0);
    body["due_date"] = json!((app.clock.today() + Duration::days(360)).to_string());
    let objective = active(&app, body).await;
    // Month k: the line expects about 80 + k; at risk within 1.2 behind it.
    let months = [
        (81.5, "on_track", None),
        (82.5, "on_track", Some("improving")),
        (82.6, "at_risk", Some("improving")),
        (82.0, "off_track", Some("worsening")),
        (85.5, "on_track", Some("improving")),
        (85.6, "at_risk", Some("improving")),
        (85.6, "off_track", Some("stable")),
        (88.5, "on_track", Some("improving")),
        (89.5, "on_track", Some("improving")),
        (90.2, "on_track", Some("improving")),
        (92.0, "met", Some("improving")),
        (91.0, "at_risk", Some("stable")),
    ];
    for (month, (value, attainment, trend)) in months.into_iter().enumerate() {
        app.clock.advance(Duration::days(30));
        let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let (status, body) = measure(&app, &token, &objective, value, &now_text(&app)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (_, read) = app
            .get(&format!("/api/v1/objectives/{objective}"), &token)
            .await;
        let month = month + 1;
        assert_eq!(read["latest_value"], value, "month {month}");
        assert_eq!(read["attainment"], attainment, "month {month}");
        assert_eq!(read["trend"], json!(trend), "month {month}");
    }
});

both!(processes_show_their_kpis, |app: TestApp| async move {
    let inc = id(&app.process("INC", None).await);
    let chg = id(&app.process("CHG", None).await);
    let mut first = complete("Restore fast");
    first["process_id"] = json!(inc);
    let restore = active(&app, first).await;
    let mut second = complete("Few reopenings");
    second["process_id"] = json!(inc);
    second["comparator"] = json!("lte");
    second["baseline"] = json!(10.0);
    second["target"] = json!(2.0);
    active(&app, second).await;
    let mut draft = complete("Not yet active");
    draft["process_id"] = json!(inc);
    create(&app, draft).await;
    let (status, _) = measure(&app, &app.admin_token, &restore, 95.0, &now_text(&app)).await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, process, headers) = app
        .call_full(
            Method::GET,
            &format!("/api/v1/processes/{inc}"),
            &app.admin_token,
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["etag"], "\"1\"");
    let kpis = process["kpis"].as_array().unwrap();
    assert_eq!(kpis.len(), 2, "{process}");
    assert_eq!(kpis[0]["title"], "Few reopenings");
    assert_eq!(kpis[0]["attainment"], "no_data");
    assert_eq!(kpis[0]["comparator"], "lte");
    assert_eq!(kpis[1]["objective_id"], restore.as_str());
    assert_eq!(kpis[1]["latest_value"], 95.0);
    assert_eq!(kpis[1]["target"], 90.0);
    assert_eq!(kpis[1]["unit"], "%");
    assert_eq!(kpis[1]["metric"], "P1 restored within 4 h");
    assert_eq!(kpis[1]["attainment"], "met");

    let (_, list) = app
        .get("/api/v1/processes?sort=code", &app.admin_token)
        .await;
    assert_eq!(list["items"][0]["id"], chg.as_str());
    assert_eq!(list["items"][0]["kpis"], json!([]));
    assert_eq!(list["items"][1]["kpis"].as_array().unwrap().len(), 2);
    let changes = app
        .query_i64(&format!("SELECT COUNT(*) AS n FROM audit_trail WHERE entity_type = 'process' AND entity_id = '{inc}'"))
        .await;
    assert_eq!(
        changes, 1,
        "KPIs are computed, not recorded for the process"
    );
});
