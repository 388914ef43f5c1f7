//! Reports as JSON and CSV: objectives, corrective actions (ageing moves with the clock),
//! audit coverage.

use chrono::{Duration, SecondsFormat};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both;
use crate::exports::{assert_same, fetch, parse};
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, assert_problem, id, ok};

/// Each reading role gets the report; a user without roles is refused; no query parameter
/// is taken.
async fn readers_only(app: &TestApp, path: &str) {
    for role in ["viewer", "contributor", "manager", "auditor", "admin"] {
        let token = app.token_for(role).await;
        let (status, body) = app.get(path, &token).await;
        assert_eq!(status, StatusCode::OK, "{role}: {body}");
        let export = path.replace("/api/v1/", "/api/v1/exports/");
        let (status, _, text) = fetch(app, &export, &token, &[]).await;
        assert_eq!(status, StatusCode::OK, "{role}: {text}");
    }
    let (_, nobody) = app.user_with_roles(&[]).await;
    for path in [
        path.to_string(),
        path.replace("/api/v1/", "/api/v1/exports/"),
    ] {
        let (status, body) = app.get(&path, &nobody).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    }
    let (status, body) = app.get(&format!("{path}?limit=5"), &app.admin_token).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
}

/// The report's CSV, by its export and by `Accept: text/csv`, which answer the same.
async fn csv_of(app: &TestApp, path: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let export = path.replace("/api/v1/", "/api/v1/exports/");
    let (status, headers, text) = fetch(app, &export, &app.admin_token, &[]).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    let file = format!(
        "attachment; filename=\"{}.csv\"",
        export
            .trim_start_matches("/api/v1/exports/")
            .replace('/', "-")
    );
    assert_eq!(headers["content-disposition"].to_str().unwrap(), file);
    let (status, _, same) = fetch(app, path, &app.admin_token, &[("Accept", "text/csv")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same, text);
    parse(&text)
}

both!(
    the_objectives_report_judges_every_objective,
    |app: TestApp| async move {
        let token = &app.admin_token;
        let role = app.role("Incident manager").await;
        let process = id(&app.process("INC", Some(&role)).await);
        let due = (app.clock.today() + Duration::days(365)).to_string();
        let plan = json!({"what": "Automate triage", "resources": "Two engineers",
                          "responsible": "Incident manager", "completion": "Within the year",
                          "evaluation": "Monthly report"});
        let restore = id(&ok(
            &app,
            "/api/v1/objectives",
            token,
            json!({
                "title": "Restore P1 incidents within 4 hours, \"always\"", "process_id": process,
                "owner_role_id": role, "metric": "=P1 restored within 4 h", "unit": "%",
                "baseline": 80.0, "target": 90.0, "comparator": "gte", "due_date": due, "plan": plan
            }),
        )
        .await);
        ok(
            &app,
            &format!("/api/v1/objectives/{restore}/transitions"),
            token,
            json!({"action": "activate"}),
        )
        .await;
        for value in [81.0, 85.0, 95.5] {
            let at = app.clock.now().to_rfc3339_opts(SecondsFormat::Micros, true);
            ok(
                &app,
                &format!("/api/v1/objectives/{restore}/measurements"),
                token,
                json!({"value": value, "measured_at": at}),
            )
            .await;
            app.clock.advance(Duration::seconds(1));
        }
        let draft = id(&ok(
            &app,
            "/api/v1/objectives",
            token,
            json!({"title": "Fewer repeat incidents"}),
        )
        .await);

        let path = "/api/v1/reports/objectives";
        let (status, report) = app.get(path, token).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        let rows = report["objectives"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        let restored = &rows[0];
        assert_eq!(
            restored["objective_id"],
            restore.as_str(),
            "due first, undated last"
        );
        assert_eq!(restored["process_code"], "INC");
        assert_eq!(restored["process_name"], "Process INC");
        assert_eq!(restored["owner_role"], "Incident manager");
        assert_eq!(restored["state"], "active");
        assert_eq!(restored["latest_value"], 95.5);
        assert_eq!(restored["attainment"], "met");
        assert_eq!(restored["trend"], "improving");
        assert_eq!(restored["target"], 90.0);
        assert_eq!(restored["comparator"], "gte");
        assert_eq!(restored["due_date"], due.as_str());
        // The same computation as the objective itself.
        let (_, objective) = app
            .get(&format!("/api/v1/objectives/{restore}"), token)
            .await;
        for field in ["latest_value", "attainment", "trend"] {
            assert_eq!(restored[field], objective[field], "{field}");
        }
        assert_eq!(rows[1]["objective_id"], draft.as_str());
        assert_eq!(rows[1]["attainment"], "no_data");
        assert_eq!(rows[1]["process_code"], Value::Null);
        let summary = &report["summary"];
        assert_eq!(summary["total"], 2);
        let count = |list: &str, key: &str, value: &str| {
            summary[list]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c[key] == value)
                .unwrap()["count"]
                .clone()
        };
        assert_eq!(count("by_attainment", "attainment", "met"), 1);
        assert_eq!(count("by_attainment", "attainment", "no_data"), 1);
        assert_eq!(count("by_attainment", "attainment", "off_track"), 0);
        assert_eq!(count("by_state", "state", "active"), 1);
        assert_eq!(count("by_state", "state", "draft"), 1);
        assert_eq!(count("by_state", "state", "cancelled"), 0);

        // CSV: one row per objective, each cell reading back as the JSON row.
        let (columns, records) = csv_of(&app, path).await;
        assert_same(&columns, &records, rows);
        let metric = columns.iter().position(|c| c == "metric").unwrap();
        assert_eq!(records[0][metric], "'=P1 restored within 4 h");

        readers_only(&app, path).await;

        // Readiness: one row per clause and check.
        let path = "/api/v1/reports/readiness";
        let (_, report) = app.get(path, &app.admin_token).await;
        let (columns, records) = csv_of(&app, path).await;
        assert_eq!(
            columns,
            [
                "clause",
                "title",
                "clause_score",
                "check",
                "status",
                "detail"
            ]
        );
        let checks: usize = report["clauses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["checks"].as_array().unwrap().len())
            .sum();
        assert_eq!(records.len(), checks);
        let first = &report["clauses"][0];
        assert_eq!(records[0][0], first["clause"].as_str().unwrap());
        assert_eq!(records[0][2], first["score"].to_string());
        assert_eq!(records[0][3], first["checks"][0]["check"].as_str().unwrap());
    }
);

/// Creates a corrective action as admin and returns its id.
async fn action(app: &TestApp, token: &str, body: Value) -> String {
    let mut full = json!({"title": "Fix", "nonconformity": "Found", "source": "incident"});
    full.as_object_mut()
        .unwrap()
        .extend(body.as_object().unwrap().clone());
    id(&ok(app, "/api/v1/corrective-actions", token, full).await)
}

/// The `(open, overdue)` of a dimension's entry.
fn tally(report: &Value, list: &str, key: &str, value: Value) -> (u64, u64) {
    let entry = report[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e[key] == value)
        .unwrap_or_else(|| panic!("{list} {value}: {report}"));
    (
        entry["open"].as_u64().unwrap(),
        entry["overdue"].as_u64().unwrap(),
    )
}

fn ageing(report: &Value) -> Vec<(String, u64, u64)> {
    report["ageing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["bucket"].as_str().unwrap().to_string(),
                a["open"].as_u64().unwrap(),
                a["overdue"].as_u64().unwrap(),
            )
        })
        .collect()
}

both!(
    corrective_actions_age_with_the_service_clock,
    |app: TestApp| async move {
        let path = "/api/v1/reports/corrective-actions";
        // Empty: every bucket, source and open state, all zero.
        let (status, empty) = app.get(path, &app.admin_token).await;
        assert_eq!(status, StatusCode::OK, "{empty}");
        assert_eq!(empty["open"], 0);
        assert_eq!(
            ageing(&empty)
                .iter()
                .map(|a| a.0.as_str())
                .collect::<Vec<_>>(),
            ["0-30", "31-60", "61-90", "over-90"]
        );
        assert_eq!(empty["by_source"].as_array().unwrap().len(), 6);
        assert_eq!(empty["by_state"].as_array().unwrap().len(), 5);
        assert_eq!(empty["by_clause"], json!([]));
        // (Before the clock moves: the admin's token lives 15 minutes.)
        readers_only(&app, path).await;

        // A is created first; B 35 days later; C and D (closed) 30 days after that.
        let start = app.clock.today();
        let a = action(
            &app,
            &app.admin_token,
            json!({"clause": "8.6.1", "due_date": (start + Duration::days(10)).to_string()}),
        )
        .await;
        app.clock.advance(Duration::days(35));
        let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        action(
            &app,
            &token,
            json!({"clause": "10.1", "source": "complaint"}),
        )
        .await;
        app.clock.advance(Duration::days(30));
        let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let c = action(
            &app,
            &token,
            json!({"clause": "8.6.1", "due_date": (start + Duration::days(200)).to_string()}),
        )
        .await;
        let closed = action(&app, &token, json!({"source": "monitoring"})).await;
        app.raw_sql(&format!(
            "UPDATE corrective_actions SET state = 'closed' WHERE id = '{closed}'"
        ))
        .await;
        let (status, investigating) = app
            .post(
                &format!("/api/v1/corrective-actions/{c}/transitions"),
                &token,
                json!({"action": "investigate", "correction": "Contained"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{investigating}");

        // Day 65: A is 65 days old (and overdue since day 10), B 30, C 0.
        let (_, report) = app.get(path, &token).await;
        assert_eq!(report["as_of"], app.clock.today().to_string());
        assert_eq!(
            (report["open"].as_u64(), report["overdue"].as_u64()),
            (Some(3), Some(1))
        );
        assert_eq!(
            ageing(&report),
            [
                ("0-30".into(), 2, 0),
                ("31-60".into(), 0, 0),
                ("61-90".into(), 1, 1),
                ("over-90".into(), 0, 0)
            ]
        );
        assert_eq!(
            tally(&report, "by_clause", "clause", json!("8.6.1")),
            (2, 1)
        );
        assert_eq!(tally(&report, "by_clause", "clause", json!("10.1")), (1, 0));
        let clauses: Vec<&Value> = report["by_clause"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["clause"])
            .collect();
        assert_eq!(clauses, [&json!("8.6.1"), &json!("10.1")], "catalog order");
        assert_eq!(
            tally(&report, "by_source", "source", json!("incident")),
            (2, 1)
        );
        assert_eq!(
            tally(&report, "by_source", "source", json!("complaint")),
            (1, 0)
        );
        assert_eq!(
            tally(&report, "by_source", "source", json!("monitoring")),
            (0, 0),
            "closed ones do not count"
        );
        assert_eq!(tally(&report, "by_state", "state", json!("open")), (2, 1));
        assert_eq!(
            tally(&report, "by_state", "state", json!("investigating")),
            (1, 0)
        );
        // The overdue count agrees with the list's `overdue` filter.
        let (_, overdue) = app
            .get("/api/v1/corrective-actions?overdue=true", &token)
            .await;
        assert_eq!(overdue["items"][0]["id"], a.as_str());

        // Thirty days on, the buckets move: A over 90, B 60, C 30.
        app.clock.advance(Duration::days(30));
        let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let (_, report) = app.get(path, &token).await;
        assert_eq!(
            ageing(&report),
            [
                ("0-30".into(), 1, 0),
                ("31-60".into(), 1, 0),
                ("61-90".into(), 0, 0),
                ("over-90".into(), 1, 1)
            ]
        );
        // An action without a clause comes last in `by_clause`, as null.
        action(
            &app,
            &token,
            json!({"due_date": app.clock.today().to_string()}),
        )
        .await;
        let (_, report) = app.get(path, &token).await;
        assert_eq!(
            report["by_clause"].as_array().unwrap().last().unwrap()["clause"],
            Value::Null
        );
        assert_eq!(report["overdue"], 1, "due today is not overdue yet");

        // CSV: `dimension,key,open,overdue`.
        let (status, _, text) = fetch(
            &app,
            "/api/v1/exports/reports/corrective-actions",
            &token,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (columns, records) = parse(&text);
        assert_eq!(columns, ["dimension", "key", "open", "overdue"]);
        let rows: Vec<String> = records.iter().map(|r| r.join(",")).collect();
        assert_eq!(rows[0], "total,all,4,1");
        for expected in [
            "ageing,0-30,2,0",
            "ageing,over-90,1,1",
            "clause,8.6.1,2,1",
            "clause,,1,0",
            "source,incident,3,1",
            "source,management_review,0,0",
            "state,investigating,1,0",
        ] {
            assert!(rows.contains(&expected.to_string()), "{expected}: {rows:?}");
        }
        assert_eq!(records.len(), 1 + 4 + 3 + 6 + 5);
    }
);

both!(audit_coverage_has_a_csv_form, |app: TestApp| async move {
    let process = app.process("CHG", None).await;
    let path = "/api/v1/reports/audit-coverage";
    let (_, report) = app.get(path, &app.admin_token).await;
    let (columns, records) = csv_of(&app, path).await;
    assert_eq!(columns, ["kind", "key", "code", "title", "last_covered_at"]);
    let clauses = report["clauses"].as_array().unwrap();
    assert_eq!(records.len(), clauses.len() + 1);
    assert_eq!(
        records[0],
        ["clause", "4", "", clauses[0]["title"].as_str().unwrap(), ""]
    );
    let last = records.last().unwrap();
    assert_eq!(
        last,
        &[
            "process",
            process["id"].as_str().unwrap(),
            "CHG",
            "Process CHG",
            ""
        ]
    );
    readers_only(&app, path).await;
});
