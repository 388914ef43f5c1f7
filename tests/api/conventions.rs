use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{TestApp, assert_problem_at};

const JSON: Option<&str> = Some("application/json");
const MISSING: &str = "01890000-0000-7000-8000-000000000000";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

both!(malformed_json_is_400, |app: TestApp| async move {
    for body in [
        &b"{\"name\": "[..],
        b"{\"name\": \"A\"} trailing",
        b"",
        b"name=A",
    ] {
        let (status, problem, headers) = app
            .send_raw(
                Method::POST,
                "/api/v1/roles",
                Some(&app.admin_token),
                JSON,
                body.to_vec(),
                &[],
            )
            .await;
        assert_problem_at(
            status,
            &problem,
            &headers,
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "/api/v1/roles",
        );
    }
    assert_eq!(app.count_rows("sms_roles").await, 0);
});

both!(
    json_bodies_need_a_json_media_type,
    |app: TestApp| async move {
        let body = br#"{"name": "Service owner"}"#.to_vec();
        for content_type in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            None,
        ] {
            let (status, problem, headers) = app
                .send_raw(
                    Method::POST,
                    "/api/v1/roles",
                    Some(&app.admin_token),
                    content_type,
                    body.clone(),
                    &[],
                )
                .await;
            assert_problem_at(
                status,
                &problem,
                &headers,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "/api/v1/roles",
            );
        }
        assert_eq!(app.count_rows("sms_roles").await, 0);

        let (status, role, _) = app
            .send_raw(
                Method::POST,
                "/api/v1/roles",
                Some(&app.admin_token),
                Some("application/json; charset=utf-8"),
                body,
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{role}");
        // JSON merge patch has a media type of its own (RFC 7396).
        let path = format!("/api/v1/roles/{}", role["id"].as_str().unwrap());
        let (status, patched, _) = app
            .send_raw(
                Method::PATCH,
                &path,
                Some(&app.admin_token),
                Some("application/merge-patch+json"),
                br#"{"description": "Owns it"}"#.to_vec(),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(patched["description"], "Owns it");
    }
);

both!(bodies_over_the_limit_are_413, |app: TestApp| async move {
    assert_eq!(app.settings.limits.max_body_bytes, 4096);
    let big = serde_json::to_vec(&json!({"name": "Big", "description": "x".repeat(5000)})).unwrap();
    for headers in [&[][..], &[("Idempotency-Key", "big-1")][..]] {
        let (status, problem, response_headers) = app
            .send_raw(
                Method::POST,
                "/api/v1/roles",
                Some(&app.admin_token),
                JSON,
                big.clone(),
                headers,
            )
            .await;
        assert_problem_at(
            status,
            &problem,
            &response_headers,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "/api/v1/roles",
        );
    }
    let (status, problem, headers) = app
        .send_raw(
            Method::POST,
            "/api/v1/auth/login",
            None,
            JSON,
            big.clone(),
            &[],
        )
        .await;
    assert_problem_at(
        status,
        &problem,
        &headers,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "/api/v1/auth/login",
    );
    assert_eq!(app.count_rows("sms_roles").await, 0);

    // Just under the limit is fine.
    let fits =
        serde_json::to_vec(&json!({"name": "Fits", "description": "x".repeat(1900)})).unwrap();
    assert!(fits.len() < 4096);
    let (status, body, _) = app
        .send_raw(
            Method::POST,
            "/api/v1/roles",
            Some(&app.admin_token),
            JSON,
            fits,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
});

both!(unknown_routes_are_404_problems, |app: TestApp| async move {
    for path in [
        "/api/v1/nothing-here",
        "/nope",
        "/api/v2/roles",
        "/api/v1/roles/x/y/z",
    ] {
        for token in [Some(app.admin_token.as_str()), None] {
            let mut r = app.request(Method::GET, path, token);
            r = r.header("Accept", "application/json");
            let (status, problem, headers) = crate::helpers::read(r.send().await.unwrap()).await;
            assert_problem_at(
                status,
                &problem,
                &headers,
                StatusCode::NOT_FOUND,
                "not_found",
                path,
            );
        }
    }
});

both!(
    wrong_methods_are_405_with_allow,
    |app: TestApp| async move {
        let cases = [
            (
                Method::DELETE,
                "/api/v1/roles".to_string(),
                ["GET", "POST"].as_slice(),
            ),
            (Method::PUT, "/api/v1/auth/me".to_string(), &["GET"]),
            (Method::GET, "/api/v1/auth/login".to_string(), &["POST"]),
            (
                Method::POST,
                format!("/api/v1/roles/{MISSING}"),
                &["GET", "DELETE", "PATCH"],
            ),
            (Method::PATCH, "/health/live".to_string(), &["GET"]),
        ];
        for (method, path, allowed) in cases {
            let (status, problem, headers) = app
                .call_full(method.clone(), &path, &app.admin_token, None, &[])
                .await;
            assert_problem_at(
                status,
                &problem,
                &headers,
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                &path,
            );
            let allow = header(&headers, "allow").expect("405 carries Allow");
            let mut listed: Vec<&str> = allow.split(',').map(str::trim).collect();
            listed.sort();
            let mut expected = allowed.to_vec();
            expected.sort();
            assert_eq!(listed, expected, "{method} {path}");
        }
    }
);

/// One request that must fail with a problem document.
struct ErrorCase<'a> {
    method: Method,
    path: String,
    token: Option<&'a str>,
    body: Option<Value>,
    headers: Vec<(&'a str, &'a str)>,
    status: StatusCode,
    code: &'a str,
}

fn error_case<'a>(
    method: Method,
    path: impl Into<String>,
    token: Option<&'a str>,
    body: Option<Value>,
    status: StatusCode,
    code: &'a str,
) -> ErrorCase<'a> {
    ErrorCase {
        method,
        path: path.into(),
        token,
        body,
        headers: vec![],
        status,
        code,
    }
}

both!(
    every_error_is_a_problem_document,
    |app: TestApp| async move {
        let viewer = app.token_for("viewer").await;
        let role = app.role("Service owner").await;
        let role_path = format!("/api/v1/roles/{role}");
        let admin = Some(app.admin_token.as_str());
        let wrong_login = json!({"email": "a@example.com", "password": "wrong-password"});
        let cases = vec![
            error_case(
                Method::GET,
                "/api/v1/roles",
                None,
                None,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
            ),
            error_case(
                Method::GET,
                "/api/v1/roles",
                Some("bad.token.here"),
                None,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
            ),
            error_case(
                Method::GET,
                "/api/v1/users",
                Some(&viewer),
                None,
                StatusCode::FORBIDDEN,
                "forbidden",
            ),
            error_case(
                Method::GET,
                format!("/api/v1/roles/{MISSING}"),
                admin,
                None,
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            error_case(
                Method::GET,
                "/api/v1/nowhere",
                admin,
                None,
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            error_case(
                Method::DELETE,
                "/api/v1/roles",
                admin,
                None,
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
            ),
            error_case(
                Method::GET,
                "/api/v1/roles?limit=abc",
                admin,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            ),
            error_case(
                Method::GET,
                "/api/v1/roles?limit=0",
                admin,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            ),
            error_case(
                Method::POST,
                "/api/v1/roles",
                admin,
                Some(json!({"name": ""})),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            ),
            error_case(
                Method::POST,
                "/api/v1/roles",
                admin,
                Some(json!({"name": "X", "unknown": 1})),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            ),
            error_case(
                Method::POST,
                "/api/v1/roles",
                admin,
                Some(json!({"name": "SERVICE OWNER"})),
                StatusCode::CONFLICT,
                "conflict",
            ),
            ErrorCase {
                headers: vec![("If-Match", "\"7\"")],
                ..error_case(
                    Method::PATCH,
                    role_path.clone(),
                    admin,
                    Some(json!({"name": "Y"})),
                    StatusCode::PRECONDITION_FAILED,
                    "precondition_failed",
                )
            },
            error_case(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(wrong_login),
                StatusCode::UNAUTHORIZED,
                "unauthorized",
            ),
            ErrorCase {
                headers: vec![("Idempotency-Key", "with space")],
                ..error_case(
                    Method::POST,
                    "/api/v1/roles",
                    admin,
                    Some(json!({"name": "Z"})),
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                )
            },
        ];
        for case in cases {
            let mut r = app.request(case.method.clone(), &case.path, case.token);
            for (k, v) in &case.headers {
                r = r.header(*k, *v);
            }
            if let Some(b) = &case.body {
                r = r.json(b);
            }
            let (status, problem, headers) = crate::helpers::read(r.send().await.unwrap()).await;
            let instance = case.path.split('?').next().unwrap();
            assert_problem_at(status, &problem, &headers, case.status, case.code, instance);
            if case.status == StatusCode::UNPROCESSABLE_ENTITY {
                assert!(
                    problem["errors"][0]["field"].is_string()
                        && problem["errors"][0]["message"].is_string(),
                    "{} {}: {problem}",
                    case.method,
                    case.path
                );
            }
            assert!(
                header(&headers, "x-request-id").is_some_and(|v| !v.is_empty()),
                "{} {}",
                case.method,
                case.path
            );
        }
    }
);

both!(
    request_ids_are_echoed_or_generated,
    |app: TestApp| async move {
        let (_, _, headers) = app
            .call_full(
                Method::GET,
                "/api/v1/roles",
                &app.admin_token,
                None,
                &[("X-Request-Id", "client-chosen-id-42")],
            )
            .await;
        assert_eq!(
            header(&headers, "x-request-id"),
            Some("client-chosen-id-42")
        );

        let (_, _, first) = app.anon(Method::GET, "/health/live", None, &[]).await;
        let (_, _, second) = app.anon(Method::GET, "/health/live", None, &[]).await;
        let first = header(&first, "x-request-id").expect("generated");
        let second = header(&second, "x-request-id").expect("generated");
        assert!(!first.is_empty());
        assert_ne!(first, second, "every request gets its own id");

        // An unusable id (too long, or not printable ASCII) is replaced, not echoed.
        let long = "x".repeat(300);
        for bad in [long.as_str(), "two words"] {
            let (_, _, headers) = app
                .anon(Method::GET, "/health/live", None, &[("X-Request-Id", bad)])
                .await;
            let id = header(&headers, "x-request-id").expect("generated");
            assert!(!id.is_empty() && id != bad, "{id}");
        }

        let (_, _, headers) = app
            .anon(
                Method::GET,
                "/nope",
                None,
                &[("X-Request-Id", "on-errors-too")],
            )
            .await;
        assert_eq!(header(&headers, "x-request-id"), Some("on-errors-too"));
    }
);

both!(idempotent_posts, |app: TestApp| async move {
    let body = json!({"code": "IDEM", "name": "Idempotent process"});
    let key = [("Idempotency-Key", "create-idem-1")];
    let (status, first, first_headers) = app
        .call_full(
            Method::POST,
            "/api/v1/processes",
            &app.admin_token,
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert!(header(&first_headers, "idempotent-replayed").is_none());
    let audit_rows = app.count_rows("audit_trail").await;

    let (status, again, headers) = app
        .call_full(
            Method::POST,
            "/api/v1/processes",
            &app.admin_token,
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again, first);
    assert_eq!(header(&headers, "idempotent-replayed"), Some("true"));
    assert_eq!(
        header(&headers, "location"),
        header(&first_headers, "location")
    );
    assert_eq!(header(&headers, "etag"), header(&first_headers, "etag"));
    assert_eq!(app.count_rows("processes").await, 1);
    assert_eq!(app.count_rows("audit_trail").await, audit_rows);

    let (status, problem, headers) = app
        .call_full(
            Method::POST,
            "/api/v1/processes",
            &app.admin_token,
            Some(json!({"code": "OTHER", "name": "Another process"})),
            &key,
        )
        .await;
    assert_problem_at(
        status,
        &problem,
        &headers,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        "/api/v1/processes",
    );
    // The same key on another path is another request, too.
    let (status, problem) = app
        .call_full(
            Method::POST,
            "/api/v1/roles",
            &app.admin_token,
            Some(body.clone()),
            &key,
        )
        .await
        .into_two();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["code"], "idempotency_key_reused");
    assert_eq!(app.count_rows("processes").await, 1);
    assert_eq!(app.count_rows("sms_roles").await, 0);

    // Keys belong to the caller: another user's key of the same name is independent.
    let manager = app.token_for("manager").await;
    let (status, other) = app
        .call_full(
            Method::POST,
            "/api/v1/processes",
            &manager,
            Some(json!({"code": "MINE", "name": "Manager's process"})),
            &key,
        )
        .await
        .into_two();
    assert_eq!(status, StatusCode::CREATED, "{other}");
    assert_eq!(app.count_rows("processes").await, 2);

    // Without a key, a retry is a new request.
    let (status, _) = app
        .post("/api/v1/processes", &app.admin_token, body.clone())
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
});

both!(health_endpoints, |app: TestApp| async move {
    for path in ["/health/live", "/health/ready"] {
        let (status, body, _) = app.anon(Method::GET, path, None, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body["status"], "ok");
    }
});

both!(metrics_count_requests_by_route, |app: TestApp| async move {
    let process = app.process("INC", None).await;
    let id = process["id"].as_str().unwrap();
    let (status, _) = app.get("/api/v1/processes", &app.admin_token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .get(&format!("/api/v1/processes/{id}"), &app.admin_token)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .get(&format!("/api/v1/processes/{MISSING}"), &app.admin_token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = res.text().await.unwrap();
    assert!(
        text.contains("# TYPE http_requests_total counter"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/v1/processes",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/v1/processes/{id}",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/v1/processes/{id}",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"http_requests_total{method="POST",route="/api/v1/processes",status="201"}"#
        ),
        "{text}"
    );
    assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
    assert!(text.contains(r#"http_request_duration_seconds_bucket{method="GET",route="/api/v1/processes",status="200",le="+Inf"} 1"#));
    assert!(!text.contains(id), "ids do not become labels");
    assert!(!text.contains(MISSING), "ids do not become labels");
});

both!(cors_is_off_by_default, |app: TestApp| async move {
    assert!(app.settings.cors.allowed_origins.is_empty());
    let (status, _, headers) = app
        .call_full(
            Method::GET,
            "/api/v1/roles",
            &app.admin_token,
            None,
            &[("Origin", "https://evil.example")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(header(&headers, "access-control-allow-origin").is_none());

    let res = app
        .request(Method::OPTIONS, "/api/v1/roles", None)
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    let (status, body, headers) = crate::helpers::read(res).await;
    assert!(
        header(&headers, "access-control-allow-origin").is_none(),
        "{status} {headers:?}"
    );
    if status.as_u16() >= 400 {
        assert_eq!(
            header(&headers, "content-type"),
            Some("application/problem+json"),
            "a refused preflight is a problem document too: {status} {body}"
        );
    }

    // A page served from the API's own origin (Swagger UI at /docs) still works.
    let (status, body, headers) = app
        .call_full(
            Method::POST,
            "/api/v1/roles",
            &app.admin_token,
            Some(json!({"name": "From the docs page"})),
            &[("Origin", app.base.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(header(&headers, "access-control-allow-origin").is_none());
});

trait IntoTwo {
    fn into_two(self) -> (StatusCode, Value);
}

impl IntoTwo for (StatusCode, Value, HeaderMap) {
    fn into_two(self) -> (StatusCode, Value) {
        (self.0, self.1)
    }
}
