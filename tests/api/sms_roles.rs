use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{TestApp, assert_problem};

const MISSING: &str = "01890000-0000-7000-8000-000000000000";

fn sorted(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

both!(crud_with_members, |app: TestApp| async move {
    let manager = app.token_for("manager").await;
    let (ann, _) = app.user_with_roles(&["viewer"]).await;
    let (bob, _) = app.user_with_roles(&["contributor"]).await;

    let (status, created, headers) = app
        .call_full(
            Method::POST,
            "/api/v1/roles",
            &manager,
            Some(json!({
                "name": " Change manager ",
                "description": "Runs the change advisory board",
                "responsibilities": ["Assess changes", "Chair the CAB"],
                "authorities": ["Approve standard changes"],
                "required_competences": ["ITIL 4 Foundation", "ITIL 4 Foundation"],
                "member_ids": [ann, bob, ann]
            })),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(headers["location"], format!("/api/v1/roles/{id}").as_str());
    assert_eq!(headers["etag"], "\"1\"");
    assert_eq!(created["name"], "Change manager");
    assert_eq!(created["description"], "Runs the change advisory board");
    assert_eq!(
        created["responsibilities"],
        json!(["Assess changes", "Chair the CAB"])
    );
    assert_eq!(created["authorities"], json!(["Approve standard changes"]));
    assert_eq!(
        created["required_competences"],
        json!(["ITIL 4 Foundation"])
    );
    let mut expected = vec![ann.clone(), bob.clone()];
    expected.sort();
    assert_eq!(sorted(&created["member_ids"]), expected);
    assert_eq!(created["version"], 1);

    let path = format!("/api/v1/roles/{id}");
    let (status, got, headers) = app.call_full(Method::GET, &path, &manager, None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, created);
    assert_eq!(headers["etag"], "\"1\"");

    let (status, patched, headers) = app
        .call_full(
            Method::PATCH,
            &path,
            &manager,
            Some(json!({"member_ids": [bob]})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["member_ids"], json!([bob]));
    assert_eq!(headers["etag"], "\"2\"");

    let (status, _) = app.call(Method::DELETE, &path, &manager, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.get(&path, &manager).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = app.call(Method::DELETE, &path, &manager, None).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.count_rows("sms_role_members").await, 0);
    assert_eq!(app.count_rows("sms_roles").await, 0);
});

both!(members_must_be_existing_users, |app: TestApp| async move {
    let (ann, _) = app.user_with_roles(&["viewer"]).await;
    for members in [json!([MISSING]), json!([ann, "nobody"])] {
        let (status, problem) = app
            .post(
                "/api/v1/roles",
                &app.admin_token,
                json!({"name": "Service owner", "member_ids": members}),
            )
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(problem["errors"][0]["field"], "member_ids", "{problem}");
    }
    assert_eq!(app.count_rows("sms_roles").await, 0);
    assert_eq!(app.count_rows("sms_role_members").await, 0);

    let id = app.role("Service owner").await;
    let path = format!("/api/v1/roles/{id}");
    let (status, problem) = app
        .patch(
            &path,
            &app.admin_token,
            json!({"member_ids": [ann, MISSING]}),
        )
        .await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(problem["errors"][0]["field"], "member_ids");
    let (_, role) = app.get(&path, &app.admin_token).await;
    assert_eq!(role["member_ids"], json!([]));
    assert_eq!(role["version"], 1);
    assert_eq!(app.count_rows("sms_role_members").await, 0);
});

both!(list_filters_and_sorts, |app: TestApp| async move {
    let viewer = app.token_for("viewer").await;
    let (ann, _) = app.user_with_roles(&["viewer"]).await;
    let (bob, _) = app.user_with_roles(&["viewer"]).await;
    for (name, description, members) in [
        ("alpha", "Looks after incidents", json!([ann])),
        ("Beta", "Owns the service catalogue", json!([ann, bob])),
        ("gamma", "Supplier relationships", json!([])),
        ("Delta owner", "Service level reporting", json!([bob])),
    ] {
        let (status, body) = app
            .post(
                "/api/v1/roles",
                &app.admin_token,
                json!({"name": name, "description": description, "member_ids": members}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    let (status, by_name) = app.get("/api/v1/roles?sort=name", &viewer).await;
    assert_eq!(status, StatusCode::OK, "{by_name}");
    assert_eq!(names(&by_name), ["alpha", "Beta", "Delta owner", "gamma"]);
    let (_, desc) = app.get("/api/v1/roles?sort=-name", &viewer).await;
    assert_eq!(names(&desc), ["gamma", "Delta owner", "Beta", "alpha"]);

    // Pages follow the sort.
    let (_, first) = app.get("/api/v1/roles?sort=-name&limit=3", &viewer).await;
    assert_eq!(names(&first), ["gamma", "Delta owner", "Beta"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = app
        .get(
            &format!("/api/v1/roles?sort=-name&limit=3&cursor={cursor}"),
            &viewer,
        )
        .await;
    assert_eq!(names(&second), ["alpha"]);
    assert_eq!(second["next_cursor"], Value::Null);

    let (_, q) = app.get("/api/v1/roles?q=OWNER&sort=name", &viewer).await;
    assert_eq!(names(&q), ["Delta owner"], "q matches the name");
    let (_, q) = app.get("/api/v1/roles?q=service&sort=name", &viewer).await;
    assert_eq!(
        names(&q),
        ["Beta", "Delta owner"],
        "q matches the description, ignoring case"
    );
    let (_, held) = app
        .get(&format!("/api/v1/roles?member_id={ann}&sort=name"), &viewer)
        .await;
    assert_eq!(names(&held), ["alpha", "Beta"]);
    let (_, held) = app
        .get(
            &format!("/api/v1/roles?member_id={bob}&q=delta&include_total=true"),
            &viewer,
        )
        .await;
    assert_eq!(names(&held), ["Delta owner"]);
    assert_eq!(held["total"], 1);
    let (_, none) = app
        .get(&format!("/api/v1/roles?member_id={MISSING}"), &viewer)
        .await;
    assert_eq!(none["items"], json!([]));

    let (status, body) = app.get("/api/v1/roles?sort=colour", &viewer).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
});

both!(names_are_unique_ignoring_case, |app: TestApp| async move {
    app.role("Service owner").await;
    let other = app.role("Change manager").await;
    for name in ["Service owner", "SERVICE OWNER", " service Owner "] {
        let (status, body) = app
            .post("/api/v1/roles", &app.admin_token, json!({"name": name}))
            .await;
        assert_problem(status, &body, StatusCode::CONFLICT, "conflict");
    }
    let path = format!("/api/v1/roles/{other}");
    let (status, body) = app
        .patch(&path, &app.admin_token, json!({"name": "service OWNER"}))
        .await;
    assert_problem(status, &body, StatusCode::CONFLICT, "conflict");
    let (_, unchanged) = app.get(&path, &app.admin_token).await;
    assert_eq!(unchanged["name"], "Change manager");
    assert_eq!(unchanged["version"], 1);
    assert_eq!(app.count_rows("sms_roles").await, 2);

    // A role may change the case of its own name.
    let (status, body) = app
        .patch(&path, &app.admin_token, json!({"name": "Change Manager"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
});

both!(only_managers_change_roles, |app: TestApp| async move {
    let id = app.role("Service owner").await;
    let path = format!("/api/v1/roles/{id}");
    for role in ["viewer", "contributor", "auditor"] {
        let token = app.token_for(role).await;
        let (status, list) = app.get("/api/v1/roles", &token).await;
        assert_eq!(status, StatusCode::OK, "{role}: {list}");
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        let (status, _) = app.get(&path, &token).await;
        assert_eq!(status, StatusCode::OK, "{role}");

        let (status, body) = app
            .post(
                "/api/v1/roles",
                &token,
                json!({"name": format!("By {role}")}),
            )
            .await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, body) = app
            .patch(&path, &token, json!({"description": "changed"}))
            .await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, body) = app.call(Method::DELETE, &path, &token, None).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    }
    let (_, nobody) = app.user_with_roles(&[]).await;
    let (status, body) = app.get("/api/v1/roles", &nobody).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = app.get(&path, &nobody).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");

    let (_, role) = app.get(&path, &app.admin_token).await;
    assert_eq!(role["version"], 1);
    assert_eq!(role["description"], Value::Null);
    assert_eq!(app.count_rows("sms_roles").await, 1);

    let manager = app.token_for("manager").await;
    let (status, _) = app
        .post("/api/v1/roles", &manager, json!({"name": "By manager"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
});

both!(merge_patch_and_concurrency, |app: TestApp| async move {
    let (ann, _) = app.user_with_roles(&["viewer"]).await;
    let (status, created) = app
        .post(
            "/api/v1/roles",
            &app.admin_token,
            json!({
                "name": "Service owner",
                "description": "Owns a service end to end",
                "responsibilities": ["Service reviews"],
                "authorities": ["Accept service changes"],
                "required_competences": ["SIAM"],
                "member_ids": [ann]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/api/v1/roles/{}", created["id"].as_str().unwrap());

    let (status, patched, headers) = app
        .if_match(
            Method::PATCH,
            &path,
            Some(json!({"name": "Service Owner (IT)"})),
            1,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(headers["etag"], "\"2\"");
    assert_eq!(patched["name"], "Service Owner (IT)");
    for field in [
        "description",
        "responsibilities",
        "authorities",
        "required_competences",
        "member_ids",
        "created_at",
        "id",
    ] {
        assert_eq!(patched[field], created[field], "{field} stays");
    }
    assert_eq!(patched["version"], 2);

    let (status, cleared) = app
        .patch(
            &path,
            &app.admin_token,
            json!({"description": null, "responsibilities": ["Service reviews", "Reporting"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert_eq!(cleared["description"], Value::Null);
    assert_eq!(
        cleared["responsibilities"],
        json!(["Service reviews", "Reporting"])
    );
    assert_eq!(cleared["member_ids"], json!([ann]));
    assert_eq!(cleared["version"], 3);

    for stale in ["\"1\"", "\"2\"", "\"4\""] {
        let (status, body, _) = app
            .call_full(
                Method::PATCH,
                &path,
                &app.admin_token,
                Some(json!({"name": "Stale"})),
                &[("If-Match", stale)],
            )
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
        );
    }
    let (status, body, _) = app
        .call_full(
            Method::PATCH,
            &path,
            &app.admin_token,
            Some(json!({"name": "Garbage tag"})),
            &[("If-Match", "garbage")],
        )
        .await;
    assert!(
        status == StatusCode::BAD_REQUEST || status == StatusCode::PRECONDITION_FAILED,
        "an If-Match that is not one of our tags changes nothing: {status} {body}"
    );
    for read_only in [
        json!({"id": "x"}),
        json!({"version": 9}),
        json!({"created_at": "2020-01-01T00:00:00Z"}),
        json!({"name": null}),
        json!({"name": ""}),
        json!({"colour": "red"}),
        json!(["not", "an", "object"]),
    ] {
        let (status, body) = app.patch(&path, &app.admin_token, read_only).await;
        assert_problem(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
    }
    let (status, after, headers) = app
        .call_full(Method::GET, &path, &app.admin_token, None, &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after["name"], "Service Owner (IT)");
    assert_eq!(after["version"], 3);
    assert_eq!(
        headers["etag"],
        format!("\"{}\"", after["version"]).as_str()
    );

    let (status, body, _) = app.if_match(Method::DELETE, &path, None, 2).await;
    assert_problem(
        status,
        &body,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    );
    assert_eq!(app.get(&path, &app.admin_token).await.0, StatusCode::OK);
    let (status, _, _) = app.if_match(Method::DELETE, &path, None, 3).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.get(&path, &app.admin_token).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
});

both!(roles_in_use_cannot_be_deleted, |app: TestApp| async move {
    let owner = app.role("Incident manager").await;
    let process = app.process("INC", Some(&owner)).await;
    let path = format!("/api/v1/roles/{owner}");
    let (status, body) = app
        .call(Method::DELETE, &path, &app.admin_token, None)
        .await;
    assert_problem(status, &body, StatusCode::CONFLICT, "conflict");
    assert_eq!(app.get(&path, &app.admin_token).await.0, StatusCode::OK);

    let (status, _) = app
        .patch(
            &format!("/api/v1/processes/{}", process["id"].as_str().unwrap()),
            &app.admin_token,
            json!({"owner_role_id": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call(Method::DELETE, &path, &app.admin_token, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
});
