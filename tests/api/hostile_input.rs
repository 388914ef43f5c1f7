//! Hostile input: NUL and control characters, repeated keys, and `Idempotency-Key` retries
//! after crashes and failures.

use chrono::Duration;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{TestApp, assert_problem, assert_problem_at};

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn assert_field(status: StatusCode, body: &Value, field: &str) {
    assert_problem(
        status,
        body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(body["errors"][0]["field"], field, "{body}");
}

both!(
    nul_characters_are_refused_everywhere,
    |app: TestApp| async move {
        let (status, body, _) = app
            .try_login("a\u{0}@example.com", "whatever-password")
            .await;
        assert_field(status, &body, "email");

        let (status, body) = app.get("/api/v1/processes?q=%00", &app.admin_token).await;
        assert_field(status, &body, "q");
        let (status, body, _) = app
            .anon(Method::GET, "/api/v1/clauses?q=a%00b", None, &[])
            .await;
        assert_field(status, &body, "q");

        for path in [
            "/api/v1/processes/%00",
            "/api/v1/users/ab%00cd",
            "/api/v1/roles/%00/x",
        ] {
            let (status, body) = app.get(path, &app.admin_token).await;
            assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
        }
        let (status, body, _) = app
            .anon(Method::GET, "/api/v1/processes/%00", None, &[])
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

        let (status, body) = app
            .post(
                "/api/v1/roles",
                &app.admin_token,
                json!({"name": "Ops", "responsibilities": ["a", "b\u{0}"]}),
            )
            .await;
        assert_field(status, &body, "responsibilities[1]");
        let id = app.role("Ops").await;
        let (status, body) = app
            .patch(
                &format!("/api/v1/roles/{id}"),
                &app.admin_token,
                json!({"description": "\u{0}"}),
            )
            .await;
        assert_field(status, &body, "description");
        assert_eq!(app.count_rows("sms_roles").await, 1);
    }
);

both!(
    control_characters_only_as_line_breaks_in_free_text,
    |app: TestApp| async move {
        let (status, body) = app
            .post(
                "/api/v1/roles",
                &app.admin_token,
                json!({"name": "Bell\u{7}"}),
            )
            .await;
        assert_field(status, &body, "name");
        let (status, body) = app
            .post(
                "/api/v1/roles",
                &app.admin_token,
                json!({"name": "Tab\tbed"}),
            )
            .await;
        assert_field(status, &body, "name");
        let (status, body) = app
            .post(
                "/api/v1/roles",
                &app.admin_token,
                json!({"name": "Escaped", "description": "an \u{1b}[31m escape"}),
            )
            .await;
        assert_field(status, &body, "description");

        let description = "line 1\r\n\tline 2";
        let (status, body) = app
            .post(
                "/api/v1/roles",
                &app.admin_token,
                json!({"name": "Multi-line", "description": description}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["description"], description);
    }
);

both!(
    patch_refuses_repeated_keys_like_post,
    |app: TestApp| async move {
        let repeated = br#"{"name": "First", "name": "Second"}"#.to_vec();
        let (post_status, post_body, _) = app
            .send_raw(
                Method::POST,
                "/api/v1/roles",
                Some(&app.admin_token),
                Some("application/json"),
                repeated.clone(),
                &[],
            )
            .await;
        assert_field(post_status, &post_body, "name");

        let id = app.role("Original").await;
        let (status, body, _) = app
            .send_raw(
                Method::PATCH,
                &format!("/api/v1/roles/{id}"),
                Some(&app.admin_token),
                Some("application/json"),
                repeated,
                &[],
            )
            .await;
        assert_eq!((status, &body["code"]), (post_status, &post_body["code"]));
        assert_field(status, &body, "name");
        let (_, role) = app
            .get(&format!("/api/v1/roles/{id}"), &app.admin_token)
            .await;
        assert_eq!(role["name"], "Original");
    }
);

both!(
    idempotency_reads_the_body_as_json,
    |app: TestApp| async move {
        let key = [("Idempotency-Key", "reordered-1")];
        let send = |body: &'static str| {
            app.send_raw(
                Method::POST,
                "/api/v1/roles",
                Some(&app.admin_token),
                Some("application/json"),
                body.as_bytes().to_vec(),
                &key,
            )
        };
        let (status, first, _) = send(r#"{"name":"Ops","description":"On call"}"#).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        let (status, again, headers) =
            send("{\n  \"description\": \"On call\",\n  \"name\": \"Ops\"\n}").await;
        assert_eq!(status, StatusCode::CREATED, "{again}");
        assert_eq!(again, first);
        assert_eq!(header(&headers, "idempotent-replayed"), Some("true"));
        assert_eq!(app.count_rows("sms_roles").await, 1);
    }
);

both!(
    a_dead_reservation_is_taken_over_after_its_lease,
    |app: TestApp| async move {
        let admin_id = app.me(&app.admin_token).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let body = json!({"name": "After crash"});
        let key = "crashed-1";
        // What a request leaves behind when its server dies between reserving and answering.
        let db = sea_orm::Database::connect(&app.db_url).await.unwrap();
        let fingerprint = itsms::service::idempotency::fingerprint(
            "POST",
            "/api/v1/roles",
            &serde_json::to_vec(&body).unwrap(),
        );
        let lease = Duration::seconds(app.settings.limits.idempotency_lease_secs as i64);
        let reserved = itsms::service::idempotency::reserve(
            &db,
            &admin_id,
            key,
            &fingerprint,
            app.clock.now(),
            lease,
        )
        .await
        .unwrap();
        assert!(matches!(
            reserved,
            itsms::service::idempotency::Reservation::New
        ));
        db.close().await.ok();

        let headers = [("Idempotency-Key", key)];
        let retry = || {
            app.call_full(
                Method::POST,
                "/api/v1/roles",
                &app.admin_token,
                Some(body.clone()),
                &headers,
            )
        };
        let (status, problem, headers) = retry().await;
        assert_problem_at(
            status,
            &problem,
            &headers,
            StatusCode::CONFLICT,
            "idempotency_in_progress",
            "/api/v1/roles",
        );
        app.clock.advance(lease - Duration::seconds(1));
        let (status, problem, _) = retry().await;
        assert_eq!(status, StatusCode::CONFLICT, "{problem}");
        assert_eq!(app.count_rows("sms_roles").await, 0);

        app.clock.advance(Duration::seconds(2));
        let (status, created, headers) = retry().await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert!(header(&headers, "idempotent-replayed").is_none());
        let (status, again, headers) = retry().await;
        assert_eq!((status, &again), (StatusCode::CREATED, &created));
        assert_eq!(header(&headers, "idempotent-replayed"), Some("true"));
        assert_eq!(app.count_rows("sms_roles").await, 1);
    }
);

both!(
    a_replayed_error_is_the_document_first_sent,
    |app: TestApp| async move {
        app.role("Taken").await;
        for (body, expected, code) in [
            (
                json!({"name": " "}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            ),
            (json!({"name": "Taken"}), StatusCode::CONFLICT, "conflict"),
        ] {
            let key = [("Idempotency-Key", code)];
            let send = || {
                app.call_full(
                    Method::POST,
                    "/api/v1/roles",
                    &app.admin_token,
                    Some(body.clone()),
                    &key,
                )
            };
            let (status, first, first_headers) = send().await;
            assert_problem_at(
                status,
                &first,
                &first_headers,
                expected,
                code,
                "/api/v1/roles",
            );
            let (status, again, headers) = send().await;
            assert_problem_at(status, &again, &headers, expected, code, "/api/v1/roles");
            assert_eq!(again, first);
            assert_eq!(header(&headers, "idempotent-replayed"), Some("true"));
        }
        assert_eq!(app.count_rows("sms_roles").await, 1);
    }
);

both!(
    a_committed_write_is_replayed_when_its_response_was_not_stored,
    |app: TestApp| async move {
        let sqlite = app.db_url.starts_with("sqlite");
        if sqlite {
            app.raw_sql(
                "CREATE TRIGGER refuse_completion BEFORE UPDATE ON idempotency_keys \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
            )
            .await;
        } else {
            app.raw_sql(
                "CREATE FUNCTION refuse_completion() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'refused'; END $$; \
             CREATE TRIGGER refuse_completion BEFORE UPDATE ON idempotency_keys \
             FOR EACH ROW EXECUTE FUNCTION refuse_completion()",
            )
            .await;
        }
        let key = [("Idempotency-Key", "unstored-1")];
        let send = || {
            app.call_full(
                Method::POST,
                "/api/v1/roles",
                &app.admin_token,
                Some(json!({"name": "Committed"})),
                &key,
            )
        };
        let (status, created, first_headers) = send().await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(app.count_rows("sms_roles").await, 1);

        app.raw_sql(if sqlite {
            "DROP TRIGGER refuse_completion"
        } else {
            "DROP TRIGGER refuse_completion ON idempotency_keys"
        })
        .await;
        for _ in 0..2 {
            let (status, again, headers) = send().await;
            assert_eq!((status, &again), (StatusCode::CREATED, &created));
            assert_eq!(header(&headers, "idempotent-replayed"), Some("true"));
            assert_eq!(
                header(&headers, "location"),
                header(&first_headers, "location")
            );
            assert_eq!(header(&headers, "etag"), header(&first_headers, "etag"));
        }
        assert_eq!(app.count_rows("sms_roles").await, 1);
        let stored = app
            .query_i64("SELECT COUNT(*) AS n FROM idempotency_keys WHERE status = 201")
            .await;
        assert_eq!(stored, 1);
    }
);

both!(
    an_oversized_request_head_is_a_problem_document,
    |app: TestApp| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // A 1 MB URL: more than the HTTP parser buffers, so it answers before the application.
        let address = app.base.trim_start_matches("http://").to_string();
        let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
        let head = format!(
            "GET /api/v1/processes?q={} HTTP/1.1\r\nhost: {address}\r\n\r\n",
            "a".repeat(1_000_000)
        );
        let (mut reader, mut writer) = socket.split();
        let (_, answer) = tokio::join!(
            // The server stops reading once it has answered, so the tail may not be sent.
            async { writer.write_all(head.as_bytes()).await.ok() },
            async {
                let mut answer = Vec::new();
                reader.read_to_end(&mut answer).await.ok();
                String::from_utf8_lossy(&answer).into_owned()
            }
        );
        assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
        assert!(
            answer.contains("content-type: application/problem+json"),
            "{answer}"
        );
        let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
        let problem: Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["code"], "request_header_too_large", "{problem}");
        assert_eq!(problem["status"], 431);
        // The service goes on answering.
        let (status, _) = app.get("/api/v1/processes", &app.admin_token).await;
        assert_eq!(status, StatusCode::OK);
    }
);
