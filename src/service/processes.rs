//! Processes (clauses 4.4, 8): definition, RACI and the approval workflow.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Caller, audit_trail, begin_write, check_version, new_id, sms_roles};
use crate::domain::DomainError;
use crate::domain::process::{
    self, ProcessAction, ProcessInput, ProcessState, Raci, RaciAssignment, WORKFLOW,
};
use crate::domain::workflow::{Relation, allowed_actions, decide};
use crate::error::{Error, Result};
use crate::persistence::entities::{process as row, process_clause, process_raci};
use crate::persistence::page::{self, Page, PageRequest, SortKey};
use crate::persistence::{delete_versioned, is_unique_violation, update_versioned};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RaciEntry {
    pub role_id: String,
    /// The activity; null for the process as a whole.
    pub activity: Option<String>,
    pub responsibility: Raci,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Process {
    pub id: String,
    #[schema(example = "INC")]
    pub code: String,
    #[schema(example = "Incident management")]
    pub name: String,
    pub purpose: Option<String>,
    pub description: Option<String>,
    /// Clause catalog numbers the process implements.
    #[schema(example = json!(["8.6.1"]))]
    pub clauses: Vec<String>,
    pub owner_role_id: Option<String>,
    pub review_due: Option<NaiveDate>,
    pub state: ProcessState,
    pub raci: Vec<RaciEntry>,
    /// What the calling user may do now (`POST /processes/{id}/transitions`).
    pub allowed_actions: Vec<ProcessAction>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Process {
    pub fn input(&self) -> ProcessInput {
        ProcessInput {
            code: self.code.clone(),
            name: self.name.clone(),
            purpose: self.purpose.clone(),
            description: self.description.clone(),
            clauses: self.clauses.clone(),
            owner_role_id: self.owner_role_id.clone(),
            review_due: self.review_due,
        }
    }

    fn raci_assignments(&self) -> Vec<RaciAssignment> {
        self.raci
            .iter()
            .map(|e| RaciAssignment {
                role_id: e.role_id.clone(),
                activity: e.activity.clone(),
                responsibility: e.responsibility,
            })
            .collect()
    }
}

const ENTITY: &str = "process";

fn state_of(m: &row::Model) -> Result<ProcessState> {
    ProcessState::parse(&m.state)
        .ok_or_else(|| Error::Internal(format!("unknown process state {}", m.state)))
}

struct Parts {
    clauses: HashMap<String, Vec<String>>,
    raci: HashMap<String, Vec<RaciEntry>>,
}

async fn parts_of<C: ConnectionTrait>(conn: &C, ids: &[String]) -> Result<Parts> {
    let mut clauses: HashMap<String, Vec<String>> = HashMap::new();
    for c in process_clause::Entity::find()
        .filter(process_clause::Column::ProcessId.is_in(ids.iter().cloned()))
        .order_by_asc(process_clause::Column::Position)
        .all(conn)
        .await?
    {
        clauses.entry(c.process_id).or_default().push(c.clause);
    }
    let mut raci: HashMap<String, Vec<RaciEntry>> = HashMap::new();
    for r in process_raci::Entity::find()
        .filter(process_raci::Column::ProcessId.is_in(ids.iter().cloned()))
        .order_by_asc(process_raci::Column::Position)
        .all(conn)
        .await?
    {
        let responsibility = Raci::parse(&r.responsibility)
            .ok_or_else(|| Error::Internal(format!("unknown RACI letter {}", r.responsibility)))?;
        raci.entry(r.process_id).or_default().push(RaciEntry {
            role_id: r.role_id,
            activity: Some(r.activity).filter(|a| !a.is_empty()),
            responsibility,
        });
    }
    Ok(Parts { clauses, raci })
}

fn view(m: row::Model, parts: &mut Parts, caller: &Caller) -> Result<Process> {
    let state = state_of(&m)?;
    Ok(Process {
        clauses: parts.clauses.remove(&m.id).unwrap_or_default(),
        raci: parts.raci.remove(&m.id).unwrap_or_default(),
        allowed_actions: allowed_actions(WORKFLOW, state, &caller.principal, Relation::default()),
        id: m.id,
        code: m.code,
        name: m.name,
        purpose: m.purpose,
        description: m.description,
        owner_role_id: m.owner_role_id,
        review_due: m.review_due,
        state,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

async fn load<C: ConnectionTrait>(conn: &C, caller: &Caller, id: &str) -> Result<Process> {
    let m = row::Entity::find_by_id(id.to_string())
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound("process"))?;
    let mut parts = parts_of(conn, std::slice::from_ref(&m.id)).await?;
    view(m, &mut parts, caller)
}

fn snapshot(p: &Process) -> serde_json::Value {
    serde_json::to_value(p).expect("serializes")
}

fn ensure_may_change(caller: &Caller) -> Result<(), DomainError> {
    caller.ensure(caller.principal.can_manage_sms(), "change processes")
}

async fn ensure_owner_role_exists<C: ConnectionTrait>(
    conn: &C,
    input: &ProcessInput,
) -> Result<()> {
    if let Some(role_id) = &input.owner_role_id
        && !sms_roles::exists(conn, role_id).await?
    {
        return Err(DomainError::invalid(
            "owner_role_id",
            "must be the id of an existing SMS role",
        )
        .into());
    }
    Ok(())
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

fn code_taken(err: sea_orm::DbErr) -> Error {
    if is_unique_violation(&err) {
        DomainError::Conflict("a process with this code exists already".into()).into()
    } else {
        err.into()
    }
}

fn fields(input: ProcessInput) -> row::ActiveModel {
    row::ActiveModel {
        code: Set(input.code),
        name: Set(input.name),
        purpose: Set(input.purpose),
        description: Set(input.description),
        owner_role_id: Set(input.owner_role_id),
        review_due: Set(input.review_due),
        ..Default::default()
    }
}

pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    input: ProcessInput,
) -> Result<Process> {
    ensure_may_change(caller)?;
    let input = process::validate(input)?;
    let tx = begin_write(db).await?;
    ensure_owner_role_exists(&tx, &input).await?;
    let id = new_id();
    let at = caller.now;
    let clauses = input.clauses.clone();
    row::ActiveModel {
        id: Set(id.clone()),
        state: Set(ProcessState::Draft.as_str().to_string()),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..fields(input)
    }
    .insert(&tx)
    .await
    .map_err(code_taken)?;
    write_clauses(&tx, &id, &clauses).await?;
    let created = load(&tx, caller, &id).await?;
    audit_trail::record(
        &tx,
        Some(caller),
        "create",
        ENTITY,
        &id,
        None,
        Some(&snapshot(&created)),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

pub async fn get(db: &DatabaseConnection, caller: &Caller, id: &str) -> Result<Process> {
    caller.ensure_reads_sms()?;
    load(db, caller, id).await
}

pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    input: ProcessInput,
) -> Result<Process> {
    ensure_may_change(caller)?;
    let input = process::validate(input)?;
    let tx = begin_write(db).await?;
    let before = load(&tx, caller, id).await?;
    check_version(expected_version, before.version)?;
    let raci = before.raci_assignments();
    process::check_edit(
        before.state,
        input.owner_role_id.as_deref(),
        &input.clauses,
        &raci,
    )?;
    ensure_owner_role_exists(&tx, &input).await?;
    let clauses = input.clauses.clone();
    let changes = row::ActiveModel {
        version: Set(before.version + 1),
        updated_at: Set(caller.now),
        ..fields(input)
    };
    update_versioned(
        &tx,
        (row::Column::Id, id),
        (row::Column::Version, before.version),
        changes,
        code_taken,
    )
    .await?;
    write_clauses(&tx, id, &clauses).await?;
    finish_change(tx, caller, "update", before).await
}

/// Loads the changed process, appends the audit row and commits.
async fn finish_change(
    tx: sea_orm::DatabaseTransaction,
    caller: &Caller,
    action: &str,
    before: Process,
) -> Result<Process> {
    let after = load(&tx, caller, &before.id).await?;
    audit_trail::record(
        &tx,
        Some(caller),
        action,
        ENTITY,
        &after.id,
        Some(&snapshot(&before)),
        Some(&snapshot(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

async fn bump_version<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    before: &Process,
    state: Option<ProcessState>,
) -> Result<()> {
    let mut changes = row::ActiveModel {
        version: Set(before.version + 1),
        updated_at: Set(caller.now),
        ..Default::default()
    };
    if let Some(state) = state {
        changes.state = Set(state.as_str().to_string());
    }
    let (id, version) = (
        (row::Column::Id, before.id.as_str()),
        (row::Column::Version, before.version),
    );
    update_versioned(conn, id, version, changes, Error::from).await
}

pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
) -> Result<()> {
    ensure_may_change(caller)?;
    let tx = begin_write(db).await?;
    let before = load(&tx, caller, id).await?;
    check_version(expected_version, before.version)?;
    process::ensure_deletable(before.state)?;
    delete_versioned::<row::Entity, _>(
        &tx,
        (row::Column::Id, id),
        (row::Column::Version, before.version),
    )
    .await?;
    audit_trail::record(
        &tx,
        Some(caller),
        "delete",
        ENTITY,
        id,
        Some(&snapshot(&before)),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces the RACI matrix.
pub async fn set_raci(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    assignments: Vec<RaciAssignment>,
) -> Result<Process> {
    ensure_may_change(caller)?;
    let assignments = process::validate_raci(assignments)?;
    let tx = begin_write(db).await?;
    let before = load(&tx, caller, id).await?;
    check_version(expected_version, before.version)?;
    process::check_edit(
        before.state,
        before.owner_role_id.as_deref(),
        &before.clauses,
        &assignments,
    )?;
    for (i, a) in assignments.iter().enumerate() {
        if !sms_roles::exists(&tx, &a.role_id).await? {
            return Err(DomainError::invalid(
                format!("assignments[{i}].role_id"),
                "must be the id of an existing SMS role",
            )
            .into());
        }
    }
    process_raci::Entity::delete_many()
        .filter(process_raci::Column::ProcessId.eq(id))
        .exec(&tx)
        .await?;
    if !assignments.is_empty() {
        process_raci::Entity::insert_many(assignments.into_iter().enumerate().map(|(i, a)| {
            process_raci::ActiveModel {
                process_id: Set(id.to_string()),
                role_id: Set(a.role_id),
                activity: Set(a.activity.unwrap_or_default()),
                responsibility: Set(a.responsibility.as_str().to_string()),
                position: Set(i as i32),
            }
        }))
        .exec(&tx)
        .await?;
    }
    bump_version(&tx, caller, &before, None).await?;
    finish_change(tx, caller, "set_raci", before).await
}

pub async fn transition(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    action: ProcessAction,
) -> Result<Process> {
    caller.ensure_reads_sms()?;
    let tx = begin_write(db).await?;
    let before = load(&tx, caller, id).await?;
    check_version(expected_version, before.version)?;
    let to = decide(
        WORKFLOW,
        before.state,
        action,
        &caller.principal,
        Relation::default(),
    )?;
    if action == ProcessAction::Approve {
        process::check_approval(
            before.owner_role_id.as_deref(),
            &before.clauses,
            &before.raci_assignments(),
        )?;
    }
    bump_version(&tx, caller, &before, Some(to)).await?;
    finish_change(tx, caller, action.as_str(), before).await
}

#[derive(Debug, Clone, Default)]
pub struct ProcessFilter {
    pub state: Option<ProcessState>,
    pub clause: Option<String>,
    pub owner_role_id: Option<String>,
    pub q: Option<String>,
    pub review_due_from: Option<NaiveDate>,
    pub review_due_to: Option<NaiveDate>,
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: ProcessFilter,
    request: &PageRequest,
) -> Result<Page<Process>> {
    caller.ensure_reads_sms()?;
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
        let pattern = crate::persistence::contains(&q);
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
    let ids: Vec<String> = page.items.iter().map(|m| m.id.clone()).collect();
    let mut parts = parts_of(db, &ids).await?;
    let items = page
        .items
        .into_iter()
        .map(|m| view(m, &mut parts, caller))
        .collect::<Result<Vec<_>>>()?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
        total: page.total,
    })
}
