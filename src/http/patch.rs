//! JSON merge patch (RFC 7396) over a resource's editable fields.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::extract::parse_json;
use super::problem::{ApiError, Code};

/// Applies `patch` to the editable fields of the current resource and parses the result,
/// so a patch is checked exactly like a full body (unknown and read-only fields refused).
pub fn apply<T: Serialize + DeserializeOwned>(current: &T, patch: Value) -> Result<T, ApiError> {
    if !patch.is_object() {
        return Err(ApiError::field(
            Code::ValidationFailed,
            "body",
            "a merge patch must be a JSON object",
        ));
    }
    let mut document = serde_json::to_value(current).expect("fields serialize");
    merge(&mut document, patch);
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
                    map.remove(&key);
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
        let mut doc = json!({"a": [1]});
        merge(&mut doc, json!({"a": [2, 3]}));
        assert_eq!(doc, json!({"a": [2, 3]}));
    }
}
