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
    ("corrective_actions", 12),
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
    assert!(stderr.contains("[7/7] audit closure"), "{stderr}");
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
