//! The one write path: what a change writes, what it records, and what it leaves when it fails.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{TestApp, assert_problem};

async fn audit_rows(app: &TestApp, id: &str) -> Vec<Value> {
    let (status, body) = app
        .get(
            &format!("/api/v1/audit-trail?entity_id={id}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

fn changed_fields(row: &Value) -> Vec<String> {
    let mut keys: Vec<String> = row["changes"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

both!(
    a_patch_that_changes_nothing_writes_nothing,
    |app: TestApp| async move {
        let process = app.process("INC", None).await;
        let path = format!("/api/v1/processes/{}", process["id"].as_str().unwrap());
        for unchanged in [
            json!({}),
            json!({"name": "Process INC"}),
            json!({"name": "  Process INC ", "clauses": ["8.6.1"]}),
        ] {
            let (status, body, headers) =
                app.if_match(Method::PATCH, &path, Some(unchanged), 1).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["version"], 1);
            assert_eq!(headers["etag"], "\"1\"");
        }
        let id = process["id"].as_str().unwrap();
        assert_eq!(audit_rows(&app, id).await.len(), 1, "only the create");

        let (status, body) = app
            .patch(&path, &app.admin_token, json!({"name": "Incidents"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["version"], 2);
    }
);

both!(
    the_audit_trail_records_stored_fields_only,
    |app: TestApp| async move {
        let owner = app.role("Owner").await;
        let process = app.process("INC", Some(&owner)).await;
        let id = process["id"].as_str().unwrap();
        let path = format!("/api/v1/processes/{id}");
        app.patch(&path, &app.admin_token, json!({"name": "Incidents"}))
            .await;
        app.call(
            Method::PUT,
            &format!("{path}/raci"),
            &app.admin_token,
            Some(json!({"assignments": [{"role_id": owner, "responsibility": "A"}]})),
        )
        .await;
        let (status, body) = app
            .post(
                &format!("{path}/transitions"),
                &app.admin_token,
                json!({"action": "approve"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");

        let rows = audit_rows(&app, id).await;
        let by_action = |action: &str| {
            rows.iter()
                .find(|r| r["action"] == action)
                .unwrap_or_else(|| panic!("no {action} row in {rows:?}"))
        };
        assert_eq!(changed_fields(by_action("update")), ["name"]);
        assert_eq!(changed_fields(by_action("set_raci")), ["raci"]);
        assert_eq!(changed_fields(by_action("approve")), ["state"]);
        let created = changed_fields(by_action("create"));
        for computed in [
            "allowed_actions",
            "version",
            "created_at",
            "updated_at",
            "id",
        ] {
            assert!(!created.contains(&computed.to_string()), "{created:?}");
        }
        assert!(created.contains(&"code".to_string()), "{created:?}");
    }
);

both!(
    a_failed_audit_append_rolls_back_the_change,
    |app: TestApp| async move {
        let process = app.process("INC", None).await;
        let id = process["id"].as_str().unwrap();
        // The database refuses the audit row of the next update: the update must go with it.
        if app.db_url.starts_with("postgres") {
            app.raw_sql(
                "CREATE FUNCTION refuse_update_rows() RETURNS trigger AS $$ BEGIN \
             IF NEW.action = 'update' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; \
             END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_update_rows AFTER INSERT ON audit_trail \
             FOR EACH ROW EXECUTE FUNCTION refuse_update_rows();",
            )
            .await;
        } else {
            app.raw_sql(
                "CREATE TRIGGER refuse_update_rows AFTER INSERT ON audit_trail \
             WHEN NEW.action = 'update' BEGIN SELECT RAISE(ABORT, 'refused'); END;",
            )
            .await;
        }
        let path = format!("/api/v1/processes/{id}");
        let (status, body) = app
            .patch(&path, &app.admin_token, json!({"name": "Renamed"}))
            .await;
        assert!(status.is_server_error(), "{status} {body}");
        assert!(
            !body.to_string().contains("refused"),
            "nothing internal leaks: {body}"
        );

        let (_, after) = app.get(&path, &app.admin_token).await;
        assert_eq!(after["name"], "Process INC");
        assert_eq!(after["version"], 1);
        assert_eq!(audit_rows(&app, id).await.len(), 1);
        let (_, verified) = app
            .get("/api/v1/audit-trail/verify", &app.admin_token)
            .await;
        assert_eq!(verified["valid"], true, "{verified}");
    }
);

both!(only_managers_change_a_raci, |app: TestApp| async move {
    let owner = app.role("Owner").await;
    let process = app.process("INC", Some(&owner)).await;
    let path = format!("/api/v1/processes/{}/raci", process["id"].as_str().unwrap());
    let body = json!({"assignments": [{"role_id": owner, "responsibility": "A"}]});
    for role in ["viewer", "contributor", "auditor"] {
        let token = app.token_for(role).await;
        let (status, problem) = app
            .call(Method::PUT, &path, &token, Some(body.clone()))
            .await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
    }
    assert_eq!(app.count_rows("process_raci").await, 0);
    let manager = app.token_for("manager").await;
    let (status, changed) = app.call(Method::PUT, &path, &manager, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["raci"][0]["responsibility"], "A");
});

both!(
    racing_raci_changes_lose_with_412,
    |app: TestApp| async move {
        let owner = app.role("Owner").await;
        let other = app.role("Other").await;
        let process = app.process("INC", Some(&owner)).await;
        let path = format!("/api/v1/processes/{}/raci", process["id"].as_str().unwrap());
        let attempts = (0..6).map(|i| {
        let role = if i % 2 == 0 { &owner } else { &other };
        let body = json!({"assignments": [{"role_id": role, "activity": format!("a{i}"), "responsibility": "A"}]});
        app.if_match(Method::PUT, &path, Some(body), 1)
    });
        let results = futures_util::future::join_all(attempts).await;
        let statuses: Vec<u16> = results.iter().map(|(s, _, _)| s.as_u16()).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "{statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == 412).count(),
            5,
            "{statuses:?}"
        );
    }
);
