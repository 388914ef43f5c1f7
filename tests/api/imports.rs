//! Bulk imports: CSV (the export's columns) and JSON arrays for every collection, natural
//! keys, states reached through the workflow, dry runs, all or nothing with every bad row
//! named, access, the size limit, and an export imported into a second database.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Backend, TestApp, assert_problem, fields, read};

async fn import(
    app: &TestApp,
    path: &str,
    token: &str,
    content_type: &str,
    body: impl Into<Vec<u8>>,
) -> (StatusCode, Value) {
    let (status, body, _) = app
        .send_raw(
            Method::POST,
            path,
            Some(token),
            Some(content_type),
            body.into(),
            &[],
        )
        .await;
    (status, body)
}

async fn csv(app: &TestApp, resource: &str, text: &str) -> (StatusCode, Value) {
    let path = format!("/api/v1/imports/{resource}");
    import(app, &path, &app.admin_token, "text/csv", text).await
}

async fn json_rows(app: &TestApp, resource: &str, rows: Value) -> (StatusCode, Value) {
    let path = format!("/api/v1/imports/{resource}");
    let body = serde_json::to_vec(&rows).unwrap();
    import(app, &path, &app.admin_token, "application/json", body).await
}

async fn list(app: &TestApp, collection: &str) -> Vec<Value> {
    let (status, body) = app
        .get(
            &format!(
                "/api/v1/{collection}{sep}limit=200",
                sep = if collection.contains('?') { '&' } else { '?' }
            ),
            &app.admin_token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

async fn export(app: &TestApp, collection: &str) -> String {
    let res = app
        .request(
            Method::GET,
            &format!("/api/v1/exports/{collection}"),
            Some(&app.admin_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

async fn audit_rows(app: &TestApp, entity_type: &str) -> i64 {
    app.query_i64(&format!(
        "SELECT COUNT(*) AS n FROM audit_trail WHERE entity_type = '{entity_type}' AND action = 'create'"
    ))
    .await
}

both!(
    every_collection_from_csv_and_json,
    |app: TestApp| async move {
        let alice = app.person("alice@example.com", &["contributor"]).await;
        let bob = app.person("bob@example.com", &["viewer"]).await;

        // SMS roles: members by email or id; a formula-like name read back from its `'`.
        let (status, body) = csv(
            &app,
            "roles",
            &format!(
                "name,description,responsibilities,required_competences,member_ids\r\n\
                 Service owner,Owns it,\"[\"\"Owns the catalogue\"\"]\",\"[\"\"ITIL 4\"\"]\",\"[\"\"ALICE@example.com\"\", \"\"{bob}\"\"]\"\r\n\
                 '-Change manager,,[],[],[]\r\n"
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["count"], 2);
        assert_eq!(body["dry_run"], false);
        let roles = list(&app, "roles?sort=name").await;
        assert_eq!(roles[0]["name"], "-Change manager");
        assert_eq!(roles[1]["member_ids"], json!([alice, bob]));
        assert_eq!(roles[1]["required_competences"], json!(["ITIL 4"]));
        let owner = roles[1]["id"].as_str().unwrap().to_string();

        // Processes as JSON: the owner by name, an active one with its RACI; one kept id.
        let kept = "01890a5d-ac96-774b-bcce-b302099a8057";
        let (status, body) = json_rows(
            &app,
            "processes",
            json!([
                {"code": "INC", "name": "Incident management", "clauses": ["8.6.1"],
                 "owner_role_id": "service owner", "state": "active",
                 "raci": [{"role_id": "Service owner", "responsibility": "A"},
                          {"role_id": "-Change manager", "responsibility": "R"}]},
                {"id": kept, "code": "CHG", "name": "Change management"}
            ]),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["ids"][1], kept);
        let inc = body["ids"][0].as_str().unwrap().to_string();
        let (_, process) = app
            .get(&format!("/api/v1/processes/{inc}"), &app.admin_token)
            .await;
        assert_eq!(process["state"], "active");
        assert_eq!(process["owner_role_id"], owner);
        assert_eq!(process["raci"][0]["role_id"], owner);
        assert_eq!(process["version"], 1);
        let (status, _) = app
            .get(&format!("/api/v1/processes/{kept}"), &app.admin_token)
            .await;
        assert_eq!(status, StatusCode::OK);

        // Processes as CSV too, with a read-only column that is ignored.
        let (status, body) = csv(
            &app,
            "processes",
            "code,name,clauses,review_due,state,version,allowed_actions\r\n\
             PRB,Problem management,\"[\"\"8.6.3\"\"]\",2027-03-01,,7,\"[\"\"approve\"\"]\"\r\n",
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let prb = list(&app, "processes?q=problem").await;
        assert_eq!(
            (&prb[0]["state"], &prb[0]["review_due"], &prb[0]["version"]),
            (&json!("draft"), &json!("2027-03-01"), &json!(1))
        );

        // Documents: an approved one, approved by the importer now.
        let (status, body) = csv(
            &app,
            "documents",
            "title,kind,clauses,owner_role_id,version_label,location,review_due,state\r\n\
             SMS policy,policy,\"[\"\"5.2\"\"]\",Service owner,2.1,https://dms.example.com/p.pdf,2027-01-01,approved\r\n\
             SMS plan,plan,[],,,,,\r\n",
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let documents = list(&app, "documents?sort=title").await;
        assert_eq!(documents[1]["title"], "SMS policy");
        assert_eq!(documents[1]["state"], "approved");
        assert_eq!(documents[1]["version_label"], "2.1");
        assert!(documents[1]["approved_by"].is_string());
        assert_eq!(documents[0]["state"], "draft");

        // Risks as JSON: the process by code, an accepted risk with its rationale.
        let (status, body) = json_rows(
            &app,
            "risks",
            json!([
                {"title": "Changes bypass approval", "kind": "risk", "likelihood": 3, "impact": 4,
                 "process_id": "CHG", "owner_role_id": owner, "state": "accepted",
                 "acceptance_rationale": "Within appetite"},
                {"title": "Automate triage", "kind": "opportunity", "likelihood": 2, "impact": 2,
                 "treatment": "A pilot", "owner_role_id": "Service owner", "state": "treating"}
            ]),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let risks = list(&app, "risks?sort=title").await;
        assert_eq!(risks[1]["process_id"], kept);
        assert_eq!(risks[1]["state"], "accepted");
        assert_eq!(risks[1]["acceptance_rationale"], "Within appetite");
        assert_eq!(risks[1]["score"], 12);
        assert_eq!(risks[0]["state"], "treating");

        // Training records: the user by email.
        let (status, body) = csv(
            &app,
            "training-records",
            "user_id,competence,completed_on,expires_on,evidence\r\n\
             alice@example.com,ITIL 4,2026-01-10,,\r\n\
             bob@example.com,ITIL 4,2026-01-10,2026-02-01,'=cert 7\r\n",
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let records = list(&app, "training-records?sort=created_at").await;
        assert_eq!(records.len(), 2);
        assert!(records.iter().any(|r| r["user_id"] == alice));
        assert!(records.iter().any(|r| r["evidence"] == "=cert 7"));

        // One audit row per record created.
        for (kind, count) in [
            ("sms_role", 2),
            ("process", 3),
            ("document", 2),
            ("risk", 2),
            ("training_record", 2),
        ] {
            assert_eq!(audit_rows(&app, kind).await, count, "{kind}");
        }
        let (status, verified) = app
            .get("/api/v1/audit-trail/verify", &app.admin_token)
            .await;
        assert_eq!(status, StatusCode::OK, "{verified}");
        assert_eq!(verified["valid"], true, "{verified}");
    }
);

both!(
    dry_runs_write_nothing_and_refusals_name_every_bad_row,
    |app: TestApp| async move {
        app.role("Service owner").await;
        app.process("INC", None).await;
        let processes = app.count_rows("processes").await;
        let audit = app.count_rows("audit_trail").await;

        let good = "code,name,owner_role_id\r\nCHG,Changes,Service owner\r\nPRB,Problems,\r\n";
        let (status, body) = import(
            &app,
            "/api/v1/imports/processes?dry_run=true",
            &app.admin_token,
            "text/csv; charset=utf-8",
            good,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["count"], 2);
        assert_eq!(body["dry_run"], true);
        assert_eq!(body["ids"], json!([]));
        assert_eq!(app.count_rows("processes").await, processes);
        assert_eq!(app.count_rows("audit_trail").await, audit);

        // Five good rows and six bad ones: nothing is written, every bad row is named.
        let text = "code,name,clauses,owner_role_id,state,raci\r\n\
             A1,Good,[],,,\r\n\
             INC,Taken already,[],,,\r\n\
             B1,Good,[],,,\r\n\
             B1,Twice in the file,[],,,\r\n\
             C1,Unknown owner,[],Nobody,,\r\n\
             D1,Not approvable,[],Service owner,active,\r\n\
             E1,Bad cell,8.6.1,,,\r\n\
             F1,Short row\r\n\
             lower,Bad code,[],,retired,\r\n\
             G1,Good,[],,,\r\n\
             H1,Good,\"[\"\"8.6.1\"\"]\",Service owner,active,\"[{\"\"role_id\"\": \"\"Service owner\"\", \"\"responsibility\"\": \"\"A\"\"}]\"\r\n";
        let (status, problem) = csv(&app, "processes", text).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        let named = fields(&problem);
        for field in [
            "rows[2].code",
            "rows[4].code",
            "rows[5].owner_role_id",
            "rows[6].state",
            "rows[7].clauses",
            "rows[8]",
            "rows[9].code",
        ] {
            assert!(named.contains(&field.to_string()), "{field}: {problem}");
        }
        for good in ["rows[1]", "rows[3]", "rows[10]", "rows[11]"] {
            assert!(
                !named.iter().any(|f| f.starts_with(&format!("{good}."))),
                "{good}: {problem}"
            );
        }
        let message = |field: &str| {
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["field"] == field)
                .unwrap()["message"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert!(message("rows[4].code").contains("row 3"), "{problem}");
        assert!(message("rows[6].state").contains("`clauses`"), "{problem}");
        assert!(message("rows[6].state").contains("`raci`"), "{problem}");
        assert_eq!(app.count_rows("processes").await, processes);
        assert_eq!(app.count_rows("audit_trail").await, audit);

        // JSON rows are numbered from 1 too; a dry run refuses as the import would.
        let (status, problem) = import(
            &app,
            "/api/v1/imports/risks?dry_run=true",
            &app.admin_token,
            "application/json",
            serde_json::to_vec(&json!([
                {"title": "Fine", "kind": "risk", "likelihood": 1, "impact": 1},
                {"title": "Bad", "kind": "risk", "likelihood": 9, "impact": 1, "process_id": "NOPE"},
                {"title": "Rationale", "kind": "risk", "likelihood": 1, "impact": 1,
                 "acceptance_rationale": "why", "state": "identified"},
                {"title": "No rationale", "kind": "risk", "likelihood": 1, "impact": 1, "state": "accepted"},
                {"title": "Unknown", "kind": "risk", "likelihood": 1, "impact": 1, "colour": "red"},
                "not an object"
            ]))
            .unwrap(),
        )
        .await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(
            fields(&problem),
            [
                "rows[2].likelihood",
                "rows[3].acceptance_rationale",
                "rows[4].state",
                "rows[5].colour",
                "rows[6]"
            ],
            "{problem}"
        );

        // A header with an unknown column, and an empty file.
        let (status, problem) = csv(&app, "roles", "name,colour\r\nA,red\r\n").await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(fields(&problem), ["header[2]"]);
        let (status, problem) = csv(&app, "roles", "name\r\n").await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(fields(&problem), ["rows"]);
        // Names are unique without regard to case, in the file and in the database.
        let (status, problem) = csv(&app, "roles", "name\r\nservice OWNER\r\nX\r\nx\r\n").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(fields(&problem), ["rows[1].name", "rows[3].name"]);
        let (status, problem) = csv(
            &app,
            "training-records",
            "user_id,competence,completed_on\r\nnobody@example.com,ITIL,2026-01-01\r\n",
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(fields(&problem), ["rows[1].user_id"]);
        assert_eq!(app.count_rows("audit_trail").await, audit);
    }
);

both!(
    access_media_types_and_the_size_limit,
    |app: TestApp| async move {
        let body = "name\r\nService owner\r\n";
        for role in ["viewer", "contributor", "auditor"] {
            let token = app.token_for(role).await;
            let (status, problem) =
                import(&app, "/api/v1/imports/roles", &token, "text/csv", body).await;
            assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
        }
        let manager = app.token_for("manager").await;
        let (status, created) =
            import(&app, "/api/v1/imports/roles", &manager, "text/csv", body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let (status, problem) =
            import(&app, "/api/v1/imports/roles", &manager, "text/plain", body).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        );
        let (status, problem) =
            import(&app, "/api/v1/imports/audits", &manager, "text/csv", body).await;
        assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
        let (status, problem) = import(
            &app,
            "/api/v1/imports/roles?dryrun=true",
            &manager,
            "text/csv",
            body,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

        // An import may be far larger than other bodies (4 KiB here), with an
        // Idempotency-Key too: a retry answers the first response.
        let mut big = String::from("name,description\r\n");
        for i in 0..400 {
            big.push_str(&format!("Role {i},A role kept in the register\r\n"));
        }
        assert!(big.len() > app.settings.limits.max_body_bytes);
        let send = || {
            app.send_raw(
                Method::POST,
                "/api/v1/imports/roles",
                Some(&manager),
                Some("text/csv"),
                big.clone().into_bytes(),
                &[("Idempotency-Key", "roles-1")],
            )
        };
        let (status, first, _) = send().await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        assert_eq!(first["count"], 400);
        let (status, again, headers) = send().await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(again, first);
        assert!(headers.contains_key("idempotent-replayed"));
        assert_eq!(app.count_rows("sms_roles").await, 401);

        // Past `limits.max_import_bytes`: 413, as a problem, with or without a key.
        let small = TestApp::spawn_with(
            if app.pg_database.is_some() {
                Backend::Postgres
            } else {
                Backend::Sqlite
            },
            &[("ITSMS__LIMITS__MAX_IMPORT_BYTES", "2048")],
        )
        .await
        .unwrap();
        for key in [None, Some("big-1")] {
            let mut request = small
                .request(
                    Method::POST,
                    "/api/v1/imports/roles",
                    Some(&small.admin_token),
                )
                .header("Content-Type", "text/csv")
                .body(big.clone());
            if let Some(key) = key {
                request = request.header("Idempotency-Key", key);
            }
            let (status, problem, _) = read(request.send().await.unwrap()).await;
            assert_problem(
                status,
                &problem,
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            );
        }
        assert_eq!(small.count_rows("sms_roles").await, 0);
    }
);

both!(a_thousand_rows_in_one_request, |app: TestApp| async move {
    app.role("Service owner").await;
    let mut text = String::from("code,name,clauses,owner_role_id,state,raci\r\n");
    for i in 0..1000 {
        text.push_str(&format!(
            "P{i:04},Process {i},\"[\"\"8.{}\"\"]\",Service owner,active,\"[{{\"\"role_id\"\": \"\"Service owner\"\", \"\"responsibility\"\": \"\"A\"\"}}]\"\r\n",
            1 + i % 5
        ));
    }
    let (status, body) = csv(&app, "processes", &text).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["count"], 1000);
    assert_eq!(body["ids"].as_array().unwrap().len(), 1000);
    assert_eq!(app.count_rows("processes").await, 1000);
    assert_eq!(app.count_rows("process_raci").await, 1000);
    assert_eq!(audit_rows(&app, "process").await, 1000);
});

/// The fields two installations must agree on: everything but timestamps, versions and
/// the approval's actor and time (the importer approves).
fn comparable(mut item: Value) -> Value {
    let fields = item.as_object_mut().unwrap();
    for field in [
        "created_at",
        "updated_at",
        "version",
        "approved_by",
        "approved_at",
    ] {
        fields.remove(field);
    }
    item
}

both!(
    an_export_imported_into_another_database_gives_the_same_records,
    |app: TestApp| async move {
        // The first installation, with a record of every kind in several states.
        let alice = app.person("alice@example.com", &["manager"]).await;
        let (status, owner) = app
            .post(
                "/api/v1/roles",
                &app.admin_token,
                json!({"name": "Service owner", "description": "Owns \"the\" service, end to end",
                       "responsibilities": ["Plan; do", "=check"], "required_competences": ["ITIL 4"],
                       "member_ids": [alice]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{owner}");
        let owner = owner["id"].as_str().unwrap().to_string();
        let inc = app.process("INC", Some(&owner)).await;
        let inc = inc["id"].as_str().unwrap().to_string();
        let (status, _, _) = app
            .if_match(
                Method::PUT,
                &format!("/api/v1/processes/{inc}/raci"),
                Some(json!({"assignments": [{"role_id": owner, "activity": "triage", "responsibility": "A"}]})),
                1,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, body, _) = app
            .if_match(
                Method::POST,
                &format!("/api/v1/processes/{inc}/transitions"),
                Some(json!({"action": "approve"})),
                2,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        app.process("CHG", None).await;
        let (status, document) = app
            .post(
                "/api/v1/documents",
                &app.admin_token,
                json!({"title": "SMS policy", "kind": "policy", "clauses": ["5.2"], "owner_role_id": owner,
                       "version_label": "1.0", "location": "https://dms.example.com/p.pdf", "review_due": "2027-01-01"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{document}");
        let (status, body, _) = app
            .if_match(
                Method::POST,
                &format!(
                    "/api/v1/documents/{}/transitions",
                    document["id"].as_str().unwrap()
                ),
                Some(json!({"action": "approve"})),
                1,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _) = app
            .post(
                "/api/v1/documents",
                &app.admin_token,
                json!({"title": "Draft plan", "kind": "plan"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, risk) = app
            .post(
                "/api/v1/risks",
                &app.admin_token,
                json!({"title": "Outage", "kind": "risk", "likelihood": 2, "impact": 5, "process_id": inc,
                       "description": "-1 day of service"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{risk}");
        let (status, body, _) = app
            .if_match(
                Method::POST,
                &format!("/api/v1/risks/{}/transitions", risk["id"].as_str().unwrap()),
                Some(json!({"action": "accept", "acceptance_rationale": "Within appetite"})),
                1,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = app
            .post(
                "/api/v1/training-records",
                &app.admin_token,
                json!({"user_id": alice, "competence": "ITIL 4", "completed_on": "2026-01-05",
                       "expires_on": "2029-01-05", "evidence": "Certificate 4711"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");

        // A second installation with the same people; users are not imported, so their
        // ids are written as the emails that name them there.
        let other = TestApp::spawn(if app.pg_database.is_some() {
            Backend::Postgres
        } else {
            Backend::Sqlite
        })
        .await
        .unwrap();
        let alice_there = other.person("alice@example.com", &["manager"]).await;
        let collections = [
            "roles",
            "processes",
            "documents",
            "risks",
            "training-records",
        ];
        for collection in collections {
            let text = export(&app, collection)
                .await
                .replace(&alice, "alice@example.com");
            let (status, body) = csv(&other, collection, &text).await;
            assert_eq!(status, StatusCode::CREATED, "{collection}: {body}");
        }
        for collection in collections {
            let by_id = |a: &Value, b: &Value| a["id"].as_str().cmp(&b["id"].as_str());
            let mut here: Vec<Value> = list(&app, collection).await;
            let mut there: Vec<Value> = list(&other, collection).await;
            here.sort_by(by_id);
            there.sort_by(by_id);
            assert_eq!(here.len(), there.len(), "{collection}");
            for item in &mut here {
                let text = item.to_string().replace(&alice, &alice_there);
                *item = serde_json::from_str(&text).unwrap();
            }
            for (a, b) in here.into_iter().zip(there) {
                assert_eq!(comparable(a), comparable(b), "{collection}");
            }
        }
        let (_, documents) = other
            .get("/api/v1/documents?state=approved", &other.admin_token)
            .await;
        assert!(documents["items"][0]["approved_at"].is_string());
    }
);
