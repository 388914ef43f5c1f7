//! Competence (clause 7.2): training records and the competence-gap report.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, assert_problem, fields};

const BASE: &str = "/api/v1/training-records";
const GAPS: &str = "/api/v1/reports/competence-gaps";
const UNKNOWN: &str = "00000000-0000-7000-8000-000000000001";

fn days(app: &TestApp, n: i64) -> String {
    (app.clock.today() + Duration::days(n)).to_string()
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, created) = app.post(BASE, token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

fn record(user: &str, competence: &str, completed_on: &str, expires_on: Option<&str>) -> Value {
    json!({"user_id": user, "competence": competence, "completed_on": completed_on,
           "expires_on": expires_on})
}

/// The audit-trail actions recorded for one entity, oldest first.
async fn trail(app: &TestApp, id: &str) -> Vec<Value> {
    let (status, page) = app
        .get(
            &format!("/api/v1/audit-trail?entity_type=training_record&entity_id={id}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

both!(
    crud_bad_input_refused_roles_and_trail,
    |app: TestApp| async move {
        let manager = app.token_for("manager").await;
        let viewer = app.token_for("viewer").await;
        let (person, _) = app.user_with_roles(&["contributor"]).await;
        let (other, _) = app.user_with_roles(&[]).await;

        let body = json!({"user_id": person, "competence": "  ITIL 4 Foundation ",
                      "completed_on": days(&app, -10), "expires_on": days(&app, 100),
                      "evidence": "https://dms.example.com/certificates/4711"});
        let (status, created, headers) = app
            .call_full(
                Method::POST,
                BASE,
                &manager,
                Some(body.clone()),
                &[("Idempotency-Key", "training-1")],
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap().to_string();
        let path = format!("{BASE}/{id}");
        assert_eq!(headers["location"], path.as_str());
        assert_eq!(headers["etag"], "\"1\"");
        assert_eq!(created["competence"], "ITIL 4 Foundation");
        assert_eq!(created["current"], true);
        assert_eq!(created["version"], 1);
        assert!(
            created.get("allowed_actions").is_none(),
            "a record is a fact"
        );

        // A retry with the same key answers the first response; another body is refused.
        let (status, again, _) = app
            .call_full(
                Method::POST,
                BASE,
                &manager,
                Some(body.clone()),
                &[("Idempotency-Key", "training-1")],
            )
            .await;
        assert_eq!(
            (status, again["id"].clone()),
            (StatusCode::CREATED, json!(id))
        );
        let (status, problem, _) = app
            .call_full(
                Method::POST,
                BASE,
                &manager,
                Some(record(&person, "Other", &days(&app, 0), None)),
                &[("Idempotency-Key", "training-1")],
            )
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
        );
        assert_eq!(app.count_rows("training_records").await, 1);

        let (status, read, headers) = app.call_full(Method::GET, &path, &viewer, None, &[]).await;
        assert_eq!(status, StatusCode::OK, "{read}");
        assert_eq!(headers["etag"], "\"1\"");
        assert_eq!(read, created);

        let (status, patched, headers) = app
            .if_match(
                Method::PATCH,
                &path,
                Some(json!({"evidence": null, "user_id": other, "expires_on": null})),
                1,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(headers["etag"], "\"2\"");
        assert_eq!(
            (
                &patched["evidence"],
                &patched["user_id"],
                &patched["expires_on"]
            ),
            (&Value::Null, &json!(other), &Value::Null)
        );
        let (status, same) = app
            .patch(&path, &manager, json!({"competence": "ITIL 4 Foundation "}))
            .await;
        assert_eq!(
            (status, same["version"].clone()),
            (StatusCode::OK, json!(2))
        );
        let (status, problem, _) = app
            .if_match(Method::PATCH, &path, Some(json!({"evidence": "x"})), 1)
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
        );

        let before = app.count_rows("training_records").await;
        let tomorrow = days(&app, 1);
        let today = days(&app, 0);
        for (body, field) in [
            (
                json!({"user_id": person, "completed_on": today}),
                "competence",
            ),
            (record(&person, " ", &today, None), "competence"),
            (record(&person, "ITIL", &tomorrow, None), "completed_on"),
            (record(&person, "ITIL", &today, Some(&today)), "expires_on"),
            (record(&person, "ITIL", "2027-13-01", None), "completed_on"),
            (record(UNKNOWN, "ITIL", &today, None), "user_id"),
            (record("not-an-id", "ITIL", &today, None), "user_id"),
            (
                json!({"user_id": person, "competence": "ITIL", "completed_on": today, "current": true}),
                "current",
            ),
            (
                json!({"user_id": person, "competence": "ITIL", "completed_on": today, "evidence": "x".repeat(2001)}),
                "evidence",
            ),
        ] {
            let (status, problem) = app.post(BASE, &manager, body.clone()).await;
            assert_problem(
                status,
                &problem,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            );
            assert_eq!(fields(&problem), vec![field], "{body}: {problem}");
        }
        for (patch, field) in [
            (json!({"user_id": UNKNOWN}), "user_id"),
            (json!({"completed_on": tomorrow}), "completed_on"),
            (json!({"expires_on": days(&app, -10)}), "expires_on"),
            (json!({"competence": null}), "competence"),
            (json!({"id": UNKNOWN}), "id"),
        ] {
            let (status, problem) = app.patch(&path, &manager, patch.clone()).await;
            assert_problem(
                status,
                &problem,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            );
            assert_eq!(fields(&problem), vec![field], "{patch}: {problem}");
        }
        assert_eq!(
            app.count_rows("training_records").await,
            before,
            "nothing written"
        );

        for role in ["viewer", "contributor", "auditor"] {
            let token = app.token_for(role).await;
            let (status, body) = app
                .post(BASE, &token, record(&person, "ITIL", &today, None))
                .await;
            assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
            let (status, body) = app.patch(&path, &token, json!({"evidence": "x"})).await;
            assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
            let (status, body) = app.call(Method::DELETE, &path, &token, None).await;
            assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
            let (status, _) = app.get(&path, &token).await;
            assert_eq!(status, StatusCode::OK, "{role} reads");
        }
        let (_, nobody) = app.user_with_roles(&[]).await;
        for path in [path.as_str(), BASE] {
            let (status, body) = app.get(path, &nobody).await;
            assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        }

        let missing = format!("{BASE}/{UNKNOWN}");
        for (method, body) in [
            (Method::GET, None),
            (Method::PATCH, Some(json!({"evidence": "x"}))),
            (Method::DELETE, None),
        ] {
            let (status, problem) = app.call(method, &missing, &manager, body).await;
            assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
        }

        let (status, problem, _) = app.if_match(Method::DELETE, &path, None, 1).await;
        assert_problem(
            status,
            &problem,
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
        );
        let (status, _, _) = app.if_match(Method::DELETE, &path, None, 2).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = app.get(&path, &manager).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // One row per change: the no-op patch and the refused requests wrote nothing.
        let rows = trail(&app, &id).await;
        let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["create", "update", "delete"]);
        let changes = &rows[1]["changes"];
        assert_eq!(changes["user_id"]["before"], json!(person));
        assert_eq!(changes["user_id"]["after"], json!(other));
        assert!(
            changes.get("current").is_none(),
            "computed fields are not recorded"
        );
        assert_eq!(
            rows[2]["changes"]["competence"]["before"],
            "ITIL 4 Foundation"
        );
    }
);

both!(filters_sorts_and_paging, |app: TestApp| async move {
    let manager = app.token_for("manager").await;
    let viewer = app.token_for("viewer").await;
    let (ann, _) = app.user_with_roles(&["viewer"]).await;
    let (ben, _) = app.user_with_roles(&["viewer"]).await;
    let (early, mid, late) = (days(&app, -300), days(&app, -30), days(&app, 0));
    let (soon, far, lapsed) = (days(&app, 10), days(&app, 400), days(&app, -5));
    // name, user, competence, completed_on, expires_on
    let rows = [
        ("a", &ann, "ITIL 4 Foundation", &mid, Some(&far)),
        ("b", &ann, "First aid", &early, Some(&lapsed)),
        ("c", &ben, "itil 4 foundation", &mid, Some(&soon)),
        ("d", &ben, "CAB chair", &late, None),
        ("e", &ann, "Budgeting", &early, None),
        ("f", &ben, "First Aid", &mid, Some(&soon)),
    ];
    for (name, user, competence, done, expires) in rows {
        let mut body = record(user, competence, done, expires.map(String::as_str));
        body["evidence"] = json!(name);
        create(&app, &manager, body).await;
    }
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["evidence"].as_str().unwrap().to_string())
            .collect()
    };
    let list = async |query: &str| -> Vec<String> {
        let (status, page) = app.get(&format!("{BASE}?{query}"), &viewer).await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        names(&page)
    };
    assert_eq!(list("").await, ["a", "b", "c", "d", "e", "f"]);
    assert_eq!(list(&format!("user_id={ann}")).await, ["a", "b", "e"]);
    assert_eq!(list("competence=ITIL%204%20FOUNDATION").await, ["a", "c"]);
    assert_eq!(list("competence=ITIL").await, Vec::<String>::new());
    assert_eq!(list("current=false").await, ["b"]);
    assert_eq!(list("current=true").await, ["a", "c", "d", "e", "f"]);
    assert_eq!(
        list(&format!("expires_before={soon}")).await,
        ["b", "c", "f"]
    );
    assert_eq!(
        list(&format!(
            "expires_before={soon}&current=true&competence=first%20aid"
        ))
        .await,
        ["f"]
    );
    assert_eq!(
        list("sort=-created_at").await,
        ["f", "e", "d", "c", "b", "a"]
    );
    assert_eq!(
        list("sort=completed_on").await,
        ["b", "e", "a", "c", "f", "d"]
    );
    assert_eq!(
        list("sort=-completed_on").await,
        ["d", "f", "c", "a", "e", "b"]
    );
    assert_eq!(
        list("sort=expires_on").await,
        ["b", "c", "f", "a", "d", "e"],
        "never expiring last"
    );
    assert_eq!(
        list("sort=-expires_on").await,
        ["a", "f", "c", "b", "e", "d"],
        "never expiring last, ties by id descending"
    );
    // Pages through duplicates and NULLs, in both directions.
    for sort in ["expires_on", "-expires_on", "completed_on", "-completed_on"] {
        let whole = list(&format!("sort={sort}")).await;
        let mut paged = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let query = match &cursor {
                Some(c) => format!("{BASE}?sort={sort}&limit=2&cursor={c}"),
                None => format!("{BASE}?sort={sort}&limit=2&include_total=true"),
            };
            let (status, page) = app.get(&query, &viewer).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            if cursor.is_none() {
                assert_eq!(page["total"], 6);
            }
            paged.extend(names(&page));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!(paged, whole, "{sort}");
    }
    for bad in [
        "current=maybe",
        "sort=competence",
        "expires_before=soon",
        "colour=red",
        "limit=0",
    ] {
        let (status, problem) = app.get(&format!("{BASE}?{bad}"), &viewer).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
    }

    // The CSV export is the same list.
    let res = app
        .request(
            Method::GET,
            &format!("/api/v1/exports/training-records?user_id={ben}&sort=completed_on"),
            Some(&viewer),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].contains("competence") && lines[0].contains("current"),
        "{text}"
    );
    assert_eq!(lines.len(), 4, "{text}");
});

/// Makes an SMS role requiring `competences`, held by `members`.
async fn sms_role(app: &TestApp, name: &str, competences: &[&str], members: &[&str]) -> String {
    let (status, body) = app
        .post(
            "/api/v1/roles",
            &app.admin_token,
            json!({"name": name, "required_competences": competences, "member_ids": members}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_string()
}

fn gap_rows(report: &Value) -> Vec<(String, String, String, String, Value)> {
    report["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["display_name"].as_str().unwrap().to_string(),
                g["role_name"].as_str().unwrap().to_string(),
                g["competence"].as_str().unwrap().to_string(),
                g["status"].as_str().unwrap().to_string(),
                g["expired_on"].clone(),
            )
        })
        .collect()
}

fn row(
    name: &str,
    role: &str,
    competence: &str,
    status: &str,
    expired_on: Value,
) -> (String, String, String, String, Value) {
    (
        name.into(),
        role.into(),
        competence.into(),
        status.into(),
        expired_on,
    )
}

both!(
    competence_gaps_follow_the_clock,
    |app: TestApp| async move {
        let manager = app.token_for("manager").await;
        let alice = app.person("alice@example.com", &["contributor"]).await;
        let bob = app.person("bob@example.com", &["contributor"]).await;
        let carol = app.person("carol@example.com", &["viewer"]).await;
        let (loner, _) = app.user_with_roles(&["viewer"]).await;
        let change = sms_role(
            &app,
            "Change manager",
            &["ITIL 4 Foundation", "CAB chair"],
            &[&alice, &bob],
        )
        .await;
        let owner = sms_role(&app, "Service owner", &["itil 4 foundation"], &[&alice]).await;
        sms_role(&app, "Observer", &[], &[&carol]).await;

        let expiry = days(&app, 5);
        let alice_itil = create(
            &app,
            &manager,
            record(
                &alice,
                "Itil 4 foundation",
                &days(&app, -100),
                Some(&expiry),
            ),
        )
        .await;
        create(
            &app,
            &manager,
            record(&bob, "CAB chair", &days(&app, -1), None),
        )
        .await;
        create(
            &app,
            &manager,
            record(&bob, "ITIL 4 Foundation", "2020-01-10", Some("2022-01-10")),
        )
        .await;

        let viewer = app.token_for("viewer").await;
        let (status, report) = app.get(GAPS, &viewer).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["as_of"], days(&app, 0));
        assert_eq!(
            gap_rows(&report),
            vec![
                row(
                    "alice@example.com",
                    "Change manager",
                    "CAB chair",
                    "missing",
                    Value::Null
                ),
                row(
                    "bob@example.com",
                    "Change manager",
                    "ITIL 4 Foundation",
                    "expired",
                    json!("2022-01-10")
                ),
            ]
        );
        assert_eq!(
            report["summary"],
            json!({"people_checked": 3, "requirements_checked": 5, "gaps": 2, "missing": 1, "expired": 1})
        );
        // Flat rows, ready for CSV.
        for gap in report["gaps"].as_array().unwrap() {
            assert_eq!(gap.as_object().unwrap().len(), 7, "{gap}");
            assert!(
                gap.as_object()
                    .unwrap()
                    .values()
                    .all(|v| !v.is_object() && !v.is_array())
            );
        }
        assert_eq!(report["gaps"][0]["user_id"], json!(alice));
        assert_eq!(report["gaps"][0]["role_id"], json!(change));

        let (_, only_owner) = app.get(&format!("{GAPS}?role_id={owner}"), &viewer).await;
        assert_eq!(
            only_owner["summary"],
            json!({"people_checked": 1, "requirements_checked": 1, "gaps": 0, "missing": 0, "expired": 0})
        );
        let (_, only_bob) = app.get(&format!("{GAPS}?user_id={bob}"), &viewer).await;
        assert_eq!(only_bob["gaps"].as_array().unwrap().len(), 1);
        assert_eq!(only_bob["summary"]["requirements_checked"], 2);
        let (status, no_role) = app.get(&format!("{GAPS}?user_id={loner}"), &viewer).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(no_role["summary"]["people_checked"], 0);
        for (query, field) in [
            (format!("role_id={UNKNOWN}"), "role_id"),
            (format!("user_id={UNKNOWN}"), "user_id"),
            ("team=ops".to_string(), "team"),
        ] {
            let (status, problem) = app.get(&format!("{GAPS}?{query}"), &viewer).await;
            assert_problem(
                status,
                &problem,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            );
            assert_eq!(fields(&problem), vec![field], "{problem}");
        }
        let (_, nobody) = app.user_with_roles(&[]).await;
        let (status, problem) = app.get(GAPS, &nobody).await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");

        // The day before Alice's ITIL expires it still counts; on its expiry date it does not,
        // for each role that requires it.
        app.clock.advance(Duration::days(4));
        let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let (_, report) = app.get(GAPS, &admin).await;
        assert_eq!(report["summary"]["gaps"], 2);
        app.clock.advance(Duration::days(1));
        let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let (_, report) = app.get(GAPS, &admin).await;
        let expired = json!(expiry);
        assert_eq!(
            gap_rows(&report),
            vec![
                row(
                    "alice@example.com",
                    "Change manager",
                    "ITIL 4 Foundation",
                    "expired",
                    expired.clone()
                ),
                row(
                    "alice@example.com",
                    "Change manager",
                    "CAB chair",
                    "missing",
                    Value::Null
                ),
                row(
                    "alice@example.com",
                    "Service owner",
                    "itil 4 foundation",
                    "expired",
                    expired.clone()
                ),
                row(
                    "bob@example.com",
                    "Change manager",
                    "ITIL 4 Foundation",
                    "expired",
                    json!("2022-01-10")
                ),
            ]
        );
        assert_eq!(
            report["summary"],
            json!({"people_checked": 3, "requirements_checked": 5, "gaps": 4, "missing": 1, "expired": 3})
        );
        let path = format!("{BASE}/{}", alice_itil["id"].as_str().unwrap());
        let (_, read) = app.get(&path, &admin).await;
        assert_eq!(read["current"], false);
        let (_, lapsed) = app
            .get(&format!("{BASE}?current=false&user_id={alice}"), &admin)
            .await;
        assert_eq!(lapsed["items"].as_array().unwrap().len(), 1);

        // A renewal closes both gaps.
        create(
            &app,
            &admin,
            record(&alice, "ITIL 4 Foundation", &days(&app, 0), None),
        )
        .await;
        let (_, report) = app.get(&format!("{GAPS}?user_id={alice}"), &admin).await;
        assert_eq!(
            gap_rows(&report),
            vec![row(
                "alice@example.com",
                "Change manager",
                "CAB chair",
                "missing",
                Value::Null
            )]
        );
    }
);
