//! Documented information (clause 7.5): the document register, its approval workflow and
//! review dates, and the list of what the standard expects.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, TestApp, assert_problem, fields, id};

const BASE: &str = "/api/v1/documents";
const LIST: &str = "/api/v1/documented-information";

fn day(app: &TestApp, days: i64) -> String {
    (app.clock.today() + Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// A document that approval accepts, as a create body.
fn complete(title: &str, kind: &str, clauses: &[&str], owner: &str, review_due: &str) -> Value {
    json!({
        "title": title, "kind": kind, "clauses": clauses, "owner_role_id": owner,
        "version_label": "1.0", "location": "https://dms.example.com/sms/doc.pdf",
        "review_due": review_due,
    })
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, created) = app.post(BASE, token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

async fn step(app: &TestApp, token: &str, id: &str, action: &str) -> (StatusCode, Value) {
    app.post(
        &format!("{BASE}/{id}/transitions"),
        token,
        json!({"action": action}),
    )
    .await
}

async fn approved(app: &TestApp, token: &str, body: Value) -> Value {
    let doc = create(app, token, body).await;
    let (status, doc) = step(app, token, &id(&doc), "approve").await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    doc
}

fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["title"].as_str().unwrap().to_string())
        .collect()
}

/// Every page of `path` (which has a query string), following the cursors.
async fn walk(app: &TestApp, path: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{path}&limit=2");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = app.get(&url, &app.admin_token).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(titles(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return seen,
        }
    }
}

fn item<'a>(report: &'a Value, kind: &str, name: &str) -> &'a Value {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == kind && i["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn ids_of(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(id).collect()
}

both!(register_read_filter_and_sort, |app: TestApp| async move {
    let manager = app.token_for("manager").await;
    let owner = app.role("Service owner").await;
    let other = app.role("Change manager").await;
    let (status, policy, headers) = app
        .call_full(
            Method::POST,
            BASE,
            &manager,
            Some(json!({
                "title": " Service management policy ", "kind": "policy",
                "clauses": ["5.2", "5.2.1", "5.2"], "owner_role_id": owner,
                "version_label": " 2.1 ", "location": "https://dms.example.com/sms/policy%20v2.pdf",
                "review_due": day(&app, 30),
            })),
            &[("Idempotency-Key", "policy-1")],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    assert_eq!(headers["etag"], "\"1\"");
    assert_eq!(
        headers["location"].to_str().unwrap(),
        format!("{BASE}/{}", id(&policy))
    );
    assert_eq!(policy["title"], "Service management policy");
    assert_eq!(policy["clauses"], json!(["5.2", "5.2.1"]));
    assert_eq!(policy["version_label"], "2.1");
    assert_eq!(policy["state"], "draft");
    assert_eq!(policy["approved_by"], Value::Null);
    assert_eq!(policy["review_overdue"], false);
    assert_eq!(policy["allowed_actions"], json!(["approve", "withdraw"]));
    // A retry with the same key answers the first response and writes nothing.
    let (status, again, headers) = app
        .call_full(
            Method::POST,
            BASE,
            &manager,
            Some(json!({
                "title": " Service management policy ", "kind": "policy",
                "clauses": ["5.2", "5.2.1", "5.2"], "owner_role_id": owner,
                "version_label": " 2.1 ", "location": "https://dms.example.com/sms/policy%20v2.pdf",
                "review_due": day(&app, 30),
            })),
            &[("Idempotency-Key", "policy-1")],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(again["id"], policy["id"]);
    assert_eq!(app.count_rows("documents").await, 1);

    let plan = create(
        &app,
        &manager,
        json!({"title": "Capacity plan", "kind": "plan", "clauses": ["8.4.3"], "owner_role_id": other, "review_due": day(&app, 30)}),
    )
    .await;
    create(
        &app,
        &manager,
        json!({"title": "Availability plan", "kind": "plan", "review_due": day(&app, 10)}),
    )
    .await;
    create(
        &app,
        &manager,
        json!({"title": "Incident records", "kind": "record", "clauses": ["8.6.1"]}),
    )
    .await;
    create(
        &app,
        &manager,
        json!({"title": "Change records", "kind": "record"}),
    )
    .await;

    for role in ["viewer", "contributor", "manager", "auditor", "admin"] {
        let token = app.token_for(role).await;
        let (status, read, headers) = app
            .call_full(
                Method::GET,
                &format!("{BASE}/{}", id(&policy)),
                &token,
                None,
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{role}: {read}");
        assert_eq!(headers["etag"], "\"1\"");
        let (status, _, _) = app
            .call_full(
                Method::GET,
                &format!("{BASE}/{}", id(&policy)),
                &token,
                None,
                &[("If-None-Match", "\"1\"")],
            )
            .await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        let expected = if matches!(role, "manager" | "admin") {
            json!(["approve", "withdraw"])
        } else {
            json!([])
        };
        assert_eq!(read["allowed_actions"], expected, "{role}");
        let (status, list) = app.get(&format!("{BASE}?limit=1"), &token).await;
        assert_eq!(status, StatusCode::OK, "{role}: {list}");
    }

    let viewer = app.token_for("viewer").await;
    let filtered = async |query: &str| {
        let (status, page) = app
            .get(&format!("{BASE}?{query}&include_total=true"), &viewer)
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        let mut t = titles(&page);
        t.sort();
        assert_eq!(page["total"], t.len() as u64, "{query}");
        t
    };
    assert_eq!(
        filtered("kind=record").await,
        ["Change records", "Incident records"]
    );
    assert_eq!(
        filtered("clause=5.2.1").await,
        ["Service management policy"]
    );
    assert!(
        filtered("clause=5").await.is_empty(),
        "the clause filter is exact"
    );
    assert_eq!(
        filtered(&format!("owner_role_id={other}")).await,
        ["Capacity plan"]
    );
    assert_eq!(
        filtered("q=DMS.EXAMPLE").await,
        ["Service management policy"]
    );
    assert_eq!(filtered("q=2.1").await, ["Service management policy"]);
    assert!(filtered("q=_").await.is_empty(), "`_` matches itself");
    assert_eq!(
        filtered(&format!("review_due_before={}", day(&app, 30))).await,
        ["Availability plan"]
    );
    assert_eq!(filtered("state=draft").await.len(), 5);
    assert!(filtered("state=approved").await.is_empty());
    assert!(filtered("overdue_review=true").await.is_empty());
    assert_eq!(filtered("overdue_review=false").await.len(), 5);

    // Typed sorts: equal review dates fall back to the id, empty ones come last either way.
    let (plan_id, policy_id) = (id(&plan), id(&policy));
    let (first_30, second_30) = if plan_id < policy_id {
        ("Capacity plan", "Service management policy")
    } else {
        ("Service management policy", "Capacity plan")
    };
    let (null_a, null_b) = {
        let (_, page) = app
            .get(&format!("{BASE}?kind=record&sort=title"), &viewer)
            .await;
        let ids: Vec<String> = page["items"].as_array().unwrap().iter().map(id).collect();
        let names = titles(&page);
        if ids[0] < ids[1] {
            (names[0].clone(), names[1].clone())
        } else {
            (names[1].clone(), names[0].clone())
        }
    };
    assert_eq!(
        walk(&app, &format!("{BASE}?sort=review_due")).await,
        [
            "Availability plan",
            first_30,
            second_30,
            null_a.as_str(),
            null_b.as_str()
        ]
    );
    assert_eq!(
        walk(&app, &format!("{BASE}?sort=-review_due")).await,
        [
            second_30,
            first_30,
            "Availability plan",
            null_b.as_str(),
            null_a.as_str()
        ]
    );
    assert_eq!(
        walk(&app, &format!("{BASE}?sort=title")).await,
        [
            "Availability plan",
            "Capacity plan",
            "Change records",
            "Incident records",
            "Service management policy"
        ]
    );
    assert_eq!(
        walk(&app, &format!("{BASE}?sort=-created_at")).await,
        [
            "Change records",
            "Incident records",
            "Availability plan",
            "Capacity plan",
            "Service management policy"
        ]
    );
    for bad in [
        "sort=location",
        "kind=memo",
        "state=current",
        "review_due_before=soon",
        "overdue_review=maybe",
        "clause=x",
        "owner=me",
    ] {
        let (status, problem) = app.get(&format!("{BASE}?{bad}"), &viewer).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
    }

    let (_, clause) = app.get("/api/v1/clauses/5.2.1", &viewer).await;
    assert_eq!(clause["references"]["documents"], 1, "{clause}");
    let (_, clause) = app.get("/api/v1/clauses/8.6.1", &viewer).await;
    assert_eq!(clause["references"]["documents"], 1, "{clause}");
    // An SMS role that owns a document stays.
    let (status, problem) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/roles/{other}"),
            &app.admin_token,
            None,
        )
        .await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
    // The register exports as CSV.
    let res = app
        .request(
            Method::GET,
            "/api/v1/exports/documents?kind=plan&sort=title",
            Some(&viewer),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csv = res.text().await.unwrap();
    assert!(csv.starts_with("id,title,kind,clauses,"), "{csv}");
    assert_eq!(csv.lines().count(), 3, "{csv}");
});

both!(only_managers_change_documents, |app: TestApp| async move {
    let doc = create(
        &app,
        &app.admin_token,
        json!({"title": "Policy", "kind": "policy"}),
    )
    .await;
    let path = format!("{BASE}/{}", id(&doc));
    for role in ["viewer", "contributor", "auditor"] {
        let token = app.token_for(role).await;
        let (status, problem) = app
            .post(BASE, &token, json!({"title": "X", "kind": "other"}))
            .await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        assert!(
            problem["detail"].as_str().unwrap().contains("manager"),
            "{problem}"
        );
        let (status, problem) = app.patch(&path, &token, json!({"title": "Y"})).await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        let (status, problem) = app.call(Method::DELETE, &path, &token, None).await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        for action in ["approve", "withdraw"] {
            let (status, problem) = step(&app, &token, &id(&doc), action).await;
            assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        }
        let (status, _) = app.get(LIST, &token).await;
        assert_eq!(status, StatusCode::OK, "{role} reads the list");
    }
    let (_, unchanged) = app.get(&path, &app.admin_token).await;
    assert_eq!(unchanged["version"], 1);
    assert_eq!(unchanged["title"], "Policy");
    assert_eq!(app.count_rows("documents").await, 1);
    let (status, _, _) = app.anon(Method::GET, LIST, None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
});

both!(bad_input_names_the_field, |app: TestApp| async move {
    let manager = app.token_for("manager").await;
    let long_label = "v".repeat(51);
    let cases = [
        (json!({"title": " ", "kind": "policy"}), "title"),
        (json!({"title": "X", "kind": "memo"}), "kind"),
        (json!({"title": "X"}), "kind"),
        (
            json!({"title": "X", "kind": "policy", "clauses": ["5.2", "12.1"]}),
            "clauses[1]",
        ),
        (
            json!({"title": "X", "kind": "policy", "owner_role_id": "01890000-0000-7000-8000-000000000000"}),
            "owner_role_id",
        ),
        (
            json!({"title": "X", "kind": "policy", "location": "policies/policy.pdf"}),
            "location",
        ),
        (
            json!({"title": "X", "kind": "policy", "location": "https://dms.example.com/my policy.pdf"}),
            "location",
        ),
        (
            json!({"title": "X", "kind": "policy", "location": "https://"}),
            "location",
        ),
        (
            json!({"title": "X", "kind": "policy", "version_label": long_label}),
            "version_label",
        ),
        (
            json!({"title": "X", "kind": "policy", "review_due": "2027-02-30"}),
            "review_due",
        ),
        (
            json!({"title": "X", "kind": "policy", "state": "approved"}),
            "state",
        ),
        (
            json!({"title": "X", "kind": "policy", "approved_by": "me"}),
            "approved_by",
        ),
        (
            json!({"title": "X", "kind": "policy", "review_overdue": false}),
            "review_overdue",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = app.post(BASE, &manager, body.clone()).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(fields(&problem), [field], "{body}: {problem}");
    }
    assert_eq!(app.count_rows("documents").await, 0);
    assert_eq!(app.count_rows("document_clauses").await, 0);

    let doc = create(
        &app,
        &manager,
        json!({"title": "Policy", "kind": "policy", "clauses": ["5.2"]}),
    )
    .await;
    let path = format!("{BASE}/{}", id(&doc));
    let (status, problem) = app
        .patch(
            &path,
            &manager,
            json!({"location": "ftp:", "title": "Policy 2"}),
        )
        .await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let (status, problem) = app
        .patch(&path, &manager, json!({"clauses": ["4.3", "99"]}))
        .await;
    assert_eq!(fields(&problem), ["clauses[1]"], "{status} {problem}");
    let (_, unchanged) = app.get(&path, &manager).await;
    assert_eq!(unchanged["version"], 1);
    assert_eq!(unchanged["clauses"], json!(["5.2"]));
    let unknown = format!("{BASE}/01890000-0000-7000-8000-000000000000");
    let (status, problem) = app.get(&unknown, &manager).await;
    assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
    let (status, problem) = app.patch(&unknown, &manager, json!({"title": "Y"})).await;
    assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
    let (status, problem) = step(
        &app,
        &manager,
        "01890000-0000-7000-8000-000000000000",
        "approve",
    )
    .await;
    assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
    let (status, problem) = step(&app, &manager, &id(&doc), "publish").await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
});

both!(approval_workflow_and_its_trail, |app: TestApp| async move {
    let (manager_id, manager) = app.user_with_roles(&["manager"]).await;
    let owner = app.role("Service owner").await;
    let bare = create(
        &app,
        &manager,
        json!({"title": "Service management policy", "kind": "policy"}),
    )
    .await;
    let doc_id = id(&bare);
    let path = format!("{BASE}/{doc_id}");
    let (status, problem) = step(&app, &manager, &doc_id, "approve").await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "precondition_missing",
    );
    assert_eq!(
        fields(&problem),
        [
            "owner_role_id",
            "clauses",
            "version_label",
            "location",
            "review_due"
        ]
    );
    let (status, problem) = step(&app, &manager, &doc_id, "revise").await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "invalid_transition");
    assert_eq!(problem["allowed_actions"], json!(["approve", "withdraw"]));

    let (status, ready, _) = app
        .if_match(
            Method::PATCH,
            &path,
            Some(json!({
                "clauses": ["5.2"], "owner_role_id": owner, "version_label": "1.0",
                "location": "https://dms.example.com/policy-1.0.pdf", "review_due": day(&app, 365),
            })),
            1,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["version"], 2);
    let (status, stale, _) = app
        .call_full(
            Method::POST,
            &format!("{path}/transitions"),
            &manager,
            Some(json!({"action": "approve"})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_problem(
        status,
        &stale,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    );
    let (status, approved, headers) = app
        .call_full(
            Method::POST,
            &format!("{path}/transitions"),
            &manager,
            Some(json!({"action": "approve"})),
            &[("If-Match", "\"2\"")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(headers["etag"], "\"3\"");
    assert_eq!(approved["state"], "approved");
    assert_eq!(approved["approved_by"], manager_id.as_str());
    assert!(approved["approved_at"].is_string(), "{approved}");
    assert_eq!(approved["allowed_actions"], json!(["revise", "withdraw"]));

    // An approved document: its version and location are fixed, its approval needs kept.
    let (status, problem) = app
        .patch(
            &path,
            &manager,
            json!({"location": "https://dms.example.com/policy-1.1.pdf"}),
        )
        .await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
    assert!(
        problem["detail"].as_str().unwrap().contains("revise"),
        "{problem}"
    );
    let (status, problem) = app
        .patch(
            &path,
            &manager,
            json!({"owner_role_id": null, "clauses": []}),
        )
        .await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "precondition_missing",
    );
    assert_eq!(fields(&problem), ["owner_role_id", "clauses"]);
    let (status, reviewed) = app
        .patch(
            &path,
            &manager,
            json!({"review_due": day(&app, 400), "clauses": ["5.2", "5.2.2"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reviewed}");
    assert_eq!(reviewed["state"], "approved");
    assert_eq!(reviewed["version"], 4);
    let (status, same) = app
        .patch(
            &path,
            &manager,
            json!({"title": "Service management policy"}),
        )
        .await;
    assert_eq!(
        (status, same["version"].clone()),
        (StatusCode::OK, json!(4))
    );
    let (status, problem) = app.call(Method::DELETE, &path, &manager, None).await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");

    // A new version: revise, change, approve again.
    let (status, draft) = step(&app, &manager, &doc_id, "revise").await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    assert_eq!(draft["state"], "draft");
    assert_eq!(
        (draft["approved_by"].clone(), draft["approved_at"].clone()),
        (Value::Null, Value::Null)
    );
    let (status, _) = app
        .patch(
            &path,
            &manager,
            json!({"version_label": "1.1", "location": "https://dms.example.com/policy-1.1.pdf"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, again) = step(&app, &app.admin_token, &doc_id, "approve").await;
    assert_eq!(again["state"], "approved");
    let admin_id = app.me(&app.admin_token).await["id"].clone();
    assert_eq!(again["approved_by"], admin_id);
    let (status, obsolete) = step(&app, &manager, &doc_id, "withdraw").await;
    assert_eq!(status, StatusCode::OK, "{obsolete}");
    assert_eq!(obsolete["state"], "obsolete");
    assert_eq!(obsolete["approved_by"], admin_id, "kept on withdrawal");
    assert_eq!(obsolete["allowed_actions"], json!([]));
    let (status, problem) = app.patch(&path, &manager, json!({"title": "New"})).await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
    let (status, problem) = step(&app, &manager, &doc_id, "approve").await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "invalid_transition");
    assert_eq!(problem["allowed_actions"], json!([]));

    // A draft is withdrawn or deleted; deletion honours If-Match.
    let scrap = create(&app, &manager, json!({"title": "Scrap", "kind": "other"})).await;
    let scrap_path = format!("{BASE}/{}", id(&scrap));
    let (status, problem, _) = app.if_match(Method::DELETE, &scrap_path, None, 7).await;
    assert_problem(
        status,
        &problem,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    );
    let (status, _, _) = app.if_match(Method::DELETE, &scrap_path, None, 1).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.count_rows("documents").await, 1);

    // The trail: a row per change, stored fields only, nothing for the empty patch.
    let (_, trail) = app
        .get(
            &format!("/api/v1/audit-trail?entity_id={doc_id}"),
            &app.admin_token,
        )
        .await;
    let entries = trail["items"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "create", "update", "approve", "update", "revise", "update", "approve", "withdraw"
        ]
    );
    assert!(entries.iter().all(|e| e["entity_type"] == "document"));
    assert_eq!(entries[2]["actor_id"], manager_id.as_str());
    assert_eq!(
        entries[2]["changes"]["state"],
        json!({"before": "draft", "after": "approved"})
    );
    assert_eq!(
        entries[2]["changes"]["approved_by"],
        json!({"before": null, "after": manager_id})
    );
    assert_eq!(
        entries[3]["changes"]["clauses"],
        json!({"before": ["5.2"], "after": ["5.2", "5.2.2"]})
    );
    assert_eq!(entries[4]["changes"]["approved_by"]["after"], Value::Null);
    for entry in entries {
        let changes = entry["changes"].as_object().unwrap();
        assert!(
            !changes.contains_key("review_overdue") && !changes.contains_key("allowed_actions"),
            "{entry}"
        );
    }
    let (_, deleted) = app
        .get(
            &format!("/api/v1/audit-trail?entity_id={}", id(&scrap)),
            &app.admin_token,
        )
        .await;
    let actions: Vec<&str> = deleted["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "delete"]);
});

both!(
    documented_information_follows_approval_and_review_dates,
    |app: TestApp| async move {
        app.person("reader@example.com", &["viewer"]).await;
        let viewer = app.login("reader@example.com", PASSWORD).await;
        let admin = app.admin_token.clone();
        let (status, empty) = app.get(LIST, &viewer).await;
        assert_eq!(status, StatusCode::OK, "{empty}");
        assert_eq!(empty["as_of"], day(&app, 0));
        assert_eq!(
            empty["summary"],
            json!({"total": 37, "covered": 0, "out_of_date": 0, "missing": 37})
        );
        let first = &empty["items"][0];
        assert_eq!(
            (&first["kind"], &first["name"], &first["clause"]),
            (
                &json!("document"),
                &json!("Scope of the service management system"),
                &json!("4.3")
            )
        );
        assert_eq!(
            first["clause_title"],
            "Determining the scope of the service management system"
        );
        assert_eq!(first["status"], "missing");
        assert_eq!(first["documents"], json!([]));

        let owner = app.role("Service owner").await;
        // Filed under a sub-clause of 5.2: covers the policy.
        let policy = approved(
            &app,
            &admin,
            complete("SM policy", "policy", &["5.2.1"], &owner, &day(&app, 10)),
        )
        .await;
        // Covers the major incident procedure (a document), not the incident records.
        let procedure = approved(
            &app,
            &admin,
            complete(
                "Major incident procedure",
                "procedure",
                &["8.6.1"],
                &owner,
                &day(&app, 100),
            ),
        )
        .await;
        // Filed under the parent clause only: covers nothing.
        approved(
            &app,
            &admin,
            complete(
                "Service delivery",
                "other",
                &["8.6"],
                &owner,
                &day(&app, 100),
            ),
        )
        .await;
        // A draft record and an obsolete one: not in force.
        create(
            &app,
            &admin,
            complete(
                "Incident log",
                "record",
                &["8.6.1"],
                &owner,
                &day(&app, 100),
            ),
        )
        .await;
        let withdrawn = approved(
            &app,
            &admin,
            complete("Old plan", "plan", &["6.3"], &owner, &day(&app, 100)),
        )
        .await;
        step(&app, &admin, &id(&withdrawn), "withdraw").await;

        let (_, report) = app.get(LIST, &viewer).await;
        let sm_policy = item(&report, "document", "Service management policy");
        assert_eq!(sm_policy["status"], "covered");
        assert_eq!(sm_policy["clause"], "5.2");
        assert_eq!(ids_of(&sm_policy["documents"]), [id(&policy)]);
        assert_eq!(
            sm_policy["documents"][0],
            json!({"id": id(&policy), "title": "SM policy", "kind": "policy", "version_label": "1.0",
                   "location": "https://dms.example.com/sms/doc.pdf", "review_due": day(&app, 10)})
        );
        let major = item(&report, "document", "Major incident procedure");
        assert_eq!(ids_of(&major["documents"]), [id(&procedure)]);
        assert_eq!(item(&report, "record", "Incidents")["status"], "missing");
        assert_eq!(
            item(&report, "document", "Service management plan")["status"],
            "missing"
        );
        assert_eq!(
            report["summary"],
            json!({"total": 37, "covered": 2, "out_of_date": 0, "missing": 35})
        );

        // Past the policy's review date: out of date, and shown overdue.
        app.clock.advance(Duration::days(11));
        let viewer = app.login("reader@example.com", PASSWORD).await;
        let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let (_, report) = app.get(LIST, &viewer).await;
        assert_eq!(report["as_of"], day(&app, 0));
        let sm_policy = item(&report, "document", "Service management policy");
        assert_eq!(sm_policy["status"], "out_of_date");
        assert_eq!(sm_policy["documents"], json!([]));
        assert_eq!(ids_of(&sm_policy["overdue_documents"]), [id(&policy)]);
        assert_eq!(
            report["summary"],
            json!({"total": 37, "covered": 1, "out_of_date": 1, "missing": 35})
        );
        let policy_path = format!("{BASE}/{}", id(&policy));
        let (_, overdue) = app.get(&policy_path, &viewer).await;
        assert_eq!(overdue["review_overdue"], true);
        let (_, page) = app
            .get(&format!("{BASE}?overdue_review=true"), &viewer)
            .await;
        assert_eq!(titles(&page), ["SM policy"]);
        let (_, page) = app
            .get(
                &format!("{BASE}?overdue_review=false&state=approved&sort=title"),
                &viewer,
            )
            .await;
        assert_eq!(
            titles(&page),
            ["Major incident procedure", "Service delivery"]
        );

        // A second policy in date covers it again, next to the overdue one.
        let renewed = approved(
            &app,
            &admin,
            complete(
                "A renewed policy",
                "policy",
                &["5.2"],
                &owner,
                &day(&app, 365),
            ),
        )
        .await;
        let (_, report) = app.get(LIST, &viewer).await;
        let sm_policy = item(&report, "document", "Service management policy");
        assert_eq!(sm_policy["status"], "covered");
        assert_eq!(ids_of(&sm_policy["documents"]), [id(&renewed)]);
        assert_eq!(ids_of(&sm_policy["overdue_documents"]), [id(&policy)]);

        // A review moves the date on; withdrawing both leaves the item missing.
        let (status, reviewed) = app
            .patch(&policy_path, &admin, json!({"review_due": day(&app, 365)}))
            .await;
        assert_eq!(status, StatusCode::OK, "{reviewed}");
        assert_eq!(reviewed["review_overdue"], false);
        let (_, report) = app.get(LIST, &viewer).await;
        let sm_policy = item(&report, "document", "Service management policy");
        assert_eq!(
            ids_of(&sm_policy["documents"]),
            [id(&renewed), id(&policy)],
            "by title"
        );
        assert_eq!(sm_policy["overdue_documents"], json!([]));
        for doc in [&policy, &renewed] {
            step(&app, &admin, &id(doc), "withdraw").await;
        }
        let (_, report) = app.get(LIST, &viewer).await;
        assert_eq!(
            item(&report, "document", "Service management policy")["status"],
            "missing"
        );
        // The list takes no parameters.
        let (status, problem) = app.get(&format!("{LIST}?status=missing"), &viewer).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
    }
);
