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

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((path.clone(), method.clone(), op));
        }
    }
    out
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap(),
        None => schema,
    }
}

#[test]
fn problems_are_typed() {
    let doc = itsms::http::openapi::document();
    let problem = &doc["components"]["schemas"]["Problem"]["properties"];
    let codes: Vec<&str> = itsms::http::problem::Code::ALL
        .iter()
        .map(|c| c.describe().0)
        .collect();
    assert_eq!(
        resolve(&doc, &problem["code"])["enum"],
        serde_json::json!(codes)
    );
    let field = resolve(&doc, &problem["errors"]["items"]);
    assert_eq!(field["required"], serde_json::json!(["field", "message"]));
    let actions = resolve(&doc, &problem["allowed_actions"]["items"]);
    for action in itsms::domain::process::ProcessAction::ALL {
        assert!(
            actions["enum"]
                .as_array()
                .unwrap()
                .contains(&action.as_str().into()),
            "{action}"
        );
    }
}

/// Generators name an inline enum after its operation (`ListProcessesState`); a reference
/// keeps the one shared type.
#[test]
fn parameters_refer_to_shared_enums() {
    let doc = itsms::http::openapi::document();
    for (path, method, op) in operations(&doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            assert!(
                p["schema"].get("enum").is_none(),
                "{method} {path} `{}` has an inline enum",
                p["name"]
            );
        }
    }
    let list = &doc["paths"]["/api/v1/processes"]["get"]["parameters"];
    let by_name = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["schema"]["$ref"]
            .clone()
    };
    assert_eq!(by_name("state"), "#/components/schemas/ProcessState");
    assert_eq!(by_name("sort"), "#/components/schemas/ProcessSort");
}

fn assert_uuid(schema: &Value, at: &str) {
    assert_eq!(schema["format"], "uuid", "{at}: {schema}");
}

#[test]
fn ids_are_uuids_and_limit_has_its_default() {
    let doc = itsms::http::openapi::document();
    let mut seen = 0;
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        for (field, property) in schema["properties"].as_object().into_iter().flatten() {
            if (field == "id" || field.ends_with("_id")) && field != "request_id" {
                assert_uuid(property, &format!("{name}.{field}"));
                seen += 1;
            } else if field.ends_with("_ids") {
                assert_uuid(&property["items"], &format!("{name}.{field}[]"));
                seen += 1;
            }
        }
    }
    for (path, method, op) in operations(&doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap();
            if name == "id" || name.ends_with("_id") {
                assert_uuid(&p["schema"], &format!("{method} {path} {name}"));
                seen += 1;
            }
            if name == "limit" {
                let default = itsms::persistence::page::DEFAULT_LIMIT;
                assert_eq!(p["schema"]["default"], default, "{method} {path}");
                assert_eq!(p["schema"]["minimum"], 1);
                assert_eq!(p["schema"]["maximum"], itsms::persistence::page::MAX_LIMIT);
            }
        }
    }
    assert!(seen > 20, "{seen}");
}

#[test]
fn lists_and_reports_document_json_and_exports_csv() {
    let doc = itsms::http::openapi::document();
    let mut exports = 0;
    for (path, method, op) in operations(&doc) {
        let media: Vec<&String> = op["responses"]["200"]["content"]
            .as_object()
            .map(|c| c.keys().collect())
            .unwrap_or_default();
        if let Some(exported) = path.strip_prefix("/api/v1/exports/") {
            assert_eq!(media, ["text/csv"], "{path}");
            let source = &doc["paths"][format!("/api/v1/{exported}")]["get"];
            assert_eq!(op["parameters"], source["parameters"], "{path}");
            assert_eq!(op["x-required-roles"], source["x-required-roles"], "{path}");
            assert_eq!(
                op["operationId"],
                format!("export_{}", exported.replace(['-', '/'], "_"))
            );
            let headers = &op["responses"]["200"]["headers"];
            let is_list = !exported.starts_with("reports/");
            assert_eq!(headers["X-Next-Cursor"].is_object(), is_list, "{path}");
            let description = op["description"].as_str().unwrap();
            assert!(description.contains("remove one leading `'`"), "{path}");
            if is_list {
                assert!(description.contains("streamed"), "{path}");
            }
            let about = source["description"].as_str().unwrap();
            assert!(about.contains(&format!("`GET {path}`")), "{path}: {about}");
            exports += 1;
        } else if !media.is_empty() {
            assert!(!media.contains(&&"text/csv".to_string()), "{method} {path}");
        }
    }
    // Every paginated collection and every report has its export.
    let exported = operations(&doc)
        .into_iter()
        .filter(|(path, method, op)| {
            let list = path.matches('/').count() == 3
                && op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == "cursor"));
            method == "get" && (list || path.starts_with("/api/v1/reports/"))
        })
        .count();
    assert_eq!(exports, exported);
    assert!(doc["paths"]["/api/v1/exports/reports/audit-coverage"].is_object());
}

#[test]
fn gets_by_id_offer_304() {
    let doc = itsms::http::openapi::document();
    let sub_list = &doc["paths"]["/api/v1/audits/{id}/findings"]["get"]["responses"];
    assert!(
        sub_list["304"].is_null() && sub_list["200"]["headers"]["ETag"].is_null(),
        "a list under an id is not a versioned resource"
    );
    for path in [
        "/api/v1/processes/{id}",
        "/api/v1/roles/{id}",
        "/api/v1/users/{id}",
        "/api/v1/objectives/{id}",
        "/api/v1/audits/{id}",
        "/api/v1/findings/{id}",
    ] {
        let op = &doc["paths"][path]["get"];
        assert!(
            op["responses"]["304"]["headers"]["ETag"].is_object(),
            "{path}"
        );
        assert!(
            op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "If-None-Match" && p["in"] == "header"),
            "{path}"
        );
    }
}

/// The access role an operation requires is declared once, in its annotation: the document
/// shows it as `x-required-roles` and in the description.
#[test]
fn required_roles_are_documented() {
    let doc = itsms::http::openapi::document();
    let create = &doc["paths"]["/api/v1/processes"]["post"];
    assert_eq!(create["x-required-roles"], serde_json::json!(["manager"]));
    assert_eq!(create["security"], serde_json::json!([{"bearer": []}]));
    assert!(
        create["description"]
            .as_str()
            .unwrap()
            .ends_with("Requires: `manager`."),
        "{}",
        create["description"]
    );
    let users = &doc["paths"]["/api/v1/users"]["get"];
    assert_eq!(users["x-required-roles"], serde_json::json!(["admin"]));
}

/// A response built from an inlined request shape must not refuse its own other fields.
#[test]
fn all_of_members_are_open() {
    let doc = itsms::http::openapi::document();
    let mut closed = Vec::new();
    fn walk(value: &Value, at: &str, closed: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::Array(members)) = map.get("allOf") {
                    for m in members {
                        if m.get("additionalProperties").is_some() {
                            closed.push(at.to_string());
                        }
                    }
                }
                for (k, v) in map {
                    walk(v, &format!("{at}/{k}"), closed);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, at, closed)),
            _ => {}
        }
    }
    walk(&doc, "", &mut closed);
    assert!(closed.is_empty(), "{closed:?}");
}

/// Every operation that needs a token names the access roles it requires, in its annotation.
#[test]
fn every_operation_declares_its_roles() {
    let doc = itsms::http::openapi::document();
    let open_to_any_user = ["get_me", "logout"];
    let mut undeclared = Vec::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let id = op["operationId"].as_str().unwrap_or_default();
            let security = &op["security"];
            let public = security
                .as_array()
                .is_some_and(|s| s.is_empty() || s[0].as_object().is_some_and(|o| o.is_empty()));
            let scopes = op["x-required-roles"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            if !public && !scopes && !open_to_any_user.contains(&id) {
                undeclared.push(id.to_string());
            }
        }
    }
    assert!(undeclared.is_empty(), "{undeclared:?}");
}
