//! `itsms seed-demo`: the demo SMS on an empty database, served by the API.

use reqwest::StatusCode;

use crate::both;
use crate::helpers::{ADMIN_EMAIL, TestApp, itsms_command};

/// Runs the binary against the test app's database.
fn run(app: &TestApp, args: &[&str]) -> std::process::Output {
    let dir = app.settings.server.data_dir.display().to_string();
    let command = [&["seed-demo"], args].concat();
    let env = [
        ("ITSMS__DATABASE__URL", app.db_url.as_str()),
        ("ITSMS__SERVER__DATA_DIR", dir.as_str()),
        ("ITSMS__BOOTSTRAP__ADMIN_EMAIL", ADMIN_EMAIL),
    ];
    tokio::task::block_in_place(|| itsms_command(&command, &env).output())
        .expect("the itsms binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The rows one business unit adds, per table (README, "A demo database").
const PER_UNIT: &[(&str, i64)] = &[
    ("users", 20),
    ("sms_roles", 17),
    ("processes", 22),
    ("objectives", 9),
    ("measurements", 87),
    ("audits", 3),
    ("findings", 9),
    // 12, and one decided by the management review.
    ("corrective_actions", 13),
    ("documents", 40),
    ("improvements", 7),
    ("management_reviews", 2),
    ("risks", 8),
    ("training_records", 37),
    ("assessments", 2),
    ("assessment_results", 83),
];

async fn assert_units(app: &TestApp, units: i64) {
    for (table, n) in PER_UNIT {
        // The first admin is there before the demo.
        let expected = n * units + i64::from(*table == "users");
        assert_eq!(app.count_rows(table).await, expected, "{table}");
    }
    // Every record has its creation in the audit trail.
    for (table, kind) in [
        ("users", "user"),
        ("sms_roles", "sms_role"),
        ("processes", "process"),
        ("objectives", "objective"),
        ("measurements", "measurement"),
        ("audits", "audit"),
        ("findings", "finding"),
        ("corrective_actions", "corrective_action"),
        ("documents", "document"),
        ("improvements", "improvement"),
        ("management_reviews", "management_review"),
        ("risks", "risk"),
        ("training_records", "training_record"),
        ("assessments", "assessment"),
    ] {
        let created = app
            .count_rows(&format!(
                "audit_trail WHERE action = 'create' AND entity_type = '{kind}'"
            ))
            .await;
        assert_eq!(created, app.count_rows(table).await, "{kind}");
    }
}

async fn total(app: &TestApp, token: &str, path: &str) -> i64 {
    let sep = if path.contains('?') { '&' } else { '?' };
    let (status, body) = app
        .get(&format!("/api/v1/{path}{sep}include_total=true"), token)
        .await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body["total"]
        .as_i64()
        .unwrap_or_else(|| panic!("{path}: {body}"))
}

async fn chain_verifies(app: &TestApp) {
    let (status, report) = app
        .get("/api/v1/audit-trail/verify", &app.admin_token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["valid"], true, "{report}");
    let dir = app.settings.server.data_dir.display().to_string();
    let env = [
        ("ITSMS__DATABASE__URL", app.db_url.as_str()),
        ("ITSMS__SERVER__DATA_DIR", dir.as_str()),
    ];
    let verified =
        tokio::task::block_in_place(|| itsms_command(&["verify-audit-trail"], &env).output())
            .unwrap();
    assert!(verified.status.success(), "{}", text(&verified.stdout));
}

both!(seeds_an_empty_database_once, |app: TestApp| async move {
    let refused = run(&app, &["--scale", "0"]);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("--scale"));

    let seeded = run(&app, &[]);
    let (stdout, stderr) = (text(&seeded.stdout), text(&seeded.stderr));
    assert!(seeded.status.success(), "{stderr}");
    assert!(stdout.contains("itsms-demo-password"), "{stdout}");
    assert!(stderr.contains("[13/13] gap assessments"), "{stderr}");
    assert_units(&app, 1).await;
    chain_verifies(&app).await;

    // A demo manager signs in with the printed password and finds a whole SMS.
    let manager = stdout
        .lines()
        .find(|l| l.contains("@demo.example") && l.contains("manager"))
        .and_then(|l| l.split_whitespace().next())
        .expect("a manager's login is printed");
    let token = app.login(manager, "itsms-demo-password").await;
    assert_eq!(total(&app, &token, "processes?state=active").await, 20);
    assert_eq!(total(&app, &token, "processes").await, 22);
    let (_, processes) = app
        .get("/api/v1/processes?state=active&limit=200", &token)
        .await;
    for p in processes["items"].as_array().unwrap() {
        let raci = p["raci"].as_array().unwrap();
        let accountable = raci.iter().filter(|a| a["responsibility"] == "A").count();
        assert_eq!(accountable, 1, "{p}");
        assert!(p["owner_role_id"].is_string() && !p["clauses"].as_array().unwrap().is_empty());
    }
    let (_, roles) = app.get("/api/v1/roles?limit=200", &token).await;
    for r in roles["items"].as_array().unwrap() {
        assert!(!r["member_ids"].as_array().unwrap().is_empty(), "{r}");
        assert!(
            !r["required_competences"].as_array().unwrap().is_empty(),
            "{r}"
        );
    }
    for state in [
        "open",
        "investigating",
        "action_planned",
        "implemented",
        "verified",
        "closed",
        "cancelled",
    ] {
        let path = format!("corrective-actions?state={state}");
        assert!(total(&app, &token, &path).await >= 1, "{state}");
    }
    assert_eq!(
        total(&app, &token, "corrective-actions?overdue=true").await,
        3
    );
    let (_, verified) = app
        .get("/api/v1/corrective-actions?state=verified", &token)
        .await;
    let verified = &verified["items"][0];
    assert!(verified["effectiveness_review"].is_string(), "{verified}");
    assert!(verified["implemented_by"].is_string(), "{verified}");
    for attainment in ["on_track", "at_risk", "off_track", "met"] {
        let path = format!("objectives?state=active&attainment={attainment}");
        assert!(total(&app, &token, &path).await >= 1, "{attainment}");
    }
    for state in ["active", "achieved", "missed", "draft", "cancelled"] {
        let path = format!("objectives?state={state}");
        assert!(total(&app, &token, &path).await >= 1, "{state}");
    }
    let (_, active) = app
        .get("/api/v1/objectives?state=active&limit=1", &token)
        .await;
    let id = active["items"][0]["id"].as_str().unwrap();
    assert_eq!(
        total(&app, &token, &format!("objectives/{id}/measurements")).await,
        12
    );
    for state in ["closed", "reporting", "planned"] {
        assert_eq!(
            total(&app, &token, &format!("audits?state={state}")).await,
            1
        );
    }
    for kind in [
        "major_nonconformity",
        "minor_nonconformity",
        "observation",
        "opportunity_for_improvement",
    ] {
        assert!(
            total(&app, &token, &format!("findings?type={kind}")).await >= 2,
            "{kind}"
        );
    }

    the_rest_of_the_sms_is_there(&app, &token).await;

    // A database with data is refused, and left as it was.
    let again = run(&app, &[]);
    assert!(!again.status.success());
    let stderr = text(&again.stderr);
    assert!(
        stderr.contains("already holds data") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_units(&app, 1).await;

    // --force adds further business units on top.
    let forced = run(&app, &["--force"]);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert!(text(&forced.stdout).contains("BU 2"));
    assert_units(&app, 2).await;
    assert_eq!(total(&app, &token, "processes?q=-BU2").await, 22);
    chain_verifies(&app).await;
});

/// Documents, risks, improvements, reviews, competence and gap assessments of one business
/// unit, as the reports judge them.
async fn the_rest_of_the_sms_is_there(app: &TestApp, token: &str) {
    let (status, info) = app.get("/api/v1/documented-information", token).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    let summary = &info["summary"];
    assert_eq!(summary["total"], 37, "{summary}");
    assert_eq!(summary["covered"], 33, "{summary}");
    assert_eq!(summary["out_of_date"], 2, "{summary}");
    assert_eq!(summary["missing"], 2, "{summary}");
    for state in ["approved", "draft", "obsolete"] {
        assert!(
            total(app, token, &format!("documents?state={state}")).await >= 2,
            "{state}"
        );
    }

    for state in ["identified", "treating", "accepted", "closed"] {
        assert!(
            total(app, token, &format!("risks?state={state}")).await >= 1,
            "{state}"
        );
    }
    let (_, treating) = app
        .get("/api/v1/risks?state=treating&limit=50", token)
        .await;
    let treating = treating["items"].as_array().unwrap();
    assert!(
        treating
            .iter()
            .any(|r| r["corrective_action_id"].is_string())
    );
    assert!(treating.iter().any(|r| r["improvement_id"].is_string()));
    for state in [
        "proposed",
        "approved",
        "implemented",
        "evaluated",
        "rejected",
    ] {
        let path = format!("improvements?state={state}");
        assert!(total(app, token, &path).await >= 1, "{state}");
    }

    for state in ["approved", "planned"] {
        let path = format!("management-reviews?state={state}");
        assert_eq!(total(app, token, &path).await, 1, "{state}");
    }
    let (_, reviews) = app
        .get("/api/v1/management-reviews?state=approved", token)
        .await;
    let review = &reviews["items"][0];
    let inputs = review["inputs"].as_object().unwrap();
    assert_eq!(inputs.len(), 10, "{review}");
    assert!(inputs.values().all(|v| v.is_string()), "{review}");
    let decided = |kind: &str| format!("{kind}?source=management_review&include_total=true");
    for kind in ["corrective-actions", "improvements"] {
        let (_, page) = app.get(&format!("/api/v1/{}", decided(kind)), token).await;
        let linked = page["items"].as_array().unwrap().iter();
        assert!(
            linked
                .filter(|a| a["management_review_id"] == review["id"])
                .count()
                == 1,
            "{kind}"
        );
    }

    let (status, gaps) = app.get("/api/v1/reports/competence-gaps", token).await;
    assert_eq!(status, StatusCode::OK, "{gaps}");
    assert_eq!(gaps["summary"]["missing"], 2, "{gaps}");
    assert_eq!(gaps["summary"]["expired"], 2, "{gaps}");
    assert_eq!(gaps["summary"]["requirements_checked"], 39, "{gaps}");

    let (_, completed) = app.get("/api/v1/assessments?state=completed", token).await;
    let (_, open) = app
        .get("/api/v1/assessments?state=in_progress", token)
        .await;
    let (baseline, follow_up) = (&completed["items"][0]["id"], &open["items"][0]["id"]);
    let path = format!(
        "/api/v1/assessments/{}/summary?compare_to={}",
        follow_up.as_str().unwrap(),
        baseline.as_str().unwrap()
    );
    let (status, summary) = app.get(&path, token).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    let movements: Vec<&str> = summary["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["movement"].as_str())
        .collect();
    for movement in ["improved", "regressed", "unchanged", "not_compared"] {
        assert!(movements.contains(&movement), "{movement}: {summary}");
    }

    let (status, readiness) = app.get("/api/v1/reports/readiness", token).await;
    assert_eq!(status, StatusCode::OK, "{readiness}");
    let score = readiness["score"].as_f64().unwrap();
    assert!(score > 50.0 && score < 100.0, "{readiness}");
    assert!(
        !readiness["blockers"].as_array().unwrap().is_empty(),
        "{readiness}"
    );
}
