//! Keyset pagination over typed sort keys: dates, text and timestamps with duplicates and
//! NULLs, walked a page at a time on both backends.

use std::cmp::Reverse;

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{TestApp, assert_problem};

/// Follows `next_cursor` from the first page to the last and returns every item in order.
async fn walk(app: &TestApp, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_string(),
        };
        let (status, page) = app.get(&url, &app.admin_token).await;
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return items,
        }
    }
    panic!("{path} did not end");
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

/// Creates a process with the given name and review date and returns its id.
async fn process(app: &TestApp, code: &str, name: &str, review_due: Option<&str>) -> String {
    let (status, body) = app
        .post(
            "/api/v1/processes",
            &app.admin_token,
            json!({"code": code, "name": name, "clauses": ["8.6.1"], "review_due": review_due}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_string()
}

both!(
    a_nullable_date_sort_pages_through_duplicates_and_nulls,
    |app: TestApp| async move {
        let dues = [
            Some("2026-05-01"),
            None,
            Some("2026-03-01"),
            Some("2026-05-01"),
            None,
            Some("2026-03-01"),
            Some("2026-04-15"),
        ];
        let mut rows = Vec::new();
        for (n, due) in dues.iter().enumerate() {
            let id = process(&app, &format!("D{n}"), &format!("Process {n}"), *due).await;
            rows.push((*due, id));
        }
        let mut ascending = rows.clone();
        ascending.sort_by(|a, b| (a.0.is_none(), a.0, &a.1).cmp(&(b.0.is_none(), b.0, &b.1)));
        let mut descending = rows.clone();
        descending.sort_by_key(|r| (r.0.is_none(), Reverse(r.0), Reverse(r.1.clone())));
        for (sort, expected) in [("review_due", ascending), ("-review_due", descending)] {
            let expected_ids: Vec<String> = expected.iter().map(|r| r.1.clone()).collect();
            // Page boundaries fall inside runs of equal dates and inside the NULL rows.
            for limit in [1, 2, 3] {
                let items = walk(
                    &app,
                    &format!("/api/v1/processes?limit={limit}&sort={sort}"),
                )
                .await;
                assert_eq!(ids(&items), expected_ids, "sort {sort}, limit {limit}");
                let dues: Vec<Option<&str>> =
                    items.iter().map(|i| i["review_due"].as_str()).collect();
                assert_eq!(dues[5..], [None, None], "NULLs last for {sort}: {dues:?}");
            }
        }
    }
);

both!(
    a_well_typed_date_cursor_is_bound_as_a_date,
    |app: TestApp| async move {
        use base64::Engine;
        let early = process(&app, "E1", "Early", Some("2026-01-10")).await;
        let late = process(&app, "L1", "Late", Some("2026-09-10")).await;
        let never = process(&app, "N1", "Never", None).await;
        let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({"s": "review_due", "v": "2026-04-01", "i": ""}).to_string());
        let (status, page) = app
            .get(
                &format!("/api/v1/processes?sort=review_due&cursor={cursor}"),
                &app.admin_token,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let got = ids(page["items"].as_array().unwrap());
        assert_eq!(got, [late, never]);
        assert!(!got.contains(&early));
    }
);

both!(
    a_text_sort_pages_through_duplicates,
    |app: TestApp| async move {
        let names = ["Beta", "Alpha", "Beta", "Alpha", "Gamma", "Alpha", "Beta"];
        let mut rows = Vec::new();
        for (n, name) in names.iter().enumerate() {
            let id = process(&app, &format!("T{n}"), name, None).await;
            rows.push((name.to_string(), id));
        }
        let mut ascending = rows.clone();
        ascending.sort();
        let mut descending = ascending.clone();
        descending.reverse();
        for (sort, expected) in [("name", ascending), ("-name", descending)] {
            let items = walk(&app, &format!("/api/v1/processes?limit=2&sort={sort}")).await;
            let expected_ids: Vec<String> = expected.iter().map(|r| r.1.clone()).collect();
            assert_eq!(ids(&items), expected_ids, "sort {sort}");
        }
    }
);

both!(
    a_timestamp_sort_pages_through_duplicates,
    |app: TestApp| async move {
        let mut created = Vec::new();
        for _ in 0..5 {
            created.push(app.user_with_roles(&["viewer"]).await.0);
            app.clock.advance(Duration::minutes(1));
        }
        // Equal timestamps, and an order of timestamps that differs from the order of ids.
        for (row, like) in [(0, 4), (2, 1)] {
            app.raw_sql(&format!(
                "UPDATE users SET created_at = (SELECT created_at FROM users WHERE id = '{}') \
                 WHERE id = '{}'",
                created[like], created[row]
            ))
            .await;
        }
        let (status, all) = app.get("/api/v1/users?limit=200", &app.admin_token).await;
        assert_eq!(status, StatusCode::OK, "{all}");
        let mut rows: Vec<(DateTime<Utc>, String)> = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                let at = u["created_at"].as_str().unwrap().parse().unwrap();
                (at, u["id"].as_str().unwrap().to_string())
            })
            .collect();
        assert_eq!(rows.len(), 6);
        rows.sort();
        let ascending: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
        let place = |id: &String| ascending.iter().position(|x| x == id).unwrap();
        assert!(place(&created[0]) > place(&created[3]), "{rows:?}");
        let mut descending = ascending.clone();
        descending.reverse();
        for (sort, expected) in [("created_at", ascending), ("-created_at", descending)] {
            let items = walk(&app, &format!("/api/v1/users?limit=2&sort={sort}")).await;
            assert_eq!(ids(&items), expected, "sort {sort}");
        }
    }
);

both!(
    mistyped_cursors_are_refused_before_the_query,
    |app: TestApp| async move {
        use base64::Engine;
        let forge =
            |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let cases = [
            (
                "processes?sort=review_due",
                json!({"s": "review_due", "v": "soon", "i": "x"}),
            ),
            (
                "processes?sort=review_due",
                json!({"s": "review_due", "v": "2026-02-30", "i": "x"}),
            ),
            (
                "processes?sort=review_due",
                json!({"s": "review_due", "v": 20260101, "i": "x"}),
            ),
            (
                "processes?sort=-review_due",
                json!({"s": "review_due", "v": null, "i": "x"}),
            ),
            (
                "processes?sort=code",
                json!({"s": "code", "v": null, "i": "x"}),
            ),
            (
                "processes?sort=created_at",
                json!({"s": "created_at", "v": "2026-01-01", "i": "x"}),
            ),
            (
                "users?sort=created_at",
                json!({"s": "created_at", "v": "yesterday", "i": "x"}),
            ),
            (
                "users?sort=created_at",
                json!({"s": "created_at", "v": "2026-01-01T00:00:00Z"}),
            ),
            (
                "clauses?limit=5",
                json!({"s": "clause", "v": "4", "i": "4"}),
            ),
        ];
        for (path, cursor) in cases {
            let (status, body) = app
                .get(
                    &format!("/api/v1/{path}&cursor={}", forge(cursor.clone())),
                    &app.admin_token,
                )
                .await;
            assert_problem(
                status,
                &body,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            );
            assert_eq!(
                body["errors"][0]["field"], "cursor",
                "{path} {cursor}: {body}"
            );
        }
    }
);
