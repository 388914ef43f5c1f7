use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::helpers::{TestApp, assert_problem};

both!(
    the_catalog_is_seeded_and_filterable,
    |app: TestApp| async move {
        let viewer = app.token_for("viewer").await;
        let (status, all) = app
            .get("/api/v1/clauses?limit=200&include_total=true", &viewer)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(all["total"], 77);
        assert_eq!(all["items"][0]["clause"], "4", "catalog order");
        assert_eq!(all["next_cursor"], serde_json::Value::Null);

        let (_, processes) = app
            .get(
                "/api/v1/clauses?is_process=true&include_total=true",
                &viewer,
            )
            .await;
        assert_eq!(processes["total"], 20);
        let (_, under_8_6) = app.get("/api/v1/clauses?parent=8.6", &viewer).await;
        let numbers: Vec<&str> = under_8_6["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["clause"].as_str().unwrap())
            .collect();
        assert_eq!(numbers, ["8.6.1", "8.6.2", "8.6.3"]);
        let (_, found) = app.get("/api/v1/clauses?q=INCIDENT", &viewer).await;
        assert_eq!(found["items"][0]["clause"], "8.6.1");

        let mut seen = 0;
        let mut path = "/api/v1/clauses?limit=30".to_string();
        loop {
            let (_, page) = app.get(&path, &viewer).await;
            seen += page["items"].as_array().unwrap().len();
            match page["next_cursor"].as_str() {
                Some(c) => path = format!("/api/v1/clauses?limit=30&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(seen, 77);
    }
);

both!(one_clause_with_its_children, |app: TestApp| async move {
    let (status, clause) = app.get("/api/v1/clauses/8.6", &app.admin_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(clause["title"], "Resolution and fulfilment");
    assert_eq!(clause["children"], json!(["8.6.1", "8.6.2", "8.6.3"]));
    assert_eq!(clause["references"]["processes"], 0);
    let (status, body) = app.get("/api/v1/clauses/11.1", &app.admin_token).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = app
        .get("/api/v1/clauses?parent=eight", &app.admin_token)
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
});

both!(
    reading_the_catalog_needs_an_access_role,
    |app: TestApp| async move {
        let (_, no_roles) = app.user_with_roles(&[]).await;
        let (status, body) = app.get("/api/v1/clauses", &no_roles).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, body) = app.get("/api/v1/clauses/8.6", &no_roles).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let res = app
            .client
            .get(app.url("/api/v1/clauses"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
);
