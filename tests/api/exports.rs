//! CSV exports: a whole list streamed page after page, read back with a real CSV reader,
//! every cell equal to the JSON list's value; one page with `limit`; the audit trail.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{TestApp, assert_problem};

/// A CSV document read with the `csv` crate: its header and its records.
pub fn parse(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let records = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, records)
}

/// The value a cell holds, read as the exports document: empty is null; text (the field's
/// JSON type) loses one leading `'`; anything else is JSON.
pub fn read_cell(cell: &str, field: &Value) -> Value {
    if cell.is_empty() {
        return Value::Null;
    }
    match field {
        Value::String(_) => cell.strip_prefix('\'').unwrap_or(cell).into(),
        _ => serde_json::from_str(cell).unwrap_or_else(|e| panic!("{cell:?}: {e}")),
    }
}

/// Asserts that the CSV rows hold exactly the JSON items, in the same order.
pub fn assert_same(header: &[String], records: &[Vec<String>], items: &[Value]) {
    assert_eq!(records.len(), items.len());
    for (record, item) in records.iter().zip(items) {
        let fields = item.as_object().unwrap();
        let columns: Vec<&String> = fields.keys().collect();
        assert_eq!(header.iter().collect::<Vec<_>>(), columns);
        for (cell, (name, value)) in record.iter().zip(fields) {
            assert_eq!(&read_cell(cell, value), value, "{name}: {cell:?}");
        }
    }
}

/// A GET with optional extra headers: status, headers, body text.
pub async fn fetch(
    app: &TestApp,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let mut request = app.request(Method::GET, path, Some(token));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let res = request.send().await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, res.text().await.unwrap())
}

/// Every item of a JSON list, following `next_cursor`.
pub async fn walk(app: &TestApp, path: &str, token: &str) -> Vec<Value> {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut url = format!("{path}{separator}limit=200");
    loop {
        let (status, page) = app.get(&url, token).await;
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("{path}{separator}limit=200&cursor={cursor}"),
            None => return items,
        }
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).map(|v| v.to_str().unwrap().to_string())
}

const TRICKY: [&str; 12] = [
    "=HYPERLINK(\"http://example.com\", \"a, b\")",
    "+1 555",
    "-12",
    "@SUM(A1)",
    "'quoted",
    "12.50",
    "[1, 2]",
    "null",
    "line 1\r\nline \"2\", with a comma\n+3",
    "true",
    "{\"a\": 1}",
    "x\ty",
];

const ROWS: usize = 1_050;

/// `ROWS` corrective actions written straight into the table (the write path is tested
/// elsewhere), every 100th with tricky text, a few with empty text where text may be null.
async fn seed_corrective_actions(app: &TestApp) {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let mut values = Vec::new();
    for n in 0..ROWS {
        let id = uuid::Uuid::now_v7();
        // As the service writes times, so that SQLite compares them as text correctly.
        let at = format!("'2026-01-01T00:{:02}:{:02}+00:00'", n / 60, n % 60);
        let tricky = TRICKY[n / 100 % TRICKY.len()];
        let (nonconformity, correction) = match n % 100 {
            0 => (quote(tricky), quote("")),
            1 => (quote(&format!("{tricky} (again)")), "NULL".to_string()),
            _ => (quote(&format!("Finding {n}")), "NULL".to_string()),
        };
        let source = if n % 3 == 0 { "incident" } else { "complaint" };
        values.push(format!(
            "('{id}', {}, {nonconformity}, '{source}', {correction}, 'open', 1, {at}, {at})",
            quote(&format!("Action {n:04}"))
        ));
    }
    for chunk in values.chunks(350) {
        app.raw_sql(&format!(
            "INSERT INTO corrective_actions (id, title, nonconformity, source, correction, state, version, created_at, updated_at) VALUES {}",
            chunk.join(", ")
        ))
        .await;
    }
}

both!(
    a_whole_list_is_streamed_and_reads_back_exactly,
    |app: TestApp| async move {
        seed_corrective_actions(&app).await;
        // One more through the API, with text a spreadsheet would run.
        let (status, created) = app
            .post(
                "/api/v1/corrective-actions",
                &app.admin_token,
                json!({"title": TRICKY[0], "nonconformity": TRICKY[8], "source": "other",
                       "due_date": "2026-01-01", "clause": "8.6.1"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let token = app.token_for("viewer").await;

        // No `limit`, no `cursor`: every row, streamed in chunks, whatever `Accept` says.
        let (status, headers, text) = fetch(
            &app,
            "/api/v1/exports/corrective-actions?include_total=true",
            &token,
            &[("Accept", "application/json")],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert_eq!(
            header(&headers, "content-type").as_deref(),
            Some("text/csv; charset=utf-8")
        );
        assert_eq!(
            header(&headers, "transfer-encoding").as_deref(),
            Some("chunked")
        );
        assert_eq!(
            header(&headers, "content-disposition").as_deref(),
            Some("attachment; filename=\"corrective-actions.csv\"")
        );
        assert_eq!(header(&headers, "x-next-cursor"), None);
        assert_eq!(
            header(&headers, "x-total-count"),
            Some((ROWS + 1).to_string())
        );
        let (columns, records) = parse(&text);
        let items = walk(&app, "/api/v1/corrective-actions?sort=created_at", &token).await;
        assert_eq!(items.len(), ROWS + 1);
        assert_same(&columns, &records, &items);
        let last = records.last().unwrap();
        let title = columns.iter().position(|c| c == "title").unwrap();
        assert_eq!(
            last[title],
            format!("'{}", TRICKY[0]),
            "formulas are defused"
        );
        let correction = columns.iter().position(|c| c == "correction").unwrap();
        assert_eq!(records[0][correction], "'", "empty text is not null");
        assert_eq!(records[1][correction], "", "null is empty");

        // `Accept: text/csv` on the list answers the same; filters and sort are the list's.
        let query = "sort=-title&source=incident&q=action";
        let (status, _, text) = fetch(
            &app,
            &format!("/api/v1/corrective-actions?{query}"),
            &token,
            &[("Accept", "text/csv")],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (columns, records) = parse(&text);
        let items = walk(&app, &format!("/api/v1/corrective-actions?{query}"), &token).await;
        assert_eq!(items.len(), ROWS.div_ceil(3));
        assert_same(&columns, &records, &items);

        // With `limit` (or `cursor`): that one page, and the cursor of the next.
        let path = "/api/v1/exports/corrective-actions?sort=title&limit=2";
        let (_, headers, text) = fetch(&app, path, &token, &[]).await;
        assert_ne!(
            header(&headers, "transfer-encoding").as_deref(),
            Some("chunked")
        );
        let cursor = header(&headers, "x-next-cursor").unwrap();
        let (_, first) = parse(&text);
        let (_, headers, text) = fetch(&app, &format!("{path}&cursor={cursor}"), &token, &[]).await;
        assert!(header(&headers, "x-next-cursor").is_some());
        let (_, second) = parse(&text);
        let (_, page) = app
            .get("/api/v1/corrective-actions?sort=title&limit=4", &token)
            .await;
        let items = page["items"].as_array().unwrap();
        assert_same(&columns, &[first, second].concat(), items);

        // Nothing matches: the header row alone, the same columns.
        let (status, _, text) = fetch(
            &app,
            "/api/v1/exports/corrective-actions?q=nothing%20like%20it",
            &token,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (empty_columns, none) = parse(&text);
        assert!(none.is_empty());
        let mut sorted = empty_columns.clone();
        sorted.sort();
        let mut expected = columns.clone();
        expected.sort();
        assert_eq!(sorted, expected);

        // Refusals are problem documents, before anything is streamed.
        let (status, body) = app
            .get("/api/v1/exports/corrective-actions?sort=colour", &token)
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        let (status, body) = app
            .get(
                "/api/v1/exports/corrective-actions?cursor=bm90LWEtY3Vyc29y",
                &token,
            )
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(body["errors"][0]["field"], "cursor");
        let (_, nobody) = app.user_with_roles(&[]).await;
        let (status, body) = app.get("/api/v1/exports/corrective-actions", &nobody).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    }
);

both!(
    the_audit_trail_exports_whole_to_admins_and_auditors,
    |app: TestApp| async move {
        for name in ["=cmd|' /C calc'!A0", "Owner, \"deputy\"", "Plain"] {
            let (status, body) = app
                .post(
                    "/api/v1/roles",
                    &app.admin_token,
                    json!({"name": name, "responsibilities": ["a, b", "=1+1"], "description": "two\nlines"}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        let auditor = app.token_for("auditor").await;
        let (status, headers, text) =
            fetch(&app, "/api/v1/exports/audit-trail", &auditor, &[]).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert_eq!(
            header(&headers, "transfer-encoding").as_deref(),
            Some("chunked")
        );
        let (columns, records) = parse(&text);
        let items = walk(&app, "/api/v1/audit-trail", &auditor).await;
        assert!(items.len() >= 5, "{}", items.len());
        assert_same(&columns, &records, &items);
        let changes = columns.iter().position(|c| c == "changes").unwrap();
        let created: Vec<&Vec<String>> = records
            .iter()
            .filter(|r| r[changes].contains("\"=cmd|' /C calc'!A0\""))
            .collect();
        assert_eq!(created.len(), 1, "the change is a JSON object in its cell");

        // The list's filters, and its access rules.
        let (_, _, text) = fetch(
            &app,
            "/api/v1/exports/audit-trail?entity_type=sms_role",
            &app.admin_token,
            &[],
        )
        .await;
        let (_, roles) = parse(&text);
        assert_eq!(roles.len(), 3);
        let (status, body) = app
            .get(
                "/api/v1/exports/audit-trail",
                &app.token_for("manager").await,
            )
            .await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    }
);

both!(an_export_is_read_only, |app: TestApp| async move {
    let (status, body) = app
        .post(
            "/api/v1/exports/processes",
            &app.admin_token,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::METHOD_NOT_ALLOWED, "{body}");
});
