//! Starting again, and the subcommands of the binary.

use itsms::startup::Application;
use reqwest::StatusCode;
use serde_json::Value;

use crate::both;
use crate::helpers::{TestApp, itsms_command};

/// Runs the `itsms` binary with only the given configuration.
fn itsms(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    itsms_command(args, env)
        .output()
        .expect("the itsms binary runs")
}

both!(
    a_second_start_reuses_everything,
    |app: TestApp| async move {
        let role = app.role("Service owner").await;
        // The same configuration again: same database, same generated JWT secret.
        let again = Application::build(app.settings.clone())
            .await
            .expect("starts again");
        let base = format!("http://127.0.0.1:{}", again.port());
        tokio::spawn(again.run_until_stopped());
        let res = app
            .client
            .get(format!("{base}/api/v1/roles/{role}"))
            .bearer_auth(&app.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "a token of the first start works on the second"
        );
        assert_eq!(
            app.count_rows("users").await,
            1,
            "the first admin is created once"
        );
        assert_eq!(
            app.count_rows("clauses").await,
            77,
            "the catalog is loaded once"
        );
    }
);

both!(
    create_user_and_migrate_subcommands,
    |app: TestApp| async move {
        let data_dir = tempfile::tempdir().unwrap();
        let dir = data_dir.path().display().to_string();
        let db_url = app.db_url.clone();
        let env = [
            ("ITSMS__DATABASE__URL", db_url.as_str()),
            ("ITSMS__SERVER__DATA_DIR", dir.as_str()),
            ("ITSMS_NEW_USER_PASSWORD", "a-long-enough-password"),
        ];
        let migrate = tokio::task::block_in_place(|| itsms(&["migrate"], &env));
        assert!(
            migrate.status.success(),
            "{}",
            String::from_utf8_lossy(&migrate.stderr)
        );
        let args = [
            "create-user",
            "--email",
            "Cli@Example.com",
            "--display-name",
            "From the CLI",
            "--roles",
            "manager,auditor",
        ];
        let created = tokio::task::block_in_place(|| itsms(&args, &env));
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stderr)
        );
        let token = app.login("cli@example.com", "a-long-enough-password").await;
        let (_, me) = app.get("/api/v1/auth/me", &token).await;
        assert_eq!(me["roles"], serde_json::json!(["manager", "auditor"]));
        let duplicate = tokio::task::block_in_place(|| itsms(&args, &env));
        assert!(!duplicate.status.success(), "the email is taken");
        let bad_role = tokio::task::block_in_place(|| {
            itsms(
                &[
                    "create-user",
                    "--email",
                    "x@example.com",
                    "--display-name",
                    "X",
                    "--roles",
                    "root",
                ],
                &env,
            )
        });
        assert!(!bad_role.status.success());
        assert!(String::from_utf8_lossy(&bad_role.stderr).contains("root"));
    }
);

#[test]
fn openapi_subcommand_prints_the_document() {
    let output = itsms(&["openapi"], &[]);
    assert!(output.status.success());
    let printed: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(printed, itsms::http::openapi::document());
}

#[test]
fn a_bad_setting_stops_start_up_naming_the_key() {
    let data_dir = tempfile::tempdir().unwrap();
    let dir = data_dir.path().display().to_string();
    let output = itsms(
        &["migrate"],
        &[
            ("ITSMS__SERVER__DATA_DIR", &dir),
            ("ITSMS__AUTH__JWT_SECRET", "too-short"),
        ],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("auth.jwt_secret"));
    let output = itsms(
        &["migrate"],
        &[
            ("ITSMS__SERVER__DATA_DIR", &dir),
            ("ITSMS__LIMITS__MAX_BODY_BYTES", "lots"),
        ],
    );
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("max_body_bytes"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Starts a second instance on the app's database that signs tokens with a key pair.
async fn with_key_pair(
    app: &TestApp,
    algorithm: itsms::config::JwtAlgorithm,
    name: &str,
) -> String {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut settings = app.settings.clone();
    settings.auth.jwt_algorithm = algorithm;
    settings.auth.jwt_private_key_file = format!("{fixtures}/{name}-private.pem");
    settings.auth.jwt_public_key_file = format!("{fixtures}/{name}-public.pem");
    let second = Application::build(settings)
        .await
        .expect("starts with a key pair");
    let base = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());
    base
}

fn header_alg(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["alg"]
        .as_str()
        .unwrap()
        .to_string()
}

both!(
    tokens_can_be_signed_with_a_key_pair,
    |app: TestApp| async move {
        use itsms::config::JwtAlgorithm;
        for (algorithm, name, alg) in [
            (JwtAlgorithm::EdDSA, "ed25519", "EdDSA"),
            (JwtAlgorithm::RS256, "rsa", "RS256"),
        ] {
            let base = with_key_pair(&app, algorithm, name).await;
            let res = app
            .client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"email": crate::helpers::ADMIN_EMAIL, "password": crate::helpers::ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            let token = res.json::<Value>().await.unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_string();
            assert_eq!(header_alg(&token), alg);
            let me = app
                .client
                .get(format!("{base}/api/v1/auth/me"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(me.status(), StatusCode::OK);
            // The algorithm is pinned: an HS256 token of the first instance is refused here, and back.
            let hs = app
                .client
                .get(format!("{base}/api/v1/auth/me"))
                .bearer_auth(&app.admin_token)
                .send()
                .await
                .unwrap();
            assert_eq!(hs.status(), StatusCode::UNAUTHORIZED);
            let back = app
                .client
                .get(app.url("/api/v1/auth/me"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(back.status(), StatusCode::UNAUTHORIZED);
        }
    }
);

#[test]
fn an_unreadable_key_stops_start_up_naming_the_setting() {
    let data_dir = tempfile::tempdir().unwrap();
    let dir = data_dir.path().display().to_string();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let public = format!("{fixtures}/ed25519-public.pem");
    let output = itsms(
        &["serve"],
        &[
            ("ITSMS__SERVER__DATA_DIR", &dir),
            ("ITSMS__SERVER__PORT", "0"),
            ("ITSMS__AUTH__JWT_ALGORITHM", "EdDSA"),
            ("ITSMS__AUTH__JWT_PRIVATE_KEY_FILE", &public),
            ("ITSMS__AUTH__JWT_PUBLIC_KEY_FILE", &public),
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("auth.jwt_private_key_file"), "{stderr}");
}
