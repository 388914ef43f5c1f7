//! The look-ups of a bulk import, each one query per few hundred values whatever the size of
//! the file: which ids and natural keys exist, and what they stand for.

use std::collections::{HashMap, HashSet};

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Cond, Expr, ExprTrait, Query};

use crate::error::Result;

/// Values per query, well under both backends' limits on bound parameters.
const CHUNK: usize = 500;

/// A table whose records an import may refer to: by `id`, or by the natural key in `key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Referenced {
    pub table: &'static str,
    pub key: &'static str,
    /// The key is compared lower-cased (the column holds it so).
    pub lower_case: bool,
}

pub const SMS_ROLES: Referenced = Referenced {
    table: "sms_roles",
    key: "name_key",
    lower_case: true,
};

pub const PROCESSES: Referenced = Referenced {
    table: "processes",
    key: "code",
    lower_case: false,
};

pub const USERS: Referenced = Referenced {
    table: "users",
    key: "email",
    lower_case: true,
};

/// Ids only: corrective actions and improvements have no natural key.
pub const CORRECTIVE_ACTIONS: Referenced = Referenced {
    table: "corrective_actions",
    key: "id",
    lower_case: false,
};

pub const IMPROVEMENTS: Referenced = Referenced {
    table: "improvements",
    key: "id",
    lower_case: false,
};

impl Referenced {
    /// The form of `value` the key column holds.
    pub fn key_of(&self, value: &str) -> String {
        let value = value.trim();
        if self.lower_case {
            value.to_lowercase()
        } else {
            value.to_string()
        }
    }
}

/// What each of `values` stands for in `referenced`: the id of the record whose id it is,
/// else of the record whose natural key it is. Values that match nothing are absent.
pub async fn resolve<C: ConnectionTrait>(
    conn: &C,
    referenced: Referenced,
    values: &HashSet<String>,
) -> Result<HashMap<String, String>> {
    let values: Vec<&String> = values.iter().collect();
    let mut by_id = HashSet::new();
    let mut by_key = HashMap::new();
    for chunk in values.chunks(CHUNK) {
        let keys: Vec<String> = chunk.iter().map(|v| referenced.key_of(v)).collect();
        let ids: Vec<String> = chunk.iter().map(|v| v.to_string()).collect();
        let rows = conn
            .query_all(
                Query::select()
                    .expr_as(Expr::col("id"), Alias::new("id"))
                    .expr_as(Expr::col(referenced.key), Alias::new("natural_key"))
                    .from(Alias::new(referenced.table))
                    .cond_where(
                        Cond::any()
                            .add(Expr::col("id").is_in(ids))
                            .add(Expr::col(referenced.key).is_in(keys)),
                    ),
            )
            .await?;
        for row in rows {
            let id: String = row.try_get("", "id")?;
            let key: String = row.try_get("", "natural_key")?;
            by_key.insert(key, id.clone());
            by_id.insert(id);
        }
    }
    Ok(values
        .into_iter()
        .filter_map(|value| {
            let id = if by_id.contains(value) {
                Some(value.clone())
            } else {
                by_key.get(&referenced.key_of(value)).cloned()
            };
            id.map(|id| (value.clone(), id))
        })
        .collect())
}

/// Which of `values` the column `column` of `table` holds already.
pub async fn taken<C: ConnectionTrait>(
    conn: &C,
    table: &str,
    column: &str,
    values: &[String],
) -> Result<HashSet<String>> {
    let mut out = HashSet::new();
    for chunk in values.chunks(CHUNK) {
        let rows = conn
            .query_all(
                Query::select()
                    .expr_as(Expr::col(Alias::new(column)), Alias::new("taken"))
                    .from(Alias::new(table))
                    .and_where(Expr::col(Alias::new(column)).is_in(chunk.iter().cloned())),
            )
            .await?;
        for row in rows {
            out.insert(row.try_get::<String>("", "taken")?);
        }
    }
    Ok(out)
}
