//! Lists and reports as CSV (RFC 4180): a header row of field names, then one row per item.
//!
//! `GET /api/v1/exports/{collection}` is the list of that collection in CSV, and
//! `GET /api/v1/exports/reports/{report}` the table of that report; `Accept: text/csv` on
//! the list or report does the same. An export is served by the list or report operation
//! itself, so it takes the same filters and sort and the same access rules.
//!
//! A list exported without `limit` and without `cursor` answers every matching row: the
//! pages are read one after the other by keyset (200 rows a query) and written as they
//! come, as a chunked body, so memory stays flat whatever the number of rows. With `limit`
//! or `cursor` it answers that one page, the next cursor in `X-Next-Cursor`.
//!
//! Once the first bytes are sent, the status is 200 and cannot become a problem document:
//! an error on a later page is logged with the request id, and the connection is closed
//! before the chunked body's end, so a client sees an incomplete transfer, never a short
//! CSV that looks complete.
//!
//! Cells ([`cell`]): null is an empty cell; a number or a boolean is its JSON literal; a
//! list or an object is JSON; text is the text, with a `'` put in front when it is empty or
//! starts with `=`, `+`, `-`, `@`, a tab, a carriage return or `'`. A spreadsheet thus never
//! runs a cell as a formula, and a reader gets the exact value back by reading each cell by
//! its field's type and, for text, removing one leading `'` when there is one.

use std::collections::HashMap;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::uri::{PathAndQuery, Uri};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder};
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::extract::RequestId;
use super::pagination::PageQuery;
use super::problem::ApiError;
use super::route_table::RouteTable;
use crate::persistence::page::{MAX_LIMIT, Page, PageRequest};

pub const EXPORTS: &str = "/api/v1/exports/";

pub const CSV: &str = "text/csv; charset=utf-8";

/// Marks a request that came in as an export, with the name of the file it answers.
#[derive(Clone)]
struct Export {
    file: String,
}

/// Serves `GET /api/v1/exports/{path}` with the operation at `/api/v1/{path}` (a list or a
/// report), so an export takes the same filters, sort and paging, answered in CSV. Only the
/// exports the OpenAPI document lists are served.
pub async fn exports(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    // Only a read is an export: other methods fall through to 405.
    let is_read = matches!(*req.method(), Method::GET | Method::HEAD);
    let exported = req
        .path()
        .strip_prefix(EXPORTS)
        .filter(|_| is_read)
        .filter(|rest| !rest.is_empty())
        .map(str::to_string)
        .filter(|_| {
            req.app_data::<Data<RouteTable>>()
                .is_some_and(|table| table.methods_for(req.path()).iter().any(|m| m == "GET"))
        });
    if let Some(exported) = exported {
        let target = match req.query_string() {
            "" => format!("/api/v1/{exported}"),
            query => format!("/api/v1/{exported}?{query}"),
        };
        let mut parts = req.head().uri.clone().into_parts();
        parts.path_and_query = Some(PathAndQuery::try_from(target).expect("a path from a path"));
        let uri = Uri::from_parts(parts).expect("a URI from a URI");
        req.match_info_mut().get_mut().update(&uri);
        req.head_mut().uri = uri;
        req.extensions_mut().insert(Export {
            file: format!("{}.csv", exported.replace('/', "-")),
        });
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The answer of a list operation: its page as JSON (`L`, the documented list shape), or
/// CSV for an export or `Accept: text/csv` — every matching row streamed when neither
/// `limit` nor `cursor` is given, else that one page. `fetch` reads one page through the
/// service (which checks the caller's access) with the list's filters; it is called for
/// each page of a streamed export.
///
/// The first page is read before anything is answered, so a refused caller, a bad sort or
/// a bad cursor is still a problem document.
pub async fn list<L, T, F>(
    req: &HttpRequest,
    page: &PageQuery,
    sort: Option<&str>,
    fetch: F,
) -> Result<HttpResponse, ApiError>
where
    L: From<Page<T>> + Serialize,
    T: Serialize + ToSchema + 'static,
    F: AsyncFn(PageRequest) -> crate::error::Result<Page<T>> + 'static,
{
    let mut request = page.request(sort)?;
    let csv = wants_csv(req);
    let streamed = csv && page.limit.is_none() && page.cursor.is_none();
    if streamed {
        request.limit = MAX_LIMIT;
    }
    let first = fetch(request.clone()).await?;
    if !csv {
        return Ok(HttpResponse::Ok()
            .insert_header((header::VARY, "Accept"))
            .json(L::from(first)));
    }
    let mut response = csv_response(req);
    if let Some(total) = first.total {
        response.insert_header(("x-total-count", total.to_string()));
    }
    let columns = columns(&first.items);
    let mut text = header_row(&columns);
    push_rows(&mut text, &columns, &first.items);
    if !streamed {
        if let Some(cursor) = &first.next_cursor {
            response.insert_header(("x-next-cursor", cursor.as_str()));
        }
        return Ok(response.body(text));
    }
    let pages = Pages {
        fetch,
        next: first.next_cursor.map(|cursor| PageRequest {
            cursor: Some(cursor),
            include_total: false,
            ..request
        }),
        columns,
        rows: first.items.len() as u64,
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        path: req.path().to_string(),
    };
    let rest = stream::unfold(pages, Pages::next_chunk::<T>);
    let body = stream::once(async move { Ok(Bytes::from(text)) }).chain(rest);
    Ok(response.streaming(body))
}

/// The pages of a streamed export after the first.
struct Pages<F> {
    fetch: F,
    next: Option<PageRequest>,
    columns: Vec<String>,
    /// Rows written so far (for the log).
    rows: u64,
    request_id: Option<String>,
    path: String,
}

impl<F> Pages<F> {
    /// The next page as CSV rows; after an error, the end (the connection is then closed
    /// without the chunked body's last chunk).
    async fn next_chunk<T>(mut self) -> Option<(Result<Bytes, std::io::Error>, Self)>
    where
        T: Serialize,
        F: AsyncFn(PageRequest) -> crate::error::Result<Page<T>>,
    {
        let request = self.next.take()?;
        match (self.fetch)(request.clone()).await {
            Ok(page) => {
                let mut text = String::new();
                push_rows(&mut text, &self.columns, &page.items);
                self.rows += page.items.len() as u64;
                self.next = page.next_cursor.map(|cursor| PageRequest {
                    cursor: Some(cursor),
                    ..request
                });
                Some((Ok(Bytes::from(text)), self))
            }
            Err(error) => {
                tracing::error!(
                    request_id = self.request_id.as_deref().unwrap_or_default(),
                    path = %self.path,
                    rows_sent = self.rows,
                    %error,
                    "CSV export stopped early: the connection is closed before the end of the body"
                );
                let stopped = std::io::Error::other("the export stopped early");
                Some((Err(stopped), self))
            }
        }
    }
}

/// The answer of a report operation: the report as JSON, or the rows `table` makes of it
/// as CSV, for an export or `Accept: text/csv`. A report handler ends with
/// `Ok(csv::report(&req, &report, |r| r.items.clone()))`.
pub fn report<R, Row>(
    req: &HttpRequest,
    report: &R,
    table: impl FnOnce(&R) -> Vec<Row>,
) -> HttpResponse
where
    R: Serialize,
    Row: Serialize + ToSchema,
{
    if !wants_csv(req) {
        return HttpResponse::Ok()
            .insert_header((header::VARY, "Accept"))
            .json(report);
    }
    csv_response(req).body(to_csv(&table(report)))
}

/// A 200 with the CSV media type; an export also names its file.
fn csv_response(req: &HttpRequest) -> HttpResponseBuilder {
    let mut response = HttpResponse::Ok();
    response
        .content_type(CSV)
        .insert_header((header::VARY, "Accept"));
    if let Some(export) = req.extensions().get::<Export>() {
        response.insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", export.file),
        ));
    }
    response
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

/// A header row and one row per item.
pub fn to_csv<T: Serialize + ToSchema>(items: &[T]) -> String {
    let columns = columns(items);
    let mut text = header_row(&columns);
    push_rows(&mut text, &columns, items);
    text
}

/// The columns: the fields of the first item in the order it serializes them (every item of
/// a type has the same fields); without items, the fields of the type's schema.
fn columns<T: Serialize + ToSchema>(items: &[T]) -> Vec<String> {
    match items.first().map(serde_json::to_value) {
        Some(Ok(Value::Object(first))) => first.keys().cloned().collect(),
        _ => schema_columns::<T>(),
    }
}

/// The property names of a type's schema, through `allOf` members and references.
fn schema_columns<T: ToSchema>() -> Vec<String> {
    fn collect(schema: &Value, named: &HashMap<String, Value>, out: &mut Vec<String>) {
        if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
            if let Some(target) = named.get(name) {
                collect(target, named, out);
            }
            return;
        }
        for name in schema["properties"]
            .as_object()
            .into_iter()
            .flat_map(|p| p.keys())
        {
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
        for member in schema["allOf"].as_array().into_iter().flatten() {
            collect(member, named, out);
        }
    }
    let mut referenced = Vec::new();
    T::schemas(&mut referenced);
    let named: HashMap<String, Value> = referenced
        .into_iter()
        .filter_map(|(name, schema)| Some((name, serde_json::to_value(schema).ok()?)))
        .collect();
    let mut out = Vec::new();
    let schema = serde_json::to_value(T::schema()).unwrap_or_default();
    collect(&schema, &named, &mut out);
    out
}

fn header_row(columns: &[String]) -> String {
    let mut text = String::new();
    push_row(&mut text, columns.iter().map(|c| escape(c)));
    text
}

fn push_rows<T: Serialize>(text: &mut String, columns: &[String], items: &[T]) {
    for item in items {
        let value = serde_json::to_value(item).unwrap_or_default();
        push_row(
            text,
            columns.iter().map(|c| escape(&cell(&value[c.as_str()]))),
        );
    }
}

fn push_row(text: &mut String, cells: impl Iterator<Item = String>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&cell);
    }
    text.push_str("\r\n");
}

/// A value as its cell (before RFC 4180 quoting): text as it is (see [`text_cell`]), null
/// empty, anything else as JSON, so a list comes back with every element as it was.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => text_cell(s),
        other => other.to_string(),
    }
}

/// Text that a spreadsheet would run as a formula gets a leading `'`; so does empty text
/// (to tell it from null) and text starting with `'` (so that a reader removes exactly one
/// leading `'` to get the text back).
pub fn text_cell(text: &str) -> String {
    if text.is_empty() || text.starts_with(['=', '+', '-', '@', '\t', '\r', '\'']) {
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

    #[derive(Serialize, ToSchema)]
    struct Row {
        code: String,
        name: String,
        clauses: Vec<String>,
        owner: Option<String>,
        score: Option<f64>,
    }

    fn row(code: &str, name: &str, clauses: &[&str], owner: Option<&str>) -> Row {
        Row {
            code: code.into(),
            name: name.into(),
            clauses: clauses.iter().map(|c| c.to_string()).collect(),
            owner: owner.map(Into::into),
            score: None,
        }
    }

    #[test]
    fn rows_and_quoting() {
        let items = [
            row("INC", "Incident, major", &["8.6.1", "8.6.2"], None),
            row("CHG", "Say \"hi\"", &[], Some("x")),
        ];
        assert_eq!(
            to_csv(&items),
            "code,name,clauses,owner,score\r\nINC,\"Incident, major\",\"[\"\"8.6.1\"\",\"\"8.6.2\"\"]\",,\r\nCHG,\"Say \"\"hi\"\"\",[],x,\r\n"
        );
    }

    #[test]
    fn an_empty_table_still_has_its_header() {
        assert_eq!(to_csv::<Row>(&[]), "code,name,clauses,owner,score\r\n");
    }

    /// The reading rule the exports document: empty is null, text loses one leading `'`.
    fn read_text(cell: &str) -> Option<String> {
        if cell.is_empty() {
            return None;
        }
        Some(cell.strip_prefix('\'').unwrap_or(cell).to_string())
    }

    #[test]
    fn text_round_trips_and_formulas_are_defused() {
        for text in [
            "",
            "'",
            "''x",
            "'=1",
            "=SUM(A1)",
            "+1",
            "-x",
            "@cmd",
            "\tx",
            "\rx",
            "plain",
            "12",
            "[1]",
            "null",
            "a, \"b\"\nc",
        ] {
            let cell = text_cell(text);
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell}"
            );
            assert_eq!(read_text(&cell).as_deref(), Some(text), "{text:?}");
        }
        assert_eq!(read_text(&cell(&Value::Null)), None);
        assert_eq!(cell(&json!("=SUM(A1)")), "'=SUM(A1)");
        assert_eq!(cell(&json!(-1)), "-1", "numbers are not text");
        assert_eq!(cell(&json!(2.5)), "2.5");
        assert_eq!(cell(&json!(true)), "true");
    }

    #[test]
    fn list_cells_are_json() {
        let list = json!(["a; b", "c, \"d\"", "", "=1+1", "[x]"]);
        let cell = cell(&list);
        assert_eq!(serde_json::from_str::<Value>(&cell).unwrap(), list);
    }

    #[test]
    fn accept_weights() {
        assert!(accepts_csv("text/csv"));
        assert!(accepts_csv(" text/csv; q=0.5"));
        assert!(!accepts_csv("text/csv;q=0"));
        assert!(!accepts_csv("application/json"));
    }

    fn page_of(rows: Vec<Row>, next: Option<&str>) -> Page<Row> {
        Page {
            items: rows,
            next_cursor: next.map(Into::into),
            total: None,
        }
    }

    #[actix_web::test]
    async fn a_failing_page_ends_the_stream_with_an_error() {
        let pages = Pages {
            fetch: async |request: PageRequest| match request.cursor.as_deref() {
                Some("2") => Ok(page_of(vec![row("B", "b", &[], None)], Some("3"))),
                _ => Err(crate::error::Error::Internal("gone".into())),
            },
            next: Some(PageRequest {
                cursor: Some("2".into()),
                ..Default::default()
            }),
            columns: vec!["code".into()],
            rows: 1,
            request_id: None,
            path: "/api/v1/exports/x".into(),
        };
        let chunks: Vec<_> = stream::unfold(pages, Pages::next_chunk::<Row>)
            .collect()
            .await;
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].as_ref().unwrap(), "B\r\n");
        assert!(chunks[1].is_err());
    }
}
