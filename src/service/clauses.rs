//! The clause catalog, with what in the SMS refers to each clause.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;

use super::Caller;
use crate::domain::{DomainError, clause};
use crate::error::Result;
use crate::persistence::entities::{clause as row, process_clause};
use crate::persistence::page::{self, Kind, Page, PageRequest};

/// Counts of the SMS records that refer to a clause.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ClauseReferences {
    pub processes: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Clause {
    #[schema(example = "8.6.1")]
    pub clause: String,
    #[schema(example = "Incident management")]
    pub title: String,
    pub parent: Option<String>,
    /// True for the 20 service management processes of clause 8.
    pub is_process: bool,
    /// Catalog numbers of the sub-clauses.
    pub children: Vec<String>,
    pub references: ClauseReferences,
}

fn children_of(number: &str) -> Vec<String> {
    clause::catalog()
        .iter()
        .filter(|c| c.parent.as_deref() == Some(number))
        .map(|c| c.clause.clone())
        .collect()
}

async fn process_counts(
    db: &DatabaseConnection,
    clauses: &[String],
) -> Result<HashMap<String, u64>> {
    let rows: Vec<(String, i64)> = process_clause::Entity::find()
        .select_only()
        .column(process_clause::Column::Clause)
        .column_as(Expr::col(process_clause::Column::ProcessId).count(), "n")
        .filter(process_clause::Column::Clause.is_in(clauses.iter().cloned()))
        .group_by(process_clause::Column::Clause)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(c, n)| (c, n as u64)).collect())
}

fn view(m: row::Model, counts: &HashMap<String, u64>) -> Clause {
    Clause {
        children: children_of(&m.clause),
        references: ClauseReferences {
            processes: counts.get(&m.clause).copied().unwrap_or(0),
        },
        clause: m.clause,
        title: m.title,
        parent: m.parent,
        is_process: m.is_process,
    }
}

#[derive(Debug, Clone, Default)]
pub struct ClauseFilter {
    pub parent: Option<String>,
    pub is_process: Option<bool>,
    pub q: Option<String>,
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: ClauseFilter,
    request: &PageRequest,
) -> Result<Page<Clause>> {
    caller.ensure_reads_sms()?;
    let mut select = row::Entity::find();
    if let Some(parent) = filter.parent {
        select = select.filter(row::Column::Parent.eq(parent));
    }
    if let Some(is_process) = filter.is_process {
        select = select.filter(row::Column::IsProcess.eq(is_process));
    }
    if let Some(q) = filter.q {
        let pattern = crate::persistence::contains(&q);
        select = select
            .filter(sea_orm::sea_query::Func::lower(Expr::col(row::Column::Title)).like(pattern));
    }
    let sorts = [("clause", row::Column::Position, Kind::Integer)];
    let page = page::fetch(db, select, &sorts, row::Column::Clause, request).await?;
    let numbers: Vec<String> = page.items.iter().map(|m| m.clause.clone()).collect();
    let counts = process_counts(db, &numbers).await?;
    Ok(page.map(|m| view(m, &counts)))
}

pub async fn get(db: &DatabaseConnection, caller: &Caller, number: &str) -> Result<Clause> {
    caller.ensure_reads_sms()?;
    let m = row::Entity::find_by_id(number.to_string())
        .one(db)
        .await?
        .ok_or(DomainError::NotFound("clause"))?;
    let counts = process_counts(db, std::slice::from_ref(&m.clause)).await?;
    Ok(view(m, &counts))
}
