use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use itsms::startup::Application;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::both;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, TestApp, assert_problem};

const ME: &str = "/api/v1/auth/me";

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn header_of(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

fn sign(alg: Algorithm, secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn assert_token_pair(body: &Value, with_refresh: bool) {
    assert!(
        body["access_token"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert_eq!(body["token_type"], "Bearer", "{body}");
    assert!(body["expires_in"].as_u64().is_some_and(|s| s > 0), "{body}");
    if with_refresh {
        assert!(
            body["refresh_token"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "{body}"
        );
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> u64 {
    headers
        .get("retry-after")
        .expect("429 carries Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After is a number of seconds")
}

both!(login_returns_a_token_pair, |app: TestApp| async move {
    let id = app.person("ann@example.com", &["manager"]).await;
    let (status, body, _) = app.try_login("ann@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_token_pair(&body, true);
    assert_eq!(body["expires_in"], 900);
    let access = body["access_token"].as_str().unwrap();

    assert_eq!(header_of(access)["alg"], "HS256");
    let claims = claims_of(access);
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["roles"], json!(["manager"]));
    assert_eq!(claims["iss"], "itsms");
    assert_eq!(claims["aud"], "itsms-api");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));

    let (_, again, _) = app.try_login("ANN@example.com", PASSWORD).await;
    assert_token_pair(&again, true);
    assert_ne!(again["refresh_token"], body["refresh_token"]);
    assert_ne!(
        claims_of(again["access_token"].as_str().unwrap())["jti"],
        claims["jti"]
    );

    let me = app.me(access).await;
    assert_eq!(me["id"], id.as_str());
});

both!(
    passwords_and_refresh_tokens_are_stored_hashed,
    |app: TestApp| async move {
        app.person("ann@example.com", &["viewer"]).await;
        let (_, pair, _) = app.try_login("ann@example.com", PASSWORD).await;
        let refresh = pair["refresh_token"].as_str().unwrap();
        assert_eq!(
            app.query_i64(
                "SELECT COUNT(*) AS n FROM users WHERE email = 'ann@example.com' AND password_hash LIKE '$argon2id$%'"
            )
            .await,
            1
        );
        assert_eq!(
            app.query_i64(&format!(
                "SELECT COUNT(*) AS n FROM users WHERE password_hash = '{PASSWORD}'"
            ))
            .await,
            0
        );
        assert_eq!(
            app.query_i64(&format!(
                "SELECT COUNT(*) AS n FROM refresh_tokens WHERE token_hash = '{refresh}'"
            ))
            .await,
            0
        );
        let hashed = hex::encode(Sha256::digest(refresh.as_bytes()));
        assert_eq!(
            app.query_i64(&format!(
                "SELECT COUNT(*) AS n FROM refresh_tokens WHERE token_hash = '{hashed}'"
            ))
            .await,
            1
        );
    }
);

both!(failed_logins_all_look_the_same, |app: TestApp| async move {
    app.person("ann@example.com", &["viewer"]).await;
    let (status, wrong_password, wrong_headers) =
        app.try_login("ann@example.com", "not-the-password").await;
    assert_problem(
        status,
        &wrong_password,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let (status, unknown, unknown_headers) = app.try_login("nobody@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        unknown, wrong_password,
        "an unknown email answers like a wrong password"
    );
    assert_eq!(
        unknown_headers.get("www-authenticate"),
        wrong_headers.get("www-authenticate")
    );

    // A service account has no password; even with a password hash copied into its row,
    // it may not log in with a password.
    app.service_account("bot@example.com", &["viewer"]).await;
    app.raw_sql(
            "UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE email = 'ann@example.com') WHERE email = 'bot@example.com'",
        )
        .await;
    let (status, service, _) = app.try_login("bot@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{service}");
    assert_eq!(service, wrong_password);
    assert_eq!(
        app.try_login("ann@example.com", PASSWORD).await.0,
        StatusCode::OK,
        "the copied hash is the right one"
    );
});

both!(
    login_is_rate_limited_per_account,
    |app: TestApp| async move {
        app.person("ann@example.com", &["viewer"]).await;
        // The account key ignores case: varying it does not get around the limit.
        for email in [
            "ann@example.com",
            "ANN@example.com",
            "Ann@Example.com",
            "ann@example.com",
            "ann@EXAMPLE.com",
        ] {
            let (status, body, _) = app.try_login(email, "wrong-password-here").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        }
        let (status, body, headers) = app.try_login("ann@example.com", PASSWORD).await;
        assert_problem(status, &body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        let secs = retry_after(&headers);
        assert!((1..=900).contains(&secs), "Retry-After {secs}");
        assert!(body.get("access_token").is_none());

        // An unknown account is throttled the same way, so 429 does not reveal existence.
        for _ in 0..5 {
            let (status, _, _) = app.try_login("ghost@example.com", PASSWORD).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let (status, body, headers) = app.try_login("ghost@example.com", PASSWORD).await;
        assert_problem(status, &body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        retry_after(&headers);

        // Other accounts from the same address are not affected.
        let (status, _, _) = app.try_login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(status, StatusCode::OK);
    }
);

/// Fails logins from the test client (at `base`, with this `X-Forwarded-For`), each on an
/// account of its own, until the address is throttled; the failures it took.
async fn fail_until_throttled(app: &TestApp, base: &str, forwarded_for: Option<&str>) -> usize {
    for i in 0..150 {
        let status = login_forwarded(
            app,
            base,
            &format!("ghost{i}@example.com"),
            "wrong-password-here",
            forwarded_for,
        )
        .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            return i;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    panic!("150 failed logins from one address were never throttled");
}

/// The failures it takes to throttle an address: the default limit, give or take one that
/// drained away (one every 9 s) while a slow machine ran them.
fn is_address_limit(failures: usize) -> bool {
    (100..=105).contains(&failures)
}

both!(
    login_is_rate_limited_per_client_address,
    |app: TestApp| async move {
        // One address can be many people (a NAT): far more failures than one account's
        // limit do not lock out the others.
        for i in 0..21 {
            let (status, _, _) = app
                .try_login(&format!("typo{i}@example.com"), "wrong-password-here")
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(
            app.try_login(ADMIN_EMAIL, ADMIN_PASSWORD).await.0,
            StatusCode::OK
        );
        let failures = 21 + fail_until_throttled(&app, &app.base, None).await;
        assert!(is_address_limit(failures), "throttled after {failures}");
        let (status, body, headers) = app.try_login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_problem(status, &body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        let secs = retry_after(&headers);
        assert!(
            (1..=9).contains(&secs),
            "one failure drains every 9 s: {secs}"
        );

        // Failures drain away: after the window the address is clear.
        app.clock.advance(chrono::Duration::minutes(15));
        assert_eq!(
            app.try_login(ADMIN_EMAIL, ADMIN_PASSWORD).await.0,
            StatusCode::OK
        );
    }
);

both!(
    concurrent_correct_logins_from_one_address_all_succeed,
    |app: TestApp| async move {
        app.person("ann@example.com", &["viewer"]).await;
        for round in 0..2 {
            let attempts = (0..50).map(|_| app.try_login("ann@example.com", PASSWORD));
            let results = futures_util::future::join_all(attempts).await;
            for (status, body, _) in &results {
                assert_eq!(*status, StatusCode::OK, "round {round}: {body}");
            }
        }
        // Successes never count against the account either.
        for _ in 0..4 {
            let (status, _, _) = app
                .try_login("ann@example.com", "wrong-password-here")
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(
            app.try_login("ann@example.com", PASSWORD).await.0,
            StatusCode::OK
        );
    }
);

both!(
    account_throttling_slides_with_the_clock,
    |app: TestApp| async move {
        app.person("ann@example.com", &["viewer"]).await;
        for _ in 0..5 {
            let (status, _, _) = app
                .try_login("ann@example.com", "wrong-password-here")
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let (status, body, headers) = app.try_login("ann@example.com", PASSWORD).await;
        assert_problem(status, &body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        let secs = retry_after(&headers);
        assert!(
            (170..=180).contains(&secs),
            "one failure drains every 180 s: {secs}"
        );
        // Refused attempts do not count: they neither extend nor deepen the lock.
        for _ in 0..10 {
            let (status, _, _) = app
                .try_login("ann@example.com", "wrong-password-here")
                .await;
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        }

        // Retry-After later, one attempt is back: a guess uses it up again...
        app.clock.advance(chrono::Duration::seconds(secs as i64));
        let (status, _, _) = app
            .try_login("ann@example.com", "wrong-password-here")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _, _) = app.try_login("ann@example.com", PASSWORD).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        // ...and the right password takes it and clears the account.
        app.clock.advance(chrono::Duration::seconds(180));
        let (status, body, _) = app.try_login("ann@example.com", PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        for _ in 0..5 {
            let (status, _, _) = app
                .try_login("ann@example.com", "wrong-password-here")
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(
            app.try_login("ann@example.com", PASSWORD).await.0,
            StatusCode::TOO_MANY_REQUESTS
        );
        app.clock.advance(chrono::Duration::minutes(15));
        assert_eq!(
            app.try_login("ann@example.com", PASSWORD).await.0,
            StatusCode::OK
        );
    }
);

both!(
    refresh_rotates_and_reuse_revokes_the_family,
    |app: TestApp| async move {
        app.person("ann@example.com", &["viewer"]).await;
        let (_, first, _) = app.try_login("ann@example.com", PASSWORD).await;
        let (_, other_session, _) = app.try_login("ann@example.com", PASSWORD).await;
        let rt1 = first["refresh_token"].as_str().unwrap().to_string();

        let (status, second) = app.try_refresh(&rt1).await;
        assert_eq!(status, StatusCode::OK, "{second}");
        assert_token_pair(&second, true);
        let rt2 = second["refresh_token"].as_str().unwrap().to_string();
        assert_ne!(rt2, rt1, "refresh tokens rotate");
        assert_eq!(
            app.me(second["access_token"].as_str().unwrap()).await["email"],
            "ann@example.com"
        );

        let (status, third) = app.try_refresh(&rt2).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "the new refresh token works: {third}"
        );
        let rt3 = third["refresh_token"].as_str().unwrap().to_string();

        let (status, body) = app.try_refresh(&rt1).await;
        assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
        let (status, body) = app.try_refresh(&rt3).await;
        assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");

        // Another session of the same user is a family of its own.
        let (status, body) = app
            .try_refresh(other_session["refresh_token"].as_str().unwrap())
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");

        let (status, body) = app.try_refresh("rt_not-a-token").await;
        assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    }
);

both!(
    logout_revokes_the_refresh_token,
    |app: TestApp| async move {
        app.person("ann@example.com", &["viewer"]).await;
        app.person("bob@example.com", &["viewer"]).await;
        let (_, ann, _) = app.try_login("ann@example.com", PASSWORD).await;
        let (_, bob, _) = app.try_login("bob@example.com", PASSWORD).await;
        let ann_refresh = ann["refresh_token"].as_str().unwrap();

        // Someone else's refresh token is not theirs to revoke.
        let (status, _) = app
            .post(
                "/api/v1/auth/logout",
                bob["access_token"].as_str().unwrap(),
                json!({"refresh_token": ann_refresh}),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, ann2) = app.try_refresh(ann_refresh).await;
        assert_eq!(status, StatusCode::OK, "{ann2}");
        let ann_refresh = ann2["refresh_token"].as_str().unwrap();

        let (status, body, _) = app
            .anon(
                Method::POST,
                "/api/v1/auth/logout",
                Some(json!({"refresh_token": ann_refresh})),
                &[],
            )
            .await;
        assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");

        let (status, body) = app
            .post(
                "/api/v1/auth/logout",
                ann2["access_token"].as_str().unwrap(),
                json!({"refresh_token": ann_refresh}),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (status, body) = app.try_refresh(ann_refresh).await;
        assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    }
);

both!(me_returns_the_caller, |app: TestApp| async move {
    let (id, token) = app.user_with_roles(&["auditor", "viewer"]).await;
    let (status, me, _) = app.call_full(Method::GET, ME, &token, None, &[]).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["id"], id.as_str());
    assert_eq!(me["kind"], "person");
    assert_eq!(me["roles"], json!(["auditor", "viewer"]));
    assert_eq!(me["active"], true);
    assert!(me["email"].as_str().unwrap().ends_with("@example.com"));
    let text = me.to_string();
    assert!(!text.contains("password"), "{me}");
    assert!(!text.contains("argon2"), "{me}");

    let admin = app.me(&app.admin_token).await;
    assert_eq!(admin["email"], ADMIN_EMAIL);
    assert_eq!(admin["roles"], json!(["admin"]));
});

both!(
    requests_without_a_valid_token_are_401,
    |app: TestApp| async move {
        let (status, body, headers) = app.anon(Method::GET, ME, None, &[]).await;
        assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer"), "{challenge}");

        let (status, body, headers) = app
            .anon(
                Method::GET,
                ME,
                None,
                &[("Authorization", "Basic YWRtaW46YWRtaW4=")],
            )
            .await;
        assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );

        let admin_id = app.me(&app.admin_token).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let secret = app.jwt_secret();
        let claims = |iss: &str, aud: &str, exp: i64| json!({"sub": admin_id, "roles": ["admin"], "iss": iss, "aud": aud, "iat": now(), "exp": exp, "jti": "test"});
        let in_15_min = now() + 900;

        // The forging works: the right secret and claims give a token the service accepts.
        let good = sign(
            Algorithm::HS256,
            &secret,
            &claims("itsms", "itsms-api", in_15_min),
        );
        let (status, body) = app.get(ME, &good).await;
        assert_eq!(status, StatusCode::OK, "{body}");

        let other_secret = b"another-secret-that-is-long-enough-0123456789".to_vec();
        let mut none_token = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        none_token.push('.');
        none_token
            .push_str(&URL_SAFE_NO_PAD.encode(claims("itsms", "itsms-api", in_15_min).to_string()));
        none_token.push('.');
        let bad = [
            ("garbage", "garbage".to_string()),
            (
                "other secret",
                sign(
                    Algorithm::HS256,
                    &other_secret,
                    &claims("itsms", "itsms-api", in_15_min),
                ),
            ),
            (
                "wrong audience",
                sign(
                    Algorithm::HS256,
                    &secret,
                    &claims("itsms", "other-api", in_15_min),
                ),
            ),
            (
                "wrong issuer",
                sign(
                    Algorithm::HS256,
                    &secret,
                    &claims("someone-else", "itsms-api", in_15_min),
                ),
            ),
            (
                "expired",
                sign(
                    Algorithm::HS256,
                    &secret,
                    &claims("itsms", "itsms-api", now() - 120),
                ),
            ),
            (
                "other algorithm",
                sign(
                    Algorithm::HS384,
                    &secret,
                    &claims("itsms", "itsms-api", in_15_min),
                ),
            ),
            ("alg none", none_token),
        ];
        for (what, token) in bad {
            let (status, body, headers) = app.call_full(Method::GET, ME, &token, None, &[]).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
            assert_eq!(body["code"], "unauthorized", "{what}");
            let challenge = headers["www-authenticate"].to_str().unwrap();
            assert!(challenge.starts_with("Bearer"), "{what}: {challenge}");
            assert!(challenge.contains("invalid_token"), "{what}: {challenge}");
        }
    }
);

both!(
    deactivated_users_can_no_longer_refresh,
    |app: TestApp| async move {
        let id = app.person("ann@example.com", &["viewer"]).await;
        let (_, pair, _) = app.try_login("ann@example.com", PASSWORD).await;
        let (status, pair) = app
            .try_refresh(pair["refresh_token"].as_str().unwrap())
            .await;
        assert_eq!(status, StatusCode::OK, "{pair}");
        let refresh = pair["refresh_token"].as_str().unwrap().to_string();

        let path = format!("/api/v1/users/{id}");
        let (status, user) = app
            .patch(&path, &app.admin_token, json!({"active": false}))
            .await;
        assert_eq!(status, StatusCode::OK, "{user}");
        assert_eq!(user["active"], false);

        let (status, body) = app.try_refresh(&refresh).await;
        assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
        let (status, _, _) = app.try_login("ann@example.com", PASSWORD).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Reactivation lets the user log in again, but the old sessions stay ended.
        let (status, _) = app
            .patch(&path, &app.admin_token, json!({"active": true}))
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = app.try_refresh(&refresh).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _, _) = app.try_login("ann@example.com", PASSWORD).await;
        assert_eq!(status, StatusCode::OK);
    }
);

both!(
    concurrent_refreshes_of_one_token_succeed_once,
    |app: TestApp| async move {
        app.person("ann@example.com", &["viewer"]).await;
        for round in 0..5 {
            let (status, pair, _) = app.try_login("ann@example.com", PASSWORD).await;
            assert_eq!(status, StatusCode::OK, "{pair}");
            let refresh = pair["refresh_token"].as_str().unwrap().to_string();
            let attempts = (0..8).map(|_| app.try_refresh(&refresh));
            let results = futures_util::future::join_all(attempts).await;
            let ok = results
                .iter()
                .filter(|(status, _)| *status == StatusCode::OK)
                .count();
            assert_eq!(ok, 1, "round {round}: {results:?}");
            for (status, body) in &results {
                if *status != StatusCode::OK {
                    assert_problem(*status, body, StatusCode::UNAUTHORIZED, "unauthorized");
                }
            }
        }
    }
);

both!(
    concurrent_wrong_passwords_cannot_pass_the_account_limit,
    |app: TestApp| async move {
        app.person("ann@example.com", &["viewer"]).await;
        let attempts = (0..30).map(|_| app.try_login("ann@example.com", "wrong-password-here"));
        let results = futures_util::future::join_all(attempts).await;
        let unauthorized = results
            .iter()
            .filter(|(status, _, _)| *status == StatusCode::UNAUTHORIZED)
            .count();
        assert!(
            unauthorized <= 5,
            "{unauthorized} wrong passwords were checked"
        );
        for (status, body, headers) in &results {
            if *status != StatusCode::UNAUTHORIZED {
                assert_problem(*status, body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
                retry_after(headers);
            }
        }
        // Still locked for the right password too.
        let (status, body, _) = app.try_login("ann@example.com", PASSWORD).await;
        assert_problem(status, &body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    }
);

both!(
    a_very_long_email_is_an_ordinary_failed_login,
    |app: TestApp| async move {
        let longest = format!("{}@example.com", "a".repeat(242));
        assert_eq!(longest.len(), 254);
        let (status, body, _) = app.try_login(&longest, "wrong-password-here").await;
        assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
        let (status, body, _) = app.try_login(&longest.to_uppercase(), PASSWORD).await;
        assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
        // Longer than any email can be: refused by its documented limit, not a server error.
        let too_long = format!("{}@example.com", "a".repeat(388));
        let (status, body, _) = app.try_login(&too_long, "wrong-password-here").await;
        assert_problem(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(body["errors"][0]["field"], "email");
    }
);

/// `POST /auth/login` at `base` with these `X-Forwarded-For` values; the status.
async fn login_forwarded(
    app: &TestApp,
    base: &str,
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> StatusCode {
    let mut request = app
        .client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}));
    if let Some(value) = forwarded_for {
        request = request.header("X-Forwarded-For", value);
    }
    request.send().await.unwrap().status()
}

both!(
    x_forwarded_for_counts_only_from_trusted_proxies,
    |app: TestApp| async move {
        // No trusted proxies (the default): the header is ignored, so varying it does not
        // get around the address limit.
        let mut failures = 0;
        for i in 0..150 {
            let status = login_forwarded(
                &app,
                &app.base,
                &format!("ghost{i}@example.com"),
                "wrong-password-here",
                Some(&format!("198.51.100.{i}")),
            )
            .await;
            if status == StatusCode::TOO_MANY_REQUESTS {
                break;
            }
            assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
            failures += 1;
        }
        assert!(is_address_limit(failures), "throttled after {failures}");
        let status = login_forwarded(
            &app,
            &app.base,
            ADMIN_EMAIL,
            ADMIN_PASSWORD,
            Some("198.51.100.99"),
        )
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

        // A second instance on the same database that trusts the test client's address, as
        // if it were the load balancer.
        let mut settings = app.settings.clone();
        settings.server.trusted_proxies = vec!["127.0.0.1".into()];
        let behind_proxy = Application::build(settings).await.unwrap();
        let base = format!("http://127.0.0.1:{}", behind_proxy.port());
        tokio::spawn(behind_proxy.run_until_stopped());

        // 127.0.0.1 itself is locked out, but the clients behind it are told apart.
        assert_eq!(
            login_forwarded(&app, &base, ADMIN_EMAIL, ADMIN_PASSWORD, None).await,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            login_forwarded(
                &app,
                &base,
                ADMIN_EMAIL,
                ADMIN_PASSWORD,
                Some("198.51.100.1")
            )
            .await,
            StatusCode::OK
        );
        // What the client wrote left of the proxy's entry does not count.
        let failures = fail_until_throttled(&app, &base, Some("203.0.113.7, 198.51.100.2")).await;
        assert!(is_address_limit(failures), "throttled after {failures}");
        assert_eq!(
            login_forwarded(
                &app,
                &base,
                ADMIN_EMAIL,
                ADMIN_PASSWORD,
                Some("198.51.100.2")
            )
            .await,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            login_forwarded(
                &app,
                &base,
                ADMIN_EMAIL,
                ADMIN_PASSWORD,
                Some("198.51.100.2, 198.51.100.3")
            )
            .await,
            StatusCode::OK
        );
    }
);

both!(
    token_time_claims_are_checked_against_the_service_clock,
    |app: TestApp| async move {
        let admin_id = app.me(&app.admin_token).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let secret = app.jwt_secret();
        let now = app.clock.now().timestamp();
        let token = |times: Value| {
            let mut claims = json!({"sub": admin_id, "roles": ["admin"], "iss": "itsms", "aud": "itsms-api", "jti": "test"});
            claims
                .as_object_mut()
                .unwrap()
                .extend(times.as_object().unwrap().clone());
            sign(Algorithm::HS256, &secret, &claims)
        };
        let accepted = [
            ("issued now", json!({"iat": now, "exp": now + 900})),
            ("a full life", json!({"iat": now - 10, "exp": now + 890})),
            (
                "valid from now",
                json!({"iat": now, "nbf": now, "exp": now + 900}),
            ),
            (
                "iat within the skew",
                json!({"iat": now + 3, "exp": now + 903}),
            ),
        ];
        for (what, times) in accepted {
            let (status, body) = app.get(ME, &token(times)).await;
            assert_eq!(status, StatusCode::OK, "{what}: {body}");
        }
        let refused = [
            (
                "not yet valid",
                json!({"iat": now, "nbf": now + 60, "exp": now + 900}),
            ),
            (
                "issued in the future",
                json!({"iat": now + 60, "exp": now + 900}),
            ),
            (
                "living longer than issued tokens",
                json!({"iat": now, "exp": now + 3600}),
            ),
            ("without iat", json!({"exp": now + 900})),
        ];
        for (what, times) in refused {
            let (status, body, headers) = app
                .call_full(Method::GET, ME, &token(times), None, &[])
                .await;
            assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
            let challenge = headers["www-authenticate"].to_str().unwrap();
            assert!(challenge.contains("invalid_token"), "{what}: {challenge}");
        }

        // A token issued by the service expires by the service's clock.
        let (status, body) = app.get(ME, &app.admin_token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        app.clock.advance(chrono::Duration::minutes(16));
        let (status, body) = app.get(ME, &app.admin_token).await;
        assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
        let fresh = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(app.get(ME, &fresh).await.0, StatusCode::OK);
    }
);

both!(token_responses_are_not_cached, |app: TestApp| async move {
    let assert_no_store = |what: &str, headers: &reqwest::header::HeaderMap| {
        assert_eq!(headers["cache-control"], "no-store", "{what}");
        assert_eq!(headers["pragma"], "no-cache", "{what}");
    };
    let (status, pair, headers) = app.try_login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert_no_store("login", &headers);
    let (status, _, headers) = app
        .anon(
            Method::POST,
            "/api/v1/auth/refresh",
            Some(json!({"refresh_token": pair["refresh_token"]})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_no_store("refresh", &headers);
    let bot = app.service_account("bot@example.com", &["viewer"]).await;
    let (status, key) = app
        .post(
            &format!("/api/v1/users/{bot}/api-keys"),
            &app.admin_token,
            json!({"name": "ci"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let (status, _, headers) = app
        .anon(
            Method::POST,
            "/api/v1/auth/token",
            Some(json!({"api_key": key["key"]})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_no_store("API-key exchange", &headers);
});

both!(
    changing_access_roles_ends_the_sessions,
    |app: TestApp| async move {
        let id = app.person("ann@example.com", &["manager", "viewer"]).await;
        let path = format!("/api/v1/users/{id}");
        let (_, pair, _) = app.try_login("ann@example.com", PASSWORD).await;

        // Other changes, and the same roles in another order, keep the session.
        let (status, body) = app
            .patch(
                &path,
                &app.admin_token,
                json!({"display_name": "Ann B", "roles": ["viewer", "manager"]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, pair) = app
            .try_refresh(pair["refresh_token"].as_str().unwrap())
            .await;
        assert_eq!(status, StatusCode::OK, "{pair}");

        // A demotion: the refresh token no longer works, so a client must log in again
        // and gets the new roles.
        let (status, body) = app
            .patch(&path, &app.admin_token, json!({"roles": ["viewer"]}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = app
            .try_refresh(pair["refresh_token"].as_str().unwrap())
            .await;
        assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
        let (status, again, _) = app.try_login("ann@example.com", PASSWORD).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            claims_of(again["access_token"].as_str().unwrap())["roles"],
            json!(["viewer"])
        );
    }
);
