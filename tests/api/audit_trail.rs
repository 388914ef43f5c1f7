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
    let (code, report, _) = run_cli(app, &["verify-audit-trail"], &[]).await;
    (code == Some(0), report)
}

/// Runs the `itsms` binary against the app's database with only the given settings more;
/// returns its exit code, its JSON report (null if none) and its standard error.
async fn run_cli(
    app: &TestApp,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, Value, String) {
    let db_url = app.db_url.clone();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let data_dir = tempfile::tempdir().unwrap();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_itsms"));
        for (key, _) in std::env::vars() {
            if key.starts_with("ITSMS") {
                command.env_remove(key);
            }
        }
        let output = command
            .args(&args)
            .env("ITSMS__DATABASE__URL", db_url)
            .env("ITSMS__SERVER__DATA_DIR", data_dir.path())
            .env("ITSMS__DATABASE__MAX_CONNECTIONS", "2")
            .env("ITSMS__LOG__LEVEL", "warn")
            .envs(env)
            .output()
            .expect("the itsms binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        (output.status.code(), report, stderr)
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

const AUDIT_KEY: &str = "an-audit-key-kept-outside-the-database";

/// The verify endpoint's report, as admin, with `?expect=` when given.
async fn verify(app: &TestApp, expect: Option<&str>) -> Value {
    let path = match expect {
        Some(anchor) => format!("/api/v1/audit-trail/verify?expect={anchor}"),
        None => "/api/v1/audit-trail/verify".to_string(),
    };
    let (status, report) = app.get(&path, &app.admin_token).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    report
}

/// What an attacker with write access to the database alone can do: change row `target`
/// and recompute every hash after it with plain SHA-256, head included.
async fn rewrite_history(app: &TestApp, target: i64) {
    use chrono::SecondsFormat;
    use itsms::persistence::entities::audit_entry::{Column, Entity};
    use sea_orm::{ConnectionTrait, Database, EntityTrait, QueryOrder};
    use sha2::{Digest, Sha256};

    let db = Database::connect(&app.db_url).await.unwrap();
    let rows = Entity::find()
        .order_by_asc(Column::Seq)
        .all(&db)
        .await
        .unwrap();
    let mut prev = "0".repeat(64);
    for mut row in rows {
        if row.seq == target {
            row.changes = "{}".into();
        }
        let canonical = json!([
            row.seq,
            row.id,
            row.at.to_rfc3339_opts(SecondsFormat::Micros, true),
            row.actor_id,
            row.action,
            row.entity_type,
            row.entity_id,
            row.changes,
            row.request_id,
        ]);
        let mut hasher = Sha256::new();
        hasher.update(prev.as_bytes());
        hasher.update(canonical.to_string().as_bytes());
        let hash = hex::encode(hasher.finalize());
        db.execute_unprepared(&format!(
            "UPDATE audit_trail SET changes = '{}', prev_hash = '{prev}', hash = '{hash}' WHERE seq = {}",
            row.changes, row.seq
        ))
        .await
        .unwrap();
        prev = hash;
    }
    db.execute_unprepared(&format!("UPDATE audit_chain_head SET last_hash = '{prev}'"))
        .await
        .unwrap();
    db.close().await.ok();
}

/// Writes a copy of the first row at `seq` without touching the chain head.
async fn plant_row(app: &TestApp, seq: i64) {
    app.raw_sql(&format!(
        "INSERT INTO audit_trail (seq, id, at, actor_id, action, entity_type, entity_id, changes, request_id, prev_hash, hash) \
         SELECT {seq}, 'planted-{seq}', at, actor_id, action, entity_type, entity_id, changes, request_id, hash, hash \
         FROM audit_trail WHERE seq = 1"
    ))
    .await;
}

both!(
    a_row_past_the_head_is_reported_and_refuses_writes,
    |app: TestApp| async move {
        app.role("Service owner").await;
        let head = verify(&app, None).await["head"]["seq"].as_i64().unwrap();
        assert_eq!(head, app.count_rows("audit_trail").await);
        plant_row(&app, head + 1).await;

        let report = verify(&app, None).await;
        assert_eq!(report["valid"], false, "{report}");
        assert_eq!(report["first_broken_seq"], head + 1, "{report}");
        assert_eq!(report["break_reason"], "unreachable_row", "{report}");
        assert_eq!(report["head"]["seq"], head, "{report}");
        let (code, cli_report, _) = run_cli(&app, &["verify-audit-trail"], &[]).await;
        assert_eq!(code, Some(1), "{cli_report}");
        assert_eq!(cli_report["first_broken_seq"], head + 1);
        assert_eq!(cli_report["break_reason"], "unreachable_row");

        // A write cannot take the planted position, nor pass it off as a conflict.
        let roles = app.count_rows("sms_roles").await;
        let (status, body) = app
            .post(
                "/api/v1/roles",
                &app.admin_token,
                json!({"name": "Change manager"}),
            )
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
        );
        assert_eq!(app.count_rows("sms_roles").await, roles, "nothing written");
        assert_eq!(verify(&app, None).await["head"]["seq"], head);

        // Once the planted row is removed, writes go on and the chain verifies.
        app.raw_sql(&format!("DELETE FROM audit_trail WHERE seq = {}", head + 1))
            .await;
        app.role("Change manager").await;
        let report = verify(&app, None).await;
        assert_eq!(report["valid"], true, "{report}");
        assert_eq!(report["head"]["seq"], head + 1);

        // A row further out, and one before the first position, are outside the chain too.
        plant_row(&app, head + 7).await;
        let report = verify(&app, None).await;
        assert_eq!(report["first_broken_seq"], head + 7, "{report}");
        plant_row(&app, 0).await;
        let report = verify(&app, None).await;
        assert_eq!(report["valid"], false, "{report}");
        assert_eq!(report["first_broken_seq"], 0, "{report}");
        assert_eq!(report["break_reason"], "unreachable_row", "{report}");
    }
);

/// Runs the body with an app whose audit trail is keyed from the start.
macro_rules! keyed {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            use crate::helpers::Backend;

            async fn run(backend: Backend) {
                let key = [("ITSMS__AUDIT__HMAC_KEY", AUDIT_KEY)];
                if let Some(app) = TestApp::spawn_with(backend, &key).await {
                    ($body)(app).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(Backend::Postgres).await;
            }
        }
    };
}

keyed!(
    a_keyed_chain_cannot_be_rehashed_from_the_database,
    |app: TestApp| async move {
        app.role("Service owner").await;
        app.role("Change manager").await;
        let report = verify(&app, None).await;
        assert_eq!(report["valid"], true, "{report}");
        assert_eq!(report["keyed_from_seq"], 1, "{report}");
        let with_key = [("ITSMS__AUDIT__HMAC_KEY", AUDIT_KEY)];
        let (code, cli_report, _) = run_cli(&app, &["verify-audit-trail"], &with_key).await;
        assert_eq!(code, Some(0), "{cli_report}");
        // Without the key the keyed rows cannot be checked.
        let (code, cli_report, _) = run_cli(&app, &["verify-audit-trail"], &[]).await;
        assert_eq!(code, Some(1), "{cli_report}");
        assert_eq!(cli_report["break_reason"], "key_required");
        assert_eq!(cli_report["first_broken_seq"], 1);

        rewrite_history(&app, 2).await;
        let report = verify(&app, None).await;
        assert_eq!(report["valid"], false, "{report}");
        assert_eq!(report["first_broken_seq"], 1, "{report}");
        assert_eq!(report["break_reason"], "hash_mismatch", "{report}");
        let (code, _, _) = run_cli(&app, &["verify-audit-trail"], &with_key).await;
        assert_eq!(code, Some(1));

        // Nor can the trail be passed off as never keyed.
        app.raw_sql(
            "UPDATE audit_chain_head SET keyed_from_seq = NULL, keyed_after_hash = NULL, key_check = NULL",
        )
        .await;
        let report = verify(&app, None).await;
        assert_eq!(report["valid"], false, "{report}");
        assert_eq!(report["break_reason"], "not_keyed", "{report}");
        let (code, cli_report, _) = run_cli(&app, &["verify-audit-trail"], &with_key).await;
        assert_eq!(code, Some(1), "{cli_report}");
        assert_eq!(cli_report["break_reason"], "not_keyed");
        // ...and the service does not start on it with the key, rather than key it anew.
        let err = itsms::startup::Application::build(app.settings.clone())
            .await
            .err()
            .expect("refuses to start")
            .to_string();
        assert!(err.contains("key-audit-trail"), "{err}");
    }
);

keyed!(a_keyed_trail_needs_its_own_key, |app: TestApp| async move {
    app.role("Service owner").await;
    let other = [(
        "ITSMS__AUDIT__HMAC_KEY",
        "another-key-of-at-least-thirty-two-bytes",
    )];
    let (code, report, _) = run_cli(&app, &["verify-audit-trail"], &other).await;
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["break_reason"], "key_mismatch");
    let mut settings = app.settings.clone();
    settings.audit.hmac_key = "another-key-of-at-least-thirty-two-bytes".into();
    let err = itsms::startup::Application::build(settings)
        .await
        .err()
        .expect("refuses another key")
        .to_string();
    assert!(err.contains("audit.hmac_key"), "{err}");
    let mut settings = app.settings.clone();
    settings.audit.hmac_key = String::new();
    let err = itsms::startup::Application::build(settings)
        .await
        .err()
        .expect("refuses to run without the key")
        .to_string();
    assert!(err.contains("keyed from seq 1"), "{err}");

    // The key can come from a file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.key");
    std::fs::write(&file, format!("{AUDIT_KEY}\n")).unwrap();
    let file = file.display().to_string();
    let (code, report, _) = run_cli(
        &app,
        &["verify-audit-trail"],
        &[("ITSMS__AUDIT__HMAC_KEY_FILE", &file)],
    )
    .await;
    assert_eq!(code, Some(0), "{report}");
});

both!(
    an_existing_trail_is_keyed_on_request,
    |app: TestApp| async move {
        app.role("Service owner").await;
        let rows = app.count_rows("audit_trail").await;
        let mut keyed_settings = app.settings.clone();
        keyed_settings.audit.hmac_key = AUDIT_KEY.into();
        let err = itsms::startup::Application::build(keyed_settings.clone())
            .await
            .err()
            .expect("an unkeyed trail is not keyed silently")
            .to_string();
        assert!(err.contains("key-audit-trail"), "{err}");

        let with_key = [("ITSMS__AUDIT__HMAC_KEY", AUDIT_KEY)];
        let (code, report, stderr) = run_cli(&app, &["key-audit-trail"], &with_key).await;
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(report["valid"], true, "{report}");
        assert_eq!(report["keyed_from_seq"], rows + 1, "{report}");
        let (code, _, _) = run_cli(&app, &["key-audit-trail"], &with_key).await;
        assert_eq!(
            code,
            Some(0),
            "keying again with the same key changes nothing"
        );

        let keyed = itsms::startup::Application::build(keyed_settings)
            .await
            .expect("starts with the key");
        let base = format!("http://127.0.0.1:{}", keyed.port());
        tokio::spawn(keyed.run_until_stopped());
        let res = app
            .client
            .post(format!("{base}/api/v1/roles"))
            .bearer_auth(&app.admin_token)
            .json(&json!({"name": "Change manager"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let keyed_verify = || async {
            app.client
                .get(format!("{base}/api/v1/audit-trail/verify"))
                .bearer_auth(&app.admin_token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        };
        let report = keyed_verify().await;
        assert_eq!(report["valid"], true, "{report}");
        assert_eq!(report["head"]["seq"], rows + 1, "{report}");

        // Rows from before the key are held by the keyed ones after them.
        rewrite_history(&app, 1).await;
        let report = keyed_verify().await;
        assert_eq!(report["valid"], false, "{report}");
        assert_eq!(report["first_broken_seq"], rows + 1, "{report}");
    }
);

both!(anchors_pin_the_history, |app: TestApp| async move {
    app.role("Service owner").await;
    let report = verify(&app, None).await;
    let head = report["head"].clone();
    assert_eq!(head["hash"], report["last_hash"], "{report}");
    let anchor = format!("{}:{}", head["seq"], head["hash"].as_str().unwrap());

    app.role("Change manager").await;
    let report = verify(&app, Some(&anchor)).await;
    assert_eq!(report["valid"], true, "{report}");
    let (code, report, _) = run_cli(&app, &["verify-audit-trail", "--expect", &anchor], &[]).await;
    assert_eq!(code, Some(0), "{report}");

    let seq = head["seq"].as_i64().unwrap();
    let wrong = format!("{seq}:{}", "a".repeat(64));
    let report = verify(&app, Some(&wrong)).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["first_broken_seq"], seq, "{report}");
    assert_eq!(report["break_reason"], "anchor_mismatch", "{report}");
    let (code, _, _) = run_cli(&app, &["verify-audit-trail", "--expect", &wrong], &[]).await;
    assert_eq!(code, Some(1));
    let beyond = format!("{}:{}", seq + 100, head["hash"].as_str().unwrap());
    let report = verify(&app, Some(&beyond)).await;
    assert_eq!(report["break_reason"], "anchor_mismatch", "{report}");

    // Without a key, history rewritten from the database verifies; the anchor catches it.
    rewrite_history(&app, 1).await;
    assert_eq!(verify(&app, None).await["valid"], true);
    let report = verify(&app, Some(&anchor)).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["first_broken_seq"], seq, "{report}");
    let (code, _, _) = run_cli(&app, &["verify-audit-trail", "--expect", &anchor], &[]).await;
    assert_eq!(code, Some(1));

    let zero = format!("0:{}", "a".repeat(64));
    for bad in ["12", "x:y", &zero, &format!("1:{}", "A".repeat(64))] {
        let (status, body) = app
            .get(
                &format!("/api/v1/audit-trail/verify?expect={bad}"),
                &app.admin_token,
            )
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(body["errors"][0]["field"], "expect", "{body}");
    }
    let (code, _, stderr) = run_cli(&app, &["verify-audit-trail", "--expect", "12"], &[]).await;
    assert_eq!(code, Some(2), "{stderr}");
    let viewer = app.token_for("viewer").await;
    let (status, body) = app
        .get(
            &format!("/api/v1/audit-trail/verify?expect={anchor}"),
            &viewer,
        )
        .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
});
