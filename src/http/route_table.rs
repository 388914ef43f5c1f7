//! The documented routes, read from the OpenAPI document: which methods a path supports
//! (for 405 with `Allow`) and the length and pattern each query parameter promises.

use regex_lite::Regex;
use serde_json::Value;

struct QueryRule {
    name: String,
    max_length: Option<usize>,
    pattern: Option<Regex>,
}

struct Route {
    segments: Vec<String>,
    operations: Vec<(String, Vec<QueryRule>)>,
}

pub struct RouteTable {
    routes: Vec<Route>,
}

fn query_rules(operation: &Value) -> Vec<QueryRule> {
    let parameters = operation["parameters"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    parameters
        .iter()
        .filter(|p| p["in"] == "query")
        .map(|p| QueryRule {
            name: p["name"].as_str().unwrap_or_default().to_string(),
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
                            .map(|(method, op)| (method.to_uppercase(), query_rules(op)))
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

    pub fn methods_for(&self, path: &str) -> Vec<String> {
        self.find(path)
            .map(|r| r.operations.iter().map(|(m, _)| m.clone()).collect())
            .unwrap_or_default()
    }

    /// The first query parameter that is longer than documented or breaks its pattern,
    /// with what is wrong.
    pub fn check_query(&self, method: &str, path: &str, query: &str) -> Option<(String, String)> {
        let route = self.find(path)?;
        let (_, rules) = route.operations.iter().find(|(m, _)| m == method)?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        for (name, value) in pairs {
            let Some(rule) = rules.iter().find(|r| r.name == name) else {
                continue;
            };
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
                {"name": "clause", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]+$"}}
            ]}}
        }}))
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
        assert_eq!(t.check_query("GET", "/things", "other=whatever"), None);
    }
}
