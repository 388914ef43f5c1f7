//! The readiness report, rule by rule, on the records the API writes and with the clock moved.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, TestApp, assert_problem, id, ok};

async fn readiness(app: &TestApp) -> Value {
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, report) = app.get("/api/v1/reports/readiness", &admin).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    report
}

/// The status of one check of one clause, or null when it does not apply.
fn check(report: &Value, clause: &str, check: &str) -> Value {
    let clause = report["clauses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["clause"] == clause)
        .unwrap_or_else(|| panic!("no clause {clause}"));
    clause["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == check)
        .map(|c| c["status"].clone())
        .unwrap_or(Value::Null)
}

fn issues<'a>(report: &'a Value, list: &str, clause: &str, check: &str) -> Vec<&'a Value> {
    report[list]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["clause"] == clause && b["check"] == check)
        .collect()
}

/// An active process for 8.6.1, owned by a role, with its next review on `review_due`.
async fn active_process(app: &TestApp, review_due: &str) -> String {
    let role = app.role("Incident manager").await;
    let process = id(&app.process("INC", Some(&role)).await);
    let path = format!("/api/v1/processes/{process}");
    let (status, body) = app
        .patch(&path, &app.admin_token, json!({"review_due": review_due}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let raci = json!({"assignments": [{"role_id": role, "responsibility": "A"}]});
    let (status, body) = app
        .call(
            reqwest::Method::PUT,
            &format!("{path}/raci"),
            &app.admin_token,
            Some(raci),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    ok(
        app,
        &format!("{path}/transitions"),
        &app.admin_token,
        json!({"action": "approve"}),
    )
    .await;
    process
}

both!(an_empty_sms_is_not_ready, |app: TestApp| async move {
    let report = readiness(&app).await;
    assert_eq!(report["ready"], false);
    assert_eq!(report["clauses"].as_array().unwrap().len(), 77);
    assert_eq!(report["as_of"], app.clock.today().to_string());
    // Every process clause lacks a process; every clause lacks an internal audit.
    let process_blockers = report["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["check"] == "processes")
        .count();
    assert_eq!(process_blockers, 20);
    assert_eq!(check(&report, "8.6.1", "processes"), "blocker");
    assert_eq!(check(&report, "8.6", "processes"), Value::Null);
    assert_eq!(check(&report, "4.1", "internal_audit"), "blocker");
    assert_eq!(check(&report, "9.3", "management_review"), "blocker");
    assert_eq!(check(&report, "4.1", "nonconformities"), "met");
    let score = report["score"].as_f64().unwrap();
    assert!(score > 0.0 && score < 100.0, "{score}");

    // Readers may see it; the anonymous may not.
    let viewer = app.token_for("viewer").await;
    let (status, _) = app.get("/api/v1/reports/readiness", &viewer).await;
    assert_eq!(status, StatusCode::OK);
    let res = app
        .request(reqwest::Method::GET, "/api/v1/reports/readiness", None)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
});

both!(
    a_process_clause_needs_an_active_process_in_review,
    |app: TestApp| async move {
        let due = app.clock.today() + Duration::days(30);
        let process = active_process(&app, &due.to_string()).await;
        let report = readiness(&app).await;
        assert_eq!(check(&report, "8.6.1", "processes"), "met");
        assert!(issues(&report, "blockers", "8.6.1", "processes").is_empty());

        app.clock.advance(Duration::days(31));
        let report = readiness(&app).await;
        assert_eq!(check(&report, "8.6.1", "processes"), "blocker");
        let blockers = issues(&report, "blockers", "8.6.1", "processes");
        assert_eq!(blockers.len(), 1);
        assert_eq!(blockers[0]["record"]["kind"], "process");
        assert_eq!(blockers[0]["record"]["id"], process.as_str());
        assert_eq!(blockers[0]["record"]["label"], "INC");
        assert!(
            blockers[0]["clear_by"]
                .as_str()
                .unwrap()
                .contains("review process INC")
        );
    }
);

both!(
    audits_nonconformities_and_overdue_actions,
    |app: TestApp| async move {
        let lead = app.person("lead@example.com", &["auditor"]).await;
        let owner = app.person("owner@example.com", &["contributor"]).await;
        let auditor = app.login("lead@example.com", PASSWORD).await;
        let audit = |scope: &'static str| {
            json!({"title": format!("Internal audit of {scope}"), "kind": "internal",
               "scope_clauses": [scope], "lead_auditor_id": lead})
        };
        // A closed internal audit of clause 8 covers 8.6.1 below it.
        let closed = id(&ok(&app, "/api/v1/audits", &auditor, audit("8")).await);
        for action in ["start", "report", "close"] {
            let path = format!("/api/v1/audits/{closed}/transitions");
            ok(&app, &path, &auditor, json!({"action": action})).await;
        }
        // An audit under way records a major nonconformity against 8.6.1.
        let open = id(&ok(&app, "/api/v1/audits", &auditor, audit("8.6.1")).await);
        let path = format!("/api/v1/audits/{open}/transitions");
        ok(&app, &path, &auditor, json!({"action": "start"})).await;
        let finding = id(&ok(&app, &format!("/api/v1/audits/{open}/findings"), &auditor, json!({
        "type": "major_nonconformity", "clause": "8.6.1", "statement": "No incident records kept"
    })).await);
        let report = readiness(&app).await;
        assert_eq!(check(&report, "8.6.1", "internal_audit"), "met");
        assert_eq!(check(&report, "8", "internal_audit"), "met");
        assert_eq!(check(&report, "9", "internal_audit"), "blocker");
        assert_eq!(check(&report, "8.6.1", "nonconformities"), "blocker");
        let blockers = issues(&report, "blockers", "8.6.1", "nonconformities");
        assert_eq!(blockers[0]["record"]["id"], finding.as_str());
        assert_eq!(blockers[0]["record"]["label"], "No incident records kept");

        // Its corrective action is due in ten days; past that, a warning.
        let due = app.clock.today() + Duration::days(10);
        let action = id(&ok(
            &app,
            "/api/v1/corrective-actions",
            &app.admin_token,
            json!({
                "title": "Keep incident records", "nonconformity": "No incident records kept",
                "source": "audit_finding", "finding_id": finding, "owner_id": owner,
                "due_date": due.to_string()
            }),
        )
        .await);
        assert_eq!(
            check(&readiness(&app).await, "8.6.1", "corrective_actions"),
            "met"
        );
        app.clock.advance(Duration::days(11));
        let report = readiness(&app).await;
        assert_eq!(check(&report, "8.6.1", "corrective_actions"), "warning");
        let warnings = issues(&report, "warnings", "8.6.1", "corrective_actions");
        assert_eq!(warnings[0]["record"]["id"], action.as_str());

        // A year after the audit closed, its coverage has lapsed.
        app.clock.advance(Duration::days(366));
        let report = readiness(&app).await;
        assert_eq!(check(&report, "8.6.1", "internal_audit"), "blocker");
        let blockers = issues(&report, "blockers", "8.6.1", "internal_audit");
        assert!(blockers[0]["clear_by"].as_str().unwrap().contains("8.6.1"));
    }
);

both!(
    the_report_refuses_unknown_parameters,
    |app: TestApp| async move {
        let (status, body) = app
            .get("/api/v1/reports/readiness?verbose=1", &app.admin_token)
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
    }
);

both!(
    documents_reviews_and_the_latest_assessment,
    |app: TestApp| async move {
        let admin = app.admin_token.clone();
        let attendee = app.person("board@example.com", &["viewer"]).await;
        let role = app.role("Service owner").await;

        // 5.2 expects the service management policy: missing, then covered, then out of date.
        assert_eq!(
            check(&readiness(&app).await, "5.2", "documented_information"),
            "blocker"
        );
        let review_due = app.clock.today() + Duration::days(60);
        let policy = id(&ok(
            &app,
            "/api/v1/documents",
            &admin,
            json!({
                "title": "SMS policy", "kind": "policy", "clauses": ["5.2"], "owner_role_id": role,
                "version_label": "1.0", "location": "https://dms.example.com/policy.pdf",
                "review_due": review_due.to_string()
            }),
        )
        .await);
        let report = readiness(&app).await;
        let blockers = issues(&report, "blockers", "5.2", "documented_information");
        assert!(
            blockers[0]["problem"]
                .as_str()
                .unwrap()
                .contains("Service management policy")
        );
        ok(
            &app,
            &format!("/api/v1/documents/{policy}/transitions"),
            &admin,
            json!({"action": "approve"}),
        )
        .await;
        assert_eq!(
            check(&readiness(&app).await, "5.2", "documented_information"),
            "met"
        );

        // 9.3: a management review held today, with every input.
        let inputs: serde_json::Map<String, Value> = [
            "previous_actions_status",
            "changes_in_context",
            "sms_performance",
            "objectives",
            "nonconformity_and_audit_trends",
            "service_and_supplier_performance",
            "feedback",
            "resources",
            "risks",
            "improvement_opportunities",
        ]
        .iter()
        .map(|name| (name.to_string(), json!(format!("Considered: {name}"))))
        .collect();
        let review = id(&ok(
            &app,
            "/api/v1/management-reviews",
            &admin,
            json!({
                "title": "Annual review", "held_on": app.clock.today().to_string(),
                "attendee_ids": [attendee], "inputs": inputs
            }),
        )
        .await);
        let report = readiness(&app).await;
        assert_eq!(check(&report, "9.3", "management_review"), "blocker");
        let path = format!("/api/v1/management-reviews/{review}/transitions");
        ok(&app, &path, &admin, json!({"action": "hold"})).await;
        let report = readiness(&app).await;
        assert_eq!(check(&report, "9.3", "management_review"), "met");
        assert_eq!(report["last_management_review"]["id"], review.as_str());

        // The latest completed gap assessment grades the clauses it assessed.
        let assessment = id(&ok(
            &app,
            "/api/v1/assessments",
            &admin,
            json!({
                "title": "Pre-certification", "assessed_on": app.clock.today().to_string()
            }),
        )
        .await);
        for (clause, status) in [
            ("8.6.1", "not_met"),
            ("4.1", "partially_met"),
            ("4.2", "met"),
        ] {
            let (code, body) = app
                .call(
                    reqwest::Method::PUT,
                    &format!("/api/v1/assessments/{assessment}/results/{clause}"),
                    &admin,
                    Some(json!({"status": status})),
                )
                .await;
            assert_eq!(code, StatusCode::OK, "{body}");
        }
        assert_eq!(
            check(&readiness(&app).await, "8.6.1", "gap_assessment"),
            Value::Null
        );
        let path = format!("/api/v1/assessments/{assessment}/transitions");
        ok(&app, &path, &admin, json!({"action": "complete"})).await;
        let report = readiness(&app).await;
        assert_eq!(report["latest_assessment"]["id"], assessment.as_str());
        assert_eq!(check(&report, "8.6.1", "gap_assessment"), "blocker");
        assert_eq!(check(&report, "4.1", "gap_assessment"), "warning");
        assert_eq!(check(&report, "4.2", "gap_assessment"), "met");
        assert_eq!(check(&report, "4.3", "gap_assessment"), Value::Null);
        let blockers = issues(&report, "blockers", "8.6.1", "gap_assessment");
        assert_eq!(blockers[0]["record"]["id"], assessment.as_str());

        // Two months on, the policy is past its review; a year on, so is the review.
        app.clock.advance(Duration::days(61));
        let report = readiness(&app).await;
        let blockers = issues(&report, "blockers", "5.2", "documented_information");
        assert_eq!(blockers[0]["record"]["id"], policy.as_str());
        assert!(
            blockers[0]["clear_by"]
                .as_str()
                .unwrap()
                .contains("review document SMS policy")
        );
        app.clock.advance(Duration::days(305));
        let report = readiness(&app).await;
        let blockers = issues(&report, "blockers", "9.3", "management_review");
        assert_eq!(blockers[0]["record"]["id"], review.as_str());

        // The CSV form: one row per clause and check.
        let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let res = app
            .request(
                reqwest::Method::GET,
                "/api/v1/reports/readiness",
                Some(&admin),
            )
            .header("accept", "text/csv")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let csv = res.text().await.unwrap();
        assert!(csv.starts_with("clause,"), "{csv}");
        assert!(
            csv.lines()
                .any(|l| l.starts_with("9.3,") && l.contains("management_review"))
        );
    }
);
