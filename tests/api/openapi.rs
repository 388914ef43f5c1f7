use reqwest::StatusCode;
use serde_json::Value;

use crate::both;
use crate::helpers::TestApp;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");

/// The committed spec must be what the code generates. `ITSMS_UPDATE_OPENAPI=1 cargo test`
/// rewrites it.
#[test]
fn committed_spec_matches_the_code() {
    let generated = itsms::http::openapi::document();
    let pretty = serde_json::to_string_pretty(&generated).unwrap() + "\n";
    if std::env::var("ITSMS_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(COMMITTED, &pretty).unwrap();
    }
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(COMMITTED).expect("openapi/openapi.json exists"),
    )
    .expect("openapi/openapi.json is JSON");
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `ITSMS_UPDATE_OPENAPI=1 cargo test committed_spec` and commit it"
    );
    assert_eq!(generated["openapi"], "3.1.0");
}

both!(served_spec_and_docs, |app: TestApp| async move {
    let res = app
        .client
        .get(app.url("/api-docs/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let served: Value = res.json().await.unwrap();
    assert_eq!(served, itsms::http::openapi::document());
    let res = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.text().await.unwrap().contains("swagger"),
        "Swagger UI is served"
    );
});

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                out.push(r.to_string());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves() {
    let doc = itsms::http::openapi::document();
    let mut found = Vec::new();
    refs(&doc, &mut found);
    for r in found {
        assert!(
            doc.pointer(r.trim_start_matches('#')).is_some(),
            "{r} is not in the document"
        );
    }
}
