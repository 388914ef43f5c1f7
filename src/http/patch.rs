//! JSON merge patch (RFC 7396) over a resource's editable fields.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::extract::{json_bytes, parse_json};
use super::problem::ApiError;

/// A merge patch body: a JSON object whose fields are type-checked against the patch
/// schema `P` on arrival, before anything is loaded.
pub struct MergePatch<P>(pub Map<String, Value>, PhantomData<P>);

impl<P: DeserializeOwned + 'static> FromRequest for MergePatch<P> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = json_bytes(req, payload);
        Box::pin(async move {
            let bytes = body.await?;
            // Typed against the raw text, so a repeated key is refused as in a full body.
            parse_json::<P>(&bytes)?;
            let document = parse_json::<Map<String, Value>>(&bytes)?;
            Ok(MergePatch(document, PhantomData))
        })
    }
}

/// Applies `patch` to the editable fields of the current resource and parses the result,
/// so a patch is checked exactly like a full body (unknown and read-only fields refused).
pub fn apply<T: Serialize + DeserializeOwned>(
    current: &T,
    patch: Map<String, Value>,
) -> Result<T, ApiError> {
    let mut document = serde_json::to_value(current).expect("fields serialize");
    merge(&mut document, Value::Object(patch));
    parse_json(&serde_json::to_vec(&document).expect("JSON serializes"))
}

fn merge(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            let map = target.as_object_mut().expect("just made an object");
            for (key, value) in fields {
                if value.is_null() {
                    // `null` clears: an optional field is removed, a list emptied.
                    match map.get_mut(&key) {
                        Some(Value::Array(items)) => items.clear(),
                        _ => {
                            map.remove(&key);
                        }
                    }
                } else {
                    merge(map.entry(key).or_insert(Value::Null), value);
                }
            }
        }
        other => *target = other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc7396_examples() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge(&mut doc, json!({"a": "z", "c": {"f": null}}));
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}}));
        let mut doc = json!({"list": [1], "text": "x"});
        merge(&mut doc, json!({"list": null, "text": null}));
        assert_eq!(doc, json!({"list": []}));
        let mut doc = json!({"a": [1]});
        merge(&mut doc, json!({"a": [2, 3]}));
        assert_eq!(doc, json!({"a": [2, 3]}));
    }
}
