//! Risks and opportunities (clause 6.1): the register, score and level, the workflow, the
//! links to corrective actions and improvements, filters and sorts.

use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{TestApp, assert_problem, fields};

const BASE: &str = "/api/v1/risks";

static IDS: AtomicUsize = AtomicUsize::new(1);

fn test_id() -> String {
    format!(
        "00000000-0000-7000-9000-{:012}",
        IDS.fetch_add(1, Ordering::SeqCst)
    )
}

fn risk(title: &str, likelihood: i64, impact: i64) -> Value {
    json!({"title": title, "kind": "risk", "likelihood": likelihood, "impact": impact})
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, created) = app.post(BASE, token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

async fn step(app: &TestApp, token: &str, id: &str, body: Value) -> (StatusCode, Value) {
    app.post(&format!("{BASE}/{id}/transitions"), token, body)
        .await
}

fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect()
}

fn with(mut body: Value, extra: Value) -> Value {
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

both!(crud_score_level_and_bad_input, |app: TestApp| async move {
    let manager = app.token_for("manager").await;
    let viewer = app.token_for("viewer").await;
    let process = app.process("CHG", None).await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let created = create(
            &app,
            &manager,
            with(
                risk(" Approvals bypassed ", 3, 4),
                json!({"description": "Under time pressure", "process_id": process, "review_due": "2030-06-30"}),
            ),
        )
        .await;
    assert_eq!(created["title"], "Approvals bypassed");
    assert_eq!(created["state"], "identified");
    assert_eq!(
        (created["score"].clone(), created["level"].clone()),
        (json!(12), json!("medium"))
    );
    assert_eq!(
        created["allowed_actions"],
        json!(["treat", "accept", "close"])
    );
    let id = created["id"].as_str().unwrap();
    let path = format!("{BASE}/{id}");

    let (status, read, headers) = app.call_full(Method::GET, &path, &viewer, None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["etag"], "\"1\"");
    assert_eq!(read["process_id"], process);
    assert_eq!(read["allowed_actions"], json!([]), "a viewer may not act");

    let (status, patched, headers) = app
        .if_match(Method::PATCH, &path, Some(json!({"likelihood": 5})), 1)
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (patched["score"].clone(), patched["level"].clone()),
        (json!(20), json!("high"))
    );
    assert_eq!(headers["etag"], "\"2\"");
    assert_eq!(
        app.query_i64(&format!(
            "SELECT CAST(score AS BIGINT) AS n FROM risks WHERE id = '{id}'"
        ))
        .await,
        20,
        "the stored score follows the ratings"
    );
    let db = sea_orm::Database::connect(&app.db_url).await.unwrap();
    for sql in [
        format!("UPDATE risks SET score = 3 WHERE id = '{id}'"),
        format!("UPDATE risks SET likelihood = 6, score = 24 WHERE id = '{id}'"),
    ] {
        assert!(
            sea_orm::ConnectionTrait::execute_unprepared(&db, &sql)
                .await
                .is_err(),
            "the database refuses {sql}"
        );
    }
    db.close().await.ok();
    let (status, low) = app
        .patch(&path, &manager, json!({"likelihood": 1, "impact": 2}))
        .await;
    assert_eq!(status, StatusCode::OK, "{low}");
    assert_eq!(
        (low["score"].clone(), low["level"].clone()),
        (json!(2), json!("low"))
    );
    let (status, body, _) = app
        .if_match(Method::PATCH, &path, Some(json!({"impact": 1})), 2)
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    );

    let (_, trail) = app.get(&format!("{path}/history"), &viewer).await;
    let rows = trail["items"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{trail}");
    assert_eq!(
        rows[1]["changes"],
        json!({"likelihood": {"before": 3, "after": 5}}),
        "the score is computed, never recorded"
    );

    let before = app.count_rows("risks").await;
    for (body, expected) in [
        (risk("t", 0, 3), vec!["likelihood"]),
        (risk("t", 3, 6), vec!["impact"]),
        (risk(" ", 6, 0), vec!["title", "likelihood", "impact"]),
        (
            with(risk("t", 1, 1), json!({"likelihood": "3"})),
            vec!["likelihood"],
        ),
        (
            with(risk("t", 1, 1), json!({"impact": 2.5})),
            vec!["impact"],
        ),
        (
            with(risk("t", 1, 1), json!({"impact": 4_294_967_296_i64})),
            vec!["impact"],
        ),
        (
            json!({"title": "t", "kind": "risk", "likelihood": 2}),
            vec!["impact"],
        ),
        (
            with(risk("t", 1, 1), json!({"kind": "threat"})),
            vec!["kind"],
        ),
        (with(risk("t", 1, 1), json!({"score": 1})), vec!["score"]),
        (
            with(risk("t", 1, 1), json!({"state": "closed"})),
            vec!["state"],
        ),
        (
            with(
                risk("t", 1, 1),
                json!({"owner_role_id": test_id(), "process_id": test_id(),
                           "corrective_action_id": test_id(), "improvement_id": test_id()}),
            ),
            vec![
                "owner_role_id",
                "process_id",
                "corrective_action_id",
                "improvement_id",
            ],
        ),
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
    let (status, problem) = app.patch(&path, &manager, json!({"impact": 9})).await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(fields(&problem), vec!["impact"]);
    let (status, problem) = app.patch(&path, &manager, json!({"impact": null})).await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(app.count_rows("risks").await, before, "nothing written");

    for role in ["viewer", "contributor", "auditor"] {
        let token = app.token_for(role).await;
        let (status, body) = app.post(BASE, &token, risk("t", 1, 1)).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, body) = app.patch(&path, &token, json!({"title": "x"})).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, body) = app.call(Method::DELETE, &path, &token, None).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, body) = step(&app, &token, id, json!({"action": "close"})).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    }
    let (_, nobody) = app.user_with_roles(&[]).await;
    let (status, body) = app.get(&path, &nobody).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");

    let missing = format!("{BASE}/{}", test_id());
    for (method, path, body) in [
        (Method::GET, missing.clone(), None),
        (Method::PATCH, missing.clone(), Some(json!({"title": "x"}))),
        (Method::DELETE, missing.clone(), None),
        (Method::GET, format!("{missing}/history"), None),
        (
            Method::POST,
            format!("{missing}/transitions"),
            Some(json!({"action": "close"})),
        ),
    ] {
        let (status, problem) = app.call(method, &path, &manager, body).await;
        assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
    }

    // A retried POST with the same key answers the first response; another body is 422.
    let key = [("Idempotency-Key", "risk-retry-1")];
    let body = risk("Delete me", 1, 1);
    let (status, other, _) = app
        .call_full(Method::POST, BASE, &manager, Some(body.clone()), &key)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let (status, again, _) = app
        .call_full(Method::POST, BASE, &manager, Some(body), &key)
        .await;
    assert_eq!(
        (status, again["id"].clone()),
        (StatusCode::CREATED, other["id"].clone())
    );
    let (status, problem, _) = app
        .call_full(
            Method::POST,
            BASE,
            &manager,
            Some(risk("Other", 2, 2)),
            &key,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(app.count_rows("risks").await, before + 1);
    let other_path = format!("{BASE}/{}", other["id"].as_str().unwrap());
    let (status, _) = app.call(Method::DELETE, &other_path, &manager, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&other_path, &manager).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});

both!(
    treat_accept_close_and_the_trail,
    |app: TestApp| async move {
        let manager = app.token_for("manager").await;
        let role = app.role("Change manager").await;
        let created = create(&app, &manager, risk("Supplier outage", 4, 4)).await;
        let id = created["id"].as_str().unwrap().to_string();
        let path = format!("{BASE}/{id}");

        let (status, problem) = step(&app, &manager, &id, json!({"action": "treat"})).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["treatment", "owner_role_id"]);
        let (status, problem) = step(
            &app,
            &manager,
            &id,
            json!({"action": "treat", "treatment": "Second supplier", "owner_role_id": test_id()}),
        )
        .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(fields(&problem), vec!["owner_role_id"]);
        let (status, problem) = step(
            &app,
            &manager,
            &id,
            json!({"action": "treat", "treatment": "x", "acceptance_rationale": "y"}),
        )
        .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(fields(&problem), vec!["acceptance_rationale"]);
        let (status, body) = step(
            &app,
            &manager,
            &id,
            json!({"action": "treat", "treatment": "Second supplier", "owner_role_id": role}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (body["state"].clone(), body["owner_role_id"].clone()),
            (json!("treating"), json!(role))
        );
        assert_eq!(body["allowed_actions"], json!(["accept", "close"]));
        let (status, problem) = app.patch(&path, &manager, json!({"treatment": null})).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["treatment"]);
        let (status, problem) = app.call(Method::DELETE, &path, &manager, None).await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");

        let (status, problem) = step(&app, &manager, &id, json!({"action": "accept"})).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["acceptance_rationale"]);
        let (status, body) = step(
            &app,
            &manager,
            &id,
            json!({"action": "accept", "acceptance_rationale": "Residual risk within appetite"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["state"], "accepted");
        assert_eq!(body["allowed_actions"], json!(["treat", "close"]));
        let (status, problem) = step(
            &app,
            &manager,
            &id,
            json!({"action": "accept", "acceptance_rationale": "again"}),
        )
        .await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "invalid_transition");
        assert_eq!(problem["allowed_actions"], json!(["treat", "close"]));

        // Treated again when it grows: the old rationale no longer holds.
        let (status, body) = step(&app, &manager, &id, json!({"action": "treat"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (body["state"].clone(), body["acceptance_rationale"].clone()),
            (json!("treating"), Value::Null)
        );
        let (status, body, _) = app
            .if_match(
                Method::POST,
                &format!("{path}/transitions"),
                Some(json!({"action": "close"})),
                1,
            )
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
        );
        let (status, body) = step(&app, &manager, &id, json!({"action": "close"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (body["state"].clone(), body["allowed_actions"].clone()),
            (json!("closed"), json!([]))
        );
        let (status, problem) = app.patch(&path, &manager, json!({"title": "x"})).await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
        let (status, problem) = step(&app, &manager, &id, json!({"action": "treat"})).await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "invalid_transition");

        // An identified risk within appetite is accepted directly.
        let small = create(&app, &manager, risk("Printer jam", 2, 1)).await;
        let (status, body) = step(
            &app,
            &manager,
            small["id"].as_str().unwrap(),
            json!({"action": "accept", "acceptance_rationale": "Negligible"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["state"], "accepted");

        let (_, history) = app.get(&format!("{path}/history"), &manager).await;
        let rows = history["items"].as_array().unwrap();
        let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
        assert_eq!(actions, vec!["create", "treat", "accept", "treat", "close"]);
        assert_eq!(
            rows[2]["changes"]["acceptance_rationale"]["after"],
            "Residual risk within appetite"
        );
        assert_eq!(
            rows[3]["changes"]["state"],
            json!({"before": "accepted", "after": "treating"})
        );
        let trail = app
            .query_i64(&format!(
                "SELECT COUNT(*) AS n FROM audit_trail WHERE entity_type = 'risk' AND entity_id = '{id}'"
            ))
            .await;
        assert_eq!(trail, 5);
    }
);

both!(
    links_to_a_corrective_action_and_an_improvement,
    |app: TestApp| async move {
        let manager = app.token_for("manager").await;
        let viewer = app.token_for("viewer").await;
        let (status, action) = app
            .post(
                "/api/v1/corrective-actions",
                &manager,
                json!({"title": "Gate changes", "nonconformity": "Changes bypass the CAB", "source": "incident"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{action}");
        let action_id = action["id"].as_str().unwrap().to_string();
        let (status, improvement) = app
            .post(
                "/api/v1/improvements",
                &manager,
                json!({"title": "Automated change checks", "description": "Check every change", "source": "risk"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{improvement}");
        let improvement_id = improvement["id"].as_str().unwrap().to_string();

        let linked = create(
            &app,
            &manager,
            with(
                risk("Unapproved changes", 4, 5),
                json!({"corrective_action_id": action_id}),
            ),
        )
        .await;
        let id = linked["id"].as_str().unwrap().to_string();
        let path = format!("{BASE}/{id}");
        assert_eq!(linked["corrective_action_id"], action_id);
        assert_eq!(linked["improvement_id"], Value::Null);

        let (status, problem) = app
            .patch(&path, &manager, json!({"improvement_id": action_id}))
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(
            fields(&problem),
            vec!["improvement_id"],
            "an id of another kind"
        );
        let (status, body) = app
            .patch(&path, &manager, json!({"improvement_id": improvement_id}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (
                body["corrective_action_id"].clone(),
                body["improvement_id"].clone()
            ),
            (json!(action_id), json!(improvement_id))
        );
        let (_, read) = app.get(&path, &viewer).await;
        assert_eq!(read["improvement_id"], improvement_id);

        let other = create(&app, &manager, risk("Unrelated", 1, 1)).await;
        for query in [
            format!("corrective_action_id={action_id}"),
            format!("improvement_id={improvement_id}"),
        ] {
            let (_, page) = app.get(&format!("{BASE}?{query}"), &viewer).await;
            assert_eq!(titles(&page), vec!["Unapproved changes"], "{query}");
        }
        assert_ne!(other["id"], linked["id"]);

        // What a risk names stays: neither is deleted under it.
        let (status, problem) = app
            .call(
                Method::DELETE,
                &format!("/api/v1/corrective-actions/{action_id}"),
                &manager,
                None,
            )
            .await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
        let improvement_path = format!("/api/v1/improvements/{improvement_id}");
        let (status, problem) = app
            .call(Method::DELETE, &improvement_path, &manager, None)
            .await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
        let (status, body) = app
            .patch(&path, &manager, json!({"improvement_id": null}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _) = app
            .call(Method::DELETE, &improvement_path, &manager, None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, problem) = app
            .patch(&path, &manager, json!({"improvement_id": improvement_id}))
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(fields(&problem), vec!["improvement_id"]);
    }
);

both!(
    filters_and_sorts_with_ties_and_empty_dates,
    |app: TestApp| async move {
        let manager = app.token_for("manager").await;
        let viewer = app.token_for("viewer").await;
        let role = app.role("Service owner").await;
        let process = app.process("INC", Some(&role)).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        // (title, kind, likelihood, impact, review_due, owned)
        for (title, kind, likelihood, impact, review_due, owned) in [
            ("Alpha", "risk", 3, 4, Some("2030-03-01"), true),
            ("Bravo", "opportunity", 4, 3, None, false),
            ("Charlie", "risk", 5, 5, Some("2030-01-01"), true),
            ("Delta", "risk", 1, 2, Some("2030-03-01"), false),
            ("Echo", "opportunity", 2, 4, None, true),
        ] {
            let body = json!({"title": title, "kind": kind, "likelihood": likelihood,
                              "impact": impact, "review_due": review_due,
                              "description": format!("About {title}"),
                              "owner_role_id": owned.then_some(&role),
                              "process_id": owned.then_some(&process)});
            create(&app, &manager, body).await;
        }

        let (_, by_score) = app.get(&format!("{BASE}?sort=-score"), &viewer).await;
        let ranked = titles(&by_score);
        assert_eq!(ranked[0], "Charlie");
        assert_eq!(ranked[3..], ["Echo", "Delta"]);
        let mut tied = ranked[1..3].to_vec();
        tied.sort();
        assert_eq!(tied, ["Alpha", "Bravo"], "Alpha and Bravo both score 12");
        // Paging through a tie, two at a time, gives each once, in the same order.
        let mut paged = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("{BASE}?sort=-score&limit=2&cursor={c}"),
                None => format!("{BASE}?sort=-score&limit=2"),
            };
            let (status, page) = app.get(&url, &viewer).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            paged.extend(titles(&page));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!(paged, ranked);
        let (_, ascending) = app.get(&format!("{BASE}?sort=score"), &viewer).await;
        let mut reversed = ranked.clone();
        reversed.reverse();
        assert_eq!(titles(&ascending), reversed);

        let (_, by_review) = app.get(&format!("{BASE}?sort=review_due"), &viewer).await;
        let by_review = titles(&by_review);
        assert_eq!(by_review[0], "Charlie");
        let mut tied = by_review[1..3].to_vec();
        tied.sort();
        assert_eq!(tied, ["Alpha", "Delta"]);
        let mut last = by_review[3..].to_vec();
        last.sort();
        assert_eq!(last, ["Bravo", "Echo"], "empty review dates last");
        let (_, by_review_desc) = app
            .get(&format!("{BASE}?sort=-review_due&limit=3"), &viewer)
            .await;
        let first = titles(&by_review_desc);
        assert_eq!(first[2], "Charlie");
        let cursor = by_review_desc["next_cursor"].as_str().unwrap();
        let (_, rest) = app
            .get(
                &format!("{BASE}?sort=-review_due&limit=3&cursor={cursor}"),
                &viewer,
            )
            .await;
        let mut rest = titles(&rest);
        rest.sort();
        assert_eq!(
            rest,
            ["Bravo", "Echo"],
            "empty review dates last, descending too"
        );

        for (query, expected) in [
            ("min_score=12", vec!["Alpha", "Bravo", "Charlie"]),
            ("min_score=13", vec!["Charlie"]),
            ("level=high", vec!["Charlie"]),
            ("level=medium", vec!["Alpha", "Bravo", "Echo"]),
            ("level=low", vec!["Delta"]),
            ("kind=opportunity", vec!["Bravo", "Echo"]),
            ("kind=risk&min_score=10", vec!["Alpha", "Charlie"]),
            ("state=identified&q=ABOUT%20e", vec!["Echo"]),
            ("state=closed", vec![]),
        ] {
            let (status, page) = app
                .get(&format!("{BASE}?{query}&sort=title"), &viewer)
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            assert_eq!(titles(&page), expected, "{query}");
        }
        for query in [
            format!("owner_role_id={role}"),
            format!("process_id={process}"),
        ] {
            let (_, page) = app
                .get(&format!("{BASE}?{query}&sort=title"), &viewer)
                .await;
            assert_eq!(titles(&page), vec!["Alpha", "Charlie", "Echo"], "{query}");
        }
        for bad in [
            "min_score=0",
            "min_score=26",
            "min_score=high",
            "level=extreme",
            "kind=threat",
            "sort=likelihood",
            "state=open",
        ] {
            let (status, problem) = app.get(&format!("{BASE}?{bad}"), &viewer).await;
            assert_problem(
                status,
                &problem,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            );
        }
    }
);
