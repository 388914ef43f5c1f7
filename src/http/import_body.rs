//! The body of a bulk import: read under its own size limit, and turned into rows, from CSV
//! (the export's format, read back) or from a JSON array.

use actix_web::HttpRequest;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde_json::{Map, Value};

use super::problem::{ApiError, Code};
use crate::domain::DomainError;
use crate::domain::validation::FieldError;
use crate::service::imports::{CellKind, Columns, Row};

pub const IMPORTS: &str = "/api/v1/imports/";

/// The body limit of imports (`limits.max_import_bytes`).
#[derive(Debug, Clone, Copy)]
pub struct ImportLimit(pub usize);

/// Reads a whole body of at most `limit` bytes: a larger one is refused with 413 as soon
/// as its `Content-Length` or its bytes say so.
pub async fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            Code::PayloadTooLarge,
            format!("an import body may hold at most {limit} bytes (limits.max_import_bytes)"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(Code::BadRequest, format!("the body could not be read: {e}"))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// What the body is, by its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

pub fn format(req: &HttpRequest) -> Result<Format, ApiError> {
    let mime = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<media_type::Mime>().ok());
    match mime {
        Some(m) if m.is("text", "csv") => Ok(Format::Csv),
        Some(m) if m.is_json() => Ok(Format::Json),
        _ => Err(ApiError::new(
            Code::UnsupportedMediaType,
            "send the rows as `text/csv` (the export's columns) or as an `application/json` array",
        )),
    }
}

/// A media type, as far as an import needs it: `type/subtype[+suffix]; parameters`.
mod media_type {
    pub struct Mime {
        kind: String,
        subtype: String,
    }

    impl std::str::FromStr for Mime {
        type Err = ();
        fn from_str(s: &str) -> Result<Self, ()> {
            let essence = s.split(';').next().unwrap_or_default().trim();
            let (kind, subtype) = essence.split_once('/').ok_or(())?;
            Ok(Mime {
                kind: kind.trim().to_ascii_lowercase(),
                subtype: subtype.trim().to_ascii_lowercase(),
            })
        }
    }

    impl Mime {
        pub fn is(&self, kind: &str, subtype: &str) -> bool {
            self.kind == kind && self.subtype == subtype
        }

        pub fn is_json(&self) -> bool {
            self.kind == "application"
                && (self.subtype == "json" || self.subtype.ends_with("+json"))
        }
    }
}

/// The rows of a JSON import: an array of objects, numbered from 1.
pub fn json_rows(bytes: &[u8]) -> Result<Vec<Row>, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            Code::MalformedJson,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    let Value::Array(items) = value else {
        return Err(ApiError::field(
            Code::ValidationFailed,
            "body",
            "must be a JSON array of objects, one per record",
        ));
    };
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(values) => Row::new(i + 1, values),
            _ => Row {
                problems: vec![(String::new(), "must be an object".into())],
                ..Row::new(i + 1, Map::new())
            },
        })
        .collect())
}

/// The rows of a CSV import (RFC 4180, UTF-8, an optional byte-order mark): a header row of
/// column names, then one row per record, numbered from 1 after the header (a quoted cell
/// may span lines; rows whose cells are all empty are skipped but counted). A cell is read
/// as the exports write it: empty is absent (null), text loses one leading `'`, numbers,
/// booleans, lists and objects are JSON.
pub fn csv_rows(bytes: &[u8], columns: &Columns) -> Result<Vec<Row>, ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::new(Code::BadRequest, "the CSV must be UTF-8 text"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| ApiError::new(Code::BadRequest, format!("the CSV cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    check_header(&header, columns)?;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let number = i + 1;
        let record = record.map_err(|e| {
            ApiError::new(
                Code::BadRequest,
                format!("the CSV cannot be read at row {number}: {e}"),
            )
        })?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        let mut row = Row::new(number, Map::new());
        if record.len() != header.len() {
            row.problems.push((
                String::new(),
                format!(
                    "has {} cells; the header has {} columns",
                    record.len(),
                    header.len()
                ),
            ));
            rows.push(row);
            continue;
        }
        for (name, cell) in header.iter().zip(record.iter()) {
            let kind = columns.kind(name).unwrap_or(CellKind::Ignored);
            match read_cell(cell, kind) {
                Ok(Some(value)) => {
                    row.values.insert(name.clone(), value);
                }
                Ok(None) => {}
                Err(message) => row.problems.push((name.clone(), message)),
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Every column must be one the import knows, once; every column a create needs must be
/// there.
fn check_header(header: &[String], columns: &Columns) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    for (i, name) in header.iter().enumerate() {
        if columns.kind(name).is_none() {
            let known: Vec<&str> = columns
                .kinds
                .iter()
                .filter(|(_, k)| *k != CellKind::Ignored)
                .map(|(n, _)| n.as_str())
                .collect();
            errors.push(FieldError::new(
                format!("header[{}]", i + 1),
                format!(
                    "`{name}` is not a column of this import; it reads {}",
                    known.join(", ")
                ),
            ));
        } else if header[..i].contains(name) {
            errors.push(FieldError::new(
                format!("header[{}]", i + 1),
                format!("`{name}` is given twice"),
            ));
        }
    }
    for required in &columns.required {
        if !header.contains(required) {
            errors.push(FieldError::new(
                "header",
                format!("the column `{required}` is needed"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Validation(errors).into())
    }
}

/// A cell's value: `None` for an empty cell.
fn read_cell(cell: &str, kind: CellKind) -> Result<Option<Value>, String> {
    if cell.is_empty() {
        return Ok(None);
    }
    match kind {
        CellKind::Ignored => Ok(None),
        CellKind::Text => Ok(Some(Value::String(
            cell.strip_prefix('\'').unwrap_or(cell).to_string(),
        ))),
        CellKind::Json => serde_json::from_str(cell.trim()).map(Some).map_err(|_| {
            "must be written as JSON: a number, true or false, or a list such as [\"8.6.1\"]"
                .to_string()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::csv::cell;
    use crate::service::imports::{ImportResource, columns};
    use serde_json::json;

    #[test]
    fn cells_read_back_what_the_export_wrote() {
        for text in ["", "'", "=SUM(A1)", "-x", "plain", "12", "[1]", "null"] {
            let written = cell(&json!(text));
            assert_eq!(
                read_cell(&written, CellKind::Text).unwrap(),
                Some(json!(text)),
                "{text:?}"
            );
        }
        for value in [json!(-1), json!(2.5), json!(true), json!(["a, b", "=1"])] {
            let written = cell(&value);
            assert_eq!(read_cell(&written, CellKind::Json).unwrap(), Some(value));
        }
        assert_eq!(
            read_cell(&cell(&Value::Null), CellKind::Text).unwrap(),
            None
        );
        assert!(read_cell("8.6.1, 8.6.2", CellKind::Json).is_err());
    }

    #[test]
    fn rows_are_numbered_after_the_header() {
        let processes = columns(ImportResource::Processes);
        let csv = "\u{feff}code,name,clauses,version\r\nINC,\"Incidents, major\",\"[\"\"8.6.1\"\"]\",3\r\n,,,\r\nCHG,Changes,x,1\r\nPRB\r\n";
        let rows = csv_rows(csv.as_bytes(), &processes).unwrap();
        let numbers: Vec<usize> = rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers, [1, 3, 4]);
        assert_eq!(rows[0].values["name"], "Incidents, major");
        assert_eq!(rows[0].values["clauses"], json!(["8.6.1"]));
        assert!(
            !rows[0].values.contains_key("version"),
            "read-only columns are not read"
        );
        assert_eq!(rows[1].problems[0].0, "clauses");
        assert_eq!(rows[2].problems[0].0, "");
    }

    #[test]
    fn the_header_names_known_columns() {
        let processes = columns(ImportResource::Processes);
        let e = csv_rows(b"code,nmae,code\r\n", &processes).unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["header[2]", "header[3]", "header"]);
    }

    #[test]
    fn json_rows_are_objects() {
        let rows = json_rows(br#"[{"code": "INC"}, 3]"#).unwrap();
        assert_eq!(rows[1].number, 2);
        assert!(!rows[1].problems.is_empty());
        assert_eq!(json_rows(b"{}").unwrap_err().code, Code::ValidationFailed);
        assert_eq!(json_rows(b"[").unwrap_err().code, Code::MalformedJson);
    }
}
