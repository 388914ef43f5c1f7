use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{TestApp, assert_problem};

async fn approvable(app: &TestApp, code: &str) -> (Value, String) {
    let owner = app.role(&format!("Owner of {code}")).await;
    let process = app.process(code, Some(&owner)).await;
    let id = process["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .call(
            Method::PUT,
            &format!("/api/v1/processes/{id}/raci"),
            &app.admin_token,
            Some(json!({"assignments": [{"role_id": owner, "responsibility": "A"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (body, id)
}

both!(create_get_list_and_filter, |app: TestApp| async move {
    let manager = app.token_for("manager").await;
    let viewer = app.token_for("viewer").await;
    let owner = app.role("Incident manager").await;
    let (status, created) = app
        .post(
            "/api/v1/processes",
            &manager,
            json!({"code": "INC", "name": "Incident management", "purpose": "Restore service", "clauses": ["8.6.1", "8.6.1"], "owner_role_id": owner, "review_due": "2027-01-31"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["state"], "draft");
    assert_eq!(created["clauses"], json!(["8.6.1"]));
    assert_eq!(created["version"], 1);
    assert_eq!(created["allowed_actions"], json!(["approve"]));
    let id = created["id"].as_str().unwrap();

    let (status, read, headers) = app
        .call_full(
            Method::GET,
            &format!("/api/v1/processes/{id}"),
            &viewer,
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["etag"], "\"1\"");
    assert_eq!(read["review_due"], "2027-01-31");
    assert_eq!(read["allowed_actions"], json!([]), "a viewer may not act");

    app.process("CHG", None).await;
    let (_, by_clause) = app
        .get("/api/v1/processes?clause=8.6.1&include_total=true", &viewer)
        .await;
    assert_eq!(by_clause["total"], 2);
    let (_, by_owner) = app
        .get(&format!("/api/v1/processes?owner_role_id={owner}"), &viewer)
        .await;
    assert_eq!(by_owner["items"].as_array().unwrap().len(), 1);
    for wildcard in ["_", "%25", "%5C"] {
        let (_, none) = app
            .get(&format!("/api/v1/processes?q={wildcard}"), &viewer)
            .await;
        assert_eq!(
            none["items"],
            json!([]),
            "LIKE wildcards match themselves: {wildcard}"
        );
    }
    let (_, by_text) = app.get("/api/v1/processes?q=incident", &viewer).await;
    assert_eq!(by_text["items"][0]["code"], "INC");
    let (_, due) = app
        .get(
            "/api/v1/processes?review_due_from=2027-01-31&review_due_to=2027-01-31",
            &viewer,
        )
        .await;
    assert_eq!(due["items"].as_array().unwrap().len(), 1, "{due}");
    let (_, not_due) = app
        .get("/api/v1/processes?review_due_to=2027-01-30", &viewer)
        .await;
    assert_eq!(not_due["items"], json!([]));
    let (status, _) = app
        .get("/api/v1/processes?review_due_from=soon", &viewer)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, active) = app.get("/api/v1/processes?state=active", &viewer).await;
    assert_eq!(active["items"], json!([]));
    let (_, clause) = app.get("/api/v1/clauses/8.6.1", &viewer).await;
    assert_eq!(clause["references"]["processes"], 2);
});

both!(
    pagination_walks_every_item_once,
    |app: TestApp| async move {
        for i in 0..7 {
            app.process(&format!("P{i}"), None).await;
        }
        for sort in ["code", "-code", "name", "created_at", "-created_at"] {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut path = format!("/api/v1/processes?limit=3&sort={sort}");
                if let Some(c) = &cursor {
                    path.push_str(&format!("&cursor={c}"));
                }
                let (status, page) = app.get(&path, &app.admin_token).await;
                assert_eq!(status, StatusCode::OK, "{page}");
                seen.extend(
                    page["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| p["code"].as_str().unwrap().to_string()),
                );
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_string()),
                    None => break,
                }
            }
            let mut expected: Vec<String> = (0..7).map(|i| format!("P{i}")).collect();
            if sort.starts_with('-') {
                expected.reverse();
            }
            assert_eq!(seen, expected, "sort {sort}");
        }
        let (status, body) = app
            .get("/api/v1/processes?limit=500", &app.admin_token)
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        let (status, body) = app
            .get("/api/v1/processes?cursor=garbage", &app.admin_token)
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        let (status, body) = app
            .get("/api/v1/processes?sort=colour", &app.admin_token)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
);

both!(only_managers_change_processes, |app: TestApp| async move {
    let process = app.process("INC", None).await;
    let id = process["id"].as_str().unwrap();
    for role in ["viewer", "contributor", "auditor"] {
        let token = app.token_for(role).await;
        let (status, body) = app
            .post(
                "/api/v1/processes",
                &token,
                json!({"code": "X", "name": "X"}),
            )
            .await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, body) = app
            .patch(
                &format!("/api/v1/processes/{id}"),
                &token,
                json!({"name": "Y"}),
            )
            .await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, _) = app
            .call(
                Method::DELETE,
                &format!("/api/v1/processes/{id}"),
                &token,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = app
            .post(
                &format!("/api/v1/processes/{id}/transitions"),
                &token,
                json!({"action": "approve"}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (_, unchanged) = app
        .get(&format!("/api/v1/processes/{id}"), &app.admin_token)
        .await;
    assert_eq!(unchanged["version"], 1);
    assert_eq!(app.count_rows("processes").await, 1);
});

both!(
    bad_input_is_refused_and_nothing_written,
    |app: TestApp| async move {
        let manager = app.token_for("manager").await;
        let cases = [
            (json!({"code": "inc", "name": "X"}), "code"),
            (json!({"code": "INC", "name": ""}), "name"),
            (
                json!({"code": "INC", "name": "X", "clauses": ["99.9"]}),
                "clauses[0]",
            ),
            (
                json!({"code": "INC", "name": "X", "owner_role_id": "nope"}),
                "owner_role_id",
            ),
            (
                json!({"code": "INC", "name": "X", "state": "active"}),
                "state",
            ),
            (
                json!({"code": "INC", "name": "X", "review_due": "tomorrow"}),
                "review_due",
            ),
            (json!({"code": 5, "name": "X"}), "code"),
        ];
        for (body, field) in cases {
            let (status, problem) = app.post("/api/v1/processes", &manager, body).await;
            assert_problem(
                status,
                &problem,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            );
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
        assert_eq!(app.count_rows("processes").await, 0);
        app.process("INC", None).await;
        let (status, body) = app
            .post(
                "/api/v1/processes",
                &manager,
                json!({"code": "INC", "name": "Again"}),
            )
            .await;
        assert_problem(status, &body, StatusCode::CONFLICT, "conflict");
        let (status, body) = app
            .get(
                "/api/v1/processes/01890000-0000-7000-8000-000000000000",
                &manager,
            )
            .await;
        assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    }
);

both!(
    raci_needs_exactly_one_accountable_per_activity,
    |app: TestApp| async move {
        let a = app.role("A").await;
        let b = app.role("B").await;
        let id = app.process("INC", None).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let path = format!("/api/v1/processes/{id}/raci");
        let bad = [
            json!({"assignments": [{"role_id": a, "responsibility": "R"}]}),
            json!({"assignments": [{"role_id": a, "responsibility": "A", "activity": "triage"}, {"role_id": b, "responsibility": "A", "activity": "triage"}]}),
            json!({"assignments": [{"role_id": "missing", "responsibility": "A"}]}),
            json!({"assignments": [{"role_id": a, "responsibility": "X"}]}),
        ];
        for body in bad {
            let (status, problem) = app
                .call(Method::PUT, &path, &app.admin_token, Some(body))
                .await;
            assert_problem(
                status,
                &problem,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            );
        }
        let good = json!({"assignments": [
            {"role_id": a, "responsibility": "A", "activity": "triage"},
            {"role_id": b, "responsibility": "R", "activity": "triage"},
            {"role_id": b, "responsibility": "A", "activity": "close"}
        ]});
        let (status, process) = app
            .call(Method::PUT, &path, &app.admin_token, Some(good))
            .await;
        assert_eq!(status, StatusCode::OK, "{process}");
        assert_eq!(process["raci"].as_array().unwrap().len(), 3);
        assert_eq!(process["version"], 2);
        let (status, body) = app
            .call(
                Method::DELETE,
                &format!("/api/v1/roles/{a}"),
                &app.admin_token,
                None,
            )
            .await;
        assert_problem(status, &body, StatusCode::CONFLICT, "conflict");
    }
);

both!(approval_workflow, |app: TestApp| async move {
    let manager = app.token_for("manager").await;
    let bare = app.process("BARE", None).await;
    let path = format!(
        "/api/v1/processes/{}/transitions",
        bare["id"].as_str().unwrap()
    );
    let (status, problem) = app
        .post(&path, &manager, json!({"action": "approve"}))
        .await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "precondition_missing",
    );
    assert_eq!(problem["errors"][0]["field"], "owner_role_id");

    let (_, id) = approvable(&app, "INC").await;
    let path = format!("/api/v1/processes/{id}/transitions");
    let (status, problem) = app.post(&path, &manager, json!({"action": "retire"})).await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "invalid_transition");
    assert_eq!(problem["allowed_actions"], json!(["approve"]));

    let (status, stale) = app
        .call_full(
            Method::POST,
            &path,
            &manager,
            Some(json!({"action": "approve"})),
            &[("If-Match", "\"1\"")],
        )
        .await
        .into_parts();
    assert_problem(
        status,
        &stale,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    );

    let (status, active, headers) = app
        .call_full(
            Method::POST,
            &path,
            &manager,
            Some(json!({"action": "approve"})),
            &[("If-Match", "\"2\"")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{active}");
    assert_eq!(active["state"], "active");
    assert_eq!(headers["etag"], "\"3\"");
    assert_eq!(active["allowed_actions"], json!(["retire", "revise"]));

    let (status, body) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/processes/{id}"),
            &manager,
            None,
        )
        .await;
    assert_problem(status, &body, StatusCode::CONFLICT, "conflict");
    let (_, draft) = app.post(&path, &manager, json!({"action": "revise"})).await;
    assert_eq!(draft["state"], "draft");
    app.post(&path, &manager, json!({"action": "approve"}))
        .await;
    let (_, retired) = app.post(&path, &manager, json!({"action": "retire"})).await;
    assert_eq!(retired["state"], "retired");
    assert_eq!(retired["allowed_actions"], json!([]));
    let (status, body) = app
        .patch(
            &format!("/api/v1/processes/{id}"),
            &manager,
            json!({"name": "New"}),
        )
        .await;
    assert_problem(status, &body, StatusCode::CONFLICT, "conflict");
    let (status, body) = app.post(&path, &manager, json!({"action": "fly"})).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
});

both!(merge_patch_and_concurrency, |app: TestApp| async move {
    let process = app.process("INC", None).await;
    let id = process["id"].as_str().unwrap();
    let path = format!("/api/v1/processes/{id}");
    let (status, patched, headers) = app
        .if_match(
            Method::PATCH,
            &path,
            Some(json!({"purpose": "Restore", "review_due": "2027-03-01"})),
            1,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["purpose"], "Restore");
    assert_eq!(patched["name"], "Process INC", "untouched fields stay");
    assert_eq!(headers["etag"], "\"2\"");
    let (_, cleared) = app
        .patch(&path, &app.admin_token, json!({"purpose": null}))
        .await;
    assert_eq!(cleared["purpose"], Value::Null);
    let (status, body, _) = app
        .if_match(Method::PATCH, &path, Some(json!({"name": "Stale"})), 1)
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    );
    for read_only in [
        json!({"id": "x"}),
        json!({"version": 9}),
        json!({"state": "active"}),
        json!({"name": null}),
    ] {
        let (status, body) = app.patch(&path, &app.admin_token, read_only).await;
        assert_problem(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
    }
    let (_, after) = app.get(&path, &app.admin_token).await;
    assert_eq!(after["name"], "Process INC");
    assert_eq!(after["version"], 3);
    let (status, _) = app
        .if_match(Method::DELETE, &path, None, 3)
        .await
        .into_parts();
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&path, &app.admin_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});

trait IntoParts {
    fn into_parts(self) -> (StatusCode, Value);
}

impl IntoParts for (StatusCode, Value, reqwest::header::HeaderMap) {
    fn into_parts(self) -> (StatusCode, Value) {
        (self.0, self.1)
    }
}

both!(lists_export_as_csv, |app: TestApp| async move {
    app.process("INC", None).await;
    app.process("CHG", None).await;
    let res = app
        .request(
            Method::GET,
            "/api/v1/processes?limit=1&sort=code",
            Some(&app.admin_token),
        )
        .header("Accept", "text/csv")
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
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("id,code,name,"), "{text}");
    assert!(lines[1].contains(",CHG,Process CHG,"), "{text}");
    let res = app
        .request(
            Method::GET,
            &format!("/api/v1/processes?limit=1&sort=code&cursor={cursor}"),
            Some(&app.admin_token),
        )
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("x-next-cursor").is_none());
    assert!(res.text().await.unwrap().contains(",INC,"));
});

both!(
    an_active_process_keeps_what_approval_needed,
    |app: TestApp| async move {
        let (_, id) = approvable(&app, "INC").await;
        let path = format!("/api/v1/processes/{id}");
        app.post(
            &format!("{path}/transitions"),
            &app.admin_token,
            json!({"action": "approve"}),
        )
        .await;
        for patch in [
            json!({"owner_role_id": null}),
            json!({"clauses": null}),
            json!({"clauses": []}),
        ] {
            let (status, body) = app.patch(&path, &app.admin_token, patch).await;
            assert_problem(
                status,
                &body,
                StatusCode::UNPROCESSABLE_ENTITY,
                "precondition_missing",
            );
        }
        let (status, body) = app
            .call(
                Method::PUT,
                &format!("{path}/raci"),
                &app.admin_token,
                Some(json!({"assignments": []})),
            )
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        let (status, body) = app
            .patch(
                &path,
                &app.admin_token,
                json!({"name": "Incident management"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
);

both!(
    null_clears_a_list_in_a_merge_patch,
    |app: TestApp| async move {
        let id = app.process("INC", None).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, body) = app
            .patch(
                &format!("/api/v1/processes/{id}"),
                &app.admin_token,
                json!({"clauses": null}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["clauses"], json!([]));
    }
);

both!(forged_cursors_are_refused, |app: TestApp| async move {
    use base64::Engine;
    let forge = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let cases = [
        (
            "/api/v1/processes?sort=name&cursor=",
            json!({"s": "name", "v": 5, "i": "x"}),
        ),
        (
            "/api/v1/audit-trail?cursor=",
            json!({"s": "seq", "v": "abc", "i": "x"}),
        ),
        (
            "/api/v1/clauses?cursor=",
            json!({"s": "clause", "v": "x", "i": "x"}),
        ),
    ];
    for (path, cursor) in cases {
        let (status, body) = app
            .get(&format!("{path}{}", forge(cursor)), &app.admin_token)
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
    }
});

both!(
    the_declared_role_is_checked_before_the_body,
    |app: TestApp| async move {
        let viewer = app.token_for("viewer").await;
        let (status, problem) = app
            .post("/api/v1/processes", &viewer, json!({"code": 1}))
            .await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        assert!(
            problem["detail"].as_str().unwrap().contains("manager"),
            "{problem}"
        );
    }
);
