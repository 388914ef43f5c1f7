//! Races: many requests at once must leave the same result as one after the other.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::helpers::TestApp;

both!(
    if_match_lets_exactly_one_concurrent_writer_win,
    |app: TestApp| async move {
        let app = Arc::new(app);
        for round in 0..3 {
            let id = app.role(&format!("Contested {round}")).await;
            let path = format!("/api/v1/roles/{id}");
            let writers = (0..6).map(|i| {
                let (app, path) = (app.clone(), path.clone());
                tokio::spawn(async move {
                    let body = json!({"description": format!("writer {i}")});
                    app.if_match(Method::PATCH, &path, Some(body), 1).await.0
                })
            });
            let statuses: Vec<StatusCode> = futures_util::future::join_all(writers)
                .await
                .into_iter()
                .map(|r| r.unwrap())
                .collect();
            let won = statuses.iter().filter(|s| **s == StatusCode::OK).count();
            let refused = statuses
                .iter()
                .filter(|s| **s == StatusCode::PRECONDITION_FAILED)
                .count();
            assert_eq!((won, refused), (1, 5), "{statuses:?}");
            let (_, role) = app.get(&path, &app.admin_token).await;
            assert_eq!(role["version"], 2);
            let (_, trail) = app
                .get(
                    &format!("/api/v1/audit-trail?entity_id={id}"),
                    &app.admin_token,
                )
                .await;
            assert_eq!(
                trail["items"].as_array().unwrap().len(),
                2,
                "one create, one update: {trail}"
            );
        }
    }
);

both!(
    concurrent_transitions_apply_once,
    |app: TestApp| async move {
        let app = Arc::new(app);
        let owner = app.role("Owner").await;
        let id = app.process("INC", Some(&owner)).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.call(
            Method::PUT,
            &format!("/api/v1/processes/{id}/raci"),
            &app.admin_token,
            Some(json!({"assignments": [{"role_id": owner, "responsibility": "A"}]})),
        )
        .await;
        let path = format!("/api/v1/processes/{id}/transitions");
        app.post(&path, &app.admin_token, json!({"action": "approve"}))
            .await;
        let moves = ["retire", "revise"].map(|action| {
            let (app, path) = (app.clone(), path.clone());
            tokio::spawn(async move {
                let body = json!({ "action": action });
                app.if_match(Method::POST, &path, Some(body), 3).await.0
            })
        });
        let statuses: Vec<StatusCode> = futures_util::future::join_all(moves)
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == StatusCode::OK).count(),
            1,
            "{statuses:?}"
        );
        let (_, process) = app
            .get(&format!("/api/v1/processes/{id}"), &app.admin_token)
            .await;
        assert_eq!(process["version"], 4);
    }
);

both!(
    the_chain_verifies_while_changes_are_written,
    |app: TestApp| async move {
        let app = Arc::new(app);
        let writer = {
            let app = app.clone();
            tokio::spawn(async move {
                for i in 0..40 {
                    app.role(&format!("Role {i}")).await;
                }
            })
        };
        let mut checks = 0;
        while !writer.is_finished() {
            let (status, report) = app
                .get("/api/v1/audit-trail/verify", &app.admin_token)
                .await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(report["valid"], true, "{report}");
            checks += 1;
        }
        writer.await.unwrap();
        assert!(checks > 0);
    }
);
