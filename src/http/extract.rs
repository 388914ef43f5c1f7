//! Extractors shared by every handler: the authenticated caller, JSON bodies with field-level
//! errors, `If-Match`, and response helpers for `ETag` and `Location`.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{Bytes, Data};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::AppState;
use super::problem::{ApiError, Code};
use super::route_table::RouteTable;
use crate::domain::access::Principal;
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
    ensure_required_role(req, &principal)?;
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    Ok(Caller {
        principal,
        request_id,
        now: state.clock.now(),
    })
}

/// The access roles an operation's annotation requires (`security(("bearer" = [...]))`),
/// read from the served document, so the rule a handler shows is the rule enforced.
fn ensure_required_role(req: &HttpRequest, principal: &Principal) -> Result<(), ApiError> {
    let Some(table) = req.app_data::<Data<RouteTable>>() else {
        return Ok(());
    };
    let roles = table.required_roles(req.method().as_str(), req.path());
    if roles.is_empty() || principal.has_any(roles) {
        return Ok(());
    }
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    Err(ApiError::new(
        Code::Forbidden,
        format!(
            "this operation requires the access role {}",
            names.join(" or ")
        ),
    ))
}

/// A JSON request body. Unlike `web::Json`, a body that does not fit the schema is a 422
/// naming the field; broken JSON is a 400; a wrong media type a 415.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = json_bytes(req, payload);
        Box::pin(async move { parse_json(&bytes.await?).map(JsonBody).map_err(Into::into) })
    }
}

/// The raw body of a request that must be JSON: 415 for another media type.
pub fn json_bytes(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<Bytes, actix_web::Error>> + 'static {
    let json_type = req.mime_type().ok().flatten().is_some_and(|m| {
        m.subtype() == mime_json() || m.suffix().is_some_and(|s| s == mime_json())
    });
    let bytes = Bytes::from_request(req, payload);
    async move {
        if !json_type {
            return Err(ApiError::new(
                Code::UnsupportedMediaType,
                "send the body as `application/json`",
            )
            .into());
        }
        bytes.await
    }
}

fn mime_json() -> &'static str {
    "json"
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // PostgreSQL cannot store NUL in text, so no string may carry one, whatever its field.
    if let Some(field) = nul_field(bytes) {
        return Err(ApiError::field(
            Code::ValidationFailed,
            field,
            "must not contain the NUL character",
        ));
    }
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
        // The path names an unknown field itself; a missing or repeated one only in the message.
        let named = missing_field(&message).or_else(|| quoted(&message, "duplicate field "));
        let field = match (path.as_str(), named) {
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

/// The path of the first string (or key) with a NUL character, `body` at the top.
fn nul_field(bytes: &[u8]) -> Option<String> {
    // Raw NUL is not valid JSON; only the escape can carry one.
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    find_nul(&value, "")
}

fn find_nul(value: &serde_json::Value, path: &str) -> Option<String> {
    let here = || Some(if path.is_empty() { "body" } else { path }.to_string());
    match value {
        serde_json::Value::String(s) if s.contains('\0') => here(),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_nul(v, &format!("{path}[{i}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                return here();
            }
            let field = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            find_nul(v, &field)
        }),
        _ => None,
    }
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

/// The client's address, for login throttling: the TCP peer, or, when the peer is one of
/// `server.trusted_proxies`, what `X-Forwarded-For` says (see [`choose_client_addr`]).
pub fn client_addr(req: &HttpRequest) -> String {
    let trusted = req
        .app_data::<Data<AppState>>()
        .map_or(&[][..], |state| state.trusted_proxies.as_slice());
    // A value that is not text counts as an entry that is not an address.
    let forwarded_for: Vec<&str> = req
        .headers()
        .get_all(X_FORWARDED_FOR)
        .map(|v| v.to_str().unwrap_or(""))
        .collect();
    choose_client_addr(req.peer_addr().map(|a| a.ip()), &forwarded_for, trusted)
        .map_or_else(|| "unknown".into(), |ip| ip.to_string())
}

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client address from the TCP peer, the `X-Forwarded-For` header values (in order) and
/// the trusted proxies. An untrusted peer is the client. Otherwise the entries are read from
/// the right (the one the nearest proxy appended) and trusted proxies skipped: the first
/// other address is the client. When an entry is not an address, or every entry is a
/// trusted proxy, the last trusted hop is the client (the entries left of it could be
/// anything the client sent).
pub fn choose_client_addr(
    peer: Option<IpAddr>,
    forwarded_for: &[&str],
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let mut nearest = peer;
    for entry in forwarded_for.iter().rev().flat_map(|v| v.rsplit(',')) {
        let Some(ip) = parse_forwarded_entry(entry) else {
            break;
        };
        if !trusted.contains(&ip) {
            return Some(ip);
        }
        nearest = ip;
    }
    Some(nearest)
}

/// `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`, and either with a port.
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let ip = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))
                .and_then(|e| e.parse::<IpAddr>().ok())
        })?;
    Some(ip.to_canonical())
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
            field_of(r#"{"name": "a", "name": "b"}"#),
            (Code::ValidationFailed, "name".into())
        );
        assert_eq!(
            field_of(r#"{"name": "a", "inner": {"count": 300}}"#),
            (Code::ValidationFailed, "inner.count".into())
        );
        assert_eq!(field_of(r#"{"name": "#).0, Code::MalformedJson);
        assert_eq!(field_of(r#"{"name": "a"} x"#).0, Code::MalformedJson);
        assert_eq!(
            field_of(r#"{"name": "a\u0000"}"#),
            (Code::ValidationFailed, "name".into())
        );
        assert_eq!(
            field_of(r#"{"name": "a", "inner": {"count": 1, "x": ["", "\u0000"]}}"#),
            (Code::ValidationFailed, "inner.x[1]".into())
        );
        assert_eq!(
            field_of(r#"{"\u0000": 1}"#),
            (Code::ValidationFailed, "body".into())
        );
        // An escaped backslash followed by `u0000` is no NUL.
        assert_eq!(
            field_of(r#"{"name": "\\u0000", "x": 1}"#),
            (Code::ValidationFailed, "x".into())
        );
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn client(peer: &str, forwarded_for: &[&str], trusted: &[&str]) -> String {
        let trusted: Vec<IpAddr> = trusted.iter().map(|t| ip(t)).collect();
        choose_client_addr(Some(ip(peer)), forwarded_for, &trusted)
            .unwrap()
            .to_string()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(client("203.0.113.7", &[], &[]), "203.0.113.7");
        assert_eq!(client("203.0.113.7", &["198.51.100.1"], &[]), "203.0.113.7");
        assert_eq!(
            client("203.0.113.7", &["198.51.100.1"], &["10.0.0.1"]),
            "203.0.113.7"
        );
        assert_eq!(choose_client_addr(None, &["198.51.100.1"], &[]), None);
    }

    #[test]
    fn a_trusted_peer_names_the_client_in_x_forwarded_for() {
        let lb = &["10.0.0.1"];
        assert_eq!(client("10.0.0.1", &["198.51.100.1"], lb), "198.51.100.1");
        // The right-most entry is what the proxy saw; the ones left of it the client wrote.
        assert_eq!(
            client("10.0.0.1", &["1.1.1.1, 2.2.2.2, 198.51.100.1"], lb),
            "198.51.100.1"
        );
        // Several header lines count as one list, in order.
        assert_eq!(
            client("10.0.0.1", &["1.1.1.1", "198.51.100.1"], lb),
            "198.51.100.1"
        );
        // No header: the proxy itself.
        assert_eq!(client("10.0.0.1", &[], lb), "10.0.0.1");
    }

    #[test]
    fn trusted_proxies_in_the_chain_are_skipped() {
        let proxies = &["10.0.0.1", "10.0.0.2", "2001:db8::10"];
        assert_eq!(
            client(
                "10.0.0.1",
                &["6.6.6.6, 198.51.100.1, 2001:db8::10, 10.0.0.2"],
                proxies
            ),
            "198.51.100.1"
        );
        // Every entry trusted: the left-most of them.
        assert_eq!(
            client("10.0.0.1", &["10.0.0.2, 2001:db8::10"], proxies),
            "10.0.0.2"
        );
    }

    #[test]
    fn entries_with_ports_brackets_or_mapped_addresses_are_read() {
        let lb = &["10.0.0.1"];
        assert_eq!(
            client("10.0.0.1", &["198.51.100.1:4711"], lb),
            "198.51.100.1"
        );
        assert_eq!(
            client("10.0.0.1", &["[2001:db8::1]:443"], lb),
            "2001:db8::1"
        );
        assert_eq!(client("10.0.0.1", &[" [2001:db8::1] "], lb), "2001:db8::1");
        assert_eq!(
            client("10.0.0.1", &["::ffff:198.51.100.1"], lb),
            "198.51.100.1"
        );
        // The peer seen on a dual-stack socket.
        assert_eq!(
            client("::ffff:10.0.0.1", &["198.51.100.1"], lb),
            "198.51.100.1"
        );
    }

    #[test]
    fn an_entry_that_is_not_an_address_ends_the_search() {
        let proxies = &["10.0.0.1", "10.0.0.2"];
        assert_eq!(
            client("10.0.0.1", &["198.51.100.1, garbage, 10.0.0.2"], proxies),
            "10.0.0.2"
        );
        assert_eq!(client("10.0.0.1", &["unknown"], proxies), "10.0.0.1");
        assert_eq!(client("10.0.0.1", &["198.51.100.1,"], proxies), "10.0.0.1");
    }
}
