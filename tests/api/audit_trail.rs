use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{ADMIN_EMAIL, PASSWORD, TestApp, assert_problem};

fn items(list: &Value) -> &Vec<Value> {
    list["items"].as_array().unwrap()
}

/// Every entry of the trail, oldest first, read as admin.
async fn whole_trail(app: &TestApp) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/api/v1/audit-trail?limit=200".to_string();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = app.get(&path, &app.admin_token).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        all.extend(items(&page).iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return all,
        }
    }
}

/// Runs the `verify-audit-trail` subcommand against the app's database.
async fn verify_with_cli(app: &TestApp) -> (bool, Value) {
    let db_url = app.db_url.clone();
    tokio::task::spawn_blocking(move || {
        let data_dir = tempfile::tempdir().unwrap();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_itsms"));
        for (key, _) in std::env::vars() {
            if key.starts_with("ITSMS") {
                command.env_remove(key);
            }
        }
        let output = command
            .arg("verify-audit-trail")
            .env("ITSMS__DATABASE__URL", db_url)
            .env("ITSMS__SERVER__DATA_DIR", data_dir.path())
            .env("ITSMS__DATABASE__MAX_CONNECTIONS", "2")
            .env("ITSMS__LOG__LEVEL", "warn")
            .output()
            .expect("the itsms binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let report = serde_json::from_str(&stdout).unwrap_or_else(|_| {
            panic!(
                "verify-audit-trail prints a JSON report; stdout: {stdout}; stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (output.status.success(), report)
    })
    .await
    .unwrap()
}

both!(changes_are_recorded, |app: TestApp| async move {
    let (manager_id, manager) = app.user_with_roles(&["manager"]).await;
    let admin_id = app.me(&app.admin_token).await["id"]
        .as_str()
        .unwrap()
        .to_string();

    // An SMS role: create, update, delete, each with a request id of our own.
    let (status, role, headers) = app
        .call_full(
            Method::POST,
            "/api/v1/roles",
            &manager,
            Some(json!({"name": "Change manager", "responsibilities": ["Chair the CAB"]})),
            &[("X-Request-Id", "req-role-create")],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    assert_eq!(headers["x-request-id"], "req-role-create");
    let role_id = role["id"].as_str().unwrap().to_string();
    let role_path = format!("/api/v1/roles/{role_id}");
    let (status, _, _) = app
        .call_full(
            Method::PATCH,
            &role_path,
            &manager,
            Some(json!({"description": "Runs the CAB"})),
            &[("X-Request-Id", "req-role-update")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = app
        .call_full(
            Method::DELETE,
            &role_path,
            &manager,
            None,
            &[("X-Request-Id", "req-role-delete")],
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // A process, the same way.
    let (status, process, _) = app
        .call_full(
            Method::POST,
            "/api/v1/processes",
            &manager,
            Some(json!({"code": "CHG", "name": "Change management", "clauses": ["8.5.1"]})),
            &[("X-Request-Id", "req-process-create")],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{process}");
    let process_id = process["id"].as_str().unwrap().to_string();
    let process_path = format!("/api/v1/processes/{process_id}");
    let (status, _, _) = app
        .call_full(
            Method::PATCH,
            &process_path,
            &manager,
            Some(json!({"name": "Change enablement"})),
            &[("X-Request-Id", "req-process-update")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = app
        .call_full(
            Method::DELETE,
            &process_path,
            &manager,
            None,
            &[("X-Request-Id", "req-process-delete")],
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, list) = app
        .get(
            &format!("/api/v1/audit-trail?entity_type=sms_role&entity_id={role_id}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let role_entries = items(&list);
    assert_eq!(role_entries.len(), 3, "{list}");
    for (entry, (action, request_id)) in role_entries.iter().zip([
        ("create", "req-role-create"),
        ("update", "req-role-update"),
        ("delete", "req-role-delete"),
    ]) {
        assert_eq!(entry["action"], action, "{entry}");
        assert_eq!(entry["actor_id"], manager_id.as_str(), "{entry}");
        assert_eq!(entry["entity_type"], "sms_role", "{entry}");
        assert_eq!(entry["entity_id"], role_id.as_str(), "{entry}");
        assert_eq!(entry["request_id"], request_id, "{entry}");
        assert!(
            chrono::DateTime::parse_from_rfc3339(entry["at"].as_str().unwrap()).is_ok(),
            "{entry}"
        );
    }
    let [created, updated, deleted] = &role_entries[..] else {
        unreachable!()
    };
    assert_eq!(
        created["changes"]["name"],
        json!({"before": null, "after": "Change manager"})
    );
    assert_eq!(
        created["changes"]["responsibilities"],
        json!({"before": null, "after": ["Chair the CAB"]})
    );
    assert_eq!(
        updated["changes"]["description"],
        json!({"before": null, "after": "Runs the CAB"})
    );
    for unchanged in ["name", "responsibilities", "member_ids", "id", "created_at"] {
        assert!(
            updated["changes"].get(unchanged).is_none(),
            "only changed fields: {updated}"
        );
    }
    assert_eq!(
        deleted["changes"]["name"],
        json!({"before": "Change manager", "after": null})
    );
    assert_eq!(
        deleted["changes"]["description"],
        json!({"before": "Runs the CAB", "after": null})
    );
    let seqs: Vec<i64> = role_entries
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {seqs:?}"
    );

    let (_, list) = app
        .get(
            &format!("/api/v1/audit-trail?entity_id={process_id}"),
            &app.admin_token,
        )
        .await;
    let process_entries = items(&list);
    let actions: Vec<&str> = process_entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "update", "delete"]);
    for (entry, request_id) in process_entries.iter().zip([
        "req-process-create",
        "req-process-update",
        "req-process-delete",
    ]) {
        assert_eq!(entry["entity_type"], "process");
        assert_eq!(entry["entity_id"], process_id.as_str());
        assert_eq!(entry["actor_id"], manager_id.as_str());
        assert_eq!(entry["request_id"], request_id);
    }
    assert_eq!(
        process_entries[0]["changes"]["code"],
        json!({"before": null, "after": "CHG"})
    );
    assert_eq!(
        process_entries[1]["changes"]["name"],
        json!({"before": "Change management", "after": "Change enablement"})
    );
    assert!(process_entries[1]["changes"].get("code").is_none());
    assert_eq!(
        process_entries[2]["changes"]["name"],
        json!({"before": "Change enablement", "after": null})
    );

    // Filters.
    let (_, by_type) = app
        .get("/api/v1/audit-trail?entity_type=process", &app.admin_token)
        .await;
    assert_eq!(items(&by_type).len(), 3);
    assert!(
        items(&by_type)
            .iter()
            .all(|e| e["entity_type"] == "process")
    );
    let (_, by_actor) = app
        .get(
            &format!("/api/v1/audit-trail?actor_id={manager_id}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(items(&by_actor).len(), 6);
    let (_, users) = app
        .get("/api/v1/audit-trail?entity_type=user", &app.admin_token)
        .await;
    let users = items(&users);
    // The first admin is created by the service itself; the manager by that admin.
    assert_eq!(users[0]["seq"], 1);
    assert_eq!(users[0]["actor_id"], Value::Null);
    assert_eq!(users[0]["changes"]["email"]["after"], ADMIN_EMAIL);
    assert_eq!(users[1]["entity_id"], manager_id.as_str());
    assert_eq!(users[1]["actor_id"], admin_id.as_str());
    let (_, none) = app
        .get("/api/v1/audit-trail?entity_type=nothing", &app.admin_token)
        .await;
    assert_eq!(none["items"], json!([]));

    // The chain links every row to the one before.
    let trail = whole_trail(&app).await;
    assert_eq!(trail.len() as i64, app.count_rows("audit_trail").await);
    assert_eq!(trail[0]["prev_hash"], "0".repeat(64));
    for pair in trail.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
        assert_eq!(
            pair[1]["seq"].as_i64().unwrap(),
            pair[0]["seq"].as_i64().unwrap() + 1
        );
    }
});

both!(
    generated_request_ids_are_recorded,
    |app: TestApp| async move {
        let (status, role, headers) = app
            .call_full(
                Method::POST,
                "/api/v1/roles",
                &app.admin_token,
                Some(json!({"name": "Service owner"})),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let generated = headers["x-request-id"].to_str().unwrap();
        assert!(!generated.is_empty());
        let (_, list) = app
            .get(
                &format!(
                    "/api/v1/audit-trail?entity_id={}",
                    role["id"].as_str().unwrap()
                ),
                &app.admin_token,
            )
            .await;
        assert_eq!(items(&list)[0]["request_id"], generated);
    }
);

both!(
    failed_changes_and_reads_append_nothing,
    |app: TestApp| async move {
        app.role("Service owner").await;
        let before = app.count_rows("audit_trail").await;
        let (status, _) = app
            .post(
                "/api/v1/roles",
                &app.admin_token,
                json!({"name": "SERVICE OWNER"}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        let (status, _) = app
            .post(
                "/api/v1/roles",
                &app.admin_token,
                json!({"name": "X", "member_ids": ["nobody"]}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        app.get("/api/v1/roles", &app.admin_token).await;
        app.get("/api/v1/audit-trail", &app.admin_token).await;
        assert_eq!(app.count_rows("audit_trail").await, before);
        let (_, report) = app
            .get("/api/v1/audit-trail/verify", &app.admin_token)
            .await;
        assert_eq!(report["valid"], true, "{report}");
        assert_eq!(report["entries_checked"], before);
    }
);

both!(secrets_stay_out_of_the_trail, |app: TestApp| async move {
    let id = app.person("ann@example.com", &["viewer"]).await;
    let new_password = "a-brand-new-password";
    let (status, _) = app
        .post(
            &format!("/api/v1/users/{id}/password"),
            &app.admin_token,
            json!({"password": new_password}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let bot = app.service_account("bot@example.com", &[]).await;
    let (_, key) = app
        .post(
            &format!("/api/v1/users/{bot}/api-keys"),
            &app.admin_token,
            json!({"name": "k"}),
        )
        .await;
    let key = key["key"].as_str().unwrap();

    let trail = whole_trail(&app).await;
    let text = serde_json::to_string(&trail).unwrap();
    for secret in [PASSWORD, new_password, key, "$argon2"] {
        assert!(
            !text.contains(secret),
            "{secret} leaked into the audit trail"
        );
    }
    let (_, list) = app
        .get(
            &format!("/api/v1/audit-trail?entity_id={id}"),
            &app.admin_token,
        )
        .await;
    let actions: Vec<&str> = items(&list)
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "set_password"]);
    let (_, list) = app
        .get("/api/v1/audit-trail?entity_type=api_key", &app.admin_token)
        .await;
    assert_eq!(items(&list).len(), 1);
});

both!(
    only_admins_and_auditors_read_it,
    |app: TestApp| async move {
        let auditor = app.token_for("auditor").await;
        for token in [&app.admin_token, &auditor] {
            let (status, list) = app.get("/api/v1/audit-trail", token).await;
            assert_eq!(status, StatusCode::OK, "{list}");
            assert!(!items(&list).is_empty());
            let (status, report) = app.get("/api/v1/audit-trail/verify", token).await;
            assert_eq!(status, StatusCode::OK, "{report}");
            assert_eq!(report["valid"], true);
        }
        for role in ["viewer", "contributor", "manager"] {
            let token = app.token_for(role).await;
            for path in ["/api/v1/audit-trail", "/api/v1/audit-trail/verify"] {
                let (status, body) = app.get(path, &token).await;
                assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
            }
        }
        let (status, _, _) = app
            .anon(Method::GET, "/api/v1/audit-trail", None, &[])
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
);

both!(tampering_is_detected, |app: TestApp| async move {
    app.role("Service owner").await;
    app.role("Change manager").await;
    app.person("ann@example.com", &["viewer"]).await;
    let rows = app.count_rows("audit_trail").await;
    assert!(rows >= 4);

    let (status, report) = app
        .get("/api/v1/audit-trail/verify", &app.admin_token)
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["entries_checked"], rows);
    assert_eq!(report["first_broken_seq"], Value::Null);
    let trail = whole_trail(&app).await;
    assert_eq!(report["last_hash"], trail.last().unwrap()["hash"]);
    let (ok, cli_report) = verify_with_cli(&app).await;
    assert!(ok, "the CLI exits 0 on an intact chain: {cli_report}");
    assert_eq!(cli_report["valid"], true);

    app.raw_sql("UPDATE audit_trail SET changes = '{}' WHERE seq = 2")
        .await;
    let (status, report) = app
        .get("/api/v1/audit-trail/verify", &app.admin_token)
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["first_broken_seq"], 2, "{report}");
    let (ok, cli_report) = verify_with_cli(&app).await;
    assert!(
        !ok,
        "the CLI exits non-zero on a broken chain: {cli_report}"
    );
    assert_eq!(cli_report["valid"], false);
    assert_eq!(cli_report["first_broken_seq"], 2);
});

both!(
    removing_the_newest_entry_is_detected,
    |app: TestApp| async move {
        app.role("Service owner").await;
        app.role("Change manager").await;
        let rows = app.count_rows("audit_trail").await;
        app.raw_sql(&format!("DELETE FROM audit_trail WHERE seq = {rows}"))
            .await;
        let (_, report) = app
            .get("/api/v1/audit-trail/verify", &app.admin_token)
            .await;
        assert_eq!(report["valid"], false, "{report}");
        assert_eq!(report["first_broken_seq"], rows, "{report}");
        let (ok, _) = verify_with_cli(&app).await;
        assert!(!ok);
    }
);

both!(
    editing_who_made_a_change_is_detected,
    |app: TestApp| async move {
        let (intruder, _) = app.user_with_roles(&["viewer"]).await;
        app.role("Service owner").await;
        let rows = app.count_rows("audit_trail").await;
        app.raw_sql(&format!(
            "UPDATE audit_trail SET actor_id = '{intruder}' WHERE seq = {rows}"
        ))
        .await;
        let (_, report) = app
            .get("/api/v1/audit-trail/verify", &app.admin_token)
            .await;
        assert_eq!(report["valid"], false, "{report}");
        assert_eq!(report["first_broken_seq"], rows, "{report}");
    }
);
