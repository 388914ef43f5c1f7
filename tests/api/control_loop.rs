//! The plan → measure → audit → correct loop of clauses 6.2, 9.1, 9.2 and 10.1, walked as
//! its users would: a manager, a contributor who owns the fix, and two auditors.

use chrono::{Duration, SecondsFormat};
use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, TestApp, id, ok};

both!(the_whole_loop, |app: TestApp| async move {
    let manager_email = "manager@example.com";
    app.person(manager_email, &["manager"]).await;
    // The owner of the fix may also audit: separation of duties, not roles, stops them verifying.
    let owner = app
        .person("owner@example.com", &["contributor", "auditor"])
        .await;
    let lead = app.person("lead@example.com", &["auditor"]).await;
    app.person("second@example.com", &["auditor"]).await;
    let incident_manager = app.person("im@example.com", &["viewer"]).await;
    let role = id(&ok(
        &app,
        "/api/v1/roles",
        &app.admin_token,
        json!({"name": "Incident manager", "member_ids": [incident_manager]}),
    )
    .await);
    let process = id(&app.process("INC", Some(&role)).await);

    // 1. A manager sets an objective with its 6.2.2 plan and activates it.
    let manager = app.login(manager_email, PASSWORD).await;
    let due = app.clock.today() + Duration::days(365);
    let objective = id(&ok(&app, "/api/v1/objectives", &manager, json!({
        "title": "Restore P1 incidents within 4 hours", "process_id": process,
        "metric": "P1 incidents restored within 4 h", "unit": "%", "baseline": 80.0, "target": 92.0,
        "comparator": "gte", "due_date": due.to_string(), "owner_role_id": role,
        "plan": {"what": "Automate triage", "resources": "Two engineers", "responsible": "Incident manager",
                 "completion": "Within the year", "evaluation": "Monthly report to management"}
    })).await);
    let path = format!("/api/v1/objectives/{objective}");
    let active = ok(
        &app,
        &format!("{path}/transitions"),
        &manager,
        json!({"action": "activate"}),
    )
    .await;
    assert_eq!(active["state"], "active");
    assert_eq!(active["attainment"], "no_data");

    // 2. A year of monthly measurements, each on its day (the clock moves; nothing sleeps).
    for month in 1..=12 {
        app.clock.advance(Duration::days(30));
        let manager = app.login(manager_email, PASSWORD).await;
        let at = app.clock.now().to_rfc3339_opts(SecondsFormat::Micros, true);
        let value = 80.0 + f64::from(month);
        ok(
            &app,
            &format!("{path}/measurements"),
            &manager,
            json!({"value": value, "measured_at": at}),
        )
        .await;
    }
    let manager = app.login(manager_email, PASSWORD).await;
    let (_, measured) = app.get(&path, &manager).await;
    assert_eq!(measured["latest_value"], 92.0, "{measured}");
    assert_eq!(measured["attainment"], "met", "{measured}");
    assert_eq!(measured["trend"], "improving", "{measured}");
    let (_, with_kpis) = app
        .get(&format!("/api/v1/processes/{process}"), &manager)
        .await;
    assert_eq!(with_kpis["kpis"][0]["attainment"], "met", "{with_kpis}");

    // 3. An auditor who owns nothing in scope plans and starts an audit, and records a minor
    //    nonconformity against 8.6.1.
    let lead_token = app.login("lead@example.com", PASSWORD).await;
    let audit = id(&ok(
        &app,
        "/api/v1/audits",
        &lead_token,
        json!({
            "title": "Internal audit: incident management", "kind": "internal",
            "scope_clauses": ["8.6.1"], "scope_process_ids": [process], "lead_auditor_id": lead,
            "criteria": "ISO/IEC 20000-1:2018 clause 8.6.1"
        }),
    )
    .await);
    let audit_path = format!("/api/v1/audits/{audit}");
    ok(
        &app,
        &format!("{audit_path}/transitions"),
        &lead_token,
        json!({"action": "start"}),
    )
    .await;
    let finding = id(&ok(
        &app,
        &format!("{audit_path}/findings"),
        &lead_token,
        json!({
            "type": "minor_nonconformity", "clause": "8.6.1", "process_id": process,
            "statement": "Two P1 incidents were not classified", "evidence": "INC-104, INC-131"
        }),
    )
    .await);

    // The catalog shows what refers to each clause.
    let (_, incidents) = app.get("/api/v1/clauses/8.6.1", &manager).await;
    assert_eq!(
        incidents["references"],
        json!({"processes": 1, "objectives": 0, "documents": 0, "audits": 1, "open_findings": 1})
    );
    let (_, objectives) = app.get("/api/v1/clauses/6.2", &manager).await;
    assert_eq!(objectives["references"]["objectives"], 1, "{objectives}");

    // 4. The manager opens the corrective action, owned by a contributor.
    let action = ok(&app, "/api/v1/corrective-actions", &manager, json!({
        "title": "Classify every P1 incident", "nonconformity": "Two P1 incidents were not classified",
        "source": "audit_finding", "finding_id": finding, "owner_id": owner,
        "due_date": (app.clock.today() + Duration::days(30)).to_string()
    })).await;
    assert_eq!(
        (action["clause"].as_str(), action["process_id"].as_str()),
        (Some("8.6.1"), Some(process.as_str()))
    );
    let steps = format!("/api/v1/corrective-actions/{}/transitions", id(&action));

    // 5. Its owner investigates, plans and implements.
    let owner_token = app.login("owner@example.com", PASSWORD).await;
    for step in [
        json!({"action": "investigate", "correction": "Both incidents classified by hand"}),
        json!({"action": "plan", "root_cause": "Triage form lets classification be skipped",
               "action_plan": "Make classification mandatory in the triage form"}),
        json!({"action": "implement", "implementation": "Form field made mandatory"}),
    ] {
        ok(&app, &steps, &owner_token, step).await;
    }

    // 6. The implementer may not verify their own work, even holding the auditor role.
    let (status, refused) = app
        .post(
            &steps,
            &owner_token,
            json!({"action": "verify", "effective": true,
        "effectiveness_review": "Looks fine to me"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");

    // 7. A second auditor finds it not effective; the owner re-implements; then it is.
    let second = app.login("second@example.com", PASSWORD).await;
    let reopened = ok(
        &app,
        &steps,
        &second,
        json!({"action": "verify", "effective": false,
        "effectiveness_review": "The API path still skips classification"}),
    )
    .await;
    assert_eq!(reopened["state"], "action_planned");
    ok(
        &app,
        &steps,
        &owner_token,
        json!({"action": "implement",
        "implementation": "Classification enforced in the form and the API"}),
    )
    .await;
    let verified = ok(
        &app,
        &steps,
        &second,
        json!({"action": "verify", "effective": true,
        "effectiveness_review": "No unclassified P1 in 30 days"}),
    )
    .await;
    assert_eq!(verified["state"], "verified");

    // 8. The action closes, its finding closes, the audit closes, and the trail verifies.
    let closed = ok(&app, &steps, &second, json!({"action": "close"})).await;
    assert_eq!(closed["state"], "closed");
    let (_, finding_now) = app
        .get(&format!("/api/v1/findings/{finding}"), &lead_token)
        .await;
    assert_eq!(finding_now["state"], "closed", "{finding_now}");
    let (_, incidents) = app.get("/api/v1/clauses/8.6.1", &manager).await;
    assert_eq!(incidents["references"]["open_findings"], 0, "{incidents}");
    ok(
        &app,
        &format!("{audit_path}/transitions"),
        &lead_token,
        json!({"action": "report"}),
    )
    .await;
    let audit_closed = ok(
        &app,
        &format!("{audit_path}/transitions"),
        &lead_token,
        json!({"action": "close"}),
    )
    .await;
    assert_eq!(audit_closed["state"], "closed");

    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, history) = app
        .get(
            &format!("/api/v1/corrective-actions/{}/history", id(&action)),
            &manager,
        )
        .await;
    let verifications = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "verify")
        .count();
    assert_eq!(
        verifications, 2,
        "both verifications are on record: {history}"
    );
    let (_, chain) = app.get("/api/v1/audit-trail/verify", &admin).await;
    assert_eq!(chain["valid"], true, "{chain}");
});
