//! The clause catalog, with what in the SMS refers to each clause.

use std::collections::HashMap;

use sea_orm::DatabaseConnection;
use serde::Serialize;
use utoipa::ToSchema;

use super::Caller;
use crate::domain::{DomainError, clause};
use crate::error::Result;
use crate::persistence::clauses::{self as stored, ClauseFilter, ReferenceCounts};
use crate::persistence::entities::clause as row;
use crate::persistence::page::{Page, PageRequest};

/// Counts of the SMS records that refer to a clause.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ClauseReferences {
    pub processes: u64,
    pub objectives: u64,
    /// Documents filed under the clause, whatever their state.
    pub documents: u64,
    /// Audits with the clause in their scope.
    pub audits: u64,
    /// Findings against the clause that are still open.
    pub open_findings: u64,
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

fn view(m: row::Model, counts: &HashMap<String, ReferenceCounts>) -> Clause {
    let c = counts.get(&m.clause).copied().unwrap_or_default();
    Clause {
        children: children_of(&m.clause),
        references: ClauseReferences {
            processes: c.processes,
            objectives: c.objectives,
            documents: c.documents,
            audits: c.audits,
            open_findings: c.open_findings,
        },
        clause: m.clause,
        title: m.title,
        parent: m.parent,
        is_process: m.is_process,
    }
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: ClauseFilter,
    request: &PageRequest,
) -> Result<Page<Clause>> {
    caller.ensure_reads_sms()?;
    let page = stored::list(db, filter, request).await?;
    let numbers: Vec<String> = page.items.iter().map(|m| m.clause.clone()).collect();
    let counts = stored::references(db, &numbers).await?;
    Ok(page.map(|m| view(m, &counts)))
}

pub async fn get(db: &DatabaseConnection, caller: &Caller, number: &str) -> Result<Clause> {
    caller.ensure_reads_sms()?;
    let m = stored::get(db, number)
        .await?
        .ok_or(DomainError::NotFound("clause"))?;
    let counts = stored::references(db, std::slice::from_ref(&m.clause)).await?;
    Ok(view(m, &counts))
}
