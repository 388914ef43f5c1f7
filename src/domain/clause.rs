//! The ISO/IEC 20000-1:2018 clause catalog, shipped inside the binary.

use std::sync::OnceLock;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct CatalogClause {
    pub clause: String,
    pub title: String,
    pub parent: Option<String>,
    pub is_process: bool,
}

const CATALOG_JSON: &str = include_str!("../../seed/iso20000-1-2018-clauses.json");

/// Every clause in catalog order.
pub fn catalog() -> &'static [CatalogClause] {
    static CATALOG: OnceLock<Vec<CatalogClause>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        serde_json::from_str(CATALOG_JSON).expect("the embedded catalog is valid JSON")
    })
}

pub fn exists(clause: &str) -> bool {
    catalog().iter().any(|c| c.clause == clause)
}

/// Validates a list of clause references: each must be in the catalog; repeats are dropped.
pub fn validate_refs(
    v: &mut super::validation::Validator,
    field: &str,
    clauses: &[String],
) -> Vec<String> {
    if clauses.len() > 100 {
        v.add(field, "must have at most 100 items");
    }
    for (i, c) in clauses.iter().enumerate() {
        if !exists(c) {
            v.add(
                format!("{field}[{i}]"),
                "is not a clause number of ISO/IEC 20000-1:2018",
            );
        }
    }
    super::validation::dedup(clauses)
}

/// A clause catalog number such as `8.6.1`, as the API documents it.
pub struct ClauseNumber;

impl utoipa::PartialSchema for ClauseNumber {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .max_length(Some(16))
            .pattern(Some(r"^[0-9]+(\.[0-9]+)*$"))
            .examples(["8.6.1"])
            .into()
    }
}

impl utoipa::ToSchema for ClauseNumber {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_has_77_clauses_20_processes() {
        assert_eq!(catalog().len(), 77);
        assert_eq!(catalog().iter().filter(|c| c.is_process).count(), 20);
        assert!(exists("8.6.1"));
        assert!(!exists("11"));
    }

    #[test]
    fn parents_exist() {
        for c in catalog() {
            if let Some(p) = &c.parent {
                assert!(exists(p), "{} has unknown parent {p}", c.clause);
            }
        }
    }
}
