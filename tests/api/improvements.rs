//! Improvements (clause 10.2): proposals, the owner's work, the workflow and its evidence.

use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{TestApp, assert_problem, fields};

const BASE: &str = "/api/v1/improvements";

static IDS: AtomicUsize = AtomicUsize::new(1);

fn test_id() -> String {
    format!(
        "00000000-0000-7000-8000-{:012}",
        IDS.fetch_add(1, Ordering::SeqCst)
    )
}

fn proposal(title: &str, owner: Option<&str>) -> Value {
    json!({"title": title, "description": format!("About {title}"), "source": "suggestion",
           "owner_id": owner})
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

both!(
    crud_bad_input_and_refused_roles,
    |app: TestApp| async move {
        let manager = app.token_for("manager").await;
        let viewer = app.token_for("viewer").await;
        let (owner, _) = app.user_with_roles(&["contributor"]).await;
        let (only_viewer, _) = app.user_with_roles(&["viewer"]).await;

        let created = create(
            &app,
            &manager,
            json!({"title": " Automate change risk scoring ", "description": "Score each change",
                   "source": "monitoring", "benefit": "Half the CAB time", "owner_id": owner,
                   "due_date": "2030-01-31"}),
        )
        .await;
        assert_eq!(created["state"], "proposed");
        assert_eq!(created["title"], "Automate change risk scoring");
        assert_eq!(created["management_review_id"], Value::Null);
        assert_eq!(created["allowed_actions"], json!(["approve", "reject"]));
        let id = created["id"].as_str().unwrap();
        let path = format!("{BASE}/{id}");

        let (status, read, headers) = app.call_full(Method::GET, &path, &viewer, None, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["etag"], "\"1\"");
        assert_eq!(read["owner_id"], owner);
        assert_eq!(read["allowed_actions"], json!([]), "a viewer may not act");

        let (status, patched, headers) = app
            .if_match(
                Method::PATCH,
                &path,
                Some(json!({"benefit": null, "due_date": null})),
                1,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(
            (patched["benefit"].clone(), patched["due_date"].clone()),
            (Value::Null, Value::Null)
        );
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
        let audit_rows = app.count_rows("audit_trail").await;
        let (status, same) = app
            .patch(
                &path,
                &manager,
                json!({"title": "Automate change risk scoring"}),
            )
            .await;
        assert_eq!(
            (status, same["version"].clone()),
            (StatusCode::OK, json!(2))
        );
        assert_eq!(
            app.count_rows("audit_trail").await,
            audit_rows,
            "a patch that changes nothing writes nothing"
        );

        let before = app.count_rows("improvements").await;
        for (body, field) in [
            (json!({"description": "x", "source": "suggestion"}), "title"),
            (json!({"title": "t", "source": "suggestion"}), "description"),
            (
                json!({"title": "t", "description": "x", "source": "rumour"}),
                "source",
            ),
            (
                json!({"title": "t", "description": "x", "source": "other", "state": "approved"}),
                "state",
            ),
            (
                json!({"title": "t", "description": "x", "source": "other", "management_review_id": test_id()}),
                "management_review_id",
            ),
            (
                json!({"title": " ", "description": "x", "source": "other"}),
                "title",
            ),
            (
                json!({"title": "t", "description": " ", "source": "other"}),
                "description",
            ),
            (
                json!({"title": "t", "description": "x", "source": "other", "due_date": "2030-02-30"}),
                "due_date",
            ),
            (
                json!({"title": "t", "description": "x", "source": "other", "owner_id": only_viewer}),
                "owner_id",
            ),
            (
                json!({"title": "t", "description": "x", "source": "other", "owner_id": test_id()}),
                "owner_id",
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
        assert_eq!(
            app.count_rows("improvements").await,
            before,
            "nothing written"
        );

        for role in ["viewer", "contributor", "auditor"] {
            let token = app.token_for(role).await;
            let (status, body) = app.post(BASE, &token, proposal("t", None)).await;
            assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
            let (status, body) = app.patch(&path, &token, json!({"title": "x"})).await;
            assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
            let (status, body) = app.call(Method::DELETE, &path, &token, None).await;
            assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
            let (status, body) =
                step(&app, &token, id, json!({"action": "reject", "reason": "x"})).await;
            assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        }
        let (_, nobody) = app.user_with_roles(&[]).await;
        let (status, body) = app.get(&path, &nobody).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, body) = app.get(BASE, &nobody).await;
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
                Some(json!({"action": "approve"})),
            ),
        ] {
            let (status, problem) = app.call(method, &path, &manager, body).await;
            assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
        }

        let (status, body) = step(
            &app,
            &manager,
            id,
            json!({"action": "approve", "benefit": "Half the CAB time"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, problem) = app.call(Method::DELETE, &path, &manager, None).await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
        let (status, problem) = app.patch(&path, &manager, json!({"benefit": null})).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["benefit"]);

        let other = create(&app, &manager, proposal("Delete me", None)).await;
        let other_path = format!("{BASE}/{}", other["id"].as_str().unwrap());
        let (status, _) = app.call(Method::DELETE, &other_path, &manager, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = app.get(&other_path, &manager).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
);

both!(
    the_owner_works_on_their_own_improvement,
    |app: TestApp| async move {
        let manager = app.token_for("manager").await;
        let viewer = app.token_for("viewer").await;
        let (owner_id, owner) = app.user_with_roles(&["contributor"]).await;
        let (stranger_id, stranger) = app.user_with_roles(&["contributor"]).await;
        let created = create(
            &app,
            &manager,
            proposal("Self-service resets", Some(&owner_id)),
        )
        .await;
        let id = created["id"].as_str().unwrap().to_string();
        let path = format!("{BASE}/{id}");

        // Before approval the owner has no step, but may refine the text.
        let (_, read) = app.get(&path, &owner).await;
        assert_eq!(read["allowed_actions"], json!([]));
        let (status, body) = app
            .patch(
                &path,
                &owner,
                json!({"description": "Password resets without the desk"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        for change in [
            json!({"owner_id": stranger_id}),
            json!({"source": "incident"}),
            json!({"due_date": "2031-01-01"}),
        ] {
            let (status, problem) = app.patch(&path, &owner, change.clone()).await;
            assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        }
        let (status, problem) = app
            .patch(&path, &stranger, json!({"title": "Mine now"}))
            .await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        let (status, problem) = step(
            &app,
            &owner,
            &id,
            json!({"action": "approve", "benefit": "x"}),
        )
        .await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");

        let (status, problem) = step(&app, &manager, &id, json!({"action": "approve"})).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["benefit"]);
        let (status, problem) = step(
            &app,
            &manager,
            &id,
            json!({"action": "approve", "benefit": "x", "evaluation": "y"}),
        )
        .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(fields(&problem), vec!["evaluation"]);
        let (status, body) = step(
            &app,
            &manager,
            &id,
            json!({"action": "approve", "benefit": "30% fewer desk calls"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["state"], "approved");
        assert_eq!(body["allowed_actions"], json!(["implement", "reject"]));

        // The owner implements; a stranger, a viewer or an early evaluation may not.
        let (_, mine) = app.get(&path, &owner).await;
        assert_eq!(mine["allowed_actions"], json!(["implement"]));
        let (_, theirs) = app.get(&path, &stranger).await;
        assert_eq!(theirs["allowed_actions"], json!([]));
        for token in [&stranger, &viewer] {
            let (status, problem) = step(
                &app,
                token,
                &id,
                json!({"action": "implement", "implementation": "x"}),
            )
            .await;
            assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        }
        let (status, problem) = step(&app, &owner, &id, json!({"action": "evaluate"})).await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "invalid_transition");
        assert_eq!(problem["allowed_actions"], json!(["implement"]));
        let (status, problem) = step(&app, &owner, &id, json!({"action": "implement"})).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["implementation"]);
        let (status, body, _) = app
            .if_match(
                Method::POST,
                &format!("{path}/transitions"),
                Some(json!({"action": "implement", "implementation": "x"})),
                1,
            )
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
        );
        let (status, body) = step(
            &app,
            &owner,
            &id,
            json!({"action": "implement", "implementation": "Reset portal live"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["state"], "implemented");
        assert_eq!(body["allowed_actions"], json!([]), "a manager evaluates");

        let (status, problem) = step(
            &app,
            &owner,
            &id,
            json!({"action": "evaluate", "evaluation": "x"}),
        )
        .await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        let (status, problem) = step(&app, &manager, &id, json!({"action": "evaluate"})).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["evaluation"]);
        let (status, body) = step(
            &app,
            &manager,
            &id,
            json!({"action": "evaluate", "evaluation": "Desk calls down 35%"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (body["state"].clone(), body["allowed_actions"].clone()),
            (json!("evaluated"), json!([]))
        );
        let (status, problem) = app.patch(&path, &manager, json!({"title": "x"})).await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
        let (status, problem) = step(
            &app,
            &manager,
            &id,
            json!({"action": "reject", "reason": "x"}),
        )
        .await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "invalid_transition");
        assert_eq!(problem["allowed_actions"], json!([]));

        // The evidence: a row per change, with actor, request id and what changed.
        let (status, history) = app.get(&format!("{path}/history"), &viewer).await;
        assert_eq!(status, StatusCode::OK, "{history}");
        let rows = history["items"].as_array().unwrap();
        let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
        assert_eq!(
            actions,
            vec!["create", "update", "approve", "implement", "evaluate"]
        );
        assert!(rows.iter().all(|r| r["entity_type"] == "improvement"
            && r["actor_id"].is_string()
            && r["request_id"].is_string()));
        assert_eq!(rows[1]["actor_id"], owner_id);
        assert_eq!(rows[3]["actor_id"], owner_id);
        assert_eq!(
            rows[3]["changes"]["implementation"]["after"],
            "Reset portal live"
        );
        assert_eq!(
            rows[4]["changes"]["state"],
            json!({"before": "implemented", "after": "evaluated"})
        );
    }
);

both!(
    rejection_filters_sorts_and_the_review_link,
    |app: TestApp| async move {
        let manager = app.token_for("manager").await;
        let (owner_id, owner) = app.user_with_roles(&["contributor"]).await;
        let today = app.clock.today();
        let soon = (today + chrono::Duration::days(5)).to_string();
        let later = (today + chrono::Duration::days(50)).to_string();
        let mut ids = Vec::new();
        for (title, due, source, owned) in [
            ("Bravo", Some(soon.as_str()), "incident", true),
            ("Alpha", Some(later.as_str()), "complaint", false),
            ("Charlie", None, "risk", true),
            ("Delta", Some(soon.as_str()), "management_review", false),
        ] {
            let body = json!({"title": title, "description": format!("About {title}"),
                              "source": source, "due_date": due,
                              "owner_id": owned.then_some(&owner_id)});
            ids.push(
                create(&app, &manager, body).await["id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        let review = test_id();
        app.raw_sql(&format!(
            "UPDATE improvements SET management_review_id = '{review}' WHERE id = '{}'",
            ids[3]
        ))
        .await;

        // Rejecting needs a reason, from proposed or approved.
        let (status, problem) = step(
            &app,
            &manager,
            &ids[1],
            json!({"action": "reject", "reason": " "}),
        )
        .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "precondition_missing",
        );
        assert_eq!(fields(&problem), vec!["reason"]);
        let (status, body) = step(
            &app,
            &manager,
            &ids[1],
            json!({"action": "reject", "reason": "Covered by the new tool"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (body["state"].clone(), body["reject_reason"].clone()),
            (json!("rejected"), json!("Covered by the new tool"))
        );
        let (status, problem) = app
            .patch(
                &format!("{BASE}/{}", ids[1]),
                &manager,
                json!({"title": "x"}),
            )
            .await;
        assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");

        let (_, by_due) = app.get(&format!("{BASE}?sort=due_date"), &owner).await;
        assert_eq!(titles(&by_due), vec!["Bravo", "Delta", "Alpha", "Charlie"]);
        let (_, by_due_desc) = app.get(&format!("{BASE}?sort=-due_date"), &owner).await;
        assert_eq!(
            titles(&by_due_desc),
            vec!["Alpha", "Delta", "Bravo", "Charlie"],
            "empty due dates last"
        );
        let (_, paged) = app
            .get(
                &format!("{BASE}?sort=-due_date&limit=3&include_total=true"),
                &owner,
            )
            .await;
        assert_eq!(paged["total"], 4);
        let cursor = paged["next_cursor"].as_str().unwrap();
        let (_, rest) = app
            .get(
                &format!("{BASE}?sort=-due_date&limit=3&cursor={cursor}"),
                &owner,
            )
            .await;
        assert_eq!(titles(&rest), vec!["Charlie"]);
        assert_eq!(rest["next_cursor"], Value::Null);

        for (query, expected) in [
            (format!("owner_id={owner_id}"), vec!["Bravo", "Charlie"]),
            ("source=risk".to_string(), vec!["Charlie"]),
            ("state=rejected".to_string(), vec!["Alpha"]),
            ("state=proposed&q=ABOUT%20d".to_string(), vec!["Delta"]),
            (format!("management_review_id={review}"), vec!["Delta"]),
            ("q=%25".to_string(), vec![]),
        ] {
            let (status, page) = app.get(&format!("{BASE}?{query}&sort=title"), &owner).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            assert_eq!(titles(&page), expected, "{query}");
        }
        let (_, delta) = app.get(&format!("{BASE}/{}", ids[3]), &owner).await;
        assert_eq!(delta["management_review_id"], review);
        for bad in ["sort=owner", "source=rumour", "state=done", "colour=red"] {
            let (status, problem) = app.get(&format!("{BASE}?{bad}"), &owner).await;
            assert_problem(
                status,
                &problem,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            );
        }
        let (status, csv, headers) = app
            .call_full(
                Method::GET,
                "/api/v1/exports/improvements?sort=title",
                &owner,
                None,
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        assert_eq!(csv, Value::Null, "not JSON");
    }
);
