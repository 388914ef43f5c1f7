//! The OpenAPI 3.1 document: collected from the handlers' annotations, then completed with
//! what is the same for every operation (security, error responses, concurrency headers).

use serde_json::{Map, Value, json};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use super::csv::EXPORTS;
use super::handlers::assessments::AssessmentSort;
use super::handlers::audits::AuditSort;
use super::handlers::corrective_actions::CorrectiveActionSort;
use super::handlers::documents::DocumentSort;
use super::handlers::findings::FindingSort;
use super::handlers::improvements::ImprovementSort;
use super::handlers::management_reviews::ManagementReviewSort;
use super::handlers::objectives::{MeasurementSort, ObjectiveSort};
use super::handlers::processes::ProcessSort;
use super::handlers::risks::RiskSort;
use super::handlers::sms_roles::SmsRoleSort;
use super::handlers::training_records::TrainingRecordSort;
use super::handlers::users::UserSort;
use super::handlers::webhooks::{WebhookDeliverySort, WebhookSort};
use super::import_body::IMPORTS;
use super::problem::{Problem, ProblemField};
use crate::domain::import::ImportResource;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ITSMS API",
        description = "System of record for an ISO/IEC 20000-1:2018 service management system: processes, \
SMS roles, the clause catalog, users and the audit trail.\n\n\
Conventions: errors are RFC 9457 `application/problem+json` with a stable `code`; lists take `limit` \
(1-200), `cursor` (opaque, from `next_cursor`) and `include_total`; every list and report has a CSV export at \
`/api/v1/exports/{collection}` or `/api/v1/exports/reports/{report}` (a whole list is streamed; see the exports); a GET of one resource answers 304 to `If-None-Match` with its `ETag`; every resource has a `version`, \
returned as a strong `ETag`, and `If-Match` on PATCH, PUT, DELETE and transitions answers 412 when stale; \
PATCH takes a JSON merge patch (RFC 7396); POST honours `Idempotency-Key` for 24 hours; workflow \
resources carry `allowed_actions` for the calling user.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
        contact(name = "ITSMS maintainers", url = "https://github.com/itsms/itsms")
    ),
    servers((url = "/", description = "The server that serves this document (local, staging or production)")),
    tags(
        (name = "auth", description = "Log in, refresh and revoke tokens, exchange API keys"),
        (name = "users", description = "Users, access roles and service-account API keys (admin)"),
        (name = "clauses", description = "The ISO/IEC 20000-1:2018 clause catalog"),
        (name = "sms roles", description = "Organizational roles of the SMS (clause 5.3)"),
        (name = "processes", description = "Service management processes (clauses 4.4, 8), RACI and approval"),
        (name = "objectives", description = "Objectives, their 6.2.2 plans and measurements (clauses 6.2, 9.1)"),
        (name = "audits", description = "Internal and external audits (clause 9.2), their findings and the audit coverage"),
        (name = "corrective actions", description = "Corrective actions (clause 10.1): correction, root cause, action, verification of effectiveness"),
        (name = "competence", description = "Training records (clause 7.2): who completed which training or showed which competence, and until when"),
        (name = "reports", description = "Certification readiness and the other reports, computed from live data at the time of the request, as JSON or, through their exports, CSV"),
        (name = "improvements", description = "Improvements (clause 10.2): proposed, approved on their expected benefit, implemented, evaluated"),
        (name = "risks", description = "Risks and opportunities (clause 6.1): `score` = `likelihood` × `impact` (each 1-5); `level` is `low` for scores 1-6, `medium` for 8-12, `high` for 15-25; treated, accepted (directly from `identified` too) or closed; a treatment that needs work links to a corrective action or an improvement"),
        (name = "documents", description = "Documented information (clause 7.5): the document register, approval and review, and what the standard expects"),
        (name = "assessments", description = "Gap assessments: the SMS judged clause by clause, the gaps, and the change against an earlier assessment"),
        (name = "management reviews", description = "Management reviews (clause 9.3): inputs, attendees, decisions, approval, and the actions decided"),
        (name = "imports", description = "Bulk imports: a collection's records from a CSV file (the export's columns) or a JSON array, all or nothing"),
        (name = "audit trail", description = "Append-only, hash-chained record of every change (admin, auditor)"),
        (name = "events", description = "The change feed: domain events in commit order, by cursor, with a long poll (admin, auditor)"),
        (name = "webhooks", description = "Webhook subscriptions to domain events, signed with the Standard Webhooks scheme, and their delivery log (admin)"),
        (name = "operations", description = "Health and metrics"),
    ),
    // Schemas only query parameters refer to (utoipa collects those of bodies by itself).
    components(schemas(Problem, ProblemField, ProcessSort, SmsRoleSort, UserSort, ObjectiveSort, MeasurementSort, AuditSort, FindingSort, CorrectiveActionSort, ImprovementSort, RiskSort, DocumentSort, TrainingRecordSort, AssessmentSort, ManagementReviewSort, ImportResource, WebhookSort, WebhookDeliverySort))
)]
struct ApiDoc;

/// The complete document, as served at `/api-docs/openapi.json`.
pub fn document() -> Value {
    let (_, api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(super::routes)
        .split_for_parts();
    let mut doc = serde_json::to_value(api).expect("the OpenAPI document serializes");
    complete(&mut doc);
    doc
}

/// Operations that need no access token.
fn is_public(path: &str) -> bool {
    path.starts_with("/health")
        || path == "/metrics"
        || [
            "/api/v1/auth/login",
            "/api/v1/auth/refresh",
            "/api/v1/auth/token",
        ]
        .contains(&path)
}

fn problem_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

fn shared_responses() -> Value {
    let mut unauthorized = problem_response("Missing, invalid or expired access token");
    unauthorized["headers"] = json!({ "WWW-Authenticate": { "description": "`Bearer`, with the error", "schema": { "type": "string", "maxLength": 200 } } });
    let mut too_many = problem_response("Too many attempts");
    too_many["headers"] = json!({ "Retry-After": { "description": "Seconds to wait", "schema": { "type": "integer", "minimum": 1 } } });
    json!({
        "BadRequest": problem_response("Malformed request: broken JSON, bad query parameter or header"),
        "Unauthorized": unauthorized,
        "Forbidden": problem_response("The caller's roles do not allow this"),
        "NotFound": problem_response("No such resource"),
        "Conflict": problem_response("Conflicts with the current state: duplicate, in use, or an action not allowed now (`invalid_transition`, with `allowed_actions`)"),
        "PreconditionFailed": problem_response("`If-Match` does not match the current version"),
        "PayloadTooLarge": problem_response("The body is larger than the configured limit"),
        "UnsupportedMediaType": problem_response("The body is not JSON"),
        "UnprocessableEntity": problem_response("Invalid fields (`validation_failed`, with `errors`), a missing workflow precondition (`precondition_missing`) or a reused idempotency key"),
        "TooManyRequests": too_many,
        "InternalError": problem_response("The server could not complete the request; details are in its log"),
    })
}

fn add_response(op: &mut Map<String, Value>, status: &str, name: &str) {
    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("responses object");
    responses
        .entry(status)
        .or_insert_with(|| json!({ "$ref": format!("#/components/responses/{name}") }));
}

fn add_header_param(op: &mut Map<String, Value>, name: &str, description: &str, pattern: &str) {
    let params = op
        .entry("parameters")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .expect("parameters array");
    params.push(json!({
        "name": name, "in": "header", "required": false, "description": description,
        "schema": { "type": "string", "minLength": 1, "maxLength": 255, "pattern": pattern }
    }));
}

fn complete(doc: &mut Value) {
    doc["components"]["responses"] = shared_responses();
    doc["components"]["securitySchemes"] = json!({
        "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "Access token (JWT) from `/api/v1/auth/login` or `/api/v1/auth/token`, issued and validated following RFC8725: HS256 pinned, `iss`, `aud` and `exp` checked" }
    });
    doc["security"] = json!([{ "bearer": [] }]);
    doc["servers"][0]["x-internal"] = json!(false);
    add_exports(doc);
    mark_uuids(doc);
    bound_schemas(doc);
    close_request_schemas(doc);
    open_all_of_members(doc);
    let paths = doc["paths"].as_object_mut().expect("paths object");
    // The lists and reports with a CSV export at `/api/v1/exports/...`.
    let exported: Vec<String> = paths
        .keys()
        .filter_map(|p| p.strip_prefix(EXPORTS))
        .map(|collection| format!("/api/v1/{collection}"))
        .collect();
    for (path, item) in paths.iter_mut() {
        let has_id = path.contains('{');
        for (method, op) in item.as_object_mut().expect("path item").iter_mut() {
            let op = op.as_object_mut().expect("operation");
            let public = is_public(path);
            let has_body = op.contains_key("requestBody");
            let has_query = op
                .get("parameters")
                .and_then(Value::as_array)
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            add_response(op, "400", "BadRequest");
            if public {
                op.insert("security".into(), json!([]));
                if path.starts_with("/api/v1/auth") {
                    add_response(op, "401", "Unauthorized");
                }
            } else {
                add_response(op, "401", "Unauthorized");
                add_response(op, "403", "Forbidden");
            }
            if has_id {
                add_response(op, "404", "NotFound");
            }
            if has_body {
                add_response(op, "400", "BadRequest");
                add_response(op, "413", "PayloadTooLarge");
                add_response(op, "415", "UnsupportedMediaType");
                add_response(op, "422", "UnprocessableEntity");
            }
            if path.starts_with(EXPORTS) {
                describe_csv_export(op, !path.starts_with(&format!("{EXPORTS}reports/")));
            } else if method == "get" && exported.contains(path) {
                mention_csv_export(op, path);
            }
            if has_query {
                add_response(op, "400", "BadRequest");
                add_response(op, "422", "UnprocessableEntity");
            }
            let versioned = has_id
                && (method == "patch"
                    || method == "put"
                    || method == "delete"
                    || path.ends_with("/transitions")
                    || path.ends_with("/rotate-secret"));
            if versioned && !path.contains("api-keys") {
                add_header_param(
                    op,
                    "If-Match",
                    "The `ETag` last read; the change is refused with 412 if the resource changed since",
                    r#"^(\*|"[0-9]{1,18}")$"#,
                );
                add_response(op, "412", "PreconditionFailed");
            }
            if method == "post" && !public && super::middleware::is_replayable(path) {
                add_header_param(
                    op,
                    "Idempotency-Key",
                    "Makes a retry safe: the first response to this key is returned again for 24 hours",
                    "^[!-~]+$",
                );
                add_response(op, "409", "Conflict");
                add_response(op, "422", "UnprocessableEntity");
            }
            if method == "post" || method == "patch" || method == "delete" || method == "put" {
                add_response(op, "409", "Conflict");
            }
            if path == "/api/v1/auth/login" {
                add_response(op, "429", "TooManyRequests");
            }
            add_response(op, "500", "InternalError");
            let import = path.starts_with(IMPORTS);
            if import {
                describe_import(op);
            }
            let single = has_id
                && !import
                && !path.contains("api-keys")
                && !path.contains("/clauses")
                && !path.ends_with("/measurements")
                && !path.ends_with("/findings")
                && !path.ends_with("/history")
                && !path.ends_with("/summary")
                && !path.ends_with("/deliveries")
                && !path.ends_with("/ping")
                && !path.ends_with("/redeliver");
            let create = method == "post"
                && ([
                    "/api/v1/processes",
                    "/api/v1/roles",
                    "/api/v1/users",
                    "/api/v1/objectives",
                    "/api/v1/audits",
                    "/api/v1/corrective-actions",
                    "/api/v1/improvements",
                    "/api/v1/risks",
                    "/api/v1/documents",
                    "/api/v1/training-records",
                    "/api/v1/assessments",
                    "/api/v1/management-reviews",
                    "/api/v1/webhooks",
                ]
                .contains(&path.as_str())
                    || path == "/api/v1/audits/{id}/findings"
                    || path == "/api/v1/management-reviews/{id}/actions");
            describe_successes(op, single || create, !import);
            if single && method == "get" {
                offer_not_modified(op);
            }
            if !op.contains_key("description") {
                let summary = op.get("summary").cloned().unwrap_or_default();
                op.insert("description".into(), summary);
            }
            declare_required_roles(op);
        }
    }
}

/// The access roles a handler's annotation names as `bearer` scopes become the operation's
/// `x-required-roles` (what the service enforces) and close its description with
/// "Requires: manager."; the security requirement itself stays the plain bearer token, as
/// OpenAPI defines scopes for OAuth only.
fn declare_required_roles(op: &mut Map<String, Value>) {
    let scopes: Vec<Value> = op
        .get("security")
        .and_then(|s| s.pointer("/0/bearer"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if scopes.is_empty() {
        return;
    }
    op.insert("security".into(), json!([{ "bearer": [] }]));
    let roles: Vec<String> = scopes
        .iter()
        .filter_map(Value::as_str)
        .map(|r| format!("`{r}`"))
        .collect();
    let description = op["description"].as_str().unwrap_or_default();
    let described = format!("{description}\n\nRequires: {}.", roles.join(" or "));
    op.insert("description".into(), described.into());
    op.insert("x-required-roles".into(), Value::Array(scopes));
}

/// Each paginated list (a GET at `/api/v1/{collection}` taking `cursor`) and each report
/// (a GET at `/api/v1/reports/{report}`) gets its CSV export at `/api/v1/exports/...`,
/// with the same parameters; [`super::csv::exports`] serves it with the list or report
/// operation.
fn add_exports(doc: &mut Value) {
    let paths = doc["paths"].as_object_mut().expect("paths object");
    let mut exports = Vec::new();
    for (path, item) in paths.iter() {
        let Some(operation) = item["get"].as_object() else {
            continue;
        };
        let Some(exported) = path.strip_prefix("/api/v1/") else {
            continue;
        };
        let paginated = operation
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["in"] == "query" && p["name"] == "cursor")
            });
        let list = paginated && !exported.contains('/');
        let report = exported
            .strip_prefix("reports/")
            .is_some_and(|r| !r.is_empty() && !r.contains(['/', '{']));
        if !list && !report {
            continue;
        }
        let name = exported.replace(['-', '/'], "_");
        let title = exported.trim_start_matches("reports/").replace('-', " ");
        let (summary, description, ok) = if list {
            (
                format!("Export {title} as CSV."),
                format!(
                    "`GET {path}` as CSV, with the same filters and sort. Without `limit` and \
`cursor`, every matching row: the pages are read one after the other and streamed as a chunked body, \
so the size of the export has no limit. With `limit` or `cursor`, that one page, the next page's cursor in \
the `X-Next-Cursor` header. `include_total=true` adds `X-Total-Count`. Once streaming has begun, an error \
cannot become a problem document: the connection is closed before the body's end (an incomplete \
chunked transfer), so a truncated export never looks complete.\n\n{CSV_CELLS}"
                ),
                "Every matching row (or the page asked for) as CSV",
            )
        } else {
            (
                format!("Export the {title} report as CSV."),
                format!(
                    "The table of `GET {path}` as CSV (the operation's description names its columns).\n\n{CSV_CELLS}"
                ),
                "The report's table as CSV",
            )
        };
        let mut export = json!({
            "tags": operation.get("tags"),
            "summary": summary,
            "description": description,
            "operationId": format!("export_{name}"),
            "responses": { "200": { "description": ok } },
        });
        if let Some(parameters) = operation.get("parameters") {
            export["parameters"] = parameters.clone();
        }
        if let Some(security) = operation.get("security") {
            export["security"] = security.clone();
        }
        exports.push((format!("{EXPORTS}{exported}"), json!({ "get": export })));
    }
    paths.extend(exports);
}

/// How a CSV cell holds a value, as the export operations describe it.
const CSV_CELLS: &str = "CSV (RFC 4180, UTF-8, CRLF line ends): a header row of field names, then one \
row per item; a field with a comma, a quote or a line break is quoted, quotes doubled. A cell holds: \
nothing for null; a number or boolean as its JSON literal; a list or object as JSON (so `[\"a, b\"]` reads \
back exactly); text as it is, except that text that is empty or starts with `=`, `+`, `-`, `@`, a tab, a \
carriage return or `'` gets a leading `'` (a spreadsheet then never runs it as a formula, and empty text \
differs from null). To read a value back, read the cell by its field's type and, for text, remove one \
leading `'` when there is one.";

/// An export answers only CSV; a list export may carry the next page's cursor and the total.
fn describe_csv_export(op: &mut Map<String, Value>, list: bool) {
    let ok = &mut op["responses"]["200"];
    ok["content"] = json!({ "text/csv": { "schema": {
        "type": "string", "maxLength": 1_000_000_000_000_i64,
        "description": "A header row of field names, then one row per item (RFC 4180); see the operation's description for how a cell holds a value."
    } } });
    ok["headers"]["Content-Disposition"] = json!({
        "description": "`attachment` with a file name, e.g. `processes.csv`",
        "schema": { "type": "string", "maxLength": 200 }
    });
    if list {
        ok["headers"]["X-Next-Cursor"] = json!({
            "description": "With `limit` or `cursor`: the cursor of the next page (pass as `cursor`); absent on the last page and on a whole export",
            "schema": { "type": "string", "maxLength": 2048 }
        });
        ok["headers"]["X-Total-Count"] = json!({
            "description": "With `include_total=true`: how many items match",
            "schema": { "type": "integer", "format": "int64", "minimum": 0, "maximum": i64::MAX }
        });
    }
}

/// A list or report documents only JSON; `Accept: text/csv` still works, as a convenience.
fn mention_csv_export(op: &mut Map<String, Value>, path: &str) {
    let exported = path.trim_start_matches("/api/v1/");
    let about = op
        .get("description")
        .or_else(|| op.get("summary"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    op.insert(
        "description".into(),
        format!(
            "{about}\n\nFor CSV use `GET {EXPORTS}{exported}` (same parameters). \
`Accept: text/csv` on this operation answers the same CSV, but is not part of its documented responses."
        )
        .into(),
    );
}

/// An import's body is as large as `limits.max_import_bytes` allows, so its bounds are the
/// wide ones of an export.
fn describe_import(op: &mut Map<String, Value>) {
    let content = &mut op["requestBody"]["content"];
    content["text/csv"]["schema"] = json!({
        "type": "string", "maxLength": 1_000_000_000_i64,
        "description": "A header row with the export's column names, then one row per record (RFC 4180, UTF-8); cells as the export writes them"
    });
    content["application/json"]["schema"]["maxItems"] = json!(1_000_000);
}

/// `If-None-Match` with the current `ETag` answers 304 without a body.
fn offer_not_modified(op: &mut Map<String, Value>) {
    add_header_param(
        op,
        "If-None-Match",
        "`ETag`s already held; 304 Not Modified when one is the current version",
        super::middleware::IF_NONE_MATCH_PATTERN,
    );
    op["responses"]["304"] = json!({
        "description": "Not modified: the `ETag` in `If-None-Match` is current",
        "headers": { "ETag": { "description": "The resource's version", "schema": { "type": "string", "maxLength": 24 } } }
    });
}

/// Ids are UUIDs (`id`, `*_id`, the items of `*_ids`), in bodies, responses and parameters.
/// `request_id` is the exception: the client may choose it.
fn mark_uuids(value: &mut Value) {
    fn is_id(name: &str) -> bool {
        (name == "id" || name.ends_with("_id")) && name != "request_id"
    }
    fn mark(schema: &mut Value) {
        let is_string = match &schema["type"] {
            Value::String(t) => t == "string",
            Value::Array(ts) => ts.iter().any(|t| t == "string"),
            _ => false,
        };
        if is_string {
            schema["format"] = "uuid".into();
            schema["maxLength"] = 36.into();
        }
    }
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get_mut("properties") {
                for (name, schema) in properties.iter_mut() {
                    if is_id(name) {
                        mark(schema);
                    } else if let Some(items) = schema
                        .get_mut("items")
                        .filter(|_| name.len() > "_ids".len() && name.ends_with("_ids"))
                    {
                        mark(items);
                    }
                }
            }
            let is_parameter = map.get("in").is_some_and(|i| i == "path" || i == "query");
            let names_an_id = map.get("name").and_then(Value::as_str).is_some_and(is_id);
            if let Some(schema) = map
                .get_mut("schema")
                .filter(|_| is_parameter && names_an_id)
            {
                mark(schema);
            }
            map.values_mut().for_each(mark_uuids);
        }
        Value::Array(items) => items.iter_mut().for_each(mark_uuids),
        _ => {}
    }
}

/// Success responses get a description and, for versioned resources, their `ETag` (and `Location` on 201).
fn describe_successes(op: &mut Map<String, Value>, versioned: bool, located: bool) {
    let responses = op
        .get_mut("responses")
        .and_then(Value::as_object_mut)
        .expect("responses object");
    for (status, response) in responses.iter_mut() {
        let Some(response) = response.as_object_mut().filter(|r| !r.contains_key("$ref")) else {
            continue;
        };
        let description = match status.as_str() {
            "201" => "Created",
            "204" => "No content",
            _ => "OK",
        };
        let has_description = response
            .get("description")
            .and_then(Value::as_str)
            .is_some_and(|d| !d.is_empty());
        if !has_description {
            response.insert("description".into(), description.into());
        }
        let headers = response
            .entry("headers")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("headers object");
        if versioned && (status == "200" || status == "201") {
            headers.insert("ETag".into(), json!({ "description": "The resource's version, for `If-Match`", "schema": { "type": "string", "maxLength": 24 } }));
        }
        if status == "201" && located {
            headers.insert("Location".into(), json!({ "description": "The new resource's URL", "schema": { "type": "string", "maxLength": 200 } }));
        }
        if headers.is_empty() {
            response.remove("headers");
        }
    }
}

/// Gives every string, array and integer in the document an upper bound (and integers a
/// format), so clients and validators know the limits. Bounds set on a field are kept;
/// the defaults here are wide ones for what the service itself produces.
fn bound_schemas(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let types: Vec<String> = match map.get("type") {
                Some(Value::String(t)) => vec![t.clone()],
                Some(Value::Array(ts)) => ts
                    .iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect(),
                _ => vec![],
            };
            let unbounded = !map.contains_key("enum") && !map.contains_key("const");
            if types.iter().any(|t| t == "string") && unbounded && !map.contains_key("maxLength") {
                let max = match map.get("format").and_then(Value::as_str) {
                    Some("date") => 10,
                    Some("date-time") => 40,
                    _ => 10_000,
                };
                map.insert("maxLength".into(), max.into());
            }
            if types.iter().any(|t| t == "array") && !map.contains_key("maxItems") {
                map.insert("maxItems".into(), 1000.into());
            }
            if types.iter().any(|t| t == "integer") {
                map.entry("format").or_insert_with(|| "int64".into());
                map.entry("minimum").or_insert_with(|| 0.into());
                map.entry("maximum").or_insert_with(|| i64::MAX.into());
            }
            for child in map.values_mut() {
                bound_schemas(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(bound_schemas),
        _ => {}
    }
}

/// Request bodies refuse unknown fields, so their schemas say so.
fn close_request_schemas(doc: &mut Value) {
    let mut pending: Vec<String> = Vec::new();
    for item in doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|paths| paths.values())
    {
        for operation in item.as_object().into_iter().flat_map(|ops| ops.values()) {
            collect_refs(&operation["requestBody"], &mut pending);
        }
    }
    let mut done: Vec<String> = Vec::new();
    while let Some(name) = pending.pop() {
        if done.contains(&name) {
            continue;
        }
        let schema = &mut doc["components"]["schemas"][&name];
        if schema.get("properties").is_some() {
            schema["additionalProperties"] = json!(false);
        }
        let nested = schema.clone();
        collect_refs(&nested, &mut pending);
        done.push(name);
    }
}

/// The members of an `allOf` each describe part of one object, so none of them may refuse
/// the properties the others add (a closed request shape inlined into a response).
fn open_all_of_members(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(members)) = map.get_mut("allOf") {
                for member in members.iter_mut().filter_map(Value::as_object_mut) {
                    member.remove("additionalProperties");
                }
            }
            map.values_mut().for_each(open_all_of_members);
        }
        Value::Array(items) => items.iter_mut().for_each(open_all_of_members),
        _ => {}
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                out.push(name.to_string());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
