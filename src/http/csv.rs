//! Lists as CSV: one row per item, one column per field. `GET /api/v1/exports/{collection}`
//! is the list of that collection in CSV; `Accept: text/csv` on the list does the same.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::http::uri::{PathAndQuery, Uri};
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use super::route_table::RouteTable;

pub const EXPORTS: &str = "/api/v1/exports/";

/// Marks a request that came in as an export.
#[derive(Clone, Copy)]
struct Export;

/// Serves `GET /api/v1/exports/{collection}` with the list operation of the collection, so an
/// export takes the same filters, sort and paging as the list, answered in CSV.
pub async fn exports(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let collection = req
        .path()
        .strip_prefix(EXPORTS)
        .filter(|c| !c.is_empty() && !c.contains('/'))
        .map(str::to_string);
    let documented = req
        .app_data::<Data<RouteTable>>()
        .is_some_and(|table| table.methods_for(req.path()).iter().any(|m| m == "GET"));
    if let Some(collection) = collection.filter(|_| documented) {
        let target = match req.query_string() {
            "" => format!("/api/v1/{collection}"),
            query => format!("/api/v1/{collection}?{query}"),
        };
        let mut parts = req.head().uri.clone().into_parts();
        parts.path_and_query = Some(PathAndQuery::try_from(target).expect("a path from a path"));
        let uri = Uri::from_parts(parts).expect("a URI from a URI");
        req.match_info_mut().get_mut().update(&uri);
        req.head_mut().uri = uri;
        req.extensions_mut().insert(Export);
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// JSON, or CSV when the client asks for `text/csv`. The next page's cursor travels in
/// the `X-Next-Cursor` header, since CSV has no room for it.
pub fn list_response<T: Serialize>(req: &HttpRequest, list: &T) -> HttpResponse {
    if !wants_csv(req) {
        return HttpResponse::Ok()
            .insert_header((header::VARY, "Accept"))
            .json(list);
    }
    let document = serde_json::to_value(list).expect("lists serialize");
    let items = document["items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut response = HttpResponse::Ok();
    response
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::VARY, "Accept"));
    if let Some(cursor) = document["next_cursor"].as_str() {
        response.insert_header(("x-next-cursor", cursor));
    }
    response.body(to_csv(items))
}

fn wants_csv(req: &HttpRequest) -> bool {
    req.extensions().contains::<Export>()
        || req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.split(',').any(accepts_csv))
}

/// `text/csv` with a weight above zero.
fn accepts_csv(range: &str) -> bool {
    let mut parts = range.split(';').map(str::trim);
    parts.next() == Some("text/csv")
        && parts
            .filter_map(|p| p.strip_prefix("q="))
            .all(|q| q.parse::<f32>().is_ok_and(|q| q > 0.0))
}

/// The columns are the fields of the items, in the order they first appear.
pub fn to_csv(items: &[Value]) -> String {
    let mut columns: Vec<&str> = Vec::new();
    for item in items {
        for key in item.as_object().into_iter().flat_map(|o| o.keys()) {
            if !columns.contains(&key.as_str()) {
                columns.push(key);
            }
        }
    }
    let mut out = String::new();
    push_row(&mut out, columns.iter().map(|c| c.to_string()));
    for item in items {
        push_row(&mut out, columns.iter().map(|c| cell(&item[*c])));
    }
    out
}

/// Text as it is; a list or object as JSON, so every element comes back as it was.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => defuse(s),
        other => other.to_string(),
    }
}

fn push_row(out: &mut String, cells: impl Iterator<Item = String>) {
    let escaped: Vec<String> = cells.map(|c| escape(&c)).collect();
    out.push_str(&escaped.join(","));
    out.push_str("\r\n");
}

/// A leading `'` on text a spreadsheet would run as a formula.
fn defuse(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// RFC 4180 quoting.
fn escape(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_and_quoting() {
        let items = vec![
            json!({"code": "INC", "name": "Incident, major", "clauses": ["8.6.1", "8.6.2"], "owner": null}),
            json!({"code": "CHG", "name": "Say \"hi\"", "clauses": [], "owner": "x", "extra": 1}),
        ];
        assert_eq!(
            to_csv(&items),
            "code,name,clauses,owner,extra\r\nINC,\"Incident, major\",\"[\"\"8.6.1\"\",\"\"8.6.2\"\"]\",,\r\nCHG,\"Say \"\"hi\"\"\",[],x,1\r\n"
        );
    }

    /// RFC 4180 fields of one record (test reader).
    fn read_record(line: &str) -> Vec<String> {
        let (mut fields, mut field, mut quoted) = (vec![], String::new(), false);
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut field)),
                (c, _) => field.push(c),
            }
        }
        fields.push(field);
        fields
    }

    #[test]
    fn list_cells_round_trip() {
        let list = json!(["a; b", "c, \"d\"", "", "=1+1", "[x]"]);
        let text = to_csv(&[json!({ "items": list })]);
        let record = text.split("\r\n").nth(1).unwrap();
        let cell: Value = serde_json::from_str(&read_record(record)[0]).unwrap();
        assert_eq!(cell, list);
    }

    #[test]
    fn accept_weights() {
        assert!(accepts_csv("text/csv"));
        assert!(accepts_csv(" text/csv; q=0.5"));
        assert!(!accepts_csv("text/csv;q=0"));
        assert!(!accepts_csv("application/json"));
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(cell(&json!("=SUM(A1)")), "'=SUM(A1)");
        assert_eq!(cell(&json!("-x")), "'-x");
        assert_eq!(cell(&json!(-1)), "-1");
        assert_eq!(cell(&json!("plain")), "plain");
    }
}
