//! The documented routes, read from the OpenAPI document: which methods a path supports
//! (for 405 with `Allow`) and the type, length and pattern each query parameter promises, so
//! a bad query value is a 422 naming the parameter, as the document says.

use chrono::{DateTime, NaiveDate};
use regex_lite::Regex;
use serde_json::Value;

use crate::domain::access::AccessRole;

struct QueryRule {
    name: String,
    kind: Kind,
    max_length: Option<usize>,
    pattern: Option<Regex>,
}

/// What a query parameter's schema says its value is.
enum Kind {
    Text,
    Integer {
        minimum: Option<i64>,
        maximum: Option<i64>,
    },
    Boolean,
    Date,
    DateTime,
    Uuid,
    OneOf(Vec<String>),
}

impl Kind {
    /// The schema of a parameter, following a `$ref` into the document's components.
    fn of(schema: &Value, doc: &Value) -> Kind {
        let schema = match schema["$ref"].as_str() {
            Some(reference) => doc
                .pointer(reference.trim_start_matches('#'))
                .unwrap_or(&Value::Null),
            None => schema,
        };
        if let Some(values) = schema["enum"].as_array() {
            return Kind::OneOf(
                values
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            );
        }
        match (schema["type"].as_str(), schema["format"].as_str()) {
            (Some("integer"), _) => Kind::Integer {
                minimum: schema["minimum"].as_i64(),
                maximum: schema["maximum"].as_i64(),
            },
            (Some("boolean"), _) => Kind::Boolean,
            (_, Some("date")) => Kind::Date,
            (_, Some("date-time")) => Kind::DateTime,
            (_, Some("uuid")) => Kind::Uuid,
            _ => Kind::Text,
        }
    }

    /// What is wrong with the value, if anything.
    fn check(&self, value: &str) -> Option<String> {
        match self {
            Kind::Text => None,
            Kind::Integer { minimum, maximum } => {
                let range = match (minimum, maximum) {
                    (Some(min), Some(max)) => format!("an integer between {min} and {max}"),
                    _ => "an integer".to_string(),
                };
                let fits = value.parse::<i64>().is_ok_and(|n| {
                    minimum.is_none_or(|min| n >= min) && maximum.is_none_or(|max| n <= max)
                });
                (!fits).then(|| format!("must be {range}"))
            }
            Kind::Boolean => {
                (value != "true" && value != "false").then(|| "must be `true` or `false`".into())
            }
            Kind::Date => NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .is_err()
                .then(|| "must be a date such as 2025-01-31".into()),
            Kind::DateTime => DateTime::parse_from_rfc3339(value)
                .is_err()
                .then(|| "must be an RFC 3339 time such as 2025-01-31T12:00:00Z".into()),
            Kind::Uuid => uuid::Uuid::try_parse(value)
                .is_err()
                .then(|| "must be a UUID".into()),
            Kind::OneOf(values) => (!values.iter().any(|v| v == value)).then(|| {
                let quoted: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
                format!("must be one of {}", quoted.join(", "))
            }),
        }
    }
}

struct Operation {
    method: String,
    query_rules: Vec<QueryRule>,
    /// The access roles the operation requires (any of them). Empty: any authenticated
    /// caller.
    roles: Vec<AccessRole>,
}

struct Route {
    segments: Vec<String>,
    operations: Vec<Operation>,
}

pub struct RouteTable {
    routes: Vec<Route>,
}

/// The access roles an operation requires (any of them), as the served document lists them
/// in `x-required-roles`.
pub fn required_roles(operation: &Value) -> Vec<AccessRole> {
    operation["x-required-roles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|role| role.as_str().and_then(AccessRole::parse))
        .collect()
}

fn query_rules(operation: &Value, doc: &Value) -> Vec<QueryRule> {
    let parameters = operation["parameters"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    parameters
        .iter()
        .filter(|p| p["in"] == "query")
        .map(|p| QueryRule {
            name: p["name"].as_str().unwrap_or_default().to_string(),
            kind: Kind::of(&p["schema"], doc),
            max_length: p["schema"]["maxLength"].as_u64().map(|n| n as usize),
            pattern: p["schema"]["pattern"]
                .as_str()
                .and_then(|r| Regex::new(r).ok()),
        })
        .collect()
}

impl RouteTable {
    pub fn from_document(doc: &Value) -> Self {
        let paths = doc["paths"].as_object().cloned().unwrap_or_default();
        let routes = paths
            .iter()
            .map(|(path, item)| Route {
                segments: path.split('/').map(str::to_string).collect(),
                operations: item
                    .as_object()
                    .map(|ops| {
                        ops.iter()
                            .map(|(method, op)| Operation {
                                method: method.to_uppercase(),
                                query_rules: query_rules(op, doc),
                                roles: required_roles(op),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect();
        RouteTable { routes }
    }

    fn find(&self, path: &str) -> Option<&Route> {
        let parts: Vec<&str> = path.split('/').collect();
        self.routes.iter().find(|route| {
            route.segments.len() == parts.len()
                && route
                    .segments
                    .iter()
                    .zip(&parts)
                    .all(|(s, p)| s == p || (s.starts_with('{') && !p.is_empty()))
        })
    }

    fn operation(&self, method: &str, path: &str) -> Option<&Operation> {
        self.find(path)?
            .operations
            .iter()
            .find(|o| o.method == method)
    }

    /// The access roles an operation requires, as its annotation declares them.
    pub fn required_roles(&self, method: &str, path: &str) -> &[AccessRole] {
        self.operation(method, path)
            .map(|o| o.roles.as_slice())
            .unwrap_or_default()
    }

    pub fn methods_for(&self, path: &str) -> Vec<String> {
        self.find(path)
            .map(|r| r.operations.iter().map(|o| o.method.clone()).collect())
            .unwrap_or_default()
    }

    /// The first query parameter that is not documented, not of its documented type, longer
    /// than documented or off its pattern, with what is wrong. Unknown parameters are refused
    /// like unknown body fields, so a misspelt filter is never silently ignored.
    pub fn check_query(&self, method: &str, path: &str, query: &str) -> Option<(String, String)> {
        let rules = &self.operation(method, path)?.query_rules;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        for (name, value) in pairs {
            let Some(rule) = rules.iter().find(|r| r.name == name) else {
                return Some((name, "is not a query parameter of this operation".into()));
            };
            if let Some(message) = rule.kind.check(&value) {
                return Some((name, message));
            }
            if let Some(max) = rule.max_length.filter(|max| value.chars().count() > *max) {
                return Some((name, format!("must be at most {max} characters")));
            }
            if let Some(pattern) = rule.pattern.as_ref().filter(|p| !p.is_match(&value)) {
                return Some((name, format!("must match {}", pattern.as_str())));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table() -> RouteTable {
        RouteTable::from_document(&json!({"paths": {
            "/things/{id}": {"get": {}, "delete": {}},
            "/things": {"get": {"parameters": [
                {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 3}},
                {"name": "clause", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]+$"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                {"name": "all", "in": "query", "schema": {"type": "boolean"}},
                {"name": "due", "in": "query", "schema": {"type": "string", "format": "date"}},
                {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                {"name": "owner_id", "in": "query", "schema": {"type": "string", "format": "uuid"}},
                {"name": "state", "in": "query", "schema": {"$ref": "#/components/schemas/State"}}
            ]}}
        }, "components": {"schemas": {"State": {"type": "string", "enum": ["draft", "active"]}}}}))
    }

    #[test]
    fn methods_by_path() {
        assert_eq!(table().methods_for("/things/1"), vec!["GET", "DELETE"]);
        assert!(table().methods_for("/things/1/x").is_empty());
        assert!(table().methods_for("/things/").is_empty());
    }

    #[test]
    fn query_rules_are_enforced() {
        let t = table();
        assert_eq!(t.check_query("GET", "/things", "q=abc&clause=12"), None);
        assert_eq!(
            t.check_query("GET", "/things", "q=abcd").map(|e| e.0),
            Some("q".into())
        );
        assert_eq!(
            t.check_query("GET", "/things", "clause=1a").map(|e| e.0),
            Some("clause".into())
        );
        assert_eq!(
            t.check_query("GET", "/things", "other=whatever")
                .map(|e| e.0),
            Some("other".into())
        );
    }

    #[test]
    fn query_types_are_enforced() {
        let t = table();
        let good = "limit=200&all=true&due=2025-01-31&from=2025-01-31T12:00:00Z\
&owner_id=0190a5b0-7b1e-7000-8000-000000000000&state=active";
        assert_eq!(t.check_query("GET", "/things", good), None);
        for (query, field) in [
            ("limit=x", "limit"),
            ("limit=0", "limit"),
            ("limit=1.5", "limit"),
            ("all=yes", "all"),
            ("due=2025-02-30", "due"),
            ("from=yesterday", "from"),
            ("owner_id=42", "owner_id"),
            ("state=gone", "state"),
        ] {
            assert_eq!(
                t.check_query("GET", "/things", query).map(|e| e.0),
                Some(field.into()),
                "{query}"
            );
        }
    }
}
