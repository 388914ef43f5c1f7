//! Extractors shared by every handler: the authenticated caller, JSON bodies with field-level
//! errors, `If-Match`, and response helpers for `ETag` and `Location`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{Bytes, Data};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::AppState;
use super::problem::{ApiError, Code};
use crate::service::Caller;

/// The request id given to (or generated for) the request.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The caller, from a valid `Authorization: Bearer` access token.
pub struct Auth(pub Caller);

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(authenticate(req).map(Auth))
    }
}

pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<Data<AppState>>()
        .expect("AppState is registered");
    let Some(token) = bearer_token(req) else {
        return Err(ApiError::unauthorized(
            "this endpoint needs `Authorization: Bearer <access token>`",
            None,
        ));
    };
    let principal = state.auth.verify_access_token(token)?;
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    Ok(Caller {
        principal,
        request_id,
    })
}

/// A JSON request body. Unlike `web::Json`, a body that does not fit the schema is a 422
/// naming the field; broken JSON is a 400; a wrong media type a 415.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json_type = req.mime_type().ok().flatten().is_some_and(|m| {
            m.subtype() == mime_json() || m.suffix().is_some_and(|s| s == mime_json())
        });
        let bytes = Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json_type {
                return Err(ApiError::new(
                    Code::UnsupportedMediaType,
                    "send the body as `application/json`",
                )
                .into());
            }
            let bytes = bytes.await?;
            parse_json(&bytes).map(JsonBody).map_err(Into::into)
        })
    }
}

fn mime_json() -> &'static str {
    "json"
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            return ApiError::new(
                Code::MalformedJson,
                format!("the body is not valid JSON: {inner}"),
            );
        }
        let path = e.path().to_string();
        let message = strip_position(&inner.to_string());
        // The path names an unknown field itself; a missing field only in the message.
        let field = match (path.as_str(), missing_field(&message)) {
            (".", Some(name)) => name,
            (".", None) => "body".into(),
            (p, Some(name)) => format!("{p}.{name}"),
            (p, None) => p.to_string(),
        };
        ApiError::field(Code::ValidationFailed, field, message)
    })?;
    de.end().map_err(|e| {
        ApiError::new(
            Code::MalformedJson,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    Ok(value)
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn quoted(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    let rest = rest.strip_prefix('`')?;
    rest.split('`').next().map(str::to_string)
}

fn missing_field(message: &str) -> Option<String> {
    quoted(message, "missing field ")
}

/// The version a client expects, from `If-Match: "<version>"`. `*` or no header: any.
/// A value that is not an entity tag at all is a 400.
pub struct IfMatch(pub Option<i64>);

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(value) = req.headers().get(header::IF_MATCH) else {
            return std::future::ready(Ok(IfMatch(None)));
        };
        let text = value.to_str().unwrap_or_default().trim();
        let parsed = if text == "*" {
            Ok(None)
        } else {
            text.strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .and_then(|t| t.parse::<i64>().ok())
                .map(Some)
                .ok_or_else(|| {
                    ApiError::field(
                        Code::BadRequest,
                        "If-Match",
                        "must be `*` or an ETag such as \"3\"",
                    )
                })
        };
        std::future::ready(parsed.map(IfMatch))
    }
}

pub fn etag(version: i64) -> header::EntityTag {
    header::EntityTag::new_strong(version.to_string())
}

/// 200 with the resource and its `ETag`.
pub fn ok_versioned<T: Serialize>(body: &T, version: i64) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(header::ETag(etag(version)))
        .json(body)
}

/// 201 with the new resource, its `Location` and `ETag`.
pub fn created<T: Serialize>(location: String, body: &T, version: i64) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .insert_header(header::ETag(etag(version)))
        .json(body)
}

/// The client's address, for login throttling (the peer address; no proxy headers are trusted).
pub fn client_addr(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        count: u8,
    }

    fn field_of(json: &str) -> (Code, String) {
        let e = parse_json::<Body>(json.as_bytes()).unwrap_err();
        (
            e.code,
            e.errors
                .first()
                .map(|f| f.field.clone())
                .unwrap_or_default(),
        )
    }

    #[test]
    fn names_the_field() {
        assert_eq!(
            field_of(r#"{"name": 1}"#),
            (Code::ValidationFailed, "name".into())
        );
        assert_eq!(
            field_of(r#"{"name": "a", "id": "x"}"#),
            (Code::ValidationFailed, "id".into())
        );
        assert_eq!(field_of(r#"{}"#), (Code::ValidationFailed, "name".into()));
        assert_eq!(
            field_of(r#"{"name": "a", "inner": {"count": 300}}"#),
            (Code::ValidationFailed, "inner.count".into())
        );
        assert_eq!(field_of(r#"{"name": "#).0, Code::MalformedJson);
        assert_eq!(field_of(r#"{"name": "a"} x"#).0, Code::MalformedJson);
    }
}
