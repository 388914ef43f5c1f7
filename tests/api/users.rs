use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{ADMIN_EMAIL, PASSWORD, TestApp, assert_problem};

const MISSING: &str = "01890000-0000-7000-8000-000000000000";

async fn create_key(app: &TestApp, user_id: &str, body: Value) -> (StatusCode, Value) {
    app.post(
        &format!("/api/v1/users/{user_id}/api-keys"),
        &app.admin_token,
        body,
    )
    .await
}

async fn exchange(app: &TestApp, key: &str) -> (StatusCode, Value) {
    let (status, body, _) = app
        .anon(
            Method::POST,
            "/api/v1/auth/token",
            Some(json!({"api_key": key})),
            &[],
        )
        .await;
    (status, body)
}

both!(admin_manages_users, |app: TestApp| async move {
    let (status, created, headers) = app
        .call_full(
            Method::POST,
            "/api/v1/users",
            &app.admin_token,
            Some(json!({"email": " Ann@Example.COM ", "display_name": "Ann Example", "roles": ["manager", "auditor", "manager"], "password": PASSWORD})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36);
    assert_eq!(headers["location"], format!("/api/v1/users/{id}").as_str());
    assert_eq!(headers["etag"], "\"1\"");
    assert_eq!(created["email"], "ann@example.com");
    assert_eq!(created["display_name"], "Ann Example");
    assert_eq!(created["kind"], "person");
    assert_eq!(created["roles"], json!(["manager", "auditor"]));
    assert_eq!(created["active"], true);
    assert_eq!(created["version"], 1);
    assert!(!created.to_string().contains("password"), "{created}");

    let (status, got, headers) = app
        .call_full(
            Method::GET,
            &format!("/api/v1/users/{id}"),
            &app.admin_token,
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, created);
    assert_eq!(headers["etag"], "\"1\"");

    app.service_account("bot@example.com", &["viewer"]).await;
    let (status, list) = app
        .get("/api/v1/users?include_total=true", &app.admin_token)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 3);
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    let emails = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, by_email) = app.get("/api/v1/users?sort=email", &app.admin_token).await;
    assert_eq!(
        emails(&by_email),
        [ADMIN_EMAIL, "ann@example.com", "bot@example.com"]
    );
    let (_, desc) = app.get("/api/v1/users?sort=-email", &app.admin_token).await;
    assert_eq!(
        emails(&desc),
        ["bot@example.com", "ann@example.com", ADMIN_EMAIL]
    );
    let (_, by_name) = app.get("/api/v1/users?q=ann%20EX", &app.admin_token).await;
    assert_eq!(emails(&by_name), ["ann@example.com"], "q searches the name");
    let (_, by_email) = app.get("/api/v1/users?q=BOT@", &app.admin_token).await;
    assert_eq!(
        emails(&by_email),
        ["bot@example.com"],
        "q searches the email"
    );
    let (_, services) = app
        .get("/api/v1/users?kind=service", &app.admin_token)
        .await;
    assert_eq!(emails(&services), ["bot@example.com"]);
    let (_, auditors) = app
        .get("/api/v1/users?role=auditor", &app.admin_token)
        .await;
    assert_eq!(emails(&auditors), ["ann@example.com"]);

    let path = format!("/api/v1/users/{id}");
    let (status, patched, headers) = app
        .if_match(
            Method::PATCH,
            &path,
            Some(json!({"display_name": "Ann E.", "roles": ["viewer"]})),
            1,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["display_name"], "Ann E.");
    assert_eq!(patched["roles"], json!(["viewer"]));
    assert_eq!(patched["email"], "ann@example.com", "untouched fields stay");
    assert_eq!(patched["active"], true);
    assert_eq!(patched["version"], 2);
    assert_eq!(headers["etag"], "\"2\"");

    let (status, body, _) = app
        .if_match(
            Method::PATCH,
            &path,
            Some(json!({"display_name": "Stale"})),
            1,
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    );
    for (body, field) in [
        (json!({"email": "other@example.com"}), "email"),
        (json!({"kind": "service"}), "kind"),
        (json!({"version": 7}), "version"),
        (json!({"roles": ["root"]}), "roles[0]"),
        (json!({"display_name": ""}), "display_name"),
    ] {
        let (status, problem) = app.patch(&path, &app.admin_token, body).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let (_, after) = app.get(&path, &app.admin_token).await;
    assert_eq!(after["version"], 2);
    assert_eq!(after["display_name"], "Ann E.");

    // The new roles are in the tokens issued from now on.
    let token = app.login("ann@example.com", PASSWORD).await;
    let (status, _) = app.get("/api/v1/audit-trail", &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no longer an auditor");
});

both!(
    email_is_unique_case_insensitively,
    |app: TestApp| async move {
        app.person("ann@example.com", &[]).await;
        let before = app.count_rows("users").await;
        for email in ["ann@example.com", "ANN@EXAMPLE.COM", " Ann@example.com"] {
            let (status, body) = app
                .post(
                    "/api/v1/users",
                    &app.admin_token,
                    json!({"email": email, "display_name": "Ann 2", "password": PASSWORD}),
                )
                .await;
            assert_problem(status, &body, StatusCode::CONFLICT, "conflict");
        }
        let (status, body) = app
            .post(
                "/api/v1/users",
                &app.admin_token,
                json!({"email": "ANN@example.com", "display_name": "Bot", "kind": "service"}),
            )
            .await;
        assert_problem(status, &body, StatusCode::CONFLICT, "conflict");
        assert_eq!(app.count_rows("users").await, before);
    }
);

both!(
    invalid_users_are_refused_and_nothing_written,
    |app: TestApp| async move {
        let before = app.count_rows("users").await;
        let audit_before = app.count_rows("audit_trail").await;
        let cases = [
            (
                json!({"email": "not-an-email", "display_name": "X", "password": PASSWORD}),
                "email",
            ),
            (
                json!({"email": "x@localhost", "display_name": "X", "password": PASSWORD}),
                "email",
            ),
            (
                json!({"email": "x@example.com", "display_name": "X", "password": "short"}),
                "password",
            ),
            (
                json!({"email": "x@example.com", "display_name": "X"}),
                "password",
            ),
            (
                json!({"email": "x@example.com", "display_name": "X", "kind": "service", "password": PASSWORD}),
                "password",
            ),
            (
                json!({"email": "x@example.com", "display_name": "X", "roles": ["superuser"], "password": PASSWORD}),
                "roles[0]",
            ),
            (
                json!({"email": "x@example.com", "display_name": "X", "kind": "robot"}),
                "kind",
            ),
            (
                json!({"email": "x@example.com", "display_name": " ", "password": PASSWORD}),
                "display_name",
            ),
            (
                json!({"email": "x@example.com", "display_name": "X", "password": PASSWORD, "active": false}),
                "active",
            ),
            (
                json!({"email": "x@example.com", "display_name": "X", "password": PASSWORD, "id": "x"}),
                "id",
            ),
            (json!({"display_name": "X", "password": PASSWORD}), "email"),
        ];
        for (body, field) in cases {
            let (status, problem) = app.post("/api/v1/users", &app.admin_token, body).await;
            assert_problem(
                status,
                &problem,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            );
            let fields: Vec<&str> = problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["field"].as_str().unwrap())
                .collect();
            assert!(fields.contains(&field), "{field}: {problem}");
        }
        assert_eq!(app.count_rows("users").await, before);
        assert_eq!(app.count_rows("audit_trail").await, audit_before);
    }
);

both!(only_admins_manage_users, |app: TestApp| async move {
    let target = app.person("ann@example.com", &["viewer"]).await;
    let service = app.service_account("bot@example.com", &[]).await;
    let (_, key) = create_key(&app, &service, json!({"name": "k"})).await;
    let key_id = key["id"].as_str().unwrap();
    let users_before = app.count_rows("users").await;
    for role in ["viewer", "contributor", "manager", "auditor"] {
        let token = app.token_for(role).await;
        let attempts = [
            (Method::GET, "/api/v1/users".to_string(), None),
            (
                Method::POST,
                "/api/v1/users".to_string(),
                Some(
                    json!({"email": format!("new-{role}@example.com"), "display_name": "New", "password": PASSWORD}),
                ),
            ),
            (Method::GET, format!("/api/v1/users/{target}"), None),
            // Unknown ids answer the same as known ones: nothing leaks.
            (Method::GET, format!("/api/v1/users/{MISSING}"), None),
            (
                Method::PATCH,
                format!("/api/v1/users/{target}"),
                Some(json!({"roles": ["admin"]})),
            ),
            (
                Method::POST,
                format!("/api/v1/users/{target}/password"),
                Some(json!({"password": "a-new-password-of-mine"})),
            ),
            (
                Method::GET,
                format!("/api/v1/users/{service}/api-keys"),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/users/{service}/api-keys"),
                Some(json!({"name": "mine"})),
            ),
            (
                Method::DELETE,
                format!("/api/v1/users/{service}/api-keys/{key_id}"),
                None,
            ),
        ];
        for (method, path, body) in attempts {
            let (status, problem) = app.call(method.clone(), &path, &token, body).await;
            assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
            assert!(
                !problem.to_string().contains("ann@example.com"),
                "{method} {path}: {problem}"
            );
        }
    }
    assert_eq!(
        app.count_rows("users").await,
        users_before + 4,
        "only the four callers were created"
    );
    let (_, ann) = app
        .get(&format!("/api/v1/users/{target}"), &app.admin_token)
        .await;
    assert_eq!(ann["roles"], json!(["viewer"]));
    assert_eq!(ann["version"], 1);
    assert_eq!(
        app.try_login("ann@example.com", PASSWORD).await.0,
        StatusCode::OK
    );
    let (status, _) = exchange(&app, key["key"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "the key was not revoked");
});

both!(unknown_users_are_404, |app: TestApp| async move {
    let attempts = [
        (Method::GET, format!("/api/v1/users/{MISSING}"), None),
        (
            Method::PATCH,
            format!("/api/v1/users/{MISSING}"),
            Some(json!({"display_name": "X"})),
        ),
        (
            Method::POST,
            format!("/api/v1/users/{MISSING}/password"),
            Some(json!({"password": "a-new-password-of-mine"})),
        ),
        (
            Method::GET,
            format!("/api/v1/users/{MISSING}/api-keys"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/users/{MISSING}/api-keys"),
            Some(json!({"name": "k"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/users/{MISSING}/api-keys/{MISSING}"),
            None,
        ),
        (Method::GET, "/api/v1/users/not-an-id".to_string(), None),
    ];
    for (method, path, body) in attempts {
        let (status, problem) = app
            .call(method.clone(), &path, &app.admin_token, body)
            .await;
        assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
        assert_eq!(problem["instance"], path.as_str(), "{method}");
    }
});

both!(
    admins_cannot_lock_themselves_out,
    |app: TestApp| async move {
        let me = app.me(&app.admin_token).await;
        let path = format!("/api/v1/users/{}", me["id"].as_str().unwrap());
        let (status, problem) = app
            .patch(&path, &app.admin_token, json!({"active": false}))
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(problem["errors"][0]["field"], "active", "{problem}");
        let (status, problem) = app
            .patch(&path, &app.admin_token, json!({"roles": ["viewer"]}))
            .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(problem["errors"][0]["field"], "roles", "{problem}");
        let (_, after) = app.get(&path, &app.admin_token).await;
        assert_eq!(after["active"], true);
        assert_eq!(after["roles"], json!(["admin"]));
        assert_eq!(after["version"], 1);

        // Another admin may deactivate this one.
        let (_, other_admin) = app.user_with_roles(&["admin"]).await;
        let (status, body) = app
            .patch(
                &path,
                &other_admin,
                json!({"display_name": "Former admin", "active": false}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["active"], false);
    }
);

both!(service_accounts_use_api_keys, |app: TestApp| async move {
    let (status, bot, _) = app
        .call_full(
            Method::POST,
            "/api/v1/users",
            &app.admin_token,
            Some(json!({"email": "import-bot@example.com", "display_name": "Nightly import", "kind": "service", "roles": ["manager"]})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bot}");
    assert_eq!(bot["kind"], "service");
    let id = bot["id"].as_str().unwrap().to_string();
    let keys_path = format!("/api/v1/users/{id}/api-keys");

    let (status, created, headers) = app
        .call_full(
            Method::POST,
            &keys_path,
            &app.admin_token,
            Some(json!({"name": "nightly import"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().unwrap().to_string();
    let key_id = created["id"].as_str().unwrap().to_string();
    assert!(key.len() >= 32, "{key}");
    assert_eq!(created["name"], "nightly import");
    assert_eq!(created["user_id"], id.as_str());
    assert_eq!(created["expires_at"], Value::Null);
    assert_eq!(created["revoked_at"], Value::Null);
    let prefix = created["prefix"].as_str().unwrap();
    assert!(key.starts_with(prefix) && prefix.len() < key.len());
    assert_eq!(
        headers["location"],
        format!("{keys_path}/{key_id}").as_str()
    );

    let (status, list) = app.get(&keys_path, &app.admin_token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], key_id.as_str());
    assert!(list["items"][0].get("key").is_none(), "{list}");
    assert!(!list.to_string().contains(&key), "the secret is shown once");
    assert_eq!(
        app.query_i64(&format!(
            "SELECT COUNT(*) AS n FROM api_keys WHERE key_hash = '{key}'"
        ))
        .await,
        0,
        "the key is stored hashed"
    );

    let (status, pair) = exchange(&app, &key).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    assert_eq!(pair["token_type"], "Bearer");
    assert!(pair["expires_in"].as_u64().is_some_and(|s| s > 0));
    assert!(pair.get("refresh_token").is_none(), "{pair}");
    let token = pair["access_token"].as_str().unwrap();
    let me = app.me(token).await;
    assert_eq!(me["id"], id.as_str());
    assert_eq!(me["kind"], "service");
    let (status, _) = app
        .post("/api/v1/roles", token, json!({"name": "Made by a script"}))
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the key carries the account's roles"
    );
    let (_, list) = app.get(&keys_path, &app.admin_token).await;
    assert!(list["items"][0]["last_used_at"].is_string(), "{list}");

    let (status, body) = exchange(&app, "itsms_not-a-real-key").await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");

    // A key is revoked only through its own account.
    let other = app.service_account("other-bot@example.com", &[]).await;
    let (status, body) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/users/{other}/api-keys/{key_id}"),
            &app.admin_token,
            None,
        )
        .await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(exchange(&app, &key).await.0, StatusCode::OK);

    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("{keys_path}/{key_id}"),
            &app.admin_token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = exchange(&app, &key).await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    let (_, list) = app.get(&keys_path, &app.admin_token).await;
    assert!(list["items"][0]["revoked_at"].is_string(), "{list}");

    // A deactivated account's keys stop working.
    let (_, second) = create_key(&app, &id, json!({"name": "second"})).await;
    let second = second["key"].as_str().unwrap().to_string();
    assert_eq!(exchange(&app, &second).await.0, StatusCode::OK);
    let (status, _) = app
        .patch(
            &format!("/api/v1/users/{id}"),
            &app.admin_token,
            json!({"active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(exchange(&app, &second).await.0, StatusCode::UNAUTHORIZED);
});

both!(api_key_rules, |app: TestApp| async move {
    let person = app.person("ann@example.com", &["viewer"]).await;
    let (status, problem) = create_key(&app, &person, json!({"name": "k"})).await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    let bot = app.service_account("bot@example.com", &["viewer"]).await;
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let cases = [
        (json!({"name": "k", "expires_at": past}), "expires_at"),
        (json!({"name": ""}), "name"),
        (
            json!({"name": "k", "expires_at": "next week"}),
            "expires_at",
        ),
        (json!({"name": "k", "key": "itsms_chosen"}), "key"),
    ];
    for (body, field) in cases {
        let (status, problem) = create_key(&app, &bot, body).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    assert_eq!(app.count_rows("api_keys").await, 0);

    // A key with an expiry works until then, and not after.
    let soon = app.clock.now() + chrono::Duration::hours(1);
    let (status, created) = create_key(
        &app,
        &bot,
        json!({"name": "short-lived", "expires_at": soon.to_rfc3339()}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(created["expires_at"].is_string());
    let key = created["key"].as_str().unwrap().to_string();
    assert_eq!(exchange(&app, &key).await.0, StatusCode::OK);
    app.clock.advance(chrono::Duration::hours(2));
    let (status, body) = exchange(&app, &key).await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
});

both!(admin_sets_a_password, |app: TestApp| async move {
    let id = app.person("ann@example.com", &["viewer"]).await;
    let (_, session, _) = app.try_login("ann@example.com", PASSWORD).await;
    let path = format!("/api/v1/users/{id}/password");

    let (status, problem) = app
        .post(&path, &app.admin_token, json!({"password": "short"}))
        .await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(problem["errors"][0]["field"], "password");

    let new_password = "a-brand-new-password";
    let (status, body) = app
        .post(&path, &app.admin_token, json!({"password": new_password}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        app.try_login("ann@example.com", new_password).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.try_login("ann@example.com", PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = app
        .try_refresh(session["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "earlier sessions end");

    let bot = app.service_account("bot@example.com", &[]).await;
    let (status, problem) = app
        .post(
            &format!("/api/v1/users/{bot}/password"),
            &app.admin_token,
            json!({"password": new_password}),
        )
        .await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        app.try_login("bot@example.com", new_password).await.0,
        StatusCode::UNAUTHORIZED
    );
});
