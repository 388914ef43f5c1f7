//! Processes in the database: the `processes` row with its clause and RACI rows.

use std::collections::HashMap;

use chrono::NaiveDate;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Set,
};
use serde::Serialize;
use serde_json::Value;

use super::entities::{process as row, process_clause, process_raci};
use super::page::{self, Page, PageRequest, SortKey};
use super::{Aggregate, is_unique_violation};
use crate::domain::DomainError;
use crate::domain::process::{Process, ProcessFields, ProcessState, Raci, RaciAssignment};
use crate::error::{Error, Result};

/// A stored process.
#[derive(Debug, Clone)]
pub struct StoredProcess {
    pub id: String,
    pub process: Process,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the audit trail records of a process.
#[derive(Serialize)]
struct Record<'a> {
    #[serde(flatten)]
    fields: &'a ProcessFields,
    state: ProcessState,
    raci: &'a [RaciAssignment],
}

impl Aggregate for StoredProcess {
    type Entity = row::Entity;
    const KIND: &'static str = "process";
    const NOUN: &'static str = "process";

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn record(&self) -> Value {
        serde_json::to_value(Record {
            fields: &self.process.fields,
            state: self.process.state,
            raci: &self.process.raci,
        })
        .expect("plain data serializes")
    }

    async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Self>> {
        let Some(m) = row::Entity::find_by_id(id.to_string()).one(conn).await? else {
            return Ok(None);
        };
        Ok(load_children(conn, vec![m]).await?.pop())
    }
}

/// Completes a page of rows with their clauses and RACI: one query per child table.
pub async fn load_children<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<row::Model>,
) -> Result<Vec<StoredProcess>> {
    let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
    use process_clause::Column as Clause;
    let mut clauses = super::children_of::<process_clause::Entity, _, _>(
        conn,
        (Clause::ProcessId, Clause::Position),
        &ids,
        |c| (c.process_id, c.clause),
    )
    .await?;
    let mut raci: HashMap<String, Vec<RaciAssignment>> = HashMap::new();
    for r in process_raci::Entity::find()
        .filter(process_raci::Column::ProcessId.is_in(ids))
        .order_by_asc(process_raci::Column::Position)
        .all(conn)
        .await?
    {
        let responsibility = Raci::parse(&r.responsibility)
            .ok_or_else(|| Error::Internal(format!("unknown RACI letter {}", r.responsibility)))?;
        raci.entry(r.process_id).or_default().push(RaciAssignment {
            role_id: r.role_id,
            activity: Some(r.activity).filter(|a| !a.is_empty()),
            responsibility,
        });
    }
    rows.into_iter()
        .map(|m| {
            let state = ProcessState::parse(&m.state)
                .ok_or_else(|| Error::Internal(format!("unknown process state {}", m.state)))?;
            Ok(StoredProcess {
                process: Process {
                    fields: ProcessFields {
                        clauses: clauses.remove(&m.id).unwrap_or_default(),
                        code: m.code,
                        name: m.name,
                        purpose: m.purpose,
                        description: m.description,
                        owner_role_id: m.owner_role_id,
                        review_due: m.review_due,
                    },
                    state,
                    raci: raci.remove(&m.id).unwrap_or_default(),
                },
                id: m.id,
                version: m.version,
                created_at: m.created_at,
                updated_at: m.updated_at,
            })
        })
        .collect()
}

fn code_taken(err: sea_orm::DbErr) -> Error {
    if is_unique_violation(&err) {
        DomainError::Conflict("a process with this code exists already".into()).into()
    } else {
        err.into()
    }
}

fn columns(fields: &ProcessFields) -> row::ActiveModel {
    row::ActiveModel {
        code: Set(fields.code.clone()),
        name: Set(fields.name.clone()),
        purpose: Set(fields.purpose.clone()),
        description: Set(fields.description.clone()),
        owner_role_id: Set(fields.owner_role_id.clone()),
        review_due: Set(fields.review_due),
        ..Default::default()
    }
}

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    fields: &ProcessFields,
    at: DateTime<Utc>,
) -> Result<()> {
    let draft = Process {
        fields: fields.clone(),
        state: ProcessState::Draft,
        raci: Vec::new(),
    };
    insert_process(conn, id, &draft, at).await
}

/// Inserts a process in the state it holds, with its RACI (an imported process).
pub async fn insert_process<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    process: &Process,
    at: DateTime<Utc>,
) -> Result<()> {
    row::Entity::insert(row::ActiveModel {
        id: Set(id.to_string()),
        state: Set(process.state.as_str().to_string()),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..columns(&process.fields)
    })
    .exec_without_returning(conn)
    .await
    .map_err(code_taken)?;
    write_clauses(conn, id, &process.fields.clauses).await?;
    if !process.raci.is_empty() {
        replace_raci(conn, id, &process.raci).await?;
    }
    Ok(())
}

/// Writes the fields and state of an existing process (its version is already bumped).
pub async fn update<C: ConnectionTrait>(conn: &C, id: &str, process: &Process) -> Result<()> {
    row::Entity::update_many()
        .set(row::ActiveModel {
            state: Set(process.state.as_str().to_string()),
            ..columns(&process.fields)
        })
        .filter(row::Column::Id.eq(id))
        .exec(conn)
        .await
        .map_err(code_taken)?;
    write_clauses(conn, id, &process.fields.clauses).await
}

async fn write_clauses<C: ConnectionTrait>(conn: &C, id: &str, clauses: &[String]) -> Result<()> {
    process_clause::Entity::delete_many()
        .filter(process_clause::Column::ProcessId.eq(id))
        .exec(conn)
        .await?;
    if clauses.is_empty() {
        return Ok(());
    }
    process_clause::Entity::insert_many(clauses.iter().enumerate().map(|(i, c)| {
        process_clause::ActiveModel {
            process_id: Set(id.to_string()),
            clause: Set(c.clone()),
            position: Set(i as i32),
        }
    }))
    .exec(conn)
    .await?;
    Ok(())
}

pub async fn replace_raci<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    assignments: &[RaciAssignment],
) -> Result<()> {
    process_raci::Entity::delete_many()
        .filter(process_raci::Column::ProcessId.eq(id))
        .exec(conn)
        .await?;
    if assignments.is_empty() {
        return Ok(());
    }
    process_raci::Entity::insert_many(assignments.iter().enumerate().map(|(i, a)| {
        process_raci::ActiveModel {
            process_id: Set(id.to_string()),
            role_id: Set(a.role_id.clone()),
            activity: Set(a.activity.clone().unwrap_or_default()),
            responsibility: Set(a.responsibility.as_str().to_string()),
            position: Set(i as i32),
        }
    }))
    .exec(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
/// What a list of processes is narrowed to.
pub struct ProcessFilter {
    pub state: Option<ProcessState>,
    pub clause: Option<String>,
    pub owner_role_id: Option<String>,
    pub q: Option<String>,
    pub review_due_from: Option<NaiveDate>,
    pub review_due_to: Option<NaiveDate>,
}

/// A page of processes with their children: one query for the page, one per child table.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: ProcessFilter,
    request: &PageRequest,
) -> Result<Page<StoredProcess>> {
    let mut select = row::Entity::find();
    if let Some(state) = filter.state {
        select = select.filter(row::Column::State.eq(state.as_str()));
    }
    if let Some(from) = filter.review_due_from {
        select = select.filter(row::Column::ReviewDue.gte(from));
    }
    if let Some(to) = filter.review_due_to {
        select = select.filter(row::Column::ReviewDue.lte(to));
    }
    if let Some(role_id) = filter.owner_role_id {
        select = select.filter(row::Column::OwnerRoleId.eq(role_id));
    }
    if let Some(clause) = filter.clause {
        let with_clause = process_clause::Entity::find()
            .select_only()
            .column(process_clause::Column::ProcessId)
            .filter(process_clause::Column::Clause.eq(clause))
            .into_query();
        select = select.filter(row::Column::Id.in_subquery(with_clause));
    }
    if let Some(q) = filter.q {
        let pattern = super::contains(&q);
        select = select.filter(
            Func::lower(Expr::col(row::Column::Name))
                .like(pattern.clone())
                .or(Func::lower(Expr::col(row::Column::Code)).like(pattern.clone()))
                .or(Func::lower(Expr::col(row::Column::Purpose)).like(pattern)),
        );
    }
    let sorts: [SortKey<_>; 4] = [
        ("code", row::Column::Code, page::Kind::Text),
        ("name", row::Column::Name, page::Kind::Text),
        ("created_at", row::Column::CreatedAt, page::Kind::Timestamp),
        (
            "review_due",
            row::Column::ReviewDue,
            page::Kind::NullableDate,
        ),
    ];
    let page = page::fetch(db, select, &sorts, row::Column::Id, request).await?;
    let items = load_children(db, page.items).await?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
        total: page.total,
    })
}
