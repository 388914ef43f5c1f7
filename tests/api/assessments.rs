//! Gap assessments: records, results clause by clause, completion, and the summary with
//! its comparison against an earlier assessment.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{TestApp, assert_problem, fields};

const BASE: &str = "/api/v1/assessments";
const UNKNOWN: &str = "00000000-0000-7000-8000-0000000000aa";

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, created) = app.post(BASE, token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// `PUT /assessments/{id}/results/{clause}` with the caller's token.
async fn put_result(
    app: &TestApp,
    token: &str,
    id: &str,
    clause: &str,
    body: Value,
) -> (StatusCode, Value) {
    app.call(
        Method::PUT,
        &format!("{BASE}/{id}/results/{clause}"),
        token,
        Some(body),
    )
    .await
}

/// Records each `(clause, status)` as admin and returns the last representation.
async fn record(app: &TestApp, id: &str, results: &[(&str, &str)]) -> Value {
    let mut last = Value::Null;
    for (clause, status) in results {
        let (code, body) = put_result(
            app,
            &app.admin_token,
            id,
            clause,
            json!({"status": status, "notes": format!("{clause} is {status}")}),
        )
        .await;
        assert_eq!(code, StatusCode::OK, "{clause}: {body}");
        last = body;
    }
    last
}

async fn complete(app: &TestApp, token: &str, id: &str) -> (StatusCode, Value) {
    app.post(
        &format!("{BASE}/{id}/transitions"),
        token,
        json!({"action": "complete"}),
    )
    .await
}

fn titles(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect()
}

both!(crud_filters_and_refusals, |app: TestApp| async move {
    let manager = app.token_for("manager").await;
    let viewer = app.token_for("viewer").await;

    let (status, first, headers) = app
        .call_full(
            Method::POST,
            BASE,
            &manager,
            Some(
                json!({"title": " Gap analysis 2026 ", "assessed_on": "2026-03-02",
                        "description": "Before stage 1", "scope_note": "All services"}),
            ),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let id = id_of(&first);
    let path = format!("{BASE}/{id}");
    assert_eq!(headers["location"], path.as_str());
    assert_eq!(headers["etag"], "\"1\"");
    assert_eq!(first["title"], "Gap analysis 2026");
    assert_eq!(first["state"], "in_progress");
    assert_eq!(first["results"], json!([]));
    assert_eq!(first["completed_at"], Value::Null);
    assert_eq!(first["allowed_actions"], json!(["complete"]));

    let (status, read, headers) = app.call_full(Method::GET, &path, &viewer, None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["etag"], "\"1\"");
    assert_eq!(read["scope_note"], "All services");
    assert_eq!(read["allowed_actions"], json!([]), "a viewer may not act");

    let (status, patched, headers) = app
        .if_match(
            Method::PATCH,
            &path,
            Some(json!({"description": null, "assessed_on": "2026-03-03"})),
            1,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["description"], Value::Null);
    assert_eq!(patched["assessed_on"], "2026-03-03");
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
    let (status, same, _) = app
        .if_match(
            Method::PATCH,
            &path,
            Some(json!({"title": "Gap analysis 2026"})),
            2,
        )
        .await;
    assert_eq!(
        (status, same["version"].clone()),
        (StatusCode::OK, json!(2))
    );

    let before = app.count_rows("assessments").await;
    for (body, field) in [
        (json!({"assessed_on": "2026-03-02"}), "title"),
        (json!({"title": " ", "assessed_on": "2026-03-02"}), "title"),
        (json!({"title": "t"}), "assessed_on"),
        (
            json!({"title": "t", "assessed_on": "2026-02-30"}),
            "assessed_on",
        ),
        (
            json!({"title": "t", "assessed_on": "2026-03-02", "state": "completed"}),
            "state",
        ),
        (
            json!({"title": "t", "assessed_on": "2026-03-02", "scope_note": "a\u{7}b"}),
            "scope_note",
        ),
    ] {
        let (status, problem) = app.post(BASE, &manager, body.clone()).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert!(
            problem.to_string().contains(field),
            "{body} names {field}: {problem}"
        );
    }
    let (status, problem) = app.patch(&path, &manager, json!({"title": null})).await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        app.count_rows("assessments").await,
        before,
        "nothing written"
    );

    for role in ["viewer", "contributor", "auditor"] {
        let token = app.token_for(role).await;
        let body = json!({"title": "t", "assessed_on": "2026-03-02"});
        let (status, problem) = app.post(BASE, &token, body).await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        let (status, problem) = app.patch(&path, &token, json!({"title": "x"})).await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        let (status, problem) = app.call(Method::DELETE, &path, &token, None).await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        let (status, problem) =
            put_result(&app, &token, &id, "4.1", json!({"status": "met"})).await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        let (status, problem) = complete(&app, &token, &id).await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        let (status, _) = app.get(&format!("{path}/summary"), &token).await;
        assert_eq!(status, StatusCode::OK, "{role} reads the summary");
    }
    let (_, nobody) = app.user_with_roles(&[]).await;
    for read in [BASE.to_string(), path.clone(), format!("{path}/summary")] {
        let (status, problem) = app.get(&read, &nobody).await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
    }

    let missing = format!("{BASE}/{UNKNOWN}");
    for (method, at, body) in [
        (Method::GET, missing.clone(), None),
        (Method::GET, format!("{missing}/summary"), None),
        (Method::PATCH, missing.clone(), Some(json!({"title": "x"}))),
        (Method::DELETE, missing.clone(), None),
        (
            Method::PUT,
            format!("{missing}/results/4.1"),
            Some(json!({"status": "met"})),
        ),
        (
            Method::POST,
            format!("{missing}/transitions"),
            Some(json!({"action": "complete"})),
        ),
    ] {
        let (status, problem) = app.call(method.clone(), &at, &manager, body).await;
        assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
    }

    // The list: filters, typed sorts (ties by id), totals, the CSV export.
    create(
        &app,
        &manager,
        json!({"title": "Surveillance prep", "assessed_on": "2027-03-01"}),
    )
    .await;
    create(
        &app,
        &manager,
        json!({"title": "Second look", "assessed_on": "2026-03-03"}),
    )
    .await;
    let early = create(
        &app,
        &manager,
        json!({"title": "Baseline", "assessed_on": "2025-10-01",
        "description": "The first GAP review"}),
    )
    .await;
    record(&app, &id_of(&early), &[("4.1", "met")]).await;
    let (status, _) = complete(&app, &manager, &id_of(&early)).await;
    assert_eq!(status, StatusCode::OK);

    let (status, list) = app
        .get(&format!("{BASE}?include_total=true"), &viewer)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 4);
    assert_eq!(
        titles(&list),
        [
            "Baseline",
            "Gap analysis 2026",
            "Second look",
            "Surveillance prep"
        ],
        "by assessed_on, ties by id"
    );
    assert_eq!(list["items"][0]["results"][0]["clause"], "4.1");
    let (_, list) = app
        .get(&format!("{BASE}?sort=-assessed_on&limit=2"), &viewer)
        .await;
    assert_eq!(titles(&list), ["Surveillance prep", "Second look"]);
    let cursor = list["next_cursor"].as_str().unwrap().to_string();
    let (_, list) = app
        .get(
            &format!("{BASE}?sort=-assessed_on&limit=2&cursor={cursor}"),
            &viewer,
        )
        .await;
    assert_eq!(titles(&list), ["Gap analysis 2026", "Baseline"]);
    assert_eq!(list["next_cursor"], Value::Null);
    for (query, expected) in [
        ("state=completed", vec!["Baseline"]),
        (
            "state=in_progress&sort=title",
            vec!["Gap analysis 2026", "Second look", "Surveillance prep"],
        ),
        ("q=gap", vec!["Baseline", "Gap analysis 2026"]),
        (
            "assessed_from=2026-01-01&assessed_to=2026-12-31",
            vec!["Gap analysis 2026", "Second look"],
        ),
        ("assessed_to=2025-10-01", vec!["Baseline"]),
    ] {
        let (status, list) = app.get(&format!("{BASE}?{query}"), &viewer).await;
        assert_eq!(status, StatusCode::OK, "{query}: {list}");
        assert_eq!(titles(&list), expected, "{query}");
    }
    for (query, field) in [
        ("sort=due_date", "sort"),
        ("state=open", "state"),
        ("assessed_from=2026-13-01", "assessed_from"),
        ("owner_id=x", "owner_id"),
    ] {
        let (status, problem) = app.get(&format!("{BASE}?{query}"), &viewer).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(fields(&problem), [field], "{query}");
    }
    let res = app
        .request(
            Method::GET,
            "/api/v1/exports/assessments?sort=title",
            Some(&viewer),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csv = res.text().await.unwrap();
    assert!(csv.starts_with("id,title,assessed_on,"), "{csv}");
    assert_eq!(csv.lines().count(), 5, "{csv}");

    // Delete: the results go with it.
    let second = create(
        &app,
        &manager,
        json!({"title": "Scratch", "assessed_on": "2026-01-05"}),
    )
    .await;
    let scratch = id_of(&second);
    record(&app, &scratch, &[("4.1", "met"), ("4.2", "not_met")]).await;
    let results_before = app.count_rows("assessment_results").await;
    let (status, body, _) = app
        .if_match(Method::DELETE, &format!("{BASE}/{scratch}"), None, 1)
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    );
    let (status, _, _) = app
        .if_match(Method::DELETE, &format!("{BASE}/{scratch}"), None, 3)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.count_rows("assessment_results").await,
        results_before - 2
    );
    let (status, _) = app.get(&format!("{BASE}/{scratch}"), &viewer).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, trail) = app
        .get(
            &format!("/api/v1/audit-trail?entity_type=assessment&entity_id={scratch}"),
            &app.admin_token,
        )
        .await;
    let actions: Vec<_> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "set_result", "set_result", "delete"]);
    let deleted = &trail["items"][3]["changes"];
    assert_eq!(
        deleted["results.4.2"]["before"]["status"], "not_met",
        "{deleted}"
    );
});

both!(
    results_completion_and_the_frozen_record,
    |app: TestApp| async move {
        let (manager_id, manager) = app.user_with_roles(&["manager"]).await;
        let today = app.clock.today();
        let soon = today + Duration::days(30);
        let created = create(
            &app,
            &manager,
            json!({"title": "Gap analysis", "assessed_on": soon.to_string()}),
        )
        .await;
        let id = id_of(&created);
        let path = format!("{BASE}/{id}");

        // Nothing judged yet, and dated in the future: both named.
        let (status, problem) = complete(&app, &manager, &id).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), ["results", "assessed_on"]);

        let (status, body) = put_result(
            &app,
            &manager,
            &id,
            "8.6.1",
            json!({"status": "partially_met", "notes": " Major incidents not defined ",
               "evidence": "Incident procedure v2"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["version"], 2);
        assert_eq!(
            body["results"],
            json!([{"clause": "8.6.1", "title": "Incident management", "status": "partially_met",
                "notes": "Major incidents not defined", "evidence": "Incident procedure v2"}])
        );
        let tag = "\"2\"";
        let (status, body, headers) = app
            .call_full(
                Method::PUT,
                &format!("{path}/results/4.1"),
                &manager,
                Some(json!({"status": "not_met"})),
                &[("If-Match", tag)],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers["etag"], "\"3\"");
        let order: Vec<_> = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["clause"].as_str().unwrap())
            .collect();
        assert_eq!(order, ["4.1", "8.6.1"], "catalog order");
        let (status, problem, _) = app
            .call_full(
                Method::PUT,
                &format!("{path}/results/4.2"),
                &manager,
                Some(json!({"status": "met"})),
                &[("If-Match", tag)],
            )
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
        );

        // The same result again writes nothing.
        let (_, same) = put_result(&app, &manager, &id, "4.1", json!({"status": "not_met"})).await;
        assert_eq!(same["version"], 3);

        // Refusals: unknown clause, heading, bad body; nothing written.
        let rows = app.count_rows("assessment_results").await;
        let (status, problem) =
            put_result(&app, &manager, &id, "11.1", json!({"status": "met"})).await;
        assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
        assert!(
            problem["detail"].as_str().unwrap().contains("11.1"),
            "{problem}"
        );
        let (status, problem) =
            put_result(&app, &manager, &id, "8.5.1", json!({"status": "met"})).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(fields(&problem), ["clause"]);
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("8.5.1.1")
        );
        for (body, field) in [
            (json!({"status": "done"}), "status"),
            (json!({"notes": "x"}), "status"),
            (json!({"status": "met", "notes": "a\u{1}b"}), "notes"),
            (json!({"status": "met", "owner": "x"}), "owner"),
        ] {
            let (status, problem) = put_result(&app, &manager, &id, "4.2", body.clone()).await;
            assert_problem(
                status,
                &problem,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            );
            assert!(problem.to_string().contains(field), "{body}: {problem}");
        }
        assert_eq!(app.count_rows("assessment_results").await, rows);

        // Clearing: `not_assessed` without notes or evidence removes the result; with notes it
        // is kept.
        let (_, body) = put_result(
            &app,
            &manager,
            &id,
            "4.1",
            json!({"status": "not_assessed"}),
        )
        .await;
        assert_eq!(body["version"], 4);
        assert_eq!(body["results"].as_array().unwrap().len(), 1);
        let (_, body) = put_result(
            &app,
            &manager,
            &id,
            "4.2",
            json!({"status": "not_assessed", "notes": "Deferred: the owner is away"}),
        )
        .await;
        assert_eq!(body["results"][0]["status"], "not_assessed");
        assert_eq!(app.count_rows("assessment_results").await, rows);

        // Every change is one audit row; a result's row holds only that result.
        let (_, trail) = app
            .get(
                &format!("/api/v1/audit-trail?entity_type=assessment&entity_id={id}"),
                &app.admin_token,
            )
            .await;
        let items = trail["items"].as_array().unwrap();
        let actions: Vec<_> = items
            .iter()
            .map(|r| r["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                "create",
                "set_result",
                "set_result",
                "set_result",
                "set_result"
            ]
        );
        assert_eq!(
            items[2]["changes"],
            json!({"results.4.1": {"before": null,
            "after": {"status": "not_met", "notes": null, "evidence": null}}})
        );
        assert_eq!(
            items[3]["changes"]["results.4.1"]["after"],
            Value::Null,
            "cleared"
        );

        // Complete once the date is not in the future; it records who and when.
        let (status, body) = app
            .patch(&path, &manager, json!({"assessed_on": today.to_string()}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, problem) = complete(&app, &app.token_for("auditor").await, &id).await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        let (status, problem, _) = app
            .call_full(
                Method::POST,
                &format!("{path}/transitions"),
                &manager,
                Some(json!({"action": "complete"})),
                &[("If-Match", "\"1\"")],
            )
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
        );
        let (status, problem) = app
            .post(
                &format!("{path}/transitions"),
                &manager,
                json!({"action": "reopen"}),
            )
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        let (status, done) = complete(&app, &manager, &id).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert_eq!(done["state"], "completed");
        assert_eq!(done["completed_by"], manager_id);
        assert!(done["completed_at"].is_string());
        assert_eq!(done["allowed_actions"], json!([]));
        let version = done["version"].as_i64().unwrap();

        // Frozen: no edit, no result, no delete, no second completion.
        let (status, problem) = app.patch(&path, &manager, json!({"title": "Later"})).await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
        let (status, problem) =
            put_result(&app, &manager, &id, "4.3", json!({"status": "met"})).await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
        let (status, problem) = put_result(
            &app,
            &app.admin_token,
            &id,
            "8.6.1",
            json!({"status": "not_assessed"}),
        )
        .await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
        let (status, problem) = app
            .call(Method::DELETE, &path, &app.admin_token, None)
            .await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
        let (status, problem) = complete(&app, &manager, &id).await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "invalid_transition");
        assert_eq!(problem["allowed_actions"], json!([]));
        let (_, read) = app.get(&path, &manager).await;
        assert_eq!(read["version"], version);
        assert_eq!(read["results"].as_array().unwrap().len(), 2);
    }
);

both!(
    summary_arithmetic_and_comparison,
    |app: TestApp| async move {
        let manager = app.token_for("manager").await;
        let viewer = app.token_for("viewer").await;
        let baseline = id_of(
            &create(
                &app,
                &manager,
                json!({"title": "2025", "assessed_on": "2025-06-01"}),
            )
            .await,
        );
        record(
            &app,
            &baseline,
            &[
                ("4.1", "not_met"),
                ("4.2", "met"),
                ("4.3", "partially_met"),
                ("5.1", "met"),
                ("8.6.1", "met"),
                ("10.1", "not_met"),
            ],
        )
        .await;
        let current = id_of(
            &create(
                &app,
                &manager,
                json!({"title": "2026", "assessed_on": "2026-06-01"}),
            )
            .await,
        );
        record(
            &app,
            &current,
            &[
                ("4.1", "met"),
                ("4.2", "partially_met"),
                ("4.3", "partially_met"),
                ("4.4", "met"),
                ("8.6.1", "met"),
                ("10.1", "met"),
                ("10.2", "not_met"),
            ],
        )
        .await;

        let (status, s) = app.get(&format!("{BASE}/{current}/summary"), &viewer).await;
        assert_eq!(status, StatusCode::OK, "{s}");
        assert_eq!(s["assessment"]["id"], current);
        assert_eq!(s["assessment"]["version"], 8);
        assert_eq!(s["compared_to"], Value::Null);
        let overall = &s["overall"];
        assert_eq!(overall["requirement_clauses"], 57);
        assert_eq!(
            overall["counts"],
            json!({"not_assessed": 50, "not_met": 1, "partially_met": 2, "met": 4})
        );
        assert_eq!(overall["share_met"], 0.0702, "4 / 57");
        assert_eq!(overall["change"], Value::Null);
        let gaps: Vec<_> = overall["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["clause"].as_str().unwrap(), g["status"].as_str().unwrap()))
            .collect();
        assert_eq!(
            gaps,
            [
                ("4.2", "partially_met"),
                ("4.3", "partially_met"),
                ("10.2", "not_met")
            ]
        );
        assert_eq!(overall["gaps"][2]["title"], "Continual improvement");
        assert_eq!(overall["gaps"][2]["notes"], "10.2 is not_met");
        let by_clause = s["by_clause"].as_array().unwrap();
        let shape: Vec<_> = by_clause
            .iter()
            .map(|c| {
                (
                    c["clause"].as_str().unwrap(),
                    c["requirement_clauses"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                ("4", 4),
                ("5", 4),
                ("6", 4),
                ("7", 9),
                ("8", 30),
                ("9", 4),
                ("10", 2)
            ]
        );
        assert_eq!(by_clause[0]["title"], "Context of the organization");
        assert_eq!(
            (
                by_clause[0]["share_met"].clone(),
                by_clause[0]["counts"]["met"].clone()
            ),
            (json!(0.5), json!(2))
        );
        assert_eq!(by_clause[0]["gaps"].as_array().unwrap().len(), 2);
        assert_eq!(by_clause[1]["share_met"], 0.0);
        assert_eq!(by_clause[1]["counts"]["not_assessed"], 4);
        assert_eq!(by_clause[4]["share_met"], 0.0333, "1 / 30");
        assert_eq!(by_clause[6]["share_met"], 0.5);
        let requirements = s["requirements"].as_array().unwrap();
        assert_eq!(requirements.len(), 57);
        assert_eq!(
            requirements[0],
            json!({"clause": "4.1", "title": "Understanding the organization and its context",
               "status": "met", "before": null, "movement": null})
        );

        let (status, s) = app
            .get(
                &format!("{BASE}/{current}/summary?compare_to={baseline}"),
                &viewer,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{s}");
        assert_eq!(s["compared_to"]["id"], baseline);
        assert_eq!(s["compared_to"]["title"], "2025");
        let change = &s["overall"]["change"];
        assert_eq!(change["share_met_before"], 0.0526, "3 / 57");
        assert_eq!(change["share_met_change"], 0.0175, "(4 - 3) / 57");
        let clauses = |list: &Value| -> Vec<(String, String, String)> {
            list.as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    (
                        m["clause"].as_str().unwrap().to_string(),
                        m["before"].as_str().unwrap().to_string(),
                        m["after"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        };
        let moved = |c: &str, b: &str, a: &str| (c.to_string(), b.to_string(), a.to_string());
        assert_eq!(
            clauses(&change["improved"]),
            [
                moved("4.1", "not_met", "met"),
                moved("10.1", "not_met", "met")
            ]
        );
        assert_eq!(
            clauses(&change["regressed"]),
            [moved("4.2", "met", "partially_met")]
        );
        let four = &s["by_clause"][0]["change"];
        assert_eq!(
            (
                four["share_met_before"].clone(),
                four["share_met_change"].clone()
            ),
            (json!(0.25), json!(0.25))
        );
        let five = &s["by_clause"][1]["change"];
        assert_eq!(
            (
                five["share_met_before"].clone(),
                five["share_met_change"].clone()
            ),
            (json!(0.25), json!(-0.25))
        );
        assert_eq!(
            five["regressed"],
            json!([]),
            "met → not assessed is not compared"
        );
        let movement = |clause: &str| {
            let r = s["requirements"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["clause"] == clause)
                .unwrap();
            (
                r["before"].clone(),
                r["status"].clone(),
                r["movement"].clone(),
            )
        };
        assert_eq!(
            movement("4.3"),
            (
                json!("partially_met"),
                json!("partially_met"),
                json!("unchanged")
            )
        );
        assert_eq!(
            movement("4.4"),
            (json!("not_assessed"), json!("met"), json!("not_compared"))
        );
        assert_eq!(
            movement("5.1"),
            (json!("met"), json!("not_assessed"), json!("not_compared"))
        );
        assert_eq!(
            movement("6.1"),
            (
                json!("not_assessed"),
                json!("not_assessed"),
                json!("not_compared")
            )
        );

        // The other way round, the baseline regressed where the current one improved.
        let (_, reverse) = app
            .get(
                &format!("{BASE}/{baseline}/summary?compare_to={current}"),
                &viewer,
            )
            .await;
        assert_eq!(reverse["overall"]["change"]["share_met_change"], -0.0175);
        assert_eq!(
            clauses(&reverse["overall"]["change"]["regressed"]),
            [
                moved("4.1", "met", "not_met"),
                moved("10.1", "met", "not_met")
            ]
        );

        // Refusals of `compare_to`: unknown, itself, not a UUID; an unknown parameter.
        for query in [
            format!("compare_to={UNKNOWN}"),
            format!("compare_to={current}"),
            "compare_to=last-year".to_string(),
        ] {
            let (status, problem) = app
                .get(&format!("{BASE}/{current}/summary?{query}"), &viewer)
                .await;
            assert_problem(
                status,
                &problem,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            );
            assert_eq!(fields(&problem), ["compare_to"], "{query}: {problem}");
        }
        let (status, problem) = app
            .get(
                &format!("{BASE}/{current}/summary?baseline={baseline}"),
                &viewer,
            )
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(fields(&problem), ["baseline"]);
    }
);
