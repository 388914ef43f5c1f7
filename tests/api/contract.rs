//! The contract as clients see it: query errors, conditional GET and CSV exports.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{TestApp, assert_problem, read};

both!(
    bad_query_values_name_the_parameter,
    |app: TestApp| async move {
        let cases = [
            ("/api/v1/processes?state=gone", "state"),
            ("/api/v1/processes?sort=colour", "sort"),
            (
                "/api/v1/processes?review_due_from=2025-13-01",
                "review_due_from",
            ),
            ("/api/v1/processes?limit=abc", "limit"),
            ("/api/v1/processes?limit=1&limit=2", "limit"),
            ("/api/v1/processes?include_total=maybe", "include_total"),
            ("/api/v1/processes?owner_role_id=42", "owner_role_id"),
            ("/api/v1/users?kind=robot", "kind"),
            ("/api/v1/users?role=king", "role"),
            ("/api/v1/users?active=yes", "active"),
            ("/api/v1/audit-trail?from=yesterday", "from"),
            ("/api/v1/exports/roles?sort=colour", "sort"),
        ];
        for (path, field) in cases {
            let (status, body) = app.get(path, &app.admin_token).await;
            assert_problem(
                status,
                &body,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            );
            assert_eq!(body["errors"][0]["field"], field, "{path}: {body}");
            assert!(body["errors"][0]["message"].is_string(), "{body}");
        }
    }
);

async fn get_with(app: &TestApp, path: &str, if_none_match: &str) -> reqwest::Response {
    app.request(Method::GET, path, Some(&app.admin_token))
        .header("If-None-Match", if_none_match)
        .send()
        .await
        .unwrap()
}

both!(if_none_match_answers_304, |app: TestApp| async move {
    let role = app.role("Service owner").await;
    let process = app.process("INC", None).await;
    let (user, _) = app.user_with_roles(&["viewer"]).await;
    for path in [
        format!("/api/v1/roles/{role}"),
        format!("/api/v1/processes/{}", process["id"].as_str().unwrap()),
        format!("/api/v1/users/{user}"),
    ] {
        let res = get_with(&app, &path, "\"999\"").await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let etag = res.headers()["etag"].to_str().unwrap().to_string();
        for held in [
            etag.clone(),
            format!("W/{etag}"),
            format!("\"998\", {etag}"),
            "*".into(),
        ] {
            let res = get_with(&app, &path, &held).await;
            assert_eq!(res.status(), StatusCode::NOT_MODIFIED, "{path} {held}");
            assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
            assert!(res.text().await.unwrap().is_empty());
        }
    }
    // A change makes the held version stale.
    let path = format!("/api/v1/roles/{role}");
    let etag = get_with(&app, &path, "\"999\"").await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    let (status, _) = app
        .patch(&path, &app.admin_token, json!({"description": "changed"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let res = get_with(&app, &path, &etag).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_ne!(res.headers()["etag"].to_str().unwrap(), etag);
});

/// RFC 4180 records of a CSV document (test reader).
fn records(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field, mut quoted) = (vec![], vec![], String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    rows
}

both!(
    exports_are_csv_and_lists_round_trip,
    |app: TestApp| async move {
        let responsibilities = json!(["plan; do", "check, \"act\"", "=HYPERLINK(\"x\")"]);
        let (status, body) = app
            .post(
                "/api/v1/roles",
                &app.admin_token,
                json!({"name": "-Owner", "responsibilities": responsibilities}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        app.role("Second").await;

        // Whatever `Accept` says, an export is CSV.
        let res = app
            .request(
                Method::GET,
                "/api/v1/exports/roles?sort=name&limit=1",
                Some(&app.admin_token),
            )
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let cursor = res.headers()["x-next-cursor"].to_str().unwrap().to_string();
        let rows = records(&res.text().await.unwrap());
        assert_eq!(rows.len(), 2, "{rows:?}");
        let column = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
        assert_eq!(rows[1][column("name")], "'-Owner", "formulas are defused");
        let cell: Value = serde_json::from_str(&rows[1][column("responsibilities")]).unwrap();
        assert_eq!(cell, responsibilities, "a list cell is a JSON array");

        let res = app
            .request(
                Method::GET,
                &format!("/api/v1/exports/roles?sort=name&limit=1&cursor={cursor}"),
                Some(&app.admin_token),
            )
            .send()
            .await
            .unwrap();
        assert!(res.headers().get("x-next-cursor").is_none());
        let rows = records(&res.text().await.unwrap());
        assert_eq!(
            rows[1][rows[0].iter().position(|c| c == "name").unwrap()],
            "Second"
        );

        // The JSON list stays JSON; an unknown collection has no export.
        let (status, list) = app.get("/api/v1/roles?sort=name", &app.admin_token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["items"][0]["responsibilities"], responsibilities);
        let (status, body, _) = read(
            app.request(
                Method::GET,
                "/api/v1/exports/nothing",
                Some(&app.admin_token),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
        // Exports are read with the list's access rules.
        let (status, body) = app
            .get("/api/v1/exports/users", &app.token_for("viewer").await)
            .await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, body) = app.get("/api/v1/exports/audit-trail", "not-a-token").await;
        assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    }
);

both!(
    unknown_query_parameters_and_bad_etags_are_refused,
    |app: TestApp| async move {
        let (status, problem) = app
            .get("/api/v1/processes?stat=draft", &app.admin_token)
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(problem["errors"][0]["field"], "stat", "{problem}");

        let process = app.process("INC", None).await;
        let path = format!("/api/v1/processes/{}", process["id"].as_str().unwrap());
        let (status, problem, _) = app
            .call_full(
                Method::GET,
                &path,
                &app.admin_token,
                None,
                &[("If-None-Match", "+++")],
            )
            .await;
        assert_problem(status, &problem, StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(problem["errors"][0]["field"], "If-None-Match", "{problem}");
    }
);
