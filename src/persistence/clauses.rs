//! The clause catalog in the database, and what in the SMS refers to each clause.

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::entities::clause as row;
use super::page::{self, Kind, Page, PageRequest};
use crate::error::Result;

/// How many SMS records refer to a clause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReferenceCounts {
    pub processes: u64,
    pub objectives: u64,
    pub documents: u64,
    pub audits: u64,
    pub open_findings: u64,
}

/// What a list of clauses is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct ClauseFilter {
    pub parent: Option<String>,
    pub is_process: Option<bool>,
    pub q: Option<String>,
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: ClauseFilter,
    request: &PageRequest,
) -> Result<Page<row::Model>> {
    let mut select = row::Entity::find();
    if let Some(parent) = filter.parent {
        select = select.filter(row::Column::Parent.eq(parent));
    }
    if let Some(is_process) = filter.is_process {
        select = select.filter(row::Column::IsProcess.eq(is_process));
    }
    if let Some(q) = filter.q {
        select =
            select.filter(Func::lower(Expr::col(row::Column::Title)).like(super::contains(&q)));
    }
    let sorts = [("clause", row::Column::Position, Kind::Integer)];
    page::fetch(db, select, &sorts, row::Column::Clause, request).await
}

pub async fn get<C: ConnectionTrait>(db: &C, number: &str) -> Result<Option<row::Model>> {
    Ok(row::Entity::find_by_id(number.to_string()).one(db).await?)
}

/// The references to each of `clauses`: one grouped query per kind of record.
pub async fn references<C: ConnectionTrait>(
    db: &C,
    clauses: &[String],
) -> Result<HashMap<String, ReferenceCounts>> {
    let mut out: HashMap<String, ReferenceCounts> = HashMap::new();
    // (table, only open records, which count it fills)
    type Fill = fn(&mut ReferenceCounts, u64);
    let kinds: [(&str, bool, Fill); 5] = [
        ("process_clauses", false, |c, n| c.processes = n),
        ("objective_clauses", false, |c, n| c.objectives = n),
        ("document_clauses", false, |c, n| c.documents = n),
        ("audit_scope_clauses", false, |c, n| c.audits = n),
        ("findings", true, |c, n| c.open_findings = n),
    ];
    for (table, only_open, fill) in kinds {
        let mut query = Query::select();
        query
            .column("clause")
            .expr_as(Expr::col("clause").count(), Alias::new("n"))
            .from(Alias::new(table))
            .and_where(Expr::col("clause").is_in(clauses.iter().cloned()))
            .group_by_col("clause");
        if only_open {
            query.and_where(Expr::col("state").eq("open"));
        }
        for r in db.query_all(&query).await? {
            let clause: String = r.try_get("", "clause")?;
            let n: i64 = r.try_get("", "n")?;
            fill(out.entry(clause).or_default(), n as u64);
        }
    }
    Ok(out)
}
