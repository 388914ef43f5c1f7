//! Lists as CSV for `Accept: text/csv`: one row per item, one column per field.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;

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
    req.headers()
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

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => defuse(s),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            items.iter().map(cell).collect::<Vec<_>>().join("; ")
        }
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
            "code,name,clauses,owner,extra\r\nINC,\"Incident, major\",8.6.1; 8.6.2,,\r\nCHG,\"Say \"\"hi\"\"\",,x,1\r\n"
        );
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
